/*
 * lookahead.h - the replay's window of frames read ahead of the one being
 * replayed, with an index of the SYNs, SYN-ACKs and RSTs in it.
 *
 * Path: frame.c (libpcap, frame_decode) -> la_read() -> the window ->
 *       la_head() / la_pop() in capture order, to replay.c's driver;
 *       la_find() answers "is there a SYN-ACK (RST, SYN) for this 4-tuple
 *       ahead?" for the decisions that need the recorded host's future.
 *
 * The window knows nothing of what is local or what a frame means: it
 * reads, decodes, files and forgets. The driver decides how far to read
 * (la_full() says when it may read no further) and learns from each frame
 * la_read() returns.
 */
#ifndef TCPDEMUX_LOOKAHEAD_H
#define TCPDEMUX_LOOKAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "segment.h"

/*
 * The window's limits (la_full): two seconds of capture, 2048 frames
 * (enough for a SYN-ACK behind a burst, small enough to stay in cache),
 * 32 MiB of frame bytes.
 */
#define LA_HORIZON (2 * 1000000000ull)
#define LA_MAX_FRAMES 2048u
#define LA_MAX_BYTES (32u << 20)

/* What the index files a frame under (la_frame.kind). */
enum la_kind {
	LA_NONE = 0,
	LA_SYNACK,   /* SYN and ACK set */
	LA_RST,      /* RST set */
	LA_SYN,      /* SYN without ACK */
};

/* One frame in the window, decoded. Valid until la_pop() removes it. */
struct la_frame {
	struct frame fr;     /* the raw frame: time, lengths, bytes (owned by the window) */
	struct segment seg;  /* its TCP segment, when status is 0 */
	int status;          /* 0, or the skip reason (frame_skip_name) */
	int cut;             /* SEG_CUT_* bits: what the snap length cut (replayed with what was captured) */
	int64_t n;           /* frame number in the file, 1-based */
	uint8_t kind;        /* enum la_kind, decided as it was read */
};

struct lookahead;

/*
 * A window over fs (which stays the caller's), the capture file named file
 * (for messages): frames are decoded with their own link type (a mixed
 * pcapng has several) and seg_flags (frame_decode). Returns NULL when
 * memory runs out.
 */
struct lookahead *la_new(struct frame_src *fs, const char *file, unsigned seg_flags);
void la_free(struct lookahead *la);

/*
 * Reads the next frame of the file into the window and returns it, or
 * NULL at the end of the file or on a read error (la_error() then says
 * which). The window's limits are the caller's to respect (la_full).
 */
const struct la_frame *la_read(struct lookahead *la);

/*
 * The window may grow no further: the file ended, or it holds LA_MAX_FRAMES
 * frames, LA_MAX_BYTES bytes, or a frame more than LA_HORIZON after the
 * oldest.
 */
int la_full(const struct lookahead *la);

/* The oldest frame in the window (the one to replay next), or NULL if it is empty. */
struct la_frame *la_head(struct lookahead *la);

/* The window's frame i (0 = the head), for i < la_count(). */
const struct la_frame *la_at(const struct lookahead *la, uint32_t i);
/* Frames in the window. */
uint32_t la_count(const struct lookahead *la);

/* Removes the head frame from the window (and from the index). */
void la_pop(struct lookahead *la);

/*
 * The first frame of this kind from a:pa to b:pb in the window (a
 * retransmission carries the same numbers, so the first one stands for
 * all), or NULL.
 */
const struct la_frame *la_find(const struct lookahead *la, int kind, const struct ip_addr *a,
			       uint16_t pa, const struct ip_addr *b, uint16_t pb);

/* Is f of this kind, from a:pa to b:pb? (What la_find looks for, on one frame.) */
int la_is(const struct la_frame *f, int kind, const struct ip_addr *a, uint16_t pa,
	  const struct ip_addr *b, uint16_t pb);

/* The time of the file's first frame (virtual time 0), once one was read. */
uint64_t la_t0(const struct lookahead *la);
/* Frames read from the file so far. */
int64_t la_nread(const struct lookahead *la);  /* frames the window read (the filter's passed) */
/* The file ended; 1 with "FILE: reason" in *msg if it ended on an error. */
int la_eof(const struct lookahead *la);
int la_error(const struct lookahead *la, const char **msg);

#endif
