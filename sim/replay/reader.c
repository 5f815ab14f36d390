/*
 * reader.c - see reader.h.
 *
 * Path: frame_next() -> reader_decode() -> (on the reader's thread) a
 *       slot of the ring -> reader_next() on the replay's thread ->
 *       lookahead.c's la_read().
 *
 * The ring is a single-producer single-consumer queue of READER_SLOTS
 * frames, with two free-running counters: tail (frames filled, written by
 * the reader) and head (frames taken, written by the replay). Each thread
 * keeps its own copy of the other's counter and reads the shared one only
 * when its copy says the ring is empty (the replay) or full (the reader),
 * so the cache line a counter sits in moves between the cores once per
 * run of frames, not once per frame; for the same reason the replay
 * publishes head only every READER_BATCH frames.
 *
 * Why a thread that runs out of work sleeps (a futex) instead of spinning:
 * on a server capture the reader is about twice as fast as the replay (the
 * standard capture: 45 ms against 85), so it fills the ring and waits
 * most of the time. Spinning there would burn the second
 * core's whole time for nothing (and the CPU time is measured: make bench).
 * It sleeps until the ring is half empty, and the replay wakes it once per
 * half ring (one system call per READER_SLOTS / 2 frames). The replay
 * waits for frames only at the start and where reading is the slower half
 * (a burst of page faults, frames the replay skips); it too sleeps until a
 * run of frames is ready (wait_for_frame).
 *
 * Lost wake-ups: a thread going to sleep first says so (its waiting flag),
 * then looks at the other's counter once more, both sequentially
 * consistent, and the futex sleeps only while the counter still has the
 * value it saw; the other thread stores its counter, then reads the flag.
 * One of the two sees the other's store.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "reader.h"

/* The replay publishes head (and looks whether the reader sleeps) every this many frames. */
#define READER_BATCH 32u
/* The replay wakes a reader waiting for room once the ring holds at most this many frames. */
#define READER_WAKE_AT (READER_SLOTS / 2)
/* How many frames ahead of the one it takes the replay starts loading a frame's packet (twice as far: its slot). */
#define READER_AHEAD 8u
/* A replay waiting for frames is woken once the ring holds this many (or the reader stopped). */
#define READER_WAKE_REPLAY (READER_SLOTS / 4)

/* ---- decoding ------------------------------------------------------------------------ */

int reader_dup(const struct reader_prev *prev, const struct frame *fr)
{
	return prev->bytes && fr->caplen == prev->len && fr->ts - prev->ts <= LA_DUP_GAP && fr->ts >= prev->ts &&
	       memcmp(fr->data, prev->bytes, fr->caplen) == 0;
}

void reader_prev_set(struct reader_prev *prev, const struct frame *fr, const uint8_t *bytes)
{
	prev->bytes = fr->caplen ? bytes : NULL; /* an empty frame is no frame's copy (nor is the next empty one) */
	prev->len = fr->caplen;
	prev->ts = fr->ts;
}

/* What the index files a frame under, decided once as it is read. */
static int frame_kind(const struct la_frame *f)
{
	uint8_t fl = f->seg.flags;

	if (f->status)
		return LA_NONE;
	if (fl & TH_RST)
		return LA_RST;
	if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
		return LA_SYNACK;
	if (fl & TH_SYN)
		return LA_SYN;
	return LA_NONE;
}

void reader_decode(struct la_frame *f, const struct frame *fr, unsigned seg_flags, uint8_t **pad,
		   size_t *padcap)
{
	int cut;

	f->fr.ts = fr->ts;
	f->fr.caplen = fr->caplen;
	f->fr.wirelen = fr->wirelen;
	f->fr.data = fr->data;
	f->n = fr->num; /* the file's numbering, as Wireshark shows it, filtered frames counted */
	f->status = (int16_t)frame_decode(fr->linktype, fr, &f->seg, seg_flags, pad, padcap, &cut);
	f->cut = (uint8_t)cut;
	/* Offloaded frames are larger than any link's MTU: only those are looked at. */
	f->tso = !f->status && fr->caplen > 1514 && frame_ip_length_zero(fr->linktype, fr);
	/* A duplicate is filed under nothing: it stands for no second SYN or answer. */
	f->kind = f->dup ? LA_NONE : (uint8_t)frame_kind(f);
}

/* ---- the ring -------------------------------------------------------------------------- */

/*
 * A slot's status (la_frame.status) for the reader's last one: after it,
 * the thread has stopped. (0 and the skip reasons are decoded frames,
 * READER_RAW an undecoded one.)
 */
#define SLOT_HANDOVER (-2) /* a raw frame outside the mapping (reader.last) */
#define SLOT_END (-3)      /* no frame: the file ended (end 0) or failed (end -1, err) */

/*
 * A slot: a frame in lines of its own (152 bytes in 192). With slots
 * packed, a replay right behind the reader (where reading is the slower
 * half, or after a wake-up) read the frame whose last line the reader was
 * writing the next frame into: the line went back and forth between the
 * cores for every frame (a window read and popped with no replay behind
 * it: 103 -> 53 ms on the published-capture composite, CPU 180 -> 54 ms).
 */
struct reader_slot {
	_Alignas(64) struct la_frame f;
};

struct reader {
	/* Set before the thread starts, then only read. */
	struct frame_src *fs;   /* the capture (the reader's alone while the thread runs) */
	unsigned seg_flags;     /* frame_decode()'s flags */
	int linktype;           /* the file's one link type (a plain pcap file has one) */
	pthread_t thread;
	int joined;             /* the thread has been joined (it stopped) */
	struct reader_slot *slots; /* READER_SLOTS frames */

	/* The reader's line: its counter, and what only it touches. */
	_Alignas(64) _Atomic uint32_t tail; /* frames filled (free-running) */
	uint32_t seen_head;     /* the reader's copy of head */
	int end;                /* with SLOT_END: 0 the file ended, -1 it failed (err) */
	struct frame last;      /* with SLOT_HANDOVER: the frame as frame_next() gave it */
	char err[768];          /* with end -1: "FILE: reason" */

	/* The replay's line. */
	_Alignas(64) _Atomic uint32_t head; /* frames taken (free-running; published every READER_BATCH) */
	uint32_t taken;         /* frames taken, not all published yet */
	uint32_t seen_tail;     /* the replay's copy of tail */

	/* Rarely written: who sleeps, and a stop asked for. */
	_Alignas(64) _Atomic int reader_waits;  /* the reader sleeps on head until the ring is half empty */
	_Atomic int replay_waits;               /* the replay sleeps on tail */
	_Atomic int stop;                       /* reader_free() asks the reader to stop */
};

static void futex_wait(_Atomic uint32_t *word, uint32_t seen)
{
	/* Returns at once when *word is no longer seen; a signal or spurious wake-up: the caller looks again. */
	(void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	(void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The replay's counter published, and the reader woken if it sleeps and half the ring is free. */
static void publish_head(struct reader *r)
{
	atomic_store(&r->head, r->taken); /* sequentially consistent: before reader_waits is read */
	if (atomic_load(&r->reader_waits) &&
	    atomic_load_explicit(&r->tail, memory_order_relaxed) - r->taken <= READER_WAKE_AT) {
		atomic_store(&r->reader_waits, 0);
		futex_wake(&r->head);
	}
}

/*
 * The reader's counter published, and the replay woken if it sleeps and
 * READER_WAKE_REPLAY frames wait for it; final: before the reader stops
 * (woken whatever the count).
 */
static void publish_tail(struct reader *r, uint32_t tail, int final)
{
	if (final) {
		atomic_store(&r->tail, tail); /* sequentially consistent: before replay_waits is read */
	} else {
		atomic_store_explicit(&r->tail, tail, memory_order_release);
		/*
		 * Only a relaxed look: a replay that went to sleep just now is
		 * seen at a later frame's (its flag is stored before it looks at
		 * tail), at the latest before the reader waits for room.
		 */
		if (!atomic_load_explicit(&r->replay_waits, memory_order_relaxed) ||
		    tail - atomic_load_explicit(&r->head, memory_order_relaxed) < READER_WAKE_REPLAY)
			return;
	}
	if (atomic_load(&r->replay_waits)) {
		atomic_store(&r->replay_waits, 0);
		futex_wake(&r->tail);
	}
}

/*
 * A free slot for the reader's next frame (tail its count of frames
 * filled): at once while the ring has room, else after sleeping until it
 * is half empty. Returns 0, or -1 when reader_free() asked it to stop.
 */
static int wait_for_room(struct reader *r, uint32_t tail)
{
	while (tail - r->seen_head >= READER_SLOTS) {
		uint32_t head;

		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			return -1;
		r->seen_head = atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail - r->seen_head < READER_SLOTS)
			break;
		publish_tail(r, tail, 1); /* a replay asleep now is woken: the ring is full */
		atomic_store(&r->reader_waits, 1);
		head = atomic_load(&r->head);
		if (tail - head >= READER_SLOTS && !atomic_load(&r->stop))
			futex_wait(&r->head, head);
		atomic_store(&r->reader_waits, 0);
	}
	return atomic_load_explicit(&r->stop, memory_order_relaxed) ? -1 : 0;
}

/*
 * The reader's thread: reads and decodes every frame into the ring, in
 * file order, until the file ends, fails, a frame leaves the mapping, or
 * it is asked to stop.
 */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct reader_prev prev = { 0 };
	uint8_t *nopad = NULL;
	size_t nopadcap = 0;
	uint32_t tail = 0;

	for (;;) {
		struct la_frame *f;
		struct frame fr;
		uint32_t slot = tail % READER_SLOTS;
		int rc;

		if (wait_for_room(r, tail) < 0)
			return NULL;
		f = &r->slots[slot].f;
		rc = frame_next(r->fs, &fr, r->err, sizeof(r->err));
		if (rc <= 0) {
			r->end = rc;
			f->status = SLOT_END;
			publish_tail(r, tail + 1, 1);
			return NULL;
		}
		f->dup = (uint8_t)reader_dup(&prev, &fr);
		f->copied = 0;
		if (!frame_data_kept(r->fs)) {
			/* Its bytes go away at the next read: the window copies them, and reads on itself. */
			r->last = fr;
			f->status = SLOT_HANDOVER;
			publish_tail(r, tail + 1, 1);
			return NULL;
		}
		reader_prev_set(&prev, &fr, fr.data);
		if (fr.wirelen > fr.caplen) {
			/* Cut by the snap length: decoded into a pad the window owns. */
			f->fr.ts = fr.ts;
			f->fr.caplen = fr.caplen;
			f->fr.wirelen = fr.wirelen;
			f->fr.data = fr.data;
			f->n = fr.num;
			f->status = READER_RAW;
		} else {
			reader_decode(f, &fr, r->seg_flags, &nopad, &nopadcap);
		}
		publish_tail(r, ++tail, 0);
	}
}

struct reader *reader_start(struct frame_src *fs, unsigned seg_flags)
{
	struct reader *r;

	if (!frame_data_kept(fs))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	/* (Each slot is written before it is read: no need to clear them, or fault their pages in here.) */
	r->slots = aligned_alloc(_Alignof(struct reader_slot), READER_SLOTS * sizeof(*r->slots));
	r->fs = fs;
	r->seg_flags = seg_flags;
	r->linktype = frame_linktype(fs);
	if (!r->slots || pthread_create(&r->thread, NULL, reader_main, r) != 0) {
		free(r->slots);
		free(r);
		return NULL;
	}
	return r;
}

/*
 * The replay waits for the reader's next frame: asleep until the reader
 * has READER_WAKE_REPLAY of them (or stopped). Spinning instead burnt a
 * core whenever reading was the slower half, and waking for every frame
 * cost more than the frame (a window read and popped at once, with no
 * replay: 42 ms with one thread, 230 ms wall and 450 ms CPU with two,
 * 60 ms and 70 ms once woken per READER_WAKE_REPLAY frames).
 */
static void wait_for_frame(struct reader *r)
{
	publish_head(r); /* what was taken: publish_tail() counts the frames ready from there */
	for (;;) {
		uint32_t tail;

		atomic_store(&r->replay_waits, 1);
		tail = atomic_load(&r->tail);
		if (tail == r->taken)
			futex_wait(&r->tail, tail);
		atomic_store(&r->replay_waits, 0);
		r->seen_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->seen_tail != r->taken)
			return;
	}
}

/* The reader's thread has stopped (it published its last slot): joined, so that all it wrote is ours. */
static void join(struct reader *r)
{
	if (!r->joined)
		(void)pthread_join(r->thread, NULL);
	r->joined = 1;
}

int reader_next(struct reader *r, struct la_frame *f, struct frame *fr, char *err, size_t errlen)
{
	const struct la_frame *s;

	if (r->seen_tail == r->taken) {
		r->seen_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->seen_tail == r->taken)
			wait_for_frame(r);
	}
	s = &r->slots[r->taken % READER_SLOTS].f;
	if (s->status >= READER_RAW) {
		/*
		 * What the replay reads of a frame a few on was last in the other
		 * core's cache: its slot's first line (for the pointer), then the
		 * packet's first two lines (headers, the payload the stack copies),
		 * load while this frame is replayed: the composite 164 -> 154 ms.
		 * (Only slots the reader has published are read: seen_tail is past them.)
		 */
		if (r->seen_tail - r->taken > 2 * READER_AHEAD) {
			const struct la_frame *near = &r->slots[(r->taken + READER_AHEAD) % READER_SLOTS].f;

			__builtin_prefetch(&r->slots[(r->taken + 2 * READER_AHEAD) % READER_SLOTS]);
			if (near->fr.caplen) {
				__builtin_prefetch(near->fr.data);
				if (near->fr.caplen > 64)
					__builtin_prefetch(near->fr.data + 64);
			}
		}
		*f = *s;
		if (++r->taken % READER_BATCH == 0)
			publish_head(r);
		if (f->status != READER_RAW)
			return 1;
		*fr = (struct frame){ f->fr.ts, f->fr.caplen, f->fr.wirelen, f->fr.data, r->linktype, f->n };
		return 2;
	}
	r->taken++;
	join(r);
	if (s->status == SLOT_HANDOVER) {
		f->dup = s->dup;
		f->copied = 0;
		*fr = r->last;
		return 3;
	}
	if (r->end < 0)
		snprintf(err, errlen, "%s", r->err);
	return r->end;
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	if (!r->joined) {
		atomic_store(&r->stop, 1);
		/*
		 * head moved (so a reader about to sleep on the value it saw does
		 * not), then woken (one asleep already): it sees stop and returns.
		 */
		atomic_fetch_add(&r->head, READER_SLOTS);
		futex_wake(&r->head);
		join(r);
	}
	free(r->slots);
	free(r);
}
