/*
 * replaytest.h - what the end-to-end suites share: running tcpdemux with
 * JSON Lines output split into fields, and writing captures.
 *
 * Used by check_replay.c and check_capture.c. Like progrun.h every
 * function is static inline, so a suite that uses only some of them gets
 * no unused-function warning and the Makefile needs no new object.
 *
 *   fmt(), fmt_cut()        snprintf into fixed buffers (fail, or cut)
 *   j_parse(), j_get() ...  a splitter of one JSON object into its fields
 *   run_json(), run_plain() tcpdemux run with printf-formatted arguments,
 *                           stdout split into lines (and objects)
 *   run_ok(), run_refused() the usual checks of a run's exit and stderr
 *   pkts_read(), pcap_write(), pkts_write_pcapng(), rewrap()
 *                           captures read and written with libpcap (or by
 *                           hand, for pcapng), IP packets re-wrapped in
 *                           other link layers
 *   tmp_setup(), tmp_file() a temporary directory per TCase
 */
#ifndef TCPDEMUX_TEST_REPLAYTEST_H
#define TCPDEMUX_TEST_REPLAYTEST_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progrun.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The most frames a test capture holds. */
#define CAP_MAX 512

/* ---- formatting into fixed buffers -------------------------------------------------- */

/* snprintf that fails the test instead of cutting a path or a command short. */
static inline void __attribute__((format(printf, 3, 4))) fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < len, "%d bytes do not fit in a buffer of %zu", n, len);
}

/* snprintf for messages: cutting is fine. */
static inline void __attribute__((format(printf, 3, 4))) fmt_cut(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

/* ---- a splitter of one JSON object into its top-level fields ------------------- */

#define J_MAXF 64

struct jfield {
	const char *k; /* the key without its quotes, escapes as written */
	size_t kl;
	const char *v; /* the value as written: a string with its quotes, a number, */
	size_t vl;     /* null/true/false, or a whole nested object or array */
};

struct jobj {
	int n;
	struct jfield f[J_MAXF];
};

static inline const char *j_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* p is at an opening quote: returns the byte after the closing one, or NULL. */
static inline const char *j_string_end(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\') {
			if (++p >= e)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		} else if ((unsigned char)*p < 0x20) {
			return NULL;
		}
	}
	return NULL;
}

/*
 * The end of the value starting at p, or NULL: a string, an object or
 * array taken whole (brackets matched, strings skipped), or a bare word
 * that must be null, true, false or a number.
 */
static inline const char *j_value_end(const char *p, const char *e)
{
	const char *s = p;
	char want[64], word[64], *end;
	size_t n;
	int depth = 0;

	if (p >= e)
		return NULL;
	if (*p == '"')
		return j_string_end(p, e);
	if (*p == '{' || *p == '[') {
		while (p < e) {
			if (*p == '"') {
				p = j_string_end(p, e);
				if (!p)
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[') {
				if (depth == (int)sizeof(want))
					return NULL;
				want[depth++] = *p == '{' ? '}' : ']';
			} else if (*p == '}' || *p == ']') {
				if (depth == 0 || want[--depth] != *p)
					return NULL;
				if (depth == 0)
					return p + 1;
			}
			p++;
		}
		return NULL;
	}
	while (p < e && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
		p++;
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof(word))
		return NULL;
	memcpy(word, s, n);
	word[n] = '\0';
	if (strcmp(word, "null") == 0 || strcmp(word, "true") == 0 || strcmp(word, "false") == 0)
		return p;
	if (*word != '-' && !isdigit((unsigned char)*word))
		return NULL;
	(void)strtod(word, &end);
	return *end ? NULL : p;
}

/* Splits the object in s[0..len) into o. Returns NULL, or what is wrong with it. */
static inline const char *j_parse(const char *s, size_t len, struct jobj *o)
{
	const char *p, *q, *e = s + len;
	int i;

	o->n = 0;
	p = j_ws(s, e);
	if (p >= e || *p != '{')
		return "not a JSON object";
	p = j_ws(p + 1, e);
	if (p < e && *p == '}')
		return j_ws(p + 1, e) == e ? NULL : "text after the object";
	for (;;) {
		struct jfield *f = &o->f[o->n];

		if (o->n == J_MAXF)
			return "too many fields";
		if (p >= e || *p != '"')
			return "a key is not a string";
		q = j_string_end(p, e);
		if (!q)
			return "an unterminated key";
		f->k = p + 1;
		f->kl = (size_t)(q - p - 2);
		p = j_ws(q, e);
		if (p >= e || *p != ':')
			return "no ':' after a key";
		p = j_ws(p + 1, e);
		q = j_value_end(p, e);
		if (!q)
			return "a malformed value";
		f->v = p;
		f->vl = (size_t)(q - p);
		for (i = 0; i < o->n; i++)
			if (o->f[i].kl == f->kl && memcmp(o->f[i].k, f->k, f->kl) == 0)
				return "a key appears twice";
		o->n++;
		p = j_ws(q, e);
		if (p < e && *p == ',') {
			p = j_ws(p + 1, e);
			continue;
		}
		if (p < e && *p == '}')
			break;
		return "no ',' or '}' after a value";
	}
	return j_ws(p + 1, e) == e ? NULL : "text after the object";
}

static inline const struct jfield *j_get(const struct jobj *o, const char *key)
{
	size_t kl = strlen(key);
	int i;

	for (i = 0; i < o->n; i++)
		if (o->f[i].kl == kl && memcmp(o->f[i].k, key, kl) == 0)
			return &o->f[i];
	return NULL;
}

/* The string held by key, unescaped into buf; NULL when missing or not a string. */
static inline const char *j_str(const struct jobj *o, const char *key, char *buf, size_t len)
{
	const struct jfield *f = j_get(o, key);
	const char *p, *e;
	size_t n = 0;

	if (!f || f->vl < 2 || f->v[0] != '"' || len == 0)
		return NULL;
	for (p = f->v + 1, e = f->v + f->vl - 1; p < e && n + 1 < len; p++) {
		char c = *p;

		if (c == '\\' && p + 1 < e) {
			c = *++p;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;
				int i;

				for (i = 0; i < 4 && p + 1 < e; i++) {
					p++;
					v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0'
										 : (tolower((unsigned char)*p) - 'a' + 10));
				}
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			default: break; /* \" \\ \/ */
			}
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return buf;
}

/* 1 if key holds the string want. */
static inline int j_is(const struct jobj *o, const char *key, const char *want)
{
	char buf[512];
	const char *v = j_str(o, key, buf, sizeof(buf));

	return v && strcmp(v, want) == 0;
}

/* 1 if key holds null. */
static inline int j_null(const struct jobj *o, const char *key)
{
	const struct jfield *f = j_get(o, key);

	return f && f->vl == 4 && memcmp(f->v, "null", 4) == 0;
}

/* The raw value of key for messages ("(missing)" when absent). */
static inline const char *j_raw(const struct jobj *o, const char *key, char *buf, size_t len)
{
	const struct jfield *f = j_get(o, key);

	if (!f)
		fmt_cut(buf, len, "(missing)");
	else
		fmt_cut(buf, len, "%.*s", (int)f->vl, f->v);
	return buf;
}

/* The integer held by key; fails the test (naming where) if it is missing or not one. */
static inline long long j_int(const struct jobj *o, const char *key, const char *where)
{
	const struct jfield *f = j_get(o, key);
	char buf[64], *end;
	long long v;

	ck_assert_msg(f != NULL, "%s: no field \"%s\"", where, key);
	ck_assert_msg(f->vl < sizeof(buf), "%s: field \"%s\" is too long for a number", where, key);
	memcpy(buf, f->v, f->vl);
	buf[f->vl] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	ck_assert_msg(*buf && !*end && !errno, "%s: field \"%s\" is %s, not an integer", where, key, buf);
	return v;
}

/* Splits the object held by key into sub; fails the test if there is none. */
static inline void j_sub(const struct jobj *o, const char *key, struct jobj *sub, const char *where)
{
	const struct jfield *f = j_get(o, key);
	const char *err;

	ck_assert_msg(f != NULL, "%s: no field \"%s\"", where, key);
	err = j_parse(f->v, f->vl, sub);
	ck_assert_msg(err == NULL, "%s: field \"%s\" is not an object (%s): %.*s", where, key, err,
		      (int)f->vl, f->v);
}

static inline int path_ignored(const char *path, const char *const *ignore)
{
	for (; ignore && *ignore; ignore++)
		if (strcmp(path, *ignore) == 0)
			return 1;
	return 0;
}

/*
 * Compares got with want key by key (order aside), descending into nested
 * objects, so a mismatch names the field: "lookup.bucket". Fields whose
 * dotted path is in ignore are not compared. A missing or extra field
 * fails like a different value.
 */
static inline void j_compare(const char *file, int line, const char *type, const char *prefix,
		      const struct jobj *got, const struct jobj *want, const char *const *ignore)
{
	char path[256];
	int i;

	for (i = 0; i < want->n; i++) {
		const struct jfield *w = &want->f[i], *g;
		char key[128];

		fmt(key, sizeof(key), "%.*s", (int)w->kl, w->k);
		fmt(path, sizeof(path), "%s%s", prefix, key);
		if (path_ignored(path, ignore))
			continue;
		g = j_get(got, key);
		ck_assert_msg(g != NULL, "%s line %d (type %s): field %s is missing; want %.*s", file, line,
			      type, path, (int)w->vl, w->v);
		if (g->vl == w->vl && memcmp(g->v, w->v, w->vl) == 0)
			continue;
		if (g->v[0] == '{' && w->v[0] == '{') {
			struct jobj gs, ws;
			char sub[256];

			ck_assert_msg(j_parse(g->v, g->vl, &gs) == NULL && j_parse(w->v, w->vl, &ws) == NULL,
				      "%s line %d (type %s): field %s does not split", file, line, type, path);
			fmt(sub, sizeof(sub), "%s.", path);
			j_compare(file, line, type, sub, &gs, &ws, ignore);
			continue;
		}
		ck_assert_msg(0, "%s line %d (type %s): field %s: got %.*s, want %.*s", file, line, type,
			      path, (int)g->vl, g->v, (int)w->vl, w->v);
	}
	for (i = 0; i < got->n; i++) {
		const struct jfield *g = &got->f[i];
		char key[128];

		fmt(key, sizeof(key), "%.*s", (int)g->kl, g->k);
		fmt(path, sizeof(path), "%s%s", prefix, key);
		ck_assert_msg(path_ignored(path, ignore) || j_get(want, key) != NULL,
			      "%s line %d (type %s): extra field %s: got %.*s", file, line, type, path,
			      (int)g->vl, g->v);
	}
}

/* ---- output as lines of JSON ------------------------------------------------------ */

struct jlines {
	char *text; /* owned copy, lines NUL-terminated in place */
	int n;
	char **line;
	struct jobj *obj; /* when parsed */
};

/* Splits text into lines; with parse, each must be one JSON object (what names the source). */
static inline void jl_split(struct jlines *l, const char *text, int parse, const char *what)
{
	char *p;
	int cap = 16, i;

	memset(l, 0, sizeof(*l));
	l->text = strdup(text);
	l->line = malloc((size_t)cap * sizeof(*l->line));
	ck_assert_msg(l->text && l->line, "out of memory");
	for (p = l->text; *p;) {
		char *e = strchr(p, '\n');

		if (l->n == cap) {
			cap *= 2;
			l->line = realloc(l->line, (size_t)cap * sizeof(*l->line));
			ck_assert_msg(l->line != NULL, "out of memory");
		}
		l->line[l->n++] = p;
		if (!e)
			break;
		*e = '\0';
		p = e + 1;
	}
	if (!parse)
		return;
	l->obj = calloc((size_t)(l->n ? l->n : 1), sizeof(*l->obj));
	ck_assert_msg(l->obj != NULL, "out of memory");
	for (i = 0; i < l->n; i++) {
		const char *err = j_parse(l->line[i], strlen(l->line[i]), &l->obj[i]);

		ck_assert_msg(err == NULL, "%s: line %d is not one JSON object (%s): %s", what, i + 1, err,
			      l->line[i]);
		ck_assert_msg(j_get(&l->obj[i], "type") != NULL, "%s: line %d has no \"type\": %s", what,
			      i + 1, l->line[i]);
	}
}

static inline void jl_free(struct jlines *l)
{
	free(l->text);
	free(l->line);
	free(l->obj);
	memset(l, 0, sizeof(*l));
}

/* A run of tcpdemux: its arguments (for messages), exit status, stdout and stderr. */
struct run {
	char args[2048];
	int rc;
	char *out, *err;
	struct jlines l; /* stdout, split (and parsed with --format json) */
};

static inline void run_v(struct run *r, int json, const char *format, va_list ap)
{
	int n = vsnprintf(r->args, sizeof(r->args), format, ap);

	ck_assert_msg(n > 0 && (size_t)n < sizeof(r->args), "arguments too long");
	r->rc = prog_run_split(r->args, &r->out, &r->err);
	jl_split(&r->l, r->out, json, r->args);
}

/* Runs tcpdemux with printf-formatted arguments (shell words); stdout lines are JSON. */
static inline void __attribute__((format(printf, 2, 3))) run_json(struct run *r, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	run_v(r, 1, format, ap);
	va_end(ap);
}

/* The same for a run whose output is not parsed. */
static inline void __attribute__((format(printf, 2, 3))) run_plain(struct run *r, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	run_v(r, 0, format, ap);
	va_end(ap);
}

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	jl_free(&r->l);
}

/* Asserts a clean exit: status 0 and nothing on stderr. */
static inline void run_ok(const struct run *r)
{
	ck_assert_msg(r->rc == 0, "tcpdemux %s exited %d; stderr: %s", r->args, r->rc, r->err);
	ck_assert_msg(r->err[0] == '\0', "tcpdemux %s wrote to stderr: %s", r->args, r->err);
	ck_assert_msg(r->l.n > 0, "tcpdemux %s wrote nothing", r->args);
}

/* Asserts exit status 2 and exactly one stderr line that contains each of the strings. */
static inline void run_refused(const struct run *r, const char *must1, const char *must2)
{
	size_t n = strlen(r->err);

	ck_assert_msg(r->rc == 2, "tcpdemux %s exited %d, not 2; stderr: %s", r->args, r->rc, r->err);
	ck_assert_msg(n > 0 && r->err[n - 1] == '\n' && strchr(r->err, '\n') == r->err + n - 1,
		      "tcpdemux %s: stderr is not exactly one line: [%s]", r->args, r->err);
	ck_assert_msg(!must1 || strstr(r->err, must1), "tcpdemux %s: stderr does not name '%s': %s",
		      r->args, must1, r->err);
	ck_assert_msg(!must2 || strstr(r->err, must2), "tcpdemux %s: stderr does not say '%s': %s",
		      r->args, must2, r->err);
}

/*
 * Whether every line of err is a warning naming file ("tcpdemux: FILE:
 * warning: ..."): what a replay that exits 0 may print on stderr (one
 * direction only, timestamps going back). An empty err qualifies.
 */
static inline int only_warnings(const char *err, const char *file)
{
	const char *p = err;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *w = strstr(p, ": warning: "), *f = strstr(p, file);

		if (!w || w >= p + len || !f || f >= p + len)
			return 0;
		p += len + (e != NULL);
	}
	return 1;
}

/* The summary: the last line, the only one of its type. */
static inline const struct jobj *run_summary(const struct run *r)
{
	int i;

	ck_assert_msg(r->l.obj && r->l.n > 0, "tcpdemux %s: no JSON output", r->args);
	for (i = 0; i < r->l.n - 1; i++)
		ck_assert_msg(!j_is(&r->l.obj[i], "type", "summary"),
			      "tcpdemux %s: a summary at line %d, before the last line", r->args, i + 1);
	ck_assert_msg(j_is(&r->l.obj[r->l.n - 1], "type", "summary"),
		      "tcpdemux %s: the last line is not the summary: %s", r->args, r->l.line[r->l.n - 1]);
	return &r->l.obj[r->l.n - 1];
}

/* The summary's "replay" object. */
static inline void run_replay_stats(const struct run *r, struct jobj *rs)
{
	j_sub(run_summary(r), "replay", rs, r->args);
}

/* The summary's counter name (every counter is there: a missing one fails the test). */
static inline long long run_counter(const struct run *r, const char *name)
{
	struct jobj cnt;

	j_sub(run_summary(r), "counters", &cnt, r->args);
	return j_int(&cnt, name, r->args);
}

/* The number the summary's "replay" object holds under key. */
static inline long long run_replay_num(const struct run *r, const char *key)
{
	struct jobj rs;

	run_replay_stats(r, &rs);
	return j_int(&rs, key, r->args);
}

static inline int is_seg(const struct jobj *o, const char *dir)
{
	return j_is(o, "type", "segment") && j_is(o, "dir", dir);
}

/* Number of "inferred" lines with this what and subject. */
static inline int count_inferred(const struct run *r, const char *what, const char *subject)
{
	int i, n = 0;

	for (i = 0; i < r->l.n; i++)
		if (j_is(&r->l.obj[i], "type", "inferred") && j_is(&r->l.obj[i], "what", what) &&
		    (!subject || j_is(&r->l.obj[i], "subject", subject)))
			n++;
	return n;
}

/* The path of $TRACES/NAME.pcap (or name itself when it has a '/'); not quoted. */
static inline const char *trace_path(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/'))
		fmt(buf, len, "%s", name);
	else
		fmt(buf, len, "%s/%s.pcap", prog_traces(), name);
	return buf;
}

/* s as one shell word. */
static inline const char *q(const char *s, char *buf, size_t len)
{
	return prog_quote(s, buf, len);
}


/* ---- captures, written with libpcap ------------------------------------------------ */

struct pkt {
	long sec, usec; /* read at microsecond precision */
	uint32_t len;   /* on the wire */
	uint32_t caplen;
	uint8_t *data;
};

struct pkts {
	int n;
	int dlt;
	struct pkt p[CAP_MAX];
};

static inline struct pkts *pkts_read(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pkts *l = calloc(1, sizeof(*l));
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	int r;

	ck_assert_msg(l != NULL, "out of memory");
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
	ck_assert_msg(p != NULL, "pcap_open_offline(%s): %s", path, err);
	l->dlt = pcap_datalink(p);
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		struct pkt *k;

		ck_assert_msg(l->n < CAP_MAX, "%s has more than %d frames", path, CAP_MAX);
		k = &l->p[l->n++];
		k->sec = (long)h->ts.tv_sec;
		k->usec = (long)h->ts.tv_usec;
		k->len = h->len;
		k->caplen = h->caplen;
		k->data = malloc(h->caplen ? h->caplen : 1);
		ck_assert_msg(k->data != NULL, "out of memory");
		memcpy(k->data, d, h->caplen);
	}
	ck_assert_msg(r == PCAP_ERROR_BREAK, "reading %s: %s", path, pcap_geterr(p));
	pcap_close(p);
	return l;
}

static inline void pkts_free(struct pkts *l)
{
	int i;

	for (i = 0; l && i < l->n; i++)
		free(l->p[i].data);
	free(l);
}

/* Writes l as a pcap of link type dlt (micro- or nanosecond timestamps). */
static inline void pcap_write(const char *path, int dlt, int nano, const struct pkts *l)
{
	pcap_t *p = pcap_open_dead_with_tstamp_precision(
		dlt, 65535, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *d;
	int i;

	ck_assert_msg(p != NULL, "pcap_open_dead(%d) failed", dlt);
	d = pcap_dump_open(p, path);
	ck_assert_msg(d != NULL, "pcap_dump_open(%s): %s", path, pcap_geterr(p));
	for (i = 0; i < l->n; i++) {
		struct pcap_pkthdr h;

		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)l->p[i].sec;
		h.ts.tv_usec = (suseconds_t)(nano ? l->p[i].usec * 1000 : l->p[i].usec);
		h.caplen = l->p[i].caplen;
		h.len = l->p[i].len;
		pcap_dump((u_char *)d, &h, l->p[i].data);
	}
	ck_assert_msg(pcap_dump_flush(d) == 0, "writing %s failed", path);
	pcap_dump_close(d);
	pcap_close(p);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline void fwrite_all(FILE *f, const void *b, size_t n, const char *path)
{
	ck_assert_msg(fwrite(b, 1, n, f) == n, "writing %s failed", path);
}

/*
 * Writes l as pcapng by hand (libpcap cannot write it): a section header,
 * one interface (link type l->dlt; with nano, if_tsresol 9, else the
 * default microseconds) and an enhanced packet block per frame.
 */
static inline void pkts_write_pcapng(const char *path, int nano, const struct pkts *l)
{
	FILE *f = fopen(path, "wb");
	uint8_t b[64];
	int i;

	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	/* Section header block: type, length, byte-order magic, version 1.0, section length -1. */
	put_le32(b, 0x0a0d0d0a);
	put_le32(b + 4, 28);
	put_le32(b + 8, 0x1a2b3c4d);
	put_le16(b + 12, 1);
	put_le16(b + 14, 0);
	memset(b + 16, 0xff, 8);
	put_le32(b + 24, 28);
	fwrite_all(f, b, 28, path);
	/* Interface description block: link type, snap length, [if_tsresol = 9, end of options]. */
	put_le32(b, 1);
	put_le32(b + 4, nano ? 32 : 20);
	put_le16(b + 8, (uint16_t)l->dlt);
	put_le16(b + 10, 0);
	put_le32(b + 12, 65535);
	if (nano) {
		put_le16(b + 16, 9); /* if_tsresol */
		put_le16(b + 18, 1);
		b[20] = 9;
		b[21] = b[22] = b[23] = 0;
		put_le32(b + 24, 0); /* opt_endofopt */
		put_le32(b + 28, 32);
	} else {
		put_le32(b + 16, 20);
	}
	fwrite_all(f, b, nano ? 32 : 20, path);
	for (i = 0; i < l->n; i++) {
		const struct pkt *k = &l->p[i];
		uint64_t ts = nano ? (uint64_t)k->sec * 1000000000u + (uint64_t)k->usec * 1000u
				   : (uint64_t)k->sec * 1000000u + (uint64_t)k->usec;
		uint32_t padded = (k->caplen + 3u) & ~3u, total = 32 + padded;
		static const uint8_t zeros[4];

		put_le32(b, 6);
		put_le32(b + 4, total);
		put_le32(b + 8, 0); /* interface 0 */
		put_le32(b + 12, (uint32_t)(ts >> 32));
		put_le32(b + 16, (uint32_t)ts);
		put_le32(b + 20, k->caplen);
		put_le32(b + 24, k->len);
		fwrite_all(f, b, 28, path);
		fwrite_all(f, k->data, k->caplen, path);
		fwrite_all(f, zeros, padded - k->caplen, path);
		put_le32(b, total);
		fwrite_all(f, b, 4, path);
	}
	ck_assert_msg(fclose(f) == 0, "writing %s failed", path);
}

/* Writes a file holding exactly len bytes of data. */
static inline void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	if (len)
		fwrite_all(f, data, len, path);
	ck_assert_msg(fclose(f) == 0, "writing %s failed", path);
}

/* ---- the temporary directory (one per TCase, made and removed in the parent) ---- */

static char tmpdir[PATH_MAX] __attribute__((unused));

static inline void tmp_setup(void)
{
	fmt(tmpdir, sizeof(tmpdir), "%s/tcpdemux-check-XXXXXX", prog_env("TMPDIR", "/tmp"));
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp(%s): %s", tmpdir, strerror(errno));
}

static inline void tmp_teardown(void)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX + 256];

	if (!tmpdir[0])
		return;
	d = opendir(tmpdir);
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		fmt(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p); /* the test's directory */
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

/* tmpdir/name */
static inline const char *tmp_file(const char *name, char *buf, size_t len)
{
	ck_assert_msg(tmpdir[0] != '\0', "no temporary directory");
	fmt(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

/* ---- comparing two runs --------------------------------------------------------------- */

/*
 * got must write the same lines as want: every line but the summary byte
 * for byte, the summary field by field except the paths in ignore.
 */
static inline void same_run(const struct run *got, const struct run *want, const char *const *ignore)
{
	int i;

	for (i = 0; i < got->l.n && i < want->l.n; i++) {
		if (j_is(&want->l.obj[i], "type", "summary")) {
			ck_assert_msg(j_is(&got->l.obj[i], "type", "summary"),
				      "tcpdemux %s: line %d is not the summary, as in tcpdemux %s:\n got: %s",
				      got->args, i + 1, want->args, got->l.line[i]);
			j_compare(got->args, i + 1, "summary", "", &got->l.obj[i], &want->l.obj[i], ignore);
			continue;
		}
		ck_assert_msg(strcmp(got->l.line[i], want->l.line[i]) == 0,
			      "tcpdemux %s: line %d differs from tcpdemux %s:\n got: %s\nwant: %s", got->args,
			      i + 1, want->args, got->l.line[i], want->l.line[i]);
	}
	ck_assert_msg(got->l.n == want->l.n, "tcpdemux %s wrote %d lines, tcpdemux %s wrote %d", got->args,
		      got->l.n, want->args, want->l.n);
}

/* "addr:port", with brackets for IPv6. */
static inline const char *ep(const char *addr, unsigned port, char *buf, size_t len)
{
	fmt(buf, len, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
	return buf;
}


/* ---- link types -------------------------------------------------------------------------- */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* The server's MAC in the traces (traces/README.md): its frames are outgoing. */
static const uint8_t server_mac[6] __attribute__((unused)) = { 0x02, 0, 0, 0, 0, 0x01 };

enum wrap { W_ETH, W_VLAN, W_QINQ, W_SLL, W_SLL2, W_NONE, W_NULL, W_NULL_BE, W_LOOP, W_PPP };


/* The Ethernet frames of eth with their IP packets wrapped in another link layer. */
static inline struct pkts *rewrap(const struct pkts *eth, enum wrap w, int dlt, uint32_t family)
{
	struct pkts *l = calloc(1, sizeof(*l));
	int i;

	ck_assert_msg(l != NULL, "out of memory");
	ck_assert_msg(eth->dlt == DLT_EN10MB, "the source capture is not Ethernet (link type %d)", eth->dlt);
	l->dlt = dlt;
	for (i = 0; i < eth->n; i++) {
		const struct pkt *k = &eth->p[i];
		struct pkt *o = &l->p[l->n++];
		uint8_t h[32];
		size_t hl = 0, iplen;
		uint16_t type;
		int out;

		ck_assert_msg(k->caplen >= 14, "frame %d is shorter than an Ethernet header", i + 1);
		type = (uint16_t)(k->data[12] << 8 | k->data[13]);
		ck_assert_msg(type == 0x0800 || type == 0x86dd, "frame %d is not IP (type 0x%04x)", i + 1, type);
		out = memcmp(k->data + 6, server_mac, 6) == 0;
		iplen = k->caplen - 14;
		switch (w) {
		case W_ETH:
			memcpy(h, k->data, 14);
			hl = 14;
			break;
		case W_VLAN: /* one 802.1Q tag, VLAN 100 */
			memcpy(h, k->data, 12);
			put_be16(h + 12, 0x8100);
			put_be16(h + 14, 100);
			put_be16(h + 16, type);
			hl = 18;
			break;
		case W_QINQ: /* 802.1ad outer tag (S-VLAN 200), 802.1Q inner tag (C-VLAN 100) */
			memcpy(h, k->data, 12);
			put_be16(h + 12, 0x88a8);
			put_be16(h + 14, 200);
			put_be16(h + 16, 0x8100);
			put_be16(h + 18, 100);
			put_be16(h + 20, type);
			hl = 22;
			break;
		case W_SLL: /* packet type, ARPHRD_ETHER, address length, address (8), protocol */
			put_be16(h, out ? 4 : 0);
			put_be16(h + 2, 1);
			put_be16(h + 4, 6);
			memcpy(h + 6, k->data + 6, 6);
			h[12] = h[13] = 0;
			put_be16(h + 14, type);
			hl = 16;
			break;
		case W_SLL2: /* protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address (8) */
			put_be16(h, type);
			put_be16(h + 2, 0);
			put_be32(h + 4, 2);
			put_be16(h + 8, 1);
			h[10] = out ? 4 : 0;
			h[11] = 6;
			memcpy(h + 12, k->data + 6, 6);
			h[18] = h[19] = 0;
			hl = 20;
			break;
		case W_NONE:
			break;
		case W_NULL: /* the family in the capturing host's byte order */
			memcpy(h, &family, 4);
			hl = 4;
			break;
		case W_NULL_BE: /* ... as a big-endian host writes it */
		case W_LOOP:    /* always big-endian */
			put_be32(h, family);
			hl = 4;
			break;
		case W_PPP: /* address, control, protocol (IPv4 0x0021, IPv6 0x0057) */
			h[0] = 0xff;
			h[1] = 0x03;
			put_be16(h + 2, type == 0x0800 ? 0x0021 : 0x0057);
			hl = 4;
			break;
		}
		o->sec = k->sec;
		o->usec = k->usec;
		o->caplen = (uint32_t)(hl + iplen);
		o->len = k->len - 14 + (uint32_t)hl;
		o->data = malloc(o->caplen);
		ck_assert_msg(o->data != NULL, "out of memory");
		memcpy(o->data, h, hl);
		memcpy(o->data + hl, k->data + 14, iplen);
	}
	return l;
}

#endif
