/*
 * lookahead.c - see lookahead.h.
 *
 * Path: frame.c -> la_read() (copy, decode, file in the index) -> the
 *       ring -> la_head()/la_pop() to replay.c; la_find() for its
 *       look-ahead decisions.
 *
 * The window is a ring of LA_MAX_FRAMES decoded frames. A frame's bytes
 * are copied into a FIFO of blocks in the order frames are read, and
 * freed in the order they leave (the window is a queue): a block whose
 * frames have all been replayed goes back to a spare list, so a steady
 * replay allocates nothing, and the window's memory is its frames' bytes
 * and one block, not a buffer per ring position. The index maps (kind,
 * 4-tuple) to the first frame of that kind in the window. It never holds
 * more than LA_MAX_FRAMES entries, so it is an open-addressed table of
 * ring positions (linear probing) in a fixed array of twice the ring's
 * size: entering and leaving the window costs no allocation, and the keys
 * are read from the frames themselves. Only the part of the array that
 * the window's keys need is in use (at most a quarter full; LA_IDX_MIN
 * entries while the window is shallow), so the many lookups of keys the
 * window does not hold stay in the cache.
 *
 * Why the memory is laid out with such care: a SYN whose answer is late
 * or never comes makes the window read up to LA_MAX_FRAMES frames deep
 * (a connection-heavy capture does, zk_echo-connections: 65,493 frames),
 * and every page touched for the first time is a page fault and a page
 * the kernel clears. With a 240-byte slot holding its own 64-byte-rounded
 * buffer, such a replay spent half its time in the kernel (7,184 faults
 * for a 6.8 MB file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"
#include "lookahead.h"

/*
 * The byte FIFO's blocks: LA_BLOCK bytes each, or one frame's worth for a
 * frame larger than that (a jumbo or offloaded frame), which is freed
 * rather than kept when it empties. Only the pages a block's frames
 * reach are ever touched, so a short capture costs a few pages.
 */
#define LA_BLOCK (256u << 10)

struct la_block {
	struct la_block *next; /* the next newer block (in the FIFO), or the next spare */
	size_t size;           /* bytes at data */
	size_t used;           /* bytes given out, from the start */
	uint32_t live;         /* frames in the window whose bytes are here */
	uint8_t data[];
};

/* Frames' bytes are given out in multiples of this (the next frame's start stays word-aligned). */
#define LA_ALIGN 8u

/*
 * Room for len bytes (len > 0) at the FIFO's end: the newest block's free
 * tail, or a new block (a spare one first). Returns NULL when memory runs
 * out.
 */
static uint8_t *bytes_alloc(struct lookahead *la, size_t len)
{
	struct la_block *b = la->newest;
	size_t need = (len + LA_ALIGN - 1) & ~(size_t)(LA_ALIGN - 1);
	uint8_t *p;

	if (!b || b->size - b->used < need) {
		if (need <= LA_BLOCK && la->spare) {
			b = la->spare;
			la->spare = b->next;
		} else {
			size_t size = need > LA_BLOCK ? need : LA_BLOCK;

			b = malloc(sizeof(*b) + size);
			if (!b)
				return NULL;
			b->size = size;
		}
		b->next = NULL;
		b->used = 0;
		b->live = 0;
		if (la->newest)
			la->newest->next = b;
		else
			la->oldest = b;
		la->newest = b;
	}
	p = b->data + b->used;
	b->used += need;
	b->live++;
	return p;
}

/*
 * The head frame's bytes leave the window: they are the oldest block's
 * (frames leave in the order their bytes were given out). An emptied
 * block leaves the FIFO, unless it is the only one, which starts over.
 */
static void bytes_release(struct lookahead *la)
{
	struct la_block *b = la->oldest;

	if (--b->live)
		return;
	if (b == la->newest) {
		b->used = 0; /* its pages are warm: the next frames go there again */
		return;
	}
	la->oldest = b->next;
	if (b->size == LA_BLOCK) {
		b->next = la->spare;
		la->spare = b;
	} else {
		b->next = la->retired; /* freed at the next read, after prev is compared */
		la->retired = b;
	}
}

static void blocks_free(struct la_block *b)
{
	while (b) {
		struct la_block *next = b->next;

		free(b);
		b = next;
	}
}

/*
 * The ring past its first LA_RING_SMALL bytes (a window more than some
 * 6,900 frames deep) is asked for as huge pages (MADV_HUGEPAGE; the system's
 * transparent_hugepage "madvise" mode): a window read that deep touches
 * it all, and one 2 MiB fault instead of 512 small ones took a tenth off
 * zk_echo-connections' replay (3,083 -> 1,550 page faults; the pages are
 * cleared either way), and starting at 1 MiB instead of 4 MiB took
 * another 6% (1,662 -> 981 faults: its window goes 41,000 frames deep).
 * The first part stays in small pages, so a shallow window costs what it
 * touches (a window compacted to the ring's start stays within it).
 * Where huge pages are not to be had, the call changes nothing.
 *
 * The ring is placed (ring_map) so that its first huge page starts right
 * at LA_RING_SMALL: placed anywhere, the first 2 MiB boundary after it
 * came anywhere up to 2 MiB later, and the small pages before it cost a
 * deep window up to 512 more faults (zk_echo-connections: 811 to 1,073
 * faults, as the allocation fell, -> 683; 13.0-14.3 -> 12.5-13.0 ms).
 */
#define LA_RING_SMALL (1u << 20)
#define LA_HUGE (2u << 20)

/* The ring's memory: mapped (zeroed, and a page touched only once the window reaches it), LA_RING_SMALL before a 2 MiB boundary. */
static struct la_frame *ring_map(struct lookahead *la)
{
	size_t len = (size_t)LA_MAX_FRAMES * sizeof(*la->ring);
	uintptr_t at;
	void *m;

	la->ring_map_len = len + LA_HUGE;
	m = mmap(NULL, la->ring_map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	la->ring_map = m;
	at = ((uintptr_t)m + LA_RING_SMALL + LA_HUGE - 1) & ~(uintptr_t)(LA_HUGE - 1);
	at -= LA_RING_SMALL;
	/* The huge pages, from LA_RING_SMALL on, to the ring's last whole one. */
	(void)madvise((void *)(at + LA_RING_SMALL), (len - LA_RING_SMALL) & ~(size_t)(LA_HUGE - 1), MADV_HUGEPAGE);
	return (struct la_frame *)at;
}

struct lookahead *la_new(struct frame_src *fs, const char *file, unsigned seg_flags, int threads)
{
	struct lookahead *la = calloc(1, sizeof(*la));

	if (!la)
		return NULL;
	/* Mapped and calloc'd: the pages of positions the window never reaches stay untouched (no faults). */
	la->ring = ring_map(la);
	la->links = calloc(LA_MAX_FRAMES, sizeof(*la->links));
	la->keys = calloc(LA_MAX_FRAMES, sizeof(*la->keys));
	if (!la->ring || !la->links || !la->keys) {
		if (la->ring_map)
			munmap(la->ring_map, la->ring_map_len);
		free(la->links);
		free(la->keys);
		free(la);
		return NULL;
	}
	la->idx_mask = LA_IDX_MIN - 1;
	la->fs = fs;
	la->file = file;
	la->seg_flags = seg_flags;
	if (threads > 1)
		la->reader = reader_start(fs, seg_flags); /* NULL: read here, as with one thread */
	return la;
}

void la_free(struct lookahead *la)
{
	uint32_t i;

	if (!la)
		return;
	reader_free(la->reader); /* first: the thread may still be reading the source */
	for (i = 0; i < la->pads_used; i++)
		free(la->pads[i].buf);
	free(la->pads);
	blocks_free(la->oldest);
	blocks_free(la->spare);
	blocks_free(la->retired);
	free(la->keys);
	free(la->links);
	munmap(la->ring_map, la->ring_map_len);
	free(la);
}

/* A window this shallow, past the soft limit in the ring, is compacted to its start. */
#define COMPACT_MAX 16
/*
 * A deeper window, of up to COMPACT_DEEP frames, is compacted too once
 * its head has walked COMPACT_WALK times its depth into the ring. Moving
 * its frames costs a third of a frame copy per frame popped; not moving
 * them walked the head through all LA_MAX_FRAMES slots (10 MB), so that
 * every frame read went to a slot long out of the cache. A window stays
 * that deep when every SYN's answer is thousands of frames on (2,000
 * handshakes under way at once: 3,000 frames): there the replay took
 * 290 -> 259 ms, with 1,650 fewer page faults.
 */
#define COMPACT_DEEP 8192
#define COMPACT_WALK 4

static uint32_t pos_at(const struct lookahead *la, uint32_t i)
{
	return (la->head + i) % LA_MAX_FRAMES;
}

/* Whether the frame at ring position pos holds its key's entry in the index (a chain's first frame). */
static int indexed(const struct lookahead *la, uint32_t pos)
{
	/* A frame of no kind never touches its link (its page may never be touched at all). */
	return la->ring[pos].kind && la->links[pos].last_same;
}

/*
 * The index's hash of (kind, a:pa -> b:pb): the quick unkeyed one (the
 * index's order shows nowhere), computed for every frame filed and every
 * question asked, several per SYN; stack_ehash (lookup3, out of line)
 * cost more than the probe it served.
 */
static uint32_t idx_hash(int kind, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
			 uint16_t pb)
{
	return hash_tuple_quick(a->a, pa, b->a, pb, a->family == ADDR_V6, (uint32_t)kind);
}

int la_is(const struct la_frame *f, int kind, const struct ip_addr *a, uint16_t pa,
	  const struct ip_addr *b, uint16_t pb)
{
	return f->kind == kind && f->seg.sport == pa && f->seg.dport == pb &&
	       addr_equal(&f->seg.src, a) && addr_equal(&f->seg.dst, b);
}

const struct la_frame *la_find(struct lookahead *la, int kind, const struct ip_addr *a, uint16_t pa,
			       const struct ip_addr *b, uint16_t pb)
{
	uint32_t h, i;

	/* Many questions are for a RST, of which a window mostly holds none. */
	if (!la->nkind[kind])
		return NULL;
	/* A SYN's SYN-ACK is asked for again (its handshake's timing, then its ISN): the kind's last answer first. */
	if (la->memo[kind] && la_is(la->memo[kind], kind, a, pa, b, pb))
		return la->memo[kind];
	h = idx_hash(kind, a, pa, b, pb);
	for (i = h & la->idx_mask; la->idx[i].pos; i = (i + 1) & la->idx_mask) {
		const struct la_frame *f = &la->ring[la->idx[i].pos - 1];

		if (la->idx[i].hash == h && la_is(f, kind, a, pa, b, pb))
			return la->memo[kind] = f;
	}
	return NULL;
}

/* A scan key's segment half: ACK number and ports, compared in one step. */
static uint64_t scan_key(uint32_t ack, uint16_t sport, uint16_t dport)
{
	return (uint64_t)ack << 32 | (uint32_t)sport << 16 | dport;
}

const struct la_frame *la_scan_ack(struct lookahead *la, uint32_t *i, uint64_t bound, uint32_t ack,
				   const struct ip_addr *a, uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	uint64_t want = scan_key(ack, pa, pb);
	/* The window's first frame without its key: keys are written by the first scan to reach them. */
	int64_t first = la->nread - la->count, keyed = la->nkeyed - first;
	uint32_t j, count = la->count;

	for (j = keyed > 0 ? (uint32_t)keyed : 0; j < count; j++) {
		const struct la_frame *f = &la->ring[pos_at(la, j)];

		la->keys[pos_at(la, j)] = (struct la_key){ f->fr.ts, scan_key(f->seg.ack, f->seg.sport, f->seg.dport) };
	}
	la->nkeyed = la->nread;
	/* The window's keys from frame *i on, in at most two runs of the ring (before and after it wraps). */
	for (j = *i; j < count;) {
		const struct la_key *k0 = &la->keys[pos_at(la, j)], *k = k0;
		const struct la_key *end = k0 + (count - j < LA_MAX_FRAMES - pos_at(la, j) ? count - j
										  : LA_MAX_FRAMES - pos_at(la, j));

		for (; k < end; k++) {
			const struct la_frame *f;

			if (k->ts > bound) {
				*i = j + (uint32_t)(k - k0);
				return NULL;
			}
			if (k->seg != want)
				continue;
			f = &la->ring[k - la->keys];
			if (!f->status && (f->seg.flags & (TH_SYN | TH_RST | TH_ACK)) == TH_ACK &&
			    addr_equal(&f->seg.src, a) && addr_equal(&f->seg.dst, b))
				return f;
		}
		j += (uint32_t)(end - k0);
	}
	*i = count;
	return NULL;
}

static void idx_add(struct lookahead *la, uint32_t pos);

/*
 * The index at size entries, filed anew from the window's frames in
 * window order, so each key's first frame is again its entry and its
 * later frames chain behind it as before. Called with the index at most
 * a quarter full at size (idx_add() doubles it one entry past a quarter), so the
 * rebuilding itself never grows it again.
 */
static void idx_rebuild(struct lookahead *la, uint32_t size)
{
	uint32_t i;

	memset(la->idx, 0, (la->idx_mask + 1) * sizeof(la->idx[0]));
	la->idx_mask = size - 1;
	la->idx_used = 0;
	for (i = 0; i < la->count; i++)
		if (la->ring[pos_at(la, i)].kind)
			idx_add(la, pos_at(la, i));
}

/*
 * Files the frame at ring position pos under its kind and 4-tuple. When a
 * frame already is there (a retransmission carries the same numbers), the
 * first stays the index's and this one joins the end of its chain
 * (la_next_same).
 */
static void idx_add(struct lookahead *la, uint32_t pos)
{
	const struct la_frame *f = &la->ring[pos];
	const struct segment *g = &f->seg;
	struct la_link *l = &la->links[pos];
	uint32_t h = idx_hash(f->kind, &g->src, g->sport, &g->dst, g->dport), i;
	uint32_t me = pos + 1;

	l->ihash = h;
	l->next_same = 0;
	l->last_same = 0;
	for (i = h & la->idx_mask; la->idx[i].pos; i = (i + 1) & la->idx_mask) {
		uint32_t first = la->idx[i].pos - 1;

		if (la->idx[i].hash == h && la_is(&la->ring[first], f->kind, &g->src, g->sport, &g->dst, g->dport)) {
			la->links[la->links[first].last_same - 1].next_same = me;
			la->links[first].last_same = me;
			return;
		}
	}
	la->idx[i].pos = me;
	la->idx[i].hash = h;
	l->last_same = me;
	if (++la->idx_used * 4 > la->idx_mask + 1 && la->idx_mask + 1 < LA_IDX_SIZE)
		idx_rebuild(la, 2 * (la->idx_mask + 1));
}

/* Takes out the frame at ring position pos, an indexed one, closing the gap (backward-shift deletion). */
static void idx_remove(struct lookahead *la, uint32_t pos)
{
	uint32_t me = pos + 1, i = la->links[pos].ihash & la->idx_mask, j;

	while (la->idx[i].pos != me)
		i = (i + 1) & la->idx_mask;
	la->idx_used--;
	for (j = i;;) {
		uint32_t home;

		la->idx[i].pos = 0;
		for (;;) {
			j = (j + 1) & la->idx_mask;
			if (!la->idx[j].pos)
				return;
			home = la->idx[j].hash & la->idx_mask;
			/* An entry whose home lies cyclically in (i, j] must stay put. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		la->idx[i] = la->idx[j];
		i = j;
	}
}

/*
 * Starts loading the frame at ring position pos (152 bytes: three or four
 * lines), to be written (for_write: a position a few frames past the
 * window's end) or read. A window deeper than COMPACT_MAX walks far into
 * the ring before it is compacted (one deeper than COMPACT_DEEP through
 * all of it, 10 MB), so a position it reaches was last used thousands of
 * frames ago: la_read() wrote frames into lines no cache held (its stores
 * waited), and in
 * a window thousands of frames deep (a capture of thousands of handshakes
 * at once, whose SYN-ACKs come thousands of frames after their SYNs) the
 * head was read that many frames ago and has left the cache again: each
 * frame replayed began with misses on its status, flags and link (a tenth
 * of the interleaved capture's replay). A frame's replay is long enough
 * to hide the loads. Always inlined: GCC 12 takes a function doing nothing
 * but prefetch for one without effects and drops its calls before it
 * would inline them (as it did here in la_pop()).
 */
static inline __attribute__((always_inline)) void prefetch_frame(const struct lookahead *la, uint32_t pos,
								 int for_write)
{
	const char *f = (const char *)&la->ring[pos];

	if (for_write) {
		__builtin_prefetch(f, 1);
		__builtin_prefetch(f + 64, 1);
		__builtin_prefetch(f + 128, 1);
		__builtin_prefetch(f + sizeof(struct la_frame) - 1, 1);
	} else {
		__builtin_prefetch(f);
		__builtin_prefetch(f + 64);
		__builtin_prefetch(f + 128);
		__builtin_prefetch(f + sizeof(struct la_frame) - 1);
		__builtin_prefetch(&la->links[pos]);
	}
}

/* How far past the window's end la_read() prefetches the position it will write. */
#define WRITE_AHEAD 4

/*
 * The next frame from the reader (a decoded one: 1), or from the source
 * into fr (0 to decode here, with f->dup set; -1 at the end or on an
 * error, with eof set).
 */
static int next_frame(struct lookahead *la, struct la_frame *f, struct frame *fr)
{
	int r;

	if (la->reader) {
		r = reader_next(la->reader, f, fr, la->err, sizeof(la->err));
		if (r == 1)
			return 1;
		if (r == 2)
			return 0; /* cut by the snap length: its pad is the window's */
		reader_free(la->reader); /* the thread stopped: the source is the window's again */
		la->reader = NULL;
		if (r == 3)
			return 0; /* outside the mapping: copied here, and the frames after it read here */
	} else {
		r = frame_next(la->fs, fr, la->err, sizeof(la->err));
		if (r > 0) {
			/* Compared before the copy: the FIFO may give out the last frame's bytes again. */
			f->dup = (uint8_t)reader_dup(&la->prev, fr);
			return 0;
		}
	}
	la->eof = 1;
	la->read_err = r < 0;
	return -1;
}

const struct la_frame *la_read(struct lookahead *la)
{
	uint8_t *nopad = NULL, **pad = &nopad;
	size_t nopadcap = 0, *padcap = &nopadcap;
	struct la_frame *f;
	struct frame fr;
	uint32_t pos;
	int r;

	if (la->eof || la->count >= LA_MAX_FRAMES)
		return NULL; /* and keep the reason: the source may not say it twice */
	pos = pos_at(la, la->count);
	f = &la->ring[pos];
	r = next_frame(la, f, &fr);
	if (r < 0)
		return NULL;
	/* A window this shallow goes back to the ring's warm start (compact) before it walks far. */
	if (la->count > COMPACT_MAX)
		prefetch_frame(la, pos_at(la, la->count + WRITE_AHEAD), 1);
	if (r == 0) {
		const uint8_t *buf;

		blocks_free(la->retired);
		la->retired = NULL;
		/* Only a frame the snap length cut can need a pad (frame_decode): the others leave pads alone. */
		if (fr.wirelen > fr.caplen) {
			if (!la->pads)
				la->pads = calloc(LA_MAX_FRAMES, sizeof(*la->pads));
			if (!la->pads)
				goto oom;
			if (pos >= la->pads_used)
				la->pads_used = pos + 1;
			pad = &la->pads[pos].buf;
			padcap = &la->pads[pos].cap;
		}
		/*
		 * A mapped file's bytes stay put until the source is closed (after
		 * the window): no copy. (The reader's frames are all such: the
		 * source is not the window's to ask while the thread reads it.)
		 */
		buf = fr.data;
		f->copied = fr.caplen && !la->reader && !frame_data_kept(la->fs);
		if (f->copied) {
			uint8_t *copy = bytes_alloc(la, fr.caplen);

			if (!copy)
				goto oom;
			memcpy(copy, fr.data, fr.caplen);
			buf = copy;
		}
		fr.data = buf; /* decoded where it stays: the segment's payload points into it */
		reader_prev_set(&la->prev, &fr, buf);
		reader_decode(f, &fr, la->seg_flags, pad, padcap);
	}
	if (++la->nread == 1)
		la->t0 = frame_first_ts(la->fs); /* virtual time 0: the file's first frame */
	la->count++;
	la->bytes += f->fr.caplen;
	if (f->kind) {
		la->nkind[f->kind]++;
		idx_add(la, pos);
	}
	return f;
oom:
	snprintf(la->err, sizeof(la->err), "%s: out of memory", la->file);
	la->eof = la->read_err = 1;
	return NULL;
}

/*
 * A shallow window far into the ring moves back to its first positions,
 * so that a replay that once read deep (a SYN waiting seconds for its
 * answer) goes back to the same few warm frames, instead of walking every
 * position of the ring. Between frames, no caller holds a frame of the
 * window: its frames may move (their bytes do not: they are in the FIFO).
 */
static void compact(struct lookahead *la)
{
	uint32_t i;

	for (i = 0; i < la->count; i++) {
		/* A chain's first frame holds its key's entry; the rest have none. */
		if (indexed(la, la->head + i))
			idx_remove(la, la->head + i);
	}
	for (i = 0; i < la->count; i++) {
		uint32_t from = la->head + i;

		la->ring[i] = la->ring[from];
		la->keys[i] = la->keys[from];
		if (la->pads && from < la->pads_used) {
			/* Swapped, not copied: a cut frame's segment points into its pad, and each position keeps owning one. */
			struct la_pad tmp = la->pads[i];

			la->pads[i] = la->pads[from];
			la->pads[from] = tmp;
		}
	}
	la->head = 0;
	memset(la->memo, 0, sizeof(la->memo)); /* they moved */
	/* The index is empty now (all 0s): a few frames go back into the smallest one, more keep its size. */
	if (la->count <= COMPACT_MAX)
		la->idx_mask = LA_IDX_MIN - 1;
	for (i = 0; i < la->count; i++)
		if (la->ring[i].kind)
			idx_add(la, i);
}

void la_pop(struct lookahead *la)
{
	uint32_t pos = la->head;
	struct la_frame *f = &la->ring[pos];

	if (!la->count)
		return;
	if (indexed(la, pos) && la->links[pos].next_same) {
		/* The next frame of its chain becomes the index's, in the same place. */
		struct la_link *l = &la->links[pos];
		uint32_t i = l->ihash & la->idx_mask, me = pos + 1;

		while (la->idx[i].pos != me)
			i = (i + 1) & la->idx_mask;
		la->idx[i].pos = l->next_same; /* same key, same hash */
		la->links[l->next_same - 1].last_same = l->last_same;
	} else if (indexed(la, pos)) {
		idx_remove(la, pos);
	}
	if (f->kind) {
		la->nkind[f->kind]--;
		if (la->memo[f->kind] == f)
			la->memo[f->kind] = NULL;
	}
	if (f->copied)
		bytes_release(la);
	la->bytes -= f->fr.caplen;
	la->count--;
	/* Empty: start over at position 0, which is still warm, and with the smallest index (it is all 0s). */
	la->head = la->count ? (la->head + 1) % LA_MAX_FRAMES : 0;
	if (!la->count)
		la->idx_mask = LA_IDX_MIN - 1;
	if (la->head >= LA_SOFT_FRAMES && la->head + la->count <= LA_MAX_FRAMES &&
	    (la->count <= COMPACT_MAX || (la->count <= COMPACT_DEEP && la->head >= COMPACT_WALK * la->count)))
		compact(la);
	else if (la->count > COMPACT_MAX) {
		/* (A window this shallow read its frames a few frames ago: they are in the cache.) */
		prefetch_frame(la, pos_at(la, 2), 0); /* the head after the pop after next */
		/* The new head's index entry, which its pop takes out (its frame and link were loaded at the last pop). */
		if (indexed(la, la->head))
			__builtin_prefetch(&la->idx[la->links[la->head].ihash & la->idx_mask]);
	}
}

int64_t la_nread(const struct lookahead *la)
{
	return la->nread;
}

int la_eof(const struct lookahead *la)
{
	return la->eof;
}

int la_error(const struct lookahead *la, const char **msg)
{
	if (msg)
		*msg = la->err;
	return la->read_err;
}
