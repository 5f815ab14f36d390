#!/usr/bin/env python3
"""seeds.py - seed corpora for the libFuzzer harnesses (standard library only).

Usage: seeds.py OUTDIR CAPTURE...

Writes into OUTDIR/corpus-NAME/ (NAME = segment, options, stack, pcap):
  pcap     every capture as is, and copies with replay options set in byte 12/13
           (see fuzz_pcap.c)
  segment  every frame of every classic-pcap capture as one input: a byte
           naming the link type (fuzz_segment.c's table), then the frame;
           plus a few frames cut short, for the snap-length padding path
  options  the TCP option area of every TCP segment in the captures
  stack    hand-written command sequences in fuzz_stack.c's input format:
           handshakes, data, both close orders, active open, SYN cookies,
           SO_REUSEPORT, IPv6, timers
Files are named by content hash, so running this again adds nothing twice.
"""
import hashlib
import os
import struct
import sys

# fuzz_segment.c's link-type table, index = low 3 bits of byte 0
LINKTYPES = [1, 113, 276, 101, 228, 229, 0, 108]


def put(outdir, name, data):
    d = os.path.join(outdir, "corpus-" + name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def pcap_frames(blob):
    """(linktype, [(caplen, wirelen, bytes)]) of a classic pcap, or None."""
    if len(blob) < 24:
        return None
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    linktype = struct.unpack(e + "I", blob[20:24])[0] & 0x0FFFFFFF
    frames = []
    off = 24
    while off + 16 <= len(blob):
        _, _, incl, orig = struct.unpack(e + "IIII", blob[off:off + 16])
        off += 16
        if off + incl > len(blob):
            break
        frames.append((incl, orig, blob[off:off + incl]))
        off += incl
    return linktype, frames


def ip_offset(linktype, f):
    """Where the IP header starts (None if not IP), as sim/capture/frame.c decides."""
    if linktype == 1:
        if len(f) < 14:
            return None
        t, off = struct.unpack(">H", f[12:14])[0], 14
        while t in (0x8100, 0x88A8, 0x9100) and len(f) >= off + 4:
            t, off = struct.unpack(">H", f[off + 2:off + 4])[0], off + 4
        return off if t in (0x0800, 0x86DD) else None
    if linktype == 113:
        return 16 if len(f) >= 16 and f[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == 276:
        return 20 if len(f) >= 20 and f[0:2] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype in (0, 108):
        return 4
    return 0


def tcp_options(ip):
    """The TCP option bytes of an IPv4/IPv6 packet (no extension headers), or None."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl + 20:
            return None
        tcp = ip[ihl:]
    elif v == 6:
        if len(ip) < 60 or ip[6] != 6:
            return None
        tcp = ip[40:]
    else:
        return None
    doff = (tcp[12] >> 4) * 4
    if doff < 20 or len(tcp) < doff:
        return None
    return tcp[20:doff]


def capture_seeds(outdir, path):
    with open(path, "rb") as f:
        blob = f.read()
    put(outdir, "pcap", blob)
    parsed = pcap_frames(blob)
    if not parsed:
        return
    # replay options in byte 12 (and 13): verify+text, csum+json, tables+colour,
    # accept never, accept every, write+cookies, summary only, sysctl variants
    for b12, b13 in ((0x05, 0), (0x0A, 0), (0x4C, 0), (0x14, 0), (0x24, 0x02),
                     (0x80, 0), (0x40, 0x10), (0x09, 0x05), (0x04, 0x0A)):
        v = bytearray(blob)
        v[12], v[13] = b12, b13
        put(outdir, "pcap", bytes(v))
    linktype, frames = parsed
    if linktype not in LINKTYPES:
        return
    lt = LINKTYPES.index(linktype)
    for i, (incl, _, data) in enumerate(frames):
        put(outdir, "segment", bytes([lt]) + data)
        off = ip_offset(linktype, data)
        if off is None:
            continue
        opts = tcp_options(data[off:])
        if opts is not None:
            put(outdir, "options", opts)
        # cut inside the payload or a header, with one of the wire-length extras
        if incl > off + 40 and i % 3 == 0:
            put(outdir, "segment", bytes([lt | (12 << 3)]) + data[:incl - 7])
            put(outdir, "segment", bytes([lt | (3 << 3)]) + data[:off + 30])


# ---- fuzz_stack.c's command language --------------------------------------

SYN, ACK, PA, FA, RST, RA, SA = 0, 1, 2, 3, 6, 7, 8  # flag_table indices


def hdr(h0=0, h1=0, h2=0, backlog=8, h4=0, backlog2=8):
    return bytes([h0, h1, h2, backlog & 0xFF, h4, backlog2 & 0xFF])


def feed(tup, fl, sm=0, am=0, ln=0, ob=0, *ops):
    return bytes([0, tup, fl, sm, am, ln, ob] + list(ops))


def syn(tup):  # SYN with MSS 1460, wscale 7, SACK, TS
    return feed(tup, SYN, 0, 4, 0, 0x0F, 0, 7, 1)


def ack(tup, ln=0, fl=ACK):
    return feed(tup, fl, 0, 0, ln, 0x08, 1)


def advance(b):
    return bytes([10, b])


def accept(fd):
    return bytes([14, fd])


def recv(fd):
    return bytes([17, fd, 255])


def send(fd, b):
    return bytes([19, fd, b])


def shutdown(fd, how=1):
    return bytes([22, fd, how])


def close(fd):
    return bytes([23, fd])


def connect(remote, c=0):
    return bytes([26, remote, c])


STACK_SEEDS = {
    # passive open, request, reply, server closes first -> TIME_WAIT, expiry
    "server-closes": hdr() + syn(0) + ack(0) + accept(3) + ack(0, 19, PA) + recv(4) +
    send(4, 3) + ack(0) + close(4) + ack(0) + ack(0, 0, FA) + advance(12) + advance(6),
    # client closes first: CLOSE_WAIT, LAST_ACK; IPv6 on the wildcard [::]:80
    "client-closes-v6": hdr(h2=2) + syn(12) + ack(12) + accept(3) + ack(12, 0, FA) +
    recv(4) + close(4) + ack(12),
    # active open, data, shutdown, FIN from the peer -> TIME_WAIT
    "active-open": hdr() + connect(0) + feed(16, SA, 4, 0, 0, 0x0F, 0, 7, 1) + send(4, 10) +
    ack(16) + shutdown(4) + ack(16, 0, FA) + advance(15) + advance(15),
    # backlog 0 and SYN cookies: three clients at once, then their ACKs
    "syn-cookies": hdr(h0=2, backlog=0) + syn(0) + syn(3) + syn(6) + ack(0) + ack(3) +
    ack(6) + accept(3) + accept(3) + accept(3),
    # a SO_REUSEPORT group of two on 10.0.0.1:80
    "reuseport": hdr(h2=0x08, h4=0x16) + syn(0) + syn(3) + syn(6) + ack(0) + ack(3) +
    ack(6) + accept(3) + accept(4) + accept(3) + accept(4),
    # SYN-ACK retransmissions until the request expires, then a stray ACK
    "synack-timer": hdr() + syn(6) + advance(15) + advance(15) + advance(15) +
    advance(15) + advance(15) + advance(15) + advance(14) + ack(6),
    # exact and wildcard listeners on port 80; a RST and an out-of-window SYN
    "wildcard-rst": hdr(h2=0, h4=2) + syn(2) + ack(2) + syn(0) + ack(0) +
    feed(2, RST) + feed(0, SYN, 5) + accept(3) + accept(4),
    # abort-on-overflow with backlog 0
    "abort-on-overflow": hdr(h0=4, backlog=0) + syn(0) + syn(3) + ack(0) + ack(3) +
    accept(3),
    # data both ways, a full receive queue and a zero window
    "data": hdr() + syn(0) + ack(0) + accept(3) + ack(0, 0x80 | 60, PA) + ack(0, 0x80 | 60, PA) +
    send(4, 250) + ack(0) + recv(4) + recv(4) + feed(0, ACK, 0, 0, 0, 0x20) + send(4, 9) +
    advance(8) + feed(0, ACK) + close(4) + ack(0) + ack(0, 0, FA) + advance(15),
}


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    outdir = sys.argv[1]
    for path in sys.argv[2:]:
        capture_seeds(outdir, path)
    for data in STACK_SEEDS.values():
        put(outdir, "stack", data)
    # options: a few hand-made areas besides the captured ones
    for opts in (b"", b"\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00",
                 b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x0e",
                 b"\x03\x03\x0f\x00", b"\x02\x04\xff\xff\x05\x0a" + bytes(8), b"\x1e\x02" * 4):
        put(outdir, "options", opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
