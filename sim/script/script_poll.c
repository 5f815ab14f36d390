/*
 * script_poll.c - poll() and epoll_*() on the virtual clock.
 *
 * Path: script_calls.c's table -> run_poll(), run_epoll_*() -> the
 *       stack's sys_poll() (tcp_poll()'s answer for one socket);
 *       script_run.c's observer -> poll_wakeup() when the stack wakes a
 *       socket up (data, a FIN, a state change, a connection to accept).
 *
 * A call that waits (a timeout other than 0, and nothing ready) returns
 * -EAGAIN with cx->wake_at set, and the runner retries it whenever the
 * stack did something or the timeout came, as packetdrill's thread would
 * see it return. Edge-triggered epoll reports a socket once per wakeup,
 * as ep_poll_callback() queues it; level-triggered whenever it is ready;
 * EPOLLONESHOT once until EPOLL_CTL_MOD arms it again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_int.h"

#define EPOLLET_BIT (1u << 31)
#define EPOLLONESHOT_BIT (1u << 30)
#define EPOLLEXCLUSIVE_BIT (1u << 28)
#define POLLNVAL_BIT 0x20
#define MAX_EPOLL_ENTRIES 64

struct ep_entry {
	int script_fd, live;     /* the watched socket */
	uint32_t events;         /* what it waits for, with EPOLLET/EPOLLONESHOT */
	const char *data_field;  /* "fd", "ptr", "u32" or "u64": what epoll_wait hands back */
	int64_t data;
	uint8_t pending;         /* woken since it was last reported (edge-triggered) */
	uint8_t disabled;        /* EPOLLONESHOT reported: silent until MOD */
};

struct epoll_set {
	int in_use;
	struct ep_entry e[MAX_EPOLL_ENTRIES];
	int n;
};

#define MAX_EPOLLS 16

struct epoll_table {
	struct epoll_set sets[MAX_EPOLLS];
};


/* A struct's field name=VALUE, or NULL. */
static const struct sexpr *field(const struct sexpr *e, const char *name)
{
	int i;

	if (!e || e->kind != SX_STRUCT)
		return NULL;
	for (i = 0; i < e->nitems; i++)
		if (e->items[i]->kind == SX_ASSIGN && e->items[i]->lhs->kind == SX_WORD &&
		    strcmp(e->items[i]->lhs->text, name) == 0)
			return e->items[i]->rhs;
	return NULL;
}

static int field_int(const struct sexpr *e, const char *name, int64_t *v)
{
	const struct sexpr *f = field(e, name);

	*v = 0;
	return f ? sexpr_int(f, v) : 1;
}

/* Writes a poll mask as names: "POLLIN|POLLOUT". */
static void mask_text(uint32_t m, const char *prefix, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = { { 0x1, "IN" }, { 0x2, "PRI" }, { 0x4, "OUT" }, { 0x8, "ERR" }, { 0x10, "HUP" },
		      { 0x20, "NVAL" }, { 0x40, "RDNORM" }, { 0x80, "RDBAND" }, { 0x100, "WRNORM" },
		      { 0x200, "WRBAND" }, { 0x2000, "RDHUP" } };
	size_t i, k = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && k + 20 < len; i++)
		if (m & names[i].bit)
			k += (size_t)snprintf(buf + k, len - k, "%s%s%s", k ? "|" : "", prefix, names[i].name);
	if (!k)
		snprintf(buf, len, "0");
}

/* ---- poll ----------------------------------------------------------------------------------- */

int check_poll(const struct stmt *s, char *buf, size_t len)
{
	int i;
	int64_t v;

	if (s->args[0]->kind != SX_LIST)
		return call_check_why(buf, len, "poll() with fds other than [{fd=N, events=E, revents=R}, ...]");
	for (i = 0; i < s->args[0]->nitems; i++) {
		const struct sexpr *p = s->args[0]->items[i];

		if (p->kind != SX_STRUCT || field_int(p, "fd", &v) != 0 || field_int(p, "events", &v) != 0 ||
		    field_int(p, "revents", &v) < 0)
			return call_check_why(buf, len, "poll() with fds other than [{fd=N, events=E, revents=R}, ...]");
	}
	if (sexpr_int(s->args[1], &v) < 0 || v != s->args[0]->nitems || sexpr_int(s->args[2], &v) < 0)
		return call_check_why(buf, len, "poll() with nfds other than the number of fds, or a timeout other "
				 "than a number");
	return 0;
}

/* The socket's poll mask as poll() reports it for events. */
static uint32_t revents_of(struct call_ctx *cx, int64_t script_fd, uint32_t events)
{
	struct sexpr e;
	int live, m;

	memset(&e, 0, sizeof(e));
	e.kind = SX_INT;
	e.num = script_fd;
	live = call_live_fd(cx, &e);
	m = live >= 0 ? sys_poll(cx->st, live) : -EBADF;
	if (m < 0)
		return POLLNVAL_BIT;
	/* POLLERR and POLLHUP are reported whether asked for or not */
	return (uint32_t)m & (events | SKPOLL_ERR | SKPOLL_HUP);
}

/* Sleeps until the timeout (ms; -1 forever) from when the call started. 1: timed out. */
static int wait_or_timeout(struct call_ctx *cx, int64_t timeout_ms, long *ret)
{
	vtime_t end = cx->started + (vtime_t)timeout_ms * VT_MSEC;

	if (timeout_ms == 0 || (timeout_ms > 0 && stack_now(cx->st) >= end)) {
		*ret = 0;
		return 1;
	}
	if (timeout_ms > 0)
		cx->wake_at = end;
	*ret = -EAGAIN;
	return 0;
}

int run_poll(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	const struct sexpr *fds = s->args[0];
	uint32_t got[64];
	int i, n = 0;

	for (i = 0; i < fds->nitems && i < 64; i++) {
		int64_t fd, events;

		field_int(fds->items[i], "fd", &fd);
		field_int(fds->items[i], "events", &events);
		got[i] = revents_of(cx, fd, (uint32_t)events);
		n += got[i] != 0;
	}
	if (n == 0 && !wait_or_timeout(cx, arg_timeout(s, 2), ret))
		return 0;
	*ret = n;
	for (i = 0; i < fds->nitems && i < 64; i++) {
		int64_t fd, want;
		char a[96], b[96];

		field_int(fds->items[i], "fd", &fd);
		field_int(fds->items[i], "revents", &want);
		if ((uint32_t)want == got[i])
			continue;
		mask_text(got[i], "POLL", a, sizeof(a));
		mask_text((uint32_t)want, "POLL", b, sizeof(b));
		return call_why(cx, "poll() gave fd %lld revents=%s, not %s", (long long)fd, a, b);
	}
	return 0;
}

int64_t arg_timeout(const struct stmt *s, int i)
{
	int64_t v = 0;

	if (i < s->nargs)
		sexpr_int(s->args[i], &v);
	return v;
}

/* ---- epoll ---------------------------------------------------------------------------------- */

static struct epoll_set *set_of(struct call_ctx *cx, const struct sexpr *e)
{
	if (e->kind != SX_INT || e->num < 0 || e->num >= SCRIPT_MAX_FDS || !cx->fds[e->num].epoll || !cx->epolls)
		return NULL;
	return &cx->epolls->sets[cx->fds[e->num].live];
}

int run_epoll_create(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	struct script_fd *f;
	int i;

	/* epoll_create(size) refuses a size <= 0; epoll_create1(flags) takes 0 or EPOLL_CLOEXEC */
	if (strcmp(s->name, "epoll_create") == 0 && arg_timeout(s, 0) <= 0) {
		*ret = -EINVAL;
		return 0;
	}
	if (!cx->epolls) {
		cx->epolls = calloc(1, sizeof(*cx->epolls));
		if (!cx->epolls)
			return call_why(cx, "out of memory");
	}
	for (i = 0; i < MAX_EPOLLS && cx->epolls->sets[i].in_use; i++)
		;
	if (i == MAX_EPOLLS) {
		*ret = -EMFILE;
		return 0;
	}
	if (s->ret < 0 || s->ret >= SCRIPT_MAX_FDS || cx->fds[s->ret].live >= 0 || cx->fds[s->ret].epoll) {
		*ret = -EMFILE;
		return call_why(cx, "descriptor %ld for the epoll instance is taken (or not a descriptor)", s->ret);
	}
	memset(&cx->epolls->sets[i], 0, sizeof(cx->epolls->sets[i]));
	cx->epolls->sets[i].in_use = 1;
	f = &cx->fds[s->ret];
	memset(f, 0, sizeof(*f));
	f->epoll = 1;
	f->live = i;
	*ret = s->ret;
	return 0;
}

void epoll_close(struct call_ctx *cx, int script_fd)
{
	struct script_fd *f = &cx->fds[script_fd];

	if (cx->epolls && f->epoll && f->live >= 0 && f->live < MAX_EPOLLS)
		cx->epolls->sets[f->live].in_use = 0;
	memset(f, 0, sizeof(*f));
	f->live = -1;
}

/* The data an event carries: {events=E, fd=N} (or ptr=, u32=, u64=). */
static int event_data(const struct sexpr *ev, const char **name, int64_t *v)
{
	static const char *const names[] = { "fd", "ptr", "u32", "u64" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (field(ev, names[i])) {
			*name = names[i];
			return sexpr_int(field(ev, names[i]), v);
		}
	return -1;
}

int check_epoll_ctl(const struct stmt *s, char *buf, size_t len)
{
	int64_t v;
	const char *name;

	if (s->args[0]->kind != SX_INT || s->args[2]->kind != SX_INT)
		return call_check_why(buf, len, "epoll_ctl() with descriptor numbers");
	if (sexpr_int(s->args[1], &v) < 0 || v < 1 || v > 3)
		return call_check_why(buf, len, "epoll_ctl() with an op other than EPOLL_CTL_ADD, _MOD or _DEL");
	if (v != 2 && (field_int(s->args[3], "events", &v) != 0 || event_data(s->args[3], &name, &v) < 0))
		return call_check_why(buf, len, "epoll_ctl() with an event other than {events=E, fd=N|ptr=P|u32=N|u64=N}");
	return 0;
}

int run_epoll_ctl(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	struct epoll_set *set = set_of(cx, s->args[0]);
	int64_t op = 0, events = 0, target = s->args[2]->num;
	struct ep_entry *e = NULL;
	int i, live;

	sexpr_int(s->args[1], &op);
	live = call_live_fd(cx, s->args[2]);
	if (!set || live < 0) {
		*ret = -EBADF;
		return 0;
	}
	for (i = 0; i < set->n; i++)
		if (set->e[i].script_fd == target)
			e = &set->e[i];
	if (op == 1 && e) {
		*ret = -EEXIST;
		return 0;
	}
	if (op != 1 && !e) {
		*ret = -ENOENT;
		return 0;
	}
	if (op == 2) {
		*e = set->e[--set->n];
		*ret = 0;
		return 0;
	}
	if (op == 1) {
		if (set->n == MAX_EPOLL_ENTRIES)
			return call_why(cx, "more than %d sockets in one epoll instance", MAX_EPOLL_ENTRIES);
		e = &set->e[set->n++];
		memset(e, 0, sizeof(*e));
		e->script_fd = (int)target;
		e->live = live;
	}
	field_int(s->args[3], "events", &events);
	e->events = (uint32_t)events;
	event_data(s->args[3], &e->data_field, &e->data);
	e->disabled = 0;
	/* ep_insert() and ep_modify() poll the socket at once: ready now counts as a wakeup */
	e->pending = (revents_of(cx, e->script_fd, e->events & 0xffff) & e->events) != 0;
	*ret = 0;
	return 0;
}

int check_epoll_wait(const struct stmt *s, char *buf, size_t len)
{
	const struct sexpr *evs = s->args[1];
	int64_t v;
	const char *name;
	int i, n = evs->kind == SX_LIST ? evs->nitems : 1;

	if (s->args[0]->kind != SX_INT)
		return call_check_why(buf, len, "epoll_wait() with a descriptor number");
	for (i = 0; i < n; i++) {
		const struct sexpr *ev = evs->kind == SX_LIST ? evs->items[i] : evs;

		if (field_int(ev, "events", &v) != 0 || event_data(ev, &name, &v) < 0)
			return call_check_why(buf, len, "epoll_wait() with events other than {events=E, fd=N} "
					 "or a list of them");
	}
	if (sexpr_int(s->args[2], &v) < 0 || sexpr_int(s->args[3], &v) < 0)
		return call_check_why(buf, len, "epoll_wait() with maxevents and a timeout as numbers");
	return 0;
}

int run_epoll_wait(struct call_ctx *cx, const struct stmt *s, long *ret)
{
	struct epoll_set *set = set_of(cx, s->args[0]);
	const struct sexpr *evs = s->args[1];
	struct {
		uint32_t events;
		const struct ep_entry *e;
	} got[MAX_EPOLL_ENTRIES];
	int64_t maxevents = arg_timeout(s, 2);
	int i, n = 0, nwant;

	if (!set || maxevents <= 0) {
		*ret = !set ? -EBADF : -EINVAL;
		return 0;
	}
	for (i = 0; i < set->n && n < maxevents; i++) {
		struct ep_entry *e = &set->e[i];
		uint32_t m;

		if (e->disabled)
			continue;
		m = revents_of(cx, e->script_fd, e->events & 0xffff) & (e->events | SKPOLL_ERR | SKPOLL_HUP);
		if (!m || ((e->events & EPOLLET_BIT) && !e->pending))
			continue;
		got[n].events = m;
		got[n].e = e;
		n++;
	}
	if (n == 0 && !wait_or_timeout(cx, arg_timeout(s, 3), ret))
		return 0;
	/* Reported: an edge waits for the next wakeup, a one-shot for EPOLL_CTL_MOD. */
	for (i = 0; i < n; i++) {
		struct ep_entry *e = (struct ep_entry *)got[i].e;

		e->pending = 0;
		if (e->events & EPOLLONESHOT_BIT)
			e->disabled = 1;
	}
	*ret = n;
	nwant = evs->kind == SX_LIST ? evs->nitems : s->ret > 0 ? 1 : 0;
	for (i = 0; i < n && i < nwant; i++) {
		const struct sexpr *ev = evs->kind == SX_LIST ? evs->items[i] : evs;
		int64_t want_events, want_data;
		const char *name;
		char a[96], b[96];

		field_int(ev, "events", &want_events);
		event_data(ev, &name, &want_data);
		if ((uint32_t)want_events == got[i].events && want_data == got[i].e->data)
			continue;
		mask_text(got[i].events, "EPOLL", a, sizeof(a));
		mask_text((uint32_t)want_events, "EPOLL", b, sizeof(b));
		return call_why(cx, "epoll_wait() gave {events=%s, %s=%lld}, not {events=%s, %s=%lld}", a,
			   got[i].e->data_field, (long long)got[i].e->data, b, name, (long long)want_data);
	}
	return 0;
}

void poll_wakeup(struct call_ctx *cx, int live_fd)
{
	int i, j;

	if (!cx->epolls)
		return;
	for (i = 0; i < MAX_EPOLLS; i++) {
		struct epoll_set *set = &cx->epolls->sets[i];

		if (!set->in_use)
			continue;
		for (j = 0; j < set->n; j++)
			if (set->e[j].live == live_fd)
				set->e[j].pending = 1;
	}
}

void poll_free(struct call_ctx *cx)
{
	free(cx->epolls);
	cx->epolls = NULL;
}
