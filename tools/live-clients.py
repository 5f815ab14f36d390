#!/usr/bin/python3
"""live-clients.py - real Linux TCP clients for `tcpdemux live`.

Run inside the network namespace where `tcpdemux live` runs (tools/live-demo.sh
and tests/check_live.c do). Every client is an ordinary kernel socket, so what
the stack sees is the kernel's own TCP: its options, its retransmission
schedule, its ACKs.

  echo N      N clients at once: each connects, sends a message of its own,
              reads it back, checks it byte for byte, closes. Exit status 0
              only when every reply was right.
  hold N      N clients, one every --gap seconds, each a non-blocking connect();
              all are held open for --hold seconds, then closed. Prints which
              connected. For `--app never`: the first backlog+1 connect, the
              others' SYNs are retransmitted by the kernel on its own schedule.
  http N      N requests with the standard library's HTTP client; prints the
              first response's body.

Each line of output is "client I: ..." or a final "summary: ..." line. Every
socket has a timeout (--timeout), so nothing waits forever.
"""
import argparse
import http.client
import select
import socket
import sys
import threading
import time


def echo_client(i, host, port, size, timeout, results):
    msg = (f"client {i:04d} says hello; ".encode() * (size // 24 + 1))[:size]
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            s.shutdown(socket.SHUT_WR)
            # The server closes after our FIN: read to its end of stream.
            while s.recv(65536):
                pass
        results[i] = "ok" if got == msg else f"wrong reply ({len(got)} bytes of {len(msg)})"
    except OSError as e:
        results[i] = f"error: {e}"


def run_echo(args):
    results = [None] * args.count
    start = threading.Barrier(args.count)

    def client(i):
        try:
            start.wait(args.timeout)  # all connect at once
        except threading.BrokenBarrierError:
            pass
        echo_client(i, args.host, args.port, args.size, args.timeout, results)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.timeout * 3)
    bad = 0
    for i, r in enumerate(results):
        if r != "ok":
            bad += 1
            print(f"client {i}: {r or 'no answer in time'}")
    print(f"summary: {args.count - bad} of {args.count} echo replies correct")
    return 0 if bad == 0 else 1


def run_hold(args):
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    socks = []
    for i in range(args.count):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((args.host, args.port))
        socks.append(s)
        print(f"client {i}: connect() from port {s.getsockname()[1]}: "
              f"{'in progress' if err in (115, 11) else err}", flush=True)
        time.sleep(args.gap)
    deadline = time.monotonic() + args.hold
    connected = set()
    while time.monotonic() < deadline:
        pending = [s for s in socks if s not in connected]
        if not pending:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            continue
        _, w, _ = select.select([], pending, [], max(0.0, min(0.05, deadline - time.monotonic())))
        for s in w:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.add(s)
                print(f"client {socks.index(s)}: connected "
                      f"(port {s.getsockname()[1]})", flush=True)
    for s in socks:
        s.close()
    print(f"summary: {len(connected)} of {args.count} connected within {args.hold} s")
    return 0


def run_http(args):
    bad = 0
    for i in range(args.count):
        try:
            c = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read().decode(errors="replace")
            if i == 0:
                print(f"client {i}: {r.status} {r.reason}: {body.strip()}")
            if r.status != 200:
                bad += 1
            c.close()
        except OSError as e:
            bad += 1
            print(f"client {i}: error: {e}")
    print(f"summary: {args.count - bad} of {args.count} HTTP requests answered")
    return 0 if bad == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["echo", "hold", "http"])
    p.add_argument("count", type=int)
    p.add_argument("--host", default="10.9.0.1")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--size", type=int, default=100, help="echo: bytes each client sends")
    p.add_argument("--gap", type=float, default=0.1, help="hold: seconds between clients")
    p.add_argument("--hold", type=float, default=3.0, help="hold: seconds to keep them open")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds any socket may wait")
    args = p.parse_args()
    if args.count < 1:
        p.error("count must be at least 1")
    return {"echo": run_echo, "hold": run_hold, "http": run_http}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
