#!/usr/bin/python3
"""Tiny TCP peer for traces/capture.sh (standard library only).

  peer.py server --listen ADDR:PORT [--backlog N] [--count K] [--no-accept]
                 [--hold SECONDS] [--ready FILE]
  peer.py client --to ADDR:PORT --from ADDR:PORT [--from ADDR:PORT ...]
                 [--expect-refused]
  peer.py probe --to ADDR:PORT
  peer.py offload-off IFACE

IPv6 addresses are written in brackets: [fd00::1]:80.

The client opens every connection first and only then talks on each one in
turn, so all of them sit in the server's established table together (the
point of the two-clients capture) while the packet order stays predictable.
"""

import argparse
import array
import fcntl
import os
import socket
import struct
import sys
import time

# Every blocking call gets a deadline: a stuck scenario must fail, not hang
# the capture script.
TIMEOUT = 5.0
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"


def endpoint(text):
    """'10.0.0.1:80' or '[fd00::1]:80' -> (family, (addr, port))."""
    if text.startswith("["):
        addr, sep, port = text[1:].partition("]:")
        family = socket.AF_INET6
    else:
        addr, sep, port = text.rpartition(":")
        family = socket.AF_INET
    if not sep or not addr or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected ADDR:PORT or [ADDR6]:PORT, got {text!r}")
    return family, (addr, int(port))


def read_request(conn):
    """Read up to the blank line that ends the request (or EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(conn):
    data = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk


def server(args):
    family, addr = args.listen
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(addr)
    lsock.listen(args.backlog)
    # The ready file is written only after listen(), so the script never
    # starts a client against a port that is not yet listening.
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready + ".tmp", args.ready)

    if args.no_accept:
        # Leave handshakes in the queues for the kernel alone to handle.
        time.sleep(args.hold)
        lsock.close()
        return 0

    lsock.settimeout(TIMEOUT)
    # Accept everything first, then serve in accept (= handshake) order.
    conns = [lsock.accept()[0] for _ in range(args.count)]
    lsock.close()
    for conn in conns:
        conn.settimeout(TIMEOUT)
        read_request(conn)
        conn.sendall(REPLY)
        # The server closes first, so the server side ends in TIME_WAIT.
        conn.close()
    return 0


def client(args):
    family, dest = args.to
    conns = []
    for n, (src_family, src) in enumerate(args.sources, 1):
        if src_family != family:
            sys.exit(f"peer.py: source {src} and destination {dest} differ in family")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.bind(src)
        try:
            sock.connect(dest)
        except ConnectionRefusedError:
            if args.expect_refused:
                sock.close()
                continue
            raise
        if args.expect_refused:
            sys.exit(f"peer.py: connection {src} -> {dest} was accepted, expected a reset")
        conns.append((n, sock))

    for n, sock in conns:
        sock.sendall(f"GET /{n} HTTP/1.0\r\n\r\n".encode())
        reply = read_to_eof(sock)
        if reply != REPLY:
            sys.exit(f"peer.py: unexpected reply {reply!r}")
        sock.close()
    return 0


def probe(args):
    """One UDP datagram, used by capture.sh as a marker in the raw capture."""
    family, dest = args.to
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"tcpdemux-probe", dest)
    return 0


def offload_off(args):
    """Same effect as `ethtool -K IFACE tx off rx off`, for machines without
    ethtool: the legacy SIOCETHTOOL ioctl with ETHTOOL_STXCSUM/SRXCSUM."""
    siocethtool = 0x8946
    commands = {"tx": 0x00000017, "rx": 0x00000015}  # ETHTOOL_S{TX,RX}CSUM
    name = args.iface.encode()
    if len(name) >= 16:
        sys.exit(f"peer.py: interface name too long: {args.iface}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for what, cmd in commands.items():
            value = array.array("I", [cmd, 0])  # struct ethtool_value
            ifreq = struct.pack("16sP", name, value.buffer_info()[0])
            ifreq += b"\0" * (40 - len(ifreq))
            try:
                fcntl.ioctl(sock.fileno(), siocethtool, ifreq)
            except OSError as err:
                sys.exit(f"peer.py: turning {what} checksum offload off on {args.iface}: {err}")
    return 0


def main():
    parser = argparse.ArgumentParser(description="TCP peer for traces/capture.sh")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("server", help="listen, accept, read a request, reply, close")
    p.add_argument("--listen", type=endpoint, required=True, metavar="ADDR:PORT")
    p.add_argument("--backlog", type=int, default=8)
    p.add_argument("--count", type=int, default=1, help="connections to serve")
    p.add_argument("--no-accept", action="store_true", help="listen but never accept")
    p.add_argument("--hold", type=float, default=2.0,
                   help="with --no-accept: seconds to keep the listener open")
    p.add_argument("--ready", metavar="FILE", help="created once the socket listens")
    p.set_defaults(func=server)

    p = sub.add_parser("client", help="connect, send a request, read the reply, close")
    p.add_argument("--to", type=endpoint, required=True, metavar="ADDR:PORT")
    p.add_argument("--from", dest="sources", type=endpoint, action="append",
                   required=True, metavar="ADDR:PORT", help="one per connection")
    p.add_argument("--expect-refused", action="store_true",
                   help="the connection must be refused (RST)")
    p.set_defaults(func=client)

    p = sub.add_parser("probe", help="send one UDP datagram")
    p.add_argument("--to", type=endpoint, required=True, metavar="ADDR:PORT")
    p.set_defaults(func=probe)

    p = sub.add_parser("offload-off", help="turn tx/rx checksum offload off")
    p.add_argument("iface")
    p.set_defaults(func=offload_off)

    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
