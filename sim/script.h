/*
 * script.h - `tcpdemux script FILE.pkt`: scenarios in packetdrill's
 * script language, run against the stack on the virtual clock.
 */
#ifndef TCPDEMUX_SCRIPT_H
#define TCPDEMUX_SCRIPT_H

#include "render.h"
#include "stack.h"

struct script_opts {
	const char *file;
	struct stack_config cfg;
	struct renderer *r;      /* the trace; NULL for none */
	const char *local_ip;    /* packetdrill's --local_ip (default 192.168.0.1) */
	const char *remote_ip;   /* packetdrill's --remote_ip (default 192.0.2.1) */
	int ipv6;                /* --ip_version=ipv6 */
	vtime_t tolerance;       /* --tolerance_usecs (default 4 ms) */
	const char *text;        /* the script itself, instead of reading file (demos) */
	int tables;              /* print the tables after every inbound segment */
	const char *who;         /* the application's name on its calls in the trace (NULL: "script") */
	int number_inbound;      /* number inbound segments 1, 2, 3... (0: by their script line) */
	int quiet;               /* nothing on stderr when an expectation fails: the caller explains */
};

/*
 * Runs the script. Returns 0 when every expectation held, 1 when one did
 * not (one line "FILE:LINE: ..." on stderr says which and why), 2 when the
 * file cannot be read or is not valid syntax ("FILE:LINE: expected ...").
 */
int script_run(const struct script_opts *o);

#endif
