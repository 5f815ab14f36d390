/*
 * script_code.c - %{ }% blocks: assertions on the socket's tcp_info.
 *
 * Path: script_parse.c -> code_block() (parsed and checked before the
 *       run) ... script_run.c -> code_check() with sys_tcp_info() of the
 *       socket the last call used, as packetdrill takes the snapshot.
 *
 * packetdrill hands these blocks to Python after the run. tcpdemux
 * evaluates the part of Python they use: "assert EXPR[, message]",
 * "NAME = EXPR", "NAME += EXPR", print(...) (ignored) and comments, with
 * integer arithmetic (+ - * // / % & | << >>), comparisons (chained as in
 * Python), and, or, not, parentheses; names are tcpi_* fields the stack
 * knows, TCPI_OPT_* and TCP_CA_* constants, and the block's own variables,
 * which live on from block to block. A field the stack does not know, or
 * any other Python, is refused by name before the script runs.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_int.h"

#define MAX_VARS 32

enum cx_kind { CX_NUM, CX_FIELD, CX_VAR, CX_UNARY, CX_BINARY };

struct cexpr {
	uint8_t kind;          /* enum cx_kind */
	char op[3];            /* CX_UNARY: "-", "!"; CX_BINARY: "+", "==", "&&", ... */
	int64_t num;           /* CX_NUM; CX_FIELD: the field's index */
	const char *name;      /* CX_VAR, CX_FIELD */
	struct cexpr *a, *b;
};

enum code_op { CODE_ASSERT, CODE_SET, CODE_ADD };

struct code_assert {
	uint8_t op;            /* enum code_op */
	const char *name;      /* CODE_SET, CODE_ADD: the variable */
	const char *text;      /* the statement as written, for messages */
	struct cexpr *e;
};

struct code_var {
	char name[32];
	int64_t value;
};

struct code_env {
	struct code_var vars[MAX_VARS];
	int n;
};

/* ---- the fields ---------------------------------------------------------------------------- */

#define F(name) { #name, offsetof(struct tcp_info_view, name) }

static const struct {
	const char *name;
	size_t off;
} fields[] = {
	/* only what the stack computes: a field it would report as a made-up 0 is refused */
	F(tcpi_state), F(tcpi_ca_state), F(tcpi_retransmits), F(tcpi_backoff), F(tcpi_options),
	F(tcpi_snd_wscale), F(tcpi_rcv_wscale), F(tcpi_rto), F(tcpi_snd_mss), F(tcpi_rcv_mss),
	F(tcpi_unacked), F(tcpi_pmtu), F(tcpi_rtt), F(tcpi_rttvar), F(tcpi_snd_ssthresh), F(tcpi_snd_cwnd),
	F(tcpi_advmss), F(tcpi_rcv_space),
	F(tcpi_notsent_bytes),
};

static const struct {
	const char *name;
	int64_t value;
} constants[] = {
	{ "TCPI_OPT_TIMESTAMPS", 1 }, { "TCPI_OPT_SACK", 2 }, { "TCPI_OPT_WSCALE", 4 },
	{ "TCPI_OPT_ECN", 8 }, { "TCPI_OPT_ECN_SEEN", 16 }, { "TCPI_OPT_SYN_DATA", 32 },
	{ "TCP_CA_Open", 0 }, { "TCP_CA_Disorder", 1 }, { "TCP_CA_CWR", 2 }, { "TCP_CA_Recovery", 3 },
	{ "TCP_CA_Loss", 4 }, { "True", 1 }, { "False", 0 },
	{ "TCP_ESTABLISHED", 1 }, { "TCP_SYN_SENT", 2 }, { "TCP_SYN_RECV", 3 }, { "TCP_FIN_WAIT1", 4 },
	{ "TCP_FIN_WAIT2", 5 }, { "TCP_TIME_WAIT", 6 }, { "TCP_CLOSE", 7 }, { "TCP_CLOSE_WAIT", 8 },
	{ "TCP_LAST_ACK", 9 }, { "TCP_LISTEN", 10 }, { "TCP_CLOSING", 11 },
};

/* ---- parsing ------------------------------------------------------------------------------- */

struct cparse {
	struct arena *a;
	const char *p;
	char *why;
	size_t whylen;
	int failed;
	/* names the block assigns: a variable, not an unknown field */
	const char **assigned;
	int nassigned;
};

static int cfail(struct cparse *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct cparse *cp, const char *fmt, ...)
{
	va_list ap;

	if (cp->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(cp->why, cp->whylen, fmt, ap);
	va_end(ap);
	cp->failed = 1;
	return -1;
}

static void cskip(struct cparse *cp)
{
	while (*cp->p == ' ' || *cp->p == '\t' || *cp->p == '\\')
		cp->p++;
}

static struct cexpr *cnew(struct cparse *cp, uint8_t kind)
{
	struct cexpr *e = arena_alloc(cp->a, sizeof(*e));

	if (!e)
		cfail(cp, "out of memory");
	else
		e->kind = kind;
	return e;
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

/* The word at p if it is exactly w (not a prefix of a longer name). */
static int word_at(const char *p, const char *w)
{
	size_t n = strlen(w);

	return strncmp(p, w, n) == 0 && !is_name_char((unsigned char)p[n]);
}

static struct cexpr *c_or(struct cparse *cp);

static struct cexpr *c_primary(struct cparse *cp)
{
	struct cexpr *e;
	size_t i, n;
	const char *q;

	cskip(cp);
	if (*cp->p == '(') {
		cp->p++;
		e = c_or(cp);
		cskip(cp);
		if (!e)
			return NULL;
		if (*cp->p != ')') {
			cfail(cp, "')' in the %%{ }%% expression at '%.20s'", cp->p);
			return NULL;
		}
		cp->p++;
		return e;
	}
	if (isdigit((unsigned char)*cp->p)) {
		char *end;

		e = cnew(cp, CX_NUM);
		if (!e)
			return NULL;
		e->num = (int64_t)strtoull(cp->p, &end, 0);
		cp->p = end;
		return e;
	}
	q = cp->p;
	while (is_name_char((unsigned char)*q))
		q++;
	n = (size_t)(q - cp->p);
	if (n == 0) {
		cfail(cp, "a number, a tcpi_ field or a name in the %%{ }%% expression at '%.20s'", cp->p);
		return NULL;
	}
	for (i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
		if (strlen(constants[i].name) == n && strncmp(constants[i].name, cp->p, n) == 0) {
			e = cnew(cp, CX_NUM);
			if (e)
				e->num = constants[i].value;
			cp->p = q;
			return e;
		}
	if (strncmp(cp->p, "tcpi_", 5) == 0) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strlen(fields[i].name) == n && strncmp(fields[i].name, cp->p, n) == 0)
				break;
		if (i == sizeof(fields) / sizeof(fields[0])) {
			cfail(cp, "the tcp_info field %.*s (docs/scripts.md lists the ones the stack knows)",
			      (int)n, cp->p);
			return NULL;
		}
		e = cnew(cp, CX_FIELD);
		if (!e)
			return NULL;
		e->num = (int64_t)i;
		e->name = fields[i].name;
		cp->p = q;
		return e;
	}
	for (i = 0; i < (size_t)cp->nassigned; i++)
		if (strlen(cp->assigned[i]) == n && strncmp(cp->assigned[i], cp->p, n) == 0)
			break;
	if (i == (size_t)cp->nassigned) {
		cfail(cp, "the Python name %.*s in a %%{ }%% block (tcpi_ fields, TCPI_OPT_ and TCP_CA_ "
			  "constants and the block's own variables are understood)", (int)n, cp->p);
		return NULL;
	}
	e = cnew(cp, CX_VAR);
	if (!e)
		return NULL;
	e->name = arena_strndup(cp->a, cp->p, n);
	cp->p = q;
	return e;
}

static struct cexpr *c_unary(struct cparse *cp)
{
	struct cexpr *e;

	cskip(cp);
	if (*cp->p == '-' || *cp->p == '~') {
		char op = *cp->p++;

		e = cnew(cp, CX_UNARY);
		if (!e || !(e->a = c_unary(cp)))
			return NULL;
		e->op[0] = op;
		return e;
	}
	return c_primary(cp);
}

/* Binary operators by precedence, lowest first (Python's order). */
static const char *const levels[][7] = {
	{ "|", NULL }, { "^", NULL }, { "&", NULL }, { "<<", ">>", NULL }, { "+", "-", NULL },
	{ "*", "//", "/", "%", NULL },
};
#define NLEVELS (int)(sizeof(levels) / sizeof(levels[0]))

static struct cexpr *c_level(struct cparse *cp, int lv)
{
	struct cexpr *e;

	if (lv == NLEVELS)
		return c_unary(cp);
	e = c_level(cp, lv + 1);
	while (e) {
		const char *op = NULL;
		int i;

		cskip(cp);
		for (i = 0; levels[lv][i]; i++)
			if (strncmp(cp->p, levels[lv][i], strlen(levels[lv][i])) == 0 &&
			    !(levels[lv][i][0] == '/' && levels[lv][i][1] == '\0' && cp->p[1] == '/')) {
				op = levels[lv][i];
				break;
			}
		/* "<" and ">" are comparisons, "<<" and ">>" shifts */
		if (!op)
			return e;
		{
			struct cexpr *b = cnew(cp, CX_BINARY);

			if (!b)
				return NULL;
			cp->p += strlen(op);
			snprintf(b->op, sizeof(b->op), "%s", op);
			b->a = e;
			b->b = c_level(cp, lv + 1);
			if (!b->b)
				return NULL;
			e = b;
		}
	}
	return e;
}

/* a < b <= c as Python chains it: (a < b) and (b <= c). */
static struct cexpr *c_compare(struct cparse *cp)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">" };
	struct cexpr *e = c_level(cp, 0), *result = NULL;

	while (e) {
		const char *op = NULL;
		size_t i;
		struct cexpr *b, *rhs;

		cskip(cp);
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strncmp(cp->p, ops[i], strlen(ops[i])) == 0) {
				op = ops[i];
				break;
			}
		if (!op)
			return result ? result : e;
		cp->p += strlen(op);
		rhs = c_level(cp, 0);
		b = cnew(cp, CX_BINARY);
		if (!rhs || !b)
			return NULL;
		snprintf(b->op, sizeof(b->op), "%s", op);
		b->a = e;
		b->b = rhs;
		if (result) {
			struct cexpr *and = cnew(cp, CX_BINARY);

			if (!and)
				return NULL;
			snprintf(and->op, sizeof(and->op), "&&");
			and->a = result;
			and->b = b;
			result = and;
		} else {
			result = b;
		}
		e = rhs;
	}
	return NULL;
}

static struct cexpr *c_not(struct cparse *cp)
{
	cskip(cp);
	if (word_at(cp->p, "not")) {
		struct cexpr *e = cnew(cp, CX_UNARY);

		cp->p += 3;
		if (!e || !(e->a = c_not(cp)))
			return NULL;
		e->op[0] = '!';
		return e;
	}
	return c_compare(cp);
}

static struct cexpr *c_logic(struct cparse *cp, const char *word, const char *op,
			     struct cexpr *(*next)(struct cparse *))
{
	struct cexpr *e = next(cp);

	while (e) {
		struct cexpr *b;

		cskip(cp);
		if (!word_at(cp->p, word))
			return e;
		cp->p += strlen(word);
		b = cnew(cp, CX_BINARY);
		if (!b || !(b->b = next(cp)))
			return NULL;
		snprintf(b->op, sizeof(b->op), "%s", op);
		b->a = e;
		e = b;
	}
	return NULL;
}

static struct cexpr *c_and(struct cparse *cp)
{
	return c_logic(cp, "and", "&&", c_not);
}

static struct cexpr *c_or(struct cparse *cp)
{
	return c_logic(cp, "or", "||", c_and);
}

/* The names a block assigns, so that later statements may read them. */
static int note_assigned(struct cparse *cp, const char **names, int *n, const char *name, size_t len)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return 0;
	if (*n == MAX_VARS)
		return cfail(cp, "more than %d variables in %%{ }%% blocks", MAX_VARS);
	names[*n] = arena_strndup(cp->a, name, len);
	if (!names[*n])
		return cfail(cp, "out of memory");
	(*n)++;
	return 0;
}

int code_block(struct arena *a, struct code_names *names, const char *text, struct stmt *s, char *why,
	       size_t whylen)
{
	struct cparse cp;
	struct code_assert list[64];
	int n = 0;
	const char *p = text;

	memset(&cp, 0, sizeof(cp));
	cp.a = a;
	cp.why = why;
	cp.whylen = whylen;
	if (!text)
		return cfail(&cp, "out of memory");
	cp.assigned = names->name;
	while (*p) {
		const char *start, *end;
		struct code_assert *ca;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ';' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		start = p;
		/* the statement ends at ';', a newline or a comment */
		end = p;
		{
			int quote = 0, depth = 0;

			for (; *end; end++) {
				if (quote) {
					if (*end == quote)
						quote = 0;
				} else if (*end == '\'' || *end == '"') {
					quote = *end;
				} else if (*end == '(') {
					depth++;
				} else if (*end == ')') {
					depth--;
				} else if ((*end == ';' || *end == '\n' || *end == '#') && depth <= 0) {
					break;
				}
			}
		}
		if (n == (int)(sizeof(list) / sizeof(list[0])))
			return cfail(&cp, "more than 64 statements in a %%{ }%% block");
		ca = &list[n];
		memset(ca, 0, sizeof(*ca));
		{
			const char *te = end;

			while (te > start && isspace((unsigned char)te[-1]))
				te--;
			ca->text = arena_strndup(a, start, (size_t)(te - start));
		}
		if (!ca->text)
			return cfail(&cp, "out of memory");
		cp.nassigned = names->n;
		if (word_at(p, "print")) {
			/* print(...) only shows a value: nothing to run */
			p = end;
			continue;
		}
		if (word_at(p, "assert")) {
			cp.p = p + 6;
			ca->op = CODE_ASSERT;
			ca->e = c_or(&cp);
			if (!ca->e)
				return -1;
			cskip(&cp);
			/* ", message": shown by Python on failure; tcpdemux says the values itself */
			if (*cp.p != ',' && cp.p < end)
				return cfail(&cp, "the end of the assertion at '%.20s'", cp.p);
			n++;
			p = end;
			continue;
		}
		{
			const char *q = p;

			while (is_name_char((unsigned char)*q))
				q++;
			if (q > p && !isdigit((unsigned char)*p)) {
				const char *op = q;

				while (*op == ' ' || *op == '\t')
					op++;
				if ((op[0] == '=' && op[1] != '=') || (op[0] == '+' && op[1] == '=')) {
					ca->op = op[0] == '=' ? CODE_SET : CODE_ADD;
					ca->name = arena_strndup(a, p, (size_t)(q - p));
					if (!ca->name || strlen(ca->name) >= sizeof(((struct code_var *)0)->name))
						return cfail(&cp, "a shorter variable name than %.20s", p);
					if (strncmp(ca->name, "tcpi_", 5) == 0)
						return cfail(&cp, "assigning to the tcp_info field %s", ca->name);
					cp.p = op + (op[0] == '=' ? 1 : 2);
					if (ca->op == CODE_ADD)
						cp.nassigned = names->n;
					ca->e = c_or(&cp);
					if (!ca->e)
						return -1;
					cskip(&cp);
					if (cp.p < end)
						return cfail(&cp, "the end of the assignment at '%.20s'", cp.p);
					if (note_assigned(&cp, names->name, &names->n, p, (size_t)(q - p)) < 0)
						return -1;
					n++;
					p = end;
					continue;
				}
			}
		}
		return cfail(&cp, "the Python statement '%s' in a %%{ }%% block (assert, NAME = EXPR, "
				  "NAME += EXPR and print() are understood)", ca->text);
	}
	s->asserts = arena_alloc(a, (size_t)(n ? n : 1) * sizeof(*s->asserts));
	if (!s->asserts)
		return cfail(&cp, "out of memory");
	memcpy(s->asserts, list, (size_t)n * sizeof(*list));
	s->nasserts = n;
	return 0;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

static int64_t field_value(const struct tcp_info_view *ti, int64_t i)
{
	return (int64_t)*(const uint64_t *)(const void *)((const char *)ti + fields[i].off);
}

static int64_t var_value(const struct code_env *env, const char *name)
{
	int i;

	for (i = 0; i < env->n; i++)
		if (strcmp(env->vars[i].name, name) == 0)
			return env->vars[i].value;
	return 0;
}

static int64_t eval(const struct cexpr *e, const struct tcp_info_view *ti, const struct code_env *env)
{
	int64_t a, b;

	switch (e->kind) {
	case CX_NUM:
		return e->num;
	case CX_FIELD:
		return field_value(ti, e->num);
	case CX_VAR:
		return var_value(env, e->name);
	case CX_UNARY:
		a = eval(e->a, ti, env);
		return e->op[0] == '-' ? -a : e->op[0] == '~' ? ~a : !a;
	default:
		break;
	}
	a = eval(e->a, ti, env);
	if (strcmp(e->op, "&&") == 0)
		return a && eval(e->b, ti, env);
	if (strcmp(e->op, "||") == 0)
		return a || eval(e->b, ti, env);
	b = eval(e->b, ti, env);
	switch (e->op[0]) {
	case '+': return a + b;
	case '-': return a - b;
	case '*': return a * b;
	case '/': return b ? (a / b - ((a % b != 0) && ((a < 0) != (b < 0)))) : 0; /* Python's floor */
	case '%': return b ? ((a % b) + b) % b : 0;
	case '&': return a & b;
	case '|': return a | b;
	case '^': return a ^ b;
	case '<':
		if (e->op[1] == '<')
			return b >= 0 && b < 63 ? a << b : 0;
		return e->op[1] == '=' ? a <= b : a < b;
	case '>':
		if (e->op[1] == '>')
			return b >= 0 && b < 63 ? a >> b : 0;
		return e->op[1] == '=' ? a >= b : a > b;
	case '=': return a == b;
	case '!': return a != b;
	default: return 0;
	}
}

/* "tcpi_snd_cwnd 12" for each field an expression reads, to say what the values were. */
static size_t describe(const struct cexpr *e, const struct tcp_info_view *ti, char *buf, size_t len, size_t k)
{
	if (!e || k + 2 >= len)
		return k;
	if (e->kind == CX_FIELD) {
		if (!strstr(buf, e->name))
			k += (size_t)snprintf(buf + k, len - k, "%s%s is %lld", k ? ", " : "", e->name,
					      (long long)field_value(ti, e->num));
		return k < len ? k : len - 1;
	}
	k = describe(e->a, ti, buf, len, k);
	return describe(e->b, ti, buf, len, k);
}

struct code_env *code_env_new(void)
{
	return calloc(1, sizeof(struct code_env));
}

void code_env_free(struct code_env *env)
{
	free(env);
}

int code_check(const struct stmt *s, const struct tcp_info_view *ti, struct code_env *env, char *why,
	       size_t whylen)
{
	int i, j;

	for (i = 0; i < s->nasserts; i++) {
		const struct code_assert *ca = &s->asserts[i];
		int64_t v = eval(ca->e, ti, env);

		if (ca->op == CODE_ASSERT) {
			char vals[256];

			if (v)
				continue;
			vals[0] = '\0';
			describe(ca->e, ti, vals, sizeof(vals), 0);
			snprintf(why, whylen, "expected %s, actual: %s", ca->text, vals[0] ? vals : "false");
			return -1;
		}
		for (j = 0; j < env->n; j++)
			if (strcmp(env->vars[j].name, ca->name) == 0)
				break;
		if (j == env->n) {
			if (env->n == MAX_VARS)
				continue;
			snprintf(env->vars[j].name, sizeof(env->vars[j].name), "%s", ca->name);
			env->vars[j].value = 0;
			env->n++;
		}
		env->vars[j].value = ca->op == CODE_SET ? v : env->vars[j].value + v;
	}
	return 0;
}
