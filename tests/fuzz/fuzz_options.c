/*
 * fuzz_options.c - libFuzzer harness for the TCP options codec.
 *
 * 1. tcp_opts_parse() on the whole input (any length, 0 to far past the
 *    40 bytes a header can hold). When it parses, tcp_opts_write() the
 *    result and parse that again: the same tcp_opts must come back, and
 *    writing it again must give the same bytes.
 * 2. The first 12 bytes also fill a tcp_opts directly (any values, a
 *    window scale above 14 included): written, it must parse back to the
 *    same values, except that the scale reads back clamped to 14.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                             \
	do {                                                  \
		fprintf(stderr, "fuzz_options: " __VA_ARGS__); \
		fputc('\n', stderr);                          \
		abort();                                      \
	} while (0)

static void opts_compare(const char *what, const struct tcp_opts *a, const struct tcp_opts *b)
{
	if (a->has_mss != b->has_mss || (a->has_mss && a->mss != b->mss))
		FAIL("%s: MSS differs (%u:%u vs %u:%u)", what, a->has_mss, a->mss, b->has_mss, b->mss);
	if (a->has_wscale != b->has_wscale || (a->has_wscale && a->wscale != b->wscale))
		FAIL("%s: window scale differs (%u:%u vs %u:%u)", what, a->has_wscale, a->wscale,
		     b->has_wscale, b->wscale);
	if (a->sack_ok != b->sack_ok)
		FAIL("%s: sackOK differs (%u vs %u)", what, a->sack_ok, b->sack_ok);
	if (a->has_ts != b->has_ts || (a->has_ts && (a->tsval != b->tsval || a->tsecr != b->tsecr)))
		FAIL("%s: timestamps differ", what);
}

/* Writes o, checks the layout rules, parses it back into *back. */
static size_t write_parse(const char *what, const struct tcp_opts *o, uint8_t *buf,
			  struct tcp_opts *back)
{
	size_t n;
	int r;

	memset(buf, 0xa5, 64);
	n = tcp_opts_write(o, buf);
	if (n > TCP_OPT_MAX)
		FAIL("%s: tcp_opts_write wrote %zu bytes > %d", what, n, TCP_OPT_MAX);
	if (n & 3)
		FAIL("%s: tcp_opts_write wrote %zu bytes, not a multiple of 4", what, n);
	if (buf[n] != 0xa5)
		FAIL("%s: tcp_opts_write wrote past the length it returned", what);
	r = tcp_opts_parse(buf, n, back);
	if (r != 0)
		FAIL("%s: written options do not parse: %s", what, seg_error_name(r));
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_opts o, back, again;
	uint8_t buf[64], buf2[64];
	size_t n, n2;
	int r;

	/* Part 1: parse, write, parse. */
	r = tcp_opts_parse(data, size, &o);
	if (r != 0 && r != -SEG_E_TCP_OPTION)
		FAIL("tcp_opts_parse returned %d", r);
	if (r == 0) {
		if (o.has_wscale && o.wscale > 14)
			FAIL("parsed window scale %u > 14", o.wscale);
		if (!o.has_mss && o.mss)
			FAIL("mss value without has_mss");
		n = write_parse("parse-write-parse", &o, buf, &back);
		opts_compare("parse-write-parse", &o, &back);
		n2 = write_parse("write twice", &back, buf2, &again);
		if (n2 != n || memcmp(buf, buf2, n) != 0)
			FAIL("writing the parsed options again gives other bytes");
	}

	/* Part 2: arbitrary values, written as given, read back (scale clamped). */
	if (size >= 12) {
		struct tcp_opts want;

		memset(&o, 0, sizeof(o));
		o.has_mss = data[0] & 1;
		o.has_wscale = (data[0] >> 1) & 1;
		o.sack_ok = (data[0] >> 2) & 1;
		o.has_ts = (data[0] >> 3) & 1;
		o.mss = (uint16_t)(data[1] << 8 | data[2]);
		o.wscale = data[3];
		o.tsval = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
		o.tsecr = (uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 | (uint32_t)data[10] << 8 | data[11];
		write_parse("values-write-parse", &o, buf, &back);
		want = o;
		if (want.wscale > 14)
			want.wscale = 14;
		opts_compare("values-write-parse", &want, &back);
	}
	return 0;
}
