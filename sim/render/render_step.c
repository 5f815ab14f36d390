/*
 * render_step.c - `--step`: one step at a time, for a student at a
 * terminal (or a lecture that scrolls; --slides is the projector's mode).
 *
 * Path: records -> stepper (steps.c: one step per segment, timer and
 *       application call) -> the text renderer, writing the step's lines
 *       into a memory buffer -> cut to the terminal's width -> stdout;
 *       after each step, what it changed, then a key from /dev/tty.
 *
 * A call is shown before the segments it caused (the stream brings them
 * first). Keys: Enter or Space the next step, c continue to the end, t
 * all tables, g N run on to segment N, q quit. Changes are marked with
 * '*' and words, so nothing depends on colour.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "steps.h"
#include "term.h"

struct step_renderer {
	struct renderer r;
	int color;                /* ANSI highlights on */
	struct render_mem mem;    /* the text renderer's lines of the step, not shown yet */
	long events_at;           /* offset in mem of the step's first event; -1 none yet */
	long cause_at;            /* offset in mem of the call that caused those events; -1 none */
	struct stepper steps;
	struct term term;
	int running;              /* 'c': no more pauses */
	int64_t go_to;            /* 'g N': no pause before segment N's step; 0 none */
	uint32_t shown;           /* steps shown */
	int64_t last_segment;     /* the last segment shown, -1 none */
};

static void put_line(void *ctx, const char *p, size_t n, int cont)
{
	(void)ctx;
	printf("%s%.*s\n", cont ? "        " : "", (int)n, p);
}

/* Writes bytes [from, to) of text, line by line, cut to the terminal's width. */
static void put_text(struct step_renderer *s, const char *text, size_t from, size_t to)
{
	size_t start = from, i;

	for (i = from; i < to; i++) {
		if (text[i] == '\n') {
			term_wrap(text + start, i - start, s->term.cols, 8, put_line, NULL);
			start = i + 1;
		}
	}
	if (start < to)
		term_wrap(text + start, to - start, s->term.cols, 8, put_line, NULL);
}

/*
 * Shows what the text renderer wrote and empties the buffer; a call that
 * caused the step's events goes before them (after the quiet calls that
 * came before it).
 */
static void drain(struct step_renderer *s)
{
	struct render_mem *m = &s->mem;

	render_mem_sync(m);
	if (s->cause_at >= 0 && s->events_at >= 0 && s->events_at <= s->cause_at && (size_t)s->cause_at <= m->len) {
		put_text(s, m->buf, 0, (size_t)s->events_at);
		put_text(s, m->buf, (size_t)s->cause_at, m->len);
		put_text(s, m->buf, (size_t)s->events_at, (size_t)s->cause_at);
	} else {
		put_text(s, m->buf, 0, m->len);
	}
	s->cause_at = -1;
	s->events_at = -1;
	render_mem_clear(m);
	fflush(stdout);
}

/* 't': the latest snapshot, printed as the run prints the tables it shows. */
static void show_tables(struct step_renderer *s)
{
	const struct rec_tables *now = stepper_tables(&s->steps);
	struct rec_tables t;
	struct record rec = { .type = REC_TABLES, .t = 0, .tables = &t };

	if (!now) {
		printf("(no tables yet)\n");
		return;
	}
	t = *now;
	t.asked = 1;
	render_record(s->mem.text, &rec);
	drain(s);
}

static void quit(struct step_renderer *s)
{
	term_restore();
	if (s->last_segment >= 0)
		printf("stopped after step %u (segment #%lld was the last shown)\n", s->shown,
		       (long long)s->last_segment);
	else
		printf("stopped after step %u\n", s->shown);
	exit(0);
}

/* 'g': reads the segment's number. Returns it, or 0 when none was typed. */
static int64_t read_number(struct step_renderer *s)
{
	char num[16];
	size_t n = 0;
	int ch;

	printf("go to segment: ");
	fflush(stdout);
	while ((ch = term_key(&s->term, -1)) > 0 && ch != '\n' && ch != '\r' && n + 1 < sizeof(num)) {
		if (ch >= '0' && ch <= '9') {
			num[n++] = (char)ch;
			putchar(ch);
			fflush(stdout);
		} else if ((ch == 127 || ch == '\b') && n) {
			n--;
			fputs("\b \b", stdout);
			fflush(stdout);
		}
	}
	num[n] = '\0';
	printf("\n");
	return n ? atoll(num) : 0;
}

static void prompt(struct step_renderer *s)
{
	for (;;) {
		int ch;

		printf("[Enter] next  [c] continue  [t] tables  [g N] segment N  [q] quit > ");
		fflush(stdout);
		ch = term_key(&s->term, -1);
		printf("\n");
		if (ch < 0 || ch == 'q')
			quit(s);
		if (ch == '\n' || ch == '\r' || ch == ' ')
			return;
		if (ch == 'c') {
			s->running = 1;
			return;
		}
		if (ch == 't') {
			show_tables(s);
		} else if (ch == 'g') {
			int64_t n = read_number(s);

			if (n > 0) {
				s->go_to = n;
				return;
			}
		}
	}
}

/* step_ops.record: the text renderer writes the record's lines into the step's buffer. */
static void on_record(void *ctx, struct step *st, const struct record *rec, int cause)
{
	struct step_renderer *s = ctx;

	(void)st;
	if (cause || (rec->type == REC_EVENT && s->events_at < 0)) {
		render_mem_sync(&s->mem);
		if (cause)
			s->cause_at = (long)s->mem.len;
		else
			s->events_at = (long)s->mem.len;
	}
	render_record(s->mem.text, rec);
}

/* step_ops.close: the step's lines, what it changed, then a key (unless running on). */
static void on_close(void *ctx, struct step *st)
{
	struct step_renderer *s = ctx;
	int i;

	drain(s);
	printf("%s-- step %u, %s: what changed%s\n", s->color ? "\033[7m" : "", st->n, st->title,
	       s->color ? "\033[0m" : "");
	if (!st->nchanges)
		printf("  (nothing in the tables or counters)\n");
	for (i = 0; i < st->nchanges; i++) {
		char line[STEP_LINE + 16];
		int n = snprintf(line, sizeof(line), "  %s%s%s", s->color ? "\033[1m" : "", st->changes[i],
				 s->color ? "\033[0m" : "");

		put_text(s, line, 0, (size_t)n);
	}
	fflush(stdout);
	s->shown = st->n;
	if (st->kind == STEP_SEGMENT)
		s->last_segment = st->segment;
	if (s->running)
		return;
	if (s->go_to) {
		if (st->kind != STEP_SEGMENT || st->segment != s->go_to)
			return;
		s->go_to = 0;
	}
	prompt(s);
}

/* step_ops.outside: the opening words, narration, tables shown between steps, the summary. */
static void on_outside(void *ctx, const struct record *rec)
{
	struct step_renderer *s = ctx;

	render_record(s->mem.text, rec);
	drain(s);
}

static const struct step_ops step_cb = { on_record, on_close, on_outside };

static void step_record(struct renderer *r, const struct record *rec)
{
	struct step_renderer *s = (struct step_renderer *)r;

	stepper_record(&s->steps, rec);
}

static void step_destroy(struct renderer *r)
{
	struct step_renderer *s = (struct step_renderer *)r;

	stepper_flush(&s->steps);
	drain(s);
	term_close(&s->term);
	render_mem_close(&s->mem);
	stepper_free(&s->steps);
	free(s);
}

static const struct renderer_ops step_ops = { step_record, step_destroy };

struct renderer *render_step_new(int color, char *err, size_t errlen)
{
	struct step_renderer *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (term_open(&s->term, "--step", err, errlen) < 0) {
		free(s);
		return NULL;
	}
	if (render_mem_open(&s->mem, color) < 0) {
		term_close(&s->term);
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->r.ops = &step_ops;
	s->r.wants = RENDER_WANT_TABLES;
	s->color = color;
	s->cause_at = -1;
	s->events_at = -1;
	s->last_segment = -1;
	stepper_init(&s->steps, &step_cb, s);
	return &s->r;
}
