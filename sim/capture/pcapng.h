/*
 * pcapng.h - writing pcapng files, with a comment on any packet.
 *
 * Path: a renderer (render_pcapng.c: --annotate) -> pcapng_write() ->
 *       a file Wireshark, tshark, tcpdump and libpcap read.
 *
 * libpcap writes only the old pcap format, which has no per-packet
 * comments and one link type per file, so this module writes the blocks
 * itself, as the pcapng specification (IETF draft-ietf-opsawg-pcapng,
 * "PCAP Now Generic (pcapng) Capture File Format") defines them:
 *
 *   Section Header Block (SHB, 4.1)      once, at the start
 *   Interface Description Block (IDB, 4.2) one per interface, before its packets
 *   Enhanced Packet Block (EPB, 4.3)     one per packet
 *
 * in the writing host's byte order (a reader learns it from the SHB's
 * byte-order magic). Every interface is given if_tsresol = 9, so each
 * packet carries its timestamp in nanoseconds, exactly as read.
 *
 * One section only; no Simple Packet, Name Resolution or Statistics
 * blocks. Errors are a negative errno; the first write error is kept and
 * reported by pcapng_close(), so a caller writing thousands of packets
 * checks once.
 */
#ifndef TCPDEMUX_PCAPNG_H
#define TCPDEMUX_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

struct pcapng;

/* The longest comment an option can hold (its length is 16 bits, padded to 32). */
#define PCAPNG_COMMENT_MAX 65532

/*
 * Creates path (truncating it) and writes the section header, naming
 * application as shb_userappl. Returns the writer, or NULL with
 * "PATH: reason" in err.
 */
struct pcapng *pcapng_open(const char *path, const char *application, char *err, size_t errlen);

/*
 * Appends an Interface Description Block: linktype is a LINKTYPE_ value
 * as stored in files (pcapng_linktype() converts libpcap's DLT_ values),
 * snaplen 0 for no limit, name (if_name) and description
 * (if_description) may be NULL. Returns the interface's id (0, 1, ...,
 * in the order added), or a negative errno.
 */
int pcapng_add_interface(struct pcapng *w, int linktype, uint32_t snaplen, const char *name,
			 const char *description);

/*
 * Appends an Enhanced Packet Block on interface iface: caplen bytes of
 * data (the bytes captured), wirelen the length on the wire (>= caplen),
 * ts in nanoseconds since the epoch, and comment (opt_comment, UTF-8;
 * NULL or "" for none; longer than PCAPNG_COMMENT_MAX is cut there).
 * Returns 0, -EINVAL (unknown interface, caplen > wirelen) or the
 * first write error.
 */
int pcapng_write(struct pcapng *w, int iface, uint64_t ts, const uint8_t *data, uint32_t caplen,
		 uint32_t wirelen, const char *comment);

/*
 * Flushes and closes the file, and frees w (NULL is accepted). Returns 0,
 * or the first write error of the file's life as a negative errno.
 */
int pcapng_close(struct pcapng *w);

/* The LINKTYPE_ value a file stores for libpcap's DLT_ value dlt (they differ for raw IP). */
int pcapng_linktype(int dlt);

#endif
