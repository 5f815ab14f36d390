/*
 * script.h - `tcpdemux script FILE.pkt`: scenarios in packetdrill's
 * script language, run against the stack on the virtual clock.
 */
#ifndef TCPDEMUX_SCRIPT_H
#define TCPDEMUX_SCRIPT_H

#include <stddef.h>

#include "render.h"
#include "stack.h"

struct script_opts {
	const char *file;
	struct stack_config cfg;
	struct renderer *r;      /* the trace; NULL for none */
	const char *local_ip;    /* packetdrill's --local_ip; NULL: 192.168.0.1 (IPv6: fd3d:fa7b:d17d::1) */
	const char *remote_ip;   /* packetdrill's --remote_ip; NULL: 192.0.2.1 (IPv6: fd3d:fa7b:d17d:1::1) */
	int ipv6;                /* --ip_version=ipv6 */
	vtime_t tolerance;       /* --tolerance_usecs (packetdrill's default: 4 ms) */
	double tolerance_percent; /* --tolerance_percent: of the time since the previous line (12.5) */
	uint32_t ts_tick_usecs;  /* --tcp_ts_tick_usecs: check outbound TS values at this tick (0: not) */
	int ts_ecr_scaled;       /* --tcp_ts_ecr_scaled: an inbound TS ecr may be any value, scaled */
	int strict_segments;     /* --strict_segments: no aggregating of sent segments */
	int absolute_seq;        /* --absolute_seq: remote numbers absolute, ours from the first ISN (demos) */
	uint16_t bind_port;      /* --bind_port (0: 8080) */
	uint16_t connect_port;   /* --connect_port (0: 8080) */
	const char *text;        /* the script itself, instead of reading file (demos) */
	int tables;              /* print the tables after every inbound segment */
	int verbose;             /* --verbose: list the profile's knobs that are not modelled */
	const char *defines[16]; /* -D NAME=VALUE: NAME in the script stands for VALUE */
	int ndefines;
	const char *who;         /* the application's name on its calls in the trace (NULL: "script") */
	int number_inbound;      /* number inbound segments 1, 2, 3... (0: by their script line) */
	int quiet;               /* nothing on stderr when an expectation fails: the caller explains */
};

/* packetdrill's defaults (tolerance 4 ms and 12.5 %, ports 8080) and Linux's stack settings. */
void script_opts_init(struct script_opts *o);

/* One of packetdrill's options, as the command line and a script's header lines spell it. */
struct script_optdef {
	const char *name;        /* with '_', as packetdrill spells it ('-' is accepted too) */
	int has_value;
	const char *help;
};

/* Every option script_option() takes; the last entry's name is NULL. */
extern const struct script_optdef script_optdefs[];

/*
 * Applies packetdrill's option name (with '-' or '_') and its value (NULL
 * for a flag) to o. Returns 0, or -1 with a message in err: an unknown
 * option, a bad value, or one tcpdemux does not model (--wire_server ...).
 */
int script_option(struct script_opts *o, const char *name, const char *value, char *err, size_t errlen);

/*
 * Runs the script. Returns 0 when every expectation held, 1 when one did
 * not (one line "FILE:LINE: ..." on stderr says which and why), 2 when the
 * file cannot be read, is not valid syntax or uses something not modelled
 * ("FILE:LINE: expected ..." or "FILE:LINE: not modelled: ..."), found
 * before anything runs.
 */
int script_run(const struct script_opts *o);

#endif
