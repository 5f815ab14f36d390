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

/* Runs a demo. Returns 0 or a negative errno. */
int demo_run(const struct demo *d, const struct demo_opts *o);

/* NULL-terminated catalogue. */
extern const struct demo *const demo_catalogue[];

const struct demo *demo_find(const char *name);

#endif
