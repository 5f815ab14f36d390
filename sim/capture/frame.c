/*
 * frame.c - capture files in (libpcap), IP packets out.
 *
 * Path: capfile.c (plain, gzip, standard input; one view per link type of
 *       a mixed pcapng) -> libpcap (pcap_fopen_offline, and the filter:
 *       pcap_compile, pcap_offline_filter) -> frame_next(): the next frame
 *       in file order -> frame_decode(): link layer stripped, the IP and
 *       TCP headers parsed by segment.c.
 *
 * Link types decoded: Ethernet with any number of 802.1Q / 802.1ad tags,
 * MPLS label stacks and PPPoE session frames inside; Linux cooked v1
 * (SLL) and v2 (SLL2, what `tcpdump -i any` writes); raw IP (RAW, IPV4,
 * IPV6); BSD loopback (NULL, LOOP); PPP (with or without HDLC framing or
 * a direction byte), PPPoE without Ethernet, Cisco HDLC; IEEE 802.11 data
 * frames with LLC/SNAP, bare, behind radiotap or PPI. Each decoder checks
 * the captured length before every read; the IP and TCP headers are then
 * the segment parser's business.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capfile.h"
#include "frame.h"
#include "pcap_records.h"

/* Link types by their pcap numbers (DLT_* values as libpcap reports them). */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_PPP 9
#define LT_RAW_A 12   /* DLT_RAW on most systems */
#define LT_RAW_B 14   /* DLT_RAW on some BSDs */
#define LT_PPP_SERIAL 50 /* PPP in HDLC-like framing (RFC 1662), or Cisco HDLC */
#define LT_PPP_ETHER 51  /* PPPoE session header, no Ethernet header */
#define LT_RAW 101    /* LINKTYPE_RAW, as stored in files */
#define LT_C_HDLC 104
#define LT_IEEE802_11 105
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IEEE802_11_RADIOTAP 127
#define LT_PPP_PPPD 166  /* a direction byte, then PPP */
#define LT_PPI 192
#define LT_PPP_WITH_DIR 204
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE_SESSION 0x8864

/* PPP protocol numbers (RFC 1332, RFC 5072) */
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define PPP_MPLS 0x0281
#define PPP_MPLS_MC 0x0283

/* How to make files libpcap reads from a pcapng it cannot (Wireshark's tools; tcpdemux help formats). */
#define SPLIT_HINT                                                                                   \
	"split it by interface: tshark -r FILE -Y 'frame.interface_id == N' -w - | editcap -F pcap -T " \
	"ENCAP - ifN.pcap (tcpdemux help formats)"

/* The most views: one per link type of a mixed pcapng. */
#define MAX_VIEWS CAPFILE_MAX_LINKS

/* One libpcap handle: the whole file, or one link type's interfaces of it. */
struct view {
	pcap_t *p;
	struct capview *cv;   /* NULL: the whole file, numbered by counting */
	int dlt;
	struct bpf_program prog;
	int has_prog;
	int have, done;       /* the next frame is fetched; nothing more comes */
	struct pcap_pkthdr *h;
	const u_char *data;
	int64_t num;
	int native;           /* a plain pcap file: records cut from a buffer (pcap_records.h), not pcap_next_ex() */
	struct pcap_records rec;
	struct pcap_pkthdr rec_h; /* the header pcap_records_next() fills (h points here) */
};

struct frame_src {
	const char *path;
	struct capfile cf;
	int nview;
	struct view v[MAX_VIEWS];
	uint64_t nframes, nfiltered;
	int64_t counted;        /* frames numbered so far (single view) */
	int quick;              /* one view, a plain pcap file read here, no filter: frame_next() takes its records directly */
	uint64_t first_ts;
	char ltname[128];
};

static const char *const skip_names[SKIP_COUNT - SEG_E_COUNT] = {
	"link_truncated", "not_ip", "snaplen", "wlan_protected", "wlan_bad_fcs",
};

const char *frame_skip_name(int reason)
{
	if (reason >= 0 && reason < SEG_E_COUNT)
		return seg_error_name(reason);
	if (reason >= SEG_E_COUNT && reason < SKIP_COUNT)
		return skip_names[reason - SEG_E_COUNT];
	return "unknown";
}

/*
 * The link types frame_ip_offset() decodes: those frame_dlt_name() names,
 * and the three with no libpcap name of their own (DLT_RAW as some BSDs
 * and files number it, PPP with a direction byte).
 */
static int supported(int dlt)
{
	return frame_dlt_name(dlt) || dlt == LT_RAW_B || dlt == LT_RAW || dlt == LT_PPP_WITH_DIR;
}

/*
 * A link type's name, libpcap's where it has one (as a file stores it:
 * LINKTYPE_RAW is 101 there, DLT_RAW 12 in libpcap).
 */
static const char *linktype_name(int lt)
{
	const char *n = frame_dlt_name(lt == LT_RAW || lt == LT_RAW_B ? LT_RAW_A : lt);

	if (!n)
		n = pcap_datalink_val_to_name(lt);
	if (n)
		return n;
	return lt == LT_PPP_WITH_DIR ? "PPP_WITH_DIR" : "unknown";
}

const char *frame_dlt_name(int dlt)
{
	/*
	 * libpcap's names (pcap_datalink_val_to_name) of the link types read
	 * here, so that naming one needs no libpcap (pcap_lib.c loads it on
	 * first use); tests/check_capture.c holds the two to each other.
	 */
	switch (dlt) {
	case LT_NULL: return "NULL";
	case LT_EN10MB: return "EN10MB";
	case LT_PPP: return "PPP";
	case LT_RAW_A: return "RAW";
	case LT_PPP_SERIAL: return "PPP_SERIAL";
	case LT_PPP_ETHER: return "PPP_ETHER";
	case LT_C_HDLC: return "C_HDLC";
	case LT_IEEE802_11: return "IEEE802_11";
	case LT_LOOP: return "LOOP";
	case LT_LINUX_SLL: return "LINUX_SLL";
	case LT_IEEE802_11_RADIOTAP: return "IEEE802_11_RADIO";
	case LT_PPP_PPPD: return "PPP_PPPD";
	case LT_PPI: return "PPI";
	case LT_IPV4: return "IPV4";
	case LT_IPV6: return "IPV6";
	case LT_LINUX_SLL2: return "LINUX_SLL2";
	default: return NULL;
	}
}

/* ---- opening ------------------------------------------------------------------------ */

/* libpcap's messages often start with the file name already. */
static void pcap_msg(char *err, size_t errlen, const char *path, const char *msg)
{
	size_t n = strlen(path);

	if (strncmp(msg, path, n) == 0 && msg[n] == ':')
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
}

static void close_views(struct frame_src *fs)
{
	int i;

	for (i = 0; i < fs->nview; i++) {
		if (fs->v[i].has_prog)
			pcap_freecode(&fs->v[i].prog);
		if (fs->v[i].native)
			pcap_records_free(&fs->v[i].rec);
		if (fs->v[i].p)
			pcap_close(fs->v[i].p); /* closes its stream too */
		else
			fclose(fs->v[i].rec.f); /* opened without libpcap (pcap_records_open) */
	}
	fs->nview = 0;
}

/* "#0 eth0: EN10MB, #1 any: LINUX_SLL2": the interfaces the scan found, for a message. */
static void iface_list(const struct capfile *cf, char *buf, size_t len)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < cf->nifaces && o + 1 < len; i++) {
		const struct capfile_iface *f = &cf->iface[i];
		int n = snprintf(buf + o, len - o, "%s#%d%s%s: %s", i ? ", " : "", f->index, f->name[0] ? " " : "",
				 f->name, linktype_name(f->linktype));

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Opens one view's handle on f (taken over), with the filter compiled for its link type. */
static int view_open(struct frame_src *fs, FILE *f, struct capview *cv, const char *filter, char *err,
		     size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct view *v = &fs->v[fs->nview];
	pcap_t *p;
	int r;

	/*
	 * A plain pcap file with no filter to compile is read without
	 * libpcap, header and all, when its header is plainly one libpcap
	 * takes as it stands (pcap_records_open): libpcap is then never
	 * loaded (pcap_lib.c). Anything else, libpcap opens and judges.
	 */
	if (!cv && !(filter && *filter)) {
		memset(v, 0, sizeof(*v));
		r = pcap_records_open(&v->rec, f, fs->cf.magic, fs->path, &v->dlt);
		if (r < 0) {
			fclose(f);
			snprintf(err, errlen, "%s: out of memory", fs->path);
			return -1;
		}
		if (r > 0) {
			v->native = 1;
			fs->nview++;
			return 0; /* every link type pcap_records_open() takes is one supported() */
		}
	}
	perr[0] = '\0';
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!p) {
		fclose(f);
		if (fs->cf.err[0]) {
			snprintf(err, errlen, "%s", fs->cf.err);
		} else {
			pcap_msg(err, errlen, fs->path, perr[0] ? perr : "cannot read the file");
			if (fs->cf.gzip)
				snprintf(err + strlen(err), errlen - strlen(err), " (in the gzip-compressed data)");
		}
		return -1;
	}
	memset(v, 0, sizeof(*v));
	v->p = p;
	v->cv = cv;
	v->dlt = pcap_datalink(p);
	/* The whole file of one link type, in a form read the same way without libpcap's per-record calls. */
	v->native = !cv && pcap_records_usable(p, fs->cf.magic) && pcap_records_init(&v->rec, p, fs->cf.magic, fs->path) == 0;
	fs->nview++;
	if (!supported(v->dlt)) {
		snprintf(err, errlen,
			 "%s: link type %s (%d) is not supported (tcpdemux reads Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, PPP, PPPoE, Cisco HDLC and 802.11: tcpdemux help formats)",
			 fs->path, linktype_name(v->dlt), v->dlt);
		return -1;
	}
	if (filter && *filter) {
		if (pcap_compile(p, &v->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			if (fs->nview > 1 || fs->cf.nlinks > 1)
				snprintf(err, errlen, "filter '%s' (for link type %s): %s", filter,
					 linktype_name(v->dlt), pcap_geterr(p));
			else
				snprintf(err, errlen, "filter '%s': %s", filter, pcap_geterr(p));
			return -1;
		}
		v->has_prog = 1;
	}
	return 0;
}

struct frame_src *frame_open(const char *path, const char *filter, char *err, size_t errlen)
{
	struct frame_src *fs = calloc(1, sizeof(*fs));
	char list[256];
	FILE *f;
	int i;

	if (!fs) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	fs->path = path;
	f = capfile_open(&fs->cf, path, err, errlen);
	if (!f) {
		free(fs);
		return NULL;
	}
	if (fs->cf.nlinks <= 1) {
		if (view_open(fs, f, NULL, filter, err, errlen) < 0)
			goto fail;
		snprintf(fs->ltname, sizeof(fs->ltname), "%s", linktype_name(fs->v[0].dlt));
		fs->quick = fs->v[0].native && !fs->v[0].has_prog;
		return fs;
	}
	/*
	 * Interfaces of several link types: libpcap reads each link type
	 * through its own view of the file, which only a file allows.
	 */
	fclose(f);
	iface_list(&fs->cf, list, sizeof(list));
	if (fs->cf.from_stdin) {
		snprintf(err, errlen,
			 "%s: a pcapng with interfaces of several link types (%s%s): tcpdemux reads such a file one link type at a time, which standard input does not allow; save it to a file first",
			 path, list, fs->cf.nifaces >= CAPFILE_MAX_IFACES ? ", ..." : "");
		goto fail;
	}
	if (fs->cf.more_links) {
		snprintf(err, errlen, "%s: a pcapng with interfaces of more than %d link types (%s%s); %s", path,
			 CAPFILE_MAX_LINKS, list, fs->cf.nifaces >= CAPFILE_MAX_IFACES ? ", ..." : "", SPLIT_HINT);
		goto fail;
	}
	for (i = 0; i < fs->cf.nlinks; i++) {
		struct capview *cv;

		f = capfile_view(&fs->cf, i, &cv, err, errlen);
		if (!f || view_open(fs, f, cv, filter, err, errlen) < 0)
			goto fail;
		snprintf(fs->ltname + strlen(fs->ltname), sizeof(fs->ltname) - strlen(fs->ltname), "%s%s",
			 i ? "+" : "", linktype_name(fs->cf.link[i]));
	}
	return fs;
fail:
	close_views(fs);
	free(fs);
	return NULL;
}

void frame_close(struct frame_src *fs)
{
	if (!fs)
		return;
	close_views(fs);
	free(fs);
}

/* ---- reading -------------------------------------------------------------------------- */

/* A read error, worded: ours (zlib, the views) before libpcap's (msg). */
static void read_error(struct frame_src *fs, const char *msg, char *err, size_t errlen)
{
	if (fs->cf.err[0])
		snprintf(err, errlen, "%s", fs->cf.err);
	else if (strstr(msg, "different from the type of the first interface"))
		snprintf(err, errlen,
			 "%s: an interface of another link type is described after the first packet; %s",
			 fs->path, SPLIT_HINT);
	else
		pcap_msg(err, errlen, fs->path, msg);
	if (!fs->cf.err[0] && fs->cf.gzip)
		snprintf(err + strlen(err), errlen - strlen(err), " (in the gzip-compressed data)");
}

/* A frame read from v (filtered or not): counted and numbered; the file's first gives virtual time 0. */
static inline void count_frame(struct frame_src *fs, struct view *v, uint64_t ts)
{
	fs->nframes++;
	v->num = v->cv ? capview_pop(v->cv) : ++fs->counted;
	if (v->num == 1)
		fs->first_ts = ts;
}

/*
 * Fetches v's next frame that passes the filter. Returns 1, 0 at the end
 * of the view, -1 on an error (worded into err).
 */
static int view_fetch(struct frame_src *fs, struct view *v, char *err, size_t errlen)
{
	char msg[PCAP_ERRBUF_SIZE];

	for (;;) {
		int r;
		uint64_t ts;

		if (v->native) {
			r = pcap_records_next(&v->rec, &v->rec_h, &v->data, msg, sizeof(msg));
			v->h = &v->rec_h;
			r = r > 0 ? 1 : r == 0 ? PCAP_ERROR_BREAK : PCAP_ERROR;
		} else {
			r = pcap_next_ex(v->p, &v->h, &v->data);
		}
		if (r == PCAP_ERROR_BREAK) {
			v->done = 1;
			if (fs->cf.err[0]) {
				snprintf(err, errlen, "%s", fs->cf.err);
				return -1; /* compressed data cut short: the file did not end cleanly */
			}
			return 0;
		}
		if (r != 1) {
			v->done = 1;
			read_error(fs, v->native ? msg : pcap_geterr(v->p), err, errlen);
			return -1;
		}
		/* Opened with nanosecond precision, so tv_usec holds nanoseconds. */
		ts = (uint64_t)v->h->ts.tv_sec * 1000000000ull + (uint64_t)v->h->ts.tv_usec;
		count_frame(fs, v, ts);
		if (v->has_prog && !pcap_offline_filter(&v->prog, v->h, v->data)) {
			fs->nfiltered++;
			continue;
		}
		v->have = 1;
		return 1;
	}
}

int frame_next(struct frame_src *fs, struct frame *fr, char *err, size_t errlen)
{
	struct view *best = NULL;
	int i;

	if (fs->quick && !fs->v[0].done &&
	    pcap_records_next_quick(&fs->v[0].rec, &fr->ts, &fr->caplen, &fr->wirelen, &fr->data)) {
		/*
		 * Nearly every frame of a plain pcap file: what view_fetch() and
		 * the code below make of it (no filter, no other view), without
		 * the pcap_pkthdr between them (a third of reading a frame).
		 */
		count_frame(fs, &fs->v[0], fr->ts);
		fr->num = fs->v[0].num;
		fr->linktype = fs->v[0].dlt;
		return 1;
	}
	if (fs->nview == 1) {
		/* One view, the common case: its next frame is the file's, with no merge by number. */
		best = &fs->v[0];
		if (best->done)
			return 0;
		i = view_fetch(fs, best, err, errlen);
		if (i <= 0)
			return i;
		goto found;
	}
	for (i = 0; i < fs->nview; i++) {
		struct view *v = &fs->v[i];

		if (!v->have && !v->done && view_fetch(fs, v, err, errlen) < 0)
			return -1;
		if (v->have && (!best || v->num < best->num))
			best = v;
	}
	if (!best)
		return 0;
found:
	best->have = 0; /* fetched again on the next call: its data stays valid until then */
	fr->ts = (uint64_t)best->h->ts.tv_sec * 1000000000ull + (uint64_t)best->h->ts.tv_usec;
	fr->caplen = best->h->caplen;
	fr->wirelen = best->h->len;
	fr->data = best->data;
	fr->linktype = best->dlt;
	fr->num = best->num;
	return 1;
}

int frame_data_kept(const struct frame_src *fs)
{
	/* A plain pcap file is always the one view (no capview): its last record is the frame returned. */
	return fs->nview == 1 && fs->v[0].native && pcap_records_mapped(&fs->v[0].rec);
}

void frame_counts(const struct frame_src *fs, uint64_t *frames, uint64_t *filtered)
{
	*frames = fs->nframes;
	*filtered = fs->nfiltered;
}

uint64_t frame_first_ts(const struct frame_src *fs)
{
	return fs->first_ts;
}

int frame_linktype(const struct frame_src *fs)
{
	return fs->v[0].dlt;
}

const char *frame_linktype_name(const struct frame_src *fs)
{
	return fs->ltname;
}

const char *frame_precision(const struct frame_src *fs)
{
	/*
	 * libpcap reports the precision it was asked for, not the file's: the
	 * magic number tells (in either byte order; pcapng sets a resolution
	 * per interface).
	 */
	switch (fs->cf.magic) {
	case CAPFILE_PCAP_US:
	case CAPFILE_PCAP_US_SWAPPED:
		return "microsecond";
	case CAPFILE_PCAP_NS:
	case CAPFILE_PCAP_NS_SWAPPED:
		return "nanosecond";
	case CAPFILE_PCAPNG:
		return "per-interface";
	default:
		return "unknown";
	}
}

const char *frame_compression(const struct frame_src *fs)
{
	return fs->cf.gzip ? "gzip" : NULL;
}

/* ---- link layers ------------------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * From an EtherType at offset off (its header ending there) to the IP
 * header: VLAN tags, an MPLS label stack (the packet after the bottom
 * label is IP when its version nibble says so, RFC 3032 does not name
 * it), a PPPoE session header and its PPP protocol (RFC 2516 4, 7).
 * Every step consumes bytes, so the walk ends.
 */
static long from_ethertype(uint16_t type, const uint8_t *p, size_t n, size_t off)
{
	for (;;) {
		switch (type) {
		case ETH_IPV4:
		case ETH_IPV6:
			return (long)off;
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD: /* 802.1ad outer tag, 802.1Q inner tags: four bytes each */
			if (n < off + 4)
				return -SKIP_LINK_TRUNCATED;
			type = be16(p + off + 2);
			off += 4;
			break;
		case ETH_MPLS:
		case ETH_MPLS_MC:
			for (;;) { /* label, TC, bottom-of-stack bit, TTL: 32 bits each */
				if (n < off + 4)
					return -SKIP_LINK_TRUNCATED;
				off += 4;
				if (p[off - 2] & 1)
					break;
			}
			if (n < off + 1)
				return -SKIP_LINK_TRUNCATED;
			if ((p[off] >> 4) == 4 || (p[off] >> 4) == 6)
				return (long)off;
			return -SKIP_NOT_IP; /* a pseudowire, or another payload */
		case ETH_PPPOE_SESSION: /* version/type 0x11, code 0, session, length; then PPP's protocol */
			if (n < off + 8)
				return -SKIP_LINK_TRUNCATED;
			if (p[off] != 0x11 || p[off + 1] != 0)
				return -SKIP_NOT_IP;
			type = be16(p + off + 6);
			off += 8;
			if (type == PPP_IPV4 || type == PPP_IPV6)
				return (long)off;
			return -SKIP_NOT_IP; /* LCP, IPCP, ... */
		default:
			return -SKIP_NOT_IP;
		}
	}
}

/*
 * PPP (RFC 1661): an optional ff 03 (RFC 1662 HDLC-like framing), a
 * protocol of 1 or 2 bytes: IPv4, IPv6, or an MPLS label stack.
 */
static long from_ppp(const uint8_t *p, size_t n, size_t off)
{
	uint16_t proto;

	if (n >= off + 2 && p[off] == 0xff && p[off + 1] == 0x03)
		off += 2;
	if (n < off + 1)
		return -SKIP_LINK_TRUNCATED;
	if (p[off] & 1) { /* protocol field compression (RFC 1661 6.5): one odd byte */
		proto = p[off];
		off += 1;
	} else {
		if (n < off + 2)
			return -SKIP_LINK_TRUNCATED;
		proto = be16(p + off);
		off += 2;
	}
	if (proto == PPP_IPV4 || proto == PPP_IPV6 || proto == 0x21 || proto == 0x57)
		return (long)off;
	if (proto == PPP_MPLS || proto == PPP_MPLS_MC)
		return from_ethertype(ETH_MPLS, p, n, off); /* RFC 3032 4.3 */
	return -SKIP_NOT_IP;
}

/*
 * IEEE 802.11 (802.11-2020 9.2): frame control, duration, three addresses,
 * sequence control (24 bytes), a fourth address when both ToDS and FromDS
 * are set, QoS control for QoS data, HT control when +HTC/order is set on
 * one; then an LLC/SNAP header (aa aa 03, OUI 000000 or 0000f8) with the
 * EtherType. Only data frames carry IP; a protected one is encrypted.
 */
static long from_80211(const uint8_t *p, size_t n, size_t off)
{
	uint8_t fc0, fc1;
	size_t hl = 24;

	if (n < off + 2)
		return -SKIP_LINK_TRUNCATED;
	fc0 = p[off];
	fc1 = p[off + 1];
	if ((fc0 & 0x03) != 0 || ((fc0 >> 2) & 3) != 2)
		return -SKIP_NOT_IP;    /* protocol version 0, type data only */
	if (fc0 & 0x40)
		return -SKIP_NOT_IP;    /* subtypes without data (null, CF-ack, ...) */
	if ((fc1 & 0x03) == 0x03)
		hl += 6;                /* ToDS and FromDS: a fourth address */
	if (fc0 & 0x80) {
		hl += 2;                /* QoS data */
		if (fc1 & 0x80)
			hl += 4;        /* +HTC */
	}
	if (n < off + hl)
		return -SKIP_LINK_TRUNCATED;
	if (fc1 & 0x40)
		return -SKIP_WLAN_PROTECTED;
	if ((fc0 & 0x80) && (p[off + 24 + ((fc1 & 0x03) == 0x03 ? 6 : 0)] & 0x80))
		return -SKIP_NOT_IP;    /* an A-MSDU: several frames in one */
	off += hl;
	if (n < off + 8)
		return -SKIP_LINK_TRUNCATED;
	/* DSAP, SSAP aa (SNAP), UI; OUI 000000 (RFC 1042) or 0000f8 (802.1H bridge tunnel) */
	if (p[off] != 0xaa || p[off + 1] != 0xaa || p[off + 2] != 0x03 || p[off + 3] != 0 || p[off + 4] != 0 ||
	    (p[off + 5] != 0 && p[off + 5] != 0xf8))
		return -SKIP_NOT_IP;
	return from_ethertype(be16(p + off + 6), p, n, off + 8);
}

/*
 * Radiotap (radiotap.org): version 0, pad, length, a chain of "present"
 * words (bit 31: another follows). The Flags field (bit 1) comes after
 * TSFT (bit 0, 8 bytes aligned to 8); its 0x40 marks a frame that failed
 * its FCS check, whose contents cannot be trusted.
 */
static long from_radiotap(const uint8_t *p, size_t n)
{
	size_t len, off = 4;
	uint32_t present;

	if (n < 8)
		return -SKIP_LINK_TRUNCATED;
	len = le16(p + 2);
	if (p[0] != 0 || len < 8 || len > n)
		return -SKIP_LINK_TRUNCATED;
	present = le32(p + 4);
	while (le32(p + off) & 0x80000000u) {
		off += 4;
		if (off + 4 > len)
			return -SKIP_LINK_TRUNCATED;
	}
	off += 4;
	if (present & 0x2) {
		if (present & 0x1)
			off = ((off + 7) & ~(size_t)7) + 8;
		if (off < len && (p[off] & 0x40))
			return -SKIP_WLAN_BAD_FCS;
	}
	return from_80211(p, n, len);
}

/* Where the IP header starts, or a skip reason (as a negative number). */
long frame_ip_offset(int dlt, const uint8_t *p, size_t n)
{
	uint32_t fam;

	switch (dlt) {
	case LT_EN10MB:
		if (n < 14)
			return -SKIP_LINK_TRUNCATED;
		return from_ethertype(be16(p + 12), p, n, 14);
	case LT_LINUX_SLL:
		if (n < 16)
			return -SKIP_LINK_TRUNCATED;
		return from_ethertype(be16(p + 14), p, n, 16);
	case LT_LINUX_SLL2:
		if (n < 20)
			return -SKIP_LINK_TRUNCATED;
		return from_ethertype(be16(p), p, n, 20);
	case LT_NULL:
	case LT_LOOP:
		if (n < 4)
			return -SKIP_LINK_TRUNCATED;
		/* NULL stores the family in the capturing host's byte order. */
		fam = dlt == LT_LOOP ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
				     : le32(p);
		if (dlt == LT_NULL && (fam & 0xffff) == 0)
			fam >>= 24; /* written big-endian */
		/* AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 on BSDs, 10 on Linux. */
		if (fam == 2 || fam == 24 || fam == 28 || fam == 30 || fam == 10)
			return 4;
		return -SKIP_NOT_IP;
	case LT_PPP:
		return from_ppp(p, n, 0);
	case LT_PPP_PPPD:
	case LT_PPP_WITH_DIR:
		return from_ppp(p, n, 1); /* the direction byte first */
	case LT_PPP_SERIAL:
	case LT_C_HDLC:
		/* Cisco HDLC: address 0x0f (unicast) or 0x8f, control 0, an EtherType. */
		if (n < 4)
			return -SKIP_LINK_TRUNCATED;
		if ((p[0] == 0x0f || p[0] == 0x8f) && p[1] == 0)
			return from_ethertype(be16(p + 2), p, n, 4);
		return dlt == LT_PPP_SERIAL ? from_ppp(p, n, 0) : -SKIP_NOT_IP;
	case LT_PPP_ETHER:
		return from_ethertype(ETH_PPPOE_SESSION, p, n, 0);
	case LT_IEEE802_11:
		return from_80211(p, n, 0);
	case LT_IEEE802_11_RADIOTAP:
		return from_radiotap(p, n);
	case LT_PPI: /* version, flags, length, link type of what follows (LE) */
		if (n < 8)
			return -SKIP_LINK_TRUNCATED;
		if (le16(p + 2) < 8 || le16(p + 2) > n)
			return -SKIP_LINK_TRUNCATED;
		if (le32(p + 4) != LT_IEEE802_11)
			return -SKIP_NOT_IP;
		return from_80211(p, n, le16(p + 2));
	default: /* raw IP: the version nibble tells */
		if (n < 1)
			return -SKIP_LINK_TRUNCATED;
		return 0;
	}
}

int frame_decode(int linktype, const struct frame *fr, struct segment *seg, unsigned flags,
		 uint8_t **pad, size_t *padcap, int *cut)
{
	int snapped = fr->wirelen > fr->caplen;
	long off = frame_ip_offset(linktype, fr->data, fr->caplen);
	const uint8_t *ip;
	size_t iplen, want;
	int r;

	*cut = 0;
	if (off < 0)
		return snapped && -off == SKIP_LINK_TRUNCATED ? SKIP_SNAPLEN : (int)-off;
	ip = fr->data + off;
	iplen = fr->caplen - (size_t)off;
	r = seg_parse_ip(ip, iplen, seg, flags);
	if (r == 0 || !snapped)
		return -r;
	/*
	 * The snap length cut the frame. Decode what was captured (segment.c
	 * says what is missing), with zeros in place of the lost payload:
	 * demultiplexing needs the headers and the payload's length, never
	 * its content.
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
	r = seg_parse_ip_cut(*pad, want, iplen, seg);
	if (r == SEG_CUT_SKIP)
		return SKIP_SNAPLEN;
	if (r < 0)
		return -r; /* a UDP datagram cut short is still not TCP */
	*cut = seg->cut;
	return 0;
}

int frame_ip_length_zero(int linktype, const struct frame *fr)
{
	long off = frame_ip_offset(linktype, fr->data, fr->caplen);
	const uint8_t *ip = fr->data + off;

	return off >= 0 && fr->caplen >= (size_t)off + 4 && (ip[0] >> 4) == 4 && ip[2] == 0 && ip[3] == 0;
}
