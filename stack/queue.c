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
 * returns connections in the order their handshakes completed.
 */
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

void accept_queue_push(struct stack *st, struct sock *listener, struct sock *child)
{
	struct listen_state *ls = listener->ls;

	(void)st;
	child->parent = listener;
	child->queued = 1;
	child->acc_next = NULL;
	if (ls->acc_tail)
		ls->acc_tail->acc_next = child;
	else
		ls->acc_head = child;
	ls->acc_tail = child;
	ls->ack_backlog++;
}

/* Removes and returns the oldest child, or NULL when the queue is empty. */
struct sock *accept_pop(struct stack *st, struct sock *listener)
{
	struct listen_state *ls = listener->ls;
	struct sock *child = ls->acc_head;

	(void)st;
	if (!child)
		return NULL;
	ls->acc_head = child->acc_next;
	if (!ls->acc_head)
		ls->acc_tail = NULL;
	ls->ack_backlog--;
	tfo_child_done(child);
	child->acc_next = NULL;
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

/* Undoes accept_pop(): child goes back to the head of the queue. */
void accept_unpop(struct sock *listener, struct sock *child)
{
	struct listen_state *ls = listener->ls;

	child->acc_next = ls->acc_head;
	ls->acc_head = child;
	if (!ls->acc_tail)
		ls->acc_tail = child;
	child->parent = listener;
	child->queued = 1;
	ls->ack_backlog++;
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
