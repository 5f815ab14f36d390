/*
 * check_pcapng.c - the pcapng writer (sim/capture/pcapng.c) against two readers.
 *
 *   libpcap   reads every packet back: bytes, captured and wire lengths,
 *             nanosecond timestamps, in order, across two interfaces;
 *   tshark    reads the same file: each packet's interface name and
 *             description, its comment (frame.comment), its timestamp to
 *             the nanosecond and its decoded IP addresses; a display
 *             filter on the comment selects the right packets;
 *   layout    the blocks' bytes as the specification lays them out
 *             (lengths at both ends, 32-bit padding, if_tsresol 9);
 *   errors    an unwritable path, an unknown interface, a full disk.
 *
 * tshark is a test dependency (tools/ensure-deps.sh installs it), so a
 * missing tshark fails here rather than skipping.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "pcapng.h"
#include "progrun.h"
#include "segment.h"
#include "suites.h"

#define LINKTYPE_ETHERNET 1

/* Three test packets: Ethernet frames of TCP segments, one cut short by a snap length. */
struct tpkt {
	uint8_t data[128];
	uint32_t caplen, wirelen;
	uint64_t ts;
	int iface;
	const char *comment;
};

/* An Ethernet frame of seg (dst MAC 02:..:01, src 02:..:02, IPv4) in p; returns its length. */
static uint32_t eth_frame(const struct segment *seg, uint8_t *p, size_t cap)
{
	static const uint8_t hdr[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
	size_t n;

	memcpy(p, hdr, sizeof(hdr));
	n = seg_build(seg, p + 14, cap - 14);
	ck_assert_msg(n > 0, "seg_build failed");
	return (uint32_t)(14 + n);
}

static void make_packets(struct tpkt *pk)
{
	struct segment syn = ts_seg("10.0.0.2:1234", "10.0.0.1:80", TH_SYN, 1000, 0);
	struct segment sa = ts_seg("10.0.0.1:80", "10.0.0.2:1234", TH_SYN | TH_ACK, 5000, 1001);
	struct segment data = ts_seg("10.0.0.2:1234", "10.0.0.1:80", TH_ACK | TH_PSH, 1001, 5001);
	static uint8_t payload[40];

	memset(pk, 0, 3 * sizeof(*pk));
	memset(payload, 'x', sizeof(payload));
	data.data = payload;
	data.len = sizeof(payload);
	pk[0].caplen = pk[0].wirelen = eth_frame(&syn, pk[0].data, sizeof(pk[0].data));
	pk[0].ts = 1700000000ull * 1000000000ull + 123456789ull;
	pk[0].comment = "demux: ehash[0x3] miss -> listener 10.0.0.1:80 (exact) -> request #2, SYN queue 1/8 -> SYN-ACK";
	pk[1].caplen = pk[1].wirelen = eth_frame(&sa, pk[1].data, sizeof(pk[1].data));
	pk[1].ts = pk[0].ts + 1; /* one nanosecond later: the resolution must survive */
	pk[1].iface = 1;
	pk[1].comment = "tcpdemux: SYN-ACK for #1";
	pk[2].wirelen = eth_frame(&data, pk[2].data, sizeof(pk[2].data));
	pk[2].caplen = pk[2].wirelen - 10; /* a snap length cut the payload */
	pk[2].ts = pk[0].ts + 2000000000ull;
	pk[2].comment = "demux: listener 10.0.0.1:80 accept queue 9/8 full -> dropped (ListenOverflows)";
}

/* Writes the three packets to path: interface 0 "capture", interface 1 "tcpdemux". */
static void write_packets(const char *path, const struct tpkt *pk)
{
	char err[256];
	struct pcapng *w = pcapng_open(path, "tcpdemux check", err, sizeof(err));
	int i;

	ck_assert_msg(w != NULL, "pcapng_open: %s", err);
	ck_assert_int_eq(pcapng_add_interface(w, LINKTYPE_ETHERNET, 0, "capture", "the input"), 0);
	ck_assert_int_eq(pcapng_add_interface(w, LINKTYPE_ETHERNET, 0, "tcpdemux", "the stack's segments"), 1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pcapng_write(w, pk[i].iface, pk[i].ts, pk[i].data, pk[i].caplen,
					      pk[i].wirelen, pk[i].comment), 0);
	ck_assert_int_eq(pcapng_close(w), 0);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/tcpdemux-pcapng-%d-%s", prog_env("TMPDIR", "/tmp"), (int)getpid(), name);
}

START_TEST(test_libpcap_reads_it)
{
	struct tpkt pk[3];
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	int i;

	make_packets(pk);
	tmp_path(path, sizeof(path), "libpcap.pcapng");
	write_packets(path, pk);
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(p != NULL, "libpcap cannot open what pcapng.c wrote: %s", err);
	ck_assert_int_eq(pcap_datalink(p), DLT_EN10MB);
	for (i = 0; i < 3; i++) {
		int r = pcap_next_ex(p, &h, &d);

		ck_assert_msg(r == 1, "packet %d: pcap_next_ex %d: %s", i + 1, r, pcap_geterr(p));
		ck_assert_uint_eq(h->caplen, pk[i].caplen);
		ck_assert_uint_eq(h->len, pk[i].wirelen);
		ck_assert_msg((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec == pk[i].ts,
			      "packet %d: timestamp %ld.%09ld, wrote %llu ns", i + 1, (long)h->ts.tv_sec,
			      (long)h->ts.tv_usec, (unsigned long long)pk[i].ts);
		ck_assert_msg(memcmp(d, pk[i].data, pk[i].caplen) == 0, "packet %d: bytes differ", i + 1);
	}
	ck_assert_int_eq(pcap_next_ex(p, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(p);
	unlink(path);
}
END_TEST

START_TEST(test_tshark_reads_it)
{
	struct tpkt pk[3];
	char path[512], want[512], *out, *line, *save = NULL;
	int i;

	make_packets(pk);
	tmp_path(path, sizeof(path), "tshark.pcapng");
	write_packets(path, pk);
	{
		const char *args[] = { "tshark", "-r", path, "-T", "fields", "-E", "separator=|",
				       "-e", "frame.number", "-e", "frame.interface_name",
				       "-e", "frame.interface_description", "-e", "frame.time_epoch",
				       "-e", "frame.cap_len", "-e", "frame.len", "-e", "ip.src",
				       "-e", "tcp.srcport", "-e", "frame.comment", NULL };
		out = prog_tool(args);
	}
	line = strtok_r(out, "\n", &save);
	for (i = 0; i < 3; i++, line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(line != NULL, "tshark printed %d packets, not 3", i);
		snprintf(want, sizeof(want), "%d|%s|%s|%llu.%09llu|%u|%u|%s|%s|%s", i + 1,
			 pk[i].iface ? "tcpdemux" : "capture", pk[i].iface ? "the stack's segments" : "the input",
			 (unsigned long long)(pk[i].ts / 1000000000ull),
			 (unsigned long long)(pk[i].ts % 1000000000ull), pk[i].caplen, pk[i].wirelen,
			 pk[i].iface ? "10.0.0.1" : "10.0.0.2", pk[i].iface ? "80" : "1234", pk[i].comment);
		ck_assert_str_eq(line, want);
	}
	ck_assert_msg(line == NULL, "tshark printed more than 3 packets: %s", line);
	free(out);
	{
		/* The drop is found by its counter's name, as a reader would look for it. */
		const char *args[] = { "tshark", "-r", path, "-Y", "frame.comment contains \"ListenOverflows\"",
				       "-T", "fields", "-e", "frame.number", NULL };
		out = prog_tool(args);
		ck_assert_str_eq(out, "3\n");
		free(out);
	}
	unlink(path);
}
END_TEST

/* Reads path whole into *len bytes (malloc'd). */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(1 << 16);

	ck_assert_msg(f && b, "cannot read %s back", path);
	*len = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static uint32_t u32_at(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

START_TEST(test_block_layout)
{
	char path[512], err[256];
	struct pcapng *w;
	uint8_t pkt[5] = { 0x45, 1, 2, 3, 4 };
	size_t len, off, shb, idb, epb;
	uint8_t *b;

	tmp_path(path, sizeof(path), "layout.pcapng");
	w = pcapng_open(path, "ab", err, sizeof(err));
	ck_assert_msg(w != NULL, "%s", err);
	ck_assert_int_eq(pcapng_add_interface(w, 101, 65535, "x", NULL), 0);
	ck_assert_int_eq(pcapng_write(w, 0, 0x0000000100000002ull, pkt, 5, 5, "c"), 0);
	ck_assert_int_eq(pcapng_close(w), 0);
	b = slurp(path, &len);
	/* SHB: type, length, magic, 1.0, section length -1, shb_userappl "ab" (4+4), endofopt, length. */
	shb = 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
	ck_assert_uint_eq(u32_at(b, 0), 0x0A0D0D0Au);
	ck_assert_uint_eq(u32_at(b, 4), shb);
	ck_assert_uint_eq(u32_at(b, 8), 0x1A2B3C4Du);
	ck_assert_uint_eq(u32_at(b, shb - 4), shb);
	/* IDB: type, length, linktype+reserved, snaplen, if_name "x" (4+4), if_tsresol 9 (4+4), endofopt, length. */
	off = shb;
	idb = 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
	ck_assert_uint_eq(u32_at(b, off), 1);
	ck_assert_uint_eq(u32_at(b, off + 4), idb);
	ck_assert_uint_eq(u32_at(b, off + 8) & 0xffff, 101);
	ck_assert_uint_eq(u32_at(b, off + 12), 65535);
	ck_assert_uint_eq(b[off + 16 + 8 + 4], 9); /* if_tsresol's value */
	ck_assert_uint_eq(u32_at(b, off + idb - 4), idb);
	/* EPB: type, length, iface, ts high, ts low, caplen, len, 5 bytes padded to 8, comment (4+4), endofopt, length. */
	off += idb;
	epb = 4 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
	ck_assert_uint_eq(u32_at(b, off), 6);
	ck_assert_uint_eq(u32_at(b, off + 4), epb);
	ck_assert_uint_eq(u32_at(b, off + 12), 1);
	ck_assert_uint_eq(u32_at(b, off + 16), 2);
	ck_assert_uint_eq(u32_at(b, off + 20), 5);
	ck_assert_int_eq(memcmp(b + off + 28, pkt, 5), 0);
	ck_assert_uint_eq(b[off + 33] | b[off + 34] | b[off + 35], 0); /* padding is zeros */
	ck_assert_uint_eq(u32_at(b, off + epb - 4), epb);
	ck_assert_uint_eq(len, off + epb);
	free(b);
	unlink(path);
}
END_TEST

START_TEST(test_errors)
{
	char err[256], path[512];
	struct pcapng *w;
	uint8_t pkt[4] = { 0x45, 0, 0, 0 };

	w = pcapng_open("/nonexistent-dir/x.pcapng", "t", err, sizeof(err));
	ck_assert_ptr_null(w);
	ck_assert_msg(strstr(err, "/nonexistent-dir/x.pcapng: ") == err, "message should name the file: %s", err);
	ck_assert_msg(strstr(err, "No such file") != NULL, "message should say why: %s", err);

	tmp_path(path, sizeof(path), "errors.pcapng");
	w = pcapng_open(path, "t", err, sizeof(err));
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(pcapng_write(w, 0, 0, pkt, 4, 4, NULL), -EINVAL); /* no interface yet */
	ck_assert_int_eq(pcapng_add_interface(w, 101, 0, NULL, NULL), 0);
	ck_assert_int_eq(pcapng_write(w, 1, 0, pkt, 4, 4, NULL), -EINVAL);
	ck_assert_int_eq(pcapng_write(w, 0, 0, pkt, 5, 4, NULL), -EINVAL); /* caplen > wirelen */
	ck_assert_int_eq(pcapng_add_interface(w, 70000, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pcapng_close(w), 0);
	unlink(path);

	/* A full disk is reported, once, when the file is closed (or at the write that meets it). */
	if (access("/dev/full", W_OK) == 0) {
		int i, r = 0;

		w = pcapng_open("/dev/full", "t", err, sizeof(err));
		ck_assert_msg(w != NULL, "%s", err);
		pcapng_add_interface(w, 101, 0, NULL, NULL);
		for (i = 0; i < 10000 && r == 0; i++)
			r = pcapng_write(w, 0, 0, pkt, 4, 4, "a comment to fill the buffer");
		ck_assert_int_eq(r, -ENOSPC);
		ck_assert_int_eq(pcapng_close(w), -ENOSPC);
	}
}
END_TEST

Suite *pcapng_suite(void)
{
	Suite *s = suite_create("pcapng");
	TCase *tc = tcase_create("writer");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_libpcap_reads_it);
	tcase_add_test(tc, test_tshark_reads_it);
	tcase_add_test(tc, test_block_layout);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
