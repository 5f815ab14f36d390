/*
 * replay_cookie.c - see replay_cookie.h.
 *
 * Path: replay.c (ISN hook, sweep) and the stack's cookie hook -> here ->
 *       tuplemap.c. Nothing here calls back into the replay.
 */
#include "replay_cookie.h"

/* Kind of the map's keys (the map holds nothing else). */
#define K_COOKIE 4
/* TCP_SYNCOOKIE_VALID-ish: how long an adopted cookie is remembered. */
#define COOKIE_KEEP (120 * VT_SEC)
/* At most this many remembered at once: a SYN flood must not grow memory. */
#define COOKIE_MAX (1u << 16)

int replay_cookie_init(struct replay_cookies *c)
{
	c->last_sweep = 0;
	return tmap_init(&c->map);
}

void replay_cookie_free(struct replay_cookies *c)
{
	tmap_free(&c->map);
}

void replay_cookie_remember(struct replay_cookies *c, const struct segment *syn, uint32_t isn,
			    vtime_t now)
{
	struct tuple_key k;
	struct tentry *e;
	int added;

	if (c->map.count >= COOKIE_MAX)
		return;
	tkey_set(&k, K_COOKIE, &syn->src, syn->sport, &syn->dst, syn->dport);
	e = tmap_put(&c->map, &k, &added);
	if (!e)
		return;
	e->seq = isn;
	e->ack = stack_cookie_mss(syn->opt.has_mss ? syn->opt.mss : 536);
	e->frame = (int64_t)now;
}

int replay_cookie_check(void *ctx, const struct segment *ack, uint16_t *mss)
{
	struct replay_cookies *c = ctx;
	struct tuple_key k;
	struct tentry *e;

	tkey_set(&k, K_COOKIE, &ack->src, ack->sport, &ack->dst, ack->dport);
	e = tmap_get(&c->map, &k);
	if (!e)
		return -1;
	if (ack->ack - 1 != e->seq)
		return 0;
	*mss = (uint16_t)e->ack;
	tmap_del(&c->map, e);
	return 1;
}

int replay_cookie_known(struct replay_cookies *c, const struct segment *seg)
{
	struct tuple_key k;

	tkey_set(&k, K_COOKIE, &seg->src, seg->sport, &seg->dst, seg->dport);
	return tmap_get(&c->map, &k) != NULL;
}

static int cookie_expired(void *ctx, struct tentry *e)
{
	const struct replay_cookies *c = ctx;

	return c->last_sweep - (vtime_t)e->frame > COOKIE_KEEP;
}

void replay_cookie_sweep_now(struct replay_cookies *c, vtime_t now)
{
	c->last_sweep = now;
	tmap_sweep(&c->map, cookie_expired, c);
}
