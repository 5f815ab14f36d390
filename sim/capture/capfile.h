/*
 * capfile.h - the bytes of a capture file, as libpcap is to read them.
 *
 * Path: FILE or - -> capfile_open(): a plain file, a gzip-compressed one
 *       (zlib), or standard input (compressed or not) -> a FILE* that
 *       frame.c hands to libpcap (pcap_fopen_offline) -> frames.
 *
 * A pcapng file may describe interfaces of several link types (a capture
 * on eth0 and on "any" at once). libpcap's API has one link type per
 * handle and refuses such a file, so capfile_open() reads the interface
 * descriptions that come before the first packet, and capfile_view()
 * opens the file again as one stream per link type, holding only that
 * link type's interfaces (renumbered) and their packets. Each view keeps
 * the file-wide number of every packet it passes on, so frame.c can merge
 * the views back into file order.
 */
#ifndef TCPDEMUX_CAPFILE_H
#define TCPDEMUX_CAPFILE_H

#include <stdint.h>
#include <stdio.h>

#define CAPFILE_MAX_IFACES 64 /* interfaces described before the first packet */
#define CAPFILE_MAX_LINKS 8   /* distinct link types among them */

struct capfile_iface {
	int section;    /* pcapng section, 0 for the first */
	int index;      /* the interface's number within its section */
	int linktype;   /* LINKTYPE_* as stored in the file */
	char name[48];  /* if_name option, or "" */
};

struct capfile {
	const char *path;   /* as given; "-" is standard input */
	int from_stdin;     /* cannot be opened a second time */
	int gzip;           /* the bytes were gzip-compressed */
	uint32_t magic;     /* the first four (uncompressed) bytes, big-endian; 0 if fewer */
	int nifaces;        /* pcapng interfaces described before the first packet */
	struct capfile_iface iface[CAPFILE_MAX_IFACES];
	int nlinks;         /* distinct link types among them, in the order first seen */
	int link[CAPFILE_MAX_LINKS];
	int more_links;     /* more than CAPFILE_MAX_LINKS (or IFACES) were described */
	/*
	 * A problem found below libpcap, set by a stream as it reads: the
	 * compressed data is corrupt or cut short, or an interface of a new
	 * link type is described after packets of others. frame.c reports
	 * it in preference to libpcap's view of the same failure.
	 */
	char err[320];
};

/* The magic numbers of the formats (first four bytes, big-endian). */
#define CAPFILE_PCAP_US 0xa1b2c3d4u
#define CAPFILE_PCAP_US_SWAPPED 0xd4c3b2a1u
#define CAPFILE_PCAP_NS 0xa1b23c4du
#define CAPFILE_PCAP_NS_SWAPPED 0x4d3cb2a1u
#define CAPFILE_PCAPNG 0x0a0d0d0au

/*
 * Opens path ("-": standard input) and fills *cf (which must stay in
 * place while any stream of it is open). Returns a stream of the whole
 * file's uncompressed bytes from the start, or NULL with "PATH: reason"
 * in err. Closing the stream (fclose, or pcap_close on the handle that
 * reads it) frees everything the stream holds.
 */
FILE *capfile_open(struct capfile *cf, const char *path, char *err, size_t errlen);

struct capview;

/*
 * Opens the file again as a stream holding only the interfaces whose link
 * type is cf->link[link], and their packets. *cv is the view's record of
 * which packets it passed on (valid until the stream is closed). Returns
 * NULL with "PATH: reason" in err (standard input cannot be reopened).
 */
FILE *capfile_view(struct capfile *cf, int link, struct capview **cv, char *err, size_t errlen);

/*
 * The file-wide number (1-based, counting the packets of every interface)
 * of the oldest packet the view passed on and that is not yet popped; -1
 * when there is none. libpcap returns a view's packets in the order they
 * were passed on, so one pop per packet read names each one.
 */
int64_t capview_pop(struct capview *cv);

#endif
