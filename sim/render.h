/*
 * render.h - front ends: consumers of the record stream (record.h).
 *
 * Path: drivers -> emit.c -> renderer_ops.record() -> text for people,
 *       JSON Lines for programs, --step at a terminal, or a tee feeding
 *       several at once.
 *
 * Every driver (demo, script, replay, synth) produces the same stream, so
 * every format describes the same run. A renderer sees nothing but the
 * records: no renderer holds or reads the live stack.
 *
 * Writing one: embed struct renderer first in your own struct, give it
 * ops whose record() switches on rec->type and ignores the types it does
 * not show, and a destroy() that flushes and frees. Set wants before the
 * first record if you follow the tables (RENDER_WANT_TABLES); you may
 * change it as you go (--step drops it when told to run to the end).
 */
#ifndef TCPDEMUX_RENDER_H
#define TCPDEMUX_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "record.h"

struct renderer;

struct renderer_ops {
	/* One record of the stream; see record.h for what each type carries. */
	void (*record)(struct renderer *r, const struct record *rec);
	/* Flushes what is pending and frees the renderer (and what it wraps). */
	void (*destroy)(struct renderer *r);
};

/*
 * wants: besides the snapshots a run shows (REC_TABLES with asked = 1),
 * send a snapshot (asked = 0) after the first event of every stack
 * operation and after every call, so the renderer always knows the
 * tables as they are.
 */
#define RENDER_WANT_TABLES 0x1u

struct renderer {
	const struct renderer_ops *ops;
	unsigned wants;        /* RENDER_WANT_* bits the emitter honours */
	/* The emitter's bookkeeping (emit.c), not for renderers: */
	const void *emit_stack; /* the stack whose operation emit_op numbers */
	uint64_t emit_op;       /* the last operation a snapshot was sent for */
};

/* Text for people, to out (not closed by destroy); color adds ANSI highlights. NULL: out of memory. */
struct renderer *render_text_new(FILE *out, int color);

/* JSON Lines (docs/json.md) to out (not closed by destroy). NULL: out of memory. */
struct renderer *render_json_new(FILE *out);

/*
 * --step: wraps a text renderer, pausing after each inbound segment for a
 * key read from /dev/tty. NULL with a message in err when there is no
 * terminal to read from.
 */
struct renderer *render_step_new(int color, char *err, size_t errlen);

/* What --slides is given. */
struct slides_opts {
	int color;          /* ANSI highlights */
	int options;        /* --options: segments with their TS values and option lists */
	double pace;        /* --pace SECONDS: the next screen by itself after this long (0: wait for a key) */
	char *const *argv;  /* the command line, run again to go back ('b'); NULL: no going back */
};

/*
 * --slides: a screen per step, cleared first and fitted to the
 * terminal's size, for a projector (render_slides.c). NULL with a message
 * in err when there is no terminal to read keys from.
 */
struct renderer *render_slides_new(const struct slides_opts *o, char *err, size_t errlen);

/*
 * Feeds every record to each of the n (at most 8) renderers in turn, and
 * destroys them with itself; its wants is the union of theirs, kept up
 * to date after every record. NULL when out of memory or n is out of
 * range (the renderers are then left to the caller).
 */
struct renderer *render_tee_new(struct renderer *const *rs, int n);

/*
 * --nstat: wraps inner (taken over: destroyed with the wrapper). Every
 * record goes to inner but the summary, which becomes the counters as
 * `nstat -az` prints them, on out: in place of the summary in text, as a
 * {"type":"nstat",...} line before it with json. NULL when memory runs out
 * (inner is then still the caller's).
 */
struct renderer *render_nstat_new(struct renderer *inner, FILE *out, int json);

/* The name nstat prints for a counter ("TcpExtListenOverflows"), or NULL for one it has not. */
const char *render_nstat_name(int counter);

/*
 * A text renderer writing into memory, for the front ends that lay the
 * text out themselves (--step, --slides).
 */
struct render_mem {
	struct renderer *text; /* the text renderer, writing to f */
	FILE *f;               /* the memory stream */
	char *buf;             /* what it wrote: len bytes, current after render_mem_sync() */
	size_t len;
};

/* Returns 0, or -ENOMEM with nothing left open. */
int render_mem_open(struct render_mem *m, int color);
/* Brings buf and len up to date with what the text renderer wrote. */
void render_mem_sync(struct render_mem *m);
/* Empties the buffer (the renderer writes from its start again). */
void render_mem_clear(struct render_mem *m);
void render_mem_close(struct render_mem *m);

/* Hands rec to r. */
static inline void render_record(struct renderer *r, const struct record *rec)
{
	r->ops->record(r, rec);
}

/*
 * What the stack did with an inbound segment, in the words of the text
 * trace ("new request #2 (SYN_RECV), SYN queue 1/8 -> SYN-ACK"), to f;
 * replay: say where a new request's ISN came from; color: ANSI highlights.
 */
void render_outcome(FILE *f, const struct event *ev, int replay, int color);

/* "1.234567" seconds with microseconds. */
void render_time(vtime_t t, char *buf, size_t len);

/* ss's name for a TCP state: "ESTAB", "SYN-RECV", "TIME-WAIT", "LISTEN", ... */
const char *render_ss_state(int state);

/* A listener's "Peer Address:Port" as ss shows it: "0.0.0.0:*" or "[::]:*". */
char *render_ss_peer(const struct ip_addr *local, char *buf, size_t len);

/*
 * A gap in milliseconds for people: "81.0 ms" from 10 ms up, "0.073 ms"
 * below; VT_NEVER (longer than a look-ahead showed) as "more than 3x that".
 * Returns buf.
 */
const char *render_ms(vtime_t v, char *buf, size_t len);

/*
 * A copy of a snapshot that outlives the record carrying it, for a
 * renderer that shows the tables later (--step's 't'). Returns 0, or
 * -ENOMEM with *dst left as it was. render_tables_free() releases a copy
 * (and accepts one never filled: all zero).
 */
struct rec_tables_copy {
	struct rec_tables t;     /* the snapshot; its pointers point into the arrays below */
	struct rec_listener *listeners;
	struct sock_view *socks; /* every listener's queue members, then the ehash */
	uint64_t counters[CNT_COUNT];
};
int render_tables_copy(struct rec_tables_copy *dst, const struct rec_tables *src);
void render_tables_free(struct rec_tables_copy *c);

#endif
