/*
 * steps.h - the record stream cut into steps, for the front ends that
 * stop after each one (--step, --slides).
 *
 * Path: records -> stepper_record() -> the renderer's step_ops: record()
 *       for each record of the current step, close() when the step is
 *       complete, outside() for what stands between steps.
 *
 * A step is one thing that happened, in the order it happened: an
 * inbound segment, a timer, an application call (with the segments and
 * state changes it caused, which the stream delivers before the call's
 * own record), or an action of a replayed application that has no call
 * record (accept(), send(), shutdown()). Calls that succeed and change
 * nothing on the observed stack (socket(), bind(), a client's send())
 * join the step that follows them. Narration, the opening record and the
 * summary come between steps.
 *
 * The stepper follows the tables (the renderer must set
 * RENDER_WANT_TABLES) and says at each close what the step changed:
 * table rows, queue lengths and counters, from the snapshots before and
 * after it.
 */
#ifndef TCPDEMUX_STEPS_H
#define TCPDEMUX_STEPS_H

#include "render.h"

enum step_kind {
	STEP_SEGMENT = 1, /* an inbound segment; its number is step.segment */
	STEP_TIMER,       /* a timer fired */
	STEP_CALL,        /* an application call, and what it caused */
	STEP_APP,         /* the application acted without a call record (a replay's accept(), send()) */
};

#define STEP_MAX_CHANGES 12  /* change lines kept; more are summed up in the last */
#define STEP_LINE 160        /* bytes of one change line */
#define STEP_MAX_MARKS 64    /* changed table rows remembered for highlighting */

struct step {
	uint32_t n;            /* 1, 2, ... in the order of the run */
	uint8_t kind;          /* enum step_kind (0 until the step's kind is known) */
	int64_t segment;       /* STEP_SEGMENT: the segment's number; else -1 */
	vtime_t t;             /* when it happened (its first event or call) */
	char title[STEP_LINE]; /* "segment #4", "server: close(4) = 0", "timer", "the application" */
	uint8_t has_in;        /* STEP_SEGMENT: in and in_seg hold the segment's event */
	struct event in;       /* that event (its seg points to in_seg) */
	struct segment in_seg; /* the segment's header (no payload) */
	/* Filled just before close(): */
	char changes[STEP_MAX_CHANGES][STEP_LINE]; /* "* #2: FIN_WAIT2 -> TIME_WAIT", ... */
	int nchanges;          /* lines in changes */
	uint32_t marks[STEP_MAX_MARKS]; /* ids of the listeners and ehash entries the step changed */
	int nmarks;            /* entries in marks */
	const struct rec_tables *after; /* the tables after the step (valid during close()) */
};

struct step_ops {
	/*
	 * A record of the current step s. cause: this call record is the one
	 * that caused the step's earlier records (show it first).
	 */
	void (*record)(void *ctx, struct step *s, const struct record *rec, int cause);
	/* s is complete: show it (and pause). */
	void (*close)(void *ctx, struct step *s);
	/* A record between steps: REC_BEGIN, REC_SAY, REC_SUMMARY. */
	void (*outside)(void *ctx, const struct record *rec);
};

struct stepper {
	const struct step_ops *ops;
	void *ctx;
	struct step cur;            /* the step being gathered */
	int open;                   /* cur holds at least one record */
	uint64_t op;                /* the stack operation cur is made of (0: none yet) */
	uint32_t count;             /* steps closed so far */
	struct rec_tables_copy before; /* the tables when cur began */
	struct rec_tables_copy now;    /* the latest snapshot */
	int have_now;               /* now holds one */
};

void stepper_init(struct stepper *sp, const struct step_ops *ops, void *ctx);

/* Feeds one record (REC_TABLES included: the stepper keeps the latest). */
void stepper_record(struct stepper *sp, const struct record *rec);

/* The latest snapshot of the tables, or NULL before the first. */
const struct rec_tables *stepper_tables(const struct stepper *sp);

/* Closes the step being gathered, if any (the run ended). */
void stepper_flush(struct stepper *sp);

void stepper_free(struct stepper *sp);

/* Is id among the rows s changed? */
int step_marked(const struct step *s, uint32_t id);

#endif
