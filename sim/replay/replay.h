/*
 * replay.h - `tcpdemux replay FILE`: a capture of a real host, played
 * through the stack.
 */
#ifndef TCPDEMUX_REPLAY_H
#define TCPDEMUX_REPLAY_H

#include <stdint.h>

#include "addr.h"
#include "frame.h"
#include "record.h"
#include "render.h"
#include "stack.h"
#include "verify.h"

#define REPLAY_MAX_LOCAL 64     /* --local options */
/*
 * Local hosts, and listeners, a replay takes from the capture: far beyond
 * a server farm behind one router (the address look-up is a hash,
 * stack.c; the listener look-up too, replay_app.c), yet a bound on what a
 * capture of a scan could make it open; reaching it is a warning. Why not
 * more: every listen() on a port checks the port's bind bucket for a
 * conflict, which holds every socket on that port (inet_csk_bind_conflict
 * walks it too), so n listeners on one port cost n^2 / 2 checks.
 */
#define REPLAY_MAX_HOSTS 4096
_Static_assert(REPLAY_MAX_HOSTS < 65536, "replay_app.h's app_conn.listener holds a listener's index in 16 bits");
#define REPLAY_MAX_LISTEN 256

/* What a replay read, for the summary (emit_summary() turns it into a record). */
struct replay_stats {
	const char *file;
	const char *linktype;
	const char *precision;      /* "microsecond", "nanosecond", "per-interface" */
	const char *compression;    /* "gzip", or NULL */
	const char *filter;         /* the filter expression, or NULL */
	uint64_t frames;            /* frames read, the filtered ones included */
	uint64_t filtered;          /* frames the filter dropped (never decoded) */
	uint64_t inbound, outbound; /* TCP segments to / from a local address */
	uint64_t ignored;           /* TCP segments neither to nor from a local address */
	uint64_t skipped[SKIP_COUNT];
	int64_t first_skipped[SKIP_COUNT]; /* frame number of the first skipped for each reason */
	uint64_t payload_cut;       /* replayed with payload bytes missing (snap length) */
	uint64_t header_cut;        /* replayed with options (or the window) missing (snap length) */
	uint64_t tso_length_0;      /* IPv4 total length 0 (segmentation offload), read as captured */
	uint64_t duplicates;        /* frames the capture holds twice (identical, within 10 ms): replayed once */
	uint64_t picked_up;         /* connections already open when the capture started */
	uint64_t isn_recorded, isn_own;
	uint64_t isn_rebased;       /* own ISNs replaced by a recorded SYN-ACK's that came later */
	uint64_t listener_drops;    /* SYNs the recorded listener dropped, not given to the stack */
	uint64_t synack_nosyn;      /* SYN-ACKs that answered no SYN in the capture, from hosts never taken as local */
	uint64_t nosyn_hosts;       /* ...their senders */
	const char *nosyn_first;    /* ...the first of them ("addr:port"), or NULL */
	int64_t nosyn_frame;        /* ...and its frame */
	struct rec_capture capture; /* where the capture was taken (record.h) */
	const struct verify_stats *verify; /* --verify, else NULL */
	const char *verify_nothing; /* --verify compared nothing: why (the exit status is 1), else NULL */
};

struct replay_listen {
	struct ip_addr addr;
	uint16_t port;
	int backlog;   /* -1: net.core.somaxconn */
	int reuseport; /* members of a SO_REUSEPORT group; 0 or 1: a plain listener */
};

enum accept_mode {
	ACCEPT_IMMEDIATE = 0, /* accept() as soon as a connection is queued */
	ACCEPT_NEVER,         /* the application never calls accept() */
	ACCEPT_EVERY,         /* accept() everything queued every accept_every ns */
};

struct replay_opts {
	const char *file;
	const char *filter;          /* a tcpdump expression (libpcap), or NULL */
	struct stack_config cfg;
	struct renderer *r;          /* NULL: summary only (--quiet) */
	struct renderer *summary_r;  /* where the summary goes */
	struct ip_addr local[REPLAY_MAX_LOCAL];
	int nlocal;                  /* 0: detect */
	struct replay_listen listen[REPLAY_MAX_LISTEN];
	int nlisten;                 /* 0: infer */
	int verify_checksums;
	int tables;                  /* 0 none, 1 after every inbound segment, 2 at the end */
	const char *write_path;      /* --write OUT.pcap */
	int accept_mode;             /* enum accept_mode */
	vtime_t accept_every;
	int accept_given;            /* --accept was given (else the capture may tell) */
	int verify;                  /* compare with the recorded host's segments */
	int capture_point;           /* enum capture_mode (capture_point.h): --capture-point */
	int threads;                 /* --threads: 2 reads and decodes the capture on a second thread (reader.h); 0 or 1 on the replay's */
};

/*
 * A listening socket as a --listen names it: socket(), SO_REUSEADDR (and
 * SO_REUSEPORT for a group member), bind(), listen(backlog; -1 for
 * somaxconn). Returns the descriptor, or a negative errno (nothing left open).
 */
int replay_listen_socket(struct stack *st, const struct ip_addr *a, uint16_t port, int backlog,
			 int reuseport);

/*
 * Runs the replay. Returns the exit status: 0; 1 when --verify found the
 * control segments disagreeing; 2 when the file could not be read (one
 * line on stderr names it and the reason; whatever was read before a
 * corruption is still replayed and summarised).
 */
int replay_run(const struct replay_opts *o);

#endif
