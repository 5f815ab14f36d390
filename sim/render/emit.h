/*
 * emit.h - the drivers' side of the record stream: what a demo, script,
 * replay or synth run tells its renderer.
 *
 * Path: a driver (or its stack observer) -> emit_*() -> one record
 *       (record.h) -> renderer_ops.record().
 *
 * Each function builds the record from what the driver hands it and sends
 * it; the ones that take the stack read it there and then (a snapshot,
 * the counters), so no renderer ever needs it. Every function accepts a
 * NULL renderer and then does nothing, so a driver with no trace (--quiet)
 * calls them all the same.
 */
#ifndef TCPDEMUX_EMIT_H
#define TCPDEMUX_EMIT_H

#include "render.h"
#include "stack.h"

struct replay_stats;
struct verify_report;

/* The first record of a run (see struct rec_begin); summary and intro may be NULL. */
void emit_begin(struct renderer *r, int kind, const char *name, const char *summary,
		const char *intro, uint32_t hash_seed);

/* emit_event()'s part for a renderer that follows the tables. */
void emit_follow(struct renderer *r, struct stack *st, const struct event *ev);

/*
 * An event of the observed stack st, as its observer received it. When the
 * renderer follows the tables (RENDER_WANT_TABLES), the first event of each
 * stack operation is followed by a snapshot of st (asked = 0).
 *
 * Inline: a replay sends one per segment, and a call through another file
 * for each cost the JSON replay about 5% of its time.
 */
static inline void emit_event(struct renderer *r, struct stack *st, const struct event *ev)
{
	struct record rec;

	if (!r)
		return;
	rec.type = REC_EVENT;
	rec.t = ev->t;
	rec.event = ev;
	render_record(r, &rec);
	if (r->wants & RENDER_WANT_TABLES)
		emit_follow(r, st, ev);
}

/*
 * An application call on the observed stack st at time t (ret: its result,
 * a negative errno for a failure; detail may be NULL). Followed by a
 * snapshot when the renderer follows the tables.
 */
void emit_call(struct renderer *r, struct stack *st, vtime_t t, const char *who, const char *call,
	       long ret, const char *detail);

/* A line of narration (its record's time is 0: narration stands between moments). */
void emit_say(struct renderer *r, const char *text);

/* Something a replay inferred at time t from the capture (see struct rec_inferred). */
void emit_inferred(struct renderer *r, vtime_t t, const char *what, const char *subject,
		   const char *why);

/* One settled --verify comparison (the first divergence of its connection). */
void emit_verify(struct renderer *r, const struct verify_report *rep);

/* A connection --verify found diverging, settled at time t. */
struct verify_conn_report;
void emit_verify_conn(struct renderer *r, vtime_t t, const struct verify_conn_report *rep);

/* The tables of st as they are now, for the run to show (asked = 1). */
void emit_tables(struct renderer *r, struct stack *st);

/* One --verify comparison, matched or not (REC_VERDICT), for a renderer that wants each. */
void emit_verdict(struct renderer *r, const struct verify_report *rep);

/* A replay's input frame f, replayed at virtual time t, after the records of what it caused. */
void emit_frame(struct renderer *r, const struct rec_frame *f, vtime_t t);

/* The last record: st's totals and counters, and what a replay read (rs; NULL otherwise). */
void emit_summary(struct renderer *r, struct stack *st, const struct replay_stats *rs);

/*
 * Fills out[0..max) with the skip reasons 1..nreasons-1 whose count is not
 * zero, in order: name(reason), counts[reason], first[reason] (the first
 * frame or packet skipped for it). Returns how many were filled.
 */
int emit_skip_list(struct rec_skip *out, int max, const uint64_t *counts, const int64_t *first, int nreasons,
		   const char *(*name)(int reason));

/* The last record of a live run: st's totals and counters, and what the device carried (lv). */
void emit_live_summary(struct renderer *r, struct stack *st, const struct rec_live *lv);

#endif
