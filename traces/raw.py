#!/usr/bin/python3
"""Hand-made TCP segments for traces/capture.sh (needs python3-scapy).

  raw.py SCENARIO [--iface IF] [--src ADDR] [--src-mac MAC] [--dst-mac MAC]

Runs in the client namespace and speaks for a source address that nobody
owns (10.0.0.50 by default). The server has a static neighbour entry that
sends its answers for that address to the client veth's MAC, where this
script reads them; the client kernel does not own the address and, with
forwarding off, drops them without an answer. So the only TCP on the wire
is what this script sends and what the server kernel answers, with the
sequence numbers and timing chosen here.

Each scenario prints one "check" line per expected kernel reaction:
"check ok" or "check DIFFERS" (a difference is a finding, not a failure).
The script fails only when an answer it needs to go on (a SYN-ACK whose
sequence number it must acknowledge) never comes.
"""

import argparse
import logging
import socket
import sys
import threading
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

SERVER = "10.0.0.1"
ETH_P_ALL = 0x0003
REQUEST = b"GET / HTTP/1.0\r\n\r\n"
M32 = 0xFFFFFFFF

# SYN options: what a Linux client offers, the same without timestamps, and
# the bare MSS that simple tools send.
LINUX = "linux"
NO_TS = "no-ts"
MSS_ONLY = "mss"

problems = []


def check(ok, what):
    print(f"  check {'ok' if ok else 'DIFFERS'}: {what}", flush=True)
    if not ok:
        problems.append(what)


def describe(pkt):
    t = pkt[TCP]
    text = f"{pkt[IP].src}:{t.sport} > {pkt[IP].dst}:{t.dport} [{t.flags}] seq {t.seq}"
    if t.flags.A:
        text += f" ack {t.ack}"
    if len(t.payload):
        text += f" len {len(t.payload)}"
    return text


class Wire:
    """An AF_PACKET socket on the client veth: frames out, server segments in.

    The socket is open before the first frame is sent, so no answer can be
    missed; a thread files every TCP segment from the server as it comes."""

    def __init__(self, iface, src_mac, dst_mac):
        self.src_mac, self.dst_mac = src_mac, dst_mac
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.seen = []
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data, addr = self.sock.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            pkt = Ether(data)
            if IP in pkt and TCP in pkt and pkt[IP].src == SERVER:
                with self.cond:
                    self.seen.append(pkt)
                    self.cond.notify_all()

    def now(self):
        return time.monotonic() - self.t0

    def at(self, t):
        """Sleep until t seconds after the start."""
        delay = self.t0 + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def mark(self):
        with self.cond:
            return len(self.seen)

    def send(self, pkt):
        self.sock.send(bytes(Ether(src=self.src_mac, dst=self.dst_mac) / pkt))

    def wait(self, pred, since, timeout=2.0):
        """The first server segment at index >= since that pred accepts."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for pkt in self.seen[since:]:
                    if pred(pkt):
                        return pkt
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def answers(self, pred, since):
        with self.cond:
            return [p for p in self.seen[since:] if pred(p)]


class Conn:
    """One client 4-tuple, with its own sequence numbers."""

    def __init__(self, wire, src, sport, dport, isn, opts=LINUX):
        self.w, self.src, self.sport, self.dport = wire, src, sport, dport
        self.iss = isn
        self.snd_nxt = isn
        self.opts = opts
        self.irs = None
        self.rcv_nxt = 0
        self.ts_on = False
        self.ts_recent = 0
        self.wscale = opts != MSS_ONLY

    def ours(self, pkt):
        return (pkt[IP].dst == self.src and pkt[TCP].dport == self.sport
                and pkt[TCP].sport == self.dport)

    def tsval(self):
        return 100000 + int(self.w.now() * 1000)

    def syn_options(self):
        if self.opts == LINUX:
            return [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (self.tsval(), 0)),
                    ("NOP", None), ("WScale", 7)]
        if self.opts == NO_TS:
            return [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""),
                    ("NOP", None), ("WScale", 7)]
        return [("MSS", 1460)]

    def segment(self, flags, seq=None, ack=None, data=b"", options=None, urgptr=0):
        if options is None:
            options = []
            if self.ts_on:
                options = [("NOP", None), ("NOP", None),
                           ("Timestamp", (self.tsval(), self.ts_recent))]
        window = 502 if (self.wscale and "S" not in flags) else 64240
        if ack is None:
            ack = self.rcv_nxt if "A" in flags else 0
        pkt = IP(src=self.src, dst=SERVER) / TCP(
            sport=self.sport, dport=self.dport, flags=flags,
            seq=self.snd_nxt if seq is None else seq, ack=ack, window=window,
            options=options, urgptr=urgptr)
        if data:
            pkt = pkt / Raw(data)
        return pkt

    def send(self, flags, data=b"", **kw):
        pkt = self.segment(flags, data=data, **kw)
        self.w.send(pkt)
        if "seq" not in kw:
            self.snd_nxt = (self.snd_nxt + len(data) + ("S" in flags) + ("F" in flags)) & M32
        return pkt

    def syn(self):
        self.snd_nxt = self.iss
        return self.send("S", options=self.syn_options())

    def learn(self, pkt):
        t = pkt[TCP]
        end = (t.seq + len(t.payload) + bool(t.flags.S) + bool(t.flags.F)) & M32
        if self.irs is None or ((end - self.rcv_nxt) & M32) < 0x80000000:
            self.rcv_nxt = end
        for name, value in t.options:
            if name == "Timestamp":
                self.ts_recent = value[0]

    def synack(self, since, timeout=2.0, need=True):
        pkt = self.w.wait(lambda p: self.ours(p) and p[TCP].flags == "SA", since, timeout)
        if pkt is None:
            if need:
                sys.exit(f"raw.py: no SYN-ACK for {self.src}:{self.sport}")
            return None
        self.irs = pkt[TCP].seq
        self.rcv_nxt = (self.irs + 1) & M32
        self.ts_on = any(name == "Timestamp" for name, _ in pkt[TCP].options)
        self.learn(pkt)
        return pkt

    def handshake(self):
        since = self.w.mark()
        self.syn()
        pkt = self.synack(since)
        self.send("A")
        return pkt

    def converse(self):
        """Send a request on an established connection, take the server's
        reply and FIN, close our side and wait for the last ACK, which puts
        the server in TIME_WAIT."""
        since = self.w.mark()
        self.send("PA", data=REQUEST)
        fin = self.w.wait(lambda p: self.ours(p) and p[TCP].flags.F, since, 3.0)
        if fin is None:
            sys.exit(f"raw.py: no FIN from the server on {self.src}:{self.sport}")
        for pkt in self.w.answers(self.ours, since):
            self.learn(pkt)
        since = self.w.mark()
        self.send("FA")
        last = self.w.wait(lambda p: self.ours(p) and p[TCP].ack == self.snd_nxt, since)
        check(last is not None and last[TCP].flags == "A",
              f"{self.src}:{self.sport}: our FIN is acknowledged (server in TIME_WAIT)")
        if last is not None:
            self.learn(last)


def expect(w, conn, since, want, what):
    """Check what the server sent on conn's 4-tuple since `since`:
    want is None for silence, else (flags, seq or None, ack or None)."""
    got = w.answers(conn.ours, since)
    if want is None:
        check(not got, f"{what}: no answer" + (f" (got {describe(got[0])})" if got else ""))
        return
    flags, seq, ack = want
    ok = len(got) == 1 and got[0][TCP].flags == flags
    if ok and seq is not None:
        ok = got[0][TCP].seq == seq
    if ok and ack is not None:
        ok = got[0][TCP].ack == ack
    wanted = f"[{flags}]" + (f" seq {seq}" if seq is not None else "") + \
        (f" ack {ack}" if ack is not None else "")
    seen = "; ".join(describe(p) for p in got) or "nothing"
    check(ok, f"{what}: {wanted} (got {seen})")


def strays(w, src, dport, cases, gap=0.05, settle=0.3):
    """Send each case on its own 4-tuple, then compare the answers."""
    sent = []
    for n, (what, flags, seq, ack, data, want) in enumerate(cases):
        w.at(n * gap)
        conn = Conn(w, src, 50001 + n, dport, seq, MSS_ONLY)
        since = w.mark()
        conn.send(flags, data=data, seq=seq, ack=ack, options=[],
                  urgptr=1 if "U" in flags else 0)
        sent.append((conn, since, what, want))
    w.at(len(cases) * gap + settle)
    for conn, since, what, want in sent:
        expect(w, conn, since, want, what)


def closed_port_strays(w, src):
    d = b"0123456789"
    # (what, flags, seq, ack, data, expected answer)
    cases = [
        ("SYN", "S", 1000, 0, b"", ("RA", 0, 1001)),
        ("bare ACK", "A", 2000, 5000, b"", ("R", 5000, None)),
        ("FIN alone", "F", 3000, 0, b"", ("RA", 0, 3001)),
        ("FIN|ACK", "FA", 4000, 6000, b"", ("R", 6000, None)),
        ("SYN|ACK", "SA", 5000, 7000, b"", ("R", 7000, None)),
        ("RST", "R", 6000, 0, b"", None),
        ("RST|ACK", "RA", 7000, 8000, b"", None),
        ("PSH|ACK, 10 bytes", "PA", 8000, 9000, d, ("R", 9000, None)),
        ("PSH, 10 bytes, no ACK", "P", 9000, 0, d, ("RA", 0, 9010)),
        ("SYN|FIN", "SF", 10000, 0, b"", ("RA", 0, 10002)),
        ("URG|ACK, 1 byte", "UA", 11000, 12000, b"!", ("R", 12000, None)),
        ("no flags", "", 12000, 0, b"", ("RA", 0, 12000)),
        ("FIN|PSH|URG (xmas)", "FPU", 13000, 0, b"", ("RA", 0, 13001)),
        ("SYN with 10 bytes", "S", 14000, 0, d, ("RA", 0, 14011)),
        ("SYN|RST", "SR", 15000, 0, b"", None),
        ("SYN|ECE|CWR", "SEC", 16000, 0, b"", ("RA", 0, 16001)),
        ("FIN|PSH|ACK, 5 bytes", "FPA", 17000, 18000, d[:5], ("R", 18000, None)),
        ("ACK with ack 0", "A", 18000, 0, b"", ("R", 0, None)),
    ]
    strays(w, src, 81, cases)


def listen_strays(w, src):
    d = b"0123456789"
    cases = [
        ("ACK, no handshake", "A", 1000, 5000, b"", ("R", 5000, None)),
        ("RST", "R", 2000, 0, b"", None),
        ("SYN|FIN", "SF", 3000, 0, b"", None),
        ("FIN alone", "F", 4000, 0, b"", None),
        ("FIN|ACK", "FA", 5000, 6000, b"", ("R", 6000, None)),
        ("PSH|ACK, 10 bytes", "PA", 6000, 7000, d, ("R", 7000, None)),
        ("PSH, 10 bytes, no ACK", "P", 7000, 0, d, None),
        ("RST|ACK", "RA", 8000, 9000, b"", None),
        ("SYN|ACK", "SA", 9000, 10000, b"", ("R", 10000, None)),
        ("no flags", "", 10000, 0, b"", None),
    ]
    strays(w, src, 80, cases)
    # A SYN carrying data: a SYN-ACK that acknowledges only the SYN, then an
    # in-window RST that removes the request without an answer.
    t = len(cases) * 0.05 + 0.4
    w.at(t)
    conn = Conn(w, src, 50101, 80, 20000, MSS_ONLY)
    since = w.mark()
    conn.send("S", data=b"0123456789", options=conn.syn_options())
    pkt = conn.synack(since)
    check(pkt[TCP].ack == 20001, f"SYN with 10 bytes: SYN-ACK ack {pkt[TCP].ack} (ISN+1, data not taken)")
    conn.snd_nxt = 20001
    w.at(t + 0.1)
    since = w.mark()
    conn.send("R", options=[])
    w.at(t + 0.3)
    expect(w, conn, since, None, "in-window RST to the request")
    # Then a normal connection: the listener still works and is served.
    w.at(t + 0.4)
    conn = Conn(w, src, 50102, 80, 30000, LINUX)
    conn.handshake()
    conn.converse()


def overflow_order(w, src, abort):
    """SYN1 SYN2 ACK1 SYN3 ACK2 ACK3 against a backlog-1 listener that never
    accepts: ACK3 finds the accept queue full (2 = backlog+1)."""
    conns = [Conn(w, src, 50001 + i, 80, (i + 1) * 1000000, LINUX) for i in range(3)]
    synacks = {}

    def syn(i, t):
        w.at(t)
        since = w.mark()
        conns[i].syn()
        synacks[i] = conns[i].synack(since)

    syn(0, 0.0)
    syn(1, 0.1)
    w.at(0.2)
    conns[0].send("A")
    syn(2, 0.3)
    w.at(0.4)
    conns[1].send("A")
    w.at(0.5)
    since = w.mark()
    ack3 = conns[2].send("A")
    w.at(4.0)
    got = w.answers(conns[2].ours, since)
    if abort:
        want = (ack3[TCP].ack, "R")
        check(len(got) == 1 and (got[0][TCP].seq, str(got[0][TCP].flags)) == want,
              f"ACK3 answered by RST seq {ack3[TCP].ack} = ACK3's ack, no ACK flag "
              f"(got {'; '.join(describe(p) for p in got) or 'nothing'})")
    else:
        first = synacks[2].time
        rtx = [round(p.time - first, 2) for p in got if p[TCP].flags == "SA"]
        check(len(got) == len(rtx) == 2 and all(p[TCP].seq == conns[2].irs for p in got),
              f"ACK3 dropped; SYN-ACK 3 resent (same ISN) at +{rtx} s after the first")
    for i in (0, 1):
        check(not w.answers(conns[i].ours, since),
              f"request {i + 1} completed: no retransmitted SYN-ACK")


def syncookies_2(w, src):
    # The SYN without timestamps first: the server stops listening once it
    # has served the two complete connections.
    conn = Conn(w, src, 50003, 80, 3000000, NO_TS)
    since = w.mark()
    conn.syn()
    pkt = conn.synack(since)
    check([name for name, _ in pkt[TCP].options] == ["MSS"],
          f"SYN without TS (mss, sackOK, wscale): cookie SYN-ACK options {pkt[TCP].options}")
    nots = (conn, since)
    for n, port in enumerate((50001, 50002)):
        w.at(0.2 + n * 0.3)
        conn = Conn(w, src, port, 80, (n + 1) * 1000000, LINUX)
        pkt = conn.handshake()
        ts = dict(pkt[TCP].options).get("Timestamp")
        # The cookie keeps wscale and SACK in the low 6 bits of the TSval
        # before the connection's TS offset is added, so they are not
        # readable on the wire.
        check(ts is not None, f"cookie SYN-ACK {n + 1} carries TS (val {ts[0] if ts else '-'}, "
                              f"low 6 bits {ts[0] & 63 if ts else '-'})")
        conn.converse()
    w.at(2.0)
    conn, since = nots
    got = w.answers(conn.ours, since)
    check(len(got) == 1, f"no SYN-ACK retransmitted for the cookie without TS (got {len(got)})")


def syn_burst(w, src):
    conns = [Conn(w, src, 50001 + i, 80, (i + 1) * 1000000, LINUX) for i in range(40)]
    since = w.mark()
    for i, conn in enumerate(conns):
        w.at(i * 0.005)
        conn.syn()
    w.at(2.0)
    sent = {}
    for pkt in w.answers(lambda p: p[TCP].flags == "SA", since):
        sent.setdefault(pkt[TCP].dport, []).append(pkt)
    resent = sorted(port - 50000 for port, pkts in sent.items() if len(pkts) > 1)
    check(len(sent) == 40, f"{len(sent)} of 40 SYNs answered with a SYN-ACK")
    check(resent == list(range(1, 10)),
          f"SYN-ACKs retransmitted (requests) for SYNs {resent}; the other "
          f"{len(sent) - len(resent)} are cookies, sent once")


def synack_retries(w, src):
    conn = Conn(w, src, 50001, 80, 1000000, LINUX)
    since = w.mark()
    conn.syn()
    first = conn.synack(since)
    conn.snd_nxt = conn.iss + 1
    w.at(8.0)
    times = [round(p.time - first.time, 2) for p in w.answers(conn.ours, since)]
    check(len(times) == 3, f"SYN-ACKs at +{times} s (expected 0, 1, 3)")
    since = w.mark()
    ack = conn.send("A")
    w.at(8.5)
    expect(w, conn, since, ("R", ack[TCP].ack, None), "ACK after the request expired")


def dup_syn_wrong_ack_rst(w, src):
    a = Conn(w, src, 50001, 80, 1000000, LINUX)
    since = w.mark()
    a.syn()
    a.synack(since)
    w.at(0.6)
    since = w.mark()
    a.syn()
    again = a.w.wait(lambda p: a.ours(p) and p[TCP].flags == "SA", since)
    check(again is not None and again[TCP].seq == a.irs,
          "duplicate SYN after 0.6 s: the same SYN-ACK again at once")
    w.at(0.8)
    since = w.mark()
    wrong = a.send("A", ack=(a.irs + 1000) & M32)
    w.at(0.9)
    expect(w, a, since, ("R", wrong[TCP].ack, None), "ACK with a wrong ack number")
    # The answer to the duplicate SYN restarted the 1 s timer, so nothing
    # is resent at 1 s; the right ACK comes before the new deadline (1.6 s).
    w.at(1.3)
    expect(w, a, since, ("R", wrong[TCP].ack, None),
           "no SYN-ACK resent at 1 s (timer restarted at 0.6 s)")
    since = w.mark()
    a.send("A")
    w.at(1.5)
    expect(w, a, since, None, "the right ACK (request survived: established)")

    b = Conn(w, src, 50002, 80, 2000000, LINUX)
    since = w.mark()
    b.syn()
    b.synack(since)
    w.at(1.7)
    since = w.mark()
    b.send("R", options=[])
    w.at(1.9)
    expect(w, b, since, None, "in-window RST to the request")
    b.snd_nxt = b.iss + 1
    ack = b.send("A")
    w.at(2.1)
    expect(w, b, since, ("R", ack[TCP].ack, None), "its ACK after the RST (request gone)")


def time_wait(w, src):
    conn = Conn(w, src, 50001, 80, 1000000, LINUX)
    conn.handshake()
    conn.converse()
    tw_snd_nxt, tw_rcv_nxt = conn.rcv_nxt, conn.snd_nxt
    # Our FIN again, as if the server's last ACK had been lost.
    t = w.now() + 0.3
    w.at(t)
    since = w.mark()
    conn.send("FA", seq=(conn.snd_nxt - 1) & M32)
    w.at(t + 0.2)
    expect(w, conn, since, ("A", tw_snd_nxt, tw_rcv_nxt), "retransmitted FIN to TIME_WAIT")
    # A new SYN on the same 4-tuple, far above the old rcv_nxt.
    w.at(t + 0.4)
    conn = Conn(w, src, 50001, 80, (tw_rcv_nxt + 1000000) & M32, LINUX)
    since = w.mark()
    conn.syn()
    pkt = conn.synack(since)
    want = (tw_snd_nxt + 65537) & M32
    check(pkt[TCP].seq == want,
          f"SYN on the TIME_WAIT 4-tuple accepted: ISN {pkt[TCP].seq}, "
          f"old snd_nxt {tw_snd_nxt} + 65537 = {want}")
    conn.send("A")
    conn.converse()


SCENARIOS = {
    "closed-port-strays": closed_port_strays,
    "listen-strays": listen_strays,
    "abort-on-overflow-0": lambda w, src: overflow_order(w, src, abort=False),
    "abort-on-overflow-1": lambda w, src: overflow_order(w, src, abort=True),
    "syncookies-2": syncookies_2,
    "syn-burst": syn_burst,
    "synack-retries": synack_retries,
    "dup-syn-wrong-ack-rst": dup_syn_wrong_ack_rst,
    "time-wait-reuse": time_wait,
}


def main():
    parser = argparse.ArgumentParser(description="raw TCP segments for traces/capture.sh")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--iface", default="cli0")
    parser.add_argument("--src", default="10.0.0.50", help="an address nobody owns")
    parser.add_argument("--src-mac", default="02:00:00:00:00:02")
    parser.add_argument("--dst-mac", default="02:00:00:00:00:01")
    args = parser.parse_args()
    wire = Wire(args.iface, args.src_mac, args.dst_mac)
    SCENARIOS[args.scenario](wire, args.src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
