/*
 * frame.h - reading capture files: libpcap in, IP packets out.
 *
 * Path: FILE -> frame_open()/frame_next() (libpcap, offline) ->
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
	SKIP_SNAPLEN,                      /* headers cut short by the snap length */
	SKIP_COUNT
};

const char *frame_skip_name(int reason);

struct frame_src;

/*
 * Opens a pcap or pcapng file with nanosecond timestamps. Returns NULL and
 * writes "FILE: reason" into err when the file cannot be read or its link
 * type is not one tcpdemux decodes.
 */
struct frame_src *frame_open(const char *path, char *err, size_t errlen);
void frame_close(struct frame_src *fs);

struct frame {
	uint64_t ts;       /* nanoseconds since the epoch */
	uint32_t caplen;   /* bytes captured */
	uint32_t wirelen;  /* bytes on the wire */
	const uint8_t *data;
};

/*
 * Reads the next frame (data valid until the next call). Returns 1, 0 at
 * the end of the file, or -1 with "FILE: reason" in err (a corrupt or
 * truncated file: what came before it was good).
 */
int frame_next(struct frame_src *fs, struct frame *fr, char *err, size_t errlen);

int frame_linktype(const struct frame_src *fs);
const char *frame_linktype_name(const struct frame_src *fs);
/* "microsecond", "nanosecond" (pcap) or "per-interface" (pcapng), from the file itself. */
const char *frame_precision(const struct frame_src *fs);

/*
 * Decodes the frame's link layer and IP/TCP headers into *seg. A frame
 * whose payload (only) was cut by the snap length is still decoded: its
 * payload is copied into *pad (grown as needed, freed by the caller) with
 * the missing bytes as zeros, and *payload_cut is set.
 * Returns 0, or a skip reason (seg_error or enum frame_skip value).
 */
int frame_decode(int linktype, const struct frame *fr, struct segment *seg, unsigned flags,
		 uint8_t **pad, size_t *padcap, int *payload_cut);

/*
 * Whether fr (decoded without error) is an IPv4 packet whose total length
 * field is 0, read as captured (segmentation offload: see segment.c).
 */
int frame_ip_length_zero(int linktype, const struct frame *fr);

#endif
