/*
 * pcapng.c - see pcapng.h. Section numbers cite the pcapng specification
 * (draft-ietf-opsawg-pcapng).
 *
 * Each block is built whole in w->blk and handed to stdio with one
 * fwrite: a block's total length is written at both its ends (3.1), so
 * it must be known before the first byte goes out, and a packet's block
 * is small enough to build in memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

/* Block types (4.1 - 4.3) and the byte-order magic (4.1). */
#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

/* Option codes: common (3.5), SHB (4.1), IDB (4.2). */
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9

/* LINKTYPE_RAW as stored in files; libpcap's DLT_RAW is 12 (or 14 on some BSDs). */
#define LINKTYPE_RAW 101

struct pcapng {
	FILE *f;
	int nifaces;      /* interfaces added; packets name one of 0 .. nifaces-1 */
	int err;          /* first write error (negative errno), or 0 */
	uint8_t *blk;     /* the block being built */
	size_t len, cap;  /* bytes of it built, and allocated */
};

int pcapng_linktype(int dlt)
{
	return dlt == 12 || dlt == 14 ? LINKTYPE_RAW : dlt;
}

/* Makes room for n more bytes of the block. Returns 0 or -ENOMEM (the block is then abandoned). */
static int blk_room(struct pcapng *w, size_t n)
{
	uint8_t *b;
	size_t cap;

	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	b = realloc(w->blk, cap);
	if (!b)
		return -ENOMEM;
	w->blk = b;
	w->cap = cap;
	return 0;
}

/* Appends n bytes and zeros up to the next 32-bit boundary (3.1: every field is padded to 32 bits). */
static void blk_put(struct pcapng *w, const void *p, size_t n)
{
	size_t pad = (4 - n % 4) % 4;

	memcpy(w->blk + w->len, p, n);
	memset(w->blk + w->len + n, 0, pad);
	w->len += n + pad;
}

static void blk_u32(struct pcapng *w, uint32_t v)
{
	blk_put(w, &v, 4);
}

/* Appends one option (3.5): code, length, value padded to 32 bits. Room must have been made. */
static void blk_opt(struct pcapng *w, uint16_t code, const void *val, size_t n)
{
	uint16_t h[2] = { code, (uint16_t)n };

	blk_put(w, h, 4);
	blk_put(w, val, n);
}

/* The room an option of n value bytes takes. */
static size_t opt_size(size_t n)
{
	return 4 + (n + 3) / 4 * 4;
}

/* Starts a block of type bt: its type and a placeholder for its total length. */
static int blk_begin(struct pcapng *w, uint32_t bt, size_t body)
{
	w->len = 0;
	if (blk_room(w, 8 + body + 4 + 4) < 0)
		return -ENOMEM;
	blk_u32(w, bt);
	blk_u32(w, 0);
	return 0;
}

/* Ends the options with opt_endofopt, writes the total length at both ends, and the block to the file. */
static int blk_end(struct pcapng *w, int has_options)
{
	uint32_t total;

	if (has_options) {
		uint32_t end = OPT_ENDOFOPT; /* code 0, length 0 */

		blk_put(w, &end, 4);
	}
	total = (uint32_t)(w->len + 4);
	memcpy(w->blk + 4, &total, 4);
	blk_u32(w, total);
	if (!w->err && fwrite(w->blk, 1, w->len, w->f) != w->len)
		w->err = errno ? -errno : -EIO;
	return w->err;
}

/* A string option's length: the string's, capped so that it fits a 16-bit length. */
static size_t opt_strlen(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > PCAPNG_COMMENT_MAX ? PCAPNG_COMMENT_MAX : n;
}

struct pcapng *pcapng_open(const char *path, const char *application, char *err, size_t errlen)
{
	struct pcapng *w = calloc(1, sizeof(*w));
	size_t an = opt_strlen(application);
	uint16_t version[2] = { 1, 0 };
	uint64_t section_length = UINT64_MAX; /* -1: not given (4.1) */

	if (!w) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(w);
		return NULL;
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(w);
		return NULL;
	}
	/* 4.1: byte-order magic, major 1, minor 0, section length, options. */
	if (blk_begin(w, BT_SHB, 16 + opt_size(an) + 4) == 0) {
		blk_u32(w, BYTE_ORDER_MAGIC);
		blk_put(w, version, 4);
		blk_put(w, &section_length, 8);
		if (an)
			blk_opt(w, SHB_USERAPPL, application, an);
		blk_end(w, an > 0);
	} else {
		w->err = -ENOMEM;
	}
	if (w->err) {
		snprintf(err, errlen, "%s: %s", path, strerror(-w->err));
		pcapng_close(w);
		return NULL;
	}
	return w;
}

int pcapng_add_interface(struct pcapng *w, int linktype, uint32_t snaplen, const char *name,
			 const char *description)
{
	size_t nn = opt_strlen(name), dn = opt_strlen(description);
	uint16_t lt[2] = { (uint16_t)linktype, 0 };
	uint8_t tsresol = 9; /* 10^-9 s: nanoseconds (4.2, if_tsresol) */

	if (linktype < 0 || linktype > 0xffff)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (blk_begin(w, BT_IDB, 8 + opt_size(nn) + opt_size(dn) + opt_size(1) + 4) < 0)
		return -ENOMEM;
	/* 4.2: link type, reserved, snap length, options. */
	blk_put(w, lt, 4);
	blk_u32(w, snaplen);
	if (nn)
		blk_opt(w, IF_NAME, name, nn);
	if (dn)
		blk_opt(w, IF_DESCRIPTION, description, dn);
	blk_opt(w, IF_TSRESOL, &tsresol, 1);
	if (blk_end(w, 1) < 0)
		return w->err;
	return w->nifaces++;
}

int pcapng_write(struct pcapng *w, int iface, uint64_t ts, const uint8_t *data, uint32_t caplen,
		 uint32_t wirelen, const char *comment)
{
	size_t cn = opt_strlen(comment);

	if (iface < 0 || iface >= w->nifaces || caplen > wirelen)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (blk_begin(w, BT_EPB, 20 + (size_t)caplen + 3 + opt_size(cn) + 4) < 0)
		return -ENOMEM;
	/* 4.3: interface id, timestamp (high, low 32 bits), captured and original length, data, options. */
	blk_u32(w, (uint32_t)iface);
	blk_u32(w, (uint32_t)(ts >> 32));
	blk_u32(w, (uint32_t)ts);
	blk_u32(w, caplen);
	blk_u32(w, wirelen);
	blk_put(w, data, caplen);
	if (cn)
		blk_opt(w, OPT_COMMENT, comment, cn);
	return blk_end(w, cn > 0);
}

int pcapng_close(struct pcapng *w)
{
	int r;

	if (!w)
		return 0;
	r = w->err;
	if (fflush(w->f) != 0 && !r)
		r = -errno;
	if (ferror(w->f) && !r)
		r = -EIO;
	if (fclose(w->f) != 0 && !r)
		r = -errno;
	free(w->blk);
	free(w);
	return r;
}
