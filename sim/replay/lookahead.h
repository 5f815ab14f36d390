/*
 * lookahead.h - the replay's window of frames read ahead of the one being
 * replayed, with an index of the SYNs, SYN-ACKs and RSTs in it.
 *
 * Path: frame.c (libpcap) -> reader.c (frame_decode; with --threads 2 on
 *       a thread of its own) -> la_read() -> the window ->
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
#include "reader.h"
#include "segment.h"

/*
 * The window's limits (la_full): four seconds of capture, 65536 frames,
 * 32 MiB of frame bytes; and for most decisions (la_full_soft) two
 * seconds and 2048 frames, enough for a SYN-ACK behind a burst and small
 * enough to stay in cache. Only a SYN's answer is looked for as deep as
 * the hard limit: a SYN sent again (1 s, then 2 s later) must be in sight
 * of the one before to tell a listener's drop, and a second holds tens of
 * thousands of frames on a busy capture. The window is read only as deep
 * as a decision needs, so it mostly stays a few frames deep.
 */
#define LA_HORIZON (4 * 1000000000ull)
#define LA_SOFT_HORIZON (2 * 1000000000ull)
#define LA_MAX_FRAMES 65536u
#define LA_SOFT_FRAMES 2048u
#define LA_MAX_BYTES (32u << 20)

/* The frames it holds (struct la_frame, enum la_kind) are as reader.h decodes them. */

struct lookahead;

/*
 * A window over fs (which stays the caller's, but is not to be read while
 * the window lives), the capture file named file (for messages): frames
 * are decoded with their own link type (a mixed pcapng has several) and
 * seg_flags (frame_decode). With threads 2 they are read and decoded on a
 * second thread when the file is one the reader reads (reader_start);
 * else (1, or 0) on the caller's. The frames are the same either way.
 * Returns NULL when memory runs out.
 */
struct lookahead *la_new(struct frame_src *fs, const char *file, unsigned seg_flags, int threads);
void la_free(struct lookahead *la);

/*
 * Reads the next frame of the file into the window and returns it, or
 * NULL at the end of the file or on a read error (la_error() then says
 * which). The window's limits are the caller's to respect (la_full).
 */
const struct la_frame *la_read(struct lookahead *la);




/* Removes the head frame from the window (and from the index). */
void la_pop(struct lookahead *la);

/*
 * The first frame of this kind from a:pa to b:pb in the window (a
 * retransmission carries the same numbers, so the first one stands for
 * all), or NULL.
 */
const struct la_frame *la_find(struct lookahead *la, int kind, const struct ip_addr *a, uint16_t pa,
			       const struct ip_addr *b, uint16_t pb);


/*
 * The first pure ACK (ACK without SYN or RST) from a:pa to b:pb that
 * acknowledges ack, among the window's frames from *i on (0 = the head),
 * before the first one captured after bound (nanoseconds since the epoch,
 * as la_raw.ts). Returns it, or NULL with *i at that later frame or at
 * la_count(): the window ended first, and once it has read more the scan
 * can go on from there. (A handshake's final ACK, whose gap after the
 * SYN-ACK tells where the capture was taken: a window thousands of frames
 * deep is searched frame by frame.)
 */
const struct la_frame *la_scan_ack(struct lookahead *la, uint32_t *i, uint64_t bound, uint32_t ack,
				   const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb);

/* Is f of this kind, from a:pa to b:pb? (What la_find looks for, on one frame.) */
int la_is(const struct la_frame *f, int kind, const struct ip_addr *a, uint16_t pa,
	  const struct ip_addr *b, uint16_t pb);

/* Frames read from the file so far. */
int64_t la_nread(const struct lookahead *la);  /* frames the window read (the filter's passed) */
/* The file ended; 1 with "FILE: reason" in *msg if it ended on an error. */
int la_eof(const struct lookahead *la);
int la_error(const struct lookahead *la, const char **msg);

/*
 * The window itself. Its fields are here only so that the accessors
 * below, called for every frame, can be inlined; nothing else reads them.
 *
 * A ring position's state is split three ways, so that a window read
 * deep touches only what it uses: the frame (ring), its place in the
 * index (links, 12 bytes), what a scan compares (keys, 16 bytes), and a
 * pad buffer (pads) that only a frame the snap length cut ever needs. The frames' bytes are not per position at
 * all: a plain pcap file's stay where the source read them (its mapping:
 * frame_data_kept), others are copied, in the order read, into a FIFO of
 * blocks (lookahead.c), so a window holds its frames' bytes and little more.
 */
struct la_link {
	uint32_t ihash;     /* the index hash of (kind, 4-tuple), when indexed or chained */
	uint32_t next_same; /* ring position + 1 of the next frame with the same key, 0 none */
	uint32_t last_same; /* on the index's frame for its key (and only there, else 0): ring position + 1 of its key's last frame */
};

/*
 * What la_scan_ack() reads of each frame, by ring position: its time and
 * the segment's ACK number and ports, 16 bytes in a row instead of the
 * two or three cache lines of each frame (the frames' other fields decide
 * only on a match).
 */
struct la_key {
	uint64_t ts;  /* fr.ts */
	uint64_t seg; /* seg.ack << 32 | seg.sport << 16 | seg.dport */
};

/* A snap-length-cut frame's payload padded with zeros (frame_decode), kept with its ring position. */
struct la_pad {
	uint8_t *buf;  /* malloc()ed by frame_decode, grown as needed */
	size_t cap;    /* bytes allocated at buf */
};

/*
 * The index's largest size: twice the window's most frames, so it is at
 * most half full. It starts at LA_IDX_MIN entries (8 KiB) and doubles
 * once more than a quarter full (linear probing's runs stay short); a window that empties goes back to
 * LA_IDX_MIN. Most lookups are for a key the window does not hold (the
 * RST after a FIN, the SYN-ACK of a SYN not sent yet), each a probe at a
 * random place: in a table the size of the few entries the window holds,
 * that place is in the cache; in the full 1 MiB it was a cache miss.
 */
#define LA_IDX_SIZE (2 * LA_MAX_FRAMES)
#define LA_IDX_MIN 1024u

/*
 * An index entry: a ring position and its key's hash, so that a probe
 * passes over other keys' entries, and a deletion finds where the entries
 * after it belong, in the index alone, not in the frames and links of a
 * window thousands of frames deep (cache misses, a probe each).
 */
struct la_ient {
	uint32_t pos;  /* ring position + 1, 0 empty */
	uint32_t hash; /* the index hash of its key (la_link.ihash) */
};

struct lookahead {
	struct frame_src *fs;    /* the capture, read with frame_next() (the caller's) */
	struct reader *reader;   /* the thread reading fs ahead, or NULL: the window reads fs itself */
	const char *file;        /* its name, for messages */
	unsigned seg_flags;      /* frame_decode()'s flags (SEG_VERIFY_CSUM) */
	struct la_frame *ring;   /* LA_MAX_FRAMES frames (mapped: a page is only touched once the window reaches it) */
	void *ring_map;          /* the mapping the ring lies in (lookahead.c: ring_map) */
	size_t ring_map_len;     /* its length */
	struct la_link *links;   /* LA_MAX_FRAMES index links, by ring position */
	struct la_key *keys;     /* LA_MAX_FRAMES scan keys, by ring position (written by the first scan to reach them) */
	int64_t nkeyed;          /* the frames read before the nkeyed-th have their keys (if still in the window) */
	struct la_pad *pads;     /* LA_MAX_FRAMES pad buffers, by ring position (calloc'd as the first cut frame comes) */
	uint32_t pads_used;      /* positions 0..pads_used-1 may own a pad buffer (la_free frees those) */
	uint32_t head;           /* ring position of the oldest frame */
	uint32_t count;          /* frames in the window */
	size_t bytes;            /* their captured bytes */
	int eof;                 /* the file ended (or failed: read_err) */
	int read_err;            /* ... on an error; err says what */
	char err[768];           /* "FILE: reason" */
	int64_t nread;           /* frames read (that passed the filter) */
	uint64_t t0;             /* the file's first frame's time */
	struct la_ient idx[LA_IDX_SIZE]; /* the index; only [0, idx_mask] in use */
	uint32_t idx_mask;       /* the index's size in use - 1 (a power of two, LA_IDX_MIN..LA_IDX_SIZE) */
	uint32_t idx_used;       /* entries in the index (keys, not frames: a key's later frames are chained) */
	uint32_t nkind[LA_SYN + 1]; /* frames in the window of each kind (la_find asks the index only for a kind it holds) */
	const struct la_frame *memo[LA_SYN + 1]; /* each kind's last la_find() answer (its key's first frame until it leaves) */
	struct reader_prev prev; /* the frame read last (its bytes in the byte FIFO, valid until the next read) */
	struct la_block *oldest; /* the byte FIFO's blocks, oldest (the head frame's bytes) first ... */
	struct la_block *newest; /* ... to the one frames are copied into now (lookahead.c) */
	struct la_block *spare;  /* emptied blocks kept for reuse (their pages are already the process's) */
	struct la_block *retired; /* emptied blocks too large to keep, freed at the next read (prev may point into one) */
};

/*
 * The window may grow no further: the file ended, or it holds LA_MAX_FRAMES
 * frames, LA_MAX_BYTES bytes, or a frame more than LA_HORIZON after the
 * oldest.
 */
/* The window spans more than horizon (its newest frame that far after its oldest). */
static inline int la_spans(const struct lookahead *la, uint64_t horizon)
{
	return la->count &&
	       la->ring[(la->head + la->count - 1) % LA_MAX_FRAMES].fr.ts > la->ring[la->head].fr.ts + horizon;
}

static inline int la_full(const struct lookahead *la)
{
	return la->eof || la->count >= LA_MAX_FRAMES || la->bytes >= LA_MAX_BYTES || la_spans(la, LA_HORIZON);
}

/* The window holds LA_SOFT_FRAMES frames or two seconds, or la_full(). */
static inline int la_full_soft(const struct lookahead *la)
{
	return la->eof || la->count >= LA_SOFT_FRAMES || la->bytes >= LA_MAX_BYTES ||
	       la_spans(la, LA_SOFT_HORIZON);
}

/* The oldest frame in the window (the one to replay next), or NULL if it is empty. */
static inline struct la_frame *la_head(struct lookahead *la)
{
	return la->count ? &la->ring[la->head] : NULL;
}

/* The window's frame i (0 = the head), for i < la_count(). */
static inline const struct la_frame *la_at(const struct lookahead *la, uint32_t i)
{
	return &la->ring[(la->head + i) % LA_MAX_FRAMES];
}

/* Frames in the window. */
static inline uint32_t la_count(const struct lookahead *la)
{
	return la->count;
}

/*
 * The next frame in the window with f's kind and 4-tuple (a SYN sent
 * again, a second SYN-ACK), or NULL. f must be a frame the window holds,
 * of a kind other than LA_NONE.
 */
static inline const struct la_frame *la_next_same(const struct lookahead *la, const struct la_frame *f)
{
	uint32_t next = la->links[f - la->ring].next_same;

	return next ? &la->ring[next - 1] : NULL;
}

/* The time of the file's first frame (virtual time 0), once one was read. */
static inline uint64_t la_t0(const struct lookahead *la)
{
	return la->t0;
}

#endif
