/*
 * pcap_out.c - see pcap_out.h. Raw IP (LINKTYPE_RAW) needs no invented
 * link-layer addresses, and nanosecond precision keeps the virtual
 * clock's timestamps exact, so a written file replays identically.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_out.h"

struct pcap_out {
	pcap_t *dead;
	pcap_dumper_t *dump;
	uint8_t wire[SEG_WIRE_MAX];
};

struct pcap_out *pcap_out_open(const char *path)
{
	struct pcap_out *po = calloc(1, sizeof(*po));

	if (!po) {
		fprintf(stderr, "tcpdemux: %s: out of memory\n", path);
		return NULL;
	}
	po->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!po->dead) {
		fprintf(stderr, "tcpdemux: %s: cannot set up a pcap writer\n", path);
		free(po);
		return NULL;
	}
	po->dump = pcap_dump_open(po->dead, path);
	if (!po->dump) {
		fprintf(stderr, "tcpdemux: %s\n", pcap_geterr(po->dead));
		pcap_close(po->dead);
		free(po);
		return NULL;
	}
	return po;
}

int pcap_out_write(struct pcap_out *po, const struct segment *seg, uint64_t ts)
{
	size_t n = seg_build(seg, po->wire, sizeof(po->wire));

	if (!n)
		return -1;
	return pcap_out_write_raw(po, po->wire, n, ts);
}

int pcap_out_write_raw(struct pcap_out *po, const uint8_t *pkt, size_t len, uint64_t ts)
{
	struct pcap_pkthdr h;

	if (len > SEG_WIRE_MAX)
		return -1;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(ts / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(ts % 1000000000ull); /* nanoseconds in a nano file */
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)po->dump, &h, pkt);
	return 0;
}

void pcap_out_flush(struct pcap_out *po)
{
	if (po)
		pcap_dump_flush(po->dump);
}

void pcap_out_close(struct pcap_out *po)
{
	if (!po)
		return;
	pcap_dump_close(po->dump);
	pcap_close(po->dead);
	free(po);
}
