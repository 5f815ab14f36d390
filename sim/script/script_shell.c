/*
 * script_shell.c - a script's `command` blocks, read as a sysctl profile.
 *
 * Path: script_parse.c (a `...` statement) -> shell_block() -> one
 *       command at a time -> profile steps (NAME=VALUE) on the statement,
 *       applied by script_run.c when the statement is reached.
 *
 * packetdrill hands these blocks to /bin/sh. tcpdemux runs no shell: it
 * understands the commands published scripts use to configure the kernel
 * (sysctl, set_sysctls.py and its restore script, echo into /proc/sys,
 * a sourced .sh file such as defaults.sh) and the ones that are harmless
 * to a simulator (`ip tcp_metrics flush`, `tc qdisc ... pfifo`, `nstat`,
 * `ethtool -K ... tso off`: it never builds TSO segments). Anything else is
 * refused by name, before the script runs: a command whose effect is not
 * modelled must not pass for one that was. Shell syntax handled: quotes,
 * `\` line continuation, `#` comments, `;`, `&&`, `||`, redirections,
 * $((arithmetic)) and $PPID.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_int.h"
#include "sysctl.h"

#define MAX_WORDS 64
#define MAX_WORD 512
#define MAX_DEPTH 4              /* files sourcing files */
#define MAX_SH_FILE (1u << 20)

struct shell {
	struct arena *a;
	struct stmt *s;
	const char *dir;
	char *why;
	size_t whylen;
	int depth;
	int cap;                     /* room in s->steps */
};

static int say(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(struct shell *sh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->why, sh->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static int add_step(struct shell *sh, const char *assign, int checkpoint, int restore)
{
	struct profile_step *st;
	char err[256];

	if (assign) {
		struct stack_config scratch;

		/* Checked now, so a bad value stops the script before it runs. */
		stack_config_init(&scratch);
		if (sysctl_profile_apply(&scratch, assign, err, sizeof(err)) < 0)
			return say(sh, "%s", err);
	}
	if (sh->s->nsteps == sh->cap) {
		int cap = sh->cap ? sh->cap * 2 : 16;
		struct profile_step *n = arena_alloc(sh->a, (size_t)cap * sizeof(*n));

		if (!n)
			return say(sh, "out of memory");
		if (sh->s->nsteps)
			memcpy(n, sh->s->steps, (size_t)sh->s->nsteps * sizeof(*n));
		sh->s->steps = n;
		sh->cap = cap;
	}
	st = &sh->s->steps[sh->s->nsteps++];
	memset(st, 0, sizeof(*st));
	st->checkpoint = (uint8_t)checkpoint;
	st->restore = (uint8_t)restore;
	if (assign && !(st->assign = arena_strndup(sh->a, assign, strlen(assign))))
		return say(sh, "out of memory");
	return 0;
}

/* ---- $((arithmetic)) ----------------------------------------------------------------------- */

static int arith_expr(const char **pp, long long *v);

static int arith_primary(const char **pp, long long *v)
{
	const char *p = *pp;
	char *e;

	while (*p == ' ')
		p++;
	if (*p == '(') {
		p++;
		if (arith_expr(&p, v) < 0)
			return -1;
		while (*p == ' ')
			p++;
		if (*p != ')')
			return -1;
		*pp = p + 1;
		return 0;
	}
	if (*p == '-') {
		p++;
		if (arith_primary(&p, v) < 0)
			return -1;
		if (*v == LLONG_MIN)
			return -1; /* its negation does not fit (arith_term: why) */
		*v = -*v;
		*pp = p;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	*v = strtoll(p, &e, 0);
	if (errno)
		return -1;
	*pp = e;
	return 0;
}

static int arith_term(const char **pp, long long *v)
{
	long long r;

	if (arith_primary(pp, v) < 0)
		return -1;
	for (;;) {
		const char *p = *pp;

		while (*p == ' ')
			p++;
		if (*p != '*' && *p != '/' && *p != '%')
			return 0;
		*pp = p + 1;
		if (arith_primary(pp, &r) < 0)
			return -1;
		/*
		 * A result beyond long long is refused as the expression's
		 * error, as a division by 0 is: signed overflow is undefined in
		 * C (the script fuzzer found 719607 * 8488888888888888824), and
		 * a shell's own wrapping would be a wrong answer, not an error.
		 */
		if (*p == '*') {
			if (__builtin_mul_overflow(*v, r, v))
				return -1;
		} else if (r == 0 || (*v == LLONG_MIN && r == -1)) {
			return -1;
		} else {
			*v = *p == '/' ? *v / r : *v % r;
		}
	}
}

static int arith_expr(const char **pp, long long *v)
{
	long long r;

	if (arith_term(pp, v) < 0)
		return -1;
	for (;;) {
		const char *p = *pp;

		while (*p == ' ')
			p++;
		if (*p != '+' && *p != '-')
			return 0;
		*pp = p + 1;
		if (arith_term(pp, &r) < 0)
			return -1;
		if (*p == '+' ? __builtin_add_overflow(*v, r, v) : __builtin_sub_overflow(*v, r, v))
			return -1; /* beyond long long: arith_term says why */
	}
}

/* ---- words ---------------------------------------------------------------------------------- */

struct cmd {
	char words[MAX_WORDS][MAX_WORD];
	int nwords;
	char redir_out[MAX_WORD]; /* the target of the last '>' or '>>', "" for none */
	int piped;               /* a '|' fed this command to another */
};

static int word_put(struct shell *sh, char *w, size_t *n, char c)
{
	if (*n + 1 >= MAX_WORD)
		return say(sh, "a shell word longer than %d characters", MAX_WORD - 1);
	w[(*n)++] = c;
	w[*n] = '\0';
	return 0;
}

/* Expands $((...)), $PPID and ${PPID} at *pp into w. */
static int expand(struct shell *sh, const char **pp, char *w, size_t *n)
{
	const char *p = *pp;
	char num[32];
	size_t i;

	if (strncmp(p, "$((", 3) == 0) {
		const char *q = p + 3;
		long long v;

		if (arith_expr(&q, &v) < 0)
			return say(sh, "shell arithmetic that is not +, -, *, / on numbers: '%.40s'", p);
		while (*q == ' ')
			q++;
		if (strncmp(q, "))", 2) != 0)
			return say(sh, "'))' closing the shell arithmetic in '%.40s'", p);
		snprintf(num, sizeof(num), "%lld", v);
		*pp = q + 2;
	} else if (strncmp(p, "${PPID}", 7) == 0 || strncmp(p, "$PPID", 5) == 0) {
		/* packetdrill's pid: only the restore script's name uses it */
		snprintf(num, sizeof(num), "PPID");
		*pp = p + (p[1] == '{' ? 7 : 5);
	} else {
		return say(sh, "not modelled: a shell variable tcpdemux cannot know: '%.40s'", p);
	}
	for (i = 0; num[i]; i++)
		if (word_put(sh, w, n, num[i]) < 0)
			return -1;
	return 0;
}

/*
 * Splits one command (no ';', '&&', '||' left) into words, quotes
 * removed; redirections are set apart: '>' and '>>' keep their target
 * (echo writes there), '2>&1', '&>' and '<' are dropped.
 */
static int split_words(struct shell *sh, const char *p, struct cmd *c)
{
	memset(c, 0, sizeof(*c));
	for (;;) {
		char w[MAX_WORD];
		size_t n = 0;
		int redir = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return 0;
		/* redirections: [N]>[>] TARGET, [N]>&M, &> TARGET, < TARGET */
		if ((isdigit((unsigned char)p[0]) && p[1] == '>') || p[0] == '>' || (p[0] == '&' && p[1] == '>') ||
		    p[0] == '<') {
			int to_fd = 0;

			if (isdigit((unsigned char)*p))
				p++;
			if (*p == '&')
				p++;
			if (*p == '<')
				p++;
			while (*p == '>')
				p++;
			if (*p == '&') {
				to_fd = 1;
				p++;
			}
			while (*p == ' ' || *p == '\t')
				p++;
			redir = to_fd ? 2 : 1;
		}
		w[0] = '\0';
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '"' || *p == '\'') {
				char q = *p++;

				while (*p && *p != q) {
					if (q == '"' && *p == '$') {
						if (expand(sh, &p, w, &n) < 0)
							return -1;
						continue;
					}
					if (word_put(sh, w, &n, *p++) < 0)
						return -1;
				}
				if (*p != q)
					return say(sh, "a closing %c in the shell command", q);
				p++;
			} else if (*p == '$') {
				if (expand(sh, &p, w, &n) < 0)
					return -1;
			} else if (*p == '\\' && p[1]) {
				if (word_put(sh, w, &n, p[1]) < 0)
					return -1;
				p += 2;
			} else {
				if (word_put(sh, w, &n, *p++) < 0)
					return -1;
			}
		}
		if (redir == 1) {
			snprintf(c->redir_out, sizeof(c->redir_out), "%s", w);
			continue;
		}
		if (redir == 2)
			continue;
		if (c->nwords == MAX_WORDS)
			return say(sh, "a shell command of more than %d words", MAX_WORDS);
		memcpy(c->words[c->nwords++], w, n + 1);
	}
}

/* ---- commands ------------------------------------------------------------------------------- */

static int run_text(struct shell *sh, const char *text);

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* "/proc/sys/net/ipv4/tcp_rmem" -> "net.ipv4.tcp_rmem"; NULL when not under /proc/sys. */
static const char *proc_sys_name(const char *path, char *buf, size_t len)
{
	size_t i;

	if (strncmp(path, "/proc/sys/", 10) != 0)
		return NULL;
	snprintf(buf, len, "%s", path + 10);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '/')
			buf[i] = '.';
	return buf;
}

/* A .sh file the block runs: read and interpreted in turn (defaults.sh). */
static int run_file(struct shell *sh, const char *path)
{
	char full[1024], *text;
	FILE *f;
	size_t n;
	int rc;

	if (sh->depth >= MAX_DEPTH)
		return say(sh, "shell files sourced more than %d deep ('%s')", MAX_DEPTH, path);
	if (path[0] == '/')
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", sh->dir, path);
	f = fopen(full, "rb");
	if (!f)
		return say(sh, "the command '%s': %s cannot be read (%s)", path, full, strerror(errno));
	text = malloc(MAX_SH_FILE + 1);
	if (!text) {
		fclose(f);
		return say(sh, "out of memory");
	}
	n = fread(text, 1, MAX_SH_FILE + 1, f);
	fclose(f);
	if (n > MAX_SH_FILE) {
		free(text);
		return say(sh, "%s is longer than 1 MiB", full);
	}
	text[n] = '\0';
	sh->depth++;
	rc = run_text(sh, text);
	sh->depth--;
	if (rc < 0 && !strstr(sh->why, full)) {
		char inner[SCRIPT_WHY];

		snprintf(inner, sizeof(inner), "%s", sh->why);
		say(sh, "%s (in %s)", inner, full);
	}
	free(text);
	return rc;
}

static int cmd_sysctl(struct shell *sh, const struct cmd *c)
{
	int i, any = 0;

	for (i = 1; i < c->nwords; i++) {
		const char *w = c->words[i];

		if (w[0] == '-') {
			/* -q quiet, -w write, -e ignore unknown names */
			if (strspn(w + 1, "qwe") != strlen(w + 1))
				return say(sh, "the sysctl option '%s' (-q, -w and -e are understood)", w);
			continue;
		}
		if (!strchr(w, '='))
			continue; /* reading a value changes nothing */
		if (add_step(sh, w, 0, 0) < 0)
			return -1;
		any = 1;
	}
	(void)any;
	return 0;
}

/* set_sysctls.py /proc/sys/NAME=VALUE ...: settings a later restore script undoes. */
static int cmd_set_sysctls(struct shell *sh, const struct cmd *c)
{
	int i;

	if (add_step(sh, NULL, 1, 0) < 0)
		return -1;
	for (i = 1; i < c->nwords; i++) {
		char name[256], assign[MAX_WORD + 16];
		const char *eq = strchr(c->words[i], '=');

		if (!eq || eq - c->words[i] >= (long)sizeof(name))
			return say(sh, "set_sysctls.py arguments of the form /proc/sys/NAME=VALUE, not '%s'",
				   c->words[i]);
		memcpy(name, c->words[i], (size_t)(eq - c->words[i]));
		name[eq - c->words[i]] = '\0';
		{
			char dotted[256];

			if (!proc_sys_name(name, dotted, sizeof(dotted)))
				return say(sh, "set_sysctls.py arguments under /proc/sys/, not '%s'", c->words[i]);
			snprintf(assign, sizeof(assign), "%s=%s", dotted, eq + 1);
		}
		if (add_step(sh, assign, 0, 0) < 0)
			return -1;
	}
	return 0;
}

/* One command: a profile step, nothing (harmless), or -1 naming what is not modelled. */
static int run_cmd(struct shell *sh, const struct cmd *c)
{
	const char *w0 = c->words[0], *name = base_name(w0);
	int i;

	if (c->nwords == 0)
		return 0;
	if (c->piped)
		return say(sh, "not modelled: the shell pipeline starting '%s' (its output is not modelled)", w0);
	if (strcmp(name, "sysctl") == 0)
		return cmd_sysctl(sh, c);
	if (strcmp(name, "set_sysctls.py") == 0)
		return cmd_set_sysctls(sh, c);
	if (strncmp(name, "sysctl_restore_", 15) == 0 && ends_with(name, ".sh"))
		return add_step(sh, NULL, 0, 1);
	if (ends_with(name, ".sh")) {
		if (c->nwords > 1)
			return say(sh, "not modelled: the command '%s %s' (a .sh file is read without arguments)", w0,
				   c->words[1]);
		return run_file(sh, w0);
	}
	if (strcmp(name, "echo") == 0 && c->redir_out[0]) {
		char dotted[256], assign[MAX_WORD * 2];
		size_t k = 0;

		if (!proc_sys_name(c->redir_out, dotted, sizeof(dotted)))
			return say(sh, "not modelled: 'echo ... > %s' (only files under /proc/sys are modelled, as sysctls)",
				   c->redir_out);
		k = (size_t)snprintf(assign, sizeof(assign), "%s=", dotted);
		for (i = 1; i < c->nwords && k < sizeof(assign); i++)
			k += (size_t)snprintf(assign + k, sizeof(assign) - k, "%s%s", i > 1 ? " " : "", c->words[i]);
		return add_step(sh, assign, 0, 0);
	}
	if (strcmp(name, "true") == 0 || strcmp(name, ":") == 0 || strcmp(name, "echo") == 0)
		return 0;
	if (strcmp(name, "ip") == 0) {
		/* cached metrics (Fast Open cookies, RTTs): the simulator keeps none */
		if (c->nwords >= 3 && strcmp(c->words[1], "tcp_metrics") == 0 &&
		    (strcmp(c->words[2], "flush") == 0 || strcmp(c->words[2], "delete") == 0))
			return 0;
		return say(sh, "not modelled: the command 'ip %s%s%s' (only 'ip tcp_metrics flush' is harmless here)",
			   c->nwords > 1 ? c->words[1] : "", c->nwords > 2 ? " " : "", c->nwords > 2 ? c->words[2] : "");
	}
	if (strcmp(name, "tc") == 0) {
		/* The simulator has no queueing discipline: plain FIFOs change nothing, fq would pace. */
		for (i = 1; i < c->nwords; i++)
			if (strcmp(c->words[i], "fq") == 0 || strcmp(c->words[i], "netem") == 0)
				return say(sh, "not modelled: the qdisc 'tc ... %s' (pacing and delay are not modelled)",
					   c->words[i]);
		return 0;
	}
	if (strcmp(name, "nstat") == 0) {
		/* resets or prints the counters: nothing a script checks */
		return 0;
	}
	if (strcmp(name, "ethtool") == 0) {
		/* The stack never builds TSO/GSO segments: turning offloads off changes nothing. */
		for (i = 1; i < c->nwords; i++)
			if (strcmp(c->words[i], "on") == 0)
				return say(sh, "not modelled: 'ethtool ... %s on' (offloads are not modelled)", c->words[i - 1]);
		return 0;
	}
	return say(sh, "not modelled: the shell command '%s' (sysctl, set_sysctls.py, .sh files, echo into /proc/sys, "
		       "ip tcp_metrics, tc qdisc, nstat and ethtool -K are understood)", w0);
}

/* One line (continuations joined): commands split at ';', '&&', '||' and '|'. */
static int run_line(struct shell *sh, const char *line)
{
	char part[4096];
	size_t n = 0;
	int quote = 0, piped = 0;
	const char *p = line;

	for (;; p++) {
		int end = !*p;
		int sep = 0;

		if (!end && quote) {
			if (*p == quote)
				quote = 0;
		} else if (!end && (*p == '"' || *p == '\'')) {
			quote = *p;
		} else if (!end && *p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
			end = 1; /* a comment to the end of the line */
		} else if (!end && (*p == ';' || (*p == '&' && p[1] == '&') || *p == '|')) {
			sep = *p == '&' || (*p == '|' && p[1] == '|') ? 2 : 1;
			if (*p == '|' && p[1] != '|')
				sep = 3;
		} else if (!end && *p == '&' && p[1] != '>' && (p == line || p[-1] != '>')) {
			return say(sh, "not modelled: a command run in the background ('&')");
		}
		if (end || sep) {
			struct cmd *c = malloc(sizeof(*c));
			int rc;

			if (!c)
				return say(sh, "out of memory");
			part[n] = '\0';
			rc = split_words(sh, part, c);
			if (rc == 0) {
				c->piped = sep == 3 || piped;
				rc = run_cmd(sh, c);
			}
			free(c);
			if (rc < 0)
				return -1;
			piped = sep == 3;
			n = 0;
			if (end)
				return 0;
			if (sep == 2)
				p++;
			continue;
		}
		if (n + 1 >= sizeof(part))
			return say(sh, "a shell command longer than %zu characters", sizeof(part) - 1);
		part[n++] = *p;
	}
}

/* A whole block or file: lines, with "\" + newline joining them. */
static int run_text(struct shell *sh, const char *text)
{
	char *buf = malloc(strlen(text) + 1);
	const char *p;
	size_t n = 0;
	int rc = 0;

	if (!buf)
		return say(sh, "out of memory");
	for (p = text;; p++) {
		if (*p == '\\' && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == '\n' || !*p) {
			buf[n] = '\0';
			rc = run_line(sh, buf);
			n = 0;
			if (rc < 0 || !*p)
				break;
			continue;
		}
		buf[n++] = *p;
	}
	free(buf);
	return rc;
}

int shell_block(struct arena *a, const char *dir, const char *text, struct stmt *s, char *why,
		size_t whylen)
{
	struct shell sh;

	memset(&sh, 0, sizeof(sh));
	sh.a = a;
	sh.s = s;
	sh.dir = dir;
	sh.why = why;
	sh.whylen = whylen;
	if (!text) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return run_text(&sh, text);
}
