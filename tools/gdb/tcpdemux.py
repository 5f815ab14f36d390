# tcpdemux.py - gdb helpers for stepping through the stack.
#
# Load with:  gdb -x tools/gdb/tcpdemux.py --args build/tcpdemux demo two-clients
# (`make gdb-demo` does this, with breakpoints on the demultiplexing steps).
#
# Pretty-printers show the stack's structures the way the trace does:
#   struct ip_addr       10.0.0.1
#   struct sock_common   10.0.0.1:80 <- 10.0.0.2:1234 ESTABLISHED (#2)
#   struct sock          sock #2 fd 4: 10.0.0.1:80 <- 10.0.0.2:1234 ESTABLISHED
#                        (a listener: its backlog and both queues)
#   struct request_sock  request #4: 10.0.0.1:80 <- 10.0.0.2:1235 SYN_RECV, listener #1
#   struct tw_sock       TIME_WAIT #5: 10.0.0.1:80 <- 10.0.0.2:1234
#   struct listen_state  backlog 8, SYN queue 1 [#4], accept queue 2 [#2 #3]
#   struct segment       10.0.0.2:1234 > 10.0.0.1:80 S seq 1000 ack 0 len 0
# Commands:
#   tcpdemux-tables [STACK]       the listen table and the ehash of a struct stack *
#                                 (default: the variable `st` of the current frame)
#   tcpdemux-bucket STACK N       one ehash chain, in the order a lookup walks it

import gdb

STATES = ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1",
          "FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]
SK_FULL, SK_REQUEST, SK_TW = 1, 2, 3
FLAGS = "FSRPAUEC"


def addr_str(a):
    fam = int(a["family"])
    b = [int(a["a"][i]) & 0xff for i in range(16)]
    if fam == 6:
        words = ["%x" % (b[i] << 8 | b[i + 1]) for i in range(0, 16, 2)]
        # collapse the longest run of zero words, as inet_ntop does
        best, bl, i = -1, 0, 0
        while i < 8:
            if words[i] == "0":
                j = i
                while j < 8 and words[j] == "0":
                    j += 1
                if j - i > bl and j - i > 1:
                    best, bl = i, j - i
                i = j
            else:
                i += 1
        if best >= 0:
            return ":".join(words[:best]) + "::" + ":".join(words[best + bl:])
        return ":".join(words)
    return "%d.%d.%d.%d" % tuple(b[:4])


def endpoint(a, port):
    s = addr_str(a)
    return ("[%s]:%d" if int(a["family"]) == 6 else "%s:%d") % (s, int(port))


def state_name(v):
    v = int(v)
    return STATES[v] if 0 <= v < len(STATES) else "?"


def common_str(c):
    return "%s <- %s %s" % (endpoint(c["laddr"], c["lport"]), endpoint(c["raddr"], c["rport"]),
                            state_name(c["state"]))


def container(ptr, typename):
    """The full object behind a struct sock_common * (it is always the first member)."""
    return ptr.cast(gdb.lookup_type(typename).pointer()).dereference()


def entry_str(cptr):
    c = cptr.dereference()
    kind = int(c["kind"])
    if kind == SK_REQUEST:
        return str(container(cptr, "struct request_sock"))
    if kind == SK_TW:
        return str(container(cptr, "struct tw_sock"))
    return str(container(cptr, "struct sock"))


def sock_list(head, next_field):
    ids, p, n = [], head, 0
    while int(p) != 0 and n < 10000:
        ids.append("#%d" % int(p.dereference()["c"]["id"]))
        p = p.dereference()[next_field]
        n += 1
    return "[" + " ".join(ids) + "]"


class IpAddrPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        return addr_str(self.v)


class SockCommonPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        return "%s (#%d)" % (common_str(self.v), int(self.v["id"]))


class ListenStatePrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        v = self.v
        return "backlog %d, SYN queue %d %s, accept queue %d %s" % (
            int(v["backlog"]), int(v["qlen"]), sock_list(v["syn_head"], "syn_next"),
            int(v["ack_backlog"]), sock_list(v["acc_head"], "acc_next"))


class SockPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        v = self.v
        c = v["c"]
        fd = int(v["fd"])
        fds = ("fd %d" % fd) if fd >= 0 else "no fd"
        if int(c["state"]) == 1 and int(v["ls"]) != 0:
            return "listener #%d %s %s: %s" % (int(c["id"]), fds, endpoint(c["laddr"], c["lport"]),
                                              str(v["ls"].dereference()))
        return "sock #%d %s: %s" % (int(c["id"]), fds, common_str(c))


class RequestPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        v = self.v
        l = v["listener"]
        lid = ("listener #%d" % int(l.dereference()["c"]["id"])) if int(l) != 0 else "no listener"
        return "request #%d: %s, %s" % (int(v["c"]["id"]), common_str(v["c"]), lid)


class TimeWaitPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        c = self.v["c"]
        return "TIME_WAIT #%d: %s <- %s" % (int(c["id"]), endpoint(c["laddr"], c["lport"]),
                                            endpoint(c["raddr"], c["rport"]))


class SegmentPrinter:
    def __init__(self, v):
        self.v = v

    def to_string(self):
        v = self.v
        f = int(v["flags"])
        flags = "".join(FLAGS[i] for i in range(8) if f & (1 << i))
        return "%s > %s %s seq %d ack %d len %d" % (
            endpoint(v["src"], v["sport"]), endpoint(v["dst"], v["dport"]), flags or "-",
            int(v["seq"]), int(v["ack"]), int(v["len"]))


PRINTERS = {
    "ip_addr": IpAddrPrinter,
    "sock_common": SockCommonPrinter,
    "listen_state": ListenStatePrinter,
    "sock": SockPrinter,
    "request_sock": RequestPrinter,
    "tw_sock": TimeWaitPrinter,
    "segment": SegmentPrinter,
}


def lookup(val):
    t = val.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_STRUCT or t.tag not in PRINTERS:
        return None
    return PRINTERS[t.tag](val)


def stack_arg(arg):
    expr = arg.strip() or "st"
    try:
        st = gdb.parse_and_eval(expr)
    except gdb.error:
        raise gdb.GdbError("no struct stack * called '%s' here; give one: tcpdemux-tables EXPR" % expr)
    if st.type.code != gdb.TYPE_CODE_PTR:
        st = st.address
    return st.dereference()


class TablesCommand(gdb.Command):
    """Print the listen table and the ehash of a stack: tcpdemux-tables [STACK]."""

    def __init__(self):
        super().__init__("tcpdemux-tables", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        st = stack_arg(arg)
        lt = st["lt"]
        print("listen table:")
        l = lt["first"]
        n = 0
        while int(l) != 0:
            print("  " + str(l.dereference()))
            l = l.dereference()["ls"].dereference()["all_next"]
            n += 1
        if n == 0:
            print("  (none)")
        eh = st["ehash"]
        mask = int(eh["mask"])
        print("ehash (%d buckets; entries: %d):" % (mask + 1, int(eh["count"])))
        shown = 0
        for b in range(mask + 1):
            c = eh["b"][b]
            while int(c) != 0:
                print("  [0x%x] %s" % (b, entry_str(c)))
                c = c.dereference()["next"]
                shown += 1
        if shown == 0:
            print("  (empty)")


class BucketCommand(gdb.Command):
    """Print one ehash chain as a lookup walks it: tcpdemux-bucket STACK N."""

    def __init__(self):
        super().__init__("tcpdemux-bucket", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        parts = arg.split()
        if len(parts) != 2:
            raise gdb.GdbError("usage: tcpdemux-bucket STACK N")
        st = stack_arg(parts[0])
        b = int(gdb.parse_and_eval(parts[1])) & int(st["ehash"]["mask"])
        c = st["ehash"]["b"][b]
        i = 0
        while int(c) != 0:
            i += 1
            print("  %d. %s" % (i, entry_str(c)))
            c = c.dereference()["next"]
        if i == 0:
            print("  bucket 0x%x is empty" % b)


gdb.pretty_printers.append(lookup)
TablesCommand()
BucketCommand()
