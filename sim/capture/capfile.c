/*
 * capfile.c - the bytes of a capture file, as libpcap is to read them.
 *
 * Path: capfile_open() -> a plain stream (fdopen), or one over read(2)
 *       and zlib's inflate (fopencookie) -> frame.c -> pcap_fopen_offline();
 *       capfile_view() -> a stream that passes on one link type's pcapng
 *       interfaces and packets.
 *
 * Why here and not in libpcap: libpcap reads pcap and pcapng but neither
 * gzip nor a pcapng whose interfaces differ in link type (its API gives a
 * handle one link type; it fails with "an interface has a type ...
 * different from the type of the first interface"). Both are common in
 * the field: rotated captures are compressed, and dumpcap -i eth0 -i any
 * mixes Ethernet and Linux cooked interfaces. Decompression sits below
 * libpcap as a stdio stream, so libpcap keeps doing all the parsing; for
 * the mixed pcapng, each link type gets its own pass over the file whose
 * blocks are filtered (draft-ietf-opsawg-pcapng: SHB, IDB, EPB, SPB, PB,
 * ISB; others pass) with only the interface numbers rewritten. The blocks
 * themselves are never interpreted beyond their first words: anything
 * unexpected is passed on untouched, for libpcap to report.
 *
 * A plain regular file is handed to libpcap as is (fdopen), so the common
 * case pays nothing for any of this.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "capfile.h"

/* pcapng block types and the byte-order magic (draft-ietf-opsawg-pcapng 4, 11.1) */
#define BT_SHB 0x0a0d0d0au
#define BT_IDB 1u
#define BT_PB 2u  /* the obsolete Packet Block: a 16-bit interface number */
#define BT_SPB 3u /* Simple Packet Block: always the section's first interface */
#define BT_ISB 5u
#define BT_EPB 6u
#define PCAPNG_BOM 0x1a2b3c4du
#define OPT_IF_NAME 2

/* How far the interface scan reads ahead before giving up (a first packet is always sooner). */
#define SCAN_MAX (1u << 20)

static uint32_t rd32(const uint8_t *p, int big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t rd16(const uint8_t *p, int big)
{
	return (uint16_t)(big ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

static void wr32(uint8_t *p, uint32_t v, int big)
{
	int i;

	for (i = 0; i < 4; i++)
		p[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static void wr16(uint8_t *p, uint16_t v, int big)
{
	p[big ? 1 : 0] = (uint8_t)v;
	p[big ? 0 : 1] = (uint8_t)(v >> 8);
}

/* ---- a stream that is not a plain regular file ------------------------------------- */

/*
 * Standard input, a pipe, or a gzip-compressed file: read(2) on the
 * descriptor, through zlib's inflate when the first two bytes are gzip's
 * magic (RFC 1952 2.3.1: 1f 8b), straight into libpcap's buffer
 * otherwise. pre holds the (uncompressed) bytes the interface scan read
 * ahead, served first.
 */
struct src {
	int fd;
	struct capfile *cf;
	int gz;              /* inflating */
	z_stream z;
	int zinit;
	int member_end;      /* the last gzip member ended (Z_STREAM_END) */
	int eof, failed;
	uint8_t in[1u << 16]; /* raw bytes read, z.next_in into them (and the magic peeked) */
	size_t inlen, inoff;
	uint8_t *pre;
	size_t prelen, preoff;
};

static void src_complain(struct src *s, const char *what, const char *detail)
{
	if (!s->cf->err[0])
		snprintf(s->cf->err, sizeof(s->cf->err), "%s: the gzip data is %s (%s)", s->cf->path, what, detail);
}

/* Reads more raw bytes. Returns 1, 0 at the end, -1 on an error (errno set). */
static int src_fill(struct src *s)
{
	ssize_t r;

	if (s->eof)
		return 0;
	do
		r = read(s->fd, s->in, sizeof(s->in));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		s->eof = 1;
		return 0;
	}
	s->inlen = (size_t)r;
	s->inoff = 0;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)r;
	return 1;
}

/* Decompresses into buf. Returns the bytes produced, 0 at the end, -1 on an error (in cf->err). */
static ssize_t src_inflate(struct src *s, char *buf, size_t size)
{
	uInt want = size > UINT_MAX ? UINT_MAX : (uInt)size;
	int r;

	s->z.next_out = (Bytef *)buf;
	s->z.avail_out = want;
	while (s->z.avail_out == want) {
		if (s->z.avail_in == 0) {
			r = src_fill(s);
			if (r < 0) {
				src_complain(s, "unreadable", strerror(errno));
				return -1;
			}
			if (r == 0) {
				/* The end of the file: fine after a whole member, not inside one. */
				if (!s->member_end)
					src_complain(s, "cut short", "unexpected end of file");
				return 0;
			}
		}
		if (s->member_end) {
			/*
			 * Another member may follow (gzip -c a b > c); anything
			 * else is trailing garbage, ignored as gzip(1) does.
			 */
			if (s->z.next_in[0] != 0x1f)
				return 0;
			inflateReset(&s->z);
			s->member_end = 0;
		}
		r = inflate(&s->z, Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			s->member_end = 1;
		} else if (r != Z_OK && !(r == Z_BUF_ERROR && s->z.avail_in == 0)) {
			src_complain(s, "corrupt", s->z.msg ? s->z.msg : zError(r));
			return -1;
		}
	}
	return (ssize_t)(want - s->z.avail_out);
}

static ssize_t src_read(void *c, char *buf, size_t size)
{
	struct src *s = c;
	ssize_t r;

	if (s->preoff < s->prelen) {
		size_t k = s->prelen - s->preoff < size ? s->prelen - s->preoff : size;

		memcpy(buf, s->pre + s->preoff, k);
		s->preoff += k;
		return (ssize_t)k;
	}
	if (s->failed)
		return -1;
	if (s->gz) {
		r = src_inflate(s, buf, size);
	} else if (s->inoff < s->inlen) {
		r = (ssize_t)(s->inlen - s->inoff < size ? s->inlen - s->inoff : size);
		memcpy(buf, s->in + s->inoff, (size_t)r);
		s->inoff += (size_t)r;
	} else {
		do
			r = read(s->fd, buf, size);
		while (r < 0 && errno == EINTR);
	}
	if (r < 0) {
		s->failed = 1;
		errno = EIO;
	}
	return r;
}

static int src_close(void *c)
{
	struct src *s = c;

	if (s->zinit)
		inflateEnd(&s->z);
	close(s->fd);
	free(s->pre);
	free(s);
	return 0;
}

/* ---- the interface scan ------------------------------------------------------------ */

/* The first bytes of a stream, read once and looked at in place. */
struct ahead {
	FILE *f;      /* a plain file (rewound afterwards), or */
	struct src *s; /* the other streams (the bytes are kept for them) */
	uint8_t *b;
	size_t len, cap;
	int end;      /* nothing more to read (or an error: libpcap will meet it again) */
};

/* Bytes [off, off + n) of the stream, or NULL when it ends sooner or SCAN_MAX is passed. */
static const uint8_t *ahead_get(struct ahead *a, size_t off, size_t n)
{
	size_t want = off + n;

	if (n > SCAN_MAX || off > SCAN_MAX - n)
		return NULL;
	while (a->len < want && !a->end) {
		size_t room;

		if (a->cap - a->len < 4096) {
			size_t cap = a->cap ? a->cap * 2 : 16384;
			uint8_t *b = realloc(a->b, cap);

			if (!b) {
				a->end = 1;
				break;
			}
			a->b = b;
			a->cap = cap;
		}
		room = a->cap - a->len;
		if (a->f) {
			size_t k = fread(a->b + a->len, 1, room, a->f);

			a->len += k;
			if (k < room)
				a->end = 1;
		} else {
			ssize_t r = src_read(a->s, (char *)a->b + a->len, room);

			if (r <= 0)
				a->end = 1;
			else
				a->len += (size_t)r;
		}
	}
	return a->len >= want ? a->b + off : NULL;
}

static void add_iface(struct capfile *cf, int section, int index, int linktype, const uint8_t *opt,
		      size_t optlen, int big)
{
	struct capfile_iface *f;
	size_t i = 0;
	int k;

	for (k = 0; k < cf->nlinks && cf->link[k] != linktype; k++)
		;
	if (k == cf->nlinks) {
		if (cf->nlinks < CAPFILE_MAX_LINKS)
			cf->link[cf->nlinks++] = linktype;
		else
			cf->more_links = 1;
	}
	if (cf->nifaces >= CAPFILE_MAX_IFACES)
		return;
	f = &cf->iface[cf->nifaces++];
	f->section = section;
	f->index = index;
	f->linktype = linktype;
	f->name[0] = '\0';
	/* Options: code, length, value padded to 32 bits; code 0 ends them. */
	while (optlen - i >= 4) {
		uint16_t code = rd16(opt + i, big), len = rd16(opt + i + 2, big);
		size_t n, j;

		if (code == 0 || len > optlen - i - 4)
			break;
		if (code == OPT_IF_NAME) {
			n = len < sizeof(f->name) ? len : sizeof(f->name) - 1;
			for (j = 0; j < n; j++)
				f->name[j] = isprint(opt[i + 4 + j]) ? (char)opt[i + 4 + j] : '?';
			f->name[n] = '\0';
		}
		i += 4 + (((size_t)len + 3) & ~(size_t)3);
	}
}

/*
 * Reads the magic number and, for pcapng, the interface descriptions up
 * to the first packet block. Stops quietly at anything odd: the scan only
 * informs, libpcap judges the file.
 */
static void scan(struct capfile *cf, struct ahead *a)
{
	const uint8_t *p;
	size_t off = 0;
	int section = -1, index = 0, big = 0;

	p = ahead_get(a, 0, 4);
	if (!p)
		return;
	cf->magic = rd32(p, 1);
	if (cf->magic != CAPFILE_PCAPNG)
		return;
	for (;;) {
		uint32_t type, len;

		p = ahead_get(a, off, 12);
		if (!p)
			return;
		if (rd32(p, 1) == BT_SHB) {
			if (rd32(p + 8, 0) == PCAPNG_BOM)
				big = 0;
			else if (rd32(p + 8, 1) == PCAPNG_BOM)
				big = 1;
			else
				return;
			section++;
			index = 0;
		}
		if (section < 0)
			return;
		type = rd32(p, big);
		len = rd32(p + 4, big);
		if (len < 12 || len % 4 || len > SCAN_MAX)
			return;
		if (type == BT_EPB || type == BT_SPB || type == BT_PB)
			return;
		if (type == BT_IDB) {
			p = ahead_get(a, off, len);
			if (!p || len < 20)
				return;
			add_iface(cf, section, index++, rd16(p + 8, big), p + 16, len - 20, big);
		}
		off += len;
	}
}

/* ---- opening ----------------------------------------------------------------------- */

static FILE *fail(const struct capfile *cf, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s: %s", cf->path, why);
	return NULL;
}

/*
 * A stream over fd (taken over) that is not a plain regular file: gzip
 * when its first bytes say so (peeked with a read, kept), with the scan's
 * bytes kept in front.
 */
static FILE *open_src(struct capfile *cf, int fd, int do_scan, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { src_read, NULL, NULL, src_close };
	struct src *s = calloc(1, sizeof(*s));
	struct ahead a;
	FILE *f;

	if (!s) {
		close(fd);
		return fail(cf, err, errlen, "out of memory");
	}
	s->fd = fd;
	s->cf = cf;
	while (s->inlen < 2 && !s->eof) {
		ssize_t r = read(fd, s->in + s->inlen, sizeof(s->in) - s->inlen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			src_close(s);
			return fail(cf, err, errlen, strerror(e));
		}
		if (r == 0)
			s->eof = 1;
		s->inlen += (size_t)r;
	}
	if (s->inlen >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		/* windowBits 15 + 16: a gzip wrapper (RFC 1952) around deflate, its CRC checked. */
		if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
			/* (zlib_lib.c: a library that cannot be loaded says why in msg) */
			const char *why = s->z.msg ? s->z.msg : "out of memory";

			src_close(s);
			return fail(cf, err, errlen, why);
		}
		s->zinit = 1;
		s->gz = 1;
		s->z.next_in = s->in;
		s->z.avail_in = (uInt)s->inlen;
		cf->gzip = 1;
	}
	if (do_scan) {
		memset(&a, 0, sizeof(a));
		a.s = s;
		scan(cf, &a);
		s->pre = a.b;
		s->prelen = a.len;
	}
	f = fopencookie(s, "rb", io);
	if (!f) {
		src_close(s);
		return fail(cf, err, errlen, "out of memory");
	}
	/* libpcap reads a record at a time: large reads keep the calls few. */
	setvbuf(f, NULL, _IOFBF, 1u << 16);
	return f;
}

/*
 * The file's bytes from the start: fdopen for a plain regular file (after
 * the scan, rewound), open_src() otherwise. With do_scan, fills cf's
 * magic, gzip flag and interfaces.
 */
static FILE *open_source(struct capfile *cf, int do_scan, char *err, size_t errlen)
{
	struct stat sb;
	uint8_t m[2];
	struct ahead a;
	off_t pos = 0;
	FILE *f;
	int fd;

	fd = cf->from_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : open(cf->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(cf, err, errlen, strerror(errno));
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		int e = S_ISDIR(sb.st_mode) ? EISDIR : errno;

		close(fd);
		return fail(cf, err, errlen, strerror(e));
	}
	if (!S_ISREG(sb.st_mode))
		return open_src(cf, fd, do_scan, err, errlen);
	/* A regular file (standard input redirected from one too): peeked at in place. */
	if (cf->from_stdin)
		pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0 || (pread(fd, m, 2, pos) == 2 && m[0] == 0x1f && m[1] == 0x8b))
		return open_src(cf, fd, do_scan, err, errlen);
	f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return fail(cf, err, errlen, strerror(errno));
	}
	if (do_scan) {
		memset(&a, 0, sizeof(a));
		a.f = f;
		scan(cf, &a);
		free(a.b);
		if (fseeko(f, pos, SEEK_SET) < 0) {
			fclose(f);
			return fail(cf, err, errlen, strerror(errno));
		}
	}
	return f;
}

FILE *capfile_open(struct capfile *cf, const char *path, char *err, size_t errlen)
{
	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	cf->from_stdin = strcmp(path, "-") == 0;
	return open_source(cf, 1, err, errlen);
}

/* ---- one link type's view of a pcapng file ----------------------------------------- */

struct capview {
	FILE *src;             /* the whole file's bytes, from the start */
	struct capfile *cf;
	int linktype;          /* the interfaces kept */
	int big;               /* byte order of the current section */
	int32_t *map;          /* the current section's interfaces: number in the view, or -1 */
	size_t nmap, capmap;
	int32_t nkept;         /* how many of them the view keeps */
	int64_t npkts;         /* packet blocks met so far, on every interface */
	int64_t *fifo;         /* file-wide numbers of the packets passed on, not yet popped */
	size_t fhead, fcount, fcap;
	uint8_t hdr[12];       /* the current block's first bytes, rewritten, still to pass on */
	size_t hlen, hoff;
	uint64_t copy;         /* bytes of the current block still to pass on */
	uint64_t skip;         /* ... or to drop */
	int through;           /* something unexpected: pass the rest on untouched */
	int end, failed;
};

static int fifo_push(struct capview *v, int64_t n)
{
	if (v->fcount == v->fcap) {
		size_t cap = v->fcap ? v->fcap * 2 : 256, i;
		int64_t *q = malloc(cap * sizeof(*q));

		if (!q)
			return -1;
		for (i = 0; i < v->fcount; i++)
			q[i] = v->fifo[(v->fhead + i) % v->fcap];
		free(v->fifo);
		v->fifo = q;
		v->fcap = cap;
		v->fhead = 0;
	}
	v->fifo[(v->fhead + v->fcount++) % v->fcap] = n;
	return 0;
}

int64_t capview_pop(struct capview *v)
{
	int64_t n;

	if (!v || !v->fcount)
		return -1;
	n = v->fifo[v->fhead];
	v->fhead = (v->fhead + 1) % v->fcap;
	v->fcount--;
	return n;
}

static int map_add(struct capview *v, int32_t n)
{
	if (v->nmap == v->capmap) {
		size_t cap = v->capmap ? v->capmap * 2 : 16;
		int32_t *m = realloc(v->map, cap * sizeof(*m));

		if (!m)
			return -1;
		v->map = m;
		v->capmap = cap;
	}
	v->map[v->nmap++] = n;
	return 0;
}

static int known_link(const struct capfile *cf, int linktype)
{
	int k;

	for (k = 0; k < cf->nlinks; k++)
		if (cf->link[k] == linktype)
			return 1;
	return 0;
}

/* The got bytes of a block header, passed on as they are: the rest of the file follows untouched. */
static int pass_rest(struct capview *v, const uint8_t *h, size_t got)
{
	memcpy(v->hdr, h, got);
	v->hlen = got;
	v->hoff = 0;
	v->through = 1;
	return 1;
}

/*
 * Reads the next block's first 12 bytes and decides: pass it on (its
 * interface number rewritten) or drop it. Returns 1 (a block set up), 0
 * at the end of the file, -1 on an error (in cf->err when it is ours).
 */
static int next_block(struct capview *v)
{
	uint8_t h[12];
	size_t got = fread(h, 1, 8, v->src);
	uint32_t type, len, id;
	int32_t nid = 0;
	int keep = 1, pkt = 0;

	if (got == 0)
		return ferror(v->src) ? -1 : 0;
	if (got < 8)
		return pass_rest(v, h, got);
	got += fread(h + 8, 1, 4, v->src);
	if (got < 12)
		return pass_rest(v, h, got);
	if (rd32(h, 1) == BT_SHB) {
		if (rd32(h + 8, 0) == PCAPNG_BOM)
			v->big = 0;
		else if (rd32(h + 8, 1) == PCAPNG_BOM)
			v->big = 1;
		else
			return pass_rest(v, h, got);
		v->nmap = 0;
		v->nkept = 0;
	}
	type = rd32(h, v->big);
	len = rd32(h + 4, v->big);
	if (len < 12 || len % 4)
		return pass_rest(v, h, got);
	switch (type) {
	case BT_IDB:
		id = rd16(h + 8, v->big);
		if (!known_link(v->cf, (int)id)) {
			snprintf(v->cf->err, sizeof(v->cf->err),
				 "%s: an interface of link type %u is described after the first packet, besides interfaces of other link types; split it by interface: tshark -r FILE -Y 'frame.interface_id == N' -w - | editcap -F pcap -T ENCAP - ifN.pcap (tcpdemux help formats)",
				 v->cf->path, id);
			return -1;
		}
		keep = (int)id == v->linktype;
		if (map_add(v, keep ? v->nkept++ : -1) < 0)
			return -1;
		break;
	case BT_EPB:
	case BT_ISB:
	case BT_PB:
		id = type == BT_PB ? rd16(h + 8, v->big) : rd32(h + 8, v->big);
		pkt = type != BT_ISB;
		if (id >= v->nmap) {
			/* No such interface: the first view passes it on, for libpcap to refuse. */
			keep = v->linktype == v->cf->link[0];
			break;
		}
		nid = v->map[id];
		keep = nid >= 0;
		if (keep && type == BT_PB)
			wr16(h + 8, (uint16_t)nid, v->big);
		else if (keep)
			wr32(h + 8, (uint32_t)nid, v->big);
		break;
	case BT_SPB:
		pkt = 1;
		keep = v->nmap > 0 && v->map[0] >= 0;
		break;
	default:
		break;
	}
	if (pkt) {
		v->npkts++;
		if (keep && fifo_push(v, v->npkts) < 0)
			return -1;
	}
	if (keep) {
		memcpy(v->hdr, h, 12);
		v->hlen = 12;
		v->hoff = 0;
		v->copy = len - 12;
	} else {
		v->skip = len - 12;
	}
	return 1;
}

static ssize_t view_read(void *c, char *buf, size_t size)
{
	struct capview *v = c;
	size_t n = 0, k;

	if (v->failed)
		return -1;
	while (n < size) {
		if (v->hoff < v->hlen) {
			k = v->hlen - v->hoff < size - n ? v->hlen - v->hoff : size - n;
			memcpy(buf + n, v->hdr + v->hoff, k);
			v->hoff += k;
			n += k;
		} else if (v->copy || v->through) {
			size_t want = size - n;

			if (!v->through && v->copy < want)
				want = (size_t)v->copy;
			k = fread(buf + n, 1, want, v->src);
			n += k;
			if (!v->through)
				v->copy -= k;
			if (k < want) {
				if (ferror(v->src))
					goto fail;
				v->copy = 0; /* a cut block: libpcap sees it cut */
				v->through = 0;
				v->end = 1;
				break;
			}
		} else if (v->skip) {
			char drop[4096];
			size_t want = v->skip < sizeof(drop) ? (size_t)v->skip : sizeof(drop);

			k = fread(drop, 1, want, v->src);
			v->skip -= k;
			if (k < want) {
				if (ferror(v->src))
					goto fail;
				v->skip = 0;
				v->end = 1;
			}
		} else if (v->end) {
			break;
		} else {
			int r = next_block(v);

			if (r < 0)
				goto fail;
			if (r == 0)
				v->end = 1;
		}
	}
	return (ssize_t)n;
fail:
	v->failed = 1;
	errno = EIO;
	return n ? (ssize_t)n : -1;
}

static int view_close(void *c)
{
	struct capview *v = c;

	fclose(v->src);
	free(v->map);
	free(v->fifo);
	free(v);
	return 0;
}

FILE *capfile_view(struct capfile *cf, int link, struct capview **cv, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { view_read, NULL, NULL, view_close };
	struct capview *v;
	FILE *f;

	*cv = NULL;
	if (cf->from_stdin || link < 0 || link >= cf->nlinks)
		return fail(cf, err, errlen, "cannot be read once per link type");
	v = calloc(1, sizeof(*v));
	if (!v)
		return fail(cf, err, errlen, "out of memory");
	v->cf = cf;
	v->linktype = cf->link[link];
	v->src = open_source(cf, 0, err, errlen);
	if (!v->src) {
		free(v);
		return NULL;
	}
	f = fopencookie(v, "rb", io);
	if (!f) {
		view_close(v);
		return fail(cf, err, errlen, "out of memory");
	}
	setvbuf(f, NULL, _IOFBF, 1u << 16);
	*cv = v;
	return f;
}
