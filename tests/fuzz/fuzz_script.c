/*
 * fuzz_script.c - libFuzzer harness for the script language: the input is
 * a .pkt file, parsed in full and, when it parses, run against a stack.
 *
 * The parser must refuse any text with a FILE:LINE message and never read
 * past it; a script that parses must run to its end (or to its first
 * failed expectation) without a crash, a sanitizer report, a leak or a
 * hang: time jumps, blocking calls and huge writes are all bounded.
 * Seeds: the scenarios in tests/scripts/. Run with -close_fd_mask=2: the
 * runner's messages for refused scripts would drown libFuzzer's own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script_opts o;
	char *text;

	if (size > 64 * 1024)
		return 0; /* long scripts add nothing the short ones do not */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	script_opts_init(&o);
	o.cfg.hash_seed = 1;
	o.cfg.ehash_buckets = 64;
	o.cfg.max_sockets = 256;
	o.file = "fuzz.pkt";
	o.text = text;
	o.local_ip = "192.168.0.1";
	o.remote_ip = "192.0.2.1";
	script_run(&o);
	free(text);
	return 0;
}
