/*
 * pcap_out.h - writing segments to a capture file (raw IP link type,
 * nanosecond timestamps) that tcpdump, Wireshark and `tcpdemux replay`
 * open. Used by `replay --write`, `synth --write` and `live --write`.
 */
#ifndef TCPDEMUX_PCAP_OUT_H
#define TCPDEMUX_PCAP_OUT_H

#include <stdint.h>

#include "segment.h"

struct pcap_out;

/* Opens path for writing; NULL with a message on stderr on failure. */
struct pcap_out *pcap_out_open(const char *path);

/* Appends seg with timestamp ts (nanoseconds since the epoch). Returns 0 or -1. */
int pcap_out_write(struct pcap_out *po, const struct segment *seg, uint64_t ts);

/*
 * Appends an IP packet as it is (len bytes, at most SEG_WIRE_MAX), with
 * timestamp ts: what crossed a device, TCP or not. Returns 0 or -1.
 */
int pcap_out_write_raw(struct pcap_out *po, const uint8_t *pkt, size_t len, uint64_t ts);

/* Flushes what is written to the file (a live run can be read while it goes on). */
void pcap_out_flush(struct pcap_out *po);

void pcap_out_close(struct pcap_out *po);

#endif
