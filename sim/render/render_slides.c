/*
 * render_slides.c - `--slides`: one step per screen, for a projector.
 *
 * Path: records -> stepper (steps.c) -> a screen per step, laid out to
 *       the terminal's size -> ESC[2J and the screen on stdout -> a key
 *       from /dev/tty (or --pace seconds) -> the next.
 *
 * A screen: a title line (what is run, the step, its segment and time);
 * the narration that leads to the step; what happened, in short lines
 * (segments without TS values and options unless --options); for a
 * segment, the lookup path as a diagram (ehash -> listener exact ->
 * listener wildcard -> none) with the stage that matched highlighted;
 * what changed (table rows, queue lengths, counters); the tables as ss
 * shows them (State, Recv-Q, Send-Q, Local, Peer) with the changed rows
 * marked '>' (and in bold with colour); the keys on the last line. What
 * does not fit the height is cut by priority, each cut said in a line.
 * The first screen is the run's introduction, the last its summary.
 *
 * Keys: Enter or Space next, b back, g N segment N, q quit. Going back
 * (and to an earlier segment) runs the program again from the start, with
 * no output until the step wanted (TCPDEMUX_SLIDES_AT / _SEGMENT in the
 * environment, and the same hash seed through TCPDEMUX_HASH_SEED): the
 * run is deterministic, and nothing of it has to be kept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errname.h"
#include "render.h"
#include "steps.h"
#include "term.h"

#define SL_MAX_SAY 8 /* narration lines kept for the next screen */

/* ANSI attributes, only with colour. */
#define REV "\033[7m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define OFF "\033[0m"

/* A block of screen lines, each already cut to the width. */
struct block {
	char **line;
	int n, cap;
};

struct slides {
	struct renderer r;
	struct slides_opts o;
	struct stepper steps;
	struct term term;
	struct render_mem mem;  /* the text renderer, for inferences, verify lines and the summary */
	struct block trace;     /* the current step's lines */
	int trace_events;       /* index in trace of the step's first event's line; -1 none */
	char *say[SL_MAX_SAY];  /* narration waiting for the next screen */
	int nsay;
	uint8_t kind;           /* REC_BEGIN's run kind */
	char *name;             /* REC_BEGIN's name, or NULL */
	char *intro;            /* REC_BEGIN's summary and intro, as one text */
	uint32_t seed;          /* REC_BEGIN's hash seed */
	uint32_t screen;        /* the step on the screen (0: the introduction) */
	int64_t segment;        /* the last segment shown, -1 none */
	long at;                /* skip until this step (-1: not skipping) */
	int64_t at_segment;     /* skip until this segment's step (-1: not) */
	int64_t ahead;          /* 'g N' forward: skip until segment N's step (-1: not) */
	char status[160];       /* a message for the last line of the next screen */
};

/* ---- blocks --------------------------------------------------------------------------- */

static void block_free(struct block *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		free(b->line[i]);
	free(b->line);
	memset(b, 0, sizeof(*b));
}

static void block_put(void *ctx, const char *p, size_t n, int cont)
{
	struct block *b = ctx;
	char *l;

	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		char **nl = realloc(b->line, (size_t)cap * sizeof(*nl));

		if (!nl)
			return; /* a line lost to memory: the screen is shorter, never wider */
		b->line = nl;
		b->cap = cap;
	}
	l = malloc(n + 5);
	if (!l)
		return;
	snprintf(l, n + 5, "%s%.*s", cont ? "    " : "", (int)n, p);
	b->line[b->n++] = l;
}

/* Adds text (one or more lines, \n-separated), each cut to width with continuations indented. */
static void block_text(struct block *b, int width, const char *text, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i == len || text[i] == '\n') {
			if (i > start || i < len)
				term_wrap(text + start, i - start, width, 4, block_put, b);
			start = i + 1;
		}
	}
}

static void block_printf(struct block *b, int width, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	block_text(b, width, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- the step's lines ------------------------------------------------------------------ */

static const char *C(const struct slides *s, const char *code)
{
	return s->o.color ? code : "";
}

static void seg_words(const struct slides *s, const struct segment *g, char *buf, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], fl[9];
	size_t n;

	n = (size_t)snprintf(buf, len, "%s > %s  %s seq %u", endpoint_format(&g->src, g->sport, a, sizeof(a)),
			     endpoint_format(&g->dst, g->dport, b, sizeof(b)), seg_flags_str(g->flags, fl), g->seq);
	if ((g->flags & TH_ACK) && n < len)
		n += (size_t)snprintf(buf + n, len - n, " ack %u", g->ack);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " win %u", g->win);
	if (g->len && n < len)
		n += (size_t)snprintf(buf + n, len - n, " len %u", g->len);
	if (s->o.options && n < len) {
		const struct tcp_opts *o = &g->opt;

		if (o->has_mss && n < len)
			n += (size_t)snprintf(buf + n, len - n, " mss %u", o->mss);
		if (o->sack_ok && n < len)
			n += (size_t)snprintf(buf + n, len - n, " sackOK");
		if (o->has_ts && n < len)
			n += (size_t)snprintf(buf + n, len - n, " TS val %u ecr %u", o->tsval, o->tsecr);
		if (o->has_wscale && n < len)
			snprintf(buf + n, len - n, " wscale %u", o->wscale);
	}
}

/* Where the lookup stopped: 0 ehash, 1 exact listener, 2 wildcard listener, 3 none. */
static int lookup_stage(const struct event *ev)
{
	switch (ev->lookup.result) {
	case LOOKUP_ESTABLISHED:
	case LOOKUP_REQUEST:
	case LOOKUP_TIMEWAIT:
		return 0;
	case LOOKUP_LISTENER:
		return ev->lookup.wildcard ? 2 : 1;
	default:
		return ev->has_listener && !ev->has_sock ? (ev->lookup.wildcard ? 2 : 1) : 3;
	}
}

/*
 * The lookup as a diagram: the four stages in the order the stack tries
 * them, the one that matched highlighted ([brackets], and reversed with
 * colour), the ones never reached dimmed; on the line under it, "miss"
 * below each stage passed and what was found below the match.
 */
static void diagram(struct slides *s, const struct event *ev)
{
	static const char *const stage[4] = { "ehash", "listener exact", "listener wildcard", "none" };
	char top[512], under[256], what[96], ep[ADDR_STRLEN];
	int hit = lookup_stage(ev), i, t, u = 0, col, ucol = 0;

	switch (hit) {
	case 0:
		snprintf(what, sizeof(what), "%s #%u, bucket 0x%x, walked %u",
			 ev->lookup.result == LOOKUP_REQUEST    ? "request"
			 : ev->lookup.result == LOOKUP_TIMEWAIT ? "TIME_WAIT"
								: "sock",
			 ev->lookup.entry, ev->lookup.bucket, ev->lookup.walked);
		break;
	case 1:
	case 2:
		snprintf(what, sizeof(what), "#%u %s%s", ev->listener.id,
			 endpoint_format(&ev->listener.addr, ev->listener.port, ep, sizeof(ep)),
			 ev->lookup.reuseport ? " (reuseport)" : "");
		break;
	default:
		snprintf(what, sizeof(what), "no socket for %s",
			 endpoint_format(&ev->seg->dst, ev->seg->dport, ep, sizeof(ep)));
		break;
	}
	t = snprintf(top, sizeof(top), "lookup: ");
	col = t;
	under[0] = '\0';
	for (i = 0; i < 4; i++) {
		const char *note = i < hit ? "miss" : what;
		int start;

		if (i) {
			t += snprintf(top + t, sizeof(top) - (size_t)t, " -> ");
			col += 4;
		}
		start = col + 1; /* under the name, past its bracket */
		if (i == hit)
			t += snprintf(top + t, sizeof(top) - (size_t)t, "%s[%s]%s", C(s, REV), stage[i], C(s, OFF));
		else if (i > hit)
			t += snprintf(top + t, sizeof(top) - (size_t)t, "%s %s %s", C(s, DIM), stage[i], C(s, OFF));
		else
			t += snprintf(top + t, sizeof(top) - (size_t)t, " %s ", stage[i]);
		col += (int)strlen(stage[i]) + 2;
		if (i <= hit && u < (int)sizeof(under) - 1) {
			int pad = start > ucol ? start - ucol : 1;

			u += snprintf(under + u, sizeof(under) - (size_t)u, "%*s%s", pad, "", note);
			ucol += pad + (int)strlen(note);
		}
	}
	block_text(&s->trace, s->term.cols, top, strlen(top));
	block_text(&s->trace, s->term.cols, under, strlen(under));
}

/* What the text renderer wrote for rec, without its time column, into the step's lines. */
static void via_text(struct slides *s, const struct record *rec)
{
	size_t i, start = 0;

	render_mem_clear(&s->mem);
	render_record(s->mem.text, rec);
	render_mem_sync(&s->mem);
	for (i = 0; i <= s->mem.len; i++) {
		if (i == s->mem.len || s->mem.buf[i] == '\n') {
			const char *l = s->mem.buf + start;
			size_t n = i - start;

			/* the trace's lines start with an 10-column time and 7 spaces: the title has the time */
			while (n && *l == ' ')
				l++, n--;
			if (n > 9 && l[0] >= '0' && l[0] <= '9' && memchr(l, ' ', n)) {
				const char *sp = memchr(l, ' ', n);

				n -= (size_t)(sp - l);
				l = sp;
				while (n && *l == ' ')
					l++, n--;
			}
			if (n)
				block_text(&s->trace, s->term.cols, l, n);
			start = i + 1;
		}
	}
}

static void event_lines(struct slides *s, const struct record *rec)
{
	const struct event *ev = rec->event;
	char w[400], ep[ADDR_STRLEN], b[ADDR_STRLEN];
	FILE *f;
	char *out = NULL;
	size_t outlen = 0;

	switch (ev->type) {
	case EV_SEGMENT_IN:
		seg_words(s, ev->seg, w, sizeof(w));
		if (ev->frame >= 0)
			block_printf(&s->trace, s->term.cols, "%s#%lld in%s   %s", C(s, BOLD), (long long)ev->frame,
				     C(s, OFF), w);
		else
			block_printf(&s->trace, s->term.cols, "%sin%s   %s", C(s, BOLD), C(s, OFF), w);
		diagram(s, ev);
		f = open_memstream(&out, &outlen);
		if (f) {
			render_outcome(f, ev, s->kind == RUN_REPLAY, s->o.color);
			fclose(f);
			block_printf(&s->trace, s->term.cols, "-> %s", out);
		}
		free(out);
		break;
	case EV_SEGMENT_OUT:
		seg_words(s, ev->seg, w, sizeof(w));
		block_printf(&s->trace, s->term.cols, "   out  %s", w);
		break;
	case EV_ACCEPT:
		block_printf(&s->trace, s->term.cols, "accept on %s -> fd %d = sock #%u (remote %s), accept queue now %u",
			     endpoint_format(&ev->listener.addr, ev->listener.port, ep, sizeof(ep)), ev->sock.fd,
			     ev->sock.id, endpoint_format(&ev->sock.raddr, ev->sock.rport, b, sizeof(b)),
			     ev->listener.accept_queue);
		break;
	case EV_TIMER:
		if (ev->action == ACT_SYN_ACK_RTX || ev->action == ACT_RETRANSMIT)
			block_printf(&s->trace, s->term.cols, "timer: #%u (%s) sends its %s again (retransmission %u)",
				     ev->sock.id, tcp_state_name(ev->sock.state),
				     ev->action == ACT_SYN_ACK_RTX ? "SYN-ACK" : "segment", ev->retries);
		else if (ev->action == ACT_EXPIRE)
			block_printf(&s->trace, s->term.cols, "timer: #%u (%s) expires", ev->sock.id,
				     tcp_state_name(ev->sock.state));
		else
			block_printf(&s->trace, s->term.cols, "timer: #%u (%s) %s", ev->sock.id,
				     tcp_state_name(ev->sock.state), seg_action_name(ev->action));
		break;
	default:
		break; /* socket life-cycle events: "what changed" says it from the tables */
	}
}

static void call_line(struct slides *s, const struct rec_call *c)
{
	if (c->ret < 0 && errno_name(c->ret))
		block_printf(&s->trace, s->term.cols, "%s%s:%s %s = -1 %s%s%s", C(s, BOLD), c->who, C(s, OFF), c->call,
			     errno_name(c->ret), c->detail ? "  " : "", c->detail ? c->detail : "");
	else
		block_printf(&s->trace, s->term.cols, "%s%s:%s %s = %ld%s%s", C(s, BOLD), c->who, C(s, OFF), c->call,
			     c->ret, c->detail ? "  " : "", c->detail ? c->detail : "");
}

/* Moves the lines from index from to the end of trace to index to (a call before its effects). */
static void trace_move_back(struct block *b, int from, int to)
{
	char **tail;
	int k = b->n - from;

	if (k <= 0 || to < 0 || to >= from || !(tail = malloc((size_t)k * sizeof(*tail))))
		return;
	memcpy(tail, b->line + from, (size_t)k * sizeof(*tail));
	memmove(b->line + to + k, b->line + to, (size_t)(from - to) * sizeof(*tail));
	memcpy(b->line + to, tail, (size_t)k * sizeof(*tail));
	free(tail);
}

/* ---- the tables as ss shows them ------------------------------------------------------- */

/* An endpoint in at most w columns: cut in the middle with '~' when longer. */
static void fit_ep(const char *ep, int w, char *out, size_t len)
{
	int n = (int)strlen(ep);

	if (n <= w || w < 5) {
		snprintf(out, len, "%s", ep);
		return;
	}
	snprintf(out, len, "%.*s~%s", (w - 1) / 2, ep, ep + n - (w - 1 - (w - 1) / 2));
}

struct row {
	int marked;    /* the step changed it */
	char text[256];
};

static void table_rows(struct slides *s, const struct step *st, struct row **rows, int *nrows, int *width)
{
	const struct rec_tables *t = st->after;
	char a[ADDR_STRLEN], b[ADDR_STRLEN], la[64], pa[64], extra[48];
	int epw, n = 0;
	uint32_t i;

	*rows = NULL;
	*nrows = 0;
	if (!t)
		return;
	*rows = calloc((size_t)t->nlisteners + t->nehash + 1, sizeof(**rows));
	if (!*rows)
		return;
	/* Local and Peer share what is left after the fixed columns (2+11+7+7, and the id's 12). */
	epw = (s->term.cols - 39) / 2;
	if (epw > 22)
		epw = 22;
	if (epw < 9)
		epw = 9;
	*width = epw;
	for (i = 0; i < t->nlisteners; i++) {
		const struct listener_view *l = &t->listeners[i].l;
		struct row *r = &(*rows)[n++];

		endpoint_format(&l->addr, l->port, a, sizeof(a));
		fit_ep(a, epw, la, sizeof(la));
		render_ss_peer(&l->addr, pa, sizeof(pa));
		snprintf(extra, sizeof(extra), "#%u syn %u", l->id, l->syn_queue);
		r->marked = step_marked(st, l->id);
		snprintf(r->text, sizeof(r->text), "%-11s %-6u %-6d %-*s %-*s %s", "LISTEN", l->accept_queue,
			 l->backlog, epw, la, epw, pa, extra);
	}
	for (i = 0; i < t->nehash; i++) {
		const struct sock_view *v = &t->ehash[i];
		struct row *r = &(*rows)[n++];

		fit_ep(endpoint_format(&v->laddr, v->lport, a, sizeof(a)), epw, la, sizeof(la));
		fit_ep(endpoint_format(&v->raddr, v->rport, b, sizeof(b)), epw, pa, sizeof(pa));
		r->marked = step_marked(st, v->id);
		snprintf(r->text, sizeof(r->text), "%-11s %-6u %-6u %-*s %-*s #%u", render_ss_state(v->state), v->recv_q,
			 v->send_q, epw, la, epw, pa, v->id);
	}
	*nrows = n;
}

/* ---- the screen ------------------------------------------------------------------------ */

/* The keys, or a message, on the last line. No newline: a full screen must not scroll. */
static void last_line(struct slides *s, const char *keys)
{
	char line[512];

	snprintf(line, sizeof(line), "%s", s->status[0] ? s->status : keys);
	s->status[0] = '\0';
	if ((int)strlen(line) > s->term.cols)
		line[s->term.cols] = '\0';
	printf("%s%s%s", C(s, REV), line, C(s, OFF));
	fflush(stdout);
}

/* The first line: what runs, and where in it the screen is; reversed with colour. */
static void title_line(struct slides *s, const char *where)
{
	static const char *const cmd[] = { "", "demo", "replay", "script", "synth", "live" };
	char line[512];

	/* a file's name without its directories: the title has 80 columns for everything */
	const char *name = s->name && s->kind != RUN_DEMO && strrchr(s->name, '/') ? strrchr(s->name, '/') + 1 : s->name;

	snprintf(line, sizeof(line), "tcpdemux %s%s%s  %s", s->kind <= RUN_LIVE ? cmd[s->kind] : "",
		 name ? " " : "", name ? name : "", where);
	if ((int)strlen(line) > s->term.cols)
		line[s->term.cols] = '\0';
	printf("\033[2J\033[H%s%-*s%s\n", C(s, REV), s->term.cols, line, C(s, OFF));
}

/* Prints k lines of b; when k < all of them, the last of the k says how many are left out. */
static void put_block(struct slides *s, const struct block *b, int k, const char *what)
{
	int i;

	for (i = 0; i < k; i++) {
		if (i == k - 1 && k < b->n)
			printf("%s... %d more %s%s\n", C(s, DIM), b->n - i, what, C(s, OFF));
		else
			printf("%s\n", b->line[i]);
	}
}

/* Prints k of the n table rows: all in table order, or the changed ones first and a count. */
static void put_rows(struct slides *s, const struct row *rows, int n, int k)
{
	int i, pass, shown = 0, limit = k < n ? k - 1 : k;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n && shown < limit; i++) {
			const struct row *r = &rows[i];

			/* cut: the changed rows in the first pass, the rest in the second */
			if (k < n && r->marked != !pass)
				continue;
			if (k >= n && pass)
				break;
			printf("%s%s%s%s\n", r->marked ? C(s, BOLD) : "", r->marked ? "> " : "  ", r->text,
			       r->marked ? C(s, OFF) : "");
			shown++;
		}
	}
	if (k < n && k > 0)
		printf("%s  ... %d more rows%s\n", C(s, DIM), n - shown, C(s, OFF));
}

static void say_block(struct slides *s, struct block *b)
{
	int i;

	for (i = 0; i < s->nsay; i++)
		block_printf(b, s->term.cols, "%s%s%s", C(s, BOLD), s->say[i], C(s, OFF));
}

static void clear_say(struct slides *s)
{
	int i;

	for (i = 0; i < s->nsay; i++)
		free(s->say[i]);
	s->nsay = 0;
}

static const char *keys_line(const struct slides *s)
{
	return s->o.pace > 0 ? "[Enter/Space] next  [b] back  [g N] segment N  [q] quit  (pace: next by itself)"
			     : "[Enter/Space] next  [b] back  [g N] segment N  [q] quit";
}

/*
 * One step's screen. The height is shared in two rounds: first some of
 * each part (the step's lines, what changed, the narration, the tables),
 * then the rest in that order; a part cut short ends with a line saying
 * how much is left out. Title, the two headings and the keys are fixed.
 */
static void show_step(struct slides *s, const struct step *st)
{
	enum { P_SAY, P_TRACE, P_CHANGES, P_ROWS, NPARTS };
	static const int first[NPARTS] = { 2, 4, 3, 3 };
	static const int order[NPARTS] = { P_TRACE, P_CHANGES, P_SAY, P_ROWS };
	struct block say = { 0 }, changes = { 0 };
	struct row *rows = NULL;
	char where[STEP_LINE + 64], t[32];
	int n[NPARTS], k[NPARTS] = { 0 }, nrows = 0, epw = 22, room, pass, j, i, gap_say, gap_changes, gap_rows;

	say_block(s, &say);
	for (i = 0; i < st->nchanges; i++)
		block_text(&changes, s->term.cols, st->changes[i], strlen(st->changes[i]));
	if (!st->nchanges)
		block_printf(&changes, s->term.cols, "(nothing in the tables or counters)");
	table_rows(s, st, &rows, &nrows, &epw);
	n[P_SAY] = say.n;
	n[P_TRACE] = s->trace.n;
	n[P_CHANGES] = changes.n;
	n[P_ROWS] = nrows;
	room = s->term.rows - 4;
	for (pass = 0; pass < 2; pass++) {
		for (j = 0; j < NPARTS; j++) {
			int p = order[j], want = (pass ? n[p] : (first[p] < n[p] ? first[p] : n[p])) - k[p];

			if (want > room)
				want = room;
			if (want > 0) {
				k[p] += want;
				room -= want;
			}
		}
	}
	/* What room is left spaces the parts: before what changed, then the tables, then after the narration. */
	gap_changes = room > 0 && room--;
	gap_rows = room > 0 && room--;
	gap_say = k[P_SAY] && room > 0 && room--;
	render_time(st->t, t, sizeof(t));
	/* the time before the title: a long title is what the width cuts */
	if (st->kind == STEP_SEGMENT)
		snprintf(where, sizeof(where), "step %u  %s s  segment #%lld", st->n, t, (long long)st->segment);
	else
		snprintf(where, sizeof(where), "step %u  %s s  %s", st->n, t, st->title);
	title_line(s, where);
	put_block(s, &say, k[P_SAY], "lines");
	if (gap_say)
		putchar('\n');
	put_block(s, &s->trace, k[P_TRACE], "lines");
	if (gap_changes)
		putchar('\n');
	printf("%swhat changed%s\n", C(s, BOLD), C(s, OFF));
	put_block(s, &changes, k[P_CHANGES], "changes");
	if (gap_rows)
		putchar('\n');
	printf("%s  %-11s %-6s %-6s %-*s %-*s %s%s\n", C(s, DIM), "State", "Recv-Q", "Send-Q", epw, "Local", epw,
	       "Peer", "sock", C(s, OFF));
	put_rows(s, rows, nrows, k[P_ROWS]);
	last_line(s, keys_line(s));
	free(rows);
	block_free(&say);
	block_free(&changes);
}

/* A screen of text: the introduction, the summary, or the end of a skip that found nothing. */
static void show_text(struct slides *s, const char *where, const char *text, const char *keys)
{
	struct block b = { 0 }, say = { 0 };
	int room = s->term.rows - 2, ks, kb;

	say_block(s, &say);
	block_text(&b, s->term.cols, text, strlen(text));
	ks = say.n < room ? say.n : room;
	room -= ks;
	kb = b.n < room ? b.n : room;
	title_line(s, where);
	put_block(s, &say, ks, "lines");
	put_block(s, &b, kb, "lines");
	last_line(s, keys);
	block_free(&b);
	block_free(&say);
}

static void show_intro(struct slides *s)
{
	char text[4096], where[64];

	if (s->intro)
		snprintf(text, sizeof(text), "%s\n\n(hash seed %u: --hash-seed %u repeats this run)", s->intro, s->seed,
			 s->seed);
	else
		snprintf(text, sizeof(text), "One screen per step: each segment the stack receives, each timer, each\n"
					     "call of the application. Hash seed %u.", s->seed);
	snprintf(where, sizeof(where), "%s", "introduction");
	show_text(s, where, text, "[Enter/Space] first step  [g N] segment N  [q] quit");
}

/* ---- keys ------------------------------------------------------------------------------ */

/*
 * Runs the program again from the start, to show step at (or the first
 * step of segment at_segment, when >= 0) and go on from there.
 */
static void rerun(struct slides *s, long at, int64_t at_segment)
{
	char v[32];

	if (s->kind == RUN_REPLAY && s->name && strcmp(s->name, "-") == 0) {
		snprintf(s->status, sizeof(s->status),
			 "going back runs the capture again, and standard input cannot be read twice");
		return;
	}
	if (!s->o.argv) {
		snprintf(s->status, sizeof(s->status), "going back is not possible here");
		return;
	}
	snprintf(v, sizeof(v), "%ld", at);
	setenv("TCPDEMUX_SLIDES_AT", v, 1);
	snprintf(v, sizeof(v), "%lld", (long long)at_segment);
	setenv("TCPDEMUX_SLIDES_SEGMENT", v, 1);
	snprintf(v, sizeof(v), "%u", s->seed);
	setenv("TCPDEMUX_HASH_SEED", v, 1);
	fflush(stdout);
	term_restore();
	execv("/proc/self/exe", s->o.argv);
	snprintf(s->status, sizeof(s->status), "cannot run the program again: %s", strerror(errno));
	term_open(&s->term, "--slides", v, sizeof(v));
}

static void quit(struct slides *s)
{
	term_restore();
	printf("%s\n", C(s, OFF));
	exit(0);
}

/* 'g': the segment's number, typed on the last line. 0 when none was. */
static int64_t read_segment(struct slides *s)
{
	char num[16];
	size_t n = 0;
	int ch;

	printf("\r\033[K%sgo to segment: %s", C(s, REV), C(s, OFF));
	fflush(stdout);
	while ((ch = term_key(&s->term, -1)) > 0 && ch != '\n' && ch != '\r' && n + 1 < sizeof(num)) {
		if (ch >= '0' && ch <= '9') {
			num[n++] = (char)ch;
			putchar(ch);
		} else if ((ch == 127 || ch == '\b') && n) {
			n--;
			fputs("\b \b", stdout);
		} else if (ch == 27 || ch == 'q') {
			n = 0;
			break;
		}
		fflush(stdout);
	}
	num[n] = '\0';
	return n ? atoll(num) : 0;
}

enum { GO_NEXT, GO_REDRAW };

/*
 * Waits on a screen: Enter or Space (or --pace seconds) go on; b and g N
 * may run the program again; q quits. final: a summary's screen, which
 * --pace does not leave by itself. Returns GO_NEXT, or GO_REDRAW when the
 * screen must be drawn again (a message to show).
 */
static int wait_key(struct slides *s, int final)
{
	for (;;) {
		/* --pace moves on by itself, but not past a summary (one a lecturer reads out) */
		int ch = term_key(&s->term, s->o.pace > 0 && !final ? (int)(s->o.pace * 1000) : -1);

		if (ch == 0 || ch == '\n' || ch == '\r' || ch == ' ')
			return GO_NEXT;
		if (ch < 0 || ch == 'q')
			quit(s);
		if (ch == 'b') {
			if (s->screen == 0) {
				snprintf(s->status, sizeof(s->status), "this is the first screen");
				return GO_REDRAW;
			}
			rerun(s, (long)s->screen - 1, -1);
			return GO_REDRAW;
		}
		if (ch == 'g') {
			int64_t seg = read_segment(s);

			if (seg <= 0)
				return GO_REDRAW;
			if (seg > s->segment) {
				s->ahead = seg;
				return GO_NEXT;
			}
			rerun(s, -1, seg);
			return GO_REDRAW;
		}
	}
}

/* ---- the stream ------------------------------------------------------------------------ */

/* Not shown: a run again from the start that has not reached the screen wanted. */
static int skipping(const struct slides *s)
{
	return s->at >= 0 || s->at_segment >= 0 || s->ahead >= 0;
}

/* step_ops.record: the record's lines for the step's screen. */
static void on_record(void *ctx, struct step *st, const struct record *rec, int cause)
{
	struct slides *s = ctx;

	/* Gathered even while skipping: the step that ends the skip is known only when it closes. */
	(void)st;
	switch (rec->type) {
	case REC_EVENT:
		if (s->trace_events < 0)
			s->trace_events = s->trace.n;
		event_lines(s, rec);
		break;
	case REC_CALL:
		call_line(s, rec->call);
		/* the call goes before the segments it caused */
		if (cause && s->trace_events >= 0)
			trace_move_back(&s->trace, s->trace.n - 1, s->trace_events);
		break;
	case REC_INFERRED:
	case REC_VERIFY:
		via_text(s, rec);
		break;
	default:
		break; /* the tables: every screen shows them */
	}
}

static void on_close(void *ctx, struct step *st)
{
	struct slides *s = ctx;

	if (st->kind == STEP_SEGMENT)
		s->segment = st->segment;
	if (s->at >= 0 && (long)st->n >= s->at)
		s->at = -1;
	if (s->at_segment >= 0 && st->kind == STEP_SEGMENT && st->segment == s->at_segment)
		s->at_segment = -1;
	if (s->ahead >= 0 && st->kind == STEP_SEGMENT && st->segment == s->ahead)
		s->ahead = -1;
	if (!skipping(s)) {
		s->screen = st->n;
		term_size(&s->term);
		do {
			show_step(s, st);
		} while (wait_key(s, 0) == GO_REDRAW);
	}
	clear_say(s);
	block_free(&s->trace);
	s->trace_events = -1;
}

static void begin(struct slides *s, const struct rec_begin *b)
{
	size_t n;

	s->kind = b->kind;
	s->seed = b->hash_seed;
	free(s->name);
	free(s->intro);
	s->name = b->name ? strdup(b->name) : NULL;
	s->intro = NULL;
	if (b->summary || b->intro) {
		n = (b->summary ? strlen(b->summary) : 0) + (b->intro ? strlen(b->intro) : 0) + 4;
		s->intro = malloc(n);
		if (s->intro)
			snprintf(s->intro, n, "%s%s%s", b->summary ? b->summary : "", b->summary && b->intro ? "\n\n" : "",
				 b->intro ? b->intro : "");
	}
	/* the text renderer words a replay's lines as one */
	render_record(s->mem.text, &(struct record){ .type = REC_BEGIN, .t = 0, .begin = b });
	if (s->at == 0)
		s->at = -1;
	if (skipping(s))
		return;
	term_size(&s->term);
	do {
		show_intro(s);
	} while (wait_key(s, 0) == GO_REDRAW);
}

/* The last screen: the summary as the text trace writes it, and what a 'g N' did not find. */
static void summary(struct slides *s, const struct record *rec)
{
	char where[64];

	render_mem_clear(&s->mem);
	if (s->ahead >= 0 || s->at_segment >= 0) {
		fprintf(s->mem.f, "There is no segment #%lld: the run ended after segment #%lld.\n\n",
			(long long)(s->ahead >= 0 ? s->ahead : s->at_segment), (long long)s->segment);
		s->ahead = s->at_segment = -1;
	}
	s->at = -1;
	render_record(s->mem.text, rec);
	render_mem_sync(&s->mem);
	snprintf(where, sizeof(where), "the end (after step %u)", s->steps.count);
	s->screen = s->steps.count + 1;
	term_size(&s->term);
	do {
		show_text(s, where, s->mem.buf ? s->mem.buf : "", "[Enter/Space] go on  [b] back  [g N] segment N  [q] quit");
	} while (wait_key(s, 1) == GO_REDRAW);
}

/* step_ops.outside: the opening record, narration, asked-for tables, the summary. */
static void on_outside(void *ctx, const struct record *rec)
{
	struct slides *s = ctx;

	switch (rec->type) {
	case REC_BEGIN:
		begin(s, rec->begin);
		break;
	case REC_SAY:
		if (s->nsay == SL_MAX_SAY) {
			free(s->say[0]);
			memmove(s->say, s->say + 1, (SL_MAX_SAY - 1) * sizeof(s->say[0]));
			s->nsay--;
		}
		if ((s->say[s->nsay] = strdup(rec->say)))
			s->nsay++;
		break;
	case REC_SUMMARY:
		summary(s, rec);
		break;
	default:
		break;
	}
}

static const struct step_ops slides_cb = { on_record, on_close, on_outside };

static void slides_record(struct renderer *r, const struct record *rec)
{
	stepper_record(&((struct slides *)r)->steps, rec);
}

static void slides_destroy(struct renderer *r)
{
	struct slides *s = (struct slides *)r;

	stepper_flush(&s->steps);
	term_close(&s->term);
	printf("%s\n", C(s, OFF));
	fflush(stdout);
	stepper_free(&s->steps);
	render_mem_close(&s->mem);
	block_free(&s->trace);
	clear_say(s);
	free(s->name);
	free(s->intro);
	free(s);
}

static const struct renderer_ops slides_ops = { slides_record, slides_destroy };

/* A number from the environment, or -1 when it is not set or not one. */
static long env_number(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n < 0 ? -1 : n;
}

struct renderer *render_slides_new(const struct slides_opts *o, char *err, size_t errlen)
{
	struct slides *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (term_open(&s->term, "--slides", err, errlen) < 0) {
		free(s);
		return NULL;
	}
	if (render_mem_open(&s->mem, o->color) < 0) {
		term_close(&s->term);
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->r.ops = &slides_ops;
	s->r.wants = RENDER_WANT_TABLES;
	s->o = *o;
	s->trace_events = -1;
	s->segment = -1;
	s->ahead = -1;
	/* a run again from the start, to show one step (rerun()) */
	s->at = env_number("TCPDEMUX_SLIDES_AT");
	s->at_segment = env_number("TCPDEMUX_SLIDES_SEGMENT");
	unsetenv("TCPDEMUX_SLIDES_AT");
	unsetenv("TCPDEMUX_SLIDES_SEGMENT");
	stepper_init(&s->steps, &slides_cb, s);
	return &s->r;
}
