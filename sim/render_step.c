/*
 * render_step.c - `--step`: one segment at a time, for a lecture or a
 * student at a terminal.
 *
 * Path: stack events -> this renderer -> the text renderer, writing into a
 * memory buffer -> wrapped to 80 columns -> the terminal; before each next
 * inbound segment (and before the summary) it prints what the last
 * segment changed and waits for a key read from /dev/tty.
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
	struct renderer *inner;   /* the text renderer, writing to mem */
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

	if (s->r.color)
		printf("\033[7m");
	printf("-- what changed: segment #%lld and the calls after it%s", (long long)s->last_seg, s->r.color ? "\033[0m" : "");
	printf("\n");
	if (!s->nchanges)
		printf("  (no table changed)\n");
	for (i = 0; i < s->nchanges; i++) {
		char line[3 * WIDTH];

		snprintf(line, sizeof(line), "  %s%s%s", s->r.color ? "\033[1m" : "", s->changes[i],
			 s->r.color ? "\033[0m" : "");
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
			return;
		}
		if (ch == 't') {
			if (s->r.st)
				s->inner->ops->tables(s->inner, s->r.st);
			drain(s);
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

static void step_event(struct renderer *r, const struct event *ev)
{
	struct step_renderer *s = (struct step_renderer *)r;
	char ep[ADDR_STRLEN], *c;

	s->inner->replay = r->replay;
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
	s->inner->ops->event(s->inner, ev);
	drain(s);
}

static void step_call(struct renderer *r, vtime_t t, const char *who, const char *call, long ret,
		      const char *detail)
{
	struct step_renderer *s = (struct step_renderer *)r;

	s->inner->ops->call(s->inner, t, who, call, ret, detail);
	drain(s);
}

static void step_say(struct renderer *r, const char *text)
{
	struct step_renderer *s = (struct step_renderer *)r;

	pause_here(s, -1);
	s->inner->ops->say(s->inner, text);
	drain(s);
}

static void step_tables(struct renderer *r, struct stack *st)
{
	struct step_renderer *s = (struct step_renderer *)r;

	r->st = st;
	s->inner->ops->tables(s->inner, st);
	drain(s);
}

static void step_summary(struct renderer *r, struct stack *st, const struct replay_stats *rs)
{
	struct step_renderer *s = (struct step_renderer *)r;

	pause_here(s, -1);
	s->inner->ops->summary(s->inner, st, rs);
	drain(s);
}

static void step_inferred(struct renderer *r, vtime_t t, const char *what, const char *subject,
			  const char *why)
{
	struct step_renderer *s = (struct step_renderer *)r;

	s->inner->ops->inferred(s->inner, t, what, subject, why);
	drain(s);
}

static void step_verify(struct renderer *r, const struct verify_report *rep)
{
	struct step_renderer *s = (struct step_renderer *)r;

	s->inner->ops->verify(s->inner, rep);
	drain(s);
}

static void step_destroy(struct renderer *r)
{
	struct step_renderer *s = (struct step_renderer *)r;

	drain(s);
	restore_tty();
	s->inner->ops->destroy(s->inner);
	fclose(s->mem);
	free(s->membuf);
	fclose(s->tty);
	free(s);
}

static const struct renderer_ops step_ops = {
	step_event, step_call, step_say, step_tables, step_summary, step_inferred, step_verify,
	step_destroy,
};

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
	s->r.out = stdout;
	s->r.color = color;
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
