/*
 * segment.h - a TCP segment as the stack sees it, and the wire codec.
 *
 * Path: frame (sim/) -> seg_parse_ip() -> struct segment -> tcp_input().
 *       tcp_out.c builds a struct segment -> event -> seg_build() (sim/).
 *
 * The parser is the first thing hostile bytes touch, so every length is
 * checked against the captured length before it is used, and each refusal
 * has a named reason (enum seg_error) that front ends count and print.
 */
#ifndef TCPDEMUX_SEGMENT_H
#define TCPDEMUX_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* TCP header flag bits, in header order; the letters are "FSRPAUEC". */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

#define TCP_HDR_MIN 20
#define TCP_OPT_MAX 40
#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40

/* Largest segment seg_build() ever writes: IPv6 + TCP with options + payload. */
#define SEG_WIRE_MAX 65575

/* Options this stack understands; others are skipped by length. */
struct tcp_opts {
	uint8_t has_mss;
	uint8_t has_wscale;
	uint8_t sack_ok;
	uint8_t has_ts;
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval;
	uint32_t tsecr;
	/*
	 * TCP Fast Open (RFC 7413): fo_kind is 0 (no option), TCPOPT_FASTOPEN
	 * (34) or TCPOPT_EXP (254, the experimental form with magic 0xF989);
	 * fo_len is the cookie's length, 0 for a cookie request.
	 */
	uint8_t fo_kind;
	uint8_t fo_len;
	uint8_t fo_cookie[16];
};

#define TCPOPT_FASTOPEN 34
#define TCPOPT_EXP 254
#define TCPOPT_FASTOPEN_MAGIC 0xF989
#define TCP_FASTOPEN_COOKIE_MAX 16

struct segment {
	struct ip_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags; /* TH_* */
	uint16_t win;  /* raw header value, not scaled */
	uint16_t urp;
	uint8_t ttl;   /* IPv4 TTL or IPv6 hop limit; 0 means "default" when building */
	struct tcp_opts opt;
	const uint8_t *data; /* payload, borrowed from the caller's buffer */
	uint32_t len;        /* payload length */
	uint8_t cut;         /* SEG_CUT_*: what the capture's snap length took away (0: nothing) */
};

/* struct segment's cut bits (seg_parse_ip_cut) */
#define SEG_CUT_PAYLOAD 0x1 /* payload bytes missing: zeros in their place, the length is the IP header's */
#define SEG_CUT_OPTIONS 0x2 /* options may be missing: those wholly captured were read */
#define SEG_CUT_HEADER 0x4  /* the window and urgent pointer were not captured: read as 0 */

/*
 * Why a frame was refused. SEG_OK is 0; functions return the negated value.
 * The names from seg_error_name() are stable: they appear in summaries and
 * in the JSON interface as skip reasons.
 */
enum seg_error {
	SEG_OK = 0,
	SEG_E_TRUNCATED,       /* fewer bytes than the smallest IP header */
	SEG_E_IP_VERSION,      /* version field neither 4 nor 6 */
	SEG_E_IP_HDRLEN,       /* IPv4 IHL < 5 or beyond the captured bytes */
	SEG_E_IP_TOTLEN,       /* total/payload length beyond captured bytes or below header */
	SEG_E_IP_CHECKSUM,     /* IPv4 header checksum wrong (only when verifying) */
	SEG_E_FRAGMENT,        /* IPv4 MF/offset or IPv6 fragment header */
	SEG_E_NOT_TCP,         /* another protocol */
	SEG_E_IP6_EXTHDR,      /* IPv6 extension chain runs past the payload length, or a misplaced hop-by-hop */
	SEG_E_TCP_TRUNCATED,   /* fewer than 20 TCP bytes */
	SEG_E_TCP_OFFSET,      /* data offset < 5 or beyond the segment */
	SEG_E_TCP_OPTION,      /* an option length of 0/1 or running past the header */
	SEG_E_TCP_CHECKSUM,    /* TCP checksum wrong (only when verifying) */
	SEG_E_COUNT
};

/* seg_parse_ip() flags */
#define SEG_VERIFY_CSUM 0x1

/*
 * Parses one IPv4 or IPv6 packet holding TCP, starting at the IP header.
 * caplen is the number of bytes actually present; nothing past it is read.
 * IPv4 options are skipped; IPv6 hop-by-hop, routing and destination-options
 * headers are skipped. Bytes past the IP total length (Ethernet padding)
 * are ignored.
 * Fewer than 20 bytes is SEG_E_TRUNCATED whatever the version nibble says.
 * Returns 0 and fills *seg (seg->data points into pkt, never NULL), or
 * -SEG_E_*; on failure *seg holds whatever was parsed so far and must not
 * be used.
 */
int seg_parse_ip(const uint8_t *pkt, size_t caplen, struct segment *seg, unsigned flags);

/*
 * Parses a packet the capture's snap length cut: pkt holds len bytes (the
 * IP packet's length on the wire, at most SEG_WIRE_MAX), of which only the
 * first cap were captured and the rest are zeros. The segment is decoded
 * as far as it was captured, as tcpdump does: addresses, ports, sequence
 * numbers and flags must be there; what is missing past them is recorded
 * in seg->cut (see above). Checksums cannot be checked and are not.
 * Returns 0, a negative seg_error for a packet that is bad whatever was
 * cut (not TCP, a fragment, lengths that contradict each other), or
 * SEG_CUT_SKIP when the cut fell before the TCP flags (or inside the IP
 * headers): nothing of the segment can be used.
 */
#define SEG_CUT_SKIP 1
int seg_parse_ip_cut(const uint8_t *pkt, size_t len, size_t cap, struct segment *seg);

/*
 * Parses a TCP options area of len bytes into *opt (zeroed first).
 * Unknown options are skipped by their length byte; EOL ends the walk.
 * Returns 0 or -SEG_E_TCP_OPTION for a length of 0 or 1 or one running
 * past the area. A known option with a wrong length is ignored, as Linux's
 * tcp_parse_options() does, rather than refused.
 */
int tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *opt);

/*
 * Writes the options of *opt in the order Linux's tcp_options_write() uses
 * (MSS; SACK-permitted+timestamps or NOP,NOP,timestamps or NOP,NOP,SACK-permitted;
 * NOP,window scale; Fast Open, NOP,NOP after it when its length is 2 mod 4),
 * padded to a multiple of 4. Values are written as
 * given (a window scale above 14 included, so tests can send one).
 * Returns the byte count (<= 40).
 */
size_t tcp_opts_write(const struct tcp_opts *opt, uint8_t *p);

/*
 * Builds the IP packet for *seg (IPv4 without options, DF set, ID 0, or IPv6),
 * with correct IP and TCP checksums. Returns the packet length, or 0 when
 * cap is too small, a length does not fit its header field, data is NULL
 * with len > 0, or src and dst are of different families (nothing useful
 * is left in buf then).
 */
size_t seg_build(const struct segment *seg, uint8_t *buf, size_t cap);

/* Internet checksum (RFC 1071) of a TCP segment including the pseudo-header. */
uint16_t tcp_checksum(const struct ip_addr *src, const struct ip_addr *dst,
		      const uint8_t *tcp, size_t len);

/* Stable lower-case name of a seg_error value ("tcp_bad_option", ...). */
const char *seg_error_name(int err);

/* Writes the set flags as letters from "FSRPAUEC" into buf (>= 9 bytes). */
char *seg_flags_str(uint8_t flags, char *buf);

/* Writes the SEG_CUT_* bits as "header,options,payload" (those set) into buf (>= 24 bytes). */
char *seg_cut_str(uint8_t cut, char *buf);

/* RFC 7323 section 2.3: a shift above 14 would let the window pass 2^30. */
#define TCP_MAX_WSCALE 14

/* Sequence-space order (RFC 9293 3.4), modulo 2^32: Linux's before() and after(). */
static inline int seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* Sequence space occupied: payload + SYN + FIN. */
static inline uint32_t seg_seqlen(const struct segment *s)
{
	return s->len + !!(s->flags & TH_SYN) + !!(s->flags & TH_FIN);
}

#endif
