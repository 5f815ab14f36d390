/*
 * pcap_records.h - the records of a plain pcap file read from one large
 * buffer; for a file on disk its header too, without libpcap.
 *
 * Path: frame.c's view_open() -> pcap_records_open() (the header, the
 *       link type; or libpcap's pcap_fopen_offline, then
 *       pcap_records_init()) -> pcap_records_next() for every record ->
 *       frame.c's view_fetch() -> the replay.
 *
 * libpcap's pcap_next_ex() on a savefile makes two stdio fread() calls
 * per record (its 16-byte header, then the bytes): about 500 instructions
 * a frame, a fifth of a whole replay. Here the records are cut from the
 * file mmap()ed (a regular file: read in place, no copies, and kept until
 * the end, so the replay's window needs no copy of its own) or else from a
 * buffer refilled 128 KiB at a time, with libpcap's own checks and
 * words for a damaged file (sf-pcap.c: a header or record cut short, a
 * capture length beyond the snapshot length or the link type's maximum),
 * so a replay reads the same frames and reports the same errors. Only
 * the files for which that is plainly so take this path
 * (pcap_records_usable): version 2.4, the machine's byte order (libpcap
 * rewrites some pseudo-headers of a byte-swapped file), one link type.
 * Everything else (pcapng, old versions, swapped files) stays with
 * pcap_next_ex(). A file on disk whose header is plainly one libpcap
 * takes as it stands, of a link type tcpdemux decodes, is opened here
 * too (pcap_records_open), so that its replay never loads libpcap
 * (pcap_lib.c); for any other header libpcap judges, and words what it
 * finds wrong.
 *
 * A mapped file cut shorter while it is replayed (reading a page cut off
 * is a SIGBUS) ends the replay with one line naming the file and exit 2;
 * one that grows is read on, from the stream, past what was mapped.
 */
#ifndef TCPDEMUX_PCAP_RECORDS_H
#define TCPDEMUX_PCAP_RECORDS_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcap_records {
	FILE *f;            /* libpcap's stream, past the file header (libpcap reads no more of it) */
	uint8_t *buf;       /* bytes read from f and not yet returned, from off to len; or the mapping (map) */
	size_t cap;         /* bytes allocated at buf */
	size_t off, len;
	uint32_t snapshot;  /* pcap_snapshot(): longer records are cut to it, as libpcap cuts them */
	uint32_t max_caplen; /* a capture length beyond this is damage (libpcap's max_snaplen_for_dlt) */
	int usec;           /* microsecond timestamps in the file (scaled to nanoseconds) */
	int eof;            /* f returned its last byte (or buf is the mapping: nothing more is read into it) */
	uint8_t *map;       /* the whole file mmap()ed (a regular file), or NULL; kept until pcap_records_free */
	size_t map_len;     /* its length: the file's size when it was opened */
	size_t dropped;     /* file offset up to which the mapping's pages were given back (MADV_DONTNEED) */
	struct bus_map *bus; /* while mapped: the SIGBUS handler's entry for the mapping (pcap_records.c) */
};

/* Whether p (just opened, magic the file's first word as capfile.h reads it) may be read here. */
int pcap_records_usable(pcap_t *p, uint32_t magic);

/*
 * Starts reading p's records, of the file named name (for the one line a
 * file cut shorter while mapped gets); returns 0, or -1 when out of memory
 * (then read with pcap_next_ex()).
 */
int pcap_records_init(struct pcap_records *r, pcap_t *p, uint32_t magic, const char *name);
/*
 * Opens f (a capture file's stream at its start, magic its first word as
 * capfile.h reads it) without libpcap when its header is one libpcap takes
 * as it stands and its link type one tcpdemux decodes: reads the header,
 * sets r up past it, and gives the link type as libpcap's DLT in *dlt.
 * Returns 1 then; 0 when the file is not one for this (another format,
 * version or byte order, a stream that cannot be rewound): f is back where
 * it was, for libpcap; -1 when out of memory, or f cannot be rewound.
 */
int pcap_records_open(struct pcap_records *r, FILE *f, uint32_t magic, const char *name, int *dlt);

/*
 * The next record, when it is one pcap_records_next() reads on its fast
 * path (header and bytes in the buffer, within the snapshot length), with
 * its time in nanoseconds (as libpcap's nanosecond timestamps make them):
 * returns 1. Returns 0 for any other record (more to read, damage, the
 * end), and nothing changes: pcap_records_next() then reads it. The
 * replay's per-frame read (frame.c's frame_next), without the pcap_pkthdr.
 */
int pcap_records_next_quick(struct pcap_records *r, uint64_t *ts, uint32_t *caplen, uint32_t *len,
			    const uint8_t **data);

void pcap_records_free(struct pcap_records *r);

/*
 * Whether the record pcap_records_next() returned last lies in the file's
 * mapping: its bytes then stay valid until pcap_records_free(), not only
 * until the next call (the window keeps them without a copy).
 */
int pcap_records_mapped(const struct pcap_records *r);

/*
 * The next record: *h filled (ts.tv_usec holding nanoseconds, as libpcap
 * gives them with PCAP_TSTAMP_PRECISION_NANO) and *data pointing at its
 * bytes, valid until the next call. Returns 1, 0 at the end of the file,
 * or -1 with libpcap's words for the damage in msg.
 */
int pcap_records_next(struct pcap_records *r, struct pcap_pkthdr *h, const uint8_t **data, char *msg,
		      size_t msglen);

#endif
