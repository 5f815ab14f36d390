/*
 * render_annotate.c - `--annotate OUT.pcapng`: the run as a capture for
 * Wireshark, each frame with a comment saying what the stack made of it.
 *
 * Path: records -> annot_record() -> packets in file order -> a queue
 *       (held while a --verify verdict is due) -> pcapng.c.
 *
 * Interface 0 holds the input: a replay's every frame byte for byte, with
 * its link type and timestamp (REC_FRAME), or a live run's every packet
 * the kernel sent into the TUN device (raw IP, at its wall-clock time);
 * for a demo, script or synth
 * run, the segments the stack received (BSD loopback framing: a family,
 * then the IP packet). Interface 1, named "tcpdemux", holds every segment
 * the stack sent, at its virtual time (plus the capture's start, for a
 * replay).
 *
 * A replay's frame record comes after the records of what it caused, so
 * those are staged: the segments sent by a timer that fired before the
 * frame (or earlier still: the answers to a segment the capture point
 * held back) go before it in the file, the frame follows with the comment
 * of its lookup, and the stack's answers after it, each naming the
 * frame's number. A replay's two interfaces share the input's link type (libpcap
 * refuses a file whose interfaces differ): the stack's segments get a
 * link-layer header made from the last frame of the same IP version,
 * preferably one the recorded host sent, so they look like its own.
 *
 * With --verify, the recorded host's segments and the stack's wait in the
 * queue for their verdict (REC_VERIFY, which may come several frames
 * later), so the comment can say whether the two agreed. Memory is what
 * the queue holds: the verifier's time window of traffic.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "frame.h"
#include "pcapng.h"
#include "render.h"

#define LINK_MAX 64   /* the longest link-layer header kept as a template */
#define EARLY_MAX 256 /* verdicts kept while their packet is not there yet */
#define COMMENT_ROOM (ANNOTATE_MAX + 96)

enum { SIDE_NONE = -1, SIDE_KERNEL = 0, SIDE_OURS = 1 };

/* What a --verify verdict names a segment by. */
struct vkey {
	vtime_t t;
	uint32_t seq, ack;
	uint16_t sport, dport, len;
	uint8_t flags;
};

/* A packet on its way to the file. */
struct apkt {
	struct apkt *next;
	int iface;
	uint64_t ts;            /* nanoseconds since the epoch */
	int side;               /* SIDE_KERNEL (the recorded host's), SIDE_OURS (the stack's) or SIDE_NONE */
	int awaiting;           /* waits for its --verify verdict */
	int said;               /* a verdict is in the comment: 1 a match, 2 a difference */
	size_t said_at;         /* where in the comment it starts */
	uint32_t covered;       /* data: payload bytes verdicts have covered */
	int awaiting_in;        /* a replay's inbound frame whose segment the stack has not had yet (held back) */
	int64_t frame_n;        /* a replayed frame: its number in the capture */
	int64_t num;            /* its number in the file, once placed */
	int64_t cause_num;      /* a staged stack segment: the file number of the frame it answers (0: the frame to come) */
	struct vkey key;        /* side != SIDE_NONE */
	/* A stack segment staged in a replay: its bytes are built when its frame arrives. */
	int cause;              /* enum annotate_cause */
	struct event timer;     /* CAUSE_TIMER: the timer's event (no pointers kept) */
	struct segment seg;     /* the segment, payload in data */
	uint32_t caplen, wirelen;
	char comment[COMMENT_ROOM];
	uint8_t *data;
};

/* The link-layer header the stack's segments of one IP version get in a replay. */
struct ltmpl {
	uint8_t b[LINK_MAX];
	size_t len;
	int have;      /* a frame of this version was seen */
	int from_out;  /* ...sent by the recorded host (taken as is) */
};

struct early {
	int side;
	struct vkey key;
	int data, match;
	char words[96];
};

struct annot {
	struct renderer r;
	struct pcapng *w;
	char *path;
	int *failed;             /* set when the file could not be written */
	int verify;              /* --verify: stack and host segments wait for their verdict */
	int replay;              /* REC_BEGIN said replay or live: frames come as REC_FRAME */
	char *name;              /* what runs (REC_BEGIN's name) */
	int have_ifaces;
	int one_iface;           /* a raw-IP capture: the stack's segments share its interface (add_ifaces) */
	int linktype;            /* the file's link type (DLT_): the capture's, DLT_NULL without one; -1 not yet known */
	int err;                 /* the first error writing */
	int64_t count;           /* packets given a place in the file */
	struct apkt *head, *tail;  /* numbered, in file order, not yet written */
	/* A replay's current group: what came since the last frame record. */
	struct apkt *stage, *stage_tail;   /* the stack's segments sent since, in the order sent */
	char in_comment[COMMENT_ROOM];     /* the lookup of the frame, when it was fed to the stack */
	int have_in;
	int64_t in_cause_num;    /* the file number of the frame the last lookup was for (0: the frame to come) */
	int64_t last_frame_n;    /* the capture number of the last frame record */
	uint64_t origin;         /* a replay's recorded time of virtual time 0 */
	int cur_in;              /* the lookup in in_comment is the coming frame's */
	uint64_t in_op, timer_op;
	int have_timer;
	struct event timer;
	int64_t last_in;         /* not a replay: the file number of the last segment received */
	/* Not a replay: sent by the application, waiting for the call record that names it. */
	struct apkt *app, *app_tail;
	struct ltmpl tmpl[2];    /* IPv4, IPv6 */
	struct early early[EARLY_MAX];
	int nearly;
};

static void key_of(struct vkey *k, const struct segment *s, vtime_t t)
{
	k->t = t;
	k->seq = s->seq;
	k->ack = s->ack;
	k->sport = s->sport;
	k->dport = s->dport;
	k->len = (uint16_t)s->len;
	k->flags = s->flags;
}

static int key_eq(const struct vkey *a, const struct vkey *b)
{
	return a->t == b->t && a->seq == b->seq && a->ack == b->ack && a->sport == b->sport &&
	       a->dport == b->dport && a->len == b->len && a->flags == b->flags;
}

static void fail(struct annot *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* ---- the file -------------------------------------------------------------------------- */

/*
 * The interfaces, before the first packet: the input's link type for a
 * replay, BSD loopback (a 4-byte family, then IP) for a run without a
 * capture. libpcap 1.10 refuses a pcapng file with a second interface of
 * a link type whose number in files differs from its own (raw IP: 101 in
 * files, DLT_RAW 12 inside), so a raw-IP capture gets one interface, on
 * which the stack's segments are told apart by their comments.
 */
static void add_ifaces(struct annot *a)
{
	char desc[512];
	int lt = pcapng_linktype(a->linktype < 0 ? DLT_NULL : a->linktype), r;

	if (a->have_ifaces)
		return;
	a->have_ifaces = 1;
	a->one_iface = lt != a->linktype && a->linktype >= 0;
	if (a->one_iface)
		snprintf(desc, sizeof(desc),
			 "the capture replayed, every frame as recorded, and the segments the tcpdemux stack sent (comments \"tcpdemux: ...\")");
	else if (a->replay)
		snprintf(desc, sizeof(desc), "the capture replayed, every frame as recorded");
	else
		snprintf(desc, sizeof(desc), "the segments the tcpdemux stack received (%s)", a->name ? a->name : "run");
	r = pcapng_add_interface(a->w, lt, 0, a->replay && a->name ? a->name : "wire", desc);
	if (r >= 0 && !a->one_iface)
		r = pcapng_add_interface(a->w, lt, 0, "tcpdemux", "the segments the tcpdemux stack sent");
	if (r < 0)
		fail(a, r);
}

static void pkt_free(struct apkt *k)
{
	free(k->data);
	free(k);
}

static void write_pkt(struct annot *a, struct apkt *k)
{
	int r;

	add_ifaces(a);
	if (a->err)
		return;
	r = pcapng_write(a->w, a->one_iface ? 0 : k->iface, k->ts, k->data, k->caplen, k->wirelen, k->comment);
	if (r < 0)
		fail(a, r);
}

/* Writes the queue's head packets that wait for nothing (all of them with force). */
static void flush(struct annot *a, int force)
{
	while (a->head && (force || (!a->head->awaiting && !a->head->awaiting_in))) {
		struct apkt *k = a->head;

		a->head = k->next;
		if (!a->head)
			a->tail = NULL;
		write_pkt(a, k);
		pkt_free(k);
	}
}

/* Gives k the next place in the file; returns its frame number there. */
static int64_t enqueue(struct annot *a, struct apkt *k)
{
	k->next = NULL;
	if (a->tail)
		a->tail->next = k;
	else
		a->head = k;
	a->tail = k;
	return k->num = ++a->count;
}

static void list_add(struct apkt **head, struct apkt **tail, struct apkt *k)
{
	k->next = NULL;
	if (*tail)
		(*tail)->next = k;
	else
		*head = k;
	*tail = k;
}

/* ---- --verify verdicts ------------------------------------------------------------------- */

/* The words a verdict adds to its packet's comment. */
static void verdict_words(const struct rec_verify *v, int side, char *buf, size_t len)
{
	size_t n;
	int i;

	if (strcmp(v->result, "missing") == 0) {
		snprintf(buf, len, "; verify: missing (the stack sent no such segment)");
		return;
	}
	if (strcmp(v->result, "extra") == 0) {
		snprintf(buf, len, "; verify: extra (the recorded host sent no such segment)");
		return;
	}
	n = (size_t)snprintf(buf, len, "; verify: %s", v->result);
	for (i = 0; i < v->nfields && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : v->matched ? " (differ: " : " in ", v->fields[i]);
	if (v->matched && v->nfields && n < len)
		snprintf(buf + n, len - n, ")");
	(void)side;
}

/*
 * Whether the verdict on key (a segment, or for data a range of bytes of
 * one) is about packet k: the same segment, or bytes of k's payload.
 */
static int verdict_on(const struct apkt *k, const struct vkey *key, int data)
{
	if (!data)
		return key_eq(&k->key, key);
	return k->key.t == key->t && k->key.sport == key->sport && k->key.dport == key->dport && k->key.len &&
	       key->seq - k->key.seq < k->key.len;
}

/*
 * Appends a verdict's words to a waiting packet of side it is about; 1 if
 * there was one. A data packet is settled when verdicts covered all its
 * bytes; the first that was not a match is the one said.
 */
static int settle_in(struct apkt *k, int side, const struct vkey *key, int data, int match, const char *words)
{
	for (; k; k = k->next) {
		if (!k->awaiting || k->side != side || !verdict_on(k, key, data))
			continue;
		if (!match || !k->said) {
			if (k->said) /* a match said first: the difference replaces it */
				k->comment[k->said_at] = '\0';
			k->said_at = strlen(k->comment);
			strncat(k->comment, words, sizeof(k->comment) - strlen(k->comment) - 1);
			k->said = match ? 1 : 2;
		}
		k->covered += data ? key->len : k->key.len;
		if (!data || k->covered >= k->key.len || k->said == 2)
			k->awaiting = 0;
		return 1;
	}
	return 0;
}

static int settle(struct annot *a, int side, const struct vkey *key, int data, int match, const char *words)
{
	return settle_in(a->head, side, key, data, match, words) || settle_in(a->stage, side, key, data, match, words);
}

static void on_verify(struct annot *a, const struct rec_verify *v)
{
	const struct segment *segs[2] = { v->kernel, v->ours };
	vtime_t ts[2] = { v->kernel_t, v->ours_t };
	int side, data = strcmp(v->cls, "data") == 0;

	for (side = SIDE_KERNEL; side <= SIDE_OURS; side++) {
		struct vkey key;
		char words[96];

		if (!segs[side])
			continue;
		key_of(&key, segs[side], ts[side]);
		verdict_words(v, side, words, sizeof(words));
		if (!settle(a, side, &key, data, v->matched, words) && a->nearly < EARLY_MAX) {
			/* Its packet is not there yet (the frame record is still to come). */
			struct early *e = &a->early[a->nearly++];

			e->side = side;
			e->key = key;
			e->data = data;
			e->match = v->matched;
			snprintf(e->words, sizeof(e->words), "%s", words);
		}
	}
	flush(a, 0);
}

/* A new packet that waits for a verdict: it may have come already. */
static void await(struct annot *a, struct apkt *k, int side, const struct segment *s, vtime_t t)
{
	int i;

	k->side = side;
	key_of(&k->key, s, t);
	if (!a->verify)
		return;
	/* Pure ACKs without data are compared too; a segment the verifier does not compare never waits. */
	k->awaiting = 1;
	for (i = 0; i < a->nearly && k->awaiting;) {
		struct early *e = &a->early[i];

		if (e->side == side && settle_in(k, side, &e->key, e->data, e->match, e->words))
			a->early[i] = a->early[--a->nearly];
		else
			i++;
	}
}

/* ---- link-layer headers for the stack's segments ---------------------------------------- */

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define PACKET_OUTGOING 4

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Learns from frame f how the capture frames a segment of its IP version. */
static void learn_link(struct annot *a, const struct rec_frame *f)
{
	long off;
	struct ltmpl *t;
	uint8_t mac[6];

	if (!f->seg || !f->dir)
		return;
	t = &a->tmpl[f->seg->src.family == ADDR_V6];
	if (t->from_out && f->dir > 0)
		return; /* the recorded host's own framing is the better model */
	off = frame_ip_offset(f->linktype, f->data, f->caplen);
	if (off < 0 || off > LINK_MAX)
		return;
	memcpy(t->b, f->data, (size_t)off);
	t->len = (size_t)off;
	t->have = 1;
	t->from_out = f->dir < 0;
	if (t->from_out)
		return;
	/* A frame the host received, turned round: it is the host that sends. */
	switch (f->linktype) {
	case DLT_EN10MB:
		memcpy(mac, t->b, 6);
		memmove(t->b, t->b + 6, 6);
		memcpy(t->b + 6, mac, 6);
		break;
	case DLT_LINUX_SLL:
		put16(t->b, PACKET_OUTGOING);
		break;
	case DLT_LINUX_SLL2:
		t->b[10] = PACKET_OUTGOING;
		break;
	default:
		break;
	}
}

/* The link-layer header for a stack segment of family v6 (into out); its length. */
static size_t link_header(const struct annot *a, int v6, uint8_t *out)
{
	const struct ltmpl *t = &a->tmpl[v6];
	uint16_t et = v6 ? ETH_IPV6 : ETH_IPV4;

	if (t->have) {
		memcpy(out, t->b, t->len);
		return t->len;
	}
	/* No frame of this IP version seen yet: a plain header of the capture's type. */
	switch (a->linktype) {
	case DLT_EN10MB:
		memset(out, 0, 12);
		put16(out + 12, et);
		return 14;
	case DLT_LINUX_SLL:
		memset(out, 0, 16);
		put16(out, PACKET_OUTGOING);
		put16(out + 2, 1); /* ARPHRD_ETHER */
		put16(out + 14, et);
		return 16;
	case DLT_LINUX_SLL2:
		memset(out, 0, 20);
		put16(out, et);
		put16(out + 8, 1);
		out[10] = PACKET_OUTGOING;
		return 20;
	case DLT_NULL: {
		/* The writing host's byte order; 24 is the BSDs' AF_INET6, which every reader knows. */
		uint32_t fam = v6 ? 24 : 2;

		memcpy(out, &fam, 4);
		return 4;
	}
	case DLT_LOOP:
		put16(out, 0);
		put16(out + 2, v6 ? 24 : 2);
		return 4;
	default:
		return 0; /* raw IP */
	}
}

/* Builds k's bytes from its segment: a link-layer header (replay) and the IP packet. */
static int build_bytes(struct annot *a, struct apkt *k)
{
	uint8_t hdr[LINK_MAX];
	size_t hl = link_header(a, k->seg.src.family == ADDR_V6, hdr), n;

	k->data = malloc(hl + SEG_WIRE_MAX);
	if (!k->data)
		return -ENOMEM;
	memcpy(k->data, hdr, hl);
	n = seg_build(&k->seg, k->data + hl, SEG_WIRE_MAX);
	if (!n)
		return -EINVAL;
	k->caplen = k->wirelen = (uint32_t)(hl + n);
	return 0;
}

/* ---- packets from records ------------------------------------------------------------------- */

/* A packet for segment s (payload copied: the record's pointers do not outlive the call). */
static struct apkt *pkt_of_seg(const struct segment *s, int iface, uint64_t ts)
{
	struct apkt *k = calloc(1, sizeof(*k) + s->len);

	if (!k)
		return NULL;
	k->iface = iface;
	k->ts = ts;
	k->side = SIDE_NONE;
	k->seg = *s;
	if (s->len) {
		k->seg.data = (const uint8_t *)(k + 1);
		memcpy(k + 1, s->data, s->len);
	}
	return k;
}

/* The comment of a stack segment, once its cause's number is known. */
static void sent_comment(struct apkt *k, int64_t frame, const char *call)
{
	char words[COMMENT_ROOM];

	annotate_sent(&k->seg, k->cause, frame, k->cause == CAUSE_TIMER ? &k->timer : NULL, call, words,
		      sizeof(words));
	/* A verdict that came first is already in the comment: the words go before it. */
	strncat(words, k->comment, sizeof(words) - strlen(words) - 1);
	memcpy(k->comment, words, sizeof(k->comment));
}

/* Not a replay: the stack's segments sent by the application get the call that follows them. */
static void flush_app(struct annot *a, const char *call)
{
	while (a->app) {
		struct apkt *k = a->app;

		a->app = k->next;
		sent_comment(k, -1, call);
		enqueue(a, k);
	}
	a->app_tail = NULL;
	flush(a, 0);
}

static void on_segment(struct annot *a, const struct event *ev)
{
	struct apkt *k;

	if (ev->type == EV_SEGMENT_IN) {
		if (a->replay) {
			a->have_in = 1;
			a->in_op = ev->op;
			a->in_cause_num = 0;
			if (ev->frame > a->last_frame_n) {
				/* The frame record to come brings the bytes; the lookup goes in its comment. */
				annotate_inbound(ev, a->in_comment, sizeof(a->in_comment));
				a->cur_in = 1;
				return;
			}
			/* A segment held back (a client-side capture): its frame waits in the queue. */
			for (k = a->head; k; k = k->next)
				if (k->awaiting_in && k->frame_n == ev->frame) {
					annotate_inbound(ev, k->comment, sizeof(k->comment));
					strncat(k->comment, "; fed to the stack later, when the server got it",
						sizeof(k->comment) - strlen(k->comment) - 1);
					k->awaiting_in = 0;
					a->in_cause_num = k->num;
					break;
				}
			flush(a, 0);
			return;
		}
		flush_app(a, NULL);
		k = pkt_of_seg(ev->seg, 0, ev->t);
		if (!k || build_bytes(a, k) < 0) {
			if (k)
				pkt_free(k);
			fail(a, -ENOMEM);
			return;
		}
		annotate_inbound(ev, k->comment, sizeof(k->comment));
		a->last_in = enqueue(a, k);
		a->have_in = 1;
		a->in_op = ev->op;
		flush(a, 0);
		return;
	}
	k = pkt_of_seg(ev->seg, 1, ev->t);
	if (!k) {
		fail(a, -ENOMEM);
		return;
	}
	if (a->have_timer && ev->op == a->timer_op) {
		k->cause = CAUSE_TIMER;
		k->timer = a->timer;
	} else if (a->have_in && ev->op == a->in_op) {
		k->cause = CAUSE_SEGMENT;
		k->cause_num = a->in_cause_num;
	} else {
		k->cause = a->replay ? CAUSE_HOST : CAUSE_CALL;
	}
	await(a, k, SIDE_OURS, ev->seg, ev->t);
	if (a->replay) {
		/* Bytes and number when the frame record comes. */
		list_add(&a->stage, &a->stage_tail, k);
		return;
	}
	if (build_bytes(a, k) < 0) {
		pkt_free(k);
		fail(a, -ENOMEM);
		return;
	}
	if (k->cause == CAUSE_CALL) {
		list_add(&a->app, &a->app_tail, k);
		return;
	}
	flush_app(a, NULL);
	sent_comment(k, a->last_in, NULL);
	enqueue(a, k);
	flush(a, 0);
}

/*
 * Appends staged segments to the file, in the order sent: with before_t,
 * only those that go before a frame replayed at that virtual time (sent
 * by a timer, or earlier: a held-back segment's answers), else all. Each
 * gets its bytes, its time (origin + virtual time) and the words naming
 * the frame it answers (frame, unless it answers a held-back one).
 */
static void place(struct annot *a, uint64_t origin, int64_t frame, int frame_dir, const vtime_t *before_t)
{
	struct apkt **pp = &a->stage, *k;

	a->stage_tail = NULL;
	while ((k = *pp) != NULL) {
		if (before_t && k->cause != CAUSE_TIMER && k->ts >= *before_t) {
			a->stage_tail = k; /* stays staged */
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		k->ts = origin + k->ts;
		if (k->cause == CAUSE_HOST && frame_dir >= 0)
			k->cause = CAUSE_CALL; /* the application's own (an accept(), a read), not the host's frame */
		if (build_bytes(a, k) < 0) {
			pkt_free(k);
			fail(a, -ENOMEM);
			continue;
		}
		sent_comment(k, k->cause_num ? k->cause_num : frame, NULL);
		enqueue(a, k);
	}
}

/* The comment of a frame that was not fed to the stack. */
static void frame_comment(const struct rec_frame *f, char *buf, size_t len)
{
	char fl[64];

	if (f->skipped) {
		snprintf(buf, len, "skipped: %s (not given to the stack)", f->skipped);
	} else if (f->dir < 0) {
		/* What replay_app.c makes of it: the application's call, or nothing (the stack answers by itself). */
		const struct segment *s = f->seg;
		const char *what = (s->flags & TH_RST)                       ? ""
				   : (s->flags & (TH_SYN | TH_ACK)) == TH_SYN ? " -> the application's connect()"
				   : s->len && (s->flags & TH_FIN)            ? " -> the application's send() and shutdown()"
				   : s->len                                   ? " -> the application's send()"
				   : (s->flags & TH_FIN)                      ? " -> the application's shutdown()"
									      : " (the stack sends its own)";

		annotate_flags(s, fl, sizeof(fl));
		snprintf(buf, len, "host: %s sent by the recorded host%s", fl, what);
	} else {
		snprintf(buf, len, "other: not to or from a local address");
	}
}

static void on_frame(struct annot *a, const struct rec_frame *f, vtime_t t)
{
	struct apkt *k = calloc(1, sizeof(*k));
	int64_t n;

	if (a->linktype < 0)
		a->linktype = f->linktype;
	a->origin = f->origin;
	learn_link(a, f);
	place(a, f->origin, -1, 0, &t);
	if (!k || !(k->data = malloc(f->caplen ? f->caplen : 1))) {
		free(k);
		fail(a, -ENOMEM);
		return;
	}
	memcpy(k->data, f->data, f->caplen);
	k->iface = 0;
	k->ts = f->ts;
	k->caplen = f->caplen;
	k->wirelen = f->wirelen < f->caplen ? f->caplen : f->wirelen;
	k->side = SIDE_NONE;
	k->frame_n = f->n;
	a->last_frame_n = f->n;
	if (f->not_fed) {
		snprintf(k->comment, sizeof(k->comment), "%s: not fed to the stack: %s", f->dir > 0 ? "demux" : "skipped",
			 f->not_fed);
	} else if (f->dir > 0 && a->cur_in) {
		snprintf(k->comment, sizeof(k->comment), "%s", a->in_comment);
	} else if (f->dir > 0) {
		/* Held back: its lookup comes when the stack gets it (with --capture-point). */
		snprintf(k->comment, sizeof(k->comment), "demux: held back, not fed to the stack before the run ended");
		k->awaiting_in = 1;
	} else {
		frame_comment(f, k->comment, sizeof(k->comment));
	}
	if (f->dir < 0 && f->seg)
		await(a, k, SIDE_KERNEL, f->seg, t);
	n = enqueue(a, k);
	place(a, f->origin, n, f->dir, NULL);
	a->have_in = a->have_timer = a->cur_in = 0;
	flush(a, 0);
}

static void annot_record(struct renderer *r, const struct record *rec)
{
	struct annot *a = (struct annot *)r;

	switch (rec->type) {
	case REC_BEGIN:
		/* A replay's and a live run's input comes as REC_FRAME records: the frames as they were. */
		a->replay = rec->begin->kind == RUN_REPLAY || rec->begin->kind == RUN_LIVE;
		if (!a->replay)
			a->linktype = DLT_NULL; /* segments, not frames: a 4-byte family says IPv4 or IPv6 */
		free(a->name);
		a->name = rec->begin->name ? strdup(rec->begin->name) : NULL;
		break;
	case REC_EVENT:
		if (rec->event->type == EV_SEGMENT_IN || rec->event->type == EV_SEGMENT_OUT) {
			on_segment(a, rec->event);
		} else if (rec->event->type == EV_TIMER) {
			a->timer = *rec->event;
			a->timer.seg = NULL;
			a->timer_op = rec->event->op;
			a->have_timer = 1;
		}
		break;
	case REC_CALL:
		flush_app(a, rec->call->call);
		break;
	case REC_VERDICT:
		on_verify(a, rec->verdict);
		break;
	case REC_FRAME:
		on_frame(a, rec->frame, rec->t);
		break;
	case REC_SUMMARY:
		flush_app(a, NULL);
		place(a, a->origin, -1, 0, NULL);
		flush(a, 1);
		break;
	default:
		break;
	}
}

static void annot_destroy(struct renderer *r)
{
	struct annot *a = (struct annot *)r;
	int rc;

	annot_record(r, &(struct record){ .type = REC_SUMMARY });
	add_ifaces(a); /* an empty run still makes a file tshark opens */
	rc = pcapng_close(a->w);
	if (a->err || rc) {
		fprintf(stderr, "tcpdemux: %s: cannot write: %s\n", a->path, strerror(-(a->err ? a->err : rc)));
		if (a->failed)
			*a->failed = 1;
	}
	free(a->name);
	free(a->path);
	free(a);
}

static const struct renderer_ops annot_ops = { annot_record, annot_destroy };

struct renderer *render_annotate_new(const char *path, int verify, int *failed, char *err, size_t errlen)
{
	struct annot *a = calloc(1, sizeof(*a));

	if (!a || !(a->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(a);
		return NULL;
	}
	a->w = pcapng_open(path, "tcpdemux --annotate", err, errlen);
	if (!a->w) {
		free(a->path);
		free(a);
		return NULL;
	}
	a->r.ops = &annot_ops;
	a->verify = verify;
	if (verify)
		a->r.wants = RENDER_WANT_VERDICTS; /* a verdict on every segment, not only each connection's first divergence */
	a->failed = failed;
	a->linktype = -1;
	return &a->r;
}
