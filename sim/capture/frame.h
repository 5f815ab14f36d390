/*
 * frame.h - reading capture files: libpcap in, IP packets out.
 *
 * Path: FILE -> frame_open()/frame_next() (capfile.c: plain, gzip, stdin,
 *       one view per link type; libpcap, offline, with a filter) ->
 *       frame_decode(): link layer stripped, seg_parse_ip() -> a segment,
 *       or a named reason the frame is skipped.
 */
#ifndef TCPDEMUX_FRAME_H
#define TCPDEMUX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

/*
 * Skip reasons: seg_error values first (IP and TCP problems), then the
 * link-level ones. frame_skip_name() gives the stable names used in
 * summaries.
 */
enum frame_skip {
	SKIP_LINK_TRUNCATED = SEG_E_COUNT, /* shorter than its link-layer header */
	SKIP_NOT_IP,                       /* ARP, LLDP, ... */
	SKIP_SNAPLEN,                      /* cut by the snap length before the TCP flags */
	SKIP_WLAN_PROTECTED,               /* an encrypted 802.11 data frame */
	SKIP_WLAN_BAD_FCS,                 /* radiotap says the 802.11 frame failed its FCS check */
	SKIP_COUNT
};

const char *frame_skip_name(int reason);

struct frame_src;

/*
 * Opens a pcap or pcapng file (gzip-compressed or not; "-" is standard
 * input) with nanosecond timestamps. filter (NULL or "": none) is a
 * tcpdump expression, compiled by libpcap for the file's link type(s):
 * frames it rejects are counted (frame_counts) and never returned.
 * Returns NULL and writes one line into err when the file cannot be read,
 * a link type is not one tcpdemux decodes ("FILE: reason"), or the filter
 * does not compile ("filter 'EXPR': libpcap's reason").
 */
struct frame_src *frame_open(const char *path, const char *filter, char *err, size_t errlen);
void frame_close(struct frame_src *fs);

struct frame {
	uint64_t ts;       /* nanoseconds since the epoch */
	uint32_t caplen;   /* bytes captured */
	uint32_t wirelen;  /* bytes on the wire */
	const uint8_t *data;
	int linktype;      /* DLT_* of the frame's interface (frame_decode's first argument) */
	int64_t num;       /* 1-based position in the file, filtered frames counted (Wireshark's number) */
};

/*
 * Reads the next frame that passes the filter, in file order (data valid
 * until the next call). Returns 1, 0 at the end of the file, or -1 with
 * "FILE: reason" in err (a corrupt or truncated file, compressed data cut
 * short: what came before it was good).
 */
int frame_next(struct frame_src *fs, struct frame *fr, char *err, size_t errlen);

/*
 * Whether the data of the frame frame_next() returned last stays valid
 * until frame_close(), not only until the next call: a plain pcap file
 * read in place (pcap_records.h). The replay's window then keeps the
 * pointer instead of a copy.
 */
int frame_data_kept(const struct frame_src *fs);

/* Frames read from the file so far, and how many of them the filter dropped. */
void frame_counts(const struct frame_src *fs, uint64_t *frames, uint64_t *filtered);

/* The timestamp of the file's first frame (filtered or not), once frame_next() has read it. */
uint64_t frame_first_ts(const struct frame_src *fs);

/* The first interface's link type (DLT_*); a mixed pcapng has others (struct frame). */
int frame_linktype(const struct frame_src *fs);
/* "EN10MB", or "EN10MB+LINUX_SLL2" for a pcapng with interfaces of both. */
const char *frame_linktype_name(const struct frame_src *fs);

/* libpcap's name of a link type tcpdemux decodes (DLT_RAW as 12), or NULL for any other: needs no libpcap. */
const char *frame_dlt_name(int dlt);
/* "microsecond", "nanosecond" (pcap) or "per-interface" (pcapng), from the file itself. */
const char *frame_precision(const struct frame_src *fs);
/* "gzip" when the file was compressed, else NULL. */
const char *frame_compression(const struct frame_src *fs);

/*
 * Where the IP header starts in the n bytes at p of a frame of link type
 * dlt (the link-layer header's length, VLAN tags included), or a skip
 * reason as a negative number (SKIP_LINK_TRUNCATED, SKIP_NOT_IP).
 */
long frame_ip_offset(int dlt, const uint8_t *p, size_t n);

/*
 * Decodes the frame's link layer and IP/TCP headers into *seg. A frame
 * the snap length cut after the TCP flags is still decoded, as far as it
 * was captured (seg_parse_ip_cut): the packet is copied into *pad (grown
 * as needed, freed by the caller) with the missing bytes as zeros, and
 * *cut is set to seg->cut (SEG_CUT_* bits). A cut before the TCP flags is
 * SKIP_SNAPLEN; so is any cut with SEG_VERIFY_CSUM.
 * Returns 0, or a skip reason (seg_error or enum frame_skip value).
 */
int frame_decode(int linktype, const struct frame *fr, struct segment *seg, unsigned flags,
		 uint8_t **pad, size_t *padcap, int *cut);

/*
 * Whether fr (decoded without error) is an IPv4 packet whose total length
 * field is 0, read as captured (segmentation offload: see segment.c).
 */
int frame_ip_length_zero(int linktype, const struct frame *fr);

#endif
