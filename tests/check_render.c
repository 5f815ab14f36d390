/*
 * check_render.c - the record stream (sim/render/record.h, sim/render/emit.c) as a
 * renderer receives it.
 *
 * Path: a scenario in the script language -> script_run() -> emit_*() ->
 *       a recording renderer (below), the text and JSON renderers, a tee.
 *
 * What is checked: a renderer that follows the tables gets one snapshot
 * after the first event of each stack operation and one after each call,
 * and each shows the tables as that operation left them; a renderer that
 * does not gets none; a tee hands the same stream to two renderers, whose
 * output is what each writes alone.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "render.h"
#include "script.h"
#include "suites.h"

/* A handshake on 10.0.0.1:80 and the accept() that takes it. */
static const char handshake[] =
	"0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0   bind(3, 10.0.0.1:80, ...) = 0\n"
	"+0   listen(3, 8) = 0\n"
	"+0.1 @10.0.0.11:5001 < S 0:0(0) win 65535 <mss 1460>\n"
	"+0   @10.0.0.11:5001 > S. 0:0(0) ack 1 <mss 1460>\n"
	"+0   @10.0.0.11:5001 < . 1:1(0) ack 1 win 502\n"
	"+0   accept(3, ..., ...) = 4\n";

/* What the recorder keeps of one record. */
struct seen {
	uint8_t type;        /* enum record_type */
	uint8_t ev_type;     /* REC_EVENT: enum event_type */
	uint64_t op;         /* REC_EVENT: the operation */
	uint8_t asked;       /* REC_TABLES */
	uint32_t nlisteners, nehash, nsyn, naccept; /* REC_TABLES (queues of the first listener) */
	uint32_t syn_queue, accept_queue;           /* REC_TABLES: the first listener's counts */
	uint8_t ehash_state; /* REC_TABLES: the first ehash entry's state */
	uint16_t syn_rport;  /* REC_TABLES: the first SYN queue member's remote port */
	int ehash_fd;        /* REC_TABLES: the first ehash entry's descriptor */
	uint64_t passive_opens, insegs; /* REC_TABLES, REC_SUMMARY */
};

struct recorder {
	struct renderer r;
	struct seen seen[256];
	int n;
	int overflow;
};

static void rec_record(struct renderer *r, const struct record *rec)
{
	struct recorder *c = (struct recorder *)r;
	struct seen *s;

	if (c->n == (int)(sizeof(c->seen) / sizeof(c->seen[0]))) {
		c->overflow = 1;
		return;
	}
	s = &c->seen[c->n++];
	memset(s, 0, sizeof(*s));
	s->type = rec->type;
	if (rec->type == REC_EVENT) {
		s->ev_type = rec->event->type;
		s->op = rec->event->op;
	} else if (rec->type == REC_TABLES) {
		const struct rec_tables *t = rec->tables;

		s->asked = t->asked;
		s->nlisteners = t->nlisteners;
		s->nehash = t->nehash;
		if (t->nlisteners) {
			s->nsyn = t->listeners[0].nsyn;
			s->naccept = t->listeners[0].naccept;
			s->syn_queue = t->listeners[0].l.syn_queue;
			s->accept_queue = t->listeners[0].l.accept_queue;
			if (t->listeners[0].nsyn)
				s->syn_rport = t->listeners[0].syn_q[0].rport;
		}
		if (t->nehash) {
			s->ehash_state = t->ehash[0].state;
			s->ehash_fd = t->ehash[0].fd;
		}
		s->passive_opens = t->counters[CNT_PASSIVEOPENS];
		s->insegs = t->counters[CNT_INSEGS];
	} else if (rec->type == REC_SUMMARY) {
		s->passive_opens = rec->summary->counters[CNT_PASSIVEOPENS];
		s->insegs = rec->summary->counters[CNT_INSEGS];
	}
}

static void rec_destroy(struct renderer *r)
{
	(void)r;
}

static const struct renderer_ops rec_ops = { rec_record, rec_destroy };

static int run_handshake(struct renderer *r)
{
	struct script_opts so;

	memset(&so, 0, sizeof(so));
	stack_config_init(&so.cfg);
	so.cfg.hash_seed = 1;
	so.file = "handshake";
	so.text = handshake;
	so.r = r;
	so.local_ip = "10.0.0.1";
	so.remote_ip = "10.0.0.2";
	so.tolerance = 4 * VT_MSEC;
	return script_run(&so);
}

/* The index of the first record at or after from of the given type (and event type, if not 0xff). */
static int find(const struct recorder *c, int from, uint8_t type, uint8_t ev_type)
{
	int i;

	for (i = from; i < c->n; i++)
		if (c->seen[i].type == type && (ev_type == 0xff || c->seen[i].ev_type == ev_type))
			return i;
	return -1;
}

START_TEST(test_snapshots_follow_operations)
{
	static struct recorder c;
	int i, syn, ack, acc, events_new_op = 0, after_event = 0;
	uint64_t last_op = 0;

	memset(&c, 0, sizeof(c));
	c.r.ops = &rec_ops;
	c.r.wants = RENDER_WANT_TABLES;
	ck_assert_int_eq(run_handshake(&c.r), 0);
	ck_assert_msg(!c.overflow, "more than 256 records");

	/* One snapshot right after the first event of each operation, none after the others. */
	for (i = 0; i < c.n; i++) {
		const struct seen *s = &c.seen[i];

		if (s->type != REC_EVENT)
			continue;
		ck_assert_msg(s->op > last_op || s->op == last_op, "operations out of order at record %d", i);
		if (s->op != last_op) {
			events_new_op++;
			ck_assert_msg(i + 1 < c.n && c.seen[i + 1].type == REC_TABLES && !c.seen[i + 1].asked,
				      "record %d (first event of operation %llu) is not followed by a snapshot", i,
				      (unsigned long long)s->op);
		}
		if (i + 1 < c.n && c.seen[i + 1].type == REC_TABLES)
			after_event++;
		last_op = s->op;
	}
	ck_assert_int_eq(after_event, events_new_op);
	ck_assert_msg(events_new_op >= 3, "%d operations with events: the SYN, the ACK and accept() at least",
		      events_new_op);

	/* After the SYN: a request in the ehash and in the listener's SYN queue. */
	syn = find(&c, 0, REC_EVENT, EV_SEGMENT_IN);
	ck_assert_int_ge(syn, 0);
	ck_assert_int_eq(c.seen[syn + 1].nlisteners, 1);
	ck_assert_int_eq(c.seen[syn + 1].nehash, 1);
	ck_assert_int_eq(c.seen[syn + 1].ehash_state, TCP_SYN_RECV);
	ck_assert_int_eq(c.seen[syn + 1].syn_queue, 1);
	ck_assert_int_eq(c.seen[syn + 1].nsyn, 1);
	ck_assert_int_eq(c.seen[syn + 1].syn_rport, 5001);
	ck_assert_int_eq(c.seen[syn + 1].accept_queue, 0);
	ck_assert_int_eq(c.seen[syn + 1].insegs, 1);

	/* After the ACK: ESTABLISHED on the accept queue, a passive open counted. */
	ack = find(&c, syn + 1, REC_EVENT, EV_SEGMENT_IN);
	ck_assert_int_gt(ack, syn);
	ck_assert_int_eq(c.seen[ack + 1].ehash_state, TCP_ESTABLISHED);
	ck_assert_int_eq(c.seen[ack + 1].syn_queue, 0);
	ck_assert_int_eq(c.seen[ack + 1].accept_queue, 1);
	ck_assert_int_eq(c.seen[ack + 1].naccept, 1);
	ck_assert_int_eq(c.seen[ack + 1].ehash_fd, -1);
	ck_assert_int_eq(c.seen[ack + 1].passive_opens, 1);
	ck_assert_int_eq(c.seen[ack + 1].insegs, 2);

	/* accept(): the queue is empty, the socket has descriptor 4; the call gets its own snapshot. */
	acc = find(&c, ack + 1, REC_EVENT, EV_ACCEPT);
	ck_assert_int_gt(acc, ack);
	ck_assert_int_eq(c.seen[acc + 1].accept_queue, 0);
	ck_assert_int_eq(c.seen[acc + 1].ehash_fd, 4);
	i = find(&c, acc + 1, REC_CALL, 0xff);
	ck_assert_int_gt(i, acc);
	ck_assert_int_eq(c.seen[i + 1].type, REC_TABLES);
	ck_assert_int_eq(c.seen[i + 1].asked, 0);

	/* Every call (socket, bind, listen, accept) is followed by a snapshot. */
	for (i = 0; i < c.n; i++)
		if (c.seen[i].type == REC_CALL)
			ck_assert_msg(i + 1 < c.n && c.seen[i + 1].type == REC_TABLES,
				      "call record %d has no snapshot after it", i);

	/* The summary comes last and counts what the snapshots counted. */
	ck_assert_int_eq(c.seen[c.n - 1].type, REC_SUMMARY);
	ck_assert_int_eq(c.seen[c.n - 1].insegs, 2);
	ck_assert_int_eq(c.seen[c.n - 1].passive_opens, 1);
}
END_TEST

START_TEST(test_no_snapshots_unless_wanted)
{
	static struct recorder c;

	memset(&c, 0, sizeof(c));
	c.r.ops = &rec_ops;
	ck_assert_int_eq(run_handshake(&c.r), 0);
	ck_assert_msg(!c.overflow, "more than 256 records");
	ck_assert_int_eq(find(&c, 0, REC_TABLES, 0xff), -1);
	ck_assert_int_ge(find(&c, 0, REC_EVENT, EV_SEGMENT_IN), 0);
	ck_assert_int_ge(find(&c, 0, REC_CALL, 0xff), 0);
}
END_TEST

/* Runs the handshake into r (and what it wraps), with a demo's opening record first. */
static void run_begun(struct renderer *r)
{
	emit_begin(r, RUN_DEMO, "handshake", "one handshake", "Watch the ehash.", 1);
	ck_assert_int_eq(run_handshake(r), 0);
}

START_TEST(test_tee_feeds_both)
{
	char *alone_text, *alone_json, *tee_text, *tee_json;
	size_t n1, n2, n3, n4;
	FILE *f1 = open_memstream(&alone_text, &n1), *f2 = open_memstream(&alone_json, &n2);
	FILE *f3 = open_memstream(&tee_text, &n3), *f4 = open_memstream(&tee_json, &n4);
	struct renderer *t, *j, *both[3];
	static struct recorder c;

	ck_assert(f1 && f2 && f3 && f4);
	t = render_text_new(f1, 0);
	j = render_json_new(f2);
	ck_assert(t && j);
	run_begun(t);
	run_begun(j);
	t->ops->destroy(t);
	j->ops->destroy(j);
	/* A third that follows the tables: its snapshots must not show up in the others. */
	memset(&c, 0, sizeof(c));
	c.r.ops = &rec_ops;
	c.r.wants = RENDER_WANT_TABLES;
	both[0] = render_text_new(f3, 0);
	both[1] = render_json_new(f4);
	both[2] = &c.r;
	ck_assert(both[0] && both[1]);
	t = render_tee_new(both, 3);
	ck_assert(t != NULL);
	ck_assert_uint_eq(t->wants, RENDER_WANT_TABLES);
	run_begun(t);
	ck_assert_int_ge(find(&c, 0, REC_TABLES, 0xff), 0);
	ck_assert_int_eq(c.seen[0].type, REC_BEGIN);
	t->ops->destroy(t);
	fclose(f1);
	fclose(f2);
	fclose(f3);
	fclose(f4);
	ck_assert_msg(strstr(alone_text, "demo handshake: one handshake\n\nWatch the ehash.\n") == alone_text,
		      "the text does not open with the demo's words: %.200s", alone_text);
	ck_assert_msg(strstr(alone_text, "new request #2 (SYN_RECV)") != NULL, "%s", alone_text);
	ck_assert_msg(strstr(alone_json, "\"type\":\"accept\"") != NULL, "%s", alone_json);
	ck_assert_str_eq(tee_text, alone_text);
	ck_assert_str_eq(tee_json, alone_json);
	free(alone_text);
	free(alone_json);
	free(tee_text);
	free(tee_json);
	ck_assert_ptr_null(render_tee_new(both, 0));
	ck_assert_ptr_null(render_tee_new(both, 9));
}
END_TEST

Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, test_snapshots_follow_operations);
	tcase_add_test(tc, test_no_snapshots_unless_wanted);
	tcase_add_test(tc, test_tee_feeds_both);
	suite_add_tcase(s, tc);
	return s;
}
