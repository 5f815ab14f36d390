/*
 * verify.h - `replay --verify`: the stack's segments set beside the ones
 * the recorded kernel sent, segment by segment.
 *
 * Path: replay.c feeds both streams in time order: verify_expected() for
 * each segment the recorded host sent, verify_ours() for each segment the
 * stack sent; verify_tick() settles whatever waited longer than its
 * tolerance; verify_finish() settles the rest.
 */
#ifndef TCPDEMUX_VERIFY_H
#define TCPDEMUX_VERIFY_H

#include <stdint.h>

#include "segment.h"
#include "stack.h"

enum verify_class { VC_CONTROL = 0, VC_ACK, VC_DATA, VC_COUNT };
enum verify_result { VR_MATCHED = 0, VR_MISSING, VR_EXTRA, VR_DIFFERS };

struct verify_class_stats {
	uint64_t expected;  /* segments the kernel sent */
	uint64_t matched;
	uint64_t missing;   /* the kernel sent it, the stack did not */
	uint64_t extra;     /* the stack sent it, the kernel did not */
	uint64_t differs;   /* a counterpart of the same kind, with other numbers */
};

struct verify_stats {
	struct verify_class_stats c[VC_COUNT];
	uint64_t option_diffs; /* matched pairs whose window or options differ (not counted) */
};

/* One settled comparison, for the renderer. */
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
};

typedef void (*verify_report_fn)(void *ctx, const struct verify_report *r);

struct verify;

struct verify *verify_new(verify_report_fn fn, void *ctx);
void verify_free(struct verify *v);

void verify_expected(struct verify *v, const struct segment *seg, vtime_t t);
void verify_ours(struct verify *v, const struct segment *seg, vtime_t t);
void verify_tick(struct verify *v, vtime_t now);
void verify_finish(struct verify *v);

const struct verify_stats *verify_stats(const struct verify *v);

/* matched / (expected + extra); 1.0 when there was nothing to compare. */
double verify_agreement(const struct verify_class_stats *c);

const char *verify_class_name(int cls);
const char *verify_result_name(int r);

#endif
