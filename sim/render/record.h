/*
 * record.h - the record stream: everything a front end is told about a run.
 *
 * Path: the stack's events + the driver's own knowledge (demo, script,
 *       replay, synth) -> emit.c builds records -> renderer_ops.record()
 *       of every front end (text, JSON Lines, --step, and any later one).
 *
 * A record is a copy of what happened, never a handle on the stack: a
 * renderer sees the tables only as the snapshots (REC_TABLES) the stream
 * carries, so every front end can be fed the same stream, replayed from a
 * file, or run after the stack is gone. Pointers inside a record are valid
 * only during the record() call that receives it; a renderer that keeps
 * something copies it (render_tables_copy() for a snapshot).
 *
 * The order is the order things happened: REC_BEGIN first, then events,
 * calls, narration, inferences, comparisons and snapshots as they come,
 * REC_SUMMARY last (a run that stops on an error may end without one).
 */
#ifndef TCPDEMUX_RECORD_H
#define TCPDEMUX_RECORD_H

#include <stdint.h>

#include "stack.h"

enum record_type {
	REC_BEGIN = 1, /* a run starts: what is run, and the words that introduce it */
	REC_EVENT,     /* one of the stack's events (stack.h), unchanged */
	REC_CALL,      /* the application called into the stack: "listen(3, 8) = 0" */
	REC_SAY,       /* a line of narration, for people */
	REC_INFERRED,  /* something a replay worked out from the capture */
	REC_VERIFY,    /* one settled --verify comparison of a segment */
	REC_TABLES,    /* a snapshot of the listen table, the ehash and the counters */
	REC_SUMMARY,   /* the end of the run: totals and counters */
	REC_VERIFY_CONN, /* --verify: a connection that diverged, settled (its first divergence, what followed) */
	REC_FRAME,     /* a replay's input frame, byte for byte, once it has had all its effects */
	REC_VERDICT,   /* --verify: one comparison, matched or not, for renderers that want each (RENDER_WANT_VERDICTS) */
};

/* What kind of run a REC_BEGIN starts. */
enum run_kind {
	RUN_DEMO = 1, /* tcpdemux demo NAME */
	RUN_REPLAY,   /* tcpdemux replay FILE: a capture of a real host */
	RUN_SCRIPT,   /* tcpdemux script FILE.pkt */
	RUN_SYNTH,    /* tcpdemux synth: generated traffic */
	RUN_LIVE,     /* tcpdemux live: real clients through a TUN device */
};

struct rec_begin {
	uint8_t kind;        /* enum run_kind */
	const char *name;    /* the demo's name, the capture's or script's file, live's device; NULL for synth */
	const char *summary; /* a demo's one-line summary (its catalogue entry), else NULL */
	const char *intro;   /* a demo's paragraph of what to watch for (lines end in \n, the last has none), else NULL */
	uint32_t hash_seed;  /* the stack's hash seed: --hash-seed with it repeats the run */
};

struct rec_call {
	const char *who;    /* the application that called: "server", "client 10.0.0.2", "script" */
	const char *call;   /* the call as written: "accept(3, ..., ...)" */
	long ret;           /* what it returned; a failure is a negative errno (printed as -1 and its name) */
	const char *detail; /* a few words on what the result means, or NULL */
};

struct rec_inferred {
	const char *what;    /* "local", "listener" or "established" (a connection picked up mid-stream) */
	const char *subject; /* the address or endpoint it is about ("10.0.0.1:80", "A:p <- B:q") */
	const char *why;     /* the evidence, in words ("it answered a SYN with a SYN-ACK (frame 2)") */
};

struct rec_verify {
	uint8_t matched;              /* 1: the two sides agree (kernel and ours both set) */
	const char *result;           /* "matched", "missing" (ours NULL), "extra" (kernel NULL) or "differs" */
	const char *cls;              /* what kind of segment: "control", "ack" or "data" */
	const struct segment *kernel; /* the segment the recorded kernel sent, or NULL */
	vtime_t kernel_t;             /* when it sent it (kernel set) */
	const struct segment *ours;   /* the stack's counterpart, or NULL */
	vtime_t ours_t;               /* when the stack sent it (ours set) */
	/* Fields that differ: "flags", "seq", "ack", "len" when differing;
	 * "win", "mss", "wscale", "sackOK", "TS" noted on a match. */
	const char *const *fields;
	int nfields;                  /* entries in fields */
	const char *cause;            /* what explains it, as far as known now ("timing", "not Linux", ...), or NULL */
	uint32_t bytes;               /* data: the bytes compared (kernel's or ours: len of the range) */
};

/* A connection --verify found diverging, once it is settled (idle, or at the end). */
struct rec_verify_conn {
	const struct ip_addr *local;  /* the recorded host's end */
	uint16_t lport;
	const struct ip_addr *remote; /* the peer's */
	uint16_t rport;
	const struct rec_verify *first; /* its first divergence */
	vtime_t first_t;              /* when that was settled */
	uint64_t followed;            /* differences after it */
	uint64_t compared;            /* comparisons on the connection, matched or not */
	const char *cause;            /* what explains the first divergence best */
};

/* A listener in a snapshot, with the members of its two queues. */
struct rec_listener {
	struct listener_view l;          /* address, backlog, fd, queue lengths */
	const struct sock_view *syn_q;   /* its requests (SYN_RECV), oldest first */
	uint32_t nsyn;                   /* entries in syn_q */
	const struct sock_view *accept_q; /* completed connections waiting for accept(), in accept order */
	uint32_t naccept;                /* entries in accept_q */
};

struct rec_tables {
	/*
	 * 1: the run shows the tables here (a demo after each segment,
	 * --tables); 0: a snapshot only for renderers that asked to follow
	 * the tables (RENDER_WANT_TABLES), not to be shown by itself.
	 */
	uint8_t asked;
	uint32_t buckets;                     /* ehash buckets at this moment (a replay's table may grow) */
	uint32_t seed;                        /* the hash seed that keys the ehash */
	const struct rec_listener *listeners; /* listeners in listen() order */
	uint32_t nlisteners;                  /* entries in listeners */
	const struct sock_view *ehash;        /* ehash entries by bucket, each chain head first */
	uint32_t nehash;                      /* entries in ehash */
	const uint64_t *counters;             /* CNT_COUNT values (counters.h) at this moment */
};

/* A skip reason of a replay that occurred at least once. */
struct rec_skip {
	const char *reason;  /* its stable name ("not_ip", "bad_checksum", ...) */
	uint64_t count;      /* frames skipped for it */
	int64_t first_frame; /* the first such frame (1-based) */
};

#define REC_MAX_SKIPS 32

/* Where a replay's capture was taken (capture_point.h), for the summary. */
struct rec_capture {
	const char *mode;        /* --capture-point: "auto", "server" or "client" */
	const char *side;        /* overall: "server", "client", "between", "same_host" or "unknown" */
	const char *side_words;  /* the same for people: "server side", "client side", "in between", ... */
	uint64_t handshakes[5];  /* measured handshakes by side: unknown, server, client, between, same_host */
	vtime_t syn_synack;      /* median SYN -> SYN-ACK at the capture point (0: none measured) */
	vtime_t synack_ack;      /* median SYN-ACK -> ACK; VT_NEVER: most came later than 3x the SYN -> SYN-ACK */
	uint64_t delayed;        /* connections whose inbound segments were delayed to the server's time */
};

/* What a replay read: the summary's account of the capture. */
struct rec_replay {
	const char *file;       /* the capture's path as given ("-": standard input) */
	const char *linktype;   /* libpcap's name for its link type ("EN10MB") */
	const char *precision;  /* "microsecond", "nanosecond" or "per-interface" (pcapng) timestamps */
	const char *compression; /* "gzip", or NULL */
	const char *filter;     /* the filter expression (tcpdump's syntax), or NULL */
	uint64_t frames;        /* frames read, the filtered ones included */
	uint64_t filtered;      /* frames the filter dropped (never decoded) */
	uint64_t inbound;       /* TCP segments to a local address, fed to the stack */
	uint64_t outbound;      /* TCP segments from a local address (the application's part) */
	uint64_t ignored;       /* TCP segments neither to nor from a local address */
	uint64_t payload_cut;   /* replayed with payload bytes missing (the snap length) */
	uint64_t header_cut;    /* replayed with options or the window missing (the snap length) */
	uint64_t tso_length_0;  /* IPv4 frames of total length 0 (segmentation offload), read as captured */
	uint64_t duplicates;    /* frames seen twice by the capture (identical within 10 ms): replayed once */
	uint64_t picked_up;     /* connections already open when the capture started */
	uint64_t isn_recorded;  /* ISNs taken from recorded SYN-ACKs */
	uint64_t isn_own;       /* ISNs the stack chose (no SYN-ACK in the capture) */
	uint64_t isn_rebased;   /* of those, re-based to a recorded SYN-ACK's ISN read later */
	uint64_t listener_drops; /* SYNs the recorded listener dropped (not answered before sent again), not replayed */
	uint64_t synack_nosyn;  /* SYN-ACKs that answered no SYN in the capture (reflection, or a late start), from hosts not taken as local */
	uint64_t nosyn_hosts;   /* their senders */
	const char *nosyn_first; /* the first sender, "addr:port", or NULL */
	int64_t nosyn_frame;    /* the first such SYN-ACK's frame */
	struct rec_capture capture; /* where the capture was taken */
	struct rec_skip skipped[REC_MAX_SKIPS]; /* reasons with a count, in frame.h's order */
	int nskipped;           /* entries in skipped */
};

/* What a live run saw on its TUN device, and what its application did: the summary's account. */
struct rec_live {
	const char *device;         /* the TUN device's name */
	const char *app;            /* the application: "echo", "http", "discard" or "never" */
	uint64_t packets_read;      /* packets the kernel sent into the device */
	uint64_t tcp_in;            /* of which TCP segments fed to the stack */
	uint64_t packets_written;   /* segments the stack sent, written to the device */
	uint64_t write_errors;      /* segments the device refused */
	struct rec_skip skipped[REC_MAX_SKIPS]; /* why packets read were not fed in, with a count */
	int nskipped;               /* entries in skipped */
	uint64_t accepted;          /* descriptors accept() returned to the application */
	uint64_t closed;            /* descriptors the application closed */
	uint64_t bytes_in;          /* bytes the application read */
	uint64_t bytes_out;         /* bytes the application sent */
	uint64_t responses;         /* HTTP responses (--app http) */
	uint64_t app_errors;        /* recv()/send() errors the application met (a reset connection) */
};

/* --verify's totals for one kind of segment (control and ack count segments, data bytes). */
struct rec_verify_class {
	const char *name;   /* "control", "ack" or "data" */
	uint64_t expected;  /* segments the kernel sent */
	uint64_t matched;   /* ... the stack sent too */
	uint64_t missing;   /* ... the stack did not send */
	uint64_t differs;   /* ... the stack answered with other numbers */
	uint64_t late;      /* ... the stack sent too, but late or early */
	uint64_t extra;     /* segments the stack sent and the kernel did not */
	double agreement;   /* matched / (expected + extra); 1.0 with nothing to compare */
};

#define REC_VERIFY_CLASSES 3

struct rec_verify_totals {
	double agreement;                               /* the control class's: the exit status follows it */
	struct rec_verify_class cls[REC_VERIFY_CLASSES]; /* control, ack, data */
	int ncls;                                       /* entries in cls */
	uint64_t option_diffs;                          /* matched pairs differing in window or options */
	uint64_t uncounted;                             /* kernel segments answering what predates the capture */
	uint64_t connections;                           /* connections with anything compared */
	uint64_t diverged;                              /* of them, with a difference */
	const char *const *cause_names;                 /* ncauses names of causes ("timing", ...) */
	const uint64_t *cause_conns;                    /* diverged connections by the cause of their first divergence */
	const uint64_t *cause_segs;                     /* differences on them */
	int ncauses;                                    /* entries in the three arrays */
	const char *nothing;                            /* why nothing could be compared (exit 1), or NULL */
};

/* A listener open at the end of a run, with what it saw over its life. */
struct rec_listener_end {
	struct listener_view l;      /* address, backlog, queue lengths at the end */
	struct listener_stats stats; /* SYNs, handshakes, cookies, drops by reason, queue peaks (stack.h) */
};

struct rec_summary {
	const uint64_t *counters;               /* CNT_COUNT values (counters.h): InSegs, OutSegs, ... */
	struct stack_totals sockets;            /* sockets alive at the end, by kind */
	const struct rec_listener_end *listeners; /* the listeners open at the end, in listen() order */
	uint32_t nlisteners;                    /* entries in listeners (0 when memory ran out: said nowhere) */
	const struct rec_replay *replay;        /* what a replay read, else NULL */
	const struct rec_verify_totals *verify; /* --verify's totals, else NULL */
	const struct rec_live *live;            /* what a live run saw, else NULL */
};

/*
 * One frame of a replayed capture as it was recorded, sent after the
 * records of what it caused (the timers due before it, its lookup and the
 * stack's answers, or the application's calls it stands for), so that a
 * front end writing the capture back (--annotate) has the frame and all
 * that is to be said about it at once.
 */
struct rec_frame {
	int64_t n;                 /* its number in the capture, 1-based */
	int linktype;              /* the capture's link type (libpcap's DLT_ value) */
	uint64_t ts;               /* its timestamp as recorded, nanoseconds since the epoch */
	uint64_t origin;           /* the recorded timestamp of virtual time 0: an event at t happened at origin + t */
	uint32_t caplen;           /* bytes captured: the length of data */
	uint32_t wirelen;          /* bytes on the wire */
	const uint8_t *data;       /* the caplen bytes, as captured (link-layer header included) */
	int8_t dir;                /* 1: fed to the stack; -1: the recorded host's own (the application's part); 0: neither */
	const char *skipped;       /* why it was not replayed (a frame_skip_name()), or NULL */
	const struct segment *seg; /* its TCP segment as decoded, or NULL when skipped */
	const char *not_fed;       /* why its segment was not given to the stack (a duplicate, a SYN the recorded listener dropped), or NULL */
};

struct record {
	uint8_t type; /* enum record_type: says which member of the union is set */
	vtime_t t;    /* virtual time of what it records (an event's own ev->t) */
	union {
		const struct rec_begin *begin;       /* REC_BEGIN */
		const struct event *event;           /* REC_EVENT */
		const struct rec_call *call;         /* REC_CALL */
		const char *say;                     /* REC_SAY: one line, no newline */
		const struct rec_inferred *inferred; /* REC_INFERRED */
		const struct rec_verify *verify;     /* REC_VERIFY */
		const struct rec_tables *tables;     /* REC_TABLES */
		const struct rec_summary *summary;   /* REC_SUMMARY */
		const struct rec_verify_conn *verify_conn; /* REC_VERIFY_CONN */
		const struct rec_frame *frame;       /* REC_FRAME (rec.t: the virtual time it was replayed at) */
		const struct rec_verify *verdict;    /* REC_VERDICT (cause not set; a data verdict covers a byte range) */
	};
};

#endif
