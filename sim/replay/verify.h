/*
 * verify.h - `replay --verify`: the stack's segments set beside the ones
 * the recorded kernel sent, connection by connection.
 *
 * Path: replay.c feeds both streams in time order: verify_expected() for
 * each segment the recorded host sent, verify_ours() for each segment the
 * stack sent, verify_inbound() for each segment the stack received (what
 * the kernel's answers answer); verify_note() tells what the replay knows
 * of a connection (delayed, picked up mid-stream, its SYNs dropped by the
 * recorded listener); verify_tick() settles whatever waited too long;
 * verify_finish() settles the rest and reports each connection that
 * diverged, with the cause of its first divergence.
 *
 * Segments fall in three classes. Control (SYN, FIN or RST set) and pure
 * ACKs are compared segment for segment; a FIN or RST by the position of
 * its flag in sequence space, so a FIN on a large offloaded segment
 * matches the stack's FIN on its last bytes. Data is compared in bytes:
 * the same bytes sent by both sides at close times agree, however the two
 * cut them into segments.
 */
#ifndef TCPDEMUX_VERIFY_H
#define TCPDEMUX_VERIFY_H

#include <stdint.h>

#include "segment.h"
#include "stack.h"

enum verify_class { VC_CONTROL = 0, VC_ACK, VC_DATA, VC_COUNT };

enum verify_result {
	VR_MATCHED = 0, /* both sent it, close in time */
	VR_MISSING,     /* the kernel sent it, the stack did not */
	VR_EXTRA,       /* the stack sent it, the kernel did not */
	VR_DIFFERS,     /* a counterpart of the same kind, with other numbers */
	VR_LATE,        /* the same segment, the stack's later than the tolerance allows */
	VR_EARLY,       /* the same segment, the stack's earlier */
	VR_COUNT
};

/*
 * Totals of one class. Control and ACK count segments; data counts bytes
 * (a data "segment" is a byte range, cut wherever the other side's ranges
 * end).
 */
struct verify_class_stats {
	uint64_t expected;  /* sent by the kernel */
	uint64_t matched;   /* ... and by the stack, close in time */
	uint64_t missing;   /* ... the stack did not send */
	uint64_t extra;     /* sent by the stack, not by the kernel */
	uint64_t differs;   /* the kernel's, answered with other numbers */
	uint64_t late;      /* the kernel's, sent by the stack too but late or early */
};

/* What caused a connection's first divergence (verify_cause_name()). */
enum verify_cause {
	CAUSE_LISTENER_DROPS = 0, /* the recorded listener dropped SYNs the stack answered */
	CAUSE_NOT_LINUX,          /* the recorded host's TTL is not Linux's 64 */
	CAUSE_MID_STREAM,         /* the connection predates the capture */
	CAUSE_ONE_DIRECTION,      /* nothing the recorded host received is in the capture */
	CAUSE_UNANSWERED,         /* the recorded host sent nothing on it: a firewall, a drop */
	CAUSE_OFFLOAD,            /* the kernel's segments are larger than an MSS (TSO/GRO at the capture point) */
	CAUSE_TIMING,             /* the same segment, late or early: the capture point, or a timer */
	CAUSE_MODEL,              /* ACKs and data cut differently: delayed ACKs, no congestion control */
	CAUSE_OTHER,              /* none of these */
	CAUSE_COUNT
};

struct verify_stats {
	struct verify_class_stats c[VC_COUNT];
	uint64_t option_diffs;      /* matched pairs whose window or options differ (not counted) */
	uint64_t uncounted;         /* kernel segments answering what predates the capture: not compared */
	uint64_t connections;       /* connections with anything compared */
	uint64_t diverged;          /* of them, with at least one difference */
	uint64_t cause_conns[CAUSE_COUNT]; /* diverged connections by the cause of their first divergence */
	uint64_t cause_segs[CAUSE_COUNT];  /* differences (segments, or byte ranges) on them */
};

/* One settled comparison that differs: the first of its connection. */
struct verify_report {
	vtime_t t;
	uint8_t result;              /* enum verify_result */
	uint8_t cls;                 /* enum verify_class */
	const struct segment *kernel; /* NULL for VR_EXTRA */
	vtime_t kernel_t;
	const struct segment *ours;  /* NULL for VR_MISSING */
	vtime_t ours_t;
	/* fields that differ: "flags", "seq", "ack", "len" for VR_DIFFERS;
	 * "win", "mss", "wscale", "sackOK", "TS" noted on VR_MATCHED */
	const char *fields[8];
	int nfields;
	const char *cause;           /* verify_cause_name() of what explains it (known once settled) */
};

/* A connection that diverged, reported when it is settled for good (idle or at the end). */
struct verify_conn_report {
	struct ip_addr local, remote; /* the recorded host's end and the peer's */
	uint16_t lport, rport;
	const struct verify_report *first; /* its first divergence */
	uint64_t followed;            /* differences after it */
	uint64_t compared;            /* comparisons on it (matched or not) */
	const char *cause;            /* verify_cause_name() */
};

typedef void (*verify_report_fn)(void *ctx, const struct verify_report *r);
typedef void (*verify_conn_fn)(void *ctx, const struct verify_conn_report *r);

struct verify;

/* A comparison that reports first divergences to fn and diverged connections to conn_fn. */
struct verify *verify_new(verify_report_fn fn, verify_conn_fn conn_fn, void *ctx);

/*
 * Also tells fn (with ctx) every settled comparison, matched or not, each
 * segment (a data segment: each range of its bytes compared) once, as it
 * is settled: for a front end that marks every segment (--annotate).
 * fields as for a report (key fields that differ, or the window and
 * options of a match); cause is not set.
 */
void verify_set_verdict_hook(struct verify *v, verify_report_fn fn, void *ctx);
void verify_free(struct verify *v);

void verify_expected(struct verify *v, const struct segment *seg, vtime_t t);
void verify_ours(struct verify *v, const struct segment *seg, vtime_t t);
/* The stack received seg (an inbound segment): the kernel's answers to it are compared. */
void verify_inbound(struct verify *v, const struct segment *seg);

/* What the replay knows of the connection local:lp <- remote:rp (VN_* flags, or-ed in). */
enum { VN_DELAYED = 1, VN_PICKED_UP = 2, VN_LISTENER_DROP = 4 };
void verify_note(struct verify *v, const struct ip_addr *local, uint16_t lp, const struct ip_addr *remote,
		 uint16_t rp, unsigned note);

void verify_tick(struct verify *v, vtime_t now);
void verify_finish(struct verify *v);

const struct verify_stats *verify_stats(const struct verify *v);

/* matched / (expected + extra); 1.0 when there was nothing to compare. */
double verify_agreement(const struct verify_class_stats *c);

/*
 * Why the comparison cannot pass whatever the agreement says: nothing the
 * recorded host sent is in the capture (one_direction: the replay saw
 * only inbound segments), or no control segment was compared at all.
 * NULL when the agreement stands.
 */
const char *verify_nothing_compared(const struct verify *v, int one_direction);

const char *verify_class_name(int cls);
const char *verify_result_name(int r);
const char *verify_cause_name(int cause);

#endif
