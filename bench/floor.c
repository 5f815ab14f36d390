/*
 * floor.c - the floor under any replay: a bare libpcap read loop.
 *
 *   floor FILE
 *
 * Opens FILE as tcpdemux does (pcap_open_offline_with_tstamp_precision,
 * nanoseconds), calls pcap_next_ex() for every frame and touches every
 * captured byte (a running sum and xor, printed at the end so the compiler
 * cannot drop the loop). Nothing else: whatever tcpdemux spends beyond this
 * is its own work.
 *
 * Build: cc -O2 bench/floor.c $(pkg-config --cflags --libs libpcap)
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t frames = 0, bytes = 0, sum = 0, x = 0;
	pcap_t *p;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE\n");
		return 2;
	}
	p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p) {
		fprintf(stderr, "floor: %s\n", err);
		return 2;
	}
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		uint32_t i = 0, n = h->caplen;

		/* 8 bytes at a time, then the tail: every byte is read. */
		for (; i + 8 <= n; i += 8) {
			uint64_t w;

			memcpy(&w, d + i, 8);
			sum += w;
			x ^= w;
		}
		for (; i < n; i++) {
			sum += d[i];
			x ^= (uint64_t)d[i] << (i & 7) * 8;
		}
		sum += (uint64_t)h->ts.tv_sec ^ (uint64_t)h->ts.tv_usec;
		frames++;
		bytes += n;
	}
	if (r != PCAP_ERROR_BREAK) {
		fprintf(stderr, "floor: %s: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 2;
	}
	pcap_close(p);
	printf("%llu frames, %llu bytes, sum %016llx, xor %016llx\n", (unsigned long long)frames,
	       (unsigned long long)bytes, (unsigned long long)sum, (unsigned long long)x);
	return 0;
}
