/*
 * render_json.c - the JSON Lines interface (docs/json.md).
 *
 * Path: records (record.h) -> json_record() -> one line per segment,
 *       accept, timer, call, inference, comparison, asked-for snapshot and
 *       summary.
 *
 * One object per line, each with a "type". This is a stable interface:
 * fields are added, never renamed or removed, so scripts written against
 * one version keep working.
 *
 * A replay writes a line per segment, so formatting is on the hot path:
 * with fprintf it cost more than the replay itself. Each line is built by
 * hand in the renderer's buffer (the jb_ helpers) and handed to the stream
 * with one fwrite when the call that made it returns, so nothing is held
 * back from other writers of the same stream between calls.
 */
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "render.h"

/*
 * Large enough for any line but a table, a summary or one with long
 * strings; those flush part-way, which the stream cannot tell apart.
 * Must be at least the largest jb_room() request (20 digits of a uint64_t).
 */
#define JB_SIZE 4096

/* One IPv4 address's text, remembered (see jb_addr_text). */
struct jb_v4text {
	uint8_t a[4];
	uint8_t len;   /* 0: empty */
	char text[15];
};

struct json_renderer {
	struct renderer r;
	FILE *out;   /* where the lines go (not owned) */
	int embedded; /* inside an HTML page: '<' escaped in strings, and "sock" lines (render_json_embedded_new) */
	int first;   /* first element of the array being written */
	struct jb_v4text v4[2]; /* the last two IPv4 addresses written, most recent first */
	char *p;     /* next free byte of line[]; == line between calls */
	char line[JB_SIZE];
};

/* Hands what is built to the stream. Write errors stay on the stream (ferror), as with fprintf. */
static void jb_flush(struct json_renderer *j)
{
	if (j->p > j->line)
		fwrite(j->line, 1, (size_t)(j->p - j->line), j->out);
	j->p = j->line;
}

/*
 * Makes n (<= JB_SIZE) contiguous bytes free at j->p, flushing if need be.
 * This and jb_mem are inline so that each constant key becomes a compare
 * and a few stores: out of line, every key was a call to memcpy and the
 * standard capture's JSON replay took 1.15 s instead of 0.58 s.
 */
static inline void jb_room(struct json_renderer *j, size_t n)
{
	if ((size_t)(j->line + JB_SIZE - j->p) < n)
		jb_flush(j);
}

/* Appends n bytes verbatim, of any length: what does not fit goes to the stream directly. */
static inline void jb_mem(struct json_renderer *j, const void *s, size_t n)
{
	if ((size_t)(j->line + JB_SIZE - j->p) < n) {
		jb_flush(j);
		if (n > JB_SIZE) {
			fwrite(s, 1, n, j->out);
			return;
		}
	}
	memcpy(j->p, s, n);
	j->p += n;
}

/* Appends a string literal verbatim; the "" makes anything but a literal a compile error. */
#define jb_lit(j, s) jb_mem((j), "" s, sizeof(s) - 1)

/*
 * Appends the C string s verbatim, unquoted and unescaped: for the fixed
 * names (states, actions, counters, ...) the format has always written
 * bare, and for text that cannot hold anything to escape.
 */
static void jb_cstr(struct json_renderer *j, const char *s)
{
	jb_mem(j, s, strlen(s));
}

/* Appends one byte. */
static inline void jb_char(struct json_renderer *j, char c)
{
	jb_room(j, 1);
	*j->p++ = c;
}

/* "00" to "99": two digits per division halves the divisions of jb_u64 and jb_addr_text. */
static const char jb_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Appends v in decimal, as printf's %llu. */
static void jb_u64(struct json_renderer *j, uint64_t v)
{
	/*
	 * The digits end at tmp + 20 and are copied as a fixed 20 bytes from
	 * the first (inlined, unlike a copy of variable length); what follows
	 * them in line[] is overwritten by the next append.
	 */
	char tmp[40];
	char *d = tmp + 20;
	uint32_t w;

	/* Nearly every value fits 32 bits, whose divisions are cheaper. */
	while (v > UINT32_MAX) {
		d -= 2;
		memcpy(d, jb_pairs + v % 100 * 2, 2);
		v /= 100;
	}
	for (w = (uint32_t)v; w >= 100; w /= 100) {
		d -= 2;
		memcpy(d, jb_pairs + w % 100 * 2, 2);
	}
	if (w >= 10) {
		d -= 2;
		memcpy(d, jb_pairs + w * 2, 2);
	} else {
		*--d = (char)('0' + w);
	}
	jb_room(j, 20);
	memcpy(j->p, d, 20);
	j->p += tmp + 20 - d;
}

/*
 * As printf's %u: a narrower signed argument would wrap at 32 bits there,
 * so the conversion to unsigned int is part of the contract.
 */
static void jb_uint(struct json_renderer *j, unsigned int v)
{
	jb_u64(j, v);
}

/* Appends v in decimal, as printf's %lld (and so %d and %ld). */
static void jb_i64(struct json_renderer *j, int64_t v)
{
	if (v < 0) {
		jb_char(j, '-');
		/* Negated as unsigned, so INT64_MIN does not overflow. */
		jb_u64(j, -(uint64_t)v);
	} else {
		jb_u64(j, (uint64_t)v);
	}
}

/* Appends "true" or "false". */
static void jb_bool(struct json_renderer *j, int b)
{
	if (b)
		jb_lit(j, "true");
	else
		jb_lit(j, "false");
}

/*
 * Appends t as render_time() writes it ("%llu.%06llu": whole seconds, then
 * microseconds, truncated); vtime_t is unsigned, so there is no sign.
 */
static void jb_time(struct json_renderer *j, vtime_t t)
{
	unsigned int us = (unsigned int)(t % VT_SEC / VT_USEC);
	int i;

	jb_u64(j, t / VT_SEC);
	jb_room(j, 7);
	*j->p++ = '.';
	for (i = 6; i > 0; i--) {
		j->p[i - 1] = (char)('0' + us % 10);
		us /= 10;
	}
	j->p += 6;
}

/*
 * Appends s as a JSON string: '"' and '\' backslash-escaped, bytes below
 * 0x20 as \u00xx (lower-case hex), all other bytes (DEL, non-ASCII) as
 * they are. Runs between escapes are copied whole.
 */
static void jb_jstr(struct json_renderer *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *run = (const unsigned char *)s, *c;

	jb_char(j, '"');
	for (c = run; *c; c++) {
		if (*c >= 0x20 && *c != '"' && *c != '\\' && (*c != '<' || !j->embedded))
			continue;
		jb_mem(j, run, (size_t)(c - run));
		jb_room(j, 6);
		*j->p++ = '\\';
		if (*c < 0x20 || *c == '<') {
			memcpy(j->p, "u00", 3);
			j->p[3] = hex[*c >> 4];
			j->p[4] = hex[*c & 0xf];
			j->p += 5;
		} else {
			*j->p++ = (char)*c;
		}
		run = c + 1;
	}
	jb_mem(j, run, (size_t)(c - run));
	jb_char(j, '"');
}

/*
 * Appends a's text, unquoted, exactly as addr_format() gives it: anything
 * not ADDR_V6 is taken as IPv4, which inet_ntop writes as four plain
 * decimals, so that case (nearly every line) is done here by hand.
 */
static void jb_addr_text(struct json_renderer *j, const struct ip_addr *a)
{
	char buf[ADDR_STRLEN], *start;
	struct jb_v4text *e;
	int i;

	if (a->family == ADDR_V6) {
		jb_cstr(j, addr_format(a, buf, sizeof(buf)));
		return;
	}
	/*
	 * A segment line names the same two hosts as the line before it
	 * (the connection's, in one order or the other), so the last two
	 * texts are kept and copied instead of formatted again.
	 */
	for (i = 0; i < 2; i++) {
		e = &j->v4[i];
		if (e->len && memcmp(e->a, a->a, 4) == 0) {
			jb_mem(j, e->text, e->len);
			if (i) {
				struct jb_v4text t = j->v4[1];

				j->v4[1] = j->v4[0];
				j->v4[0] = t;
			}
			return;
		}
	}
	jb_room(j, 15);
	start = j->p;
	for (i = 0; i < 4; i++) {
		unsigned int b = a->a[i];

		if (i)
			*j->p++ = '.';
		if (b >= 100) {
			*j->p++ = (char)('0' + b / 100);
			b %= 100;
			memcpy(j->p, jb_pairs + b * 2, 2);
			j->p += 2;
		} else if (b >= 10) {
			memcpy(j->p, jb_pairs + b * 2, 2);
			j->p += 2;
		} else {
			*j->p++ = (char)('0' + b);
		}
	}
	j->v4[1] = j->v4[0];
	e = &j->v4[0];
	memcpy(e->a, a->a, 4);
	e->len = (uint8_t)(j->p - start);
	memcpy(e->text, start, e->len);
}

/*
 * Appends a as a JSON string. Address text (digits, hex, ':', '.', or "?")
 * never needs escaping, so it is quoted without a pass through jb_jstr.
 */
static void jb_addr(struct json_renderer *j, const struct ip_addr *a)
{
	jb_char(j, '"');
	jb_addr_text(j, a);
	jb_char(j, '"');
}

/* Appends "addr:port" or "[v6addr]:port" as endpoint_format() writes it, quoted. */
static void jb_endpoint(struct json_renderer *j, const struct ip_addr *a, uint16_t port)
{
	int v6 = a->family == ADDR_V6;

	jb_char(j, '"');
	if (v6)
		jb_char(j, '[');
	jb_addr_text(j, a);
	if (v6)
		jb_lit(j, "]:");
	else
		jb_char(j, ':');
	jb_uint(j, port);
	jb_char(j, '"');
}

/* Appends the "flags":"SA",...,"win":N fields every segment object shares. */
static void json_seg_fields(struct json_renderer *j, const struct segment *s)
{
	char flags[9];

	jb_lit(j, ",\"flags\":\"");
	jb_cstr(j, seg_flags_str(s->flags, flags));
	jb_lit(j, "\",\"seq\":");
	jb_uint(j, s->seq);
	jb_lit(j, ",\"ack\":");
	jb_uint(j, s->ack);
	jb_lit(j, ",\"len\":");
	jb_uint(j, s->len);
	jb_lit(j, ",\"win\":");
	jb_uint(j, s->win);
	if (s->cut) {
		char cut[24];

		/* Only a capture's snap length cuts a segment: absent otherwise. */
		jb_lit(j, ",\"cut\":\"");
		jb_cstr(j, seg_cut_str(s->cut, cut));
		jb_char(j, '"');
	}
}

/* Appends a "segment" line; the lookup and what followed only for "in". */
static void json_segment(struct json_renderer *j, const struct event *ev)
{
	const struct segment *s = ev->seg;

	jb_lit(j, "{\"type\":\"segment\",\"n\":");
	if (ev->frame >= 0 && ev->type == EV_SEGMENT_IN)
		jb_i64(j, ev->frame);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"t\":");
	jb_time(j, ev->t);
	if (ev->type == EV_SEGMENT_IN)
		jb_lit(j, ",\"dir\":\"in\",\"src\":");
	else
		jb_lit(j, ",\"dir\":\"out\",\"src\":");
	jb_addr(j, &s->src);
	jb_lit(j, ",\"sport\":");
	jb_uint(j, s->sport);
	jb_lit(j, ",\"dst\":");
	jb_addr(j, &s->dst);
	jb_lit(j, ",\"dport\":");
	jb_uint(j, s->dport);
	json_seg_fields(j, s);
	if (ev->type != EV_SEGMENT_IN) {
		jb_lit(j, "}\n");
		return;
	}
	jb_lit(j, ",\"lookup\":{\"hash\":");
	jb_uint(j, ev->lookup.hash);
	jb_lit(j, ",\"bucket\":");
	jb_uint(j, ev->lookup.bucket);
	jb_lit(j, ",\"walked\":");
	jb_uint(j, ev->lookup.walked);
	jb_lit(j, ",\"result\":\"");
	jb_cstr(j, lookup_result_name(ev->lookup.result));
	jb_char(j, '"');
	if (ev->has_listener) {
		jb_lit(j, ",\"wildcard\":");
		jb_bool(j, ev->lookup.wildcard);
	}
	if (ev->lookup.reuseport) {
		jb_lit(j, ",\"reuseport_group\":");
		jb_uint(j, ev->lookup.group);
	}
	jb_lit(j, "},\"listener\":");
	if (ev->has_listener)
		jb_endpoint(j, &ev->listener.addr, ev->listener.port);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"sock\":");
	if (ev->has_sock) {
		jb_uint(j, ev->sock.id);
		jb_lit(j, ",\"state\":\"");
		jb_cstr(j, tcp_state_name(ev->sock.state));
		jb_char(j, '"');
	} else {
		jb_lit(j, "null,\"state\":null");
	}
	jb_lit(j, ",\"action\":\"");
	jb_cstr(j, seg_action_name(ev->action));
	jb_lit(j, "\",\"reason\":");
	if (ev->reason >= 0)
		jb_jstr(j, counter_name(ev->reason));
	else
		jb_lit(j, "null");
	if (ev->has_listener) {
		jb_lit(j, ",\"queues\":{\"syn\":");
		jb_uint(j, ev->listener.syn_queue);
		jb_lit(j, ",\"accept\":");
		jb_uint(j, ev->listener.accept_queue);
		jb_lit(j, ",\"backlog\":");
		jb_i64(j, ev->listener.backlog);
		jb_char(j, '}');
	}
	if (ev->cookie) {
		jb_lit(j, ",\"cookie\":{\"mss\":");
		jb_uint(j, ev->cookie_mss);
		jb_char(j, '}');
	}
	if (ev->action == ACT_TW_RECYCLE)
		jb_lit(j, ",\"isn\":\"timewait\"");
	else if (ev->action == ACT_SYN_ACK && ev->isn_adopted)
		jb_lit(j, ",\"isn\":\"recorded\"");
	else if (ev->action == ACT_SYN_ACK)
		jb_lit(j, ",\"isn\":\"own\"");
	jb_lit(j, "}\n");
}

/* REC_EVENT: one line per segment, accept or timer; other events write nothing. */
/*
 * A "sock" line (only inside an HTML page, docs/json.md): a socket changed
 * state or was freed, for a reason the segment lines may not show (the
 * application's close(), a timer).
 */
static void json_sock(struct json_renderer *j, const struct event *ev)
{
	jb_lit(j, "{\"type\":\"sock\",\"t\":");
	jb_time(j, ev->t);
	jb_lit(j, ",\"id\":");
	jb_uint(j, ev->sock.id);
	if (ev->type == EV_SOCK_FREE)
		jb_lit(j, ",\"event\":\"free\",\"state\":\"");
	else
		jb_lit(j, ",\"event\":\"state\",\"state\":\"");
	jb_cstr(j, tcp_state_name(ev->sock.state));
	jb_lit(j, "\",\"old\":\"");
	jb_cstr(j, tcp_state_name(ev->old_state));
	jb_lit(j, "\",\"local\":");
	jb_endpoint(j, &ev->sock.laddr, ev->sock.lport);
	jb_lit(j, ",\"remote\":");
	jb_endpoint(j, &ev->sock.raddr, ev->sock.rport);
	jb_lit(j, ",\"bucket\":");
	jb_uint(j, ev->sock.bucket);
	jb_lit(j, ",\"fd\":");
	if (ev->sock.fd >= 0)
		jb_i64(j, ev->sock.fd);
	else
		jb_lit(j, "null");
	jb_lit(j, "}\n");
}

static void json_event(struct json_renderer *j, const struct event *ev)
{
	switch (ev->type) {
	case EV_SEGMENT_IN:
	case EV_SEGMENT_OUT:
		json_segment(j, ev);
		break;
	case EV_ACCEPT:
		jb_lit(j, "{\"type\":\"accept\",\"t\":");
		jb_time(j, ev->t);
		jb_lit(j, ",\"listener\":");
		jb_endpoint(j, &ev->listener.addr, ev->listener.port);
		jb_lit(j, ",\"sock\":");
		jb_i64(j, ev->sock.fd);
		jb_lit(j, ",\"id\":");
		jb_uint(j, ev->sock.id);
		jb_lit(j, ",\"local\":");
		jb_endpoint(j, &ev->sock.laddr, ev->sock.lport);
		jb_lit(j, ",\"remote\":");
		jb_endpoint(j, &ev->sock.raddr, ev->sock.rport);
		jb_lit(j, ",\"state\":\"");
		jb_cstr(j, tcp_state_name(ev->sock.state));
		jb_lit(j, "\",\"queue_after\":");
		jb_uint(j, ev->listener.accept_queue);
		jb_lit(j, "}\n");
		break;
	case EV_TIMER:
		jb_lit(j, "{\"type\":\"timer\",\"t\":");
		jb_time(j, ev->t);
		jb_lit(j, ",\"sock\":");
		jb_uint(j, ev->sock.id);
		jb_lit(j, ",\"state\":\"");
		jb_cstr(j, tcp_state_name(ev->sock.state));
		jb_lit(j, "\",\"action\":\"");
		jb_cstr(j, seg_action_name(ev->action));
		jb_lit(j, "\",\"retries\":");
		jb_uint(j, ev->retries);
		jb_lit(j, "}\n");
		break;
	case EV_SOCK_STATE:
	case EV_SOCK_FREE:
		/* Implied by segment lines and tables, except for a page that follows the tables by itself. */
		if (j->embedded)
			json_sock(j, ev);
		break;
	default:
		break;
	}
	jb_flush(j);
}

/* REC_CALL: a "call" line; a negative ret with a known errno is written as -1 and its name. */
static void json_call(struct json_renderer *j, vtime_t t, const struct rec_call *c)
{
	jb_lit(j, "{\"type\":\"call\",\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"who\":");
	jb_jstr(j, c->who);
	jb_lit(j, ",\"call\":");
	jb_jstr(j, c->call);
	if (c->ret < 0 && errno_name(c->ret)) {
		jb_lit(j, ",\"ret\":-1,\"errno\":");
		jb_jstr(j, errno_name(c->ret));
	} else {
		jb_lit(j, ",\"ret\":");
		jb_i64(j, c->ret);
		jb_lit(j, ",\"errno\":null");
	}
	jb_lit(j, ",\"detail\":");
	if (c->detail)
		jb_jstr(j, c->detail);
	else
		jb_lit(j, "null");
	jb_lit(j, "}\n");
	jb_flush(j);
}

/* Appends a ,"name":count member; the name is written bare, as the format always has. */
static void jb_count(struct json_renderer *j, const char *name, uint64_t v)
{
	jb_lit(j, ",\"");
	jb_cstr(j, name);
	jb_lit(j, "\":");
	jb_u64(j, v);
}

/* Appends the comma that separates array elements, except before the first. */
static void jb_element(struct json_renderer *j)
{
	if (!j->first)
		jb_char(j, ',');
	j->first = 0;
}

/* Appends the members of one element of "listeners" (without its braces). */
static void json_listener_fields(struct json_renderer *j, const struct listener_view *l)
{
	jb_lit(j, "\"sock\":");
	jb_uint(j, l->id);
	jb_lit(j, ",\"fd\":");
	jb_i64(j, l->fd);
	jb_lit(j, ",\"addr\":");
	jb_addr(j, &l->addr);
	jb_lit(j, ",\"port\":");
	jb_uint(j, l->port);
	jb_lit(j, ",\"backlog\":");
	jb_i64(j, l->backlog);
	jb_lit(j, ",\"syn_queue\":");
	jb_uint(j, l->syn_queue);
	jb_lit(j, ",\"accept_queue\":");
	jb_uint(j, l->accept_queue);
	jb_lit(j, ",\"reuseport\":");
	jb_bool(j, l->reuseport);
}

/* Appends one element of "listeners". */
static void json_listener(struct json_renderer *j, const struct listener_view *l)
{
	jb_element(j);
	jb_char(j, '{');
	json_listener_fields(j, l);
	jb_char(j, '}');
}

/* A queue's peak in the summary: {"len":N,"t":T}, t null when it never held anything. */
static void json_peak(struct json_renderer *j, const char *name, uint32_t len, vtime_t t)
{
	jb_lit(j, ",\"");
	jb_cstr(j, name);
	jb_lit(j, "\":{\"len\":");
	jb_uint(j, len);
	jb_lit(j, ",\"t\":");
	if (len)
		jb_time(j, t);
	else
		jb_lit(j, "null");
	jb_char(j, '}');
}

/* The summary's "listeners": each open at the end, with what it saw. */
static void json_listener_ends(struct json_renderer *j, const struct rec_summary *sum)
{
	uint32_t i;
	int c, n;

	jb_lit(j, "\"listeners\":[");
	j->first = 1;
	for (i = 0; i < sum->nlisteners; i++) {
		const struct listener_stats *s = &sum->listeners[i].stats;

		jb_element(j);
		jb_char(j, '{');
		json_listener_fields(j, &sum->listeners[i].l);
		jb_count(j, "syns", s->syns);
		jb_count(j, "handshakes", s->handshakes);
		jb_lit(j, ",\"cookies\":{\"sent\":");
		jb_u64(j, s->cookies_sent);
		jb_count(j, "validated", s->cookies_ok);
		jb_lit(j, "},\"drops\":{");
		for (c = n = 0; c < CNT_COUNT; c++) {
			if (!s->drops[c])
				continue;
			if (n++)
				jb_char(j, ',');
			jb_char(j, '"');
			jb_cstr(j, counter_name(c));
			jb_lit(j, "\":");
			jb_u64(j, s->drops[c]);
		}
		jb_char(j, '}');
		json_peak(j, "peak_syn_queue", s->peak_syn, s->peak_syn_t);
		json_peak(j, "peak_accept_queue", s->peak_accept, s->peak_accept_t);
		jb_char(j, '}');
	}
	jb_lit(j, "],");
}

/* Appends one element of "ehash". */
static void json_ehash(struct json_renderer *j, const struct sock_view *s)
{
	jb_element(j);
	jb_lit(j, "{\"bucket\":");
	jb_uint(j, s->bucket);
	jb_lit(j, ",\"sock\":");
	jb_uint(j, s->id);
	jb_lit(j, ",\"state\":\"");
	jb_cstr(j, tcp_state_name(s->state));
	jb_lit(j, "\",\"local\":");
	jb_endpoint(j, &s->laddr, s->lport);
	jb_lit(j, ",\"remote\":");
	jb_endpoint(j, &s->raddr, s->rport);
	jb_lit(j, ",\"fd\":");
	if (s->fd >= 0)
		jb_i64(j, s->fd);
	else
		jb_lit(j, "null");
	jb_count(j, "recv_q", s->recv_q);
	jb_count(j, "send_q", s->send_q);
	jb_char(j, '}');
}

/* REC_TABLES the run shows: a "tables" line with every listener and ehash entry. */
static void json_tables(struct json_renderer *j, vtime_t t, const struct rec_tables *tb)
{
	uint32_t i;

	if (!tb->asked)
		return;
	jb_lit(j, "{\"type\":\"tables\",\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"buckets\":");
	jb_uint(j, tb->buckets);
	jb_lit(j, ",\"listeners\":[");
	j->first = 1;
	for (i = 0; i < tb->nlisteners; i++)
		json_listener(j, &tb->listeners[i].l);
	jb_lit(j, "],\"ehash\":[");
	j->first = 1;
	for (i = 0; i < tb->nehash; i++)
		json_ehash(j, &tb->ehash[i]);
	jb_lit(j, "]}\n");
	jb_flush(j);
}

/* REC_INFERRED: an "inferred" line; all three texts escaped. */
static void json_inferred(struct json_renderer *j, vtime_t t, const struct rec_inferred *in)
{
	jb_lit(j, "{\"type\":\"inferred\",\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"what\":");
	jb_jstr(j, in->what);
	jb_lit(j, ",\"subject\":");
	jb_jstr(j, in->subject);
	jb_lit(j, ",\"why\":");
	jb_jstr(j, in->why);
	jb_lit(j, "}\n");
	jb_flush(j);
}

/*
 * Inside a page only (docs/json.md): the run's start, with a demo's words
 * of what to watch for, and each line of narration, which the JSON output
 * leaves to the text trace.
 */
static void json_begin(struct json_renderer *j, const struct rec_begin *b)
{
	static const char *const kinds[] = { "", "demo", "replay", "script", "synth", "live" };

	jb_lit(j, "{\"type\":\"begin\",\"kind\":\"");
	jb_cstr(j, b->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[b->kind] : "run");
	jb_lit(j, "\",\"name\":");
	if (b->name)
		jb_jstr(j, b->name);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"summary\":");
	if (b->summary)
		jb_jstr(j, b->summary);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"intro\":");
	if (b->intro)
		jb_jstr(j, b->intro);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"hash_seed\":");
	jb_uint(j, b->hash_seed);
	jb_lit(j, "}\n");
	jb_flush(j);
}

static void json_say(struct json_renderer *j, const char *text)
{
	jb_lit(j, "{\"type\":\"say\",\"text\":");
	jb_jstr(j, text);
	jb_lit(j, "}\n");
	jb_flush(j);
}

/* Appends one side of a --verify comparison: the segment object, or null when that side sent none. */
static void json_vseg(struct json_renderer *j, const struct segment *s, vtime_t t)
{
	if (!s) {
		jb_lit(j, "null");
		return;
	}
	jb_lit(j, "{\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"src\":");
	jb_endpoint(j, &s->src, s->sport);
	jb_lit(j, ",\"dst\":");
	jb_endpoint(j, &s->dst, s->dport);
	json_seg_fields(j, s);
	jb_char(j, '}');
}

/* A verify object (no newline); result, class and field names are fixed identifiers, written bare. */
static void json_verify_obj(struct json_renderer *j, vtime_t t, const struct rec_verify *rep)
{
	int i;

	jb_lit(j, "{\"type\":\"verify\",\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"result\":\"");
	jb_cstr(j, rep->result);
	jb_lit(j, "\",\"class\":\"");
	jb_cstr(j, rep->cls);
	jb_lit(j, "\",\"kernel\":");
	json_vseg(j, rep->kernel, rep->kernel_t);
	jb_lit(j, ",\"ours\":");
	json_vseg(j, rep->ours, rep->ours_t);
	jb_lit(j, ",\"fields\":[");
	for (i = 0; i < rep->nfields; i++) {
		if (i)
			jb_char(j, ',');
		jb_char(j, '"');
		jb_cstr(j, rep->fields[i]);
		jb_char(j, '"');
	}
	jb_lit(j, "],\"bytes\":");
	jb_u64(j, rep->bytes);
	jb_lit(j, ",\"cause\":");
	if (rep->cause)
		jb_jstr(j, rep->cause);
	else
		jb_lit(j, "null");
	jb_char(j, '}');
}

/* REC_VERIFY: a "verify" line, a connection's first divergence. */
static void json_verify(struct json_renderer *j, vtime_t t, const struct rec_verify *rep)
{
	json_verify_obj(j, t, rep);
	jb_char(j, '\n');
	jb_flush(j);
}

/* REC_VERIFY_CONN: a "verify_connection" line, a diverged connection settled. */
static void json_verify_conn(struct json_renderer *j, vtime_t t, const struct rec_verify_conn *c)
{
	jb_lit(j, "{\"type\":\"verify_connection\",\"t\":");
	jb_time(j, t);
	jb_lit(j, ",\"local\":");
	jb_endpoint(j, c->local, c->lport);
	jb_lit(j, ",\"remote\":");
	jb_endpoint(j, c->remote, c->rport);
	jb_lit(j, ",\"first\":");
	json_verify_obj(j, c->first_t, c->first);
	jb_count(j, "followed", c->followed);
	jb_count(j, "compared", c->compared);
	jb_lit(j, ",\"cause\":");
	jb_jstr(j, c->cause);
	jb_lit(j, "}\n");
	jb_flush(j);
}

/* Appends an agreement ratio as printf's %.6f; once per summary, so printf itself does it. */
static void jb_ratio(struct json_renderer *j, double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.6f", v);
	jb_cstr(j, buf);
}

/* Appends the summary's "verify":{...}, member with the totals of each class. */
static void json_verify_totals(struct json_renderer *j, const struct rec_verify_totals *vs)
{
	int c, n;

	jb_lit(j, "\"verify\":{\"agreement\":");
	jb_ratio(j, vs->agreement);
	for (c = 0; c < vs->ncls; c++) {
		const struct rec_verify_class *k = &vs->cls[c];

		jb_lit(j, ",\"");
		jb_cstr(j, k->name);
		jb_lit(j, "\":{\"expected\":");
		jb_u64(j, k->expected);
		jb_count(j, "matched", k->matched);
		jb_count(j, "missing", k->missing);
		jb_count(j, "extra", k->extra);
		jb_count(j, "differs", k->differs);
		jb_count(j, "late", k->late);
		jb_lit(j, ",\"agreement\":");
		jb_ratio(j, k->agreement);
		jb_char(j, '}');
	}
	jb_count(j, "option_diffs", vs->option_diffs);
	jb_count(j, "uncounted", vs->uncounted);
	jb_lit(j, ",\"connections\":{\"compared\":");
	jb_u64(j, vs->connections);
	jb_count(j, "diverged", vs->diverged);
	jb_lit(j, "},\"causes\":[");
	for (c = 0, n = 0; c < vs->ncauses; c++) {
		if (!vs->cause_conns[c])
			continue;
		if (n++)
			jb_char(j, ',');
		jb_lit(j, "{\"cause\":");
		jb_jstr(j, vs->cause_names[c]);
		jb_count(j, "connections", vs->cause_conns[c]);
		jb_count(j, "differences", vs->cause_segs[c]);
		jb_char(j, '}');
	}
	jb_lit(j, "],\"nothing_compared\":");
	if (vs->nothing)
		jb_jstr(j, vs->nothing);
	else
		jb_lit(j, "null");
	jb_lit(j, "},");
}

/*
 * Appends a "reason":N member, comma-separated, for each skip reason that
 * occurred: N is the count, or with first_frame the first such frame.
 */
static void json_skips(struct json_renderer *j, const struct rec_skip *skipped, int n, int first_frame)
{
	int i;

	for (i = 0; i < n; i++) {
		if (i)
			jb_char(j, ',');
		jb_char(j, '"');
		jb_cstr(j, skipped[i].reason);
		jb_lit(j, "\":");
		if (first_frame)
			jb_i64(j, skipped[i].first_frame);
		else
			jb_u64(j, skipped[i].count);
	}
}

/* Appends ,"name":milliseconds (%.3f), or null for VT_NEVER (longer than the window showed). */
static void jb_ms(struct json_renderer *j, const char *name, vtime_t v)
{
	char buf[48];

	if (v == VT_NEVER)
		snprintf(buf, sizeof(buf), ",\"%s\":null", name);
	else
		snprintf(buf, sizeof(buf), ",\"%s\":%.3f", name, (double)v / VT_MSEC);
	jb_cstr(j, buf);
}

/* Appends ,"capture_point":{...}: where the capture was taken. */
static void json_capture(struct json_renderer *j, const struct rec_capture *c)
{
	static const char *const keys[5] = { "unknown", "server", "client", "between", "same_host" };
	int i;

	jb_lit(j, ",\"capture_point\":{\"mode\":");
	jb_jstr(j, c->mode ? c->mode : "auto");
	jb_lit(j, ",\"side\":");
	jb_jstr(j, c->side ? c->side : "unknown");
	jb_lit(j, ",\"handshakes\":{");
	for (i = 1; i < 5; i++) {
		if (i > 1)
			jb_char(j, ',');
		jb_char(j, '"');
		jb_cstr(j, keys[i]);
		jb_lit(j, "\":");
		jb_u64(j, c->handshakes[i]);
	}
	jb_char(j, '}');
	jb_ms(j, "syn_synack_ms", c->syn_synack);
	jb_ms(j, "synack_ack_ms", c->synack_ack);
	jb_count(j, "delayed", c->delayed);
	jb_char(j, '}');
}

/* Appends the summary's "replay":{...}, member: what the capture held and what was skipped. */
static void json_replay_stats(struct json_renderer *j, const struct rec_replay *rs)
{
	jb_lit(j, "\"replay\":{\"file\":");
	jb_jstr(j, rs->file);
	jb_lit(j, ",\"linktype\":");
	jb_jstr(j, rs->linktype);
	jb_lit(j, ",\"timestamps\":");
	jb_jstr(j, rs->precision);
	jb_lit(j, ",\"compression\":");
	if (rs->compression)
		jb_jstr(j, rs->compression);
	else
		jb_lit(j, "null");
	jb_lit(j, ",\"filter\":");
	if (rs->filter)
		jb_jstr(j, rs->filter);
	else
		jb_lit(j, "null");
	jb_count(j, "frames", rs->frames);
	jb_count(j, "filtered", rs->filtered);
	jb_count(j, "inbound", rs->inbound);
	jb_count(j, "outbound", rs->outbound);
	jb_count(j, "ignored", rs->ignored);
	jb_count(j, "payload_cut", rs->payload_cut);
	jb_count(j, "header_cut", rs->header_cut);
	jb_count(j, "tso_length_0", rs->tso_length_0);
	jb_count(j, "duplicates", rs->duplicates);
	jb_count(j, "picked_up", rs->picked_up);
	jb_count(j, "listener_drops", rs->listener_drops);
	if (rs->synack_nosyn) {
		jb_lit(j, ",\"synack_nosyn\":{\"synacks\":");
		jb_u64(j, rs->synack_nosyn);
		jb_count(j, "hosts", rs->nosyn_hosts);
		jb_lit(j, ",\"first\":");
		jb_jstr(j, rs->nosyn_first ? rs->nosyn_first : "");
		jb_count(j, "frame", (uint64_t)rs->nosyn_frame);
		jb_char(j, '}');
	} else {
		jb_lit(j, ",\"synack_nosyn\":null");
	}
	jb_lit(j, ",\"isn\":{\"recorded\":");
	jb_u64(j, rs->isn_recorded);
	jb_count(j, "own", rs->isn_own);
	jb_count(j, "rebased", rs->isn_rebased);
	jb_char(j, '}');
	json_capture(j, &rs->capture);
	jb_lit(j, ",\"skipped\":{");
	json_skips(j, rs->skipped, rs->nskipped, 0);
	jb_lit(j, "},\"first_skipped\":{");
	json_skips(j, rs->skipped, rs->nskipped, 1);
	jb_lit(j, "}},");
}

/* Appends the summary's "live":{...}, member: what crossed the device and what the application did. */
static void json_live_stats(struct json_renderer *j, const struct rec_live *lv)
{
	jb_lit(j, "\"live\":{\"device\":");
	jb_jstr(j, lv->device);
	jb_lit(j, ",\"app\":");
	jb_jstr(j, lv->app);
	jb_count(j, "packets_read", lv->packets_read);
	jb_count(j, "tcp_in", lv->tcp_in);
	jb_count(j, "packets_written", lv->packets_written);
	jb_count(j, "write_errors", lv->write_errors);
	jb_lit(j, ",\"skipped\":{");
	json_skips(j, lv->skipped, lv->nskipped, 0);
	jb_lit(j, "},\"first_skipped\":{");
	json_skips(j, lv->skipped, lv->nskipped, 1);
	jb_lit(j, "}");
	jb_count(j, "accepted", lv->accepted);
	jb_count(j, "closed", lv->closed);
	jb_count(j, "bytes_in", lv->bytes_in);
	jb_count(j, "bytes_out", lv->bytes_out);
	jb_count(j, "responses", lv->responses);
	jb_count(j, "app_errors", lv->app_errors);
	jb_lit(j, "},");
}

/* REC_SUMMARY: the closing "summary" line; the replay and verify members only when present. */
static void json_summary(struct json_renderer *j, vtime_t t, const struct rec_summary *sum)
{
	const struct stack_totals *tot = &sum->sockets;
	int c;

	jb_lit(j, "{\"type\":\"summary\",\"t\":");
	jb_time(j, t);
	jb_count(j, "segments_in", sum->counters[CNT_INSEGS]);
	jb_count(j, "segments_out", sum->counters[CNT_OUTSEGS]);
	jb_char(j, ',');
	if (sum->replay)
		json_replay_stats(j, sum->replay);
	if (sum->verify)
		json_verify_totals(j, sum->verify);
	if (sum->live)
		json_live_stats(j, sum->live);
	json_listener_ends(j, sum);
	jb_lit(j, "\"sockets\":{\"listen\":");
	jb_uint(j, tot->listeners);
	jb_count(j, "established", tot->established);
	jb_count(j, "request", tot->request);
	jb_count(j, "timewait", tot->timewait);
	jb_count(j, "other", tot->other);
	jb_lit(j, "},\"counters\":{");
	for (c = 0; c < CNT_COUNT; c++) {
		if (c)
			jb_char(j, ',');
		jb_char(j, '"');
		jb_cstr(j, counter_name(c));
		jb_lit(j, "\":");
		jb_u64(j, sum->counters[c]);
	}
	jb_lit(j, "}}\n");
	jb_flush(j);
}

/*
 * renderer_ops.record: a line per record that has one. REC_BEGIN and
 * REC_SAY write nothing outside a page (the intro and narration are for people), nor
 * does a snapshot the run did not ask to show.
 */
static void json_record(struct renderer *r, const struct record *rec)
{
	struct json_renderer *j = (struct json_renderer *)r;

	switch (rec->type) {
	case REC_EVENT:
		json_event(j, rec->event);
		break;
	case REC_CALL:
		json_call(j, rec->t, rec->call);
		break;
	case REC_INFERRED:
		json_inferred(j, rec->t, rec->inferred);
		break;
	case REC_BEGIN:
		if (j->embedded)
			json_begin(j, rec->begin);
		break;
	case REC_SAY:
		if (j->embedded)
			json_say(j, rec->say);
		break;
	case REC_VERIFY:
		json_verify(j, rec->t, rec->verify);
		break;
	case REC_VERIFY_CONN:
		json_verify_conn(j, rec->t, rec->verify_conn);
		break;
	case REC_TABLES:
		json_tables(j, rec->t, rec->tables);
		break;
	case REC_SUMMARY:
		json_summary(j, rec->t, rec->summary);
		break;
	default:
		break;
	}
}

/* renderer_ops.destroy: nothing is pending (every record flushes), so only the memory goes. */
static void json_destroy(struct renderer *r)
{
	free(r);
}

static const struct renderer_ops json_ops = { json_record, json_destroy };

/* A JSON Lines renderer writing to out, which it does not own or close; NULL when out of memory. */
struct renderer *render_json_new(FILE *out)
{
	struct json_renderer *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->r.ops = &json_ops;
	j->out = out;
	j->p = j->line;
	return &j->r;
}

struct renderer *render_json_embedded_new(FILE *out)
{
	struct renderer *r = render_json_new(out);

	if (r)
		((struct json_renderer *)r)->embedded = 1;
	return r;
}
