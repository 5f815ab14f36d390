/*
 * script.c - packetdrill-syntax scenarios, run against the stack.
 *
 * Path: FILE -> parse_script() (every line checked before anything runs)
 *       -> run(): each statement at its time on the virtual clock:
 *          "< ..."  a segment built and fed to stack_input()
 *          "> ..."  the next segment the stack sent, compared field by field
 *          "call()" a sys_*() call, its result compared
 *          "`sysctl -q NAME=VALUE`" a knob changed
 *
 * Sequence numbers follow packetdrill's rules: an inbound segment's
 * sequence numbers are the remote's, as written; the stack's own sequence
 * numbers are written relative to its ISN (learned from its first SYN or
 * SYN-ACK to that remote endpoint, and again at each connect()), so
 * "> S. 0:0(0) ack 1" matches whatever ISN the stack chose, and an inbound
 * "ack 1" acknowledges it. A later connection to the same endpoint that
 * reuses a TIME_WAIT 4-tuple keeps counting from the first ISN, so the
 * script shows the gap Linux leaves (snd_nxt + 65537).
 *
 * Blocking calls: a socket is blocking until fcntl(O_NONBLOCK). A
 * blocking accept(), read() or connect() that cannot finish at once stays
 * pending while the following lines run (as packetdrill runs it in a
 * thread), and must finish within its line's time range.
 *
 * Two extensions, for scenarios packetdrill cannot express with one
 * remote endpoint: a packet line may name its remote endpoint,
 * "+0 @192.0.2.2:5000 < S 0:0(0) win 65535", and bind() may name its
 * address, "bind(3, 0.0.0.0:8080, ...)". A plain packetdrill script never
 * needs either.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "errname.h"
#include "script.h"
#include "socket.h"
#include "sysctl.h"

#define MAX_LINE 4096
#define MAX_STMTS 100000
#define MAX_ARGS 8
#define MAX_OPTS 16
#define MAX_CONNS 1024
#define MAX_FDS 1024
#define BOUND_PORT 8080    /* packetdrill binds and connects to port 8080 */
#define REMOTE_PORT 40000  /* the remote's port in passive scripts */
#define SCRIPT_MSS_DATA 'x'
#define WAIT_LIMIT (600 * VT_SEC)

enum stmt_kind { ST_PACKET, ST_CALL, ST_SYSCTL, ST_SAY };
enum opt_kind { O_NOP, O_EOL, O_MSS, O_WSCALE, O_SACKOK, O_TS };

struct sopt {
	uint8_t kind;
	uint32_t a, b;
};

struct stmt {
	int line;
	uint8_t kind;
	/* timing */
	uint8_t any_time, rel, range, rel_end;
	double t1, t2;
	/* packet */
	uint8_t inbound;
	uint8_t has_ep, has_lep;
	struct ip_addr ep, lep;
	uint16_t ep_port, lep_port;
	uint8_t flags;
	uint32_t seq, end;
	uint8_t has_ack, has_win, has_opts; /* "...>" (any options) leaves has_opts 0 */
	uint32_t ack, win;
	struct sopt opts[MAX_OPTS];
	int nopts;
	/* call */
	char name[24];
	char args[MAX_ARGS][64];
	int nargs;
	long ret;
	int err; /* expected errno (positive) when ret == -1 */
	/* sysctl */
	char assign[128];
	/* narration ("//! text"), shown by the text trace */
	char say[160];
};

struct sconn {
	struct ip_addr raddr, laddr;
	uint16_t rport, lport;
	uint8_t have_local_isn;
	uint32_t live_isn, script_isn;
};

struct pending {
	int active;
	const struct stmt *s;
	vtime_t deadline;
};

struct outseg {
	struct segment seg;
	vtime_t t;
};

struct srun {
	const struct script_opts *o;
	struct stack *st;
	struct stmt *stmts;
	int nstmts;
	struct ip_addr local, remote;
	struct sconn conns[MAX_CONNS];
	int nconns;
	int cur_conn;               /* the connection lines without @ep use */
	uint16_t bound_port;        /* the last port bind() named: where segments go */
	uint8_t nonblock[MAX_FDS];
	uint8_t linger0[MAX_FDS];
	struct outseg *outq;
	int nout, capout, headout;
	struct pending pend;
	vtime_t last_t;
	int failed;
	int64_t frames;             /* inbound segments so far (o->number_inbound) */
};

/* ---- errors --------------------------------------------------------------------------- */

static int syntax(const struct script_opts *o, int line, const char *what, const char *got)
{
	fprintf(stderr, "%s:%d: expected %s, got '%.60s'\n", o->file, line, what, got);
	return -1;
}

/* Makes room for one more statement (at most MAX_STMTS). Returns 0 or -1 (message printed). */
static int stmt_room(struct srun *r, const struct script_opts *o, int line, int *cap, const char *text)
{
	struct stmt *ns;

	if (r->nstmts < *cap)
		return 0;
	if (*cap >= MAX_STMTS)
		return syntax(o, line, "at most 100000 statements", text);
	*cap = *cap ? *cap * 2 : 64;
	ns = realloc(r->stmts, (size_t)*cap * sizeof(*ns));
	if (!ns) {
		fprintf(stderr, "tcpdemux: %s: out of memory\n", o->file);
		return -1;
	}
	r->stmts = ns;
	return 0;
}

static int fail(struct srun *r, const struct stmt *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line "FILE:LINE: what went wrong" on stderr; the run is failed. */
static int fail(struct srun *r, const struct stmt *s, const char *fmt, ...)
{
	va_list ap;

	r->failed = 1;
	if (r->o->quiet)
		return -1;
	fprintf(stderr, "%s:%d: ", r->o->file, s->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* ---- lexing helpers ----------------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* Seconds: "0", "1.5", ".1"; a '.' counts only when a digit follows ("0...0.2"). */
static int parse_time(const char *p, const char **end, double *t)
{
	const char *q = p;
	char num[32];
	size_t n;

	while (isdigit((unsigned char)*q))
		q++;
	if (*q == '.' && isdigit((unsigned char)q[1])) {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	n = (size_t)(q - p);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, p, n);
	num[n] = '\0';
	*t = strtod(num, NULL);
	if (*t > 1e6)
		return -1;
	*end = q;
	return 0;
}

static int parse_u32(const char *p, const char **end, uint32_t *v)
{
	char *e;
	unsigned long long x;

	if (!isdigit((unsigned char)*p))
		return -1;
	x = strtoull(p, &e, 0);
	if (e == p || x > 0xffffffffull)
		return -1;
	*v = (uint32_t)x;
	*end = e;
	return 0;
}

/* "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7" up to '>' */
static int parse_opts(const struct script_opts *o, int line, const char *p, const char **end,
		      struct stmt *s)
{
	if (strncmp(p, "...>", 4) == 0) {
		*end = p + 4;
		return 0;
	}
	s->has_opts = 1;
	for (;;) {
		struct sopt *op;

		p = skip_ws(p);
		if (*p == '>') {
			*end = p + 1;
			return 0;
		}
		if (s->nopts == MAX_OPTS)
			return syntax(o, line, "at most 16 options", p);
		op = &s->opts[s->nopts++];
		memset(op, 0, sizeof(*op));
		if (strncmp(p, "nop", 3) == 0) {
			op->kind = O_NOP;
			p += 3;
		} else if (strncmp(p, "eol", 3) == 0) {
			op->kind = O_EOL;
			p += 3;
		} else if (strncmp(p, "sackOK", 6) == 0) {
			op->kind = O_SACKOK;
			p += 6;
		} else if (strncmp(p, "mss ", 4) == 0) {
			op->kind = O_MSS;
			if (parse_u32(skip_ws(p + 4), &p, &op->a) < 0 || op->a > 65535)
				return syntax(o, line, "an MSS value", p);
		} else if (strncmp(p, "wscale ", 7) == 0) {
			op->kind = O_WSCALE;
			if (parse_u32(skip_ws(p + 7), &p, &op->a) < 0 || op->a > 255)
				return syntax(o, line, "a window scale value", p);
		} else if (strncmp(p, "TS val ", 7) == 0) {
			op->kind = O_TS;
			if (parse_u32(skip_ws(p + 7), &p, &op->a) < 0)
				return syntax(o, line, "a TS value", p);
			p = skip_ws(p);
			if (strncmp(p, "ecr ", 4) != 0 || parse_u32(skip_ws(p + 4), &p, &op->b) < 0)
				return syntax(o, line, "'ecr N' after the TS value", p);
		} else {
			return syntax(o, line, "a TCP option (mss N, sackOK, TS val N ecr N, nop, wscale N, eol)", p);
		}
		p = skip_ws(p);
		if (*p == ',')
			p++;
		else if (*p != '>')
			return syntax(o, line, "',' or '>' after an option", p);
	}
}

/* "< S. 0:0(0) ack 1 win 65535 <mss 1460>" after the direction. */
static int parse_packet(const struct script_opts *o, int line, const char *p, struct stmt *s)
{
	uint32_t len;

	s->kind = ST_PACKET;
	s->inbound = *p == '<';
	p = skip_ws(p + 1);
	for (; *p && *p != ' ' && *p != '\t'; p++) {
		switch (*p) {
		case 'S': s->flags |= TH_SYN; break;
		case 'F': s->flags |= TH_FIN; break;
		case 'R': s->flags |= TH_RST; break;
		case 'P': s->flags |= TH_PSH; break;
		case '.': s->flags |= TH_ACK; break;
		case 'U': s->flags |= TH_URG; break;
		case 'E': s->flags |= TH_ECE; break;
		case 'W': s->flags |= TH_CWR; break;
		default:
			return syntax(o, line, "TCP flags from S F R P . U E W", p);
		}
	}
	p = skip_ws(p);
	if (parse_u32(p, &p, &s->seq) < 0 || *p != ':' || parse_u32(p + 1, &p, &s->end) < 0 || *p != '(' ||
	    parse_u32(p + 1, &p, &len) < 0 || *p != ')')
		return syntax(o, line, "START:END(LENGTH)", p);
	if (s->end - s->seq != len)
		return syntax(o, line, "END - START equal to LENGTH", p);
	p = skip_ws(p + 1);
	while (*p) {
		if (strncmp(p, "ack ", 4) == 0) {
			if (parse_u32(skip_ws(p + 4), &p, &s->ack) < 0)
				return syntax(o, line, "an ack number", p);
			s->has_ack = 1;
		} else if (strncmp(p, "win ", 4) == 0) {
			if (parse_u32(skip_ws(p + 4), &p, &s->win) < 0 || s->win > 65535)
				return syntax(o, line, "a window from 0 to 65535", p);
			s->has_win = 1;
		} else if (*p == '<') {
			if (parse_opts(o, line, p + 1, &p, s) < 0)
				return -1;
		} else {
			return syntax(o, line, "'ack N', 'win N' or '<options>'", p);
		}
		p = skip_ws(p);
	}
	if ((s->flags & TH_ACK) && !s->has_ack && s->inbound)
		return syntax(o, line, "'ack N' on a segment with the ACK flag", p);
	return 0;
}

/* "name(arg, arg, ...) = RET [ERRNO [(text)]]" */
static int parse_call(const struct script_opts *o, int line, const char *p, struct stmt *s)
{
	const char *q = p;
	size_t n;
	int depth = 0;

	s->kind = ST_CALL;
	while (isalnum((unsigned char)*q) || *q == '_')
		q++;
	n = (size_t)(q - p);
	if (n == 0 || n >= sizeof(s->name) || *q != '(')
		return syntax(o, line, "a system call, a packet (< or >) or a `command`", p);
	memcpy(s->name, p, n);
	s->name[n] = '\0';
	p = q + 1;
	for (;;) {
		const char *a;

		p = skip_ws(p);
		a = p;
		while (*p && (depth > 0 || (*p != ',' && *p != ')'))) {
			if (*p == '[' || *p == '{' || *p == '(')
				depth++;
			else if (*p == ']' || *p == '}' || *p == ')')
				depth--;
			p++;
		}
		if (!*p)
			return syntax(o, line, "')' closing the argument list", a);
		if (p > a || *p == ',') {
			size_t al = (size_t)(p - a);

			while (al > 0 && (a[al - 1] == ' ' || a[al - 1] == '\t'))
				al--;
			if (s->nargs == MAX_ARGS || al >= sizeof(s->args[0]))
				return syntax(o, line, "at most 8 short arguments", a);
			memcpy(s->args[s->nargs], a, al);
			s->args[s->nargs][al] = '\0';
			s->nargs++;
		}
		if (*p == ')')
			break;
		p++;
	}
	p = skip_ws(p + 1);
	if (*p != '=')
		return syntax(o, line, "'= RESULT' after the call", p);
	p = skip_ws(p + 1);
	{
		char *e;

		s->ret = strtol(p, &e, 0);
		if (e == p)
			return syntax(o, line, "a number as the result", p);
		p = skip_ws(e);
	}
	if (s->ret == -1) {
		char ename[32];
		size_t k = 0;

		while ((isalnum((unsigned char)p[k]) || p[k] == '_') && k + 1 < sizeof(ename)) {
			ename[k] = p[k];
			k++;
		}
		ename[k] = '\0';
		s->err = errno_value(ename);
		if (!s->err)
			return syntax(o, line, "an errno name such as EAGAIN after -1", p);
		p = skip_ws(p + k);
		if (*p == '(') /* the optional "(Resource temporarily unavailable)" */
			p += strlen(p);
	}
	if (*skip_ws(p))
		return syntax(o, line, "the end of the line after the result", p);
	return 0;
}

static int parse_line(const struct script_opts *o, int line, const char *p, struct stmt *s)
{
	memset(s, 0, sizeof(*s));
	s->line = line;
	/* timing; a `command` line may go without (it runs when reached) */
	if (*p == '`') {
		s->rel = 1;
	} else if (*p == '*') {
		s->any_time = 1;
		p++;
	} else {
		if (*p == '+') {
			s->rel = 1;
			p++;
		}
		if (parse_time(p, &p, &s->t1) < 0)
			return syntax(o, line, "a time (0.100, +0.1, +0...0.200 or *)", p);
		if (strncmp(p, "...", 3) == 0) {
			p += 3;
			s->range = 1;
			s->rel_end = s->rel;
			if (*p == '+')
				p++;
			if (parse_time(p, &p, &s->t2) < 0 || s->t2 < s->t1)
				return syntax(o, line, "the end of the time range, not before its start", p);
		}
	}
	p = skip_ws(p);
	if (*p == '@') {
		char ep[96], *gt;
		size_t k = 0;

		p++;
		while (*p && *p != ' ' && *p != '\t' && k + 1 < sizeof(ep))
			ep[k++] = *p++;
		ep[k] = '\0';
		/* "@REMOTE>LOCAL" also names the stack's end (another local address). */
		gt = strchr(ep, '>');
		if (gt) {
			*gt = '\0';
			if (endpoint_parse(gt + 1, &s->lep, &s->lep_port) < 0)
				return syntax(o, line, "@REMOTE>LOCAL with LOCAL as ADDR:PORT", gt + 1);
			s->has_lep = 1;
		}
		if (endpoint_parse(ep, &s->ep, &s->ep_port) < 0)
			return syntax(o, line, "@ADDR:PORT naming the remote endpoint", ep);
		s->has_ep = 1;
		p = skip_ws(p);
		if (*p != '<' && *p != '>')
			return syntax(o, line, "a packet after @ADDR:PORT", p);
	}
	if (*p == '<' || *p == '>')
		return parse_packet(o, line, p, s);
	if (*p == '`') {
		const char *e = strchr(p + 1, '`');
		const char *c = p + 1;

		if (!e || *skip_ws(e + 1))
			return syntax(o, line, "a command between backticks", p);
		s->kind = ST_SYSCTL;
		c = skip_ws(c);
		if (strncmp(c, "sysctl -q ", 10) != 0 && strncmp(c, "sysctl -w ", 10) != 0)
			return syntax(o, line, "`sysctl -q NAME=VALUE` (the only command tcpdemux runs)", c);
		c = skip_ws(c + 10);
		if ((size_t)(e - c) >= sizeof(s->assign))
			return syntax(o, line, "a shorter sysctl assignment", c);
		memcpy(s->assign, c, (size_t)(e - c));
		s->assign[e - c] = '\0';
		while (s->assign[0] && isspace((unsigned char)s->assign[strlen(s->assign) - 1]))
			s->assign[strlen(s->assign) - 1] = '\0';
		return 0;
	}
	return parse_call(o, line, p, s);
}

/* Strips comments (// and block comments) in place; *in_block carries across lines. */
static void strip_comments(char *line, int *in_block)
{
	char *r = line, *w = line;

	while (*r) {
		if (*in_block) {
			if (r[0] == '*' && r[1] == '/') {
				*in_block = 0;
				r += 2;
			} else {
				r++;
			}
			continue;
		}
		if (r[0] == '/' && r[1] == '*') {
			*in_block = 1;
			r += 2;
			continue;
		}
		if (r[0] == '/' && r[1] == '/')
			break;
		*w++ = *r++;
	}
	*w = '\0';
	while (w > line && isspace((unsigned char)w[-1]))
		*--w = '\0';
}

#define MAX_FILE (16 << 20)

/* Reads the whole file (at most MAX_FILE bytes); NULL and a message on failure. */
static char *read_script(const struct script_opts *o, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if (o->text) {
		*len = strlen(o->text);
		buf = malloc(*len + 1);
		if (buf)
			memcpy(buf, o->text, *len + 1);
		return buf;
	}
	f = fopen(o->file, "rb");
	if (!f) {
		fprintf(stderr, "tcpdemux: %s: %s\n", o->file, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "tcpdemux: %s: out of memory\n", o->file);
		return NULL;
	}
	n = fread(buf, 1, MAX_FILE + 1, f);
	if (ferror(f) || n > MAX_FILE) {
		fprintf(stderr, "tcpdemux: %s: %s\n", o->file,
			ferror(f) ? "cannot be read (a directory?)" : "longer than 16 MiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int parse_script(const struct script_opts *o, struct srun *r)
{
	size_t len, pos = 0;
	char *text = read_script(o, &len);
	int line = 0, in_block = 0, cap = 0, rc = 0;

	if (!text)
		return -1;
	while (pos < len && rc == 0) {
		char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - start) : len - pos;
		const char *p;

		line++;
		pos += ll + (nl ? 1 : 0);
		if (memchr(start, '\0', ll)) {
			rc = syntax(o, line, "text", "a NUL byte");
			break;
		}
		if (ll >= MAX_LINE) {
			rc = syntax(o, line, "a line shorter than 4096 characters", start);
			break;
		}
		start[ll] = '\0';
		p = skip_ws(start);
		if (!in_block && strncmp(p, "//!", 3) == 0) {
			/* narration: becomes a statement of its own */
			struct stmt say;

			memset(&say, 0, sizeof(say));
			say.line = line;
			say.kind = ST_SAY;
			say.rel = 1;
			snprintf(say.say, sizeof(say.say), "%s", skip_ws(p + 3));
			rc = stmt_room(r, o, line, &cap, p);
			if (rc == 0)
				r->stmts[r->nstmts++] = say;
			continue;
		}
		strip_comments(start, &in_block);
		p = skip_ws(start);
		if (!*p)
			continue;
		rc = stmt_room(r, o, line, &cap, p);
		if (rc < 0)
			break;
		rc = parse_line(o, line, p, &r->stmts[r->nstmts]);
		if (rc == 0)
			r->nstmts++;
	}
	free(text);
	if (rc == 0 && in_block)
		rc = syntax(o, line, "'*/' closing a comment", "the end of the file");
	return rc;
}

/* ---- running ------------------------------------------------------------------------------- */

static void observe(void *ctx, const struct event *ev)
{
	struct srun *r = ctx;

	if (ev->type == EV_SEGMENT_OUT) {
		if (r->nout == r->capout) {
			int cap = r->capout ? r->capout * 2 : 64;
			struct outseg *q = realloc(r->outq, (size_t)cap * sizeof(*q));

			if (!q)
				return;
			r->outq = q;
			r->capout = cap;
		}
		r->outq[r->nout].seg = *ev->seg;
		r->outq[r->nout].seg.data = NULL;
		r->outq[r->nout].t = ev->t;
		r->nout++;
	}
	emit_event(r->o->r, r->st, ev);
}

static struct sconn *conn_find(struct srun *r, const struct ip_addr *ra, uint16_t rp)
{
	int i;

	for (i = 0; i < r->nconns; i++)
		if (r->conns[i].rport == rp && addr_equal(&r->conns[i].raddr, ra))
			return &r->conns[i];
	return NULL;
}

static struct sconn *conn_add(struct srun *r, const struct ip_addr *ra, uint16_t rp)
{
	struct sconn *c = conn_find(r, ra, rp);

	if (c)
		return c;
	if (r->nconns == MAX_CONNS)
		return NULL;
	c = &r->conns[r->nconns++];
	memset(c, 0, sizeof(*c));
	c->raddr = *ra;
	c->rport = rp;
	c->laddr = r->local;
	c->lport = r->bound_port;
	return c;
}

/* The connection a packet line is about. */
static struct sconn *conn_of(struct srun *r, const struct stmt *s)
{
	if (s->has_ep) {
		struct sconn *c = conn_add(r, &s->ep, s->ep_port);

		if (c && s->has_lep) {
			c->laddr = s->lep;
			c->lport = s->lep_port;
			if (!stack_has_addr(r->st, &s->lep))
				stack_add_addr(r->st, &s->lep);
		}
		if (c)
			r->cur_conn = (int)(c - r->conns);
		return c;
	}
	if (r->cur_conn < 0) {
		struct sconn *c = conn_add(r, &r->remote, REMOTE_PORT);

		if (c)
			r->cur_conn = (int)(c - r->conns);
		return c;
	}
	return &r->conns[r->cur_conn];
}

static vtime_t to_vt(double s)
{
	return (vtime_t)(s * 1e9 + 0.5);
}

static void opts_of_stmt(const struct stmt *s, struct tcp_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < s->nopts; i++) {
		const struct sopt *op = &s->opts[i];

		switch (op->kind) {
		case O_MSS:
			o->has_mss = 1;
			o->mss = (uint16_t)op->a;
			break;
		case O_WSCALE:
			o->has_wscale = 1;
			o->wscale = (uint8_t)op->a;
			break;
		case O_SACKOK:
			o->sack_ok = 1;
			break;
		case O_TS:
			o->has_ts = 1;
			o->tsval = op->a;
			o->tsecr = op->b;
			break;
		default:
			break;
		}
	}
}

static int inject(struct srun *r, const struct stmt *s)
{
	static uint8_t payload[65535];
	struct sconn *c = conn_of(r, s);
	struct segment seg;

	if (!c)
		return fail(r, s, "%s", "too many remote endpoints (at most 1024)");
	memset(&seg, 0, sizeof(seg));
	seg.src = c->raddr;
	seg.sport = c->rport;
	seg.dst = c->laddr;
	seg.dport = c->lport;
	seg.flags = s->flags;
	seg.seq = s->seq;
	/* An ack acknowledges the stack's own numbers: written relative to its ISN. */
	seg.ack = s->has_ack ? (c->have_local_isn ? s->ack - c->script_isn + c->live_isn : s->ack) : 0;
	seg.win = (uint16_t)(s->has_win ? s->win : 65535);
	seg.len = s->end - s->seq;
	if (seg.len > sizeof(payload))
		return fail(r, s, "%s", "payload longer than 65535 bytes");
	memset(payload, SCRIPT_MSS_DATA, seg.len);
	seg.data = payload;
	opts_of_stmt(s, &seg.opt);
	/* A RST ends the connection: the next one on this endpoint has an ISN of its own. */
	if (s->flags & TH_RST)
		c->have_local_isn = 0;
	stack_input(r->st, &seg, r->o->number_inbound ? ++r->frames : s->line);
	return 0;
}

static void seg_text(const struct segment *g, uint32_t seq, char *buf, size_t len)
{
	static const char letters[] = "SFRPUEW";
	static const uint8_t bits[] = { TH_SYN, TH_FIN, TH_RST, TH_PSH, TH_URG, TH_ECE, TH_CWR };
	char fl[12], o[160];
	uint8_t raw[TCP_OPT_MAX];
	size_t n = tcp_opts_write(&g->opt, raw), i, k = 0;
	int j = 0;

	/* packetdrill's notation: the letters, then '.' for ACK ("S.", "P.") */
	for (i = 0; i < sizeof(bits); i++)
		if (g->flags & bits[i])
			fl[j++] = letters[i];
	if (g->flags & TH_ACK)
		fl[j++] = '.';
	fl[j] = '\0';
	o[0] = '\0';
	for (i = 0; i < n && k + 24 < sizeof(o);) {
		uint8_t kind = raw[i];

		if (kind == 1) {
			k += (size_t)snprintf(o + k, sizeof(o) - k, "%snop", k ? "," : "");
			i++;
		} else if (kind == 0) {
			break;
		} else if (kind == 2) {
			k += (size_t)snprintf(o + k, sizeof(o) - k, "%smss %u", k ? "," : "", raw[i + 2] << 8 | raw[i + 3]);
			i += 4;
		} else if (kind == 3) {
			k += (size_t)snprintf(o + k, sizeof(o) - k, "%swscale %u", k ? "," : "", raw[i + 2]);
			i += 3;
		} else if (kind == 4) {
			k += (size_t)snprintf(o + k, sizeof(o) - k, "%ssackOK", k ? "," : "");
			i += 2;
		} else {
			k += (size_t)snprintf(o + k, sizeof(o) - k, "%sTS val %u ecr %u", k ? "," : "", g->opt.tsval,
					      g->opt.tsecr);
			i += 10;
		}
	}
	snprintf(buf, len, "%s %u:%u(%u)%s%.0u win %u%s%s%s", fl, seq, seq + g->len, g->len,
		 (g->flags & TH_ACK) ? " ack " : "", (g->flags & TH_ACK) ? g->ack : 0, g->win, n ? " <" : "",
		 o, n ? ">" : "");
}

/* The options a line expects, as the bytes a sender would write (TS values aside). */
static size_t stmt_opt_bytes(const struct stmt *s, uint8_t *b)
{
	size_t n = 0;
	int i;

	for (i = 0; i < s->nopts && n + 10 <= TCP_OPT_MAX; i++) {
		const struct sopt *op = &s->opts[i];

		switch (op->kind) {
		case O_NOP: b[n++] = 1; break;
		case O_EOL: b[n++] = 0; break;
		case O_MSS: b[n++] = 2; b[n++] = 4; b[n++] = (uint8_t)(op->a >> 8); b[n++] = (uint8_t)op->a; break;
		case O_WSCALE: b[n++] = 3; b[n++] = 3; b[n++] = (uint8_t)op->a; break;
		case O_SACKOK: b[n++] = 4; b[n++] = 2; break;
		default: b[n++] = 8; b[n++] = 10; memset(b + n, 0, 8); n += 8; break;
		}
	}
	return n;
}

static void mask_ts(uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (b[i] <= 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || b[i + 1] < 2)
			return;
		if (b[i] == 8 && i + 10 <= n)
			memset(b + i + 2, 0, 8);
		i += b[i + 1];
	}
}

static int check_out(struct srun *r, const struct stmt *s, const struct outseg *og)
{
	const struct segment *g = &og->seg;
	struct sconn *c = conn_of(r, s);
	uint32_t rel_seq;
	char got[256];

	if (!c)
		return fail(r, s, "%s", "too many remote endpoints (at most 1024)");
	/* The stack's first SYN or SYN-ACK on a connection fixes its ISN. */
	if ((g->flags & TH_SYN) && !c->have_local_isn) {
		c->have_local_isn = 1;
		c->live_isn = g->seq;
		c->script_isn = s->seq;
	}
	rel_seq = c->have_local_isn ? g->seq - c->live_isn + c->script_isn : g->seq;
	seg_text(g, rel_seq, got, sizeof(got));
	/* Both ends are part of what a line says: the remote it goes to, the local end it leaves. */
	if (!addr_equal(&g->dst, &c->raddr) || g->dport != c->rport ||
	    !addr_equal(&g->src, &c->laddr) || g->sport != c->lport) {
		char sent_src[ADDR_STRLEN], sent_dst[ADDR_STRLEN], want_src[ADDR_STRLEN], want_dst[ADDR_STRLEN];

		endpoint_format(&g->src, g->sport, sent_src, sizeof(sent_src));
		endpoint_format(&g->dst, g->dport, sent_dst, sizeof(sent_dst));
		endpoint_format(&c->laddr, c->lport, want_src, sizeof(want_src));
		endpoint_format(&c->raddr, c->rport, want_dst, sizeof(want_dst));
		return fail(r, s, "expected a segment %s > %s, actual %s > %s (%s)", want_src, want_dst, sent_src,
			    sent_dst, got);
	}
	if (g->flags != s->flags || rel_seq != s->seq || g->len != s->end - s->seq ||
	    (s->has_ack && g->ack != s->ack) || (s->has_win && g->win != s->win))
		return fail(r, s, "the stack sent %s, which differs from the line", got);
	if (s->has_opts) {
		uint8_t want_b[TCP_OPT_MAX + 16], got_b[TCP_OPT_MAX];
		size_t wn = stmt_opt_bytes(s, want_b), gn = tcp_opts_write(&g->opt, got_b);

		/* Trailing padding is not part of what a script names. */
		while (gn > 0 && got_b[gn - 1] == 0)
			gn--;
		mask_ts(got_b, gn);
		if (wn != gn || memcmp(want_b, got_b, gn) != 0)
			return fail(r, s, "the stack sent %s: its options differ from the line", got);
	}
	return 0;
}

/*
 * The line's time: *at when it happens (a call or an inbound segment), and
 * the window [lo, hi] an outbound segment or a blocking call's return must
 * fall in, given the previous line's time.
 */
static void window_of(const struct srun *r, const struct stmt *s, vtime_t *at, vtime_t *lo, vtime_t *hi)
{
	vtime_t base = s->rel ? r->last_t : 0;

	if (s->any_time) {
		*at = *lo = r->last_t;
		*hi = r->last_t + WAIT_LIMIT;
		return;
	}
	*at = base + to_vt(s->t1);
	*hi = s->range ? (s->rel_end ? r->last_t : 0) + to_vt(s->t2) : *at;
	*lo = *at > r->o->tolerance ? *at - r->o->tolerance : 0;
	*hi += r->o->tolerance;
}

static int unexpected(struct srun *r, const struct stmt *s)
{
	char got[256], msg[320];
	const struct outseg *og = &r->outq[r->headout];
	struct sconn *c = conn_find(r, &og->seg.dst, og->seg.dport);
	uint32_t rel = c && c->have_local_isn ? og->seg.seq - c->live_isn + c->script_isn : og->seg.seq;

	seg_text(&og->seg, rel, got, sizeof(got));
	snprintf(msg, sizeof(msg), "%s (at %.6f s)", got, (double)og->t / 1e9);
	return fail(r, s, "before this line the stack sent an unexpected segment: %s", msg);
}

static int do_call(struct srun *r, const struct stmt *s, long *ret);

/* Retries a pending blocking call; returns 1 when it finished (and was checked). */
static int retry_pending(struct srun *r)
{
	long ret;
	const struct stmt *s = r->pend.s;

	if (!r->pend.active)
		return 0;
	if (do_call(r, s, &ret) < 0)
		return -1;
	if (ret == -EAGAIN || ret == -EINPROGRESS)
		return 0;
	r->pend.active = 0;
	if (stack_now(r->st) > r->pend.deadline) {
		char t[48];

		snprintf(t, sizeof(t), "%.6f s", (double)stack_now(r->st) / 1e9);
		return fail(r, s, "the blocking call returned only at %s, after its time range", t);
	}
	if (ret != s->ret && !(s->ret == -1 && ret == -s->err)) {
		char d[96];

		snprintf(d, sizeof(d), "%ld%s%s", ret < 0 ? -1L : ret, ret < 0 ? " " : "",
			 ret < 0 && errno_name(ret) ? errno_name(ret) : "");
		return fail(r, s, "the blocking call returned %s", d);
	}
	return 1;
}

/* Advances the clock to t, retrying a pending call whenever something happened. */
static int advance_to(struct srun *r, vtime_t t)
{
	while (stack_now(r->st) < t) {
		vtime_t next = stack_next_timer(r->st);

		if (next > t)
			next = t;
		stack_advance(r->st, next);
		if (retry_pending(r) < 0)
			return -1;
	}
	return retry_pending(r) < 0 ? -1 : 0;
}

static int fd_arg(struct srun *r, const struct stmt *s, int i, int *fd)
{
	char *e;
	long v;

	if (i >= s->nargs)
		return fail(r, s, "%s() lacks its descriptor argument", s->name);
	v = strtol(s->args[i], &e, 10);
	if (*e || v < 0 || v >= MAX_FDS)
		return fail(r, s, "'%s' is not a descriptor", s->args[i]);
	*fd = (int)v;
	return 0;
}

/* Runs a call now; *ret gets what it returned (a negative errno on failure). */
static int do_call(struct srun *r, const struct stmt *s, long *ret)
{
	const char *n = s->name;
	int fd = -1;

	if (strcmp(n, "socket") == 0) {
		int fam = r->o->ipv6 ? ADDR_V6 : ADDR_V4;

		if (s->nargs > 0 && strcmp(s->args[0], "AF_INET6") == 0)
			fam = ADDR_V6;
		else if (s->nargs > 0 && strcmp(s->args[0], "AF_INET") == 0)
			fam = ADDR_V4;
		*ret = sys_socket(r->st, fam);
		if (*ret >= 0 && *ret < MAX_FDS) {
			r->nonblock[*ret] = 0;
			r->linger0[*ret] = 0;
		}
		return 0;
	}
	if (fd_arg(r, s, 0, &fd) < 0)
		return -1;
	if (strcmp(n, "setsockopt") == 0) {
		const char *opt = s->nargs > 2 ? s->args[2] : "";
		int val = s->nargs > 3 ? atoi(s->args[3] + (s->args[3][0] == '[')) : 0;

		if (strcmp(opt, "SO_REUSEADDR") == 0)
			*ret = sys_setsockopt(r->st, fd, SOCKOPT_REUSEADDR, val);
		else if (strcmp(opt, "SO_REUSEPORT") == 0)
			*ret = sys_setsockopt(r->st, fd, SOCKOPT_REUSEPORT, val);
		else if (strcmp(opt, "SO_LINGER") == 0) {
			/* {onoff=1, linger=0}: close() aborts with a RST */
			r->linger0[fd] = strstr(s->args[3], "linger=0") != NULL && strstr(s->args[3], "onoff=1");
			*ret = sys_state(r->st, fd) < 0 ? -EBADF : 0;
		} else {
			/* Options the stack does not model (TCP_NODELAY, buffer sizes) are accepted. */
			*ret = sys_state(r->st, fd) < 0 ? -EBADF : 0;
		}
		return 0;
	}
	if (strcmp(n, "getsockopt") == 0) {
		int err = sys_error(r->st, fd);
		const char *want = s->nargs > 3 ? s->args[3] : "[0]";
		char wname[32];
		int wval;

		if (err == -EBADF && sys_state(r->st, fd) < 0) {
			*ret = -EBADF;
			return 0;
		}
		snprintf(wname, sizeof(wname), "%.*s", (int)strcspn(want + 1, "]"), want + 1);
		wval = isdigit((unsigned char)wname[0]) ? atoi(wname) : errno_value(wname);
		if (s->nargs < 3 || strcmp(s->args[2], "SO_ERROR") != 0)
			return fail(r, s, "getsockopt(): only SO_ERROR is modelled, not %s", s->nargs > 2 ? s->args[2] : "?");
		if (-err != wval) {
			char d[64];

			snprintf(d, sizeof(d), "[%s]", err ? errno_name(err) : "0");
			return fail(r, s, "SO_ERROR was %s", d);
		}
		*ret = 0;
		return 0;
	}
	if (strcmp(n, "fcntl") == 0) {
		if (s->nargs > 1 && strcmp(s->args[1], "F_SETFL") == 0) {
			r->nonblock[fd] = s->nargs > 2 && strstr(s->args[2], "O_NONBLOCK") != NULL;
			*ret = sys_state(r->st, fd) < 0 ? -EBADF : 0;
		} else if (s->nargs > 1 && strcmp(s->args[1], "F_GETFL") == 0) {
			*ret = sys_state(r->st, fd) < 0 ? -EBADF : (0x2 | (r->nonblock[fd] ? 0x800 : 0));
		} else {
			return fail(r, s, "fcntl(): only F_SETFL and F_GETFL are modelled, not %s",
				    s->nargs > 1 ? s->args[1] : "?");
		}
		return 0;
	}
	if (strcmp(n, "bind") == 0) {
		struct ip_addr a;
		uint16_t port;

		/* Extension: "bind(3, 0.0.0.0:8080, ...)" names the address; "..." is packetdrill's local_ip:8080. */
		if (s->nargs > 1 && endpoint_parse(s->args[1], &a, &port) == 0) {
			*ret = sys_bind(r->st, fd, &a, port);
			if (*ret == 0)
				r->bound_port = port;
		} else {
			*ret = sys_bind(r->st, fd, &r->local, BOUND_PORT);
		}
		return 0;
	}
	if (strcmp(n, "listen") == 0) {
		*ret = sys_listen(r->st, fd, s->nargs > 1 ? atoi(s->args[1]) : 0);
		return 0;
	}
	if (strcmp(n, "accept") == 0) {
		*ret = sys_accept(r->st, fd, NULL, NULL);
		if (*ret >= 0 && *ret < MAX_FDS) {
			r->nonblock[*ret] = 0;
			r->linger0[*ret] = 0;
		}
		return 0;
	}
	if (strcmp(n, "connect") == 0) {
		struct sconn *c;
		struct ip_addr la;
		uint16_t lp;
		int st = sys_state(r->st, fd);

		if (st == TCP_SYN_SENT && !r->nonblock[fd]) {
			*ret = -EINPROGRESS; /* still waiting: a blocking connect() */
			return 0;
		}
		if (st == TCP_ESTABLISHED && r->pend.active && r->pend.s == s) {
			*ret = 0;
			return 0;
		}
		if (st == TCP_CLOSED && r->pend.active && r->pend.s == s) {
			*ret = sys_error(r->st, fd);
			return 0;
		}
		*ret = sys_connect(r->st, fd, &r->remote, BOUND_PORT);
		if (*ret == -EINPROGRESS && sys_getsockname(r->st, fd, &la, &lp) == 0) {
			c = conn_add(r, &r->remote, BOUND_PORT);
			if (c) {
				c->laddr = la;
				c->lport = lp;
				/* A new active open: its SYN sets the ISN lines count from. */
				c->have_local_isn = 0;
				r->cur_conn = (int)(c - r->conns);
			}
		}
		return 0;
	}
	if (strcmp(n, "write") == 0 || strcmp(n, "send") == 0) {
		static uint8_t buf[1 << 20];
		long len = s->nargs > 2 ? atol(s->args[2]) : 0;

		if (len < 0 || len > (long)sizeof(buf))
			return fail(r, s, "%s", "write of more than 1 MiB");
		memset(buf, SCRIPT_MSS_DATA, (size_t)len);
		*ret = sys_send(r->st, fd, buf, (size_t)len);
		return 0;
	}
	if (strcmp(n, "read") == 0 || strcmp(n, "recv") == 0) {
		static uint8_t buf[1 << 20];
		long len = s->nargs > 2 ? atol(s->args[2]) : 0;

		if (len < 0 || len > (long)sizeof(buf))
			return fail(r, s, "%s", "read of more than 1 MiB");
		*ret = sys_recv(r->st, fd, buf, (size_t)len);
		return 0;
	}
	if (strcmp(n, "shutdown") == 0) {
		const char *how = s->nargs > 1 ? s->args[1] : "";
		int h = strcmp(how, "SHUT_RD") == 0 ? SHUTDOWN_RD
			: strcmp(how, "SHUT_WR") == 0 ? SHUTDOWN_WR
			: strcmp(how, "SHUT_RDWR") == 0 ? SHUTDOWN_RDWR : -1;

		*ret = sys_shutdown(r->st, fd, h);
		return 0;
	}
	if (strcmp(n, "close") == 0) {
		*ret = r->linger0[fd] ? sys_abort(r->st, fd) : sys_close(r->st, fd);
		return 0;
	}
	return fail(r, s, "the call %s() is not modelled (socket, setsockopt, getsockopt, fcntl, bind, "
			  "listen, accept, connect, write, send, read, recv, shutdown, close are)", n);
}

static int blocking_call(const char *n)
{
	return strcmp(n, "accept") == 0 || strcmp(n, "read") == 0 || strcmp(n, "recv") == 0 ||
	       strcmp(n, "connect") == 0;
}

/* Who makes the calls, as the trace names it. */
static const char *app_name(const struct srun *r)
{
	return r->o->who ? r->o->who : "script";
}

static int run_call(struct srun *r, const struct stmt *s, vtime_t at, vtime_t hi)
{
	long ret;
	char call[160], d[64];
	int i, k = 0;

	if (r->pend.active)
		return fail(r, s, "%s", "a blocking call is still pending (one at a time is modelled)");
	if (advance_to(r, at) < 0)
		return -1;
	if (r->nout > r->headout)
		return unexpected(r, s);
	if (do_call(r, s, &ret) < 0)
		return -1;
	k = snprintf(call, sizeof(call), "%s(", s->name);
	for (i = 0; i < s->nargs && k < (int)sizeof(call); i++)
		k += snprintf(call + k, sizeof(call) - (size_t)k, "%s%s", i ? ", " : "", s->args[i]);
	if (k < (int)sizeof(call))
		snprintf(call + k, sizeof(call) - (size_t)k, ")");
	/* A blocking call that cannot finish yet waits, unless the line expects exactly that. */
	if ((ret == -EAGAIN || ret == -EINPROGRESS) && blocking_call(s->name) &&
	    !(s->ret == -1 && s->err == -ret)) {
		int fd = atoi(s->args[0]);

		if (fd >= 0 && fd < MAX_FDS && !r->nonblock[fd]) {
			r->pend.active = 1;
			r->pend.s = s;
			r->pend.deadline = hi;
			emit_call(r->o->r, r->st, stack_now(r->st), app_name(r), call, ret,
				  "blocks until it can finish");
			return 0;
		}
	}
	emit_call(r->o->r, r->st, stack_now(r->st), app_name(r), call, ret, NULL);
	if (ret != s->ret && !(s->ret == -1 && ret == -s->err)) {
		snprintf(d, sizeof(d), "%ld%s%s", ret < 0 ? -1L : ret, ret < 0 ? " " : "",
			 ret < 0 && errno_name(ret) ? errno_name(ret) : "");
		return fail(r, s, "the call returned %s", d);
	}
	return 0;
}

static int run_packet(struct srun *r, const struct stmt *s, vtime_t at, vtime_t lo, vtime_t hi)
{
	if (s->inbound) {
		if (advance_to(r, at) < 0)
			return -1;
		if (r->nout > r->headout)
			return unexpected(r, s);
		if (inject(r, s) < 0)
			return -1;
		if (r->o->tables)
			emit_tables(r->o->r, r->st);
		return retry_pending(r) < 0 ? -1 : 0;
	}
	/* An expected segment: wait for the stack to send one, up to the window's end. */
	while (r->nout == r->headout && stack_now(r->st) < hi) {
		vtime_t next = stack_next_timer(r->st);

		if (next > hi)
			next = hi;
		stack_advance(r->st, next);
		if (retry_pending(r) < 0)
			return -1;
	}
	if (r->nout == r->headout) {
		char w[64];

		snprintf(w, sizeof(w), "%.6f s", (double)hi / 1e9);
		return fail(r, s, "the stack sent nothing by %s", w);
	}
	{
		const struct outseg *og = &r->outq[r->headout++];

		if (og->t < lo || og->t > hi) {
			char w[96];

			snprintf(w, sizeof(w), "%.6f s, outside %.6f...%.6f", (double)og->t / 1e9,
				 (double)lo / 1e9, (double)hi / 1e9);
			return fail(r, s, "the segment was sent at %s", w);
		}
		if (check_out(r, s, og) < 0)
			return -1;
		stack_advance(r->st, og->t > stack_now(r->st) ? og->t : stack_now(r->st));
	}
	return 0;
}

static int run(struct srun *r)
{
	int i;

	for (i = 0; i < r->nstmts && !r->failed; i++) {
		const struct stmt *s = &r->stmts[i];
		vtime_t at, lo, hi;

		window_of(r, s, &at, &lo, &hi);
		switch (s->kind) {
		case ST_SAY:
			emit_say(r->o->r, s->say);
			continue;
		case ST_SYSCTL: {
			struct stack_config cfg = r->o->cfg;
			char err[256];

			stack_get_config(r->st, &cfg);
			if (sysctl_apply(&cfg, s->assign, err, sizeof(err)) < 0) {
				fprintf(stderr, "%s:%d: %s\n", r->o->file, s->line, err);
				return 2;
			}
			stack_set_config(r->st, &cfg);
			break;
		}
		case ST_CALL:
			if (run_call(r, s, at, hi) < 0)
				return 1;
			break;
		default:
			if (run_packet(r, s, at, lo, hi) < 0)
				return 1;
			break;
		}
		/* The next relative time counts from when this line happened. */
		if (s->kind == ST_PACKET && !s->inbound)
			r->last_t = r->outq[r->headout - 1].t; /* run_packet() consumed one */
		else if (s->kind != ST_SYSCTL)
			r->last_t = stack_now(r->st);
	}
	if (r->failed)
		return 1;
	if (r->pend.active) {
		fail(r, r->pend.s, "%s", "the blocking call never returned");
		return 1;
	}
	return 0;
}

int script_run(const struct script_opts *o)
{
	struct srun *r = calloc(1, sizeof(*r));
	int status;

	if (!r) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return 2;
	}
	r->o = o;
	r->cur_conn = -1;
	r->bound_port = BOUND_PORT;
	if (addr_parse(o->local_ip, &r->local) < 0 || addr_parse(o->remote_ip, &r->remote) < 0 ||
	    r->local.family != r->remote.family) {
		fprintf(stderr, "tcpdemux: --local_ip and --remote_ip need two addresses of one family\n");
		free(r);
		return 2;
	}
	if (parse_script(o, r) < 0) {
		free(r->stmts);
		free(r);
		return 2;
	}
	r->st = stack_new(&o->cfg);
	if (!r->st || stack_add_addr(r->st, &r->local) < 0) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		stack_free(r->st);
		free(r->stmts);
		free(r);
		return 2;
	}
	stack_set_observer(r->st, observe, r);
	status = run(r);
	if (status != 2)
		emit_summary(o->r, r->st, NULL);
	if (status == 0 && r->nout > r->headout && !o->quiet)
		fprintf(stderr, "%s: note: the stack sent %d segment(s) after the last expected one\n", o->file,
			r->nout - r->headout);
	stack_free(r->st);
	free(r->outq);
	free(r->stmts);
	free(r);
	return status;
}
