/*
 * segment.c - the wire codec between raw IP packets and struct segment.
 *
 * Inbound:  frame (sim/) -> seg_parse_ip() -> struct segment -> tcp_input().
 * Outbound: tcp_out -> struct segment -> seg_build() -> pcap writer (sim/).
 *
 * The parser is the first code that hostile bytes reach, so it reads one
 * byte at a time through get16()/get32() (no casts to wider types: captured
 * frames carry no alignment promise) and checks each length against what
 * was captured before using it. Pure computation: no I/O of any kind.
 */
#include "segment.h"

#include <string.h>

#include "clear.h"

#define IPPROTO_TCP_NUM 6

/* IPv6 next-header values this parser knows (RFC 8200 section 4). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_DSTOPTS 60

/* TCP option kinds and lengths (RFC 9293 section 3.2, RFC 7323, RFC 2018). */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_TS 8
#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TS 10

/* IPv4 flags/fragment-offset word (RFC 791 section 3.1). */
#define IP4_DF 0x4000
#define IP4_MF 0x2000
#define IP4_OFFMASK 0x1fff

#define DEFAULT_TTL 64

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Adds big-endian 16-bit words to a wide accumulator; carries are folded
 * once at the end (RFC 1071 section 2(C): deferred carries). A trailing odd
 * byte counts as the high half of a word padded with zero (RFC 9293
 * section 3.1, "Checksum"). Only the last block summed may be odd-sized,
 * otherwise the words of later blocks would be misaligned.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* Folds the carries back in and complements: the value put on the wire. */
static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t tcp_checksum(const struct ip_addr *src, const struct ip_addr *dst,
		      const uint8_t *tcp, size_t len)
{
	uint8_t ph[8];
	uint64_t sum = 0;

	if (src->family == ADDR_V6) {
		/* RFC 8200 section 8.1: 32-bit upper-layer length, 3 zero bytes, next header. */
		sum = csum_add(sum, src->a, 16);
		sum = csum_add(sum, dst->a, 16);
		put32(ph, (uint32_t)len);
		ph[4] = 0;
		ph[5] = 0;
		ph[6] = 0;
		ph[7] = IPPROTO_TCP_NUM;
		sum = csum_add(sum, ph, 8);
	} else {
		/* RFC 9293 section 3.1: zero, protocol, 16-bit TCP length. */
		sum = csum_add(sum, src->a, 4);
		sum = csum_add(sum, dst->a, 4);
		ph[0] = 0;
		ph[1] = IPPROTO_TCP_NUM;
		put16(ph + 2, (uint16_t)len);
		sum = csum_add(sum, ph, 4);
	}
	sum = csum_add(sum, tcp, len);
	return csum_fold(sum);
}

/*
 * The walk behind tcp_opts_parse(). With cut set, the area was cut short
 * by the capture's snap length: an option running past its end is the
 * cut, not a fault, and the walk stops there keeping what came before it.
 * Returns 0, -SEG_E_TCP_OPTION, or (with cut) 1 when options may have
 * been lost: the walk reached the end of the area without an EOL.
 * *opt must be all 0s (the segment's, zeroed by parse_ip, or
 * tcp_opts_parse's): the walk only sets what it finds.
 */
static int opts_walk(const uint8_t *p, size_t len, struct tcp_opts *opt, int cut)
{
	/*
	 * The two layouts read in one step below, by their fixed bytes:
	 * compared with memcmp(), which GCC makes a load and a compare per
	 * piece (byte by byte, the SYN's test alone was 40 instructions).
	 */
	static const uint8_t ts_only[4] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, TCPOLEN_TS };
	static const uint8_t syn_mss[2] = { TCPOPT_MSS, TCPOLEN_MSS };
	static const uint8_t syn_sack_ts[4] = { TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM, TCPOPT_TS, TCPOLEN_TS };
	static const uint8_t syn_wscale[3] = { TCPOPT_NOP, TCPOPT_WSCALE, TCPOLEN_WSCALE };
	size_t i = 0;

	/*
	 * Nearly every segment after a handshake carries exactly NOP, NOP,
	 * timestamps (Linux's layout when timestamps were agreed): read it in
	 * one step. What the walk below would make of it, without the walk.
	 */
	if (len == 12 && memcmp(p, ts_only, sizeof(ts_only)) == 0) {
		opt->has_ts = 1;
		opt->tsval = get32(p + 4);
		opt->tsecr = get32(p + 8);
		return cut;
	}
	/*
	 * And every SYN and SYN-ACK of a Linux host with the defaults: MSS,
	 * SACK-permitted, timestamps, NOP, window scale (tcp_options_write's
	 * order), 20 bytes. Read in one step too: a handshake-heavy capture
	 * spends more on walking these than on any other option.
	 */
	if (len == 20 && memcmp(p, syn_mss, sizeof(syn_mss)) == 0 && memcmp(p + 4, syn_sack_ts, sizeof(syn_sack_ts)) == 0 &&
	    memcmp(p + 16, syn_wscale, sizeof(syn_wscale)) == 0) {
		opt->has_mss = 1;
		opt->mss = get16(p + 2);
		opt->sack_ok = 1;
		opt->has_ts = 1;
		opt->tsval = get32(p + 8);
		opt->tsecr = get32(p + 12);
		opt->has_wscale = 1;
		opt->wscale = p[19] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p[19]; /* clamped, as below */
		return cut;
	}
	while (i < len) {
		uint8_t kind = p[i];
		uint8_t olen;

		if (kind == TCPOPT_EOL)
			return 0; /* the rest is padding: nothing a cut could take */
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		/*
		 * Every other kind carries a length that counts kind and length
		 * bytes (RFC 9293 section 3.2), so < 2 cannot be walked past.
		 * Linux's tcp_parse_options() silently stops here; we name the
		 * reason so captures with broken options can be counted.
		 */
		if (len - i < 2)
			return cut ? 1 : -SEG_E_TCP_OPTION;
		olen = p[i + 1];
		if (olen < 2)
			return -SEG_E_TCP_OPTION;
		if (olen > len - i)
			return cut ? 1 : -SEG_E_TCP_OPTION;

		/*
		 * A known kind with an unexpected length is skipped rather than
		 * refused, as tcp_parse_options() does: the length byte still
		 * lets the walk continue safely. The SYN-only options are
		 * recorded on any segment; tcp_input decides what applies.
		 */
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == TCPOLEN_MSS) {
				opt->has_mss = 1;
				opt->mss = get16(p + i + 2);
			}
			break;
		case TCPOPT_WSCALE:
			if (olen == TCPOLEN_WSCALE) {
				uint8_t ws = p[i + 2];

				/* RFC 7323 section 2.3; Linux clamps too rather than dropping. */
				if (ws > TCP_MAX_WSCALE)
					ws = TCP_MAX_WSCALE;
				opt->has_wscale = 1;
				opt->wscale = ws;
			}
			break;
		case TCPOPT_SACK_PERM:
			if (olen == TCPOLEN_SACK_PERM)
				opt->sack_ok = 1;
			break;
		case TCPOPT_FASTOPEN:
			/* tcp_parse_fastopen_option(): a request (no cookie) or 4..16 bytes, even */
			if (olen == 2 || (olen >= 6 && olen <= 2 + TCP_FASTOPEN_COOKIE_MAX && !(olen & 1))) {
				opt->fo_kind = TCPOPT_FASTOPEN;
				opt->fo_len = (uint8_t)(olen - 2);
				memcpy(opt->fo_cookie, p + i + 2, opt->fo_len);
			}
			break;
		case TCPOPT_EXP:
			if ((olen == 4 || (olen >= 8 && olen <= 4 + TCP_FASTOPEN_COOKIE_MAX && !(olen & 1))) &&
			    get16(p + i + 2) == TCPOPT_FASTOPEN_MAGIC && !opt->fo_kind) {
				opt->fo_kind = TCPOPT_EXP;
				opt->fo_len = (uint8_t)(olen - 4);
				memcpy(opt->fo_cookie, p + i + 4, opt->fo_len);
			}
			break;
		case TCPOPT_TS:
			if (olen == TCPOLEN_TS) {
				opt->has_ts = 1;
				opt->tsval = get32(p + i + 2);
				opt->tsecr = get32(p + i + 6);
			}
			break;
		default:
			break;
		}
		i += olen;
	}
	return cut;
}

int tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *opt)
{
	memset(opt, 0, sizeof(*opt));
	return opts_walk(p, len, opt, 0);
}

size_t tcp_opts_write(const struct tcp_opts *opt, uint8_t *p)
{
	size_t n = 0;

	/*
	 * Same layout as Linux's tcp_options_write(), so our pcaps diff
	 * cleanly against real captures: each block fills whole 32-bit
	 * words, with NOPs placed so multi-byte fields stay word-aligned.
	 */
	if (opt->has_mss) {
		p[n++] = TCPOPT_MSS;
		p[n++] = TCPOLEN_MSS;
		put16(p + n, opt->mss);
		n += 2;
	}
	if (opt->has_ts) {
		if (opt->sack_ok) {
			/* SACK-permitted takes the two bytes the NOPs would. */
			p[n++] = TCPOPT_SACK_PERM;
			p[n++] = TCPOLEN_SACK_PERM;
		} else {
			p[n++] = TCPOPT_NOP;
			p[n++] = TCPOPT_NOP;
		}
		p[n++] = TCPOPT_TS;
		p[n++] = TCPOLEN_TS;
		put32(p + n, opt->tsval);
		put32(p + n + 4, opt->tsecr);
		n += 8;
	} else if (opt->sack_ok) {
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_SACK_PERM;
		p[n++] = TCPOLEN_SACK_PERM;
	}
	if (opt->has_wscale) {
		/* Written as given: a test may want to send Linux an illegal 15. */
		p[n++] = TCPOPT_NOP;
		p[n++] = TCPOPT_WSCALE;
		p[n++] = TCPOLEN_WSCALE;
		p[n++] = opt->wscale;
	}
	if (opt->fo_kind && opt->fo_len <= TCP_FASTOPEN_COOKIE_MAX) {
		size_t len = opt->fo_len + (opt->fo_kind == TCPOPT_EXP ? 4u : 2u);

		p[n++] = opt->fo_kind;
		p[n++] = (uint8_t)len;
		if (opt->fo_kind == TCPOPT_EXP) {
			put16(p + n, TCPOPT_FASTOPEN_MAGIC);
			n += 2;
		}
		memcpy(p + n, opt->fo_cookie, opt->fo_len);
		n += opt->fo_len;
		if ((len & 3) == 2) {
			p[n++] = TCPOPT_NOP;
			p[n++] = TCPOPT_NOP;
		}
	}
	/*
	 * The data offset counts 32-bit words (RFC 9293 section 3.1). The
	 * blocks above are whole words already; this keeps that true should
	 * an odd-sized block ever be added (EOL is the padding RFC 9293 names).
	 */
	while (n & 3)
		p[n++] = TCPOPT_EOL;
	return n;
}

/*
 * A header the snap length cut before the parser could find the TCP flags
 * (internal: seg_parse_ip_cut() returns it as SEG_CUT_SKIP).
 */
#define CUT 1

/*
 * Parses the TCP header in [tcp, tcp + len), len being what the IP layer
 * declared (never more than the buffer holds), of which the first cap
 * bytes were captured (cap == len unless the snap length cut the packet;
 * the bytes past cap are zeros). The order of checks follows Linux's
 * tcp_v4_rcv()/tcp_v6_rcv(): header size, data offset, checksum, and only
 * then the options, so a corrupted option area on a segment with a bad
 * checksum is counted as a checksum failure.
 *
 * A cut segment is decoded as far as it was captured, as tcpdump does:
 * ports, numbers and flags are needed (the first 14 bytes: a cut before
 * them is CUT); a window or urgent pointer not captured reads as 0
 * (SEG_CUT_HEADER), options are those wholly captured (SEG_CUT_OPTIONS
 * when some may be missing), the payload keeps its declared length
 * (SEG_CUT_PAYLOAD).
 */
/*
 * The TCP header's fields, of which cap bytes (at least 14) were captured.
 * Inlined: seg_parse_ip()'s fast path reads a whole header (cap a
 * constant 20), where the tests of cap go away.
 */
static inline __attribute__((always_inline)) void tcp_fields(const uint8_t *tcp, size_t cap, struct segment *seg)
{
	seg->sport = get16(tcp);
	seg->dport = get16(tcp + 2);
	seg->seq = get32(tcp + 4);
	seg->ack = get32(tcp + 8);
	seg->flags = tcp[13];
	/* A field not wholly captured reads as 0, not half of it. */
	seg->win = cap >= 16 ? get16(tcp + 14) : 0;
	seg->urp = cap >= TCP_HDR_MIN ? get16(tcp + 18) : 0;
	if (cap < TCP_HDR_MIN)
		seg->cut |= SEG_CUT_HEADER;
}

static int parse_tcp(const uint8_t *tcp, size_t len, size_t cap, struct segment *seg,
		     unsigned flags)
{
	size_t doff, ocap;
	int rc;

	if (len < TCP_HDR_MIN)
		return -SEG_E_TCP_TRUNCATED;
	if (cap < 14)
		return CUT;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HDR_MIN || doff > len)
		return -SEG_E_TCP_OFFSET;
	if ((flags & SEG_VERIFY_CSUM) &&
	    tcp_checksum(&seg->src, &seg->dst, tcp, len) != 0)
		return -SEG_E_TCP_CHECKSUM;

	tcp_fields(tcp, cap, seg);

	ocap = cap < doff ? (cap > TCP_HDR_MIN ? cap - TCP_HDR_MIN : 0) : doff - TCP_HDR_MIN;
	rc = opts_walk(tcp + TCP_HDR_MIN, ocap, &seg->opt, ocap < doff - TCP_HDR_MIN);
	if (rc < 0)
		return rc;
	if (rc > 0)
		seg->cut |= SEG_CUT_OPTIONS;

	seg->data = tcp + doff;
	seg->len = (uint32_t)(len - doff);
	if (cap < len && seg->len)
		seg->cut |= SEG_CUT_PAYLOAD;
	return 0;
}

/* An IPv4 header's addresses and TTL. seg is all 0s (parse_ip): the addresses' bytes go in as they are, in network order. */
static inline __attribute__((always_inline)) void ip4_fields(const uint8_t *pkt, struct segment *seg)
{
	seg->src.family = seg->dst.family = ADDR_V4;
	memcpy(seg->src.a, pkt + 12, 4);
	memcpy(seg->dst.a, pkt + 16, 4);
	seg->ttl = pkt[8];
}

static int parse_ip4(const uint8_t *pkt, size_t caplen, size_t cap, struct segment *seg,
		     unsigned flags)
{
	size_t ihl, totlen;
	uint16_t frag;

	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < IP4_HDR_MIN || ihl > caplen)
		return -SEG_E_IP_HDRLEN;
	if (ihl > cap)
		return CUT; /* options cut: where TCP starts is known, its bytes are not */
	/*
	 * Trust the declared total length, not the capture: anything after
	 * it is link-layer padding (Ethernet pads to 46 bytes), as Linux's
	 * ip_rcv_core() trims with pskb_trim_rcsum().
	 */
	totlen = get16(pkt + 2);
	/*
	 * 0 on a frame captured before segmentation offload (TSO/GSO): the
	 * card fills in each segment's length after the capture point. The
	 * captured bytes are then the packet (Wireshark reads it so too).
	 * Only up to what the field can express: a larger packet (BIG TCP's
	 * GSO packets past 64 KiB) has no IPv4 length a segment could be
	 * rebuilt with, so it is refused with the others below.
	 */
	if (totlen == 0)
		totlen = caplen <= 0xffff ? caplen : 0;
	if (totlen > caplen || totlen < ihl)
		return -SEG_E_IP_TOTLEN;
	/* RFC 791 section 3.1: the sum over the header, options included, is 0. */
	if ((flags & SEG_VERIFY_CSUM) && csum_fold(csum_add(0, pkt, ihl)) != 0)
		return -SEG_E_IP_CHECKSUM;
	/*
	 * No reassembly: a first fragment holds a partial segment whose
	 * checksum cannot be verified, later ones hold no TCP header at all.
	 */
	frag = get16(pkt + 6);
	if (frag & (IP4_MF | IP4_OFFMASK))
		return -SEG_E_FRAGMENT;
	if (pkt[9] != IPPROTO_TCP_NUM)
		return -SEG_E_NOT_TCP;

	ip4_fields(pkt, seg);
	return parse_tcp(pkt + ihl, totlen - ihl, cap < totlen ? cap - ihl : totlen - ihl, seg, flags);
}

static int parse_ip6(const uint8_t *pkt, size_t caplen, size_t cap, struct segment *seg,
		     unsigned flags)
{
	size_t plen, end, off;
	uint8_t nh;

	if (cap < IP6_HDR_LEN)
		return caplen < IP6_HDR_LEN ? -SEG_E_TRUNCATED : CUT;
	/*
	 * Payload length 0 announces a jumbogram (RFC 2675), whose real size
	 * sits in a hop-by-hop option; pcap snap lengths never hold one, so it
	 * is refused as an unusable length rather than parsed.
	 */
	plen = get16(pkt + 4);
	if (plen == 0 || plen > caplen - IP6_HDR_LEN)
		return -SEG_E_IP_TOTLEN;
	end = IP6_HDR_LEN + plen;

	memset(&seg->src, 0, sizeof(seg->src));
	memset(&seg->dst, 0, sizeof(seg->dst));
	seg->src.family = ADDR_V6;
	seg->dst.family = ADDR_V6;
	memcpy(seg->src.a, pkt + 8, 16);
	memcpy(seg->dst.a, pkt + 24, 16);
	seg->ttl = pkt[7];

	/*
	 * RFC 8200 section 4: walk the chain until TCP. Hop-by-hop, routing
	 * and destination options share the layout "next header, length in
	 * 8-octet units not counting the first 8" (sections 4.3, 4.4, 4.6). Each
	 * step advances by at least 8 bytes, so the walk ends.
	 */
	nh = pkt[6];
	off = IP6_HDR_LEN;
	while (nh != IPPROTO_TCP_NUM) {
		size_t hlen;

		switch (nh) {
		case NH_HOPOPTS:
			/* RFC 8200 4.1: hop-by-hop may only follow the fixed header;
			 * Linux (ip6_input) discards it anywhere else. */
			if (off != IP6_HDR_LEN)
				return -SEG_E_IP6_EXTHDR;
			break;
		case NH_ROUTING:
		case NH_DSTOPTS:
			break;
		case NH_FRAGMENT:
			/* Same reason as IPv4 fragments: no reassembly. */
			return -SEG_E_FRAGMENT;
		default:
			return -SEG_E_NOT_TCP;
		}
		if (end - off < 2)
			return -SEG_E_IP6_EXTHDR;
		if (cap < off + 2)
			return CUT;
		hlen = ((size_t)pkt[off + 1] + 1) * 8;
		if (hlen > end - off)
			return -SEG_E_IP6_EXTHDR;
		nh = pkt[off];
		off += hlen;
	}
	/*
	 * At the final destination the header's dst is the final address
	 * even with a routing header (segments left is 0), so the pseudo-
	 * header of RFC 8200 section 8.1 can use it as is.
	 */
	return parse_tcp(pkt + off, end - off, cap < end ? (cap > off ? cap - off : 0) : end - off, seg, flags);
}

/* Both parsers: caplen bytes readable, of which the first cap were captured. */
static int parse_ip(const uint8_t *pkt, size_t caplen, size_t cap, struct segment *seg, unsigned flags)
{
	clear_obj(seg, sizeof(*seg)); /* once per frame: clear.h says why not memset */
	if (caplen < IP4_HDR_MIN)
		return -SEG_E_TRUNCATED;
	if (cap < 1)
		return CUT;
	switch (pkt[0] >> 4) {
	case 4:
		if (cap < IP4_HDR_MIN)
			return CUT;
		return parse_ip4(pkt, caplen, cap, seg, flags);
	case 6:
		return parse_ip6(pkt, caplen, cap, seg, flags);
	default:
		return -SEG_E_IP_VERSION;
	}
}

int seg_parse_ip(const uint8_t *pkt, size_t caplen, struct segment *seg, unsigned flags)
{
	size_t totlen, doff;
	int rc;

	/*
	 * Nearly every frame: IPv4 without options, not a fragment, its
	 * length given and captured, a TCP header that fits, no checksum to
	 * verify. What parse_ip() would make of it, in the same order, but
	 * without its questions about a snap length (nothing is cut here) or
	 * the calls through parse_ip4() and parse_tcp(). Anything else, right
	 * or wrong, goes the general way.
	 */
	if (caplen >= IP4_HDR_MIN + TCP_HDR_MIN && pkt[0] == 0x45 && pkt[9] == IPPROTO_TCP_NUM &&
	    !(flags & SEG_VERIFY_CSUM) && !(get16(pkt + 6) & (IP4_MF | IP4_OFFMASK))) {
		totlen = get16(pkt + 2);
		doff = (size_t)(pkt[IP4_HDR_MIN + 12] >> 4) * 4;
		if (totlen <= caplen && doff >= TCP_HDR_MIN && totlen >= IP4_HDR_MIN + doff) {
			clear_obj(seg, sizeof(*seg));
			ip4_fields(pkt, seg);
			tcp_fields(pkt + IP4_HDR_MIN, TCP_HDR_MIN, seg);
			rc = opts_walk(pkt + IP4_HDR_MIN + TCP_HDR_MIN, doff - TCP_HDR_MIN, &seg->opt, 0);
			if (rc < 0)
				return rc;
			seg->data = pkt + IP4_HDR_MIN + doff;
			seg->len = (uint32_t)(totlen - IP4_HDR_MIN - doff);
			return 0;
		}
	}
	/* Nothing is cut when all was captured: parse_ip() never says CUT here. */
	return parse_ip(pkt, caplen, caplen, seg, flags);
}

int seg_parse_ip_cut(const uint8_t *pkt, size_t len, size_t cap, struct segment *seg)
{
	int r;

	if (cap > len)
		cap = len;
	r = parse_ip(pkt, len, cap, seg, 0);
	return r == CUT ? SEG_CUT_SKIP : r;
}

size_t seg_build(const struct segment *seg, uint8_t *buf, size_t cap)
{
	uint8_t opts[TCP_OPT_MAX];
	size_t olen, iphl, thl, tcplen, total;
	int v6 = seg->src.family == ADDR_V6;
	uint8_t *tcp;

	if (seg->src.family != seg->dst.family ||
	    (seg->src.family != ADDR_V4 && seg->src.family != ADDR_V6))
		return 0;
	if (seg->len && !seg->data)
		return 0;
	olen = tcp_opts_write(&seg->opt, opts);
	iphl = v6 ? IP6_HDR_LEN : IP4_HDR_MIN;
	thl = TCP_HDR_MIN + olen;
	tcplen = thl + seg->len;
	total = iphl + tcplen;
	/* The 16-bit length fields bound what can be expressed at all. */
	if ((v6 ? tcplen : total) > 0xffff || total > cap)
		return 0;

	if (v6) {
		/* Traffic class and flow label 0: nothing here marks or labels flows. */
		buf[0] = 0x60;
		buf[1] = 0;
		buf[2] = 0;
		buf[3] = 0;
		put16(buf + 4, (uint16_t)tcplen);
		buf[6] = IPPROTO_TCP_NUM;
		buf[7] = seg->ttl ? seg->ttl : DEFAULT_TTL;
		memcpy(buf + 8, seg->src.a, 16);
		memcpy(buf + 24, seg->dst.a, 16);
	} else {
		buf[0] = 0x45;
		buf[1] = 0;
		put16(buf + 2, (uint16_t)total);
		/*
		 * RFC 6864 section 4.1: with DF set the datagram is atomic and
		 * its ID carries no meaning, so 0 keeps output reproducible.
		 */
		put16(buf + 4, 0);
		put16(buf + 6, IP4_DF);
		buf[8] = seg->ttl ? seg->ttl : DEFAULT_TTL;
		buf[9] = IPPROTO_TCP_NUM;
		put16(buf + 10, 0);
		memcpy(buf + 12, seg->src.a, 4);
		memcpy(buf + 16, seg->dst.a, 4);
		put16(buf + 10, csum_fold(csum_add(0, buf, IP4_HDR_MIN)));
	}

	tcp = buf + iphl;
	put16(tcp, seg->sport);
	put16(tcp + 2, seg->dport);
	put32(tcp + 4, seg->seq);
	put32(tcp + 8, seg->ack);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = seg->flags;
	put16(tcp + 14, seg->win);
	put16(tcp + 16, 0);
	put16(tcp + 18, seg->urp);
	memcpy(tcp + TCP_HDR_MIN, opts, olen);
	if (seg->len)
		memcpy(tcp + thl, seg->data, seg->len);
	put16(tcp + 16, tcp_checksum(&seg->src, &seg->dst, tcp, tcplen));
	return total;
}

static const char *const seg_error_names[SEG_E_COUNT] = {
	[SEG_OK] = "ok",
	[SEG_E_TRUNCATED] = "truncated",
	[SEG_E_IP_VERSION] = "ip_bad_version",
	[SEG_E_IP_HDRLEN] = "ip_bad_header_length",
	[SEG_E_IP_TOTLEN] = "ip_bad_total_length",
	[SEG_E_IP_CHECKSUM] = "ip_bad_checksum",
	[SEG_E_FRAGMENT] = "ip_fragment",
	[SEG_E_NOT_TCP] = "not_tcp",
	[SEG_E_IP6_EXTHDR] = "ip6_bad_extension_header",
	[SEG_E_TCP_TRUNCATED] = "tcp_truncated",
	[SEG_E_TCP_OFFSET] = "tcp_bad_data_offset",
	[SEG_E_TCP_OPTION] = "tcp_bad_option",
	[SEG_E_TCP_CHECKSUM] = "tcp_bad_checksum",
};

const char *seg_error_name(int err)
{
	/* Widen before negating: -INT_MIN would overflow. */
	long long e = err;

	if (e < 0)
		e = -e;
	if (e >= SEG_E_COUNT || !seg_error_names[e])
		return "unknown";
	return seg_error_names[e];
}

char *seg_flags_str(uint8_t flags, char *buf)
{
	static const char letters[] = "FSRPAUEC";
	size_t i, n = 0;

	/* Letter i names bit i, so the string reads in header bit order. */
	for (i = 0; i < 8; i++)
		if (flags & (1u << i))
			buf[n++] = letters[i];
	buf[n] = '\0';
	return buf;
}

char *seg_cut_str(uint8_t cut, char *buf)
{
	static const char *const names[] = { "payload", "options", "header" };
	size_t i, n = 0;

	buf[0] = '\0';
	/* Header order, as a reader meets them: header, options, payload. */
	for (i = 3; i-- > 0;)
		if (cut & (1u << i)) {
			if (n)
				buf[n++] = ',';
			strcpy(buf + n, names[i]);
			n += strlen(names[i]);
		}
	return buf;
}
