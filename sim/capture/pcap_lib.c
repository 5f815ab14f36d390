/*
 * pcap_lib.c - libpcap, loaded the first time something calls it.
 *
 * Path: frame.c (a pcapng, a compressed or piped capture, a filter),
 *       pcap_out.c (--write, synth, live), render_annotate.c, the tests
 *       -> the libpcap function of the same name, here -> lazy_lib.c ->
 *       dlopen()ed libpcap.
 *
 * Why: libpcap's shared library needs libdbus, libsystemd, libgcrypt,
 * liblzma, libzstd and liblz4 (Debian builds it with D-Bus and RDMA
 * capture), and the dynamic linker maps and relocates all of them before
 * main(): 0.7 ms of every run, a sixth of a replay of a 13,000-frame
 * capture. A plain pcap file, the common case, is read without libpcap
 * (pcap_records.h), so for it the library is never loaded at all.
 *
 * How: the program is linked without -lpcap, and this file defines each
 * libpcap function the program uses, with libpcap's own prototype (from
 * <pcap/pcap.h>, so a mismatch does not compile). Each one loads the
 * library on first use and calls the library's function. Call sites stay
 * libpcap's API, unchanged; nothing else knows the library is loaded late.
 *
 * When the library cannot be loaded (not installed), the calls that come
 * first in any use say so the way libpcap reports its own failures: the
 * openers return NULL with the reason in their error buffer, and
 * pcap_datalink_val_to_name() returns NULL (no name). Every other function
 * takes a handle or a program only those openers make, so the library is
 * loaded by the time it is called.
 */
#include <stdio.h>

#include <pcap/pcap.h>

#include "lazy_lib.h"

/* The library's file name, as the linker would have recorded it (the Makefile reads its SONAME). */
#ifndef PCAP_SONAME
#define PCAP_SONAME "libpcap.so.0.8"
#endif

/*
 * Every libpcap function tcpdemux calls, by what it does when the library
 * cannot be loaded: (return type, name, (parameters), (arguments)).
 *   OPEN  an opener with an error buffer: NULL, and the reason in errbuf
 *   DEAD  an opener without one, or a lookup: NULL
 *   CALL  takes what only the library made, so it is loaded already
 *   CALLV the same, returning nothing
 */
#define PCAP_LIB_CALLS(OPEN, DEAD, CALL, CALLV)                                                    \
	OPEN(pcap_t *, pcap_open_offline, (const char *fname, char *errbuf), (fname, errbuf))      \
	OPEN(pcap_t *, pcap_open_offline_with_tstamp_precision,                                    \
	     (const char *fname, u_int precision, char *errbuf), (fname, precision, errbuf))       \
	OPEN(pcap_t *, pcap_fopen_offline, (FILE *fp, char *errbuf), (fp, errbuf))                 \
	OPEN(pcap_t *, pcap_fopen_offline_with_tstamp_precision,                                   \
	     (FILE *fp, u_int precision, char *errbuf), (fp, precision, errbuf))                   \
	DEAD(pcap_t *, pcap_open_dead, (int linktype, int snaplen), (linktype, snaplen))           \
	DEAD(pcap_t *, pcap_open_dead_with_tstamp_precision, (int linktype, int snaplen, u_int precision), \
	     (linktype, snaplen, precision))                                                       \
	DEAD(const char *, pcap_datalink_val_to_name, (int dlt), (dlt))                            \
	CALLV(void, pcap_close, (pcap_t *p), (p))                                                  \
	CALL(int, pcap_datalink, (pcap_t *p), (p))                                                 \
	CALL(int, pcap_snapshot, (pcap_t *p), (p))                                                 \
	CALL(int, pcap_is_swapped, (pcap_t *p), (p))                                               \
	CALL(int, pcap_major_version, (pcap_t *p), (p))                                            \
	CALL(int, pcap_minor_version, (pcap_t *p), (p))                                            \
	CALL(FILE *, pcap_file, (pcap_t *p), (p))                                                  \
	CALL(char *, pcap_geterr, (pcap_t *p), (p))                                                \
	CALL(int, pcap_next_ex, (pcap_t *p, struct pcap_pkthdr **h, const u_char **data), (p, h, data)) \
	CALL(int, pcap_compile,                                                                    \
	     (pcap_t *p, struct bpf_program *fp, const char *str, int optimize, bpf_u_int32 netmask), \
	     (p, fp, str, optimize, netmask))                                                      \
	CALLV(void, pcap_freecode, (struct bpf_program *fp), (fp))                                 \
	CALL(int, pcap_offline_filter,                                                             \
	     (const struct bpf_program *fp, const struct pcap_pkthdr *h, const u_char *pkt), (fp, h, pkt)) \
	CALL(pcap_dumper_t *, pcap_dump_open, (pcap_t *p, const char *fname), (p, fname))         \
	CALLV(void, pcap_dump, (u_char *user, const struct pcap_pkthdr *h, const u_char *sp), (user, h, sp)) \
	CALL(int, pcap_dump_flush, (pcap_dumper_t *d), (d))                                        \
	CALLV(void, pcap_dump_close, (pcap_dumper_t *d), (d))

/* The library's functions, once loaded: one pointer each, filled by lazy_lib_load(). */
static struct {
	PCAP_LIB_CALLS(LAZY_LIB_FIELD, LAZY_LIB_FIELD, LAZY_LIB_FIELD, LAZY_LIB_FIELD)
} lib;
static const char *const names[] = { PCAP_LIB_CALLS(LAZY_LIB_NAME, LAZY_LIB_NAME, LAZY_LIB_NAME, LAZY_LIB_NAME) };
LAZY_LIB_CHECK(names, lib);
static struct lazy_lib pcap = LAZY_LIB_INIT(PCAP_SONAME, "libpcap", names, lib);

#define OPEN(ret, name, params, args)                   \
	LAZY_LIB_FIRST(pcap, lib, ret, name, params, args, \
		       snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcap.why); return NULL)
#define DEAD(ret, name, params, args) LAZY_LIB_FIRST(pcap, lib, ret, name, params, args, return NULL)
#define CALL(ret, name, params, args) LAZY_LIB_CALL(pcap, lib, ret, name, params, args)
#define CALLV(ret, name, params, args)       \
	ret name params                      \
	{                                    \
		lazy_lib_need(&pcap, #name); \
		lib.name args;               \
	}
PCAP_LIB_CALLS(OPEN, DEAD, CALL, CALLV)
#undef OPEN
#undef DEAD
#undef CALL
#undef CALLV
