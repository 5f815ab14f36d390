/*
 * pcap_records.c - see pcap_records.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capfile.h"
#include "pcap_records.h"

/* How much is read at a time. */
#define REC_CHUNK (1u << 20)
/* libpcap's MAXIMUM_SNAPLEN: the largest capture length of every link type tcpdemux reads. */
#define REC_MAX_SNAPLEN 262144u

int pcap_records_usable(pcap_t *p, uint32_t magic)
{
	/* capfile.h reads the magic big-endian: either spelling is a pcap file; pcap_is_swapped() tells the order. */
	return (magic == CAPFILE_PCAP_US || magic == CAPFILE_PCAP_US_SWAPPED || magic == CAPFILE_PCAP_NS ||
		magic == CAPFILE_PCAP_NS_SWAPPED) &&
	       !pcap_is_swapped(p) &&
	       pcap_major_version(p) == 2 && pcap_minor_version(p) == 4 && pcap_snapshot(p) > 0 &&
	       (uint32_t)pcap_snapshot(p) <= REC_MAX_SNAPLEN;
}

int pcap_records_init(struct pcap_records *r, pcap_t *p, uint32_t magic)
{
	memset(r, 0, sizeof(*r));
	r->buf = malloc(REC_CHUNK + REC_MAX_SNAPLEN + 16);
	if (!r->buf)
		return -1;
	r->cap = REC_CHUNK + REC_MAX_SNAPLEN + 16;
	r->f = pcap_file(p);
	r->snapshot = (uint32_t)pcap_snapshot(p);
	r->max_caplen = REC_MAX_SNAPLEN;
	r->usec = magic == CAPFILE_PCAP_US || magic == CAPFILE_PCAP_US_SWAPPED;
	return r->f ? 0 : -1;
}

void pcap_records_free(struct pcap_records *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * Makes at least want bytes available at off (fewer at the end of the
 * file). Returns how many there are, or -1 on a read error (errno set).
 */
static long have(struct pcap_records *r, size_t want)
{
	size_t n;

	if (r->len - r->off >= want || r->eof)
		return (long)(r->len - r->off < want ? r->len - r->off : want);
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
	while (r->len < want && !r->eof) {
		n = fread(r->buf + r->len, 1, r->cap - r->len > REC_CHUNK ? REC_CHUNK : r->cap - r->len, r->f);
		if (n == 0) {
			if (ferror(r->f))
				return -1;
			r->eof = 1;
		}
		r->len += n;
	}
	return (long)(r->len < want ? r->len : want);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4); /* the machine's byte order: pcap_records_usable() saw to that */
	return v;
}

/* libpcap's words for a read error (pcap_fmt_errmsg_for_errno). */
static int read_failed(char *msg, size_t msglen)
{
	snprintf(msg, msglen, "error reading dump file: %s", strerror(errno));
	return -1;
}

int pcap_records_next(struct pcap_records *r, struct pcap_pkthdr *h, const uint8_t **data, char *msg,
		      size_t msglen)
{
	const uint8_t *p;
	uint32_t caplen, keep;
	long got;

	got = have(r, 16);
	if (got < 0)
		return read_failed(msg, msglen);
	if (got == 0)
		return 0;
	if (got < 16) {
		snprintf(msg, msglen, "truncated dump file; tried to read %zu header bytes, only got %zu", (size_t)16,
			 (size_t)got);
		return -1;
	}
	p = r->buf + r->off;
	/* The file's time fields are signed 32-bit (libpcap's struct pcap_timeval): a damaged one goes negative there too. */
	h->ts.tv_sec = (time_t)(int32_t)rd32(p);
	h->ts.tv_usec = (suseconds_t)(int32_t)rd32(p + 4);
	caplen = rd32(p + 8);
	h->len = rd32(p + 12);
	if (r->usec)
		h->ts.tv_usec *= 1000; /* asked for nanoseconds, as libpcap scales them */
	if (caplen > r->max_caplen) {
		if (caplen > r->snapshot)
			snprintf(msg, msglen, "invalid packet capture length %u, bigger than snaplen of %u", caplen,
				 r->snapshot);
		else
			snprintf(msg, msglen, "invalid packet capture length %u, bigger than maximum of %u", caplen,
				 r->max_caplen);
		return -1;
	}
	r->off += 16;
	/* A record longer than the snapshot length: its first snapshot bytes, the rest skipped. */
	keep = caplen > r->snapshot ? r->snapshot : caplen;
	got = have(r, caplen);
	if (got < 0)
		return read_failed(msg, msglen);
	if ((uint32_t)got < keep) {
		snprintf(msg, msglen, "truncated dump file; tried to read %u captured bytes, only got %zu", keep,
			 (size_t)got);
		return -1;
	}
	if ((uint32_t)got < caplen) {
		snprintf(msg, msglen, "truncated dump file; tried to read %u captured bytes, only got %zu", caplen,
			 (size_t)got);
		return -1;
	}
	h->caplen = keep;
	*data = r->buf + r->off;
	r->off += caplen;
	return 1;
}
