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
/*
 * With --verify, a REC_VERDICT for every comparison, matched or not (the
 * stream otherwise reports only each connection's first divergence).
 */
#define RENDER_WANT_VERDICTS 0x2u

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
 * JSON Lines to put inside an HTML <script> element (render_html.c): '<'
 * is written \u003c in strings, so no "</script>" can end it, and socket
 * life-cycle events get "sock" lines (docs/json.md), so a page can follow
 * the tables without a snapshot per step. NULL: out of memory.
 */
struct renderer *render_json_embedded_new(FILE *out);

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

/*
 * The views a run can write beside its trace. Each opens its file when
 * made (NULL, "PATH: reason" in err, when it cannot) and writes it out
 * when destroyed; a write that fails then says so on stderr and sets
 * *failed (which may be NULL), so the command can exit 2.
 *
 * --annotate: the run as pcapng, each frame with a comment on what the
 * stack made of it (render_annotate.c); verify: the run compares with the
 * recorded host, so the comments wait for the verdicts.
 */
struct renderer *render_annotate_new(const char *path, int verify, int *failed, char *err, size_t errlen);

/* --html: one self-contained page (render_html.c); command: its title (NULL: from REC_BEGIN). */
struct renderer *render_html_new(const char *path, const char *command, int *failed, char *err,
				 size_t errlen);

/* --plot: each listener's queue depth over time, as an SVG file (render_plot.c). */
struct renderer *render_plot_new(const char *path, int *failed, char *err, size_t errlen);

struct plot;
/* Feeds one record's queue depths, drops and cookies to a plot (plot.h); the other records are ignored. */
void render_plot_feed(struct plot *p, const struct record *rec);

/* "tcpdemux demo two-clients", "tcpdemux replay FILE": a run's name from its REC_BEGIN. */
void render_run_title(const struct rec_begin *b, char *buf, size_t len);

/* What --annotate, --html and --plot asked for (render_view.c). */
struct view_opts {
	const char *annotate; /* OUT.pcapng, or NULL */
	const char *html;     /* OUT.html, or NULL */
	const char *plot;     /* OUT.svg, or NULL */
	const char *command;  /* the command line: the page's title */
	int verify;           /* the run compares with a recorded host (replay --verify) */
	int failed;           /* set by a view that could not be written */
};

/* Whether any view was asked for. */
int render_views_wanted(const struct view_opts *v);

/*
 * The renderer a run writes to when views are asked for: trace (text,
 * JSON or --step; NULL for none) and the views, fed the same records.
 * With quiet, the trace is given only the summary (REC_BEGIN and
 * REC_SUMMARY), as --quiet prints. Returns trace itself when no view is
 * asked for; NULL with "reason" in err when a view's file cannot be made
 * (trace is then destroyed).
 */
struct renderer *render_with_views(struct renderer *trace, int quiet, struct view_opts *v, char *err,
				   size_t errlen);

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
