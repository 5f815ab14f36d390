/*
 * render_step.c - `--step`: one segment at a time, for a lecture or a
 * student at a terminal.
 *
 * Path: records -> this renderer -> the text renderer, writing into a
 * memory buffer -> wrapped to 80 columns -> the terminal; before each next
 * inbound segment (and before the summary) it prints what the last
 * segment changed and waits for a key read from /dev/tty. It follows the
 * tables through the stream's snapshots (RENDER_WANT_TABLES), which is
 * what 't' shows.
 *
 * Keys: Enter next segment, c continue to the end, t all tables, g N go
 * to segment N, q quit. The terminal is put in non-canonical mode so a
 * single key acts, and restored on every way out (including Ctrl-C).
 * Changes are marked with '*' and words, so nothing depends on colour.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "render.h"

#define WIDTH 80
#define MAX_LISTENERS 64
#define MAX_CHANGES 12

struct lq {
	uint32_t id, syn, acc;
};

struct step_renderer {
	struct renderer r;
	int color;                /* ANSI highlights on */
	struct renderer *inner;   /* the text renderer, writing to mem */
	struct rec_tables_copy tables; /* the latest snapshot: the tables as they are now */
	int have_tables;          /* tables holds one */
	FILE *mem;
	char *membuf;
	size_t memlen;
	FILE *tty;                /* keys come from here */
	int pending;              /* a segment was shown and not yet paused after */
	int running;              /* 'c': no more pauses */
	int64_t go_to;            /* 'g N': no pauses before segment N */
	int64_t last_seg;
	struct lq lq[MAX_LISTENERS];
	int nlq;
	char changes[MAX_CHANGES][2 * WIDTH];
	int nchanges;
	uint32_t max_id;          /* highest socket id seen: a higher one is new */
};

static struct termios saved;
static int saved_ok;
static int tty_fd = -1;

static void restore_tty(void)
{
	if (saved_ok && tty_fd >= 0)
		tcsetattr(tty_fd, TCSANOW, &saved);
}

static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Visible width of s up to n bytes, skipping ANSI escape sequences. */
static size_t visible(const char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\033') {
			while (i < n && s[i] != 'm')
				i++;
			continue;
		}
		w++;
	}
	return w;
}

/* Writes one line wrapped at WIDTH columns; continuations are indented. */
static void put_wrapped(const char *line, size_t len)
{
	const char *indent = "";

	while (visible(line, len) > WIDTH - strlen(indent)) {
		size_t cut = 0, i, w = 0, last_space = 0;

		for (i = 0; i < len; i++) {
			if (line[i] == '\033') {
				while (i < len && line[i] != 'm')
					i++;
				continue;
			}
			if (line[i] == ' ' && i > 0)
				last_space = i;
			if (++w > WIDTH - strlen(indent))
				break;
		}
		cut = last_space > strlen(indent) + 8 ? last_space : i;
		printf("%s%.*s\n", indent, (int)cut, line);
		while (cut < len && line[cut] == ' ')
			cut++;
		line += cut;
		len -= cut;
		indent = "        ";
	}
	printf("%s%.*s\n", indent, (int)len, line);
}

/* Moves what the text renderer wrote so far to the terminal, wrapped. */
static void drain(struct step_renderer *s)
{
	size_t start = 0, i;

	fflush(s->mem);
	for (i = 0; i < s->memlen; i++) {
		if (s->membuf[i] == '\n') {
			put_wrapped(s->membuf + start, i - start);
			start = i + 1;
		}
	}
	if (start < s->memlen)
		put_wrapped(s->membuf + start, s->memlen - start);
	rewind(s->mem);
	fflush(s->mem);
	fflush(stdout);
}

/* The next free line for a change, or NULL when the list is full. */
static char *change_slot(struct step_renderer *s)
{
	return s->nchanges < MAX_CHANGES ? s->changes[s->nchanges++] : NULL;
}

static struct lq *lq_of(struct step_renderer *s, uint32_t id)
{
	int i;

	for (i = 0; i < s->nlq; i++)
		if (s->lq[i].id == id)
			return &s->lq[i];
	if (s->nlq == MAX_LISTENERS)
		return NULL;
	s->lq[s->nlq].id = id;
	s->lq[s->nlq].syn = s->lq[s->nlq].acc = 0;
	return &s->lq[s->nlq++];
}

static void note_listener(struct step_renderer *s, const struct listener_view *l)
{
	struct lq *q = lq_of(s, l->id);
	char ep[ADDR_STRLEN], *c;

	if (!q)
		return;
	endpoint_format(&l->addr, l->port, ep, sizeof(ep));
	if (q->syn != l->syn_queue && (c = change_slot(s)))
		snprintf(c, 2 * WIDTH, "* listener %s: SYN queue %u -> %u (backlog %d)", ep, q->syn,
			 l->syn_queue, l->backlog);
	if (q->acc != l->accept_queue && (c = change_slot(s)))
		snprintf(c, 2 * WIDTH, "* listener %s: accept queue %u -> %u (backlog %d)", ep, q->acc,
			 l->accept_queue, l->backlog);
	q->syn = l->syn_queue;
	q->acc = l->accept_queue;
}

static void prompt(struct step_renderer *s);

static void show_changes(struct step_renderer *s)
{
	int i;

	if (s->color)
		printf("\033[7m");
	printf("-- what changed: segment #%lld and the calls after it%s", (long long)s->last_seg, s->color ? "\033[0m" : "");
	printf("\n");
	if (!s->nchanges)
		printf("  (no table changed)\n");
	for (i = 0; i < s->nchanges; i++) {
		char line[3 * WIDTH];

		snprintf(line, sizeof(line), "  %s%s%s", s->color ? "\033[1m" : "", s->changes[i],
			 s->color ? "\033[0m" : "");
		put_wrapped(line, strlen(line));
	}
	s->nchanges = 0;
}

/* Shows the last segment's changes and waits for a key, unless running on. */
static void pause_here(struct step_renderer *s, int64_t next_seg)
{
	drain(s);
	if (!s->pending)
		return;
	s->pending = 0;
	show_changes(s);
	/* next_seg < 0: not before a segment (narration, the summary) */
	if (s->running || (s->go_to > 0 && (next_seg < 0 || next_seg < s->go_to)))
		return;
	s->go_to = 0;
	prompt(s);
}

/* 't': the latest snapshot, printed as the run prints the tables it shows. */
static void show_tables(struct step_renderer *s)
{
	struct rec_tables t;
	struct record rec = { .type = REC_TABLES, .t = 0, .tables = &t };

	if (!s->have_tables) {
		printf("(no tables yet)\n");
		return;
	}
	t = s->tables.t;
	t.asked = 1;
	render_record(s->inner, &rec);
	drain(s);
}

static void prompt(struct step_renderer *s)
{
	for (;;) {
		int ch;

		printf("[Enter] next  [c] continue  [t] tables  [g N] go to N  [q] quit > ");
		fflush(stdout);
		ch = fgetc(s->tty);
		printf("\n");
		if (ch == EOF || ch == 'q') {
			restore_tty();
			printf("stopped after segment #%lld\n", (long long)s->last_seg);
			exit(0);
		}
		if (ch == '\n' || ch == '\r' || ch == ' ')
			return;
		if (ch == 'c') {
			s->running = 1;
			s->r.wants = 0; /* no more 't': snapshots would only cost time */
			return;
		}
		if (ch == 't') {
			show_tables(s);
			continue;
		}
		if (ch == 'g') {
			char num[16];
			size_t n = 0;

			printf("go to segment: ");
			fflush(stdout);
			while ((ch = fgetc(s->tty)) != EOF && ch != '\n' && ch != '\r' && n + 1 < sizeof(num)) {
				if (ch >= '0' && ch <= '9') {
					num[n++] = (char)ch;
					putchar(ch);
					fflush(stdout);
				}
			}
			num[n] = '\0';
			printf("\n");
			if (n) {
				s->go_to = atoll(num);
				return;
			}
			continue;
		}
	}
}

/* REC_EVENT: notes what it changes (before the segment it belongs to is shown), then shows it. */
static void step_event(struct step_renderer *s, const struct event *ev)
{
	char ep[ADDR_STRLEN], *c;

	if (ev->type == EV_SEGMENT_IN) {
		pause_here(s, ev->frame);
		s->pending = 1;
		s->last_seg = ev->frame;
		if (ev->has_sock && ev->sock.id > s->max_id && (c = change_slot(s)))
			snprintf(c, 2 * WIDTH, "* %s #%u created: %s, in ehash bucket 0x%x",
				 ev->sock.state == TCP_SYN_RECV ? "request" : "socket", ev->sock.id,
				 tcp_state_name(ev->sock.state), ev->sock.bucket);
		if (ev->has_listener)
			note_listener(s, &ev->listener);
	} else if (ev->type == EV_SOCK_STATE && ev->old_state != TCP_CLOSED && (c = change_slot(s))) {
		snprintf(c, 2 * WIDTH, "* #%u: %s -> %s", ev->sock.id, tcp_state_name(ev->old_state),
			 tcp_state_name(ev->sock.state));
	} else if (ev->type == EV_SOCK_FREE && (c = change_slot(s))) {
		snprintf(c, 2 * WIDTH, "* #%u freed (it was %s)", ev->sock.id,
			 endpoint_format(&ev->sock.raddr, ev->sock.rport, ep, sizeof(ep)));
	} else if (ev->type == EV_ACCEPT) {
		note_listener(s, &ev->listener);
	}
	if (ev->has_sock && ev->sock.id > s->max_id)
		s->max_id = ev->sock.id;
}

static void step_record(struct renderer *r, const struct record *rec)
{
	struct step_renderer *s = (struct step_renderer *)r;

	switch (rec->type) {
	case REC_EVENT:
		step_event(s, rec->event);
		break;
	case REC_SAY:
	case REC_SUMMARY:
		/* narration and the summary come after the last segment's changes */
		pause_here(s, -1);
		break;
	case REC_TABLES:
		/* a failed copy keeps the older snapshot: 't' then shows that one */
		if (render_tables_copy(&s->tables, rec->tables) == 0)
			s->have_tables = 1;
		break;
	default:
		break;
	}
	render_record(s->inner, rec);
	drain(s);
}

static void step_destroy(struct renderer *r)
{
	struct step_renderer *s = (struct step_renderer *)r;

	drain(s);
	restore_tty();
	s->inner->ops->destroy(s->inner);
	render_tables_free(&s->tables);
	fclose(s->mem);
	free(s->membuf);
	fclose(s->tty);
	free(s);
}

static const struct renderer_ops step_ops = { step_record, step_destroy };

struct renderer *render_step_new(int color, char *err, size_t errlen)
{
	struct step_renderer *s;
	struct termios raw;
	FILE *tty = fopen("/dev/tty", "r");

	if (!tty || !isatty(fileno(tty))) {
		snprintf(err, errlen, "--step reads keys from a terminal, and this process has none (it cannot open /dev/tty)");
		if (tty)
			fclose(tty);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(tty);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->mem = open_memstream(&s->membuf, &s->memlen);
	s->inner = s->mem ? render_text_new(s->mem, color) : NULL;
	if (!s->inner) {
		if (s->mem)
			fclose(s->mem);
		free(s->membuf);
		free(s);
		fclose(tty);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->r.ops = &step_ops;
	s->r.wants = RENDER_WANT_TABLES;
	s->color = color;
	s->tty = tty;
	tty_fd = fileno(tty);
	if (tcgetattr(tty_fd, &saved) == 0) {
		saved_ok = 1;
		raw = saved;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(tty_fd, TCSANOW, &raw);
		atexit(restore_tty);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	return &s->r;
}
