/*
 * annotate.c - see annotate.h. The words follow the text trace's
 * (render_text.c), shortened to one line without colour or alignment.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "annotate.h"

/* A comment being written: buf[0..n) so far, never past len - 1. */
struct words {
	char *buf;
	size_t len, n;
};

/* Appends a formatted piece; what does not fit is cut (the result stays terminated). */
static void __attribute__((format(printf, 2, 3))) say(struct words *w, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (w->n + 1 >= w->len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(w->buf + w->n, w->len - w->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		w->n += (size_t)r < w->len - w->n ? (size_t)r : w->len - w->n - 1;
}

size_t annotate_flags(const struct segment *seg, char *buf, size_t len)
{
	/* SYN, FIN and RST first, as people name them ("SYN-ACK", "FIN-ACK"); ACK last. */
	static const struct {
		uint8_t bit;
		const char *word;
	} order[] = {
		{ TH_SYN, "SYN" }, { TH_FIN, "FIN" }, { TH_RST, "RST" }, { TH_PSH, "PSH" },
		{ TH_URG, "URG" }, { TH_ECE, "ECE" }, { TH_CWR, "CWR" }, { TH_ACK, "ACK" },
	};
	struct words w = { buf, len, 0 };
	size_t i;
	int any = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (seg->flags & order[i].bit) {
			say(&w, "%s%s", any ? "-" : "", order[i].word);
			any = 1;
		}
	if (!any)
		say(&w, "no flags");
	if (seg->len)
		say(&w, " len %u", seg->len);
	return w.n;
}

/* " -> listener ADDR:PORT (exact|wildcard)": the listener lookup's answer (__inet_lookup_listener). */
static void listener_words(struct words *w, const struct event *ev)
{
	char ep[ADDR_STRLEN + 8];

	say(w, " -> listener %s (%s)", endpoint_format(&ev->listener.addr, ev->listener.port, ep, sizeof(ep)),
	    ev->lookup.wildcard ? "wildcard" : "exact");
}

/* The lookup: which table answered, and the socket it found. */
static void lookup_words(struct words *w, const struct event *ev)
{
	const struct listener_view *l = &ev->listener;
	char ep[ADDR_STRLEN + 8];

	say(w, "ehash[0x%x] ", ev->lookup.bucket);
	switch (ev->lookup.result) {
	case LOOKUP_ESTABLISHED:
	case LOOKUP_REQUEST:
	case LOOKUP_TIMEWAIT:
		if (ev->action == ACT_TW_RECYCLE) {
			/* tcp_v4_rcv(), TCP_TW_SYN: the SYN goes on to the listener lookup */
			say(w, "hit TIME_WAIT");
			if (ev->has_listener)
				listener_words(w, ev);
			return;
		}
		say(w, "hit %s #%u %s",
		    ev->lookup.result == LOOKUP_REQUEST    ? "request"
		    : ev->lookup.result == LOOKUP_TIMEWAIT ? "TIME_WAIT"
							   : "sock",
		    ev->sock.id, tcp_state_name(ev->sock.state));
		/* a duplicate SYN names the listener its request belongs to (req->rsk_listener) */
		if (ev->action == ACT_SYN_ACK_RTX && ev->has_listener)
			say(w, " of listener %s", endpoint_format(&l->addr, l->port, ep, sizeof(ep)));
		return;
	default:
		break;
	}
	if (ev->lookup.result == LOOKUP_LISTENER || ev->has_listener) {
		say(w, "miss");
		listener_words(w, ev);
		if (ev->lookup.reuseport)
			say(w, " reuseport group of %u", ev->lookup.group);
	} else {
		say(w, "miss -> no listener on %s", endpoint_format(&ev->seg->dst, ev->seg->dport, ep, sizeof(ep)));
	}
}

/* ", queue S/B full" for a queue past its backlog (the kernel's test is length > backlog). */
static const char *full(uint32_t n, int backlog)
{
	return (int64_t)n > backlog ? " full" : "";
}

/* What the stack did, after the lookup. */
static void outcome_words(struct words *w, const struct event *ev)
{
	const struct listener_view *l = &ev->listener;
	const char *why = ev->reason >= 0 ? counter_name(ev->reason) : NULL;

	switch (ev->action) {
	case ACT_SYN_ACK:
		say(w, "request #%u, SYN queue %u/%d -> SYN-ACK", ev->sock.id, l->syn_queue, l->backlog);
		break;
	case ACT_TW_RECYCLE:
		say(w, "reused by a newer SYN -> request #%u, SYN queue %u/%d -> SYN-ACK", ev->sock.id,
		    l->syn_queue, l->backlog);
		break;
	case ACT_SYN_ACK_RTX:
		say(w, "duplicate SYN -> SYN-ACK again");
		break;
	case ACT_COOKIE:
		if ((int64_t)l->syn_queue > l->backlog)
			say(w, "SYN queue %u/%d full -> SYN cookie (mss %u) -> SYN-ACK", l->syn_queue, l->backlog,
			    ev->cookie_mss);
		else
			say(w, "tcp_syncookies=2 -> SYN cookie (mss %u) -> SYN-ACK", ev->cookie_mss);
		break;
	case ACT_QUEUED:
		say(w, "handshake complete%s, accept queue %u/%d%s", ev->cookie ? " (valid SYN cookie)" : "",
		    l->accept_queue, l->backlog, full(l->accept_queue, l->backlog));
		if (ev->seg->len)
			say(w, ", %u bytes queued", ev->seg->len);
		break;
	case ACT_ESTABLISHED:
		say(w, "SYN-ACK for our SYN -> ACK");
		break;
	case ACT_FASTOPEN:
		say(w, "Fast Open: %u bytes taken, accept queue %u/%d -> SYN-ACK", ev->seg->len, l->accept_queue,
		    l->backlog);
		break;
	case ACT_DELIVER:
		say(w, "%u bytes delivered", ev->seg->len);
		break;
	case ACT_ACK:
		say(w, "ACK processed");
		break;
	case ACT_FIN:
		say(w, "FIN received");
		break;
	case ACT_RST:
		if (ev->reason == CNT_LISTENOVERFLOWS && ev->has_listener)
			say(w, "accept queue %u/%d full -> ", l->accept_queue, l->backlog);
		say(w, "RST sent");
		if (why)
			say(w, " (%s)", why);
		break;
	case ACT_RESET:
		say(w, "RST accepted, %s closed", ev->lookup.result == LOOKUP_REQUEST ? "request" : "connection");
		break;
	case ACT_CHALLENGE_ACK:
		say(w, "challenge ACK sent (RFC 5961)");
		break;
	case ACT_SEND_ACK:
		say(w, "not acceptable -> ACK sent");
		if (why)
			say(w, " (%s)", why);
		break;
	case ACT_DROP:
		if (ev->reason == CNT_LISTENOVERFLOWS && ev->has_listener)
			say(w, "accept queue %u/%d full -> ", l->accept_queue, l->backlog);
		else if (ev->reason == CNT_TCPREQQFULLDROP && ev->has_listener)
			say(w, "SYN queue %u/%d full -> ", l->syn_queue, l->backlog);
		say(w, "dropped");
		if (why)
			say(w, " (%s)", why);
		break;
	default:
		say(w, "%s", seg_action_name(ev->action));
		break;
	}
}

size_t annotate_inbound(const struct event *ev, char *buf, size_t len)
{
	struct words w = { buf, len, 0 };

	buf[0] = '\0';
	say(&w, "demux: ");
	lookup_words(&w, ev);
	say(&w, " -> ");
	outcome_words(&w, ev);
	return w.n;
}

size_t annotate_sent(const struct segment *seg, int cause, int64_t frame, const struct event *timer,
		     const char *call, char *buf, size_t len)
{
	struct words w = { buf, len, 0 };
	char fl[64];

	buf[0] = '\0';
	annotate_flags(seg, fl, sizeof(fl));
	say(&w, "tcpdemux: %s", fl);
	switch (cause) {
	case CAUSE_SEGMENT:
		say(&w, " answering #%lld", (long long)frame);
		break;
	case CAUSE_TIMER:
		say(&w, " by the timer of %s #%u", timer->sock.state == TCP_SYN_RECV ? "request" : "sock", timer->sock.id);
		if (timer->action == ACT_SYN_ACK_RTX || timer->action == ACT_RETRANSMIT)
			say(&w, " (retransmission %u)", timer->retries);
		else
			say(&w, " (%s)", seg_action_name(timer->action));
		break;
	case CAUSE_HOST:
		say(&w, " mirroring #%lld (the recorded host's part)", (long long)frame);
		break;
	default:
		if (call)
			say(&w, " after %s", call);
		else
			say(&w, " by the application");
		break;
	}
	return w.n;
}
