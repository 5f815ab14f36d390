/*
 * render_text.c - the human-readable trace.
 *
 * Each inbound segment gets two lines: what arrived, then the path the
 * lookup took and what the stack did, in words ("ehash[0x3a1] miss ->
 * listener 10.0.0.1:80 -> new request #4 (SYN_RECV), SYN queue 1/8 ->
 * SYN-ACK"). Tables are printed as aligned columns so that, in the demo,
 * the shared local port and the differing remote halves line up.
 * Colour only highlights; every fact is also in the words, so the output
 * reads the same on a projector, in a log file or through a screen reader.
 */
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "render.h"

struct text_renderer {
	struct renderer r;
	int count; /* rows printed by the current table walk */
};

/* ANSI attributes, used only when colour is on. */
#define C(r, code) ((r)->color ? (code) : "")
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"
#define RESET "\033[0m"

void render_time(vtime_t t, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(t / VT_SEC),
		 (unsigned long long)(t % VT_SEC / VT_USEC));
}

static void opts_str(const struct tcp_opts *o, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (o->has_mss)
		n += (size_t)snprintf(buf + n, len - n, "%smss %u", n ? "," : "", o->mss);
	if (o->sack_ok && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%ssackOK", n ? "," : "");
	if (o->has_ts && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%sTS val %u ecr %u", n ? "," : "", o->tsval,
				      o->tsecr);
	if (o->has_wscale && n < len)
		snprintf(buf + n, len - n, "%swscale %u", n ? "," : "", o->wscale);
}

static void seg_line(struct renderer *r, const struct event *ev)
{
	const struct segment *s = ev->seg;
	char t[32], a[ADDR_STRLEN], b[ADDR_STRLEN], fl[9], opts[128], n[24];
	int in = ev->type == EV_SEGMENT_IN;

	render_time(ev->t, t, sizeof(t));
	if (in && ev->frame >= 0)
		snprintf(n, sizeof(n), "#%lld", (long long)ev->frame);
	else
		n[0] = '\0';
	opts_str(&s->opt, opts, sizeof(opts));
	fprintf(r->out, "%10s %5s %s%-3s%s %21s > %-21s %-3s seq %u", t, n,
		C(r, in ? CYAN : YELLOW), in ? "in" : "out", C(r, RESET),
		endpoint_format(&s->src, s->sport, a, sizeof(a)),
		endpoint_format(&s->dst, s->dport, b, sizeof(b)), seg_flags_str(s->flags, fl), s->seq);
	if (s->flags & TH_ACK)
		fprintf(r->out, " ack %u", s->ack);
	fprintf(r->out, " win %u", s->win);
	if (s->len)
		fprintf(r->out, " len %u", s->len);
	if (opts[0])
		fprintf(r->out, " <%s>", opts);
	if (s->cut) {
		char cut[24];

		fprintf(r->out, " [snaplen cut: %s]", seg_cut_str(s->cut, cut));
	}
	fputc('\n', r->out);
}

static const char *reason_str(const struct event *ev)
{
	return ev->reason >= 0 ? counter_name(ev->reason) : NULL;
}

/* The second line of an inbound segment: lookup path, then outcome. */
static void path_line(struct renderer *r, const struct event *ev)
{
	FILE *f = r->out;
	const struct listener_view *l = &ev->listener;
	const struct sock_view *s = &ev->sock;
	const char *why = reason_str(ev);
	char le[ADDR_STRLEN];

	fprintf(f, "%17s ehash[0x%x] ", "", ev->lookup.bucket);
	switch (ev->lookup.result) {
	case LOOKUP_ESTABLISHED:
	case LOOKUP_REQUEST:
	case LOOKUP_TIMEWAIT:
		fprintf(f, "%shit%s %s #%u (walked %u)", C(r, GREEN), C(r, RESET),
			ev->lookup.result == LOOKUP_REQUEST    ? "request"
			: ev->lookup.result == LOOKUP_TIMEWAIT ? "TIME_WAIT"
							       : "sock",
			s->id, ev->lookup.walked);
		break;
	default:
		fprintf(f, "miss (walked %u)", ev->lookup.walked);
		if (ev->lookup.result == LOOKUP_LISTENER || (ev->has_listener && !ev->has_sock))
			fprintf(f, " -> listener #%u %s (%s)", l->id,
				endpoint_format(&l->addr, l->port, le, sizeof(le)),
				ev->lookup.wildcard ? "wildcard" : "exact address");
		else
			fprintf(f, " -> no listener on %s",
				endpoint_format(&ev->seg->dst, ev->seg->dport, le, sizeof(le)));
		if (ev->lookup.reuseport)
			fprintf(f, " [reuseport group of %u]", ev->lookup.group);
		break;
	}
	fputs(" -> ", f);
	switch (ev->action) {
	case ACT_SYN_ACK:
	case ACT_TW_RECYCLE:
		if (ev->action == ACT_TW_RECYCLE)
			fputs("TIME_WAIT entry reused by a newer SYN -> ", f);
		fprintf(f, "new request #%u (SYN_RECV), SYN queue %u/%d -> SYN-ACK", s->id, l->syn_queue,
			l->backlog);
		if (ev->action == ACT_TW_RECYCLE)
			fputs(" (ISN = the old connection's snd_nxt + 65537)", f);
		else if (r->replay)
			fputs(ev->isn_adopted ? " (ISN from the capture)" : " (own ISN: no SYN-ACK in the capture)", f);
		break;
	case ACT_SYN_ACK_RTX:
		fputs("duplicate SYN -> SYN-ACK sent again", f);
		break;
	case ACT_COOKIE:
		fprintf(f, "SYN queue %u/%d %s -> SYN cookie (mss %u), no state kept -> SYN-ACK%s",
			l->syn_queue, l->backlog, l->syn_queue > (uint32_t)l->backlog ? "full" : "(tcp_syncookies=2)",
			ev->cookie_mss, r->replay ? (ev->isn_adopted ? " (cookie from the capture)" : " (own cookie)") : "");
		break;
	case ACT_QUEUED:
		if (ev->cookie)
			fprintf(f, "valid SYN cookie (%s, mss %u) -> ",
				ev->isn_adopted ? "the one the capture's SYN-ACK issued" : "decoded", ev->cookie_mss);
		fprintf(f, "handshake complete: sock #%u %s, accept queue %u/%d", s->id,
			tcp_state_name(s->state), l->accept_queue, l->backlog);
		if (ev->seg->len)
			fprintf(f, ", %u bytes queued", ev->seg->len);
		break;
	case ACT_ESTABLISHED:
		fprintf(f, "SYN-ACK for our SYN: sock #%u ESTABLISHED -> ACK", s->id);
		break;
	case ACT_DELIVER:
		fprintf(f, "%u bytes delivered (%s)", ev->seg->len, tcp_state_name(s->state));
		break;
	case ACT_ACK:
		fprintf(f, "ACK processed (%s)", tcp_state_name(s->state));
		break;
	case ACT_FIN:
		fprintf(f, "FIN received -> %s", tcp_state_name(s->state));
		break;
	case ACT_RST:
		if (ev->reason == CNT_LISTENOVERFLOWS)
			fprintf(f, "accept queue full (%u > backlog %d), tcp_abort_on_overflow=1 -> RST",
				l->accept_queue, l->backlog);
		else if (ev->reason == CNT_TCPINVALIDACK && ev->lookup.result == LOOKUP_REQUEST)
			fprintf(f, "ack is not the SYN-ACK's ISN+1 -> %sRST%s seq=SEG.ACK, request kept (TCPInvalidAck)",
				C(r, RED), C(r, RESET));
		else if (ev->reason == CNT_TCPFLAGS && ev->lookup.result == LOOKUP_LISTENER)
			fprintf(f, "ACK with no request and no valid cookie -> %sRST%s seq=SEG.ACK (TCPFlags)",
				C(r, RED), C(r, RESET));
		else if (ev->reason == CNT_EMBRYONICRSTS)
			fprintf(f, "SYN inside the request's window -> %sRST%s, request dropped (EmbryonicRsts)",
				C(r, RED), C(r, RESET));
		else if (ev->reason == CNT_TCPABORTONDATA)
			fprintf(f, "data after close() -> %sRST%s (TCPAbortOnData)", C(r, RED), C(r, RESET));
		else
			fprintf(f, "%sRST%s (%s)", C(r, RED), C(r, RESET), why ? why : "");
		break;
	case ACT_RESET:
		if (ev->lookup.result == LOOKUP_REQUEST)
			fprintf(f, "in-window RST: request #%u removed silently", s->id);
		else
			fprintf(f, "RST accepted: #%u closed", s->id);
		break;
	case ACT_CHALLENGE_ACK:
		fprintf(f, "challenge ACK (RFC 5961)%s%s", why && ev->reason != CNT_TCPCHALLENGEACK ? ", " : "",
			why && ev->reason != CNT_TCPCHALLENGEACK ? why : "");
		break;
	case ACT_SEND_ACK:
		fprintf(f, "not acceptable here -> ACK sent%s%s%s", why ? " (" : "", why ? why : "",
			why ? ")" : "");
		break;
	case ACT_DROP:
		if (ev->reason == CNT_LISTENOVERFLOWS && ev->lookup.result == LOOKUP_LISTENER)
			fprintf(f, "%saccept queue full (%u > backlog %d): SYN dropped%s, ListenOverflows+1",
				C(r, RED), l->accept_queue, l->backlog, C(r, RESET));
		else if (ev->reason == CNT_LISTENOVERFLOWS)
			fprintf(f, "%saccept queue full (%u > backlog %d): ACK dropped%s, request kept, ListenOverflows+1",
				C(r, RED), l->accept_queue, l->backlog, C(r, RESET));
		else if (ev->reason == CNT_TCPREQQFULLDROP)
			fprintf(f, "%sSYN queue full (%u > backlog %d), no cookies: SYN dropped%s",
				C(r, RED), l->syn_queue, l->backlog, C(r, RESET));
		else
			fprintf(f, "%sdropped%s%s%s%s", C(r, RED), C(r, RESET), why ? " (" : "",
				why ? why : "", why ? ")" : "");
		break;
	default:
		fputs(seg_action_name(ev->action), f);
		break;
	}
	fputc('\n', f);
}

static void text_event(struct renderer *r, const struct event *ev)
{
	char t[32], a[ADDR_STRLEN], b[ADDR_STRLEN], c[ADDR_STRLEN];

	switch (ev->type) {
	case EV_SEGMENT_IN:
		seg_line(r, ev);
		path_line(r, ev);
		break;
	case EV_SEGMENT_OUT:
		seg_line(r, ev);
		break;
	case EV_ACCEPT:
		render_time(ev->t, t, sizeof(t));
		fprintf(r->out,
			"%10s       %saccept%s on %s -> fd %d = sock #%u  local %s  remote %s, accept queue now %u\n",
			t, C(r, BOLD), C(r, RESET),
			endpoint_format(&ev->listener.addr, ev->listener.port, a, sizeof(a)), ev->sock.fd,
			ev->sock.id, endpoint_format(&ev->sock.laddr, ev->sock.lport, b, sizeof(b)),
			endpoint_format(&ev->sock.raddr, ev->sock.rport, c, sizeof(c)),
			ev->listener.accept_queue);
		break;
	case EV_TIMER:
		render_time(ev->t, t, sizeof(t));
		fprintf(r->out, "%10s       timer  #%u %s: %s", t, ev->sock.id,
			tcp_state_name(ev->sock.state), seg_action_name(ev->action));
		if (ev->action == ACT_SYN_ACK_RTX || ev->action == ACT_RETRANSMIT)
			fprintf(r->out, " (retransmission %u)", ev->retries);
		fputc('\n', r->out);
		break;
	default:
		break;
	}
}

static void text_call(struct renderer *r, vtime_t t, const char *who, const char *call, long ret,
		      const char *detail)
{
	char ts[32];

	render_time(t, ts, sizeof(ts));
	if (ret < 0 && errno_name(ret))
		fprintf(r->out, "%10s       %s%s:%s %s = -1 %s", ts, C(r, BOLD), who, C(r, RESET), call,
			errno_name(ret));
	else
		fprintf(r->out, "%10s       %s%s:%s %s = %ld", ts, C(r, BOLD), who, C(r, RESET), call, ret);
	if (detail)
		fprintf(r->out, "  %s", detail);
	fputc('\n', r->out);
}

static void text_say(struct renderer *r, const char *text)
{
	fprintf(r->out, "%s%s%s\n", C(r, BOLD), text, C(r, RESET));
}

struct qwalk {
	FILE *f;
	int n;
};

static void q_item(void *ctx, const struct sock_view *s)
{
	struct qwalk *q = ctx;
	char b[ADDR_STRLEN];

	fprintf(q->f, "%s#%u %s", q->n++ ? ", " : "", s->id, endpoint_format(&s->raddr, s->rport, b, sizeof(b)));
}

struct tables_ctx {
	struct text_renderer *tr;
	struct stack *st;
};

static void text_listener_full(void *ctx, const struct listener_view *l)
{
	struct tables_ctx *tc = ctx;
	FILE *f = tc->tr->r.out;
	struct qwalk q = { f, 0 };
	char a[ADDR_STRLEN], fd[16];

	snprintf(fd, sizeof(fd), "%d", l->fd);
	fprintf(f, "    #%-4u %-4s %-21s %7d%s  SYN queue %u [", l->id, l->fd >= 0 ? fd : "-",
		endpoint_format(&l->addr, l->port, a, sizeof(a)), l->backlog,
		l->reuseport ? " reuseport" : "", l->syn_queue);
	tc->tr->count++;
	stack_walk_syn_queue(tc->st, l->id, q_item, &q);
	fprintf(f, "]  accept queue %u [", l->accept_queue);
	q.n = 0;
	stack_walk_accept_queue(tc->st, l->id, q_item, &q);
	fputs("]\n", f);
}

static void text_ehash(void *ctx, const struct sock_view *s)
{
	struct tables_ctx *tc = ctx;
	FILE *f = tc->tr->r.out;
	char a[ADDR_STRLEN], b[ADDR_STRLEN], fd[16];

	snprintf(fd, sizeof(fd), "%d", s->fd);
	fprintf(f, "    0x%-6x #%-4u %-4s %-21s %-21s %s\n", s->bucket, s->id, s->fd >= 0 ? fd : "-",
		endpoint_format(&s->laddr, s->lport, a, sizeof(a)),
		endpoint_format(&s->raddr, s->rport, b, sizeof(b)), tcp_state_name(s->state));
	tc->tr->count++;
}

static void text_tables(struct renderer *r, struct stack *st)
{
	struct text_renderer *tr = (struct text_renderer *)r;
	struct tables_ctx tc = { tr, st };
	FILE *f = r->out;

	fprintf(f, "%s  listen table%s (listeners by local address:port)\n", C(r, DIM), C(r, RESET));
	fprintf(f, "    %-5s %-4s %-21s %7s\n", "sock", "fd", "local", "backlog");
	tr->count = 0;
	stack_walk_listeners(st, text_listener_full, &tc);
	if (!tr->count)
		fputs("    (none)\n", f);
	fprintf(f, "%s  ehash%s (%u buckets, seed %u; keyed on the full 4-tuple)\n", C(r, DIM),
		C(r, RESET), stack_buckets(st), stack_seed(st));
	fprintf(f, "    %-8s %-5s %-4s %-21s %-21s %s\n", "bucket", "sock", "fd", "local", "remote",
		"state");
	tr->count = 0;
	stack_walk_ehash(st, text_ehash, &tc);
	if (!tr->count)
		fputs("    (empty)\n", f);
	fputc('\n', f);
}

static void text_inferred(struct renderer *r, vtime_t t, const char *what, const char *subject,
			  const char *why)
{
	char ts[32];

	render_time(t, ts, sizeof(ts));
	fprintf(r->out, "%10s       %sinferred%s %s %s: %s\n", ts, C(r, BOLD), C(r, RESET), what, subject,
		why);
}

static void vseg_str(const struct segment *s, char *buf, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], fl[9];

	snprintf(buf, len, "%s > %s %s seq %u ack %u len %u", endpoint_format(&s->src, s->sport, a, sizeof(a)),
		 endpoint_format(&s->dst, s->dport, b, sizeof(b)), seg_flags_str(s->flags, fl), s->seq,
		 s->ack, s->len);
}

/* Mismatches only: a matched segment is the normal case and says nothing new. */
static void text_verify(struct renderer *r, const struct verify_report *rep)
{
	char t[32], k[160], o[160], kt[32], ot[32], fields[64] = "";
	int i;

	if (rep->result == VR_MATCHED)
		return;
	render_time(rep->t, t, sizeof(t));
	if (rep->kernel) {
		vseg_str(rep->kernel, k, sizeof(k));
		render_time(rep->kernel_t, kt, sizeof(kt));
	}
	if (rep->ours) {
		vseg_str(rep->ours, o, sizeof(o));
		render_time(rep->ours_t, ot, sizeof(ot));
	}
	for (i = 0; i < rep->nfields; i++) {
		strncat(fields, i ? ", " : "", sizeof(fields) - strlen(fields) - 1);
		strncat(fields, rep->fields[i], sizeof(fields) - strlen(fields) - 1);
	}
	fprintf(r->out, "%10s       %sverify%s %s %s: ", t, C(r, RED), C(r, RESET),
		verify_result_name(rep->result), verify_class_name(rep->cls));
	if (rep->result == VR_MISSING)
		fprintf(r->out, "the kernel sent %s at %s; the stack did not\n", k, kt);
	else if (rep->result == VR_EXTRA)
		fprintf(r->out, "the stack sent %s at %s; the kernel did not\n", o, ot);
	else
		fprintf(r->out, "%s differ: kernel %s at %s, stack %s at %s\n", fields, k, kt, o, ot);
}

static void text_verify_stats(FILE *f, const struct verify_stats *vs)
{
	int c;

	fprintf(f, "verify: control agreement %.3f\n", verify_agreement(&vs->c[VC_CONTROL]));
	for (c = 0; c < VC_COUNT; c++) {
		const struct verify_class_stats *k = &vs->c[c];

		fprintf(f, "  %-8s %llu sent by the kernel: %llu matched, %llu missing, %llu differ; %llu extra; agreement %.3f\n",
			verify_class_name(c), (unsigned long long)k->expected,
			(unsigned long long)k->matched, (unsigned long long)k->missing,
			(unsigned long long)k->differs, (unsigned long long)k->extra, verify_agreement(k));
	}
	if (vs->option_diffs)
		fprintf(f, "  %llu matched segments differ in window or options (reported, not counted)\n",
			(unsigned long long)vs->option_diffs);
}

static void text_replay_stats(FILE *f, const struct replay_stats *rs)
{
	int i, n = 0;

	fprintf(f, "replayed %s (%s%s%s, %s timestamps): %llu frames", rs->file,
		rs->compression ? rs->compression : "", rs->compression ? "-compressed, " : "", rs->linktype,
		rs->precision, (unsigned long long)rs->frames);
	if (rs->filter)
		fprintf(f, ", %llu dropped by the filter '%s'", (unsigned long long)rs->filtered, rs->filter);
	fprintf(f, "; %llu TCP segments in, %llu out, %llu not to or from a local address\n",
		(unsigned long long)rs->inbound, (unsigned long long)rs->outbound, (unsigned long long)rs->ignored);
	fputs("skipped:", f);
	for (i = 1; i < SKIP_COUNT; i++)
		if (rs->skipped[i])
			fprintf(f, "%s %s=%llu (first: frame %lld)", n++ ? "," : "", frame_skip_name(i),
				(unsigned long long)rs->skipped[i], (long long)rs->first_skipped[i]);
	fprintf(f, "%s\n", n ? "" : " none");
	fprintf(f, "ISNs: %llu taken from recorded SYN-ACKs, %llu chosen by the stack (no SYN-ACK in the capture)\n",
		(unsigned long long)rs->isn_recorded, (unsigned long long)rs->isn_own);
	if (rs->picked_up)
		fprintf(f, "%llu connections were already open when the capture started (picked up as ESTABLISHED)\n",
			(unsigned long long)rs->picked_up);
	if (rs->payload_cut)
		fprintf(f, "%llu segments had payload cut by the snap length (replayed with zeros in its place)\n",
			(unsigned long long)rs->payload_cut);
	if (rs->header_cut)
		fprintf(f, "%llu segments had options or the window cut by the snap length (replayed with what was captured)\n",
			(unsigned long long)rs->header_cut);
}

static void text_summary(struct renderer *r, struct stack *st, const struct replay_stats *rs)
{
	FILE *f = r->out;
	struct stack_totals tot;
	int c, n = 0;

	if (rs)
		text_replay_stats(f, rs);
	if (rs && rs->verify)
		text_verify_stats(f, rs->verify);
	stack_totals(st, &tot);
	fprintf(f, "%ssummary%s: %llu segments in, %llu out; sockets: %u listening, %u established, "
		   "%u requests, %u TIME_WAIT, %u other\n",
		C(r, BOLD), C(r, RESET), (unsigned long long)stack_counter(st, CNT_INSEGS),
		(unsigned long long)stack_counter(st, CNT_OUTSEGS), tot.listeners, tot.established,
		tot.request, tot.timewait, tot.other);
	fputs("counters:", f);
	for (c = 0; c < CNT_COUNT; c++) {
		uint64_t v = stack_counter(st, c);

		if (v)
			fprintf(f, "%s %s=%llu", n++ % 6 == 0 && n > 1 ? "\n         " : "", counter_name(c),
				(unsigned long long)v);
	}
	fputc('\n', f);
}

static void text_destroy(struct renderer *r)
{
	free(r);
}

static const struct renderer_ops text_ops = {
	text_event, text_call, text_say, text_tables, text_summary, text_inferred, text_verify,
	text_destroy,
};

struct renderer *render_text_new(FILE *out, int color)
{
	struct text_renderer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->r.ops = &text_ops;
	t->r.out = out;
	t->r.color = color;
	return &t->r;
}
