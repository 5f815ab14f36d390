/*
 * frame.c - capture files in (libpcap), IP packets out.
 *
 * Link types decoded: Ethernet with any number of 802.1Q / 802.1ad tags,
 * Linux cooked v1 (SLL) and v2 (SLL2, what `tcpdump -i any` writes), raw
 * IP (RAW, IPV4, IPV6), and BSD loopback (NULL, LOOP). Each decoder checks
 * the captured length before every read; the IP and TCP headers are then
 * the segment parser's business.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

struct frame_src {
	pcap_t *p;
	const char *path;
	int dlt;
	int precision; /* 1 micro, 2 nano, 3 pcapng, 0 unknown */
};

/* Link types by their pcap numbers (DLT_* values as libpcap reports them). */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_RAW_A 12   /* DLT_RAW on most systems */
#define LT_RAW_B 14   /* DLT_RAW on some BSDs */
#define LT_RAW 101    /* LINKTYPE_RAW, as stored in files */
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100

static const char *const skip_names[SKIP_COUNT - SEG_E_COUNT] = {
	"link_truncated", "not_ip", "snaplen",
};

const char *frame_skip_name(int reason)
{
	if (reason >= 0 && reason < SEG_E_COUNT)
		return seg_error_name(reason);
	if (reason >= SEG_E_COUNT && reason < SKIP_COUNT)
		return skip_names[reason - SEG_E_COUNT];
	return "unknown";
}

static int supported(int dlt)
{
	switch (dlt) {
	case LT_NULL:
	case LT_EN10MB:
	case LT_RAW_A:
	case LT_RAW_B:
	case LT_RAW:
	case LT_LOOP:
	case LT_LINUX_SLL:
	case LT_IPV4:
	case LT_IPV6:
	case LT_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

/*
 * libpcap reports the precision it was asked for, not the file's: the
 * magic number tells (a1b2c3d4 microseconds, a1b23c4d nanoseconds, in
 * either byte order; 0a0d0d0a is pcapng, whose resolution is set per
 * interface).
 */
static int file_precision(const char *path)
{
	unsigned char m[4];
	FILE *f = fopen(path, "rb");
	uint32_t be;
	int r = 0;

	if (!f)
		return 0;
	if (fread(m, 1, 4, f) == 4) {
		be = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		if (be == 0xa1b2c3d4u || be == 0xd4c3b2a1u)
			r = 1;
		else if (be == 0xa1b23c4du || be == 0x4d3cb2a1u)
			r = 2;
		else if (be == 0x0a0d0d0au)
			r = 3;
	}
	fclose(f);
	return r;
}

struct frame_src *frame_open(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct frame_src *fs;
	pcap_t *p;
	int dlt;

	perr[0] = '\0';
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!p) {
		/* libpcap's messages often start with the file name already. */
		const char *msg = perr[0] ? perr : "cannot read the file";
		size_t n = strlen(path);

		if (strncmp(msg, path, n) == 0 && msg[n] == ':')
			snprintf(err, errlen, "%s", msg);
		else
			snprintf(err, errlen, "%s: %s", path, msg);
		return NULL;
	}
	dlt = pcap_datalink(p);
	if (!supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, errlen,
			 "%s: link type %s (%d) is not supported (tcpdemux reads Ethernet, Linux cooked v1/v2, raw IP and BSD loopback)",
			 path, name ? name : "unknown", dlt);
		pcap_close(p);
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		pcap_close(p);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	fs->p = p;
	fs->path = path;
	fs->dlt = dlt;
	fs->precision = file_precision(path);
	return fs;
}

void frame_close(struct frame_src *fs)
{
	if (!fs)
		return;
	pcap_close(fs->p);
	free(fs);
}

int frame_next(struct frame_src *fs, struct frame *fr, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = pcap_next_ex(fs->p, &h, &data);

	if (r == PCAP_ERROR_BREAK)
		return 0;
	if (r != 1) {
		snprintf(err, errlen, "%s: %s", fs->path, pcap_geterr(fs->p));
		return -1;
	}
	/* Opened with nanosecond precision, so tv_usec holds nanoseconds. */
	fr->ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	fr->caplen = h->caplen;
	fr->wirelen = h->len;
	fr->data = data;
	return 1;
}

int frame_linktype(const struct frame_src *fs)
{
	return fs->dlt;
}

const char *frame_linktype_name(const struct frame_src *fs)
{
	const char *n = pcap_datalink_val_to_name(fs->dlt);

	return n ? n : "unknown";
}

const char *frame_precision(const struct frame_src *fs)
{
	switch (fs->precision) {
	case 1:
		return "microsecond";
	case 2:
		return "nanosecond";
	case 3:
		return "per-interface";
	default:
		return "unknown";
	}
}


static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where the IP header starts, or a skip reason (as a negative number). */
static long ip_offset(int dlt, const uint8_t *p, size_t n)
{
	size_t off;
	uint16_t type;
	uint32_t fam;

	switch (dlt) {
	case LT_EN10MB:
		if (n < 14)
			return -SKIP_LINK_TRUNCATED;
		type = be16(p + 12);
		off = 14;
		/* 802.1ad outer tag, 802.1Q inner tags: each adds four bytes. */
		while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
			if (n < off + 4)
				return -SKIP_LINK_TRUNCATED;
			type = be16(p + off + 2);
			off += 4;
		}
		break;
	case LT_LINUX_SLL:
		if (n < 16)
			return -SKIP_LINK_TRUNCATED;
		type = be16(p + 14);
		off = 16;
		break;
	case LT_LINUX_SLL2:
		if (n < 20)
			return -SKIP_LINK_TRUNCATED;
		type = be16(p);
		off = 20;
		break;
	case LT_NULL:
	case LT_LOOP:
		if (n < 4)
			return -SKIP_LINK_TRUNCATED;
		/* NULL stores the family in the capturing host's byte order. */
		fam = dlt == LT_LOOP ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
				     : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
					       (uint32_t)p[3] << 24;
		if (dlt == LT_NULL && (fam & 0xffff) == 0)
			fam >>= 24; /* written big-endian */
		/* AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 on BSDs, 10 on Linux. */
		if (fam == 2)
			type = ETH_IPV4;
		else if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
			type = ETH_IPV6;
		else
			return -SKIP_NOT_IP;
		off = 4;
		break;
	default: /* raw IP: the version nibble tells */
		if (n < 1)
			return -SKIP_LINK_TRUNCATED;
		return 0;
	}
	if (type != ETH_IPV4 && type != ETH_IPV6)
		return -SKIP_NOT_IP;
	return (long)off;
}

int frame_decode(int linktype, const struct frame *fr, struct segment *seg, unsigned flags,
		 uint8_t **pad, size_t *padcap, int *payload_cut)
{
	long off = ip_offset(linktype, fr->data, fr->caplen);
	const uint8_t *ip;
	size_t iplen, want, hdr_end;
	int r;

	*payload_cut = 0;
	if (off < 0)
		return (int)-off;
	ip = fr->data + off;
	iplen = fr->caplen - (size_t)off;
	r = seg_parse_ip(ip, iplen, seg, flags);
	if (r == 0 || fr->wirelen <= fr->caplen)
		return -r;
	/*
	 * The snap length cut the frame. If only payload is missing, replay it
	 * with zeros in place of the lost bytes: demultiplexing needs the
	 * headers and the payload's length, never its content.
	 */
	if (flags & SEG_VERIFY_CSUM)
		return SKIP_SNAPLEN; /* a checksum over missing bytes cannot be checked */
	want = fr->wirelen - (size_t)off;
	if (want > SEG_WIRE_MAX)
		want = SEG_WIRE_MAX;
	if (iplen >= want)
		return -r; /* more was captured than any IP packet holds: not a snap-length cut */
	if (*padcap < want) {
		uint8_t *b = realloc(*pad, want);

		if (!b)
			return SKIP_SNAPLEN;
		*pad = b;
		*padcap = want;
	}
	memcpy(*pad, ip, iplen);
	memset(*pad + iplen, 0, want - iplen);
	if (seg_parse_ip(*pad, want, seg, 0) != 0)
		return SKIP_SNAPLEN;
	hdr_end = (size_t)(seg->data - *pad);
	if (hdr_end > iplen)
		return SKIP_SNAPLEN; /* a header itself was cut */
	*payload_cut = 1;
	return 0;
}

int frame_ip_length_zero(int linktype, const struct frame *fr)
{
	long off = ip_offset(linktype, fr->data, fr->caplen);
	const uint8_t *ip = fr->data + off;

	return off >= 0 && fr->caplen >= (size_t)off + 4 && (ip[0] >> 4) == 4 && ip[2] == 0 && ip[3] == 0;
}
