/*
 * script_parse.c - a packetdrill script's text into statements.
 *
 * Path: script_run() -> script_parse() -> next_statement() (comments,
 *       narration, header options, statements over several lines)
 *       -> parse_stmt(): the time, then a packet, a call, a `command`
 *       (script_shell.c) or a %{ }% block (script_code.c).
 *
 * Everything is checked here, before anything runs: a construct the
 * simulator does not model (a call, an option, a shell command) is named
 * with its line and the script exits 2, instead of failing half-way with
 * a behaviour difference that is not one. The grammar is packetdrill's
 * (parser.y in google/packetdrill describes the same language); errors
 * quote the token that is wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "script_int.h"

#define MAX_STMTS 100000
#define MAX_FILE (16u << 20)
#define MAX_STMT_TEXT 65536
#define MAX_ITEMS 256

/* ---- the arena ------------------------------------------------------------------------------ */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char mem[];
};

struct arena {
	struct arena_chunk *head;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	c->used += n;
	return memset(c->mem + c->used - n, 0, n);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* ---- errors --------------------------------------------------------------------------------- */

struct pctx {
	const struct script_opts *o;   /* the caller's */
	struct script_prog *prog;
	struct arena *a;
	const char *dir;               /* the script's folder */
	int line;
	int seen_stmt;                 /* header options come before every statement */
	int failed;                    /* a message has been printed */
};

/* "FILE:LINE: expected WHAT, got 'TOKEN'" - the token is the one that is wrong. */
static int syntax(struct pctx *px, const char *what, const char *got)
{
	size_t n = 0;

	if (px->failed)
		return -1;
	got = got ? got : "";
	/* The token: up to the next blank, so the message points at one thing. */
	while (got[n] && !isspace((unsigned char)got[n]) && n < 60)
		n++;
	if (n == 0 && *got)
		n = 1;
	fprintf(stderr, "%s:%d: expected %s, got '%.*s'\n", px->o->file, px->line, what, (int)n,
		*got ? got : "end of line");
	px->failed = 1;
	return -1;
}

static int unsupported(struct pctx *px, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "FILE:LINE: not modelled: ..." - valid packetdrill, but beyond what the simulator models. */
static int unsupported(struct pctx *px, const char *fmt, ...)
{
	va_list ap;

	if (px->failed)
		return -1;
	fprintf(stderr, "%s:%d: not modelled: ", px->o->file, px->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	px->failed = 1;
	return -1;
}

/* A `command` block's own message (it says "not modelled: ..." where that is the reason). */
static int block_error(struct pctx *px, const char *why)
{
	if (!px->failed)
		fprintf(stderr, "%s:%d: %s\n", px->o->file, px->line, why);
	px->failed = 1;
	return -1;
}

static int oom(struct pctx *px)
{
	if (!px->failed)
		fprintf(stderr, "tcpdemux: %s: out of memory\n", px->o->file);
	px->failed = 1;
	return -1;
}

/* ---- lexing helpers ------------------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static int is_word_char(int c)
{
	return isalnum(c) || c == '_';
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
	errno = 0;
	x = strtoull(p, &e, 0);
	if (e == p || errno || x > 0xffffffffull)
		return -1;
	*v = (uint32_t)x;
	*end = e;
	return 0;
}

/* ---- expressions ---------------------------------------------------------------------------- */

static struct sexpr *sx_new(struct pctx *px, uint8_t kind)
{
	struct sexpr *e = arena_alloc(px->a, sizeof(*e));

	if (!e) {
		oom(px);
		return NULL;
	}
	e->kind = kind;
	return e;
}

static struct sexpr *parse_expr(struct pctx *px, const char **pp);

/* Items up to the closing character (')', ']' or '}'), separated by commas. */
static int parse_items(struct pctx *px, const char **pp, char close, struct sexpr *e)
{
	struct sexpr *items[MAX_ITEMS];
	const char *p = skip_ws(*pp);
	int n = 0;

	while (*p != close) {
		if (n == MAX_ITEMS)
			return syntax(px, "at most 256 items in a list", p);
		items[n] = parse_expr(px, &p);
		if (!items[n])
			return -1;
		n++;
		p = skip_ws(p);
		if (*p == ',') {
			p = skip_ws(p + 1);
			continue;
		}
		if (*p != close) {
			char want[32];

			snprintf(want, sizeof(want), "',' or '%c'", close);
			return syntax(px, want, p);
		}
	}
	e->items = arena_alloc(px->a, (size_t)(n ? n : 1) * sizeof(*e->items));
	if (!e->items)
		return oom(px);
	memcpy(e->items, items, (size_t)n * sizeof(*items));
	e->nitems = n;
	*pp = p + 1;
	return 0;
}

/* One operand: ..., a number, a word, a word(args), "string", [list], {struct}. */
static struct sexpr *parse_primary(struct pctx *px, const char **pp)
{
	const char *p = skip_ws(*pp);
	struct sexpr *e;

	if (strncmp(p, "...", 3) == 0) {
		e = sx_new(px, SX_ELLIPSIS);
		*pp = p + 3;
		return e;
	}
	{
		/* An address literal (extension): 10.0.0.1:80, [fd00::1]:80 */
		const char *q = p;
		int dots = 0;

		if (*p == '[') {
			size_t n = strspn(p + 1, "0123456789abcdefABCDEF:.");

			q = p[1 + n] == ']' && memchr(p + 1, ':', n) && p[2 + n] == ':' ? p + 2 + n : p;
		} else {
			while (isdigit((unsigned char)*q) || *q == '.')
				dots += *q++ == '.';
		}
		if ((*p == '[' && q > p) || dots == 3) {
			if (*q == ':')
				for (q++; isdigit((unsigned char)*q); q++)
					;
			e = sx_new(px, SX_WORD);
			if (!e || !(e->text = arena_strndup(px->a, p, (size_t)(q - p)))) {
				oom(px);
				return NULL;
			}
			*pp = q;
			return e;
		}
	}
	if (isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
		char *end;

		e = sx_new(px, SX_INT);
		if (!e)
			return NULL;
		errno = 0;
		e->num = *p == '-' ? strtoll(p, &end, 0) : (int64_t)strtoull(p, &end, 0);
		if (errno || is_word_char((unsigned char)*end)) {
			syntax(px, "a number", p);
			return NULL;
		}
		*pp = end;
		return e;
	}
	if (*p == '"') {
		const char *q = p + 1;

		while (*q && *q != '"')
			q += q[0] == '\\' && q[1] ? 2 : 1;
		if (*q != '"') {
			syntax(px, "a closing '\"'", p);
			return NULL;
		}
		e = sx_new(px, SX_STRING);
		if (!e || !(e->text = arena_strndup(px->a, p + 1, (size_t)(q - p - 1)))) {
			oom(px);
			return NULL;
		}
		q++;
		if (strncmp(skip_ws(q), "...", 3) == 0) /* "abc"... : a prefix */
			q = skip_ws(q) + 3;
		*pp = q;
		return e;
	}
	if (*p == '[' || *p == '{') {
		e = sx_new(px, *p == '[' ? SX_LIST : SX_STRUCT);
		p++;
		if (!e || parse_items(px, &p, e->kind == SX_LIST ? ']' : '}', e) < 0)
			return NULL;
		*pp = p;
		return e;
	}
	if (is_word_char((unsigned char)*p)) {
		const char *q = p;

		while (is_word_char((unsigned char)*q))
			q++;
		e = sx_new(px, SX_WORD);
		if (!e || !(e->text = arena_strndup(px->a, p, (size_t)(q - p)))) {
			oom(px);
			return NULL;
		}
		if (*q == '(') { /* htons(8080), inet_addr("..."), msg_iov(1) */
			e->kind = SX_FUNC;
			q++;
			if (parse_items(px, &q, ')', e) < 0)
				return NULL;
		}
		*pp = q;
		return e;
	}
	syntax(px, "an argument (a number, a NAME, ..., [list] or {struct})", p);
	return NULL;
}

/* operand ('|' operand)* ['=' expr] */
static struct sexpr *parse_expr(struct pctx *px, const char **pp)
{
	struct sexpr *e = parse_primary(px, pp);
	const char *p;

	if (!e)
		return NULL;
	for (;;) {
		p = skip_ws(*pp);
		if (*p == '|' || (*p == '=' && p[1] != '=')) {
			struct sexpr *b = sx_new(px, *p == '|' ? SX_OR : SX_ASSIGN);

			if (!b)
				return NULL;
			*pp = p + 1;
			b->lhs = e;
			b->rhs = *p == '|' ? parse_primary(px, pp) : parse_expr(px, pp);
			if (!b->rhs)
				return NULL;
			e = b;
			if (b->kind == SX_ASSIGN)
				return e;
			continue;
		}
		return e;
	}
}

void sexpr_format(const struct sexpr *e, char *buf, size_t len)
{
	size_t k = 0;
	int i;

	if (len == 0)
		return;
	buf[0] = '\0';
	switch (e->kind) {
	case SX_ELLIPSIS:
		snprintf(buf, len, "...");
		return;
	case SX_INT:
		snprintf(buf, len, "%lld", (long long)e->num);
		return;
	case SX_WORD:
		snprintf(buf, len, "%s", e->text);
		return;
	case SX_STRING:
		snprintf(buf, len, "\"%s\"", e->text);
		return;
	case SX_OR:
	case SX_ASSIGN: {
		char l[128], r[256];

		sexpr_format(e->lhs, l, sizeof(l));
		sexpr_format(e->rhs, r, sizeof(r));
		snprintf(buf, len, "%s%s%s", l, e->kind == SX_OR ? "|" : "=", r);
		return;
	}
	default:
		break;
	}
	k = (size_t)snprintf(buf, len, "%s%c", e->kind == SX_FUNC ? e->text : "",
			     e->kind == SX_LIST ? '[' : e->kind == SX_STRUCT ? '{' : '(');
	for (i = 0; i < e->nitems && k + 8 < len; i++) {
		char item[256];

		sexpr_format(e->items[i], item, sizeof(item));
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", item);
	}
	if (k + 2 < len)
		snprintf(buf + k, len - k, "%c", e->kind == SX_LIST ? ']' : e->kind == SX_STRUCT ? '}' : ')');
}

/* ---- packets -------------------------------------------------------------------------------- */

/* "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,sack 1:2 3:4" up to '>' */
static int parse_opts(struct pctx *px, const char *p, const char **end, struct stmt *s)
{
	p = skip_ws(p);
	if (strncmp(p, "...", 3) == 0 && *skip_ws(p + 3) == '>') {
		if (s->inbound)
			return syntax(px, "the options an arriving segment carries (<...> is for '>' lines)", p);
		*end = skip_ws(p + 3) + 1;
		return 0;
	}
	s->has_opts = 1;
	for (;;) {
		struct sopt *op;

		p = skip_ws(p);
		if (*p == '>' && s->nopts == 0) {
			*end = p + 1;
			return 0;
		}
		if (s->nopts == SCRIPT_MAX_OPTS)
			return syntax(px, "at most 16 options", p);
		op = &s->opts[s->nopts++];
		memset(op, 0, sizeof(*op));
		if (strncmp(p, "nop", 3) == 0 && !is_word_char((unsigned char)p[3])) {
			op->kind = O_NOP;
			p += 3;
		} else if (strncmp(p, "eol", 3) == 0 && !is_word_char((unsigned char)p[3])) {
			op->kind = O_EOL;
			p += 3;
		} else if (strncmp(p, "sackOK", 6) == 0) {
			op->kind = O_SACKOK;
			p += 6;
		} else if (strncmp(p, "mss", 3) == 0 && isspace((unsigned char)p[3])) {
			op->kind = O_MSS;
			if (parse_u32(skip_ws(p + 3), &p, &op->a) < 0 || op->a > 65535)
				return syntax(px, "an MSS value from 0 to 65535", skip_ws(p + 3));
		} else if (strncmp(p, "wscale", 6) == 0 && isspace((unsigned char)p[6])) {
			op->kind = O_WSCALE;
			if (parse_u32(skip_ws(p + 6), &p, &op->a) < 0 || op->a > 255)
				return syntax(px, "a window scale value from 0 to 255", skip_ws(p + 6));
		} else if (strncmp(p, "TS", 2) == 0 && isspace((unsigned char)p[2])) {
			const char *q = skip_ws(p + 2);

			op->kind = O_TS;
			if (strncmp(q, "val", 3) != 0 || parse_u32(skip_ws(q + 3), &q, &op->a) < 0)
				return syntax(px, "'TS val N ecr N'", q);
			q = skip_ws(q);
			if (strncmp(q, "ecr", 3) != 0 || parse_u32(skip_ws(q + 3), &q, &op->b) < 0)
				return syntax(px, "'ecr N' after the TS value", q);
			p = q;
		} else if (strncmp(p, "sack", 4) == 0 && isspace((unsigned char)p[4])) {
			op->kind = O_SACK;
			p = skip_ws(p + 4);
			while (isdigit((unsigned char)*p)) {
				if (op->nblocks == 4)
					return syntax(px, "at most 4 SACK blocks", p);
				if (parse_u32(p, &p, &op->blocks[2 * op->nblocks]) < 0 || *p != ':' ||
				    parse_u32(p + 1, &p, &op->blocks[2 * op->nblocks + 1]) < 0)
					return syntax(px, "a SACK block START:END", p);
				op->nblocks++;
				p = skip_ws(p);
			}
			if (op->nblocks == 0)
				return syntax(px, "a SACK block START:END", p);
		} else if ((strncmp(p, "FOEXP", 5) == 0 && !is_word_char((unsigned char)p[5])) ||
			   (strncmp(p, "FO", 2) == 0 && !is_word_char((unsigned char)p[2]))) {
			/* Fast Open: "FO" (a cookie request) or "FO 0123abcd" (the cookie in hex) */
			op->kind = p[2] == 'E' ? O_FOEXP : O_FO;
			p = skip_ws(p + (op->kind == O_FOEXP ? 5 : 2));
			while (isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1])) {
				char hex[3] = { p[0], p[1], 0 };

				if (op->nblocks == 16)
					return syntax(px, "a Fast Open cookie of at most 16 bytes", p);
				op->cookie[op->nblocks++] = (uint8_t)strtoul(hex, NULL, 16);
				p += 2;
			}
			if (is_word_char((unsigned char)*p))
				return syntax(px, "a Fast Open cookie as an even number of hex digits", p);
		} else {
			const char *q = p;

			while (is_word_char((unsigned char)*q))
				q++;
			if (q > p && (strncmp(p, "md5", 3) == 0 ||
				      strncmp(p, "mp", 2) == 0 || strncmp(p, "exp", 3) == 0 ||
				      strncmp(p, "tcpao", 5) == 0 || strncmp(p, "AccECN", 6) == 0))
				return unsupported(px, "the TCP option '%.*s' (mss, wscale, sackOK, sack, TS, FO, FOEXP, "
						       "nop and eol are)", (int)(q - p), p);
			return syntax(px, "a TCP option (mss N, sackOK, sack A:B, TS val N ecr N, nop, wscale N, eol, "
					  "FO [cookie], FOEXP [cookie])", p);
		}
		p = skip_ws(p);
		if (*p == ',')
			p++;
		else if (*p == '>') {
			*end = p + 1;
			return 0;
		} else {
			return syntax(px, "',' or '>' after an option", p);
		}
	}
}

/* "< S. 0:0(0) ack 1 win 65535 <mss 1460>" from the direction on. */
static int parse_packet(struct pctx *px, const char *p, struct stmt *s)
{
	uint32_t len;

	s->kind = ST_PACKET;
	s->inbound = *p == '<';
	p = skip_ws(p + 1);
	if (*p == '-' && (p[1] == ' ' || p[1] == '\t')) {
		p++; /* no flags at all */
	} else {
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
				return syntax(px, "TCP flags from S F R P . U E W (or - for none)", p);
			}
		}
	}
	p = skip_ws(p);
	if (!isdigit((unsigned char)*p)) {
		if (strncmp(p, "udp", 3) == 0 || strncmp(p, "icmp", 4) == 0)
			return unsupported(px, "%.4s packets (only TCP is)", p);
		return syntax(px, "START:END(LENGTH)", p);
	}
	if (parse_u32(p, &p, &s->seq) < 0 || *p != ':' || parse_u32(p + 1, &p, &s->end) < 0 || *p != '(' ||
	    parse_u32(p + 1, &p, &len) < 0 || *p != ')')
		return syntax(px, "START:END(LENGTH)", p);
	if (s->end - s->seq != len)
		return syntax(px, "END - START equal to LENGTH", p);
	if (len > 65535)
		return syntax(px, "a payload of at most 65535 bytes", p);
	p = skip_ws(p + 1);
	while (*p) {
		if (strncmp(p, "ack", 3) == 0 && isspace((unsigned char)p[3])) {
			if (parse_u32(skip_ws(p + 3), &p, &s->ack) < 0)
				return syntax(px, "an ack number", skip_ws(p + 3));
			s->has_ack = 1;
		} else if (strncmp(p, "win", 3) == 0 && isspace((unsigned char)p[3])) {
			const char *v = skip_ws(p + 3);

			if (parse_u32(v, &p, &s->win) < 0 || s->win > 65535)
				return syntax(px, "a window from 0 to 65535", v);
			s->has_win = 1;
		} else if (strncmp(p, "urg", 3) == 0 && isspace((unsigned char)p[3])) {
			const char *v = skip_ws(p + 3);

			if (parse_u32(v, &p, &s->urg) < 0 || s->urg > 65535)
				return syntax(px, "an urgent pointer from 0 to 65535", v);
			s->has_urg = 1;
		} else if (*p == '<') {
			if (parse_opts(px, p + 1, &p, s) < 0)
				return -1;
		} else {
			return syntax(px, "'ack N', 'win N', 'urg N' or '<options>'", p);
		}
		p = skip_ws(p);
	}
	if (s->range && (s->inbound || s->any_time))
		return syntax(px, "a time range only on a '>' line or a blocking call", "~");
	return 0;
}

/* ---- calls ---------------------------------------------------------------------------------- */

/* "name(arg, arg, ...) = RET [ERRNO] [(note)]" */
static int parse_call(struct pctx *px, const char *p, struct stmt *s)
{
	const char *q = p, *start = p;
	struct sexpr call;
	char why[SCRIPT_WHY];
	size_t n;

	s->kind = ST_CALL;
	while (is_word_char((unsigned char)*q))
		q++;
	n = (size_t)(q - p);
	if (n == 0 || *skip_ws(q) != '(')
		return syntax(px, "a system call, a packet (< or >), a `command` or %{ code }%", p);
	s->name = arena_strndup(px->a, p, n);
	if (!s->name)
		return oom(px);
	s->call = script_call_find(s->name);
	if (!s->call) {
		char names[600];

		script_call_names(names, sizeof(names));
		return unsupported(px, "the call %s() (%s are)", s->name, names);
	}
	p = skip_ws(q) + 1;
	memset(&call, 0, sizeof(call));
	if (parse_items(px, &p, ')', &call) < 0)
		return -1;
	s->args = call.items;
	s->nargs = call.nitems;
	s->text = arena_strndup(px->a, start, (size_t)(p - start));
	if (!s->text)
		return oom(px);
	p = skip_ws(p);
	if (*p != '=')
		return syntax(px, "'= RESULT' after the call", p);
	p = skip_ws(p + 1);
	{
		char *e;

		errno = 0;
		s->ret = strtol(p, &e, 0);
		if (e == p || errno || is_word_char((unsigned char)*e))
			return syntax(px, "a number as the result", p);
		p = skip_ws(e);
	}
	if (is_word_char((unsigned char)*p) && *p != '(') {
		char ename[32];
		size_t k = 0;

		while (is_word_char((unsigned char)p[k]) && k + 1 < sizeof(ename)) {
			ename[k] = p[k];
			k++;
		}
		ename[k] = '\0';
		if (s->ret != -1)
			return syntax(px, "an errno name only after -1", p);
		s->err = errno_value(ename);
		if (!s->err)
			return syntax(px, "an errno name such as EAGAIN after -1", p);
		p = skip_ws(p + k);
	}
	if (*p == '(') { /* the optional "(Resource temporarily unavailable)" */
		const char *close = strchr(p, ')');

		if (!close)
			return syntax(px, "')' closing the note", p);
		p = skip_ws(close + 1);
	}
	if (*p)
		return syntax(px, "the end of the statement after the result", p);
	if (s->nargs < s->call->nargs_min || s->nargs > s->call->nargs_max) {
		char want[64];

		if (s->call->nargs_min == s->call->nargs_max)
			snprintf(want, sizeof(want), "%u arguments to %s()", s->call->nargs_min, s->name);
		else
			snprintf(want, sizeof(want), "%u to %u arguments to %s()", s->call->nargs_min,
				 s->call->nargs_max, s->name);
		return syntax(px, want, s->text);
	}
	if (s->call->check && s->call->check(s, why, sizeof(why)) < 0)
		return unsupported(px, "%s", why);
	return 0;
}

/* ---- statements ----------------------------------------------------------------------------- */

/* The time at the start of a statement; *p moves past it. */
static int parse_stmt_time(struct pctx *px, const char **pp, struct stmt *s)
{
	const char *p = *pp;

	if (*p == '*') {
		s->any_time = 1;
		*pp = p + 1;
		return 0;
	}
	if (*p == '+') {
		s->rel = 1;
		p++;
	}
	if (parse_time(p, &p, &s->t1) < 0)
		return syntax(px, "a time (0.100, +0.1, +0...0.200, +0.1~+0.2 or *)", *pp);
	if (strncmp(p, "...", 3) == 0 || *p == '~') {
		int tilde = *p == '~';

		p += tilde ? 1 : 3;
		s->range = 1;
		s->rel_end = s->rel;
		if (*p == '+') {
			if (!s->rel)
				return syntax(px, "an absolute end after an absolute start", p);
			p++;
		} else if (tilde && s->rel) {
			return syntax(px, "'+' before the end of a relative range (+0.1~+0.2)", p);
		}
		if (parse_time(p, &p, &s->t2) < 0 || s->t2 < s->t1)
			return syntax(px, "the end of the time range, not before its start", p);
	}
	*pp = p;
	return 0;
}

static int parse_stmt(struct pctx *px, const char *p, struct stmt *s)
{
	char why[SCRIPT_WHY];

	s->line = px->line;
	/* A `command` or %{ }% block may go without a time: it runs when reached. */
	if (*p == '`' || strncmp(p, "%{", 2) == 0) {
		s->rel = 1;
	} else if (parse_stmt_time(px, &p, s) < 0) {
		return -1;
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
				return syntax(px, "@REMOTE>LOCAL with LOCAL as ADDR:PORT", gt + 1);
			s->has_lep = 1;
		}
		if (endpoint_parse(ep, &s->ep, &s->ep_port) < 0)
			return syntax(px, "@ADDR:PORT naming the remote endpoint", ep);
		s->has_ep = 1;
		p = skip_ws(p);
		if (*p != '<' && *p != '>')
			return syntax(px, "a packet after @ADDR:PORT", p);
	}
	if (*p == '<' || *p == '>')
		return parse_packet(px, p, s);
	if (s->range && *p != '`' && !is_word_char((unsigned char)*p))
		return syntax(px, "a '>' line or a call after a time range", p);
	if (*p == '`') {
		const char *e = strrchr(p, '`');

		if (e == p || *skip_ws(e + 1))
			return syntax(px, "a command between backticks", p);
		s->kind = ST_PROFILE;
		if (shell_block(px->a, px->dir, arena_strndup(px->a, p + 1, (size_t)(e - p - 1)), s, why,
				sizeof(why)) < 0)
			return block_error(px, why);
		return 0;
	}
	if (strncmp(p, "%{", 2) == 0) {
		const char *e = strstr(p, "}%");

		if (!e || *skip_ws(e + 2))
			return syntax(px, "'}%' closing the code block", p);
		s->kind = ST_CODE;
		if (code_block(px->a, &px->prog->names, arena_strndup(px->a, p + 2, (size_t)(e - p - 2)), s, why, sizeof(why)) < 0)
			return unsupported(px, "%s", why);
		return 0;
	}
	return parse_call(px, p, s);
}

/* ---- header options --------------------------------------------------------------------------- */

/* "--tolerance_usecs=10000" or "--strict_segments": packetdrill's options, in the script. */
static int header_option(struct pctx *px, const char *p)
{
	char name[64], err[256];
	const char *value = NULL, *q = p + 2;
	size_t n = 0;

	while (*q && *q != '=' && !isspace((unsigned char)*q) && n + 1 < sizeof(name))
		name[n++] = *q++;
	name[n] = '\0';
	if (*q == '=') {
		const char *v = q + 1, *ve = v;

		while (*ve && !isspace((unsigned char)*ve))
			ve++;
		value = arena_strndup(px->a, v, (size_t)(ve - v));
		if (!value)
			return oom(px);
		q = ve;
	}
	if (*skip_ws(q))
		return syntax(px, "one --name=value option on a line", skip_ws(q));
	if (px->seen_stmt)
		return syntax(px, "option lines before the first statement", p);
	if (script_option(&px->prog->opts, name, value, err, sizeof(err)) < 0) {
		if (!px->failed)
			fprintf(stderr, "%s:%d: %s\n", px->o->file, px->line, err);
		px->failed = 1;
		return -1;
	}
	return 0;
}

/* ---- reading -------------------------------------------------------------------------------- */

static char *read_script(const struct script_opts *o, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if (o->text) {
		n = strlen(o->text);
		buf = malloc(n + 1);
		if (!buf) {
			fprintf(stderr, "tcpdemux: %s: out of memory\n", o->file);
			return NULL;
		}
		memcpy(buf, o->text, n + 1);
		*len = n;
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

/* Makes room for one more statement (at most MAX_STMTS). Returns 0 or -1 (message printed). */
static int stmt_room(struct pctx *px)
{
	struct script_prog *pg = px->prog;
	struct stmt *ns;

	if (pg->nstmts < pg->cap)
		return 0;
	if (pg->cap >= MAX_STMTS)
		return syntax(px, "at most 100000 statements", "");
	pg->cap = pg->cap ? pg->cap * 2 : 64;
	ns = realloc(pg->stmts, (size_t)pg->cap * sizeof(*ns));
	if (!ns)
		return oom(px);
	pg->stmts = ns;
	return 0;
}

/*
 * The scanner: one statement at a time from the whole text, so that a
 * call's arguments, a `command` or a %{ }% block may run over several
 * lines. Comments (// to the end of the line, and block comments) are
 * dropped outside quotes, backticks and code blocks.
 */
struct scanner {
	const char *p;
	int line;
	char *buf;       /* the statement's text, comments removed, lines joined */
	size_t cap;
};

static int scan_put(struct scanner *sc, size_t *n, char c)
{
	if (*n + 1 >= sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 512;
		char *nb;

		if (cap > MAX_STMT_TEXT)
			return -1;
		nb = realloc(sc->buf, cap);
		if (!nb)
			return -1;
		sc->buf = nb;
		sc->cap = cap;
	}
	sc->buf[(*n)++] = c;
	return 0;
}

enum scan_result { SCAN_END, SCAN_STMT, SCAN_SAY, SCAN_OPTION, SCAN_ERR };

/* Skips blanks and comments; a "//!" line is narration. */
static enum scan_result scan_gap(struct pctx *px, struct scanner *sc, const char **say_end)
{
	for (;;) {
		const char *p = sc->p;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\n') {
			sc->line++;
			sc->p = p + 1;
			continue;
		}
		if (p[0] == '/' && p[1] == '/') {
			const char *e = strchr(p, '\n');

			if (p[2] == '!') {
				sc->p = p + 3;
				*say_end = e ? e : p + strlen(p);
				return SCAN_SAY;
			}
			sc->p = e ? e : p + strlen(p);
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/"), *q;

			if (!e) {
				px->line = sc->line;
				syntax(px, "'*/' closing a comment", "end of file");
				return SCAN_ERR;
			}
			for (q = p; q < e; q++)
				sc->line += *q == '\n';
			sc->p = e + 2;
			continue;
		}
		sc->p = p;
		return *p ? SCAN_STMT : SCAN_END;
	}
}

/*
 * One statement into sc->buf: to the end of its line, or past it while a
 * bracket, a backtick or a %{ is open. Newlines become blanks (a command
 * block keeps them: they separate its commands).
 */
static enum scan_result scan_stmt(struct pctx *px, struct scanner *sc)
{
	const char *p = sc->p;
	size_t n = 0, i;
	int depth = 0, in_str = 0, in_tick = 0, in_code = 0;

	px->line = sc->line;
	if (p[0] == '-' && p[1] == '-') {
		const char *e = strchr(p, '\n'), *c;
		size_t len = e ? (size_t)(e - p) : strlen(p);

		c = strstr(p, "//");
		if (c && c < p + len)
			len = (size_t)(c - p);
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		for (i = 0; i < len; i++)
			if (scan_put(sc, &n, p[i]) < 0)
				goto too_long;
		sc->buf[n] = '\0';
		sc->p = p + (e ? (size_t)(e - p) : strlen(p));
		return SCAN_OPTION;
	}
	for (; *p; p++) {
		if (in_code) {
			if (p[0] == '}' && p[1] == '%') {
				in_code = 0;
				if (scan_put(sc, &n, *p++) < 0)
					goto too_long;
			}
		} else if (in_tick) {
			if (*p == '`')
				in_tick = 0;
		} else if (in_str) {
			if (*p == '\\' && p[1]) {
				if (scan_put(sc, &n, *p++) < 0)
					goto too_long;
			} else if (*p == '"') {
				in_str = 0;
			}
		} else if (*p == '"') {
			in_str = 1;
		} else if (*p == '`') {
			in_tick = 1;
		} else if (p[0] == '%' && p[1] == '{') {
			in_code = 1;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				p++;
			if (!*p)
				break;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			if (!e)
				break;
			for (; p < e; p++)
				sc->line += *p == '\n';
			p = e + 1;
			continue;
		} else if (*p == '(' || *p == '[' || *p == '{') {
			depth++;
		} else if (*p == ')' || *p == ']' || *p == '}') {
			depth--;
		}
		if (*p == '\n') {
			sc->line++;
			if (!in_tick && !in_code && !in_str && depth <= 0) {
				p++;
				break;
			}
			if (scan_put(sc, &n, in_tick || in_code ? '\n' : ' ') < 0)
				goto too_long;
			continue;
		}
		if (scan_put(sc, &n, *p) < 0)
			goto too_long;
	}
	sc->p = p;
	if (scan_put(sc, &n, '\0') < 0)
		goto too_long;
	n--;
	while (n && isspace((unsigned char)sc->buf[n - 1]))
		sc->buf[--n] = '\0';
	if (in_tick || in_code || in_str || depth > 0) {
		syntax(px, in_tick ? "'`' closing the command" : in_code ? "'}%' closing the code block"
			   : in_str ? "'\"' closing the string" : "the closing bracket of the statement",
		       "end of file");
		return SCAN_ERR;
	}
	return SCAN_STMT;
too_long:
	syntax(px, "a statement shorter than 64 KiB", sc->p);
	return SCAN_ERR;
}

/* -D NAME=VALUE: every word NAME of the text becomes VALUE (packetdrill's symbol definitions). */
static char *apply_defines(const struct script_opts *o, const char *text)
{
	size_t cap = strlen(text) + 1, n = 0;
	char *out = malloc(cap);
	const char *p = text;

	if (!out)
		return NULL;
	while (*p) {
		const char *w = p;
		int i, done = 0;

		if (is_word_char((unsigned char)*p) && (p == text || !is_word_char((unsigned char)p[-1]))) {
			while (is_word_char((unsigned char)*p))
				p++;
			for (i = 0; i < o->ndefines && !done; i++) {
				const char *eq = strchr(o->defines[i], '=');

				if ((size_t)(eq - o->defines[i]) == (size_t)(p - w) &&
				    strncmp(o->defines[i], w, (size_t)(p - w)) == 0) {
					size_t vl = strlen(eq + 1);

					if (n + vl + strlen(p) + 1 > cap) {
						char *nb;

						cap = n + vl + strlen(p) + 1;
						nb = realloc(out, cap);
						if (!nb) {
							free(out);
							return NULL;
						}
						out = nb;
					}
					memcpy(out + n, eq + 1, vl);
					n += vl;
					done = 1;
				}
			}
			if (done)
				continue;
			p = w;
		}
		if (n + 1 >= cap) {
			char *nb = realloc(out, cap * 2);

			if (!nb) {
				free(out);
				return NULL;
			}
			out = nb;
			cap *= 2;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

/* The folder a script's relative paths start from ("." for a demo's text). */
static char *script_dir(struct arena *a, const struct script_opts *o)
{
	const char *slash = o->text ? NULL : strrchr(o->file, '/');

	if (!slash)
		return arena_strndup(a, ".", 1);
	return arena_strndup(a, o->file, slash == o->file ? 1 : (size_t)(slash - o->file));
}

int script_parse(const struct script_opts *o, struct script_prog *prog)
{
	struct pctx px;
	struct scanner sc;
	size_t len;
	char *text;
	int rc = 0;

	memset(prog, 0, sizeof(*prog));
	prog->opts = *o;
	memset(&px, 0, sizeof(px));
	px.o = o;
	px.prog = prog;
	prog->arena = px.a = arena_new();
	if (!px.a) {
		fprintf(stderr, "tcpdemux: %s: out of memory\n", o->file);
		return -1;
	}
	px.dir = script_dir(px.a, o);
	text = read_script(o, &len);
	if (!text || !px.dir) {
		if (text)
			oom(&px);
		free(text);
		return -1;
	}
	if (memchr(text, '\0', len)) {
		const char *q;

		px.line = 1;
		for (q = text; *q; q++)
			px.line += *q == '\n';
		free(text);
		syntax(&px, "text", "a NUL byte");
		return -1;
	}
	if (prog->opts.ndefines) {
		char *t = apply_defines(&prog->opts, text);

		free(text);
		if (!t)
			return oom(&px);
		text = t;
	}
	memset(&sc, 0, sizeof(sc));
	sc.p = text;
	sc.line = 1;
	while (rc == 0) {
		const char *say_end = NULL;
		enum scan_result k = scan_gap(&px, &sc, &say_end);
		struct stmt *s;

		if (k == SCAN_END || k == SCAN_ERR) {
			rc = k == SCAN_ERR ? -1 : 0;
			break;
		}
		if (k == SCAN_SAY) {
			/* narration: a statement of its own */
			const char *b = sc.p;

			px.line = sc.line;
			while (*b == ' ' || *b == '\t')
				b++;
			rc = stmt_room(&px);
			if (rc < 0)
				break;
			s = &prog->stmts[prog->nstmts];
			memset(s, 0, sizeof(*s));
			s->line = sc.line;
			s->kind = ST_SAY;
			s->rel = 1;
			s->say = arena_strndup(px.a, b, (size_t)(say_end - b));
			if (!s->say) {
				rc = oom(&px);
				break;
			}
			prog->nstmts++;
			sc.p = say_end;
			continue;
		}
		k = scan_stmt(&px, &sc);
		if (k == SCAN_ERR) {
			rc = -1;
			break;
		}
		if (k == SCAN_OPTION) {
			rc = header_option(&px, sc.buf);
			continue;
		}
		if (!sc.buf[0])
			continue;
		rc = stmt_room(&px);
		if (rc < 0)
			break;
		s = &prog->stmts[prog->nstmts];
		memset(s, 0, sizeof(*s));
		rc = parse_stmt(&px, sc.buf, s);
		if (rc == 0) {
			prog->nstmts++;
			px.seen_stmt = 1;
		}
	}
	free(sc.buf);
	free(text);
	return rc;
}

void script_prog_free(struct script_prog *prog)
{
	free(prog->stmts);
	arena_free(prog->arena);
	memset(prog, 0, sizeof(*prog));
}
