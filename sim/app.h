/*
 * app.h - the built-in server applications of `tcpdemux live`: what a
 * real program would do with the connections accept() returns.
 *
 * Path: the driver feeds a segment (stack_input() names the descriptor
 * with news) -> app_news() -> app_run(): recv(), then the application's
 * answer (send(), close()) on the same stack. app_accept() is the
 * application's accept() loop, called when the driver's --accept policy
 * says so. The application never sees a segment, only the socket API, as
 * a real server sees only its descriptors.
 */
#ifndef TCPDEMUX_APP_H
#define TCPDEMUX_APP_H

#include <stdint.h>

#include "stack.h"

enum app_kind {
	APP_ECHO = 0, /* sends back every byte it reads; closes when the peer does */
	APP_HTTP,     /* reads a request up to its blank line, answers one line, closes */
	APP_DISCARD,  /* reads and drops everything; closes when the peer does */
	APP_NEVER,    /* never calls accept(): the queues fill */
};

/* "echo", "http", "discard", "never"; app_parse() returns the kind or -1. */
const char *app_name(int kind);
int app_parse(const char *name);

struct app_stats {
	uint64_t accepted;   /* descriptors accept() returned */
	uint64_t closed;     /* descriptors the application closed */
	uint64_t bytes_in;   /* bytes recv() returned */
	uint64_t bytes_out;  /* bytes send() queued */
	uint64_t responses;  /* HTTP responses sent */
	uint64_t errors;     /* recv()/send() errors (a reset connection) */
};

struct app;

/*
 * An application of kind on st, serving the listening descriptors
 * lfd[0..nlfd). Returns NULL when memory runs out.
 */
struct app *app_new(struct stack *st, int kind, const int *lfd, int nlfd);

/* Frees the application's state; its descriptors stay with the stack (stack_free frees them). */
void app_free(struct app *a);

/*
 * accept() on every listener until each queue is empty (or the
 * descriptors run out). Each new connection is served at once: data may
 * have arrived while it waited in the queue. Returns how many were accepted.
 */
int app_accept(struct app *a);

/*
 * The application takes a descriptor it opened itself with connect()
 * (--connect): once connected it sends an HTTP/1.0 request, reads the
 * answer and closes when the server does. Returns 0 or -ENOMEM (fd is
 * then the caller's to close).
 */
int app_hold(struct app *a, int fd);

/* fd (stack_input()'s answer; negative: none) has news: it is served at the next app_run(). */
void app_news(struct app *a, int fd);

/* Serves every descriptor with news: reads, answers, closes what is done. */
void app_run(struct app *a);

const struct app_stats *app_stats(const struct app *a);

#endif
