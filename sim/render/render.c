/*
 * render.c - what every renderer shares: the time format, copies of table
 * snapshots, and the tee that feeds one stream to several renderers.
 *
 * Path: emit.c -> renderer_ops.record() -> (tee ->) each renderer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

void render_time(vtime_t t, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(t / VT_SEC),
		 (unsigned long long)(t % VT_SEC / VT_USEC));
}

const char *render_ms(vtime_t v, char *buf, size_t len)
{
	if (v == VT_NEVER)
		snprintf(buf, len, "more than 3x that");
	else
		snprintf(buf, len, "%.*f ms", v >= 10 * VT_MSEC ? 1 : 3, (double)v / VT_MSEC);
	return buf;
}

const char *render_ss_state(int state)
{
	static const char *const names[TCP_STATE_COUNT] = {
		"UNCONN", "LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};

	return state >= 0 && state < TCP_STATE_COUNT ? names[state] : "?";
}

char *render_ss_peer(const struct ip_addr *local, char *buf, size_t len)
{
	snprintf(buf, len, "%s:*", local->family == ADDR_V6 ? "[::]" : "0.0.0.0");
	return buf;
}

/* ---- keeping a snapshot ------------------------------------------------------------------- */

int render_tables_copy(struct rec_tables_copy *dst, const struct rec_tables *src)
{
	struct rec_listener *lis = NULL;
	struct sock_view *socks = NULL;
	size_t nq = 0, k = 0;
	uint32_t i;

	for (i = 0; i < src->nlisteners; i++)
		nq += (size_t)src->listeners[i].nsyn + src->listeners[i].naccept;
	/* One spare element each, so an empty table still has an array to point into. */
	lis = calloc((size_t)src->nlisteners + 1, sizeof(*lis));
	socks = calloc(nq + src->nehash + 1, sizeof(*socks));
	if (!lis || !socks) {
		free(lis);
		free(socks);
		return -ENOMEM;
	}
	for (i = 0; i < src->nlisteners; i++) {
		const struct rec_listener *l = &src->listeners[i];

		lis[i] = *l;
		lis[i].syn_q = socks + k;
		if (l->nsyn)
			memcpy(socks + k, l->syn_q, l->nsyn * sizeof(*socks));
		k += l->nsyn;
		lis[i].accept_q = socks + k;
		if (l->naccept)
			memcpy(socks + k, l->accept_q, l->naccept * sizeof(*socks));
		k += l->naccept;
	}
	if (src->nehash)
		memcpy(socks + k, src->ehash, src->nehash * sizeof(*socks));
	render_tables_free(dst);
	dst->t = *src;
	dst->listeners = lis;
	dst->socks = socks;
	memcpy(dst->counters, src->counters, sizeof(dst->counters));
	dst->t.listeners = lis;
	dst->t.ehash = socks + k;
	dst->t.counters = dst->counters;
	return 0;
}

void render_tables_free(struct rec_tables_copy *c)
{
	free(c->listeners);
	free(c->socks);
	memset(c, 0, sizeof(*c));
}

/* ---- the text renderer into memory -------------------------------------------------------- */

int render_mem_open(struct render_mem *m, int color)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	m->text = m->f ? render_text_new(m->f, color) : NULL;
	if (!m->text) {
		if (m->f)
			fclose(m->f);
		free(m->buf);
		memset(m, 0, sizeof(*m));
		return -ENOMEM;
	}
	return 0;
}

void render_mem_sync(struct render_mem *m)
{
	fflush(m->f);
}

void render_mem_clear(struct render_mem *m)
{
	rewind(m->f);
	fflush(m->f);
	m->len = 0;
}

void render_mem_close(struct render_mem *m)
{
	if (m->text)
		m->text->ops->destroy(m->text);
	if (m->f)
		fclose(m->f);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* ---- several renderers at once ------------------------------------------------------------ */

#define TEE_MAX 8

struct tee_renderer {
	struct renderer r;
	struct renderer *each[TEE_MAX]; /* in the order given: each sees a record before the next */
	int n;                          /* entries in each */
};

static void tee_wants(struct tee_renderer *t)
{
	int i;

	t->r.wants = 0;
	for (i = 0; i < t->n; i++)
		t->r.wants |= t->each[i]->wants;
}

/*
 * renderer_ops.record: every record to each renderer. A snapshot sent
 * because one of them follows the tables reaches the others too, with
 * asked = 0, which they ignore unless they follow the tables as well.
 */
static void tee_record(struct renderer *r, const struct record *rec)
{
	struct tee_renderer *t = (struct tee_renderer *)r;
	int i;

	for (i = 0; i < t->n; i++)
		render_record(t->each[i], rec);
	tee_wants(t);
}

static void tee_destroy(struct renderer *r)
{
	struct tee_renderer *t = (struct tee_renderer *)r;
	int i;

	for (i = 0; i < t->n; i++)
		t->each[i]->ops->destroy(t->each[i]);
	free(t);
}

static const struct renderer_ops tee_ops = { tee_record, tee_destroy };

struct renderer *render_tee_new(struct renderer *const *rs, int n)
{
	struct tee_renderer *t;
	int i;

	if (n < 1 || n > TEE_MAX || !(t = calloc(1, sizeof(*t))))
		return NULL;
	t->r.ops = &tee_ops;
	for (i = 0; i < n; i++)
		t->each[i] = rs[i];
	t->n = n;
	tee_wants(t);
	return &t->r;
}
