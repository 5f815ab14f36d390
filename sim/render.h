/*
 * render.h - front ends that turn the stack's events into output.
 *
 * Path: stack events -> renderer (text for people, JSON Lines for
 * programs). Every driver (demo, and later replay and scripts) produces
 * the same calls, so the two formats always describe the same run. A
 * renderer sees the stack only through stack.h: events, walks, counters.
 */
#ifndef TCPDEMUX_RENDER_H
#define TCPDEMUX_RENDER_H

#include <stdio.h>

#include "stack.h"

#include "frame.h"
#include "verify.h"

struct renderer;

/* What a replay read, for the summary (NULL when not replaying). */
struct replay_stats {
	const char *file;
	const char *linktype;
	const char *precision;      /* "microsecond", "nanosecond", "per-interface" */
	const char *compression;    /* "gzip", or NULL */
	const char *filter;         /* the filter expression, or NULL */
	uint64_t frames;            /* frames read, the filtered ones included */
	uint64_t filtered;          /* frames the filter dropped (never decoded) */
	uint64_t inbound, outbound; /* TCP segments to / from a local address */
	uint64_t ignored;           /* TCP segments neither to nor from a local address */
	uint64_t skipped[SKIP_COUNT];
	int64_t first_skipped[SKIP_COUNT]; /* frame number of the first skipped for each reason */
	uint64_t payload_cut;       /* replayed with payload bytes missing (snap length) */
	uint64_t header_cut;        /* replayed with options (or the window) missing (snap length) */
	uint64_t picked_up;         /* connections already open when the capture started */
	uint64_t isn_recorded, isn_own;
	const struct verify_stats *verify; /* --verify, else NULL */
};

struct renderer_ops {
	void (*event)(struct renderer *r, const struct event *ev);
	/* The application's side: "listen(3, 8) = 0" and the like. */
	void (*call)(struct renderer *r, vtime_t t, const char *who, const char *call, long ret,
		     const char *detail);
	/* A line of narration (text only; JSON ignores it). */
	void (*say)(struct renderer *r, const char *text);
	void (*tables)(struct renderer *r, struct stack *st);
	void (*summary)(struct renderer *r, struct stack *st, const struct replay_stats *rs);
	/*
	 * Something the replay worked out from the capture: what is "local",
	 * "listener" or "established" (a connection picked up mid-stream);
	 * subject is an address or endpoint; why says from what evidence.
	 */
	void (*inferred)(struct renderer *r, vtime_t t, const char *what, const char *subject,
			 const char *why);
	/* One settled --verify comparison. */
	void (*verify)(struct renderer *r, const struct verify_report *rep);
	void (*destroy)(struct renderer *r);
};

struct renderer {
	const struct renderer_ops *ops;
	FILE *out;
	int color;
	int replay; /* name where a new request's ISN came from */
	struct stack *st; /* the observed stack, set by the driver (step mode shows its tables) */
};

struct renderer *render_text_new(FILE *out, int color);
struct renderer *render_json_new(FILE *out);

/*
 * --step: wraps a text renderer, pausing after each inbound segment for a
 * key read from /dev/tty. NULL with a message in err when there is no
 * terminal to read from.
 */
struct renderer *render_step_new(int color, char *err, size_t errlen);

/* "1.234567" seconds with microseconds. */
void render_time(vtime_t t, char *buf, size_t len);

#endif
