/*
 * lookahead.c - see lookahead.h.
 *
 * Path: frame.c -> la_read() (decode, file in the index) -> the ring ->
 *       la_head()/la_pop() to replay.c; la_find() for its look-ahead
 *       decisions.
 *
 * The window is a ring of LA_MAX_FRAMES slots, each with the buffer its
 * frame was copied into (cut from an arena, and reused as the ring turns,
 * so a steady replay allocates nothing). The index maps (kind, 4-tuple) to the first frame of
 * that kind in the window. It never holds more than LA_MAX_FRAMES entries,
 * so it is an open-addressed table of ring positions (linear probing) in
 * a fixed array of twice the ring's size: entering and leaving the window
 * costs no allocation, and the keys are read from the frames themselves.
 * Only the part of the array that the window's keys need is in use (at
 * most a quarter full; LA_IDX_MIN entries while the window is shallow), so
 * the many lookups of keys the window does not hold stay in the cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookahead.h"
#include "stack.h"




/*
 * Slot buffers. A capture whose window is read deep (a SYN waiting a
 * second or more for its answer) gives tens of thousands of slots a
 * buffer each; one malloc() and free() per slot was 7% of a replay of
 * such a capture. Buffers for frames up to LA_ARENA_MAX bytes are cut
 * from blocks instead and freed with the window; a slot that needs more
 * gets a new piece at least twice its old one (the old piece is left,
 * which bounds the waste by the slot's largest buffer), and frames beyond
 * LA_ARENA_MAX (jumbo, offload) get a malloc()ed buffer of their own.
 */
#define LA_ARENA_MAX 4096u
#define LA_BLOCK (256u << 10)

struct la_block {
	struct la_block *next;
	uint8_t data[];
};

/* A buffer of at least need bytes for slot s (need > s->cap); returns 0, or -1 when memory runs out (s unchanged). */
static int slot_grow(struct lookahead *la, struct la_slot *s, size_t need)
{
	size_t cap;
	uint8_t *b;

	if (need > LA_ARENA_MAX) {
		b = realloc(s->buf_owned ? s->buf : NULL, need);
		if (!b)
			return -1;
		s->buf = b;
		s->cap = need;
		s->buf_owned = 1;
		return 0;
	}
	cap = (need + 63) & ~(size_t)63;
	if (cap < 2 * s->cap)
		cap = 2 * s->cap;
	if (cap > LA_ARENA_MAX)
		cap = LA_ARENA_MAX;
	if (la->arena_left < cap) {
		struct la_block *blk = malloc(sizeof(*blk) + LA_BLOCK);

		if (!blk)
			return -1;
		blk->next = la->blocks;
		la->blocks = blk;
		la->arena_left = LA_BLOCK;
	}
	s->buf = la->blocks->data + (LA_BLOCK - la->arena_left);
	la->arena_left -= cap;
	s->cap = cap;
	return 0;
}

struct lookahead *la_new(struct frame_src *fs, const char *file, unsigned seg_flags)
{
	struct lookahead *la = calloc(1, sizeof(*la));

	if (!la)
		return NULL;
	la->ring = calloc(LA_MAX_FRAMES, sizeof(*la->ring));
	if (!la->ring) {
		free(la);
		return NULL;
	}
	la->idx_mask = LA_IDX_MIN - 1;
	la->fs = fs;
	la->file = file;
	la->seg_flags = seg_flags;
	return la;
}

void la_free(struct lookahead *la)
{
	uint32_t i;

	if (!la)
		return;
	/* Only the slots ever filled own buffers: the rest were never touched (no page faults for them). */
	for (i = 0; i < la->slots_used; i++) {
		if (la->ring[i].buf_owned)
			free(la->ring[i].buf);
		free(la->ring[i].pad);
	}
	while (la->blocks) {
		struct la_block *next = la->blocks->next;

		free(la->blocks);
		la->blocks = next;
	}
	free(la->ring);
	free(la);
}

/* A window this shallow, past the soft limit in the ring, is compacted to its start. */
#define COMPACT_MAX 16

static struct la_slot *slot_at(struct lookahead *la, uint32_t i)
{
	return &la->ring[(la->head + i) % LA_MAX_FRAMES];
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

static uint32_t idx_hash(int kind, const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
			 uint16_t pb)
{
	return stack_ehash((uint32_t)kind, a, pa, b, pb);
}

int la_is(const struct la_frame *f, int kind, const struct ip_addr *a, uint16_t pa,
	  const struct ip_addr *b, uint16_t pb)
{
	return f->kind == kind && f->seg.sport == pa && f->seg.dport == pb &&
	       addr_equal(&f->seg.src, a) && addr_equal(&f->seg.dst, b);
}

const struct la_frame *la_find(const struct lookahead *la, int kind, const struct ip_addr *a,
			       uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	uint32_t i = idx_hash(kind, a, pa, b, pb) & la->idx_mask;

	for (; la->idx[i]; i = (i + 1) & la->idx_mask) {
		const struct la_frame *f = &la->ring[la->idx[i] - 1].f;

		if (la_is(f, kind, a, pa, b, pb))
			return f;
	}
	return NULL;
}

static void idx_add(struct lookahead *la, struct la_slot *s);

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
	for (i = 0; i < la->count; i++) {
		struct la_slot *s = slot_at(la, i);

		s->indexed = 0;
		if (s->f.kind)
			idx_add(la, s);
	}
}

/*
 * Files s under its kind and 4-tuple. When a frame already is there (a
 * retransmission carries the same numbers), the first stays the index's
 * and s joins the end of its chain (la_next_same).
 */
static void idx_add(struct lookahead *la, struct la_slot *s)
{
	const struct segment *g = &s->f.seg;
	uint32_t h = idx_hash(s->f.kind, &g->src, g->sport, &g->dst, g->dport), i;
	uint32_t me = (uint32_t)(s - la->ring) + 1;

	s->ihash = h;
	s->next_same = 0;
	for (i = h & la->idx_mask; la->idx[i]; i = (i + 1) & la->idx_mask) {
		struct la_slot *first = &la->ring[la->idx[i] - 1];

		if (la_is(&first->f, s->f.kind, &g->src, g->sport, &g->dst, g->dport)) {
			la->ring[first->last_same - 1].next_same = me;
			first->last_same = me;
			return;
		}
	}
	la->idx[i] = me;
	s->last_same = me;
	s->indexed = 1;
	if (++la->idx_used * 4 > la->idx_mask + 1 && la->idx_mask + 1 < LA_IDX_SIZE)
		idx_rebuild(la, 2 * (la->idx_mask + 1));
}

/* Takes out s, an indexed frame, closing the gap (backward-shift deletion). */
static void idx_remove(struct lookahead *la, const struct la_slot *s)
{
	uint32_t me = (uint32_t)(s - la->ring) + 1, i = s->ihash & la->idx_mask, j;

	while (la->idx[i] != me)
		i = (i + 1) & la->idx_mask;
	la->idx_used--;
	for (j = i;;) {
		uint32_t home;

		la->idx[i] = 0;
		for (;;) {
			j = (j + 1) & la->idx_mask;
			if (!la->idx[j])
				return;
			home = la->ring[la->idx[j] - 1].ihash & la->idx_mask;
			/* An entry whose home lies cyclically in (i, j] must stay put. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		la->idx[i] = la->idx[j];
		i = j;
	}
}

const struct la_frame *la_read(struct lookahead *la)
{
	struct la_slot *s;
	struct frame fr;
	int r;

	if (la->eof || la->count >= LA_MAX_FRAMES)
		return NULL; /* and keep the reason: the source may not say it twice */
	r = frame_next(la->fs, &fr, la->err, sizeof(la->err));
	if (r <= 0) {
		la->eof = 1;
		la->read_err = r < 0;
		return NULL;
	}
	s = slot_at(la, la->count);
	if ((uint32_t)(s - la->ring) >= la->slots_used)
		la->slots_used = (uint32_t)(s - la->ring) + 1;
	/* Compared before the copy: the slot may own the last frame's buffer. */
	s->f.dup = la->prev && fr.caplen == la->prev_len && fr.ts - la->prev_ts <= LA_DUP_GAP && fr.ts >= la->prev_ts &&
		   memcmp(fr.data, la->prev, fr.caplen) == 0;
	if (s->cap < fr.caplen && slot_grow(la, s, fr.caplen) < 0) {
		snprintf(la->err, sizeof(la->err), "%s: out of memory", la->file);
		la->eof = la->read_err = 1;
		return NULL;
	}
	if (fr.caplen)
		memcpy(s->buf, fr.data, fr.caplen);
	s->f.fr = fr;
	s->f.fr.data = s->buf;
	s->f.n = fr.num; /* the file's numbering, as Wireshark shows it, filtered frames counted */
	if (++la->nread == 1)
		la->t0 = frame_first_ts(la->fs); /* virtual time 0: the file's first frame */
	s->f.status = frame_decode(fr.linktype, &s->f.fr, &s->f.seg, la->seg_flags, &s->pad,
				   &s->padcap, &s->f.cut);
	/* Offloaded frames are larger than any link's MTU: only those are looked at. */
	s->f.tso = !s->f.status && fr.caplen > 1514 && frame_ip_length_zero(fr.linktype, &s->f.fr);
	la->count++;
	la->bytes += fr.caplen;
	la->prev = s->buf;
	la->prev_len = fr.caplen;
	la->prev_ts = fr.ts;
	/* A duplicate is filed under nothing: it stands for no second SYN or answer. */
	s->f.kind = s->f.dup ? LA_NONE : (uint8_t)frame_kind(&s->f);
	s->indexed = 0;
	if (s->f.kind)
		idx_add(la, s);
	return &s->f;
}





/*
 * A shallow window far into the ring moves back to its first slots, so
 * that a replay that once read deep (a SYN waiting seconds for its
 * answer) goes back to the same few warm slots and buffers, instead of
 * walking every slot of the ring and giving each a buffer. Between
 * frames, no caller holds a frame of the window: its frames may move.
 */
static void compact(struct lookahead *la)
{
	uint32_t i;

	for (i = 0; i < la->count; i++) {
		struct la_slot *s = &la->ring[la->head + i];

		/* A chain's first frame holds its key's entry; the rest have none. */
		if (s->indexed)
			idx_remove(la, s);
	}
	for (i = 0; i < la->count; i++) {
		struct la_slot tmp = la->ring[i];

		/* Swapped, not copied: each slot keeps owning one pair of buffers. */
		la->ring[i] = la->ring[la->head + i];
		la->ring[la->head + i] = tmp;
	}
	la->head = 0;
	/* The index is empty now (all 0s): its few frames go back into the smallest one. */
	la->idx_mask = LA_IDX_MIN - 1;
	for (i = 0; i < la->count; i++) {
		struct la_slot *s = &la->ring[i];

		s->indexed = 0;
		if (s->f.kind)
			idx_add(la, s);
	}
}

void la_pop(struct lookahead *la)
{
	struct la_slot *s = slot_at(la, 0);

	if (!la->count)
		return;
	if (s->indexed && s->next_same) {
		/* The next frame of its chain becomes the index's, in the same place. */
		struct la_slot *next = &la->ring[s->next_same - 1];
		uint32_t i = s->ihash & la->idx_mask, me = (uint32_t)(s - la->ring) + 1;

		while (la->idx[i] != me)
			i = (i + 1) & la->idx_mask;
		la->idx[i] = s->next_same;
		next->indexed = 1;
		next->last_same = s->last_same;
	} else if (s->indexed) {
		idx_remove(la, s);
	}
	la->bytes -= s->f.fr.caplen;
	la->count--;
	/* Empty: start over at slot 0, whose buffers are still warm, and with the smallest index (it is all 0s). */
	la->head = la->count ? (la->head + 1) % LA_MAX_FRAMES : 0;
	if (!la->count)
		la->idx_mask = LA_IDX_MIN - 1;
	if (la->head >= LA_SOFT_FRAMES && la->count <= COMPACT_MAX && la->head + la->count <= LA_MAX_FRAMES)
		compact(la);
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
