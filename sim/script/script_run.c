/*
 * script_run.c - runs a parsed script against the stack on the virtual clock.
 *
 * Path: script_run() -> script_parse() (everything checked first)
 *       -> run(): each statement at its time:
 *          "< ..."   a segment built and fed to stack_input()
 *          "> ..."   the next segment(s) the stack sent, compared field by field
 *          "call()"  script_calls.c runs it; its result is compared
 *          `command` the profile's sysctls applied (script_shell.c read them)
 *          %{ }%     tcp_info assertions (script_code.c)
 *
 * Sequence numbers follow packetdrill's rules (local_to_live() and the
 * rest): a SYN's numbers are absolute, the others count from each side's
 * ISN, learnt from the stack's first SYN or SYN-ACK on a connection and
 * from the remote's SYN, so "> S. 0:0(0) ack 1" matches whatever ISN the
 * stack chose and an inbound "ack 1" acknowledges it. Timestamps work the
 * same way: the stack's first TS value on a connection is the script's
 * first; an inbound TS ecr names a value the script wrote and is mapped
 * to the one the stack sent.
 *
 * As packetdrill does, an expected segment longer than the one the stack
 * sent is matched by consecutive segments joined (a TSO segment on Linux
 * is several MSS-sized ones here), unless --strict_segments.
 *
 * Blocking calls: a socket is blocking until fcntl(O_NONBLOCK). A
 * blocking call that cannot finish at once stays pending while the
 * following lines run (as packetdrill runs it in a thread), and must
 * finish within its line's time range.
 *
 * Extensions, for scenarios packetdrill cannot express with one remote
 * endpoint: a packet line may name its remote endpoint,
 * "+0 @192.0.2.2:5000 < S 0:0(0) win 65535", bind() may name its address,
 * "bind(3, 0.0.0.0:8080, ...)", and --absolute_seq writes the remote's
 * numbers as they go on the wire. A plain packetdrill script needs none.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "errname.h"
#include "script_int.h"
#include "sysctl.h"

#define MAX_CONNS 1024
#define MAX_TS_MAP 4096
#define WAIT_LIMIT (600 * VT_SEC)

struct ts_pair {
	uint32_t script, live;
};

/* One connection the script talks about: its endpoints and how its numbers map. */
struct sconn {
	struct ip_addr raddr, laddr;
	uint16_t rport, lport;
	uint8_t have_local_isn, have_remote_isn;
	uint32_t live_isn, script_isn;  /* the stack's ISN, and what the script wrote for it */
	uint32_t remote_isn;            /* the remote's, as its SYN or SYN-ACK was written */
	uint8_t have_ts;           /* the first TS value seen (packetdrill's first_*_ts_val) */
	uint32_t first_live_ts, first_script_ts;
	struct ts_pair *ts_map;    /* script TS val -> the live one, for inbound ecr */
	int nts;
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
	const struct script_opts *o;   /* the options with the script's header lines applied */
	struct script_prog prog;
	struct stack *st;
	struct call_ctx cx;
	struct sconn conns[MAX_CONNS];
	int nconns;
	int cur_conn;                  /* the connection lines without @ep use */
	struct outseg *outq;
	int nout, capout, headout;
	struct pending pend;
	vtime_t last_t;                /* when the previous line happened */
	vtime_t last_script_t;         /* the previous line's time as the script wrote it */
	struct stack_config saved;     /* before set_sysctls.py, for its restore script */
	int have_saved;
	struct code_env *env;          /* the %{ }% blocks' variables */
	int64_t frames;                /* inbound segments so far (o->number_inbound) */
	int failed;
};

/* ---- errors --------------------------------------------------------------------------------- */

static int fail(struct srun *r, const struct stmt *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line "FILE:LINE: what went wrong" on stderr; the run is failed. */
static int fail(struct srun *r, const struct stmt *s, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return -1;
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

static vtime_t to_vt(double s)
{
	return (vtime_t)(s * 1e9 + 0.5);
}

static double secs(vtime_t t)
{
	return (double)t / 1e9;
}

/* ---- observing the stack ----------------------------------------------------------------------- */

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
	/* What wakes a waiter up (sk_data_ready, sk_state_change): edge-triggered epoll sees it. */
	if (ev->type == EV_SEGMENT_IN && ev->has_sock && ev->sock.fd >= 0 && ev->action != ACT_ACK &&
	    ev->action != ACT_DROP)
		poll_wakeup(&r->cx, ev->sock.fd);
	if (ev->type == EV_SEGMENT_IN && ev->has_listener && ev->action == ACT_QUEUED)
		poll_wakeup(&r->cx, ev->listener.fd);
	if (ev->type == EV_SOCK_STATE && ev->sock.fd >= 0)
		poll_wakeup(&r->cx, ev->sock.fd);
	emit_event(r->o->r, r->st, ev);
}

/* ---- connections ------------------------------------------------------------------------------ */

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
	c->laddr = r->cx.local;
	c->lport = r->cx.bound_port;
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
		struct sconn *c = conn_add(r, &r->cx.remote, SCRIPT_REMOTE_PORT);

		if (c)
			r->cur_conn = (int)(c - r->conns);
		return c;
	}
	return &r->conns[r->cur_conn];
}

/*
 * packetdrill's numbering (its socket.h): as tcpdump prints them, both
 * numbers of a segment with SYN are absolute (the stack's shifted by the
 * difference between its ISN and the one the script wrote); in other
 * segments each side's numbers count from that side's ISN. With
 * --absolute_seq (a tcpdemux extension, the demos use it) the remote's
 * numbers are absolute everywhere and the stack's count from the first ISN
 * it sent to that endpoint, so a TIME_WAIT reuse shows its ISN gap.
 */
static uint32_t local_to_live(const struct srun *r, const struct sconn *c, uint32_t script, int syn)
{
	if (!c || !c->have_local_isn)
		return script;
	if (syn || r->o->absolute_seq)
		return script - c->script_isn + c->live_isn;
	return script + c->live_isn;
}

static uint32_t local_to_script(const struct srun *r, const struct sconn *c, uint32_t live, int syn)
{
	if (!c || !c->have_local_isn)
		return live;
	if (syn || r->o->absolute_seq)
		return live - c->live_isn + c->script_isn;
	return live - c->live_isn;
}

static uint32_t remote_to_live(const struct srun *r, const struct sconn *c, uint32_t script, int syn)
{
	return !c || syn || r->o->absolute_seq || !c->have_remote_isn ? script : script + c->remote_isn;
}

static uint32_t remote_to_script(const struct srun *r, const struct sconn *c, uint32_t live, int syn)
{
	return !c || syn || r->o->absolute_seq || !c->have_remote_isn ? live : live - c->remote_isn;
}

/* Remembers which live TS value a script TS value stands for (inbound ecr use it). */
static void ts_note(struct sconn *c, uint32_t script, uint32_t live)
{
	int i;

	for (i = 0; i < c->nts; i++)
		if (c->ts_map[i].script == script) {
			c->ts_map[i].live = live;
			return;
		}
	if (c->nts == MAX_TS_MAP)
		return;
	if (!c->ts_map) {
		c->ts_map = malloc(MAX_TS_MAP * sizeof(*c->ts_map));
		if (!c->ts_map)
			return;
	}
	c->ts_map[c->nts].script = script;
	c->ts_map[c->nts].live = live;
	c->nts++;
}

/* An inbound TS ecr as the stack must see it: the live value the script's value stands for. */
static uint32_t ts_ecr_live(const struct sconn *c, uint32_t script)
{
	int i;

	for (i = c->nts - 1; i >= 0; i--)
		if (c->ts_map[i].script == script)
			return c->ts_map[i].live;
	if (c->have_ts) /* packetdrill's interpolation (--tcp_ts_ecr_scaled) */
		return script - c->first_script_ts + c->first_live_ts;
	return script;
}

/* ---- segments in ------------------------------------------------------------------------------- */

static void opts_of_stmt(const struct stmt *s, const struct sconn *c, struct tcp_opts *o)
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
			o->tsecr = (s->flags & TH_ACK) ? ts_ecr_live(c, op->b) : op->b;
			break;
		case O_FO:
		case O_FOEXP:
			o->fo_kind = op->kind == O_FO ? TCPOPT_FASTOPEN : TCPOPT_EXP;
			o->fo_len = op->nblocks;
			memcpy(o->fo_cookie, op->cookie, op->nblocks);
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
	if (s->flags & TH_SYN) {
		/* the remote's ISN; a new SYN (no ACK) is a new connection: the stack's ISN is to learn again */
		if (!(s->flags & TH_ACK) && !r->o->absolute_seq && (!c->have_remote_isn || c->remote_isn != s->seq))
			c->have_local_isn = 0;
		c->remote_isn = s->seq;
		c->have_remote_isn = 1;
	}
	seg.seq = remote_to_live(r, c, s->seq, s->flags & TH_SYN);
	/* An ack acknowledges the stack's own numbers: written relative to its ISN. */
	seg.ack = s->has_ack ? local_to_live(r, c, s->ack, s->flags & TH_SYN) : 0;
	seg.win = (uint16_t)(s->has_win ? s->win : 65535);
	seg.urp = (uint16_t)s->urg;
	seg.len = s->end - s->seq;
	memset(payload, 'x', seg.len);
	seg.data = payload;
	opts_of_stmt(s, c, &seg.opt);
	/* A RST ends the connection: the next one on this endpoint has an ISN of its own. */
	if (s->flags & TH_RST) {
		c->have_local_isn = 0;
		c->have_ts = 0;
		c->nts = 0;
	}
	stack_input(r->st, &seg, r->o->number_inbound ? ++r->frames : s->line);
	return 0;
}

/* ---- segments out ------------------------------------------------------------------------------ */

/* The options as a script writes them: "mss 1460,nop,wscale 7". */
static void opts_text(const struct tcp_opts *opt, uint32_t tsval, char *o, size_t len)
{
	uint8_t raw[TCP_OPT_MAX];
	size_t n = tcp_opts_write(opt, raw), i, k = 0;

	o[0] = '\0';
	for (i = 0; i < n && k + 40 < len;) {
		uint8_t kind = raw[i];

		if (kind == 1) {
			k += (size_t)snprintf(o + k, len - k, "%snop", k ? "," : "");
			i++;
		} else if (kind == 0) {
			break;
		} else if (kind == 2) {
			k += (size_t)snprintf(o + k, len - k, "%smss %u", k ? "," : "", raw[i + 2] << 8 | raw[i + 3]);
			i += 4;
		} else if (kind == 3) {
			k += (size_t)snprintf(o + k, len - k, "%swscale %u", k ? "," : "", raw[i + 2]);
			i += 3;
		} else if (kind == 4) {
			k += (size_t)snprintf(o + k, len - k, "%ssackOK", k ? "," : "");
			i += 2;
		} else if (kind == 8) {
			k += (size_t)snprintf(o + k, len - k, "%sTS val %u ecr %u", k ? "," : "", tsval, opt->tsecr);
			i += 10;
		} else if ((kind == TCPOPT_FASTOPEN || kind == TCPOPT_EXP) && i + 1 < n && raw[i + 1] >= 2) {
			size_t start = kind == TCPOPT_EXP ? 4 : 2, j;

			k += (size_t)snprintf(o + k, len - k, "%s%s%s", k ? "," : "", kind == TCPOPT_EXP ? "FOEXP" : "FO",
					      raw[i + 1] > start ? " " : "");
			for (j = start; j < raw[i + 1] && i + j < n && k + 3 < len; j++)
				k += (size_t)snprintf(o + k, len - k, "%02x", raw[i + j]);
			i += raw[i + 1];
		} else {
			k += (size_t)snprintf(o + k, len - k, "%skind %u", k ? "," : "", kind);
			if (i + 1 >= n || raw[i + 1] < 2)
				break;
			i += raw[i + 1];
		}
	}
}

static void flags_text(uint8_t flags, char *fl)
{
	static const char letters[] = "SFRPUEW";
	static const uint8_t bits[] = { TH_SYN, TH_FIN, TH_RST, TH_PSH, TH_URG, TH_ECE, TH_CWR };
	size_t i;
	int j = 0;

	/* packetdrill's notation: the letters, then '.' for ACK ("S.", "P."); '-' for none */
	for (i = 0; i < sizeof(bits); i++)
		if (flags & bits[i])
			fl[j++] = letters[i];
	if (flags & TH_ACK)
		fl[j++] = '.';
	if (j == 0)
		fl[j++] = '-';
	fl[j] = '\0';
}

/* A segment the stack sent, in the script's numbers: "S. 0:0(0) ack 1 win 65535 <mss 1460>". */
static void seg_text(const struct segment *g, uint32_t seq, uint32_t ack, uint32_t tsval, char *buf, size_t len)
{
	char fl[12], o[200], a[24];

	flags_text(g->flags, fl);
	opts_text(&g->opt, tsval, o, sizeof(o));
	a[0] = '\0';
	if ((g->flags & TH_ACK) || ack)
		snprintf(a, sizeof(a), " ack %u", ack);
	snprintf(buf, len, "%s %u:%u(%u)%s win %u%s%s%s", fl, seq, seq + g->len, g->len, a, g->win,
		 o[0] ? " <" : "", o, o[0] ? ">" : "");
}

/* What a '>' line expects, as it would be written. */
static void stmt_text(const struct stmt *s, char *buf, size_t len)
{
	char fl[12];
	size_t k;
	int i;

	flags_text(s->flags, fl);
	k = (size_t)snprintf(buf, len, "%s %u:%u(%u)", fl, s->seq, s->end, s->end - s->seq);
	if (s->has_ack && k < len)
		k += (size_t)snprintf(buf + k, len - k, " ack %u", s->ack);
	if (s->has_win && k < len)
		k += (size_t)snprintf(buf + k, len - k, " win %u", s->win);
	if (s->has_urg && k < len)
		k += (size_t)snprintf(buf + k, len - k, " urg %u", s->urg);
	if (!s->has_opts) {
		if (k < len && s->nopts == 0 && !s->inbound)
			snprintf(buf + k, len - k, " <...>");
		return;
	}
	if (s->nopts == 0)
		return;
	for (i = 0; i < s->nopts && k + 40 < len; i++) {
		const struct sopt *op = &s->opts[i];
		const char *sep = i ? "," : " <";
		int b;

		switch (op->kind) {
		case O_NOP: k += (size_t)snprintf(buf + k, len - k, "%snop", sep); break;
		case O_EOL: k += (size_t)snprintf(buf + k, len - k, "%seol", sep); break;
		case O_MSS: k += (size_t)snprintf(buf + k, len - k, "%smss %u", sep, op->a); break;
		case O_WSCALE: k += (size_t)snprintf(buf + k, len - k, "%swscale %u", sep, op->a); break;
		case O_SACKOK: k += (size_t)snprintf(buf + k, len - k, "%ssackOK", sep); break;
		case O_TS: k += (size_t)snprintf(buf + k, len - k, "%sTS val %u ecr %u", sep, op->a, op->b); break;
		case O_FO:
		case O_FOEXP:
			k += (size_t)snprintf(buf + k, len - k, "%s%s%s", sep, op->kind == O_FO ? "FO" : "FOEXP",
					      op->nblocks ? " " : "");
			for (b = 0; b < op->nblocks && k + 3 < len; b++)
				k += (size_t)snprintf(buf + k, len - k, "%02x", op->cookie[b]);
			break;
		default:
			k += (size_t)snprintf(buf + k, len - k, "%ssack", sep);
			for (b = 0; b < op->nblocks && k + 24 < len; b++)
				k += (size_t)snprintf(buf + k, len - k, " %u:%u", op->blocks[2 * b], op->blocks[2 * b + 1]);
			break;
		}
	}
	if (k + 1 < len)
		snprintf(buf + k, len - k, ">");
}

/* The options a line expects, as the bytes a sender would write (TS values aside). */
static size_t stmt_opt_bytes(const struct stmt *s, uint8_t *b, size_t cap)
{
	size_t n = 0;
	int i, k;

	for (i = 0; i < s->nopts && n + 34 <= cap; i++) {
		const struct sopt *op = &s->opts[i];

		switch (op->kind) {
		case O_NOP: b[n++] = 1; break;
		case O_EOL: b[n++] = 0; break;
		case O_MSS: b[n++] = 2; b[n++] = 4; b[n++] = (uint8_t)(op->a >> 8); b[n++] = (uint8_t)op->a; break;
		case O_WSCALE: b[n++] = 3; b[n++] = 3; b[n++] = (uint8_t)op->a; break;
		case O_SACKOK: b[n++] = 4; b[n++] = 2; break;
		case O_TS: b[n++] = 8; b[n++] = 10; memset(b + n, 0, 8); n += 8; break;
		case O_FO:
		case O_FOEXP:
			b[n++] = op->kind == O_FO ? TCPOPT_FASTOPEN : TCPOPT_EXP;
			b[n++] = (uint8_t)(op->nblocks + (op->kind == O_FO ? 2 : 4));
			if (op->kind == O_FOEXP) {
				b[n++] = TCPOPT_FASTOPEN_MAGIC >> 8;
				b[n++] = TCPOPT_FASTOPEN_MAGIC & 0xff;
			}
			memcpy(b + n, op->cookie, op->nblocks);
			n += op->nblocks;
			break;
		default:
			b[n++] = 5;
			b[n++] = (uint8_t)(2 + 8 * op->nblocks);
			for (k = 0; k < 2 * op->nblocks; k++) {
				b[n++] = (uint8_t)(op->blocks[k] >> 24);
				b[n++] = (uint8_t)(op->blocks[k] >> 16);
				b[n++] = (uint8_t)(op->blocks[k] >> 8);
				b[n++] = (uint8_t)op->blocks[k];
			}
			break;
		}
	}
	return n;
}

/* Zeroes the TS values in an option list: they are compared apart. */
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

static const struct sopt *stmt_ts(const struct stmt *s)
{
	int i;

	for (i = 0; i < s->nopts; i++)
		if (s->opts[i].kind == O_TS)
			return &s->opts[i];
	return NULL;
}

/* The time a line may stray by: --tolerance_usecs, or a share of the time since the line before. */
static vtime_t tolerance_of(const struct srun *r, vtime_t script_delta)
{
	vtime_t dyn = (vtime_t)((double)script_delta * r->o->tolerance_percent / 100.0);

	return dyn > r->o->tolerance ? dyn : r->o->tolerance;
}

/*
 * Compares the segment the stack sent (g, at t) with the '>' line.
 * Returns 0 or -1 (failed, message printed).
 */
static int check_out(struct srun *r, const struct stmt *s, const struct segment *g, vtime_t t)
{
	struct sconn *c = conn_of(r, s);
	const struct sopt *want_ts = stmt_ts(s);
	char got[320], want[320], where[40];
	const char *diff = NULL;
	char diffbuf[96];
	uint32_t seq, ack, tsval = g->opt.tsval;

	if (!c)
		return fail(r, s, "%s", "too many remote endpoints (at most 1024)");
	/* The stack's first SYN or SYN-ACK on a connection fixes its ISN. */
	if ((g->flags & TH_SYN) && !c->have_local_isn) {
		c->have_local_isn = 1;
		c->live_isn = g->seq;
		c->script_isn = s->seq;
	}
	seq = local_to_script(r, c, g->seq, g->flags & TH_SYN);
	ack = remote_to_script(r, c, g->ack, g->flags & TH_SYN);
	/* Its first TS value is the script's first; later ones count from there. */
	if (g->opt.has_ts && want_ts) {
		if (!c->have_ts) {
			c->have_ts = 1;
			c->first_live_ts = g->opt.tsval;
			c->first_script_ts = want_ts->a;
		}
		tsval = g->opt.tsval - c->first_live_ts + c->first_script_ts;
		ts_note(c, want_ts->a, g->opt.tsval);
	}
	seg_text(g, seq, ack, tsval, got, sizeof(got));
	stmt_text(s, want, sizeof(want));
	snprintf(where, sizeof(where), " at %.6f s", secs(t));
	/* Both ends are part of what a line says: the remote it goes to, the local end it leaves. */
	if (!addr_equal(&g->dst, &c->raddr) || g->dport != c->rport || !addr_equal(&g->src, &c->laddr) ||
	    g->sport != c->lport) {
		char sent_src[ADDR_STRLEN], sent_dst[ADDR_STRLEN], want_src[ADDR_STRLEN], want_dst[ADDR_STRLEN];

		endpoint_format(&g->src, g->sport, sent_src, sizeof(sent_src));
		endpoint_format(&g->dst, g->dport, sent_dst, sizeof(sent_dst));
		endpoint_format(&c->laddr, c->lport, want_src, sizeof(want_src));
		endpoint_format(&c->raddr, c->rport, want_dst, sizeof(want_dst));
		return fail(r, s, "expected a segment %s > %s, actual %s > %s (%s)", want_src, want_dst, sent_src,
			    sent_dst, got);
	}
	if (g->flags != s->flags)
		diff = "its flags differ";
	else if (seq != s->seq)
		diff = "its sequence number differs";
	else if (g->len != s->end - s->seq)
		diff = "its length differs";
	else if (ack != s->ack)
		diff = "its ack number differs";
	else if (s->has_win && g->win != s->win)
		diff = "its window differs";
	else if (g->urp != s->urg)
		diff = "its urgent pointer differs";
	if (!diff && s->has_opts) {
		uint8_t want_b[TCP_OPT_MAX + 64], got_b[TCP_OPT_MAX];
		size_t wn = stmt_opt_bytes(s, want_b, sizeof(want_b)), gn = tcp_opts_write(&g->opt, got_b);

		/* Trailing padding is not part of what a script names. */
		while (gn > 0 && got_b[gn - 1] == 0)
			gn--;
		mask_ts(got_b, gn);
		if (wn != gn || memcmp(want_b, got_b, gn) != 0)
			diff = "its options differ";
	}
	if (!diff && want_ts && g->opt.has_ts && r->o->ts_tick_usecs) {
		/* --tcp_ts_tick_usecs: the TS value must have advanced as the script's did. */
		int64_t off = (int64_t)(int32_t)(tsval - want_ts->a);
		vtime_t tol = tolerance_of(r, t > r->last_t ? t - r->last_t : 0);

		if ((uint64_t)(off < 0 ? -off : off) * r->o->ts_tick_usecs * VT_USEC > tol) {
			snprintf(diffbuf, sizeof(diffbuf), "its TS val is %lld ticks off (tolerance %llu us)",
				 (long long)off, (unsigned long long)(tol / VT_USEC));
			diff = diffbuf;
		}
	}
	if (diff)
		return fail(r, s, "expected %s, actual %s%s: %s", want, got, where, diff);
	return 0;
}

/*
 * The line's time: *at when it happens (a call or an inbound segment), and
 * the window [lo, hi] an outbound segment or a blocking call's return must
 * fall in, given the previous line's time.
 */
static void window_of(const struct srun *r, const struct stmt *s, vtime_t *at, vtime_t *lo, vtime_t *hi)
{
	vtime_t base = s->rel ? r->last_t : 0, tol;

	if (s->any_time) {
		*at = *lo = r->last_t;
		*hi = r->last_t + WAIT_LIMIT;
		return;
	}
	*at = base + to_vt(s->t1);
	*hi = s->range ? (s->rel_end ? r->last_t : 0) + to_vt(s->t2) : *at;
	tol = tolerance_of(r, *at > r->last_t ? *at - r->last_t : 0);
	*lo = *at > tol ? *at - tol : 0;
	*hi += tol;
}

/* Retries a pending blocking call; returns 1 when it finished (and was checked). */
static int retry_pending(struct srun *r)
{
	long ret;
	const struct stmt *s = r->pend.s;

	if (!r->pend.active)
		return 0;
	r->cx.retry = 1;
	r->cx.wake_at = 0;
	if (s->call->run(&r->cx, s, &ret) < 0) {
		r->cx.retry = 0;
		return fail(r, s, "%s", r->cx.why);
	}
	r->cx.retry = 0;
	if (ret == -EAGAIN || ret == -EINPROGRESS)
		return 0;
	r->pend.active = 0;
	if (stack_now(r->st) > r->pend.deadline)
		return fail(r, s, "the blocking call %s returned only at %.6f s, after its time range", s->text,
			    secs(stack_now(r->st)));
	if (ret != s->ret && !(s->ret == -1 && ret < 0 && (!s->err || ret == -s->err)) &&
	    !(s->call->fd_result && ret >= 0 && s->ret >= 0)) {
		char d[96];

		snprintf(d, sizeof(d), "%ld%s%s", ret < 0 ? -1L : ret, ret < 0 ? " " : "",
			 ret < 0 && errno_name(ret) ? errno_name(ret) : "");
		return fail(r, s, "expected %s = %ld%s%s, actual %s (the blocking call returned at %.6f s)", s->text,
			    s->ret, s->err ? " " : "", s->err ? errno_name(s->err) : "", d, secs(stack_now(r->st)));
	}
	return 1;
}

/* The next moment something may happen: a stack timer or a pending call's own timeout. */
static vtime_t next_wakeup(const struct srun *r)
{
	vtime_t next = stack_next_timer(r->st);

	if (r->pend.active && r->cx.wake_at && r->cx.wake_at < next)
		next = r->cx.wake_at;
	return next;
}

/* Advances the clock to t, retrying a pending call whenever something happened. */
static int advance_to(struct srun *r, vtime_t t)
{
	while (stack_now(r->st) < t) {
		vtime_t next = next_wakeup(r);

		if (next > t)
			next = t;
		stack_advance(r->st, next);
		if (retry_pending(r) < 0)
			return -1;
	}
	return retry_pending(r) < 0 ? -1 : 0;
}

/* A new active open: its SYN sets the ISN the connection's lines count from. */
static void conn_connected(struct srun *r, int fd)
{
	struct ip_addr la, ra;
	uint16_t lp, rp;
	struct sconn *c;

	if (sys_getsockname(r->st, fd, &la, &lp) < 0)
		return;
	ra = r->cx.remote;
	rp = r->o->connect_port ? r->o->connect_port : SCRIPT_BOUND_PORT;
	c = conn_add(r, &ra, rp);
	if (!c)
		return;
	c->laddr = la;
	c->lport = lp;
	c->have_local_isn = 0;
	c->have_remote_isn = 0;
	c->have_ts = 0;
	c->nts = 0;
	r->cur_conn = (int)(c - r->conns);
}

/* Who makes the calls, as the trace names it. */
static const char *app_name(const struct srun *r)
{
	return r->o->who ? r->o->who : "script";
}

static int result_matches(const struct stmt *s, long ret)
{
	if (s->call->fd_result && s->ret >= 0)
		return ret >= 0;
	if (s->ret == -1 && ret < 0)
		return !s->err || ret == -s->err;
	return ret == s->ret;
}

static int run_call(struct srun *r, const struct stmt *s, vtime_t at, vtime_t hi)
{
	long ret;
	char d[64];
	int rc;

	/*
	 * packetdrill's calls run one at a time: the next waits for a
	 * blocking one to return (await_idle_thread), though segments go
	 * on arriving meanwhile.
	 */
	while (r->pend.active && stack_now(r->st) < r->pend.deadline) {
		vtime_t next = next_wakeup(r);

		stack_advance(r->st, next < r->pend.deadline ? next : r->pend.deadline);
		if (retry_pending(r) < 0)
			return -1;
	}
	if (r->pend.active)
		return fail(r, r->pend.s, "the blocking call %s did not return by %.6f s, the end of its time range",
			    r->pend.s->text, secs(r->pend.deadline));
	if (advance_to(r, at) < 0)
		return -1;
	r->cx.connecting = -1;
	r->cx.wake_at = 0;
	r->cx.started = stack_now(r->st);
	rc = s->call->run(&r->cx, s, &ret);
	if (r->cx.connecting >= 0)
		conn_connected(r, r->cx.connecting);
	if (rc < 0) {
		emit_call(r->o->r, r->st, stack_now(r->st), app_name(r), s->text, ret, NULL);
		return fail(r, s, "%s: %s", s->text, r->cx.why);
	}
	/* A blocking call that cannot finish yet waits, unless the line expects exactly that. */
	if ((ret == -EAGAIN || ret == -EINPROGRESS) && s->call->blocking && !(s->ret == -1 && s->err == -ret)) {
		if (!call_nonblocking(&r->cx, s)) {
			r->pend.active = 1;
			r->pend.s = s;
			r->pend.deadline = hi;
			emit_call(r->o->r, r->st, stack_now(r->st), app_name(r), s->text, ret,
				  "blocks until it can finish");
			return 0;
		}
	}
	emit_call(r->o->r, r->st, stack_now(r->st), app_name(r), s->text, ret, NULL);
	if (!result_matches(s, ret)) {
		snprintf(d, sizeof(d), "%ld%s%s", ret < 0 ? -1L : ret, ret < 0 ? " " : "",
			 ret < 0 && errno_name(ret) ? errno_name(ret) : "");
		return fail(r, s, "expected %s = %ld%s%s, actual %s", s->text, s->ret, s->err ? " " : "",
			    s->err ? errno_name(s->err) : "", d);
	}
	return 0;
}

static int unexpected(struct srun *r, const struct stmt *s)
{
	char got[320];
	const struct outseg *og = &r->outq[r->headout];
	struct sconn *c = conn_find(r, &og->seg.dst, og->seg.dport);

	seg_text(&og->seg, local_to_script(r, c, og->seg.seq, og->seg.flags & TH_SYN),
		 remote_to_script(r, c, og->seg.ack, og->seg.flags & TH_SYN), og->seg.opt.tsval, got, sizeof(got));
	return fail(r, s, "before this line the stack sent an unexpected segment: %s (at %.6f s)", got,
		    secs(og->t));
}

/* Waits (on the virtual clock, up to hi) until the stack has sent more than headout + k segments. */
static int wait_for_out(struct srun *r, int k, vtime_t hi)
{
	while (r->nout <= r->headout + k && stack_now(r->st) < hi) {
		vtime_t next = next_wakeup(r);

		if (next > hi)
			next = hi;
		stack_advance(r->st, next);
		if (retry_pending(r) < 0)
			return -1;
	}
	return r->nout > r->headout + k;
}

/*
 * packetdrill's aggregation: the segments from headout on that together
 * make up an expected segment of want bytes, each the same kind of
 * segment as the one before (flags but FIN, PSH and CWR, ack, window and
 * options length) and contiguous with it. Returns how many were joined
 * into *g (the last one's header, the first one's sequence number), 0 when
 * the stack sent them differently (*g is then the first one alone).
 */
static int join_segments(struct srun *r, uint32_t want, vtime_t hi, struct segment *g, vtime_t *t)
{
	const uint8_t loose = TH_FIN | TH_PSH | TH_CWR;
	int n = 1;

	*g = r->outq[r->headout].seg;
	*t = r->outq[r->headout].t;
	while (g->len < want) {
		const struct segment *prev, *next;
		uint8_t pb[TCP_OPT_MAX], nb[TCP_OPT_MAX];
		int more = wait_for_out(r, n, hi);

		if (more < 0)
			return -1;
		if (!more)
			break;
		prev = &r->outq[r->headout + n - 1].seg;
		next = &r->outq[r->headout + n].seg;
		if (!addr_equal(&prev->src, &next->src) || !addr_equal(&prev->dst, &next->dst) ||
		    prev->sport != next->sport || prev->dport != next->dport ||
		    (prev->flags & ~loose) != (next->flags & ~loose) || prev->ack != next->ack ||
		    prev->win != next->win || next->seq != prev->seq + prev->len ||
		    tcp_opts_write(&prev->opt, pb) != tcp_opts_write(&next->opt, nb) ||
		    (g->len + next->len < want && next->len != prev->len))
			break;
		{
			uint32_t seq = g->seq, len = g->len + next->len;

			*g = *next;
			g->seq = seq;
			g->len = len;
			*t = r->outq[r->headout + n].t;
		}
		n++;
	}
	if (g->len != want) {
		*g = r->outq[r->headout].seg;
		*t = r->outq[r->headout].t;
		return 1;
	}
	return n;
}

static int run_packet(struct srun *r, const struct stmt *s, vtime_t at, vtime_t lo, vtime_t hi)
{
	struct segment g;
	vtime_t t;
	int n;

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
	n = wait_for_out(r, 0, hi);
	if (n < 0)
		return -1;
	if (n == 0) {
		char want[320];

		stmt_text(s, want, sizeof(want));
		return fail(r, s, "expected %s by %.6f s (%.0f ms or %.1f %% of the wait), actual: the stack sent nothing",
			    want, secs(hi), (double)r->o->tolerance / 1e6, r->o->tolerance_percent);
	}
	n = r->o->strict_segments ? 1 : join_segments(r, s->end - s->seq, hi, &g, &t);
	if (n < 0)
		return -1;
	if (r->o->strict_segments) {
		g = r->outq[r->headout].seg;
		t = r->outq[r->headout].t;
	}
	r->headout += n;
	if (check_out(r, s, &g, t) < 0)
		return -1;
	if (t < lo || t > hi) {
		char want[320];

		stmt_text(s, want, sizeof(want));
		return fail(r, s, "expected %s within %.6f...%.6f s, actual: sent at %.6f s", want, secs(lo),
			    secs(hi), secs(t));
	}
	stack_advance(r->st, t > stack_now(r->st) ? t : stack_now(r->st));
	r->last_t = t;
	return 0;
}

/* ---- profiles --------------------------------------------------------------------------------- */

static int run_profile(struct srun *r, const struct stmt *s)
{
	struct stack_config cfg;
	char err[256], ignored[1024];
	size_t k = 0;
	int i;

	stack_get_config(r->st, &cfg);
	ignored[0] = '\0';
	for (i = 0; i < s->nsteps; i++) {
		const struct profile_step *p = &s->steps[i];
		int rc;

		if (p->checkpoint) {
			if (!r->have_saved) {
				r->saved = cfg;
				r->have_saved = 1;
			}
			continue;
		}
		if (p->restore) {
			if (r->have_saved)
				cfg = r->saved;
			r->have_saved = 0;
			continue;
		}
		rc = sysctl_profile_apply(&cfg, p->assign, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s:%d: %s\n", r->o->file, s->line, err);
			return -1;
		}
		if (rc > 0 && k + 2 < sizeof(ignored))
			k += (size_t)snprintf(ignored + k, sizeof(ignored) - k, "%s%s", k ? ", " : "", p->assign);
	}
	stack_set_config(r->st, &cfg);
	if (r->o->verbose && k)
		fprintf(stderr, "%s:%d: not modelled, ignored: %s\n", r->o->file, s->line, ignored);
	return 0;
}

/* A %{ }% block: its assertions on the tcp_info of the socket the script made last. */
static int run_code(struct srun *r, const struct stmt *s, vtime_t at)
{
	struct tcp_info_view ti;
	int fd = r->cx.last_fd >= 0 ? r->cx.fds[r->cx.last_fd].live : -1;

	if (advance_to(r, at) < 0)
		return -1;
	if (fd < 0 || sys_tcp_info(r->st, fd, &ti) < 0)
		return fail(r, s, "%s", "a %{ }% block needs a socket: the script has none open");
	if (code_check(s, &ti, r->env, r->cx.why, sizeof(r->cx.why)) < 0)
		return fail(r, s, "%s", r->cx.why);
	return 0;
}

/* ---- the run ---------------------------------------------------------------------------------- */

static int run(struct srun *r)
{
	int i;

	for (i = 0; i < r->prog.nstmts && !r->failed; i++) {
		const struct stmt *s = &r->prog.stmts[i];
		vtime_t at, lo, hi;

		window_of(r, s, &at, &lo, &hi);
		switch (s->kind) {
		case ST_SAY:
			emit_say(r->o->r, s->say);
			continue;
		case ST_PROFILE:
			if (run_profile(r, s) < 0)
				return 2;
			continue;
		case ST_CODE:
			if (run_code(r, s, at) < 0)
				return 1;
			r->last_t = stack_now(r->st);
			break;
		case ST_CALL:
			if (run_call(r, s, at, hi) < 0)
				return 1;
			r->last_t = stack_now(r->st);
			break;
		default:
			if (run_packet(r, s, at, lo, hi) < 0)
				return 1;
			if (s->inbound)
				r->last_t = stack_now(r->st);
			break;
		}
	}
	if (r->failed)
		return 1;
	if (r->pend.active) {
		fail(r, r->pend.s, "%s", "the blocking call never returned");
		return 1;
	}
	return 0;
}

static void srun_free(struct srun *r)
{
	int i;

	for (i = 0; i < r->nconns; i++)
		free(r->conns[i].ts_map);
	call_ctx_free(&r->cx);
	code_env_free(r->env);
	stack_free(r->st);
	free(r->outq);
	script_prog_free(&r->prog);
	free(r);
}

int script_run(const struct script_opts *o)
{
	struct srun *r = calloc(1, sizeof(*r));
	const struct script_opts *po;
	struct ip_addr local, remote;
	int status;

	if (!r) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return 2;
	}
	if (script_parse(o, &r->prog) < 0) {
		srun_free(r);
		return 2;
	}
	po = r->o = &r->prog.opts;
	if (addr_parse(po->local_ip ? po->local_ip : po->ipv6 ? "fd3d:fa7b:d17d::1" : "192.168.0.1", &local) < 0 ||
	    addr_parse(po->remote_ip ? po->remote_ip : po->ipv6 ? "fd3d:fa7b:d17d:1::1" : "192.0.2.1", &remote) < 0 ||
	    local.family != remote.family) {
		fprintf(stderr, "tcpdemux: %s: --local_ip and --remote_ip need two addresses of one family\n", o->file);
		srun_free(r);
		return 2;
	}
	r->st = stack_new(&po->cfg);
	if (!r->st || stack_add_addr(r->st, &local) < 0) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		srun_free(r);
		return 2;
	}
	r->env = code_env_new();
	if (!r->env) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		srun_free(r);
		return 2;
	}
	call_ctx_init(&r->cx, r->st, po);
	r->cx.local = local;
	r->cx.remote = remote;
	r->cx.bound_port = po->bind_port ? po->bind_port : SCRIPT_BOUND_PORT;
	r->cur_conn = -1;
	stack_set_observer(r->st, observe, r);
	status = run(r);
	if (status != 2)
		emit_summary(po->r, r->st, NULL);
	if (status == 0 && r->nout > r->headout && !po->quiet)
		fprintf(stderr, "%s: note: the stack sent %d segment(s) after the last expected one\n", o->file,
			r->nout - r->headout);
	srun_free(r);
	return status;
}

/* ---- options ---------------------------------------------------------------------------------- */

void script_opts_init(struct script_opts *o)
{
	memset(o, 0, sizeof(*o));
	stack_config_init(&o->cfg);
	o->cfg.model_cwnd = 1; /* a script shows Linux's sending, IW10 and slow start included */
	o->tolerance = 4 * VT_MSEC;
	o->tolerance_percent = 12.5;
}

const struct script_optdef script_optdefs[] = {
	{ "local_ip", 1, "the stack's address (default 192.168.0.1)" },
	{ "remote_ip", 1, "the remote's address (default 192.0.2.1)" },
	{ "ip_version", 1, "ipv4 or ipv6 (addresses fd3d:fa7b:d17d::1 and fd3d:fa7b:d17d:1::1)" },
	{ "bind_port", 1, "the port bind(..., ...) takes (default 8080)" },
	{ "connect_port", 1, "the port connect(..., ...) goes to (default 8080)" },
	{ "tolerance_usecs", 1, "how far a line's time may stray (default 4000)" },
	{ "tolerance_percent", 1, "or this share of the time since the line before, if more (default 12.5)" },
	{ "tcp_ts_tick_usecs", 1, "check outbound TS values against a clock of this tick (default: not)" },
	{ "tcp_ts_ecr_scaled", 0, "map inbound TS ecr values that name no sent value by offset" },
	{ "strict_segments", 0, "never join sent segments to match a longer expected one" },
	{ "define", 1, "NAME=VALUE (or -D NAME=VALUE): NAME in the script stands for VALUE" },
	{ "absolute_seq", 0, "tcpdemux: the remote's numbers as written, the stack's from its first ISN to an endpoint" },
	{ "send_omit_free", 0, "accepted (a memory detail of packetdrill's)" },
	{ "gateway_ip", 1, "accepted (no routing is simulated)" },
	{ "netmask_ip", 1, "accepted (no routing is simulated)" },
	{ NULL, 0, NULL },
};

static int parse_num(const char *v, double lo, double hi, double *out)
{
	char *e;

	if (!v || !*v)
		return -1;
	*out = strtod(v, &e);
	return *e || *out < lo || *out > hi ? -1 : 0;
}

int script_option(struct script_opts *o, const char *name, const char *value, char *err, size_t errlen)
{
	char n[64];
	size_t i;
	double d;

	for (i = 0; name[i] && i + 1 < sizeof(n); i++)
		n[i] = name[i] == '-' ? '_' : name[i];
	n[i] = '\0';
	for (i = 0; script_optdefs[i].name; i++)
		if (strcmp(script_optdefs[i].name, n) == 0)
			break;
	if (!script_optdefs[i].name) {
		snprintf(err, errlen, "packetdrill's option --%s is not modelled (see tcpdemux script --help)", name);
		return -1;
	}
	if (script_optdefs[i].has_value && !value) {
		snprintf(err, errlen, "--%s needs a value", name);
		return -1;
	}
	if (!script_optdefs[i].has_value && value) {
		snprintf(err, errlen, "--%s takes no value", name);
		return -1;
	}
	if (strcmp(n, "local_ip") == 0 || strcmp(n, "remote_ip") == 0) {
		struct ip_addr a;

		if (addr_parse(value, &a) < 0) {
			snprintf(err, errlen, "--%s needs an address, not '%s'", name, value);
			return -1;
		}
		if (n[0] == 'l')
			o->local_ip = value;
		else
			o->remote_ip = value;
	} else if (strcmp(n, "ip_version") == 0) {
		if (strcmp(value, "ipv4") != 0 && strcmp(value, "ipv6") != 0) {
			snprintf(err, errlen, "--ip_version takes ipv4 or ipv6, not '%s'%s", value,
				 strcmp(value, "ipv4-mapped-ipv6") == 0 ? " (mapped addresses are not modelled)" : "");
			return -1;
		}
		o->ipv6 = value[3] == '6';
	} else if (strcmp(n, "bind_port") == 0 || strcmp(n, "connect_port") == 0) {
		if (parse_num(value, 1, 65535, &d) < 0 || d != (double)(uint16_t)d) {
			snprintf(err, errlen, "--%s needs a port from 1 to 65535, not '%s'", name, value);
			return -1;
		}
		if (n[0] == 'b')
			o->bind_port = (uint16_t)d;
		else
			o->connect_port = (uint16_t)d;
	} else if (strcmp(n, "tolerance_usecs") == 0) {
		if (parse_num(value, 0, 10000000, &d) < 0) {
			snprintf(err, errlen, "--tolerance_usecs needs microseconds from 0 to 10000000, not '%s'", value);
			return -1;
		}
		o->tolerance = (vtime_t)d * VT_USEC;
	} else if (strcmp(n, "tolerance_percent") == 0) {
		if (parse_num(value, 0, 100, &d) < 0) {
			snprintf(err, errlen, "--tolerance_percent needs a share from 0 to 100, not '%s'", value);
			return -1;
		}
		o->tolerance_percent = d;
	} else if (strcmp(n, "tcp_ts_tick_usecs") == 0) {
		if (parse_num(value, 0, 1000000, &d) < 0) {
			snprintf(err, errlen, "--tcp_ts_tick_usecs needs microseconds from 0 to 1000000, not '%s'", value);
			return -1;
		}
		o->ts_tick_usecs = (uint32_t)d;
	} else if (strcmp(n, "tcp_ts_ecr_scaled") == 0) {
		o->ts_ecr_scaled = 1;
	} else if (strcmp(n, "strict_segments") == 0) {
		o->strict_segments = 1;
	} else if (strcmp(n, "absolute_seq") == 0) {
		o->absolute_seq = 1;
	} else if (strcmp(n, "define") == 0) {
		const char *eq = strchr(value, '=');
		size_t k;

		for (k = 0; eq && value + k < eq; k++)
			if (!(isalnum((unsigned char)value[k]) || value[k] == '_'))
				break;
		if (!eq || eq == value || value + k != eq) {
			snprintf(err, errlen, "--define needs NAME=VALUE, not '%s'", value);
			return -1;
		}
		if (o->ndefines == (int)(sizeof(o->defines) / sizeof(o->defines[0]))) {
			snprintf(err, errlen, "at most %zu --define options", sizeof(o->defines) / sizeof(o->defines[0]));
			return -1;
		}
		o->defines[o->ndefines++] = value;
	}
	return 0;
}
