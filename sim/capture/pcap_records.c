/*
 * pcap_records.c - see pcap_records.h.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capfile.h"
#include "pcap_records.h"

/*
 * How much is read at a time, and the buffer's first size: it grows only
 * for a record longer than that. Small, because every page of it is a
 * page fault the first time it is filled (a 1.3 MB buffer was 320 of a
 * small replay's faults), and the read(2) calls it saves beyond this are
 * a few microseconds a megabyte.
 */
#define REC_CHUNK (128u << 10)
/* libpcap's MAXIMUM_SNAPLEN: the largest capture length of every link type tcpdemux reads. */
#define REC_MAX_SNAPLEN 262144u

/*
 * A mapped file's pages this far behind the record being read are given
 * back (MADV_DONTNEED), in steps of REC_DROP, so that a long capture does
 * not add its whole size to the replay's resident memory. The window
 * (lookahead.h) rarely reaches that far back; when it does, the page is
 * simply read again from the page cache: a private read-only mapping
 * that was never written holds nothing but the file.
 */
#define REC_KEEP (16u << 20)
#define REC_DROP (4u << 20)

/*
 * A mapped file cut shorter while it is read: the pages past its new end
 * are gone, and touching one raises SIGBUS. That is the file's doing, not
 * a fault of the replay: it gets one line naming the file, and exit 2, as
 * any file found bad does. A signal handler may call only
 * async-signal-safe functions, so each mapping's line is written when it
 * is mapped, and the handler finds the mapping by the faulting address.
 * A file is mapped only while a slot is free here (else it is read).
 */
#define BUS_MAPS 8

static struct bus_map {
	const uint8_t *p;            /* the mapping, or NULL: a free slot */
	size_t len;                  /* its length */
	char msg[PATH_MAX + 96];     /* "tcpdemux: FILE: ...\n" */
	size_t msglen;
} bus_maps[BUS_MAPS];

static void bus_handler(int sig, siginfo_t *si, void *ctx)
{
	const uint8_t *a = si->si_addr;
	int i;

	(void)ctx;
	for (i = 0; i < BUS_MAPS; i++)
		if (bus_maps[i].p && a >= bus_maps[i].p && a < bus_maps[i].p + bus_maps[i].len) {
			ssize_t w = write(STDERR_FILENO, bus_maps[i].msg, bus_maps[i].msglen);

			(void)w;
			_exit(2);
		}
	/* Not a mapped capture's page: what SIGBUS would have done anyway. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A slot for the mapping m of the file named name, its handler installed; NULL when none is free. */
static struct bus_map *bus_guard(const uint8_t *m, size_t len, const char *name)
{
	static int installed;
	int i, n;

	for (i = 0; i < BUS_MAPS && bus_maps[i].p; i++)
		;
	if (i == BUS_MAPS)
		return NULL;
	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = bus_handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, NULL) < 0)
			return NULL;
		installed = 1;
	}
	n = snprintf(bus_maps[i].msg, sizeof(bus_maps[i].msg),
		     "tcpdemux: %s: the file was cut shorter while it was replayed (its end is gone)\n", name);
	bus_maps[i].msglen = n < 0 ? 0 : (size_t)n < sizeof(bus_maps[i].msg) ? (size_t)n : sizeof(bus_maps[i].msg) - 1;
	bus_maps[i].len = len;
	bus_maps[i].p = m;
	return &bus_maps[i];
}

int pcap_records_usable(pcap_t *p, uint32_t magic)
{
	/* capfile.h reads the magic big-endian: either spelling is a pcap file; pcap_is_swapped() tells the order. */
	return (magic == CAPFILE_PCAP_US || magic == CAPFILE_PCAP_US_SWAPPED || magic == CAPFILE_PCAP_NS ||
		magic == CAPFILE_PCAP_NS_SWAPPED) &&
	       !pcap_is_swapped(p) &&
	       pcap_major_version(p) == 2 && pcap_minor_version(p) == 4 && pcap_snapshot(p) > 0 &&
	       (uint32_t)pcap_snapshot(p) <= REC_MAX_SNAPLEN;
}

/*
 * Maps the file, when it is a regular one (not a pipe, not gzip data
 * through a cookie stream): the records are then read in place, with no
 * copy into the buffer (read(2)) and none out of it (the window keeps
 * pointers), and the pages are the page cache's, not fresh memory the
 * kernel must clear. The buffer is then the mapping itself, from the
 * stream's position on, already at its end of file.
 */
static void map_file(struct pcap_records *r, const char *name)
{
	struct stat st;
	off_t pos;
	void *m;
	int fd = fileno(r->f);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (pos = ftello(r->f)) < 0 ||
	    st.st_size <= pos || (uintmax_t)st.st_size > SIZE_MAX)
		return;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return;
	if (!(r->bus = bus_guard(m, (size_t)st.st_size, name))) {
		munmap(m, (size_t)st.st_size);
		return;
	}
	(void)madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL); /* read ahead further: each page is read once */
	r->map = m;
	r->map_len = (size_t)st.st_size;
	r->buf = m;
	r->cap = r->len = r->map_len;
	r->off = r->dropped = (size_t)pos;
	r->eof = 1;
}

/* Sets r up to read f's records, past a header that gave snapshot; 0, or -1 when out of memory. */
static int records_setup(struct pcap_records *r, FILE *f, uint32_t snapshot, uint32_t magic, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->snapshot = snapshot;
	r->max_caplen = REC_MAX_SNAPLEN;
	r->usec = magic == CAPFILE_PCAP_US || magic == CAPFILE_PCAP_US_SWAPPED;
	if (!r->f)
		return -1;
	map_file(r, name);
	if (r->map)
		return 0;
	r->buf = malloc(REC_CHUNK);
	if (!r->buf)
		return -1;
	r->cap = REC_CHUNK;
	return 0;
}

int pcap_records_init(struct pcap_records *r, pcap_t *p, uint32_t magic, const char *name)
{
	return records_setup(r, pcap_file(p), (uint32_t)pcap_snapshot(p), magic, name);
}

/*
 * The link type a file's header names, as the DLT libpcap makes of it
 * (pcap-common.c linktype_to_dlt(): LINKTYPE_RAW 101 is DLT_RAW 12 on
 * Linux; every other one here is its own number), for the link types
 * frame.c decodes; -1 for any other (libpcap then opens the file: it
 * knows them all, and the words for the ones tcpdemux does not read).
 * tests/check_capture.c holds this to libpcap's pcap_datalink().
 */
static int file_dlt(uint32_t linktype)
{
	switch (linktype) {
	case 101:
		return 12;
	case 0: case 1: case 9: case 50: case 51: case 104: case 105: case 108: case 113: case 127:
	case 166: case 192: case 204: case 228: case 229: case 276:
		return (int)linktype;
	default:
		return -1;
	}
}

/* A file's word in the machine's byte order: pcap_records_usable() or pcap_records_open() saw to that. */
static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

int pcap_records_open(struct pcap_records *r, FILE *f, uint32_t magic, const char *name, int *dlt)
{
	/* The file header (pcap-savefile(5)): magic, version 2.4, zone, sigfigs, snaplen, link type. */
	uint8_t h[24];
	off_t pos = ftello(f);
	uint32_t snaplen;
	int lt;

	if (pos < 0)
		return 0; /* a stream that cannot go back (gzip, a pipe): libpcap reads its header */
	if (magic != CAPFILE_PCAP_US && magic != CAPFILE_PCAP_US_SWAPPED && magic != CAPFILE_PCAP_NS &&
	    magic != CAPFILE_PCAP_NS_SWAPPED)
		return 0;
	if (fread(h, 1, sizeof(h), f) == sizeof(h)) {
		snaplen = rd32(h + 16);
		lt = file_dlt(rd32(h + 20));
		/*
		 * Only a header libpcap would take as it stands: the machine's
		 * byte order (the magic reads right as a host word), 2.4, a
		 * snapshot length it keeps (pcap_adjust_snapshot() replaces 0
		 * or one past the link type's maximum), no FCS bits in the
		 * link type's top (its LT_LINKTYPE_EXT).
		 */
		if ((rd32(h) == 0xa1b2c3d4u || rd32(h) == 0xa1b23c4du) && rd16(h + 4) == 2 &&
		    rd16(h + 6) == 4 && snaplen > 0 && snaplen <= REC_MAX_SNAPLEN && lt >= 0) {
			if (records_setup(r, f, snaplen, magic, name) < 0)
				return -1;
			*dlt = lt;
			return 1;
		}
	}
	clearerr(f);
	return fseeko(f, pos, SEEK_SET) < 0 ? -1 : 0;
}

void pcap_records_free(struct pcap_records *r)
{
	if (r->buf != r->map)
		free(r->buf);
	if (r->map) {
		munmap(r->map, r->map_len);
		r->bus->p = NULL; /* the slot is free again */
	}
	r->buf = NULL;
	r->map = NULL;
}

int pcap_records_mapped(const struct pcap_records *r)
{
	return r->buf == r->map;
}

/*
 * The mapping holds fewer bytes than a record needs: the file grew since
 * it was mapped (a capture still being written), or ends in a record cut
 * short. The rest is read from the stream, from where the mapping's
 * records end, as if it had been read so all along (the same bytes, the
 * same words for a cut). The mapping stays: the window may still point
 * into it. Returns 0, or -1 (errno set).
 */
static int leave_map(struct pcap_records *r)
{
	uint8_t *b;

	if (fseeko(r->f, (off_t)r->off, SEEK_SET) < 0)
		return -1;
	b = malloc(REC_CHUNK);
	if (!b)
		return -1;
	r->buf = b;
	r->cap = REC_CHUNK;
	r->off = r->len = 0;
	r->eof = 0;
	return 0;
}

/*
 * Makes at least want bytes available at off (fewer at the end of the
 * file). Returns how many there are, or -1 on a read error (errno set).
 */
static long have(struct pcap_records *r, size_t want)
{
	size_t n;

	if (r->len - r->off < want && r->buf == r->map && leave_map(r) < 0)
		return -1;
	if (r->len - r->off >= want || r->eof)
		return (long)(r->len - r->off < want ? r->len - r->off : want);
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
	if (want > r->cap) {
		/* A record longer than the buffer (at most REC_MAX_SNAPLEN + its header): room for it and a chunk. */
		uint8_t *b = realloc(r->buf, want + REC_CHUNK);

		if (!b)
			return -1;
		r->buf = b;
		r->cap = want + REC_CHUNK;
	}
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

/* libpcap's words for a read error (pcap_fmt_errmsg_for_errno). */
static int read_failed(char *msg, size_t msglen)
{
	snprintf(msg, msglen, "error reading dump file: %s", strerror(errno));
	return -1;
}

/* Gives back the mapping's pages far behind the record just read (REC_KEEP). */
static void drop_behind(struct pcap_records *r)
{
	if (r->buf == r->map && r->off - r->dropped >= REC_KEEP + REC_DROP) {
		/* Page-aligned: the mapping starts on a page, and REC_DROP is a multiple of any page size. */
		(void)madvise(r->map + r->dropped / REC_DROP * REC_DROP, REC_DROP, MADV_DONTNEED);
		r->dropped += REC_DROP;
	}
}

/* A record header's time and wire length into h (its capture length is the caller's to check). */
static void record_header(const struct pcap_records *r, const uint8_t *p, struct pcap_pkthdr *h)
{
	/* The file's time fields are signed 32-bit (libpcap's struct pcap_timeval): a damaged one goes negative there too. */
	h->ts.tv_sec = (time_t)(int32_t)rd32(p);
	/* Asked for nanoseconds, as libpcap scales them. */
	h->ts.tv_usec = (suseconds_t)(int32_t)rd32(p + 4) * (r->usec ? 1000 : 1);
	h->len = rd32(p + 12);
}

/*
 * Nearly every record: its header and bytes already in the buffer (a
 * mapped file holds them all), no longer than the snapshot length. Its
 * header, with its captured length in *caplen, or NULL for a record the
 * general path must read (nothing changed then).
 */
static const uint8_t *quick_record(const struct pcap_records *r, uint32_t *caplen)
{
	const uint8_t *p;

	if (r->len - r->off < 16)
		return NULL;
	p = r->buf + r->off;
	*caplen = rd32(p + 8);
	if (*caplen > r->snapshot || *caplen > r->max_caplen || r->len - r->off - 16 < *caplen)
		return NULL;
	return p;
}

/* Past the record at p (quick_record's), caplen bytes long. */
static void quick_past(struct pcap_records *r, uint32_t caplen)
{
	r->off += 16 + (size_t)caplen;
	drop_behind(r);
}

int pcap_records_next_quick(struct pcap_records *r, uint64_t *ts, uint32_t *caplen, uint32_t *len,
			    const uint8_t **data)
{
	const uint8_t *p = quick_record(r, caplen);

	if (!p)
		return 0;
	/* What record_header() gives, as frame.c's view_fetch() makes nanoseconds of it. */
	*ts = (uint64_t)(int64_t)(int32_t)rd32(p) * 1000000000ull +
	      (uint64_t)((int64_t)(int32_t)rd32(p + 4) * (r->usec ? 1000 : 1));
	*len = rd32(p + 12);
	*data = p + 16;
	quick_past(r, *caplen);
	return 1;
}

int pcap_records_next(struct pcap_records *r, struct pcap_pkthdr *h, const uint8_t **data, char *msg,
		      size_t msglen)
{
	const uint8_t *p;
	uint32_t caplen, keep;
	long got;

	/* Read as the general path below would, with none of its checks left to fail. */
	p = quick_record(r, &caplen);
	if (p) {
		record_header(r, p, h);
		h->caplen = caplen;
		*data = p + 16;
		quick_past(r, caplen);
		return 1;
	}
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
	record_header(r, p, h);
	caplen = rd32(p + 8);
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
	drop_behind(r);
	return 1;
}
