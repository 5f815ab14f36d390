/*
 * demo.h - the built-in demonstrations (`tcpdemux demo NAME`).
 */
#ifndef TCPDEMUX_DEMO_H
#define TCPDEMUX_DEMO_H

#include <stdio.h>

#include "render.h"
#include "stack.h"

struct demo_opts {
	struct stack_config cfg; /* seed and buckets already chosen */
	struct renderer *r;
};

struct demo {
	const char *name;
	const char *summary;   /* one line, for the catalogue */
	const char *watch;     /* a paragraph: what to watch for */
	int (*run)(const struct demo_opts *o); /* or NULL: */
	const char *script;                    /* a narrated scenario in the script language */
};

/*
 * Checks that the options suit the demo: a scripted demo runs unchanged
 * or not at all, so a --max-sockets below what it holds at once is
 * refused. Returns 0, or -EINVAL with one line for the user in err.
 */
int demo_check(const struct demo *d, const struct demo_opts *o, char *err, size_t len);

/* Runs a demo. Returns 0 or a negative errno. */
int demo_run(const struct demo *d, const struct demo_opts *o);

/* NULL-terminated catalogue. */
extern const struct demo *const demo_catalogue[];

const struct demo *demo_find(const char *name);

#endif
