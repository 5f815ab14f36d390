/*
 * reader.h - the capture's frames read and decoded for the replay's
 * window, on the replay's own thread or (--threads 2) on a second one.
 *
 * Path: frame.c (frame_next) -> reader_decode() (the link layer, IP and
 *       TCP headers, what the window files the frame under) -> a
 *       struct la_frame -> lookahead.c's la_read(), which files it in the
 *       window (lookahead.h) for replay.c.
 *
 * Decoding a frame depends on nothing the replay learns: only on its
 * bytes and the bytes of the frame before it (a capture's duplicate). So
 * a thread of its own can read and decode frames ahead of the replay
 * (reader_start), while the replay's own thread runs the stack: on the
 * standard capture that is about a quarter of a replay's instructions,
 * and all the page faults of reading the file, off the replay's core.
 * The two threads share a ring of READER_SLOTS decoded frames: the reader
 * fills it, the window takes from it in file order, so the replay sees
 * exactly the frames, in exactly the order, that it would read itself,
 * and every output stays byte for byte the same.
 *
 * Why it is not the default: what it saves depends on the machine, and
 * it can lose. Each frame the replay takes (three cache lines of decoded
 * frame, and the packet's first line) now comes from the other core's
 * cache; where the replay does little per frame, or the cores are far
 * apart, that costs more than the decoding it saves, and it never pays
 * when the second core is busy. So it is asked for, never assumed. The
 * measured gains and losses, on two machines of the same kind, are in
 * docs/replay.md ("On two threads") and bench/RESULTS.md.
 *
 * The reader runs only on a plain pcap file read in place (frame_data_kept:
 * its frames' bytes stay where they are, so a decoded segment may point
 * into them on either thread). Everything else is read by the window
 * itself, with the same reader_decode(). A frame the reader cannot
 * finish on its own (one the snap length cut, whose decoding needs a pad
 * the window owns) comes through undecoded, and the window decodes it; a
 * frame no longer in the mapping (the file grew while it was read) ends
 * the thread, and the window reads on from the source itself.
 */
#ifndef TCPDEMUX_READER_H
#define TCPDEMUX_READER_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "segment.h"

/* A frame identical to the one before within this is a duplicate the capture made (10 ms, as FACTS.md counts them). */
#define LA_DUP_GAP (10 * 1000000ull)

/* What the window's index files a frame under (la_frame.kind). */
enum la_kind {
	LA_NONE = 0,
	LA_SYNACK,   /* SYN and ACK set */
	LA_RST,      /* RST set */
	LA_SYN,      /* SYN without ACK */
};

/*
 * A frame as the window keeps it: struct frame's time, lengths and bytes,
 * without what is known otherwise (its number is la_frame.n, its link type
 * only frame_decode() needs, as the frame is read).
 */
struct la_raw {
	uint64_t ts;         /* nanoseconds since the epoch */
	uint32_t caplen;     /* bytes captured */
	uint32_t wirelen;    /* bytes on the wire */
	const uint8_t *data; /* the bytes (the source's, kept: frame_data_kept; or the window's copy) */
};

/*
 * One frame, decoded. The window holds up to LA_MAX_FRAMES of these at
 * once (a SYN waiting seconds for its answer), each written as it is read:
 * the fields are ordered so that one byte is padding (152 bytes; every
 * byte here is a page the kernel must clear once the window is read that
 * deep, and a copy from the reader's ring to the window).
 */
struct la_frame {
	struct la_raw fr;    /* the raw frame: time, lengths, bytes */
	struct segment seg;  /* its TCP segment, when status is 0 */
	int64_t n;           /* frame number in the file, 1-based */
	int16_t status;      /* 0, or the skip reason (frame_skip_name; fewer than SKIP_COUNT); in the reader's ring, also READER_RAW */
	uint8_t cut;         /* SEG_CUT_* bits: what the snap length cut (replayed with what was captured) */
	uint8_t tso;         /* an IPv4 total length of 0 (offload), taken from the frame */
	uint8_t dup;         /* a byte-for-byte copy of the frame before, within LA_DUP_GAP: the capture's duplicate */
	uint8_t kind;        /* enum la_kind, decided as it was read */
	uint8_t copied;      /* fr.data is a copy in the window's byte FIFO (else the source keeps it: frame_data_kept) */
};

/* ---- decoding, on whichever thread reads ------------------------------------------- */

/* The frame read before, as the duplicate test needs it. */
struct reader_prev {
	const uint8_t *bytes; /* its bytes (NULL: none yet, or it was empty: an empty frame is no frame's copy) */
	uint32_t len;         /* its captured length */
	uint64_t ts;          /* its time */
};

/*
 * Whether fr is a byte-for-byte copy of the frame before (*prev), captured
 * within LA_DUP_GAP after it: the capture's duplicate, filed under nothing.
 */
int reader_dup(const struct reader_prev *prev, const struct frame *fr);

/* fr becomes the frame before; its bytes are at bytes (where they stay until the next frame is read). */
void reader_prev_set(struct reader_prev *prev, const struct frame *fr, const uint8_t *bytes);

/*
 * Decodes fr (its bytes where they stay: a segment points into them) into
 * *f: the raw frame, number, status, cut, tso and kind; f->dup must be set
 * already (a duplicate is of no kind), f->copied is left as it is. pad and
 * padcap are frame_decode()'s: only a frame the snap length cut
 * (wirelen > caplen) uses them.
 */
void reader_decode(struct la_frame *f, const struct frame *fr, unsigned seg_flags, uint8_t **pad,
		   size_t *padcap);

/* ---- the second thread -------------------------------------------------------------- */

/*
 * The reader's ring: READER_SLOTS frames, 768 KiB, about a millisecond of
 * replay: enough that neither thread waits on the other's hiccups (a page
 * fault, a burst of handshakes), and that each wakes the other rarely
 * (reader.c: a reader waiting for room is woken once the ring is half
 * empty). On the standard capture 4096 slots took 143 -> 131 ms of CPU
 * against 1024, and 16384 no less; 256 took more (150 ms: a wake-up every
 * 128 frames).
 */
#define READER_SLOTS 4096u

/* A slot's status for a frame the window must decode itself (reader_next returns its raw frame). */
#define READER_RAW (-1)

struct reader;

/*
 * Starts the second thread reading fs (the caller's, which must not read
 * it while the reader runs) with frame_decode()'s seg_flags. Returns NULL
 * when fs is not a file the reader reads (not read in place) or no thread
 * could be started: the caller then reads fs itself, with the same result.
 */
struct reader *reader_start(struct frame_src *fs, unsigned seg_flags);

/*
 * The next frame, in file order, copied into *f. Returns 1 with *f
 * decoded; 2 with *f's raw frame, number and dup set and its status
 * READER_RAW, and the frame as frame_next() gave it in *fr: the caller
 * decodes it (reader_decode); 3 the same, but the thread has stopped and
 * the frame's bytes are valid only until the source is read again (it
 * left the mapping: the caller copies them), and from now on the caller
 * reads the source itself; 0 at the end of the file and -1 on a read
 * error ("FILE: reason" in err), the thread stopped too. Once the thread
 * stopped (3, 0, -1) the caller calls reader_free() and never this again;
 * the source is its own again, read as far as the frames returned.
 */
int reader_next(struct reader *r, struct la_frame *f, struct frame *fr, char *err, size_t errlen);

/* Stops the thread (at once, if it is still reading) and frees the reader. NULL is a no-op. */
void reader_free(struct reader *r);

#endif
