/*
 * live.h - `tcpdemux live`: real Linux clients connect to the miniature
 * stack through a TUN device, on the real clock.
 */
#ifndef TCPDEMUX_LIVE_H
#define TCPDEMUX_LIVE_H

#include <stdint.h>

#include "render.h"
#include "replay.h"
#include "stack.h"
#include "tun.h"

#define LIVE_MAX_NETS 4
#define LIVE_MAX_CONNECT 16

struct live_opts {
	const char *dev;                 /* --tun NAME */
	struct tun_net nets[LIVE_MAX_NETS]; /* --addr, with the kernel's address beside each */
	int nnets;
	struct replay_listen listen[REPLAY_MAX_LISTEN];
	int nlisten;
	struct ip_addr connect_addr[LIVE_MAX_CONNECT]; /* --connect: active opens to the kernel's servers */
	uint16_t connect_port[LIVE_MAX_CONNECT];
	int nconnect;
	int app;                         /* enum app_kind */
	int accept_mode;                 /* enum accept_mode */
	vtime_t accept_every;
	vtime_t duration;                /* stop after this long; 0: until a signal */
	struct stack_config cfg;
	int tables;                      /* 0 none, 1 after every inbound segment, 2 at the end */
	const char *write_path;          /* --write OUT.pcap: what crossed the device */
	struct renderer *r;              /* the trace, or NULL (--quiet) */
	struct renderer *summary_r;      /* where the summary goes */
};

/*
 * Sets up the device, serves until SIGINT, SIGTERM or SIGHUP (or the
 * duration), prints the summary and removes the device. Returns 0, or 2
 * when the environment does not allow it (one line on stderr; nothing is
 * left configured).
 */
int live_run(const struct live_opts *o);

#endif
