/*
 * queue.c - a listener's two queues.
 *
 * Path: tcp_input() -> listener -> syn_recv() adds a request to the SYN
 *       queue; the final ACK -> accept_queue_push(); sys_accept() ->
 *       accept_pop().
 *
 * Linux keeps only a count for the SYN queue (the requests themselves live
 * in ehash); this list exists so the tables can show which requests wait
 * and so closing a listener can drop them. The accept queue is a FIFO of
 * completed children (reqsk_queue_add / reqsk_queue_remove): accept()
 * returns connections in the order their handshakes completed. It is a
 * ring of pointers in the listen state, not a list through the children:
 * a pointer per listener slot instead of one in every socket.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/*
 * sk_acceptq_is_full(): more than backlog entries. The comparison is '>'
 * on purpose, so backlog+1 connections fit (listen(fd, 0) still accepts
 * one); Linux's own header warns against turning it into '>='.
 */
int accept_queue_full(const struct listen_state *ls)
{
	return ls->ack_backlog > (uint32_t)ls->backlog;
}

/*
 * inet_csk_reqsk_queue_is_full(): the SYN queue limit is the listen
 * backlog too (since 4.4); '>' since the 2025 fix, so backlog+1 requests fit.
 */
int syn_queue_full(const struct listen_state *ls)
{
	return ls->qlen > (uint32_t)ls->backlog;
}

/*
 * Room for one more child in the accept queue, grown (doubling) before the
 * child is made, so that accept_queue_push() cannot fail half way through
 * a handshake. Returns 0 or -ENOMEM (the queue unchanged).
 */
int accept_queue_reserve(struct listen_state *ls)
{
	uint32_t cap, i;
	struct sock **ring;

	if (ls->ack_backlog < ls->acc_cap)
		return 0;
	cap = ls->acc_cap ? 2 * ls->acc_cap : 4;
	if (cap < ls->acc_cap) /* 2^32 children: no room to double into */
		return -ENOMEM;
	ring = malloc((size_t)cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (i = 0; i < ls->ack_backlog; i++) /* unrolled from acc_first, oldest at 0 */
		ring[i] = accept_queue_at(ls, i);
	free(ls->acc);
	ls->acc = ring;
	ls->acc_cap = cap;
	ls->acc_first = 0;
	return 0;
}

void accept_queue_push(struct stack *st, struct sock *listener, struct sock *child)
{
	struct listen_state *ls = listener->ls;

	(void)st;
	child->parent = listener;
	child->queued = 1;
	ls->acc[(ls->acc_first + ls->ack_backlog) & (ls->acc_cap - 1)] = child;
	ls->ack_backlog++;
}

/* Removes and returns the oldest child, or NULL when the queue is empty. */
struct sock *accept_pop(struct stack *st, struct sock *listener)
{
	struct listen_state *ls = listener->ls;
	struct sock *child;

	(void)st;
	if (!ls->ack_backlog)
		return NULL;
	child = ls->acc[ls->acc_first];
	ls->acc_first = (ls->acc_first + 1) & (ls->acc_cap - 1);
	ls->ack_backlog--;
	tfo_child_done(child);
	child->parent = NULL;
	child->queued = 0;
	return child;
}

void tfo_child_done(struct sock *sk)
{
	if (!sk->tfo_counted)
		return;
	sk->tfo_counted = 0;
	if (sk->queued && sk->parent && sk->parent->ls && sk->parent->ls->fastopen_qlen)
		sk->parent->ls->fastopen_qlen--;
}

/*
 * inet_csk_listen_stop(): the listener leaves the listen table and both
 * queues are emptied - requests dropped, queued children destroyed, each
 * still-open one reset first when reset is set (close(); a stack being
 * freed has nobody to tell). The listener itself stays.
 */
void listen_purge(struct stack *st, struct sock *l, int reset)
{
	struct sock *child;

	listen_table_remove(st, l);
	while (l->ls->syn_head)
		sock_destroy(st, &l->ls->syn_head->c);
	while ((child = accept_pop(st, l)) != NULL) {
		if (reset && child->c.state != TCP_CLOSED) {
			stack_count(st, CNT_TCPABORTONCLOSE);
			tcp_send_rst_sk(st, child);
		}
		sock_destroy(st, &child->c);
	}
}

/* Undoes accept_pop(): child goes back to the head of the queue (the pop left room for it). */
void accept_unpop(struct sock *listener, struct sock *child)
{
	struct listen_state *ls = listener->ls;

	ls->acc_first = (ls->acc_first - 1) & (ls->acc_cap - 1);
	ls->acc[ls->acc_first] = child;
	child->parent = listener;
	child->queued = 1;
	ls->ack_backlog++;
}

void listen_state_free(struct listen_state *ls)
{
	if (!ls)
		return;
	free(ls->acc);
	free(ls);
}

void syn_queue_add(struct sock *listener, struct request_sock *req)
{
	struct listen_state *ls = listener->ls;

	req->listener = listener;
	req->syn_next = NULL;
	req->syn_prev = ls->syn_tail;
	if (ls->syn_tail)
		ls->syn_tail->syn_next = req;
	else
		ls->syn_head = req;
	ls->syn_tail = req;
	ls->qlen++;
}

void syn_queue_unlink(struct sock *listener, struct request_sock *req)
{
	struct listen_state *ls = listener->ls;

	if (req->listener != listener)
		return;
	if (req->syn_prev)
		req->syn_prev->syn_next = req->syn_next;
	else
		ls->syn_head = req->syn_next;
	if (req->syn_next)
		req->syn_next->syn_prev = req->syn_prev;
	else
		ls->syn_tail = req->syn_prev;
	req->syn_next = req->syn_prev = NULL;
	req->listener = NULL;
	ls->qlen--;
}
