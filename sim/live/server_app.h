/*
 * server_app.h - the built-in server applications of `tcpdemux live`: what a
 * real program would do with the connections accept() returns.
 *
 * Path: the driver feeds a segment (stack_input() names the descriptor
 * with news) -> server_app_news() -> server_app_run(): recv(), then the application's
 * answer (send(), close()) on the same stack. server_app_accept() is the
 * application's accept() loop, called when the driver's --accept policy
 * says so. The application never sees a segment, only the socket API, as
 * a real server sees only its descriptors.
 */
#ifndef TCPDEMUX_SERVER_APP_H
#define TCPDEMUX_SERVER_APP_H

#include <stdint.h>

#include "stack.h"

enum server_app_kind {
	SERVER_APP_ECHO = 0, /* sends back every byte it reads; closes when the peer does */
	SERVER_APP_HTTP,     /* reads a request up to its blank line, answers one line, closes */
	SERVER_APP_DISCARD,  /* reads and drops everything; closes when the peer does */
	SERVER_APP_NEVER,    /* never calls accept(): the queues fill */
};

/* "echo", "http", "discard", "never"; server_app_parse() returns the kind or -1. */
const char *server_app_name(int kind);
int server_app_parse(const char *name);

struct server_app_stats {
	uint64_t accepted;   /* descriptors accept() returned */
	uint64_t closed;     /* descriptors the application closed */
	uint64_t bytes_in;   /* bytes recv() returned */
	uint64_t bytes_out;  /* bytes send() queued */
	uint64_t responses;  /* HTTP responses sent */
	uint64_t errors;     /* recv()/send() errors (a reset connection) */
};

struct server_app;

/*
 * An application of kind on st, serving the listening descriptors
 * lfd[0..nlfd). Returns NULL when memory runs out.
 */
struct server_app *server_app_new(struct stack *st, int kind, const int *lfd, int nlfd);

/* Frees the application's state; its descriptors stay with the stack (stack_free frees them). */
void server_app_free(struct server_app *a);

/*
 * accept() on every listener until each queue is empty (or the
 * descriptors run out). Each new connection is served at once: data may
 * have arrived while it waited in the queue. Returns how many were accepted.
 */
int server_app_accept(struct server_app *a);

/*
 * The application takes a descriptor it opened itself with connect()
 * (--connect): once connected it sends an HTTP/1.0 request, reads the
 * answer and closes when the server does. Returns 0 or -ENOMEM (fd is
 * then the caller's to close).
 */
int server_app_hold(struct server_app *a, int fd);

/* fd (stack_input()'s answer; negative: none) has news: it is served at the next server_app_run(). */
void server_app_news(struct server_app *a, int fd);

/* Serves every descriptor with news: reads, answers, closes what is done. */
void server_app_run(struct server_app *a);

const struct server_app_stats *server_app_stats(const struct server_app *a);

#endif
