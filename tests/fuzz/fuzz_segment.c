/*
 * fuzz_segment.c - libFuzzer harness for the frame -> segment path.
 *
 * Input: byte 0 picks the link type (low 4 bits) and how much longer than
 * the captured bytes the frame was on the wire (high 4 bits); the rest is
 * one captured frame.
 *
 * Each input is decoded with frame_decode() four ways: wirelen == caplen
 * with and without SEG_VERIFY_CSUM, and wirelen > caplen (the snap-length
 * padding path) with and without it. Every segment that decodes is built
 * back with seg_build() and parsed again with seg_parse_ip() (checksums
 * verified): addresses, ports, seq, ack, flags, window, urgent pointer,
 * options, length and payload must survive. abort() on any mismatch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[16] = {
	1,   /* EN10MB (VLAN, MPLS, PPPoE inside) */
	113, /* LINUX_SLL */
	276, /* LINUX_SLL2 */
	101, /* RAW */
	228, /* IPV4 */
	229, /* IPV6 */
	0,   /* NULL */
	108, /* LOOP */
	9,   /* PPP */
	50,  /* PPP_SERIAL (or Cisco HDLC) */
	51,  /* PPP_ETHER */
	104, /* C_HDLC */
	105, /* IEEE802_11 */
	127, /* IEEE802_11_RADIOTAP */
	192, /* PPI */
	204, /* PPP_WITH_DIR */
};

/* How many bytes the wire had beyond the captured ones. */
static const uint32_t extras[16] = {
	1,     4,     20,    40,    100,      1460,     9000,      65000,
	65515, 65535, 65536, 65575, 1u << 17, 1u << 24, 0x7fffffffu, 0xffffffffu,
};

static uint8_t wire[SEG_WIRE_MAX];

#define FAIL(...)                                             \
	do {                                                  \
		fprintf(stderr, "fuzz_segment: " __VA_ARGS__); \
		fputc('\n', stderr);                          \
		abort();                                      \
	} while (0)

static int opts_equal(const struct tcp_opts *a, const struct tcp_opts *b)
{
	return a->has_mss == b->has_mss && a->has_wscale == b->has_wscale &&
	       a->sack_ok == b->sack_ok && a->has_ts == b->has_ts &&
	       (!a->has_mss || a->mss == b->mss) && (!a->has_wscale || a->wscale == b->wscale) &&
	       (!a->has_ts || (a->tsval == b->tsval && a->tsecr == b->tsecr));
}

/* Same header fields, options and payload. ttl_default: b was built from a. */
static void seg_compare(const char *what, const struct segment *a, const struct segment *b,
			int ttl_default)
{
	if (!addr_equal(&a->src, &b->src) || !addr_equal(&a->dst, &b->dst))
		FAIL("%s: addresses differ", what);
	if (a->sport != b->sport || a->dport != b->dport)
		FAIL("%s: ports differ (%u>%u vs %u>%u)", what, a->sport, a->dport, b->sport, b->dport);
	if (a->seq != b->seq || a->ack != b->ack)
		FAIL("%s: seq/ack differ (%u/%u vs %u/%u)", what, a->seq, a->ack, b->seq, b->ack);
	if (a->flags != b->flags)
		FAIL("%s: flags differ (%#x vs %#x)", what, a->flags, b->flags);
	if (a->win != b->win || a->urp != b->urp)
		FAIL("%s: window/urgent pointer differ", what);
	if (a->ttl != b->ttl && !(ttl_default && a->ttl == 0 && b->ttl == 64))
		FAIL("%s: ttl differs (%u vs %u)", what, a->ttl, b->ttl);
	if (!opts_equal(&a->opt, &b->opt))
		FAIL("%s: options differ", what);
	if (a->len != b->len)
		FAIL("%s: payload length differs (%u vs %u)", what, a->len, b->len);
	if (a->len && memcmp(a->data, b->data, a->len) != 0)
		FAIL("%s: payload bytes differ", what);
}

static void round_trip(const char *what, const struct segment *seg)
{
	struct segment back;
	size_t n;
	int r;

	if (!seg->data)
		FAIL("%s: parsed segment has data == NULL", what);
	n = seg_build(seg, wire, sizeof(wire));
	if (n == 0)
		FAIL("%s: seg_build refused a segment that parsed (len %u)", what, seg->len);
	if (n > sizeof(wire))
		FAIL("%s: seg_build returned %zu > cap", what, n);
	r = seg_parse_ip(wire, n, &back, SEG_VERIFY_CSUM);
	if (r != 0)
		FAIL("%s: rebuilt segment does not parse: %s", what, seg_error_name(r));
	seg_compare(what, seg, &back, 1);
	/* Building again gives the same bytes. */
	{
		static uint8_t wire2[SEG_WIRE_MAX];
		size_t n2 = seg_build(&back, wire2, sizeof(wire2));

		if (n2 != n || memcmp(wire, wire2, n) != 0)
			FAIL("%s: seg_build is not stable across a round trip", what);
	}
}

static void check_status(const char *what, int r)
{
	if (r < 0 || r >= SKIP_COUNT)
		FAIL("%s: frame_decode returned %d, outside 0..SKIP_COUNT", what, r);
	if (strcmp(frame_skip_name(r), "unknown") == 0)
		FAIL("%s: status %d has no name", what, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame fr;
	struct segment plain, csum, padded, padded_csum;
	uint8_t *pad = NULL;
	size_t padcap = 0;
	int lt, cut, r_plain, r_csum, r_pad, r_pad_csum;
	uint32_t extra;

	if (size < 1)
		return 0;
	lt = linktypes[data[0] & 15];
	extra = extras[data[0] >> 4];

	memset(&fr, 0, sizeof(fr));
	fr.ts = 1;
	fr.data = data + 1;
	fr.caplen = (uint32_t)(size - 1);
	fr.wirelen = fr.caplen;

	/* wirelen == caplen, no checksum check */
	r_plain = frame_decode(lt, &fr, &plain, 0, &pad, &padcap, &cut);
	check_status("plain", r_plain);
	if (cut || (r_plain == 0 && plain.cut))
		FAIL("plain: cut set with wirelen == caplen");
	if (r_plain == 0)
		round_trip("plain", &plain);

	/* wirelen == caplen, checksums verified */
	r_csum = frame_decode(lt, &fr, &csum, SEG_VERIFY_CSUM, &pad, &padcap, &cut);
	check_status("csum", r_csum);
	if (cut)
		FAIL("csum: cut set with wirelen == caplen");
	if (r_csum == 0) {
		if (r_plain != 0)
			FAIL("csum: decodes with SEG_VERIFY_CSUM (status 0) but not without (%s)",
			     frame_skip_name(r_plain));
		seg_compare("csum vs plain", &csum, &plain, 0);
		round_trip("csum", &csum);
	}

	/* The snap length cut the frame: wirelen > caplen. */
	fr.wirelen = fr.caplen + extra < fr.caplen ? UINT32_MAX : fr.caplen + extra;
	r_pad = frame_decode(lt, &fr, &padded, 0, &pad, &padcap, &cut);
	check_status("padded", r_pad);
	if (r_plain == 0) {
		/* A complete segment is not touched by a longer wire length. */
		if (r_pad != 0 || cut)
			FAIL("padded: a frame that decodes whole gives status %d cut %d with wirelen > caplen",
			     r_pad, cut);
		seg_compare("padded vs plain", &padded, &plain, 0);
	} else if (r_pad == 0) {
		/* Nothing may be marked cut when only options padding after an EOL was lost. */
		if (cut != padded.cut || (cut & ~(SEG_CUT_PAYLOAD | SEG_CUT_OPTIONS | SEG_CUT_HEADER)))
			FAIL("padded: cut %#x, the segment says %#x", cut, padded.cut);
		if ((cut & SEG_CUT_PAYLOAD) && padded.len == 0)
			FAIL("padded: payload marked cut on a segment without payload");
		if (!pad || padded.data < pad || padded.data + padded.len > pad + padcap)
			FAIL("padded: payload outside the pad buffer");
	} else if (cut) {
		FAIL("padded: cut set on a refused frame");
	}
	if (r_pad == 0)
		round_trip("padded", &padded);

	r_pad_csum = frame_decode(lt, &fr, &padded_csum, SEG_VERIFY_CSUM, &pad, &padcap, &cut);
	check_status("padded+csum", r_pad_csum);
	if (cut)
		FAIL("padded+csum: cut set although checksums were to be verified");
	if (r_pad_csum == 0) {
		if (r_csum != 0)
			FAIL("padded+csum: decodes with wirelen > caplen but not with wirelen == caplen");
		seg_compare("padded+csum vs csum", &padded_csum, &csum, 0);
		round_trip("padded+csum", &padded_csum);
	}

	free(pad);
	return 0;
}
