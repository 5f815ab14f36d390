/*
 * render_text.c - the human-readable trace.
 *
 * Path: records (record.h) -> text_record() -> a line or two per record
 *       on the output stream.
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
	FILE *out;   /* where the trace goes (not owned) */
	int color;   /* ANSI highlights on */
	int replay;  /* a replay's run: say where a new request's ISN came from */
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

static void seg_line(struct text_renderer *r, const struct event *ev)
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
static void path_line(struct text_renderer *r, const struct event *ev)
{
	FILE *f = r->out;
	const struct listener_view *l = &ev->listener;
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
			ev->lookup.entry, ev->lookup.walked);
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
	render_outcome(f, ev, r->replay, r->color);
	fputc('\n', f);
}

void render_outcome(FILE *f, const struct event *ev, int replay, int color)
{
	/* the C() macro's view of the options */
	const struct {
		int color, replay;
	} opts = { color, replay }, *r = &opts;
	const struct listener_view *l = &ev->listener;
	const struct sock_view *s = &ev->sock;
	const char *why = reason_str(ev);

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
	case ACT_FASTOPEN:
		fprintf(f, "Fast Open cookie valid: sock #%u (SYN_RECV) made now, %u bytes queued, accept queue %u/%d -> SYN-ACK",
			s->id, ev->seg->len, l->accept_queue, l->backlog);
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
}

static void text_event(struct text_renderer *r, const struct event *ev)
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

static void text_call(struct text_renderer *r, vtime_t t, const struct rec_call *c)
{
	char ts[32];

	render_time(t, ts, sizeof(ts));
	if (c->ret < 0 && errno_name(c->ret))
		fprintf(r->out, "%10s       %s%s:%s %s = -1 %s", ts, C(r, BOLD), c->who, C(r, RESET), c->call,
			errno_name(c->ret));
	else
		fprintf(r->out, "%10s       %s%s:%s %s = %ld", ts, C(r, BOLD), c->who, C(r, RESET), c->call,
			c->ret);
	if (c->detail)
		fprintf(r->out, "  %s", c->detail);
	fputc('\n', r->out);
}

static void text_say(struct text_renderer *r, const char *text)
{
	fprintf(r->out, "%s%s%s\n", C(r, BOLD), text, C(r, RESET));
}

/* A queue's members: "#2 10.0.0.11:5001, #3 ..." */
static void queue_items(FILE *f, const struct sock_view *q, uint32_t n)
{
	char b[ADDR_STRLEN];
	uint32_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s#%u %s", i ? ", " : "", q[i].id,
			endpoint_format(&q[i].raddr, q[i].rport, b, sizeof(b)));
}

/*
 * The tables in ss -tan's columns (State, Recv-Q, Send-Q, Local
 * Address:Port, Peer Address:Port), then what the lookup needs and ss
 * does not show: the socket's number, its descriptor, and the listener's
 * queue members or the entry's ehash bucket. A listener's Recv-Q is its
 * accept queue and Send-Q its backlog, as ss shows them.
 */
#define SS_HEAD "    State      Recv-Q Send-Q Local Address:Port    Peer Address:Port     "

static void text_listener_full(FILE *f, const struct rec_listener *rl)
{
	const struct listener_view *l = &rl->l;
	char a[ADDR_STRLEN], p[ADDR_STRLEN], fd[16];

	snprintf(fd, sizeof(fd), "%d", l->fd);
	fprintf(f, "    %-10s %-6u %-6d %-21s %-21s #%-4u %-4s SYN queue %u [", "LISTEN", l->accept_queue, l->backlog,
		endpoint_format(&l->addr, l->port, a, sizeof(a)), render_ss_peer(&l->addr, p, sizeof(p)), l->id,
		l->fd >= 0 ? fd : "-", l->syn_queue);
	queue_items(f, rl->syn_q, rl->nsyn);
	fprintf(f, "]  accept queue %u [", l->accept_queue);
	queue_items(f, rl->accept_q, rl->naccept);
	fprintf(f, "]%s\n", l->reuseport ? "  reuseport" : "");
}

static void text_ehash(FILE *f, const struct sock_view *s)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], fd[16];

	snprintf(fd, sizeof(fd), "%d", s->fd);
	fprintf(f, "    %-10s %-6u %-6u %-21s %-21s #%-4u %-4s 0x%x\n", render_ss_state(s->state), s->recv_q, s->send_q,
		endpoint_format(&s->laddr, s->lport, a, sizeof(a)), endpoint_format(&s->raddr, s->rport, b, sizeof(b)),
		s->id, s->fd >= 0 ? fd : "-", s->bucket);
}

/* A snapshot the run shows; the ones only for renderers that follow the tables are not printed. */
static void text_tables(struct text_renderer *r, const struct rec_tables *t)
{
	FILE *f = r->out;
	uint32_t i;

	if (!t->asked)
		return;
	fprintf(f, "%s  listen table%s (listeners by local address:port; as ss -ltn: Recv-Q the accept queue, Send-Q the backlog)\n",
		C(r, DIM), C(r, RESET));
	fprintf(f, SS_HEAD "sock  fd   queues\n");
	for (i = 0; i < t->nlisteners; i++)
		text_listener_full(f, &t->listeners[i]);
	if (!t->nlisteners)
		fputs("    (none)\n", f);
	fprintf(f, "%s  ehash%s (%u buckets, seed %u; keyed on the full 4-tuple; as ss -tan)\n", C(r, DIM),
		C(r, RESET), t->buckets, t->seed);
	fprintf(f, SS_HEAD "sock  fd   bucket\n");
	for (i = 0; i < t->nehash; i++)
		text_ehash(f, &t->ehash[i]);
	if (!t->nehash)
		fputs("    (empty)\n", f);
	fputc('\n', f);
}

static void text_inferred(struct text_renderer *r, vtime_t t, const struct rec_inferred *in)
{
	char ts[32];

	render_time(t, ts, sizeof(ts));
	fprintf(r->out, "%10s       %sinferred%s %s %s: %s\n", ts, C(r, BOLD), C(r, RESET), in->what,
		in->subject, in->why);
}

static void vseg_str(const struct segment *s, char *buf, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN], fl[9];

	snprintf(buf, len, "%s > %s %s seq %u ack %u len %u", endpoint_format(&s->src, s->sport, a, sizeof(a)),
		 endpoint_format(&s->dst, s->dport, b, sizeof(b)), seg_flags_str(s->flags, fl), s->seq,
		 s->ack, s->len);
}

/* What one comparison found, after "verify ...: " (no newline). */
static void text_verify_what(FILE *f, const struct rec_verify *rep)
{
	char k[160], o[160], kt[32], ot[32], fields[64] = "", by[32];
	int i;

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
	if (!rep->ours)
		fprintf(f, "%s %s: the kernel sent %s at %s; the stack did not", rep->result, rep->cls, k, kt);
	else if (!rep->kernel)
		fprintf(f, "%s %s: the stack sent %s at %s; the kernel did not", rep->result, rep->cls, o, ot);
	else if (!rep->nfields)
		fprintf(f, "%s %s by %s: kernel %s at %s, stack at %s", rep->result, rep->cls,
			render_ms(rep->ours_t > rep->kernel_t ? rep->ours_t - rep->kernel_t : rep->kernel_t - rep->ours_t,
				  by, sizeof(by)),
			k, kt, ot);
	else
		fprintf(f, "%s %s: %s differ: kernel %s at %s, stack %s at %s", rep->result, rep->cls, fields, k, kt,
			o, ot);
}

/* A connection's first divergence (matched segments, the normal case, are not shown). */
static void text_verify(struct text_renderer *r, vtime_t when, const struct rec_verify *rep)
{
	char t[32];

	if (rep->matched)
		return;
	render_time(when, t, sizeof(t));
	fprintf(r->out, "%10s       %sverify%s first divergence: ", t, C(r, RED), C(r, RESET));
	text_verify_what(r->out, rep);
	fprintf(r->out, " (%s)\n", rep->cause ? rep->cause : "?");
}

/* A diverged connection, settled: its first divergence, and how much followed. */
static void text_verify_conn(struct text_renderer *r, vtime_t when, const struct rec_verify_conn *c)
{
	char t[32], ft[32], a[ADDR_STRLEN], b[ADDR_STRLEN];

	render_time(when, t, sizeof(t));
	render_time(c->first_t, ft, sizeof(ft));
	fprintf(r->out, "%10s       %sverify%s %s <- %s: diverged at %s (%s %s), %llu more difference%s followed of %llu compared; cause: %s\n",
		t, C(r, RED), C(r, RESET), endpoint_format(c->local, c->lport, a, sizeof(a)),
		endpoint_format(c->remote, c->rport, b, sizeof(b)), ft, c->first->result, c->first->cls,
		(unsigned long long)c->followed, c->followed == 1 ? "" : "s", (unsigned long long)c->compared, c->cause);
}

static void text_verify_totals(FILE *f, const struct rec_verify_totals *vs)
{
	int c;

	int n = 0;

	fprintf(f, "verify: control agreement %.3f\n", vs->agreement);
	if (vs->nothing)
		fprintf(f, "verify: failed: %s\n", vs->nothing);
	for (c = 0; c < vs->ncls; c++) {
		const struct rec_verify_class *k = &vs->cls[c];
		const char *unit = strcmp(k->name, "data") == 0 ? " bytes" : "";

		fprintf(f, "  %-8s %llu%s sent by the kernel: %llu matched, %llu missing, %llu differ; %llu extra; agreement %.3f",
			k->name, (unsigned long long)k->expected, unit,
			(unsigned long long)k->matched, (unsigned long long)k->missing,
			(unsigned long long)k->differs, (unsigned long long)k->extra, k->agreement);
		if (k->late)
			fprintf(f, "; %llu%s late or early", (unsigned long long)k->late, unit);
		fputc('\n', f);
	}
	if (vs->option_diffs)
		fprintf(f, "  %llu matched segments differ in window or options (reported, not counted)\n",
			(unsigned long long)vs->option_diffs);
	if (vs->uncounted)
		fprintf(f, "  %llu kernel segments answer what came before the capture (not compared)\n",
			(unsigned long long)vs->uncounted);
	fprintf(f, "  connections: %llu compared, %llu diverged", (unsigned long long)vs->connections,
		(unsigned long long)vs->diverged);
	for (c = 0; c < vs->ncauses; c++) {
		if (!vs->cause_conns[c])
			continue;
		fprintf(f, "%s %s %llu (%llu difference%s)", n++ ? "," : "; causes:", vs->cause_names[c],
			(unsigned long long)vs->cause_conns[c], (unsigned long long)vs->cause_segs[c],
			vs->cause_segs[c] == 1 ? "" : "s");
	}
	fputc('\n', f);
}

/* The summary's capture-point line: where, from how many handshakes, what was done. */
static void text_capture(FILE *f, const struct rec_capture *c)
{
	uint64_t n = c->handshakes[1] + c->handshakes[2] + c->handshakes[3] + c->handshakes[4];
	char a[48], b[48];

	if (!n) {
		fprintf(f, "capture point: unknown (no complete handshake); --capture-point %s\n", c->mode);
		return;
	}
	fprintf(f, "capture point: %s; SYN->SYN-ACK %s, SYN-ACK->ACK %s (medians of %llu handshake%s: %llu server side, %llu client side, %llu in between, %llu same host); ",
		c->side_words, render_ms(c->syn_synack, a, sizeof(a)), render_ms(c->synack_ack, b, sizeof(b)), (unsigned long long)n,
		n == 1 ? "" : "s", (unsigned long long)c->handshakes[1], (unsigned long long)c->handshakes[2],
		(unsigned long long)c->handshakes[3], (unsigned long long)c->handshakes[4]);
	if (c->delayed)
		fprintf(f, "%llu connection%s inbound segments delayed to the server's time (--capture-point %s)\n",
			(unsigned long long)c->delayed, c->delayed == 1 ? "'s" : "s'", c->mode);
	else
		fprintf(f, "nothing delayed (--capture-point %s)\n", c->mode);
}

static void text_replay_stats(FILE *f, const struct rec_replay *rs)
{
	int i;

	fprintf(f, "replayed %s (%s%s%s, %s timestamps): %llu frames", rs->file,
		rs->compression ? rs->compression : "", rs->compression ? "-compressed, " : "", rs->linktype,
		rs->precision, (unsigned long long)rs->frames);
	if (rs->filter)
		fprintf(f, ", %llu dropped by the filter '%s'", (unsigned long long)rs->filtered, rs->filter);
	fprintf(f, "; %llu TCP segments in, %llu out, %llu not to or from a local address\n",
		(unsigned long long)rs->inbound, (unsigned long long)rs->outbound, (unsigned long long)rs->ignored);
	fputs("skipped:", f);
	for (i = 0; i < rs->nskipped; i++)
		fprintf(f, "%s %s=%llu (first: frame %lld)", i ? "," : "", rs->skipped[i].reason,
			(unsigned long long)rs->skipped[i].count, (long long)rs->skipped[i].first_frame);
	fprintf(f, "%s\n", rs->nskipped ? "" : " none");
	fprintf(f, "ISNs: %llu taken from recorded SYN-ACKs, %llu chosen by the stack (no SYN-ACK in the capture)\n",
		(unsigned long long)rs->isn_recorded, (unsigned long long)rs->isn_own);
	if (rs->isn_rebased)
		fprintf(f, "%llu of the stack's ISNs were re-based to the recorded SYN-ACK's, read after the stack had answered\n",
			(unsigned long long)rs->isn_rebased);
	text_capture(f, &rs->capture);
	if (rs->listener_drops)
		fprintf(f, "%llu SYNs were dropped by the recorded listener (sent again before any answer): not replayed\n",
			(unsigned long long)rs->listener_drops);
	if (rs->synack_nosyn)
		fprintf(f, "%llu SYN-ACKs from %llu hosts without a SYN: reflection or capture started late; their senders were not taken as local (the first: %s, frame %lld)\n",
			(unsigned long long)rs->synack_nosyn, (unsigned long long)rs->nosyn_hosts,
			rs->nosyn_first ? rs->nosyn_first : "?", (long long)rs->nosyn_frame);
	if (rs->picked_up)
		fprintf(f, "%llu connections were already open when the capture started (picked up as ESTABLISHED)\n",
			(unsigned long long)rs->picked_up);
	if (rs->duplicates)
		fprintf(f, "%llu frames were in the capture twice (identical, within 10 ms): replayed once\n",
			(unsigned long long)rs->duplicates);
	if (rs->tso_length_0)
		fprintf(f, "%llu IPv4 frames had total length 0 (segmentation offload: captured before the card split them); read as captured\n",
			(unsigned long long)rs->tso_length_0);
	if (rs->payload_cut)
		fprintf(f, "%llu segments had payload cut by the snap length (replayed with zeros in its place)\n",
			(unsigned long long)rs->payload_cut);
	if (rs->header_cut)
		fprintf(f, "%llu segments had options or the window cut by the snap length (replayed with what was captured)\n",
			(unsigned long long)rs->header_cut);
}

static void text_live_stats(FILE *f, vtime_t t, const struct rec_live *lv)
{
	char ts[32];
	int i;

	render_time(t, ts, sizeof(ts));
	fprintf(f, "live on %s for %s s: %llu packets read, %llu TCP segments to the stack, %llu written, %llu write errors\n",
		lv->device, ts, (unsigned long long)lv->packets_read, (unsigned long long)lv->tcp_in,
		(unsigned long long)lv->packets_written, (unsigned long long)lv->write_errors);
	fputs("skipped:", f);
	for (i = 0; i < lv->nskipped; i++)
		fprintf(f, "%s %s=%llu (first: packet %lld)", i ? "," : "", lv->skipped[i].reason,
			(unsigned long long)lv->skipped[i].count, (long long)lv->skipped[i].first_frame);
	fprintf(f, "%s\n", lv->nskipped ? "" : " none");
	fprintf(f, "application %s: %llu accepted, %llu closed, %llu bytes read, %llu bytes sent, %llu HTTP responses, %llu errors\n",
		lv->app, (unsigned long long)lv->accepted, (unsigned long long)lv->closed,
		(unsigned long long)lv->bytes_in, (unsigned long long)lv->bytes_out,
		(unsigned long long)lv->responses, (unsigned long long)lv->app_errors);
}

/*
 * The summary's listeners: an ss -ltn row each, then what the listener
 * saw over the run, so the service that overflowed can be told from the
 * others (the counters are the whole stack's).
 */
static void text_listener_ends(struct text_renderer *r, const struct rec_summary *sum)
{
	FILE *f = r->out;
	uint32_t i;
	int c, n;

	if (!sum->nlisteners)
		return;
	fprintf(f, "listeners at the end (as ss -ltn shows them), and what each saw:\n");
	fprintf(f, "  State      Recv-Q Send-Q Local Address:Port    Peer Address:Port\n");
	for (i = 0; i < sum->nlisteners; i++) {
		const struct listener_view *l = &sum->listeners[i].l;
		const struct listener_stats *s = &sum->listeners[i].stats;
		char a[ADDR_STRLEN], p[ADDR_STRLEN], t1[32], t2[32];

		render_time(s->peak_syn_t, t1, sizeof(t1));
		render_time(s->peak_accept_t, t2, sizeof(t2));
		fprintf(f, "  %-10s %-6u %-6d %-21s %s\n", "LISTEN", l->accept_queue, l->backlog,
			endpoint_format(&l->addr, l->port, a, sizeof(a)), render_ss_peer(&l->addr, p, sizeof(p)));
		fprintf(f, "    %llu SYNs, %llu handshakes, SYN cookies %llu sent / %llu validated; drops:",
			(unsigned long long)s->syns, (unsigned long long)s->handshakes, (unsigned long long)s->cookies_sent,
			(unsigned long long)s->cookies_ok);
		for (c = n = 0; c < CNT_COUNT; c++)
			if (s->drops[c])
				fprintf(f, "%s %s=%llu", n++ ? "," : "", counter_name(c), (unsigned long long)s->drops[c]);
		fprintf(f, "%s\n", n ? "" : " none");
		fprintf(f, "    peak SYN queue %u", s->peak_syn);
		if (s->peak_syn)
			fprintf(f, " at %s s", t1);
		fprintf(f, ", peak accept queue %u", s->peak_accept);
		if (s->peak_accept)
			fprintf(f, " at %s s", t2);
		fputc('\n', f);
	}
}

static void text_summary(struct text_renderer *r, vtime_t t, const struct rec_summary *sum)
{
	FILE *f = r->out;
	const struct stack_totals *tot = &sum->sockets;
	int c, n = 0;

	if (sum->replay)
		text_replay_stats(f, sum->replay);
	if (sum->verify)
		text_verify_totals(f, sum->verify);
	if (sum->live)
		text_live_stats(f, t, sum->live);
	fprintf(f, "%ssummary%s: %llu segments in, %llu out; sockets: %u listening, %u established, "
		   "%u requests, %u TIME_WAIT, %u other\n",
		C(r, BOLD), C(r, RESET), (unsigned long long)sum->counters[CNT_INSEGS],
		(unsigned long long)sum->counters[CNT_OUTSEGS], tot->listeners, tot->established,
		tot->request, tot->timewait, tot->other);
	fputs("counters:", f);
	for (c = 0; c < CNT_COUNT; c++) {
		uint64_t v = sum->counters[c];

		if (v)
			fprintf(f, "%s %s=%llu", n++ % 6 == 0 && n > 1 ? "\n         " : "", counter_name(c),
				(unsigned long long)v);
	}
	fputc('\n', f);	text_listener_ends(r, sum);
}

/* A demo opens with its name, what to watch for and the seed; other runs say nothing yet. */
static void text_begin(struct text_renderer *r, const struct rec_begin *b)
{
	r->replay = b->kind == RUN_REPLAY;
	if (b->kind == RUN_DEMO)
		fprintf(r->out, "demo %s: %s\n\n%s\n\n(hash seed %u: --hash-seed %u repeats this run)\n\n",
			b->name, b->summary ? b->summary : "", b->intro ? b->intro : "", b->hash_seed,
			b->hash_seed);
}

static void text_record(struct renderer *rr, const struct record *rec)
{
	struct text_renderer *r = (struct text_renderer *)rr;

	switch (rec->type) {
	case REC_BEGIN:
		text_begin(r, rec->begin);
		break;
	case REC_EVENT:
		text_event(r, rec->event);
		break;
	case REC_CALL:
		text_call(r, rec->t, rec->call);
		break;
	case REC_SAY:
		text_say(r, rec->say);
		break;
	case REC_INFERRED:
		text_inferred(r, rec->t, rec->inferred);
		break;
	case REC_VERIFY:
		text_verify(r, rec->t, rec->verify);
		break;
	case REC_VERIFY_CONN:
		text_verify_conn(r, rec->t, rec->verify_conn);
		break;
	case REC_TABLES:
		text_tables(r, rec->tables);
		break;
	case REC_SUMMARY:
		text_summary(r, rec->t, rec->summary);
		break;
	default:
		break;
	}
}

static void text_destroy(struct renderer *r)
{
	free(r);
}

static const struct renderer_ops text_ops = { text_record, text_destroy };

struct renderer *render_text_new(FILE *out, int color)
{
	struct text_renderer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->r.ops = &text_ops;
	t->out = out;
	t->color = color;
	return &t->r;
}
