/*
 * render_json.c - the JSON Lines interface (docs/json.md).
 *
 * One object per line, each with a "type". This is a stable interface:
 * fields are added, never renamed or removed, so scripts written against
 * one version keep working.
 */
#include <stdlib.h>
#include <string.h>

#include "errname.h"
#include "render.h"

struct json_renderer {
	struct renderer r;
	int first; /* first element of the array being written */
};

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void jendpoint(FILE *f, const struct ip_addr *a, uint16_t port)
{
	char buf[ADDR_STRLEN];

	jstr(f, endpoint_format(a, port, buf, sizeof(buf)));
}

static void jaddr(FILE *f, const struct ip_addr *a)
{
	char buf[ADDR_STRLEN];

	jstr(f, addr_format(a, buf, sizeof(buf)));
}

static void jtime(FILE *f, vtime_t t)
{
	char buf[32];

	render_time(t, buf, sizeof(buf));
	fputs(buf, f);
}

static void json_segment(FILE *f, const struct event *ev)
{
	const struct segment *s = ev->seg;
	char flags[9];

	fputs("{\"type\":\"segment\",\"n\":", f);
	if (ev->frame >= 0 && ev->type == EV_SEGMENT_IN)
		fprintf(f, "%lld", (long long)ev->frame);
	else
		fputs("null", f);
	fputs(",\"t\":", f);
	jtime(f, ev->t);
	fprintf(f, ",\"dir\":\"%s\",\"src\":", ev->type == EV_SEGMENT_IN ? "in" : "out");
	jaddr(f, &s->src);
	fprintf(f, ",\"sport\":%u,\"dst\":", s->sport);
	jaddr(f, &s->dst);
	fprintf(f, ",\"dport\":%u,\"flags\":\"%s\",\"seq\":%u,\"ack\":%u,\"len\":%u,\"win\":%u",
		s->dport, seg_flags_str(s->flags, flags), s->seq, s->ack, s->len, s->win);
	if (ev->type != EV_SEGMENT_IN) {
		fputs("}\n", f);
		return;
	}
	fprintf(f, ",\"lookup\":{\"hash\":%u,\"bucket\":%u,\"walked\":%u,\"result\":\"%s\"",
		ev->lookup.hash, ev->lookup.bucket, ev->lookup.walked,
		lookup_result_name(ev->lookup.result));
	if (ev->has_listener)
		fprintf(f, ",\"wildcard\":%s", ev->lookup.wildcard ? "true" : "false");
	if (ev->lookup.reuseport)
		fprintf(f, ",\"reuseport_group\":%u", ev->lookup.group);
	fputs("},\"listener\":", f);
	if (ev->has_listener)
		jendpoint(f, &ev->listener.addr, ev->listener.port);
	else
		fputs("null", f);
	fputs(",\"sock\":", f);
	if (ev->has_sock)
		fprintf(f, "%u,\"state\":\"%s\"", ev->sock.id, tcp_state_name(ev->sock.state));
	else
		fputs("null,\"state\":null", f);
	fprintf(f, ",\"action\":\"%s\",\"reason\":", seg_action_name(ev->action));
	if (ev->reason >= 0)
		jstr(f, counter_name(ev->reason));
	else
		fputs("null", f);
	if (ev->has_listener)
		fprintf(f, ",\"queues\":{\"syn\":%u,\"accept\":%u,\"backlog\":%d}",
			ev->listener.syn_queue, ev->listener.accept_queue, ev->listener.backlog);
	if (ev->cookie)
		fprintf(f, ",\"cookie\":{\"mss\":%u}", ev->cookie_mss);
	if (ev->action == ACT_SYN_ACK || ev->action == ACT_TW_RECYCLE)
		fprintf(f, ",\"isn\":\"%s\"", ev->action == ACT_TW_RECYCLE ? "timewait"
					       : ev->isn_adopted       ? "recorded"
								       : "own");
	fputs("}\n", f);
}

static void json_event(struct renderer *r, const struct event *ev)
{
	FILE *f = r->out;

	switch (ev->type) {
	case EV_SEGMENT_IN:
	case EV_SEGMENT_OUT:
		json_segment(f, ev);
		break;
	case EV_ACCEPT:
		fputs("{\"type\":\"accept\",\"t\":", f);
		jtime(f, ev->t);
		fputs(",\"listener\":", f);
		jendpoint(f, &ev->listener.addr, ev->listener.port);
		fprintf(f, ",\"sock\":%d,\"id\":%u,\"local\":", ev->sock.fd, ev->sock.id);
		jendpoint(f, &ev->sock.laddr, ev->sock.lport);
		fputs(",\"remote\":", f);
		jendpoint(f, &ev->sock.raddr, ev->sock.rport);
		fprintf(f, ",\"state\":\"%s\",\"queue_after\":%u}\n", tcp_state_name(ev->sock.state),
			ev->listener.accept_queue);
		break;
	case EV_TIMER:
		fputs("{\"type\":\"timer\",\"t\":", f);
		jtime(f, ev->t);
		fprintf(f, ",\"sock\":%u,\"state\":\"%s\",\"action\":\"%s\",\"retries\":%u}\n",
			ev->sock.id, tcp_state_name(ev->sock.state), seg_action_name(ev->action),
			ev->retries);
		break;
	default:
		/* Socket life-cycle events are implied by segment lines and tables. */
		break;
	}
}

static void json_call(struct renderer *r, vtime_t t, const char *who, const char *call, long ret,
		      const char *detail)
{
	FILE *f = r->out;

	fputs("{\"type\":\"call\",\"t\":", f);
	jtime(f, t);
	fputs(",\"who\":", f);
	jstr(f, who);
	fputs(",\"call\":", f);
	jstr(f, call);
	if (ret < 0 && errno_name(ret)) {
		fprintf(f, ",\"ret\":-1,\"errno\":");
		jstr(f, errno_name(ret));
	} else {
		fprintf(f, ",\"ret\":%ld,\"errno\":null", ret);
	}
	fputs(",\"detail\":", f);
	if (detail)
		jstr(f, detail);
	else
		fputs("null", f);
	fputs("}\n", f);
}

static void json_say(struct renderer *r, const char *text)
{
	(void)r;
	(void)text;
}

static void json_listener(void *ctx, const struct listener_view *l)
{
	struct json_renderer *j = ctx;
	FILE *f = j->r.out;

	fprintf(f, "%s{\"sock\":%u,\"fd\":%d,\"addr\":", j->first ? "" : ",", l->id, l->fd);
	jaddr(f, &l->addr);
	fprintf(f, ",\"port\":%u,\"backlog\":%d,\"syn_queue\":%u,\"accept_queue\":%u,\"reuseport\":%s}",
		l->port, l->backlog, l->syn_queue, l->accept_queue, l->reuseport ? "true" : "false");
	j->first = 0;
}

static void json_ehash(void *ctx, const struct sock_view *s)
{
	struct json_renderer *j = ctx;
	FILE *f = j->r.out;

	fprintf(f, "%s{\"bucket\":%u,\"sock\":%u,\"state\":\"%s\",\"local\":", j->first ? "" : ",",
		s->bucket, s->id, tcp_state_name(s->state));
	jendpoint(f, &s->laddr, s->lport);
	fputs(",\"remote\":", f);
	jendpoint(f, &s->raddr, s->rport);
	fputs(",\"fd\":", f);
	if (s->fd >= 0)
		fprintf(f, "%d", s->fd);
	else
		fputs("null", f);
	fputc('}', f);
	j->first = 0;
}

static void json_tables(struct renderer *r, struct stack *st)
{
	struct json_renderer *j = (struct json_renderer *)r;
	FILE *f = r->out;

	fputs("{\"type\":\"tables\",\"t\":", f);
	jtime(f, stack_now(st));
	fprintf(f, ",\"buckets\":%u,\"listeners\":[", stack_buckets(st));
	j->first = 1;
	stack_walk_listeners(st, json_listener, j);
	fputs("],\"ehash\":[", f);
	j->first = 1;
	stack_walk_ehash(st, json_ehash, j);
	fputs("]}\n", f);
}

static void json_inferred(struct renderer *r, vtime_t t, const char *what, const char *subject,
			  const char *why)
{
	FILE *f = r->out;

	fputs("{\"type\":\"inferred\",\"t\":", f);
	jtime(f, t);
	fputs(",\"what\":", f);
	jstr(f, what);
	fputs(",\"subject\":", f);
	jstr(f, subject);
	fputs(",\"why\":", f);
	jstr(f, why);
	fputs("}\n", f);
}

static void json_vseg(FILE *f, const struct segment *s, vtime_t t)
{
	char flags[9];

	if (!s) {
		fputs("null", f);
		return;
	}
	fputs("{\"t\":", f);
	jtime(f, t);
	fputs(",\"src\":", f);
	jendpoint(f, &s->src, s->sport);
	fputs(",\"dst\":", f);
	jendpoint(f, &s->dst, s->dport);
	fprintf(f, ",\"flags\":\"%s\",\"seq\":%u,\"ack\":%u,\"len\":%u,\"win\":%u}",
		seg_flags_str(s->flags, flags), s->seq, s->ack, s->len, s->win);
}

static void json_verify(struct renderer *r, const struct verify_report *rep)
{
	FILE *f = r->out;
	int i;

	fputs("{\"type\":\"verify\",\"t\":", f);
	jtime(f, rep->t);
	fprintf(f, ",\"result\":\"%s\",\"class\":\"%s\",\"kernel\":", verify_result_name(rep->result),
		verify_class_name(rep->cls));
	json_vseg(f, rep->kernel, rep->kernel_t);
	fputs(",\"ours\":", f);
	json_vseg(f, rep->ours, rep->ours_t);
	fputs(",\"fields\":[", f);
	for (i = 0; i < rep->nfields; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", rep->fields[i]);
	fputs("]}\n", f);
}

static void json_verify_stats(FILE *f, const struct verify_stats *vs)
{
	int c;

	fprintf(f, "\"verify\":{\"agreement\":%.6f", verify_agreement(&vs->c[VC_CONTROL]));
	for (c = 0; c < VC_COUNT; c++) {
		const struct verify_class_stats *k = &vs->c[c];

		fprintf(f, ",\"%s\":{\"expected\":%llu,\"matched\":%llu,\"missing\":%llu,\"extra\":%llu,"
			   "\"differs\":%llu,\"agreement\":%.6f}",
			verify_class_name(c), (unsigned long long)k->expected,
			(unsigned long long)k->matched, (unsigned long long)k->missing,
			(unsigned long long)k->extra, (unsigned long long)k->differs, verify_agreement(k));
	}
	fprintf(f, ",\"option_diffs\":%llu},", (unsigned long long)vs->option_diffs);
}

static void json_replay_stats(FILE *f, const struct replay_stats *rs)
{
	int i, n = 0;

	fputs("\"replay\":{\"file\":", f);
	jstr(f, rs->file);
	fputs(",\"linktype\":", f);
	jstr(f, rs->linktype);
	fputs(",\"timestamps\":", f);
	jstr(f, rs->precision);
	fprintf(f, ",\"frames\":%llu,\"inbound\":%llu,\"outbound\":%llu,"
		   "\"ignored\":%llu,\"payload_cut\":%llu,\"picked_up\":%llu,"
		   "\"isn\":{\"recorded\":%llu,\"own\":%llu},\"skipped\":{",
		(unsigned long long)rs->frames,
		(unsigned long long)rs->inbound, (unsigned long long)rs->outbound,
		(unsigned long long)rs->ignored, (unsigned long long)rs->payload_cut,
		(unsigned long long)rs->picked_up, (unsigned long long)rs->isn_recorded,
		(unsigned long long)rs->isn_own);
	for (i = 1; i < SKIP_COUNT; i++)
		if (rs->skipped[i])
			fprintf(f, "%s\"%s\":%llu", n++ ? "," : "", frame_skip_name(i),
				(unsigned long long)rs->skipped[i]);
	fputs("},\"first_skipped\":{", f);
	for (i = 1, n = 0; i < SKIP_COUNT; i++)
		if (rs->skipped[i])
			fprintf(f, "%s\"%s\":%lld", n++ ? "," : "", frame_skip_name(i),
				(long long)rs->first_skipped[i]);
	fputs("}},", f);
}

static void json_summary(struct renderer *r, struct stack *st, const struct replay_stats *rs)
{
	FILE *f = r->out;
	struct stack_totals tot;
	int c;

	stack_totals(st, &tot);
	fprintf(f, "{\"type\":\"summary\",\"t\":");
	jtime(f, stack_now(st));
	fprintf(f, ",\"segments_in\":%llu,\"segments_out\":%llu,",
		(unsigned long long)stack_counter(st, CNT_INSEGS),
		(unsigned long long)stack_counter(st, CNT_OUTSEGS));
	if (rs)
		json_replay_stats(f, rs);
	if (rs && rs->verify)
		json_verify_stats(f, rs->verify);
	fprintf(f, "\"sockets\":{\"listen\":%u,\"established\":%u,\"request\":%u,\"timewait\":%u,\"other\":%u},",
		tot.listeners, tot.established, tot.request, tot.timewait, tot.other);
	fputs("\"counters\":{", f);
	for (c = 0; c < CNT_COUNT; c++)
		fprintf(f, "%s\"%s\":%llu", c ? "," : "", counter_name(c),
			(unsigned long long)stack_counter(st, c));
	fputs("}}\n", f);
}

static void json_destroy(struct renderer *r)
{
	free(r);
}

static const struct renderer_ops json_ops = {
	json_event, json_call, json_say, json_tables, json_summary, json_inferred, json_verify,
	json_destroy,
};

struct renderer *render_json_new(FILE *out)
{
	struct json_renderer *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->r.ops = &json_ops;
	j->r.out = out;
	return &j->r;
}
