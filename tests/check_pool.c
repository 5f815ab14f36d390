/*
 * check_pool.c - unit tests of what a connection costs in memory: the
 * object pool (stack/pool.c) and the parts of a socket allocated only when
 * needed (struct sock_ext, stack/sock.c).
 *
 * Covers: every slot lies in a POOL_CHUNK-aligned chunk after its header
 * (pool_free finds the chunk by masking), slots of a chunk are distinct and
 * writable, chunks come from regions of POOL_REGION_CHUNKS and the pool
 * crosses from one region to the next, a chunk emptied is given back
 * except one spare, which the next allocation takes; an accepted idle
 * connection has no ext (its RTO, window and timer read as Linux's initial
 * ones), the first data it sends makes one with a timer armed, and a
 * listener's options reach its child with a transmit state of the child's
 * own; a byte queue grown into malloc()ed memory is counted (stack_free
 * walks the sockets only then) and uncounted when drained.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define LOCAL "10.0.0.1:80"

/* ---- the pool ------------------------------------------------------------- */

START_TEST(test_pool_chunks_and_regions)
{
	/* more than one region's worth, so that a second region is mapped */
	uint32_t per, n, i;
	struct obj_pool p;
	uint8_t **objs;

	pool_init(&p, 160);
	per = p.per_chunk;
	ck_assert_uint_eq(per, (POOL_CHUNK - 64) / 160);
	n = per * (POOL_REGION_CHUNKS + 2) + 5;
	objs = calloc(n, sizeof(*objs));
	ck_assert_ptr_nonnull(objs);
	for (i = 0; i < n; i++) {
		uintptr_t off;

		objs[i] = pool_alloc(&p);
		ck_assert_ptr_nonnull(objs[i]);
		off = (uintptr_t)objs[i] & (POOL_CHUNK - 1);
		ck_assert_msg(off >= 64 && off + 160 <= POOL_CHUNK, "slot %u at offset %lu of its chunk", i,
			      (unsigned long)off);
		memset(objs[i], (int)(i & 0xff), 160);
	}
	ck_assert_uint_eq(p.chunks, POOL_REGION_CHUNKS + 3);
	ck_assert_uint_eq(p.live, n);
	/* what was written to each slot is still there: no two slots overlap */
	for (i = 0; i < n; i++)
		ck_assert_msg(objs[i][0] == (uint8_t)(i & 0xff) && objs[i][159] == (uint8_t)(i & 0xff),
			      "slot %u overwritten", i);
	for (i = 0; i < n; i++)
		pool_free(&p, objs[i]);
	/* every chunk empty: all given back but the spare */
	ck_assert_uint_eq(p.live, 0);
	ck_assert_uint_eq(p.chunks, 1);
	ck_assert_ptr_nonnull(p.spare);
	objs[0] = pool_alloc(&p);
	ck_assert_ptr_nonnull(objs[0]);
	ck_assert_uint_eq(p.chunks, 1);
	ck_assert_ptr_null(p.spare);
	pool_free(&p, objs[0]);
	pool_destroy(&p);
	free(objs);
}
END_TEST

/* ---- what a socket allocates only when needed --------------------------------- */

START_TEST(test_idle_connection_has_no_ext)
{
	struct stack_config c;
	struct tstack *t;
	struct sock *sk;
	int lfd, fd;

	ts_config(&c);
	c.model_cwnd = 1;
	t = ts_new(&c);
	lfd = ts_listen(t, LOCAL, 8);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	sk = fd_lookup(t->st, fd);
	ck_assert_ptr_null(sk->ext);
	ck_assert_ptr_null(sk->bufs);
	ck_assert_uint_eq(sk_rto(sk), TIMEOUT_INIT);
	ck_assert_uint_eq(sk_cwnd(sk), TCP_INIT_CWND);
	ck_assert_uint_eq(sk_ssthresh(sk), CWND_INFINITE);
	ck_assert_int_eq(sk_timer_armed(sk), 0);
	/* the first data sent makes the transmit state, with the same initial values */
	ck_assert_int_eq(sys_send(t->st, fd, "hello", 5), 5);
	ck_assert_ptr_nonnull(sk->ext);
	ck_assert_ptr_eq(sk->ext->tx.sk, sk);
	ck_assert_int_eq(sk_timer_armed(sk), 1);
	ck_assert_uint_eq(sk_rto(sk), TIMEOUT_INIT);
	ck_assert_uint_eq(sk_cwnd(sk), TCP_INIT_CWND);
	ck_assert_int_eq(sk->rtt_on, 1);
	ck_assert_uint_eq(sk->ext->tx.rtt_seq, sk->snd_nxt - 5);
	ts_check(t);
	ts_free(t);
}
END_TEST

START_TEST(test_child_inherits_options_not_transmit_state)
{
	struct tstack *t = ts_new(NULL);
	struct sock *l, *sk;
	int lfd, fd, v = 0;

	lfd = sys_socket(t->st, ADDR_V4);
	ck_assert_int_eq(sys_setsockopt(t->st, lfd, SOCKOPT_MAXSEG, 1000), 0);
	{
		struct ip_addr a;
		uint16_t port;

		ck_assert_int_eq(endpoint_parse(LOCAL, &a, &port), 0);
		ck_assert_int_eq(sys_bind(t->st, lfd, &a, port), 0);
	}
	ck_assert_int_eq(sys_listen(t->st, lfd, 8), 0);
	l = fd_lookup(t->st, lfd);
	ck_assert_ptr_nonnull(l->ext);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	sk = fd_lookup(t->st, fd);
	ck_assert_ptr_nonnull(sk->ext);
	ck_assert_ptr_ne(sk->ext, l->ext);
	ck_assert_uint_eq(sk->ext->user_mss, 1000);
	ck_assert_ptr_eq(sk->ext->tx.sk, sk);
	ck_assert_int_eq(sk_timer_armed(sk), 0);
	ck_assert_uint_eq(sk_rto(sk), TIMEOUT_INIT);
	ck_assert_int_eq(sys_getsockopt(t->st, fd, SOCKOPT_NODELAY, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(sys_send(t->st, fd, "x", 1), 1);
	ck_assert_int_eq(sk_timer_armed(sk), 1);
	ck_assert_int_eq(timer_armed(&l->ext->tx.timer), 0);
	ts_check(t);
	ts_free(t);
}
END_TEST

/*
 * A byte queue that outgrows its BUF_SMALL bytes from the buffer pool moves
 * to malloc()ed memory, and the stack counts it: stack_free() gives the
 * pools back whole, visiting each socket only while such a queue exists
 * (its memory is freed then, as this suite's run under LeakSanitizer in
 * make check-sanitize checks). Drained, the queue returns its memory and
 * the count.
 */
START_TEST(test_big_queue_counted_and_freed)
{
	static uint8_t data[3 * BUF_SMALL];
	struct tstack *t = ts_new(NULL);
	struct sock *sk;
	int lfd, fd, i;

	lfd = ts_listen(t, LOCAL, 8);
	ts_handshake(t, "10.0.0.2:1000", LOCAL, 100);
	fd = sys_accept(t->st, lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	sk = fd_lookup(t->st, fd);
	ck_assert_uint_eq(t->st->big_bufs, 0);
	ck_assert_int_eq(sys_send(t->st, fd, "small", 5), 5);
	ck_assert_msg(t->st->big_bufs == 0, "a queue of 5 bytes is the buffer pool's, yet big_bufs = %u",
		      t->st->big_bufs);
	ck_assert_int_eq(sys_send(t->st, fd, data, sizeof(data)), (int)sizeof(data));
	ck_assert_msg(t->st->big_bufs == 1, "a send queue of %u bytes should be malloc()ed memory, big_bufs = %u",
		      sk_snd_len(sk), t->st->big_bufs);
	/* The peer acknowledges everything sent, as it goes out, until the queue is empty. */
	for (i = 0; i < 64 && sk_snd_len(sk); i++) {
		struct segment ack = ts_seg("10.0.0.2:1000", LOCAL, TH_ACK, 101, sk->snd_nxt);

		ts_in(t, &ack);
	}
	ck_assert_msg(sk_snd_len(sk) == 0, "%u bytes still queued after %d ACKs", sk_snd_len(sk), i);
	ck_assert_msg(t->st->big_bufs == 0, "drained, the queue gave its memory back, yet big_bufs = %u",
		      t->st->big_bufs);
	/*
	 * Left queued at the end, on a stack freed as it is (not drained as
	 * ts_free() drains it): stack_free() must find the queue and free it.
	 */
	ck_assert_int_eq(sys_send(t->st, fd, data, sizeof(data)), (int)sizeof(data));
	ck_assert_uint_eq(t->st->big_bufs, 1);
	ts_check(t);
	stack_free(t->st);
	free(t);
}
END_TEST

Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, test_pool_chunks_and_regions);
	tcase_add_test(tc, test_idle_connection_has_no_ext);
	tcase_add_test(tc, test_child_inherits_options_not_transmit_state);
	tcase_add_test(tc, test_big_queue_counted_and_freed);
	suite_add_tcase(s, tc);
	return s;
}
