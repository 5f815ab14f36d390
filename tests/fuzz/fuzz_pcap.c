/*
 * fuzz_pcap.c - libFuzzer harness for `tcpdemux replay`: the input is a
 * capture file (pcap or pcapng), replayed by replay_run() as the command
 * line would. It must never crash; exit statuses 0, 1 and 2 are all fine.
 *
 * The file is written to a memfd (a mkstemp file in /tmp where memfd is
 * missing, unlinked as soon as it is open) and read back through
 * /proc/self/fd/N, so libpcap's reader and frame.c's magic check see a
 * real file.
 *
 * Options: with the classic pcap format, byte 12 of the file (the low
 * byte of "sigfigs" in little-endian files, a field libpcap reads and
 * ignores) picks replay options, so the corpus can reach them:
 *   bit 0   --verify          bit 1   --verify-checksums
 *   bits 2-3 renderer: none (--quiet: summary only when bit 6), text, json, text with colour
 *   bits 4-5 --accept immediate / never / every=7ms / immediate
 *   bit 6   --tables (after each segment with a renderer, else a summary)
 *   bit 7   --write to /dev/null, 16 ehash buckets, SYN cookies always
 * Byte 13 picks a few more knobs (backlog-related sysctls). 0 everywhere
 * (every seed from traces/) is the quiet default: no renderer, no summary.
 * Renderers write to /dev/null.
 *
 * stderr: the replay prints one line on stderr for a bad file. run.sh passes
 * -close_fd_mask=2 while fuzzing, which silences it and keeps libFuzzer's
 * and the sanitizers' reports.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emit.h"
#include "render.h"
#include "replay.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_pcap", 0);
	if (fd < 0) {
		char tmp[] = "/tmp/fuzz_pcap.XXXXXX";

		/* No memfd: a temporary file, unlinked at once so a crash leaves nothing. */
		fd = mkstemp(tmp);
		if (fd < 0) {
			perror("fuzz_pcap: mkstemp");
			abort();
		}
		unlink(tmp);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	devnull = fopen("/dev/null", "w");
	if (!devnull) {
		perror("fuzz_pcap: /dev/null");
		abort();
	}
	return 0;
}

static int put_file(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (ftruncate(fd, 0) != 0)
		return -1;
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_opts *o;
	struct renderer *r = NULL;
	uint8_t b = 0, b2 = 0;
	int status;

	if (fd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	if (put_file(data, size) != 0) {
		perror("fuzz_pcap: writing the capture");
		abort();
	}
	/* Classic pcap (either byte order, micro or nano): options from byte 12. */
	if (size >= 24 && ((data[0] == 0xd4 && data[1] == 0xc3) || (data[0] == 0xa1 && data[1] == 0xb2) ||
			   (data[0] == 0x4d && data[1] == 0x3c))) {
		b = data[12];
		b2 = data[13];
	}

	o = calloc(1, sizeof(*o)); /* struct replay_opts is large: keep it off the stack */
	if (!o)
		abort();
	o->file = path;
	stack_config_init(&o->cfg);
	o->cfg.hash_seed = 1;
	o->cfg.ehash_buckets = (b & 0x80) ? 16 : 1024;
	if (b & 0x80)
		o->cfg.tcp_syncookies = 2;
	if (b2 & 1)
		o->cfg.tcp_abort_on_overflow = 1;
	if (b2 & 2)
		o->cfg.somaxconn = 1;
	if (b2 & 4)
		o->cfg.tcp_syncookies = 0;
	if (b2 & 8)
		o->cfg.tcp_synack_retries = 1;
	o->verify = b & 1;
	o->verify_checksums = (b >> 1) & 1;
	switch ((b >> 2) & 3) {
	case 1:
		r = render_text_new(devnull, 0);
		break;
	case 2:
		r = render_json_new(devnull);
		break;
	case 3:
		r = render_text_new(devnull, 1);
		break;
	default:
		if (b & 0x40) /* --quiet: the summary only */
			r = render_text_new(devnull, 0);
		break;
	}
	o->r = ((b >> 2) & 3) ? r : NULL;
	o->summary_r = r;
	o->tables = r ? ((b >> 6) & 1) : 0;
	if (r && !o->tables && (b2 & 0x10))
		o->tables = 2;
	switch ((b >> 4) & 3) {
	case 1:
		o->accept_mode = ACCEPT_NEVER;
		break;
	case 2:
		o->accept_mode = ACCEPT_EVERY;
		o->accept_every = 7 * VT_MSEC;
		break;
	default:
		o->accept_mode = ACCEPT_IMMEDIATE;
		break;
	}
	if (b & 0x80)
		o->write_path = "/dev/null";

	/* As the command line starts a replay: the text then says where each ISN came from. */
	emit_begin(r, RUN_REPLAY, o->file, NULL, NULL, o->cfg.hash_seed);
	status = replay_run(o);
	if (status < 0 || status > 2) {
		fprintf(stderr, "fuzz_pcap: replay_run returned %d\n", status);
		abort();
	}
	if (r)
		r->ops->destroy(r);
	fflush(devnull);
	free(o);
	return 0;
}
