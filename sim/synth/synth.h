/*
 * synth.h - `tcpdemux synth`: traffic made up on the spot and fed into
 * the stack: well-behaved clients, a SYN flood, or a hash flood.
 */
#ifndef TCPDEMUX_SYNTH_H
#define TCPDEMUX_SYNTH_H

#include <stdint.h>

#include "render.h"
#include "replay.h"
#include "stack.h"

enum synth_mode { SYNTH_CLIENTS = 1, SYNTH_SYN_FLOOD, SYNTH_HASH_FLOOD };

/* --hash-flood crafts its 4-tuples for this hash seed: run with --hash-seed 1 to see them collide. */
#define SYNTH_KNOWN_SEED 1

struct synth_opts {
	int mode;                  /* enum synth_mode */
	uint64_t count;            /* clients, SYNs or crafted 4-tuples */
	double rate;               /* new connections or SYNs per second */
	uint32_t data;             /* request and response size (clients) */
	uint32_t concurrent;       /* clients open at once at most */
	uint32_t seed;             /* the generator's choices */
	struct stack_config cfg;
	struct replay_listen listen[REPLAY_MAX_LISTEN];
	int nlisten;               /* 0: 10.0.0.1:80 */
	int accept_mode;           /* enum accept_mode */
	vtime_t accept_every;
	const char *write_path;
	int tables;                /* 1 after every segment, 2 at the end */
	struct renderer *r;        /* the trace, or NULL (--quiet) */
	struct renderer *summary_r;
	/* Hash flood: inbound segments are numbered from *frames + 1, and *frames is
	 * left at the last number, so a second run numbers on (NULL: from 1). */
	int64_t *frames;
};

/* Runs the generator. Returns 0, or 2 when it could not start (message on stderr). */
int synth_run(const struct synth_opts *o);

#endif
