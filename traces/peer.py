#!/usr/bin/python3
"""Tiny TCP peer for traces/capture.sh (standard library only).

  peer.py server --listen ADDR:PORT [--listen ADDR:PORT ...] [--backlog N]
                 [--reuseport N] [--count K] [--no-accept] [--hold SECONDS]
                 [--ready FILE]
  peer.py client --to ADDR:PORT --from ADDR:PORT [--from ADDR:PORT ...]
                 [--expect-refused] [--serial [--pause SECONDS]] [--reuseaddr]
  peer.py connect --to ADDR:PORT --from ADDR:PORT [--from ...] [--gap S] [--hold S]
  peer.py probe --to ADDR:PORT
  peer.py offload-off IFACE

IPv6 addresses are written in brackets: [fd00::1]:80.

The client opens every connection first and only then talks on each one in
turn, so all of them sit in the server's established table together (the
point of the two-clients capture) while the packet order stays predictable.
With --serial it finishes each connection before opening the next (for
reusing one 4-tuple). `connect` only starts the handshakes and then holds the
sockets, for captures of a listener that never accepts.

The server serves every accepted connection as soon as its request is
complete: read up to the blank line, send a fixed reply, close first (so the
server ends in TIME_WAIT).
"""

import argparse
import array
import fcntl
import os
import selectors
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


def read_to_eof(conn):
    data = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk


def open_listeners(args):
    socks = []
    for family, addr in args.listen:
        for _ in range(args.reuseport or 1):
            lsock = socket.socket(family, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if args.reuseport:
                lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            lsock.bind(addr)
            lsock.listen(args.backlog)
            socks.append(lsock)
    return socks


def server(args):
    listeners = open_listeners(args)
    # The ready file is written only after listen(), so the script never
    # starts a client against a port that is not yet listening.
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready + ".tmp", args.ready)

    if args.no_accept:
        # Leave handshakes in the queues for the kernel alone to handle.
        time.sleep(args.hold if args.hold is not None else 2.0)
        for lsock in listeners:
            lsock.close()
        return 0

    # One loop for every listener and connection: with several listeners
    # (reuseport, or more than one address) the order in which clients talk
    # cannot block the server.
    deadline = time.monotonic() + (args.hold if args.hold is not None else 2 * TIMEOUT)
    sel = selectors.DefaultSelector()
    for lsock in listeners:
        lsock.setblocking(False)
        sel.register(lsock, selectors.EVENT_READ, None)
    accepted = served = 0
    # Which listener took each connection: not visible on the wire, so it
    # is reported (for reuseport groups).
    per_listener = {lsock: 0 for lsock in listeners}
    while args.count == 0 or served < args.count:
        left = deadline - time.monotonic()
        if left <= 0:
            if args.count:
                sys.exit(f"peer.py: served {served} of {args.count} connections in time")
            break
        for key, _ in sel.select(left):
            sock = key.fileobj
            if key.data is None:  # a listener
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    continue
                accepted += 1
                per_listener[sock] += 1
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, [b""])
                if args.count and accepted == args.count:
                    # Nothing more to accept: stop listening, as a server
                    # that has done its work would.
                    for lsock in listeners:
                        sel.unregister(lsock)
                        lsock.close()
                continue
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                continue
            key.data[0] += chunk
            if chunk and b"\r\n\r\n" not in key.data[0]:
                continue
            sel.unregister(sock)
            sock.setblocking(True)
            sock.settimeout(TIMEOUT)
            sock.sendall(REPLY)
            # The server closes first, so the server side ends in TIME_WAIT.
            sock.close()
            served += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    if len(listeners) > 1:
        print(f"peer.py: connections accepted by each listener: {list(per_listener.values())}",
              file=sys.stderr)
    return 0


def new_socket(family, src, reuseaddr):
    sock = socket.socket(family, socket.SOCK_STREAM)
    if reuseaddr:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.settimeout(TIMEOUT)
    sock.bind(src)
    return sock


def talk(n, sock):
    sock.sendall(f"GET /{n} HTTP/1.0\r\n\r\n".encode())
    reply = read_to_eof(sock)
    if reply != REPLY:
        sys.exit(f"peer.py: unexpected reply {reply!r}")
    sock.close()


def client(args):
    family, dest = args.to
    conns = []
    for n, (src_family, src) in enumerate(args.sources, 1):
        if src_family != family:
            sys.exit(f"peer.py: source {src} and destination {dest} differ in family")
        if args.serial and n > 1:
            time.sleep(args.pause)
        sock = new_socket(family, src, args.reuseaddr)
        try:
            sock.connect(dest)
        except ConnectionRefusedError:
            if args.expect_refused:
                sock.close()
                continue
            raise
        if args.expect_refused:
            sys.exit(f"peer.py: connection {src} -> {dest} was accepted, expected a reset")
        if args.serial:
            talk(n, sock)
        else:
            conns.append((n, sock))

    for n, sock in conns:
        talk(n, sock)
    return 0


def connect_only(args):
    """Start a handshake from each source and hold the sockets: the kernel
    alone retries SYNs that get no answer."""
    family, dest = args.to
    socks = []
    for n, (src_family, src) in enumerate(args.sources):
        if src_family != family:
            sys.exit(f"peer.py: source {src} and destination {dest} differ in family")
        if n:
            time.sleep(args.gap)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(src)
        err = sock.connect_ex(dest)
        if err not in (0, 115):  # EINPROGRESS
            sys.exit(f"peer.py: connect from {src}: {os.strerror(err)}")
        socks.append(sock)
    time.sleep(args.hold)
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
    p.add_argument("--listen", type=endpoint, action="append", required=True,
                   metavar="ADDR:PORT", help="repeatable: one listener per address")
    p.add_argument("--backlog", type=int, default=8)
    p.add_argument("--reuseport", type=int, default=0, metavar="N",
                   help="open N listeners on each address with SO_REUSEPORT")
    p.add_argument("--count", type=int, default=1,
                   help="connections to serve (0: any number until --hold ends)")
    p.add_argument("--no-accept", action="store_true", help="listen but never accept")
    p.add_argument("--hold", type=float, default=None,
                   help="seconds to keep listening (--no-accept: default 2; "
                        f"otherwise the deadline for --count, default {2 * TIMEOUT:g})")
    p.add_argument("--ready", metavar="FILE", help="created once the sockets listen")
    p.set_defaults(func=server)

    p = sub.add_parser("client", help="connect, send a request, read the reply, close")
    p.add_argument("--to", type=endpoint, required=True, metavar="ADDR:PORT")
    p.add_argument("--from", dest="sources", type=endpoint, action="append",
                   required=True, metavar="ADDR:PORT", help="one per connection")
    p.add_argument("--expect-refused", action="store_true",
                   help="the connection must be refused (RST)")
    p.add_argument("--serial", action="store_true",
                   help="finish each connection before opening the next")
    p.add_argument("--pause", type=float, default=0.5,
                   help="with --serial: seconds between connections")
    p.add_argument("--reuseaddr", action="store_true", help="set SO_REUSEADDR before bind")
    p.set_defaults(func=client)

    p = sub.add_parser("connect", help="start handshakes and hold the sockets")
    p.add_argument("--to", type=endpoint, required=True, metavar="ADDR:PORT")
    p.add_argument("--from", dest="sources", type=endpoint, action="append",
                   required=True, metavar="ADDR:PORT", help="one per connection")
    p.add_argument("--gap", type=float, default=0.1, help="seconds between connects")
    p.add_argument("--hold", type=float, default=30.0, help="seconds to keep the sockets")
    p.set_defaults(func=connect_only)

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
