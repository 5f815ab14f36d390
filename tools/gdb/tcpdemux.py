# tcpdemux.py - gdb helpers for stepping through the stack.
#
# Load with:  gdb -x tools/gdb/tcpdemux.py --args build/tcpdemux-gdb demo two-clients
# (`make gdb-demo` does this, then runs tools/gdb/demo.gdb: docs/debugging.md).
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
#   struct stack         a one-line summary, then its non-zero counters by name
# and the structures that hold an enum in a small integer (struct lookup_info,
# in_ctx, event, sock_view, timer) with the enum's names: result = LOOKUP_LISTENER.
# Every name comes from the program's debug information, so none can go stale.
#
# Commands (tcpdemux-help lists them):
#   tcpdemux-next                 run to the next segment the observed stack receives
#   tcpdemux-break FUNC...        breakpoints that stop only for the observed stack
#   tcpdemux-tables [STACK]       the listen table and the ehash of a struct stack *
#                                 (default: the variable `st` of the current frame)
#   tcpdemux-bucket STACK N       one ehash chain, in the order a lookup walks it
#   tcpdemux-help                 where the program stopped, and what to type
#
# "The observed stack" is the one whose inbound segments are numbered: the
# server of a demo, the stack of a script, replay or synth. A demo's clients
# are stacks too, but their segments carry no number (stack_input() with
# frame -1), so their connect() and SYN-ACK lookups do not stop the program.
# A bad argument gives one line saying what is wrong, never a traceback.

import gdb

SK_FULL, SK_REQUEST, SK_TW = 1, 2, 3
FLAGS = "FSRPAUEC"
STEP_BREAKS = ["ehash_lookup", "listener_lookup", "syn_recv", "tcp_check_req",
               "accept_queue_push", "accept_pop"]

# ---- names from the debug information ------------------------------------------

_enums = {}


def enum_type(tag):
    """gdb's `enum TAG`, or None when the program has no such enum."""
    if tag not in _enums:
        try:
            _enums[tag] = gdb.lookup_type("enum " + tag)
        except gdb.error:
            _enums[tag] = None
    return _enums[tag]


def enum_name(tag, v, prefix=""):
    """The enumerator of `enum TAG` whose value is v, without prefix; "?" if none."""
    t = enum_type(tag)
    v = int(v)
    if t is not None:
        for f in t.fields():
            if f.enumval == v:
                return f.name[len(prefix):] if f.name.startswith(prefix) else f.name
    return "?(%d)" % v


def state_name(v):
    return enum_name("tcp_state", v, "TCP_")


def counter_names():
    """The counters' printed names ("InSegs", ...), read from the program's own table."""
    try:
        names = gdb.parse_and_eval("'stack.c'::counter_names")
    except gdb.error:
        return None
    lo, hi = names.type.range()
    return [names[i].string() for i in range(lo, hi + 1)]


# ---- formatting ------------------------------------------------------------------

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


def accept_ring(ls):
    """The accept queue's children, oldest first: a ring of acc_cap pointers from acc_first."""
    n, cap, first = int(ls["ack_backlog"]), int(ls["acc_cap"]), int(ls["acc_first"])
    ids = []
    for i in range(min(n, 10000)):
        ids.append("#%d" % int(ls["acc"][(first + i) & (cap - 1)].dereference()["c"]["id"]))
    return "[" + " ".join(ids) + "]"


def segment_str(v):
    f = int(v["flags"])
    flags = "".join(FLAGS[i] for i in range(8) if f & (1 << i))
    return "%s > %s %s seq %d ack %d len %d" % (
        endpoint(v["src"], v["sport"]), endpoint(v["dst"], v["dport"]), flags or "-",
        int(v["seq"]), int(v["ack"]), int(v["len"]))


# ---- printers --------------------------------------------------------------------

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
            int(v["ack_backlog"]), accept_ring(v))


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
        return segment_str(self.v)


# Fields that hold an enum in a small integer type: struct tag -> {field: enum tag}.
ENUM_FIELDS = {
    "lookup_info": {"result": "lookup_result"},
    "in_ctx": {"action": "seg_action", "reason": "counter"},
    "event": {"type": "event_type", "action": "seg_action", "reason": "counter",
              "old_state": "tcp_state"},
    "sock_view": {"state": "tcp_state"},
    "timer": {"kind": "timer_kind"},
}


class EnumFieldsPrinter:
    """A struct printed field by field, as gdb would, but with enum names for enum fields
    and one-byte integers as numbers (gdb shows a uint8_t as a character: 0 '\\000').

    A reason of -1 (no counter) stays -1."""

    def __init__(self, v, enums):
        self.v = v
        self.enums = enums

    def to_string(self):
        return None

    def children(self):
        for f in self.v.type.strip_typedefs().fields():
            val = self.v[f.name]
            tag = self.enums.get(f.name)
            t = f.type.strip_typedefs()
            if tag and enum_type(tag) is not None and int(val) >= 0:
                val = gdb.Value(int(val)).cast(enum_type(tag))
            elif t.code == gdb.TYPE_CODE_INT and t.sizeof == 1:
                val = int(val)
            yield f.name, val


class StackPrinter:
    """struct stack: what it holds, then its non-zero counters by name (print/r for every field)."""

    def __init__(self, v):
        self.v = v

    def to_string(self):
        v = self.v
        return "stack at %.6f s, nsocks %d, ehash %d entries in %d buckets, counters" % (
            int(v["now"]) / 1e9, int(v["nsocks"]), int(v["ehash"]["count"]),
            int(v["ehash"]["mask"]) + 1)

    def children(self):
        names = counter_names()
        cnt = self.v["counters"]
        lo, hi = cnt.type.range()
        for i in range(lo, hi + 1):
            n = int(cnt[i])
            if n:
                yield (names[i] if names else enum_name("counter", i, "CNT_")), n


PRINTERS = {
    "ip_addr": IpAddrPrinter,
    "sock_common": SockCommonPrinter,
    "listen_state": ListenStatePrinter,
    "sock": SockPrinter,
    "request_sock": RequestPrinter,
    "tw_sock": TimeWaitPrinter,
    "segment": SegmentPrinter,
    "stack": StackPrinter,
}


def lookup(val):
    t = val.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_STRUCT:
        return None
    if t.tag in PRINTERS:
        return PRINTERS[t.tag](val)
    if t.tag in ENUM_FIELDS:
        return EnumFieldsPrinter(val, ENUM_FIELDS[t.tag])
    return None


# ---- the observed stack ----------------------------------------------------------

_observed = set()  # addresses of stacks seen receiving numbered segments


def frame_stack():
    """The `st` of the selected frame as an int, and its frame number; None when it has none."""
    try:
        st = gdb.parse_and_eval("st")
    except gdb.error:
        return None
    t = st.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_PTR or t.target().strip_typedefs().tag != "stack" or int(st) == 0:
        return None
    return int(st), int(st.dereference()["frame"])


def on_observed_stack():
    """Is the selected frame working for the observed stack? (Learns it from numbered segments.)"""
    fs = frame_stack()
    if fs is None:
        return True  # nothing to tell by: stop
    addr, frame = fs
    if frame > 0:
        _observed.add(addr)
        return True
    return addr in _observed


def current_segment():
    """The segment being processed in the selected frame or one of its callers, with its number."""
    f = gdb.selected_frame()
    while f is not None:
        try:
            x = f.read_var("x")
            if x.type.strip_typedefs().code == gdb.TYPE_CODE_PTR and \
               x.type.strip_typedefs().target().strip_typedefs().tag == "in_ctx":
                st = f.read_var("st")
                return int(st.dereference()["frame"]), x.dereference()["seg"].dereference()
        except (gdb.error, ValueError):
            pass
        f = f.older()
    return None


class ObservedBreakpoint(gdb.Breakpoint):
    """A breakpoint that stops only when the observed stack gets there."""

    def stop(self):
        return on_observed_stack()


class SegmentArrival(gdb.Breakpoint):
    """tcpdemux-next's stop: tcp_demux() of the observed stack, for a numbered segment."""

    def stop(self):
        fs = frame_stack()
        return fs is not None and fs[1] > 0


# ---- commands --------------------------------------------------------------------

def one_line_errors(name):
    """Turns any failure inside a command into one line naming the command."""
    def wrap(invoke):
        def run(self, arg, from_tty):
            try:
                return invoke(self, arg, from_tty)
            except gdb.GdbError:
                raise
            except gdb.MemoryError as e:
                raise gdb.GdbError("%s: cannot read the program's memory there (%s)" % (name, e))
            except (gdb.error, ValueError, TypeError, AttributeError, IndexError) as e:
                raise gdb.GdbError("%s: %s" % (name, str(e).splitlines()[0] if str(e) else type(e).__name__))
        return run
    return wrap


def need_process(name):
    if gdb.selected_inferior().pid == 0:
        raise gdb.GdbError("%s: the program is not running (type run, or tcpdemux-next)" % name)


def stack_arg(expr, name):
    """The struct stack that expr names (a struct stack * or a struct stack)."""
    expr = expr.strip() or "st"
    need_process(name)
    try:
        st = gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise gdb.GdbError("%s: '%s' is not a struct stack * here (%s); every function on the path "
                           "has one called st" % (name, expr, str(e).rstrip(".")))
    t = st.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR and t.target().strip_typedefs().tag == "stack":
        if int(st) == 0:
            raise gdb.GdbError("%s: '%s' is a NULL struct stack *" % (name, expr))
        return st.dereference()
    if t.code == gdb.TYPE_CODE_STRUCT and t.tag == "stack":
        return st
    raise gdb.GdbError("%s: '%s' has type %s, not struct stack * (try st)" % (name, expr, st.type))


def ehash_entries(eh):
    """(bucket, entry) for every ehash entry, by bucket, each bucket newest first.

    A growing table holds fewer chains than buckets while it is small
    (stack/ehash.c): chain i & bmask then holds the entries of bucket i and
    of the buckets sharing its low bits, in the order bucket i's own chain
    would."""
    mask, bmask = int(eh["mask"]), int(eh["bmask"])
    found = []
    for i in range(bmask + 1):
        c = eh["b"][i]["head"]
        while int(c) != 0:
            found.append((int(c.dereference()["hash"]) & mask, len(found), c))
            c = c.dereference()["next"]
    found.sort(key=lambda e: (e[0], e[1]))
    return [(b, c) for b, _, c in found]


class TablesCommand(gdb.Command):
    """Print the listen table and the ehash of a stack: tcpdemux-tables [STACK].

STACK is a struct stack * (by default the variable st of the current frame)."""

    def __init__(self):
        super().__init__("tcpdemux-tables", gdb.COMMAND_DATA)

    @one_line_errors("tcpdemux-tables")
    def invoke(self, arg, from_tty):
        st = stack_arg(arg, "tcpdemux-tables")
        out = ["listen table:"]
        l = st["lt"]["first"]
        n = 0
        while int(l) != 0:
            out.append("  " + str(l.dereference()))
            l = l.dereference()["ls"].dereference()["all_next"]
            n += 1
        if n == 0:
            out.append("  (none)")
        eh = st["ehash"]
        mask = int(eh["mask"])
        out.append("ehash (%d buckets; entries: %d):" % (mask + 1, int(eh["count"])))
        shown = 0
        for b, c in ehash_entries(eh):
            out.append("  [0x%x] %s" % (b, entry_str(c)))
            shown += 1
        if shown == 0:
            out.append("  (empty)")
        gdb.write("\n".join(out) + "\n")


class BucketCommand(gdb.Command):
    """Print one ehash chain as a lookup walks it: tcpdemux-bucket STACK N.

N is the bucket number (0x86bf or 34495), as the trace and x->lookup.bucket show it."""

    def __init__(self):
        super().__init__("tcpdemux-bucket", gdb.COMMAND_DATA)

    @one_line_errors("tcpdemux-bucket")
    def invoke(self, arg, from_tty):
        parts = arg.split()
        if len(parts) != 2:
            raise gdb.GdbError("usage: tcpdemux-bucket STACK N (e.g. tcpdemux-bucket st 0x86bf)")
        st = stack_arg(parts[0], "tcpdemux-bucket")
        buckets = int(st["ehash"]["mask"]) + 1
        try:
            b = int(gdb.parse_and_eval(parts[1]))
        except gdb.error:
            raise gdb.GdbError("tcpdemux-bucket: '%s' is not a bucket number" % parts[1])
        if b < 0 or b >= buckets:
            raise gdb.GdbError("tcpdemux-bucket: bucket %s is out of range: this ehash has %d buckets, "
                               "0 to 0x%x" % (parts[1], buckets, buckets - 1))
        eh = st["ehash"]
        c = eh["b"][b & int(eh["bmask"])]["head"]
        i = 0
        while int(c) != 0:
            # A growing table's chain also holds other buckets' entries: a lookup skips them.
            if int(c.dereference()["hash"]) & (buckets - 1) == b:
                i += 1
                gdb.write("  %d. %s\n" % (i, entry_str(c)))
            c = c.dereference()["next"]
        if i == 0:
            gdb.write("  bucket 0x%x is empty\n" % b)


class BreakCommand(gdb.Command):
    """Breakpoints that stop only for the observed stack: tcpdemux-break FUNC...

A demo's clients run the same functions (ehash_lookup in connect(), in the
lookup of a SYN-ACK); these breakpoints let them pass."""

    def __init__(self):
        super().__init__("tcpdemux-break", gdb.COMMAND_BREAKPOINTS)

    @one_line_errors("tcpdemux-break")
    def invoke(self, arg, from_tty):
        funcs = arg.split()
        if not funcs:
            raise gdb.GdbError("usage: tcpdemux-break FUNC... (e.g. tcpdemux-break %s)" % " ".join(STEP_BREAKS))
        for fn in funcs:
            if gdb.lookup_global_symbol(fn) is None and gdb.lookup_static_symbol(fn) is None:
                raise gdb.GdbError("tcpdemux-break: the program has no function %s" % fn)
        for fn in funcs:
            ObservedBreakpoint(fn)


class NextCommand(gdb.Command):
    """Run to the next segment the observed stack receives: tcpdemux-next.

Stops in tcp_demux(), before the lookup, and prints the segment. Other
breakpoints are passed over on the way (and stay set). Starts the program
when it is not running."""

    def __init__(self):
        super().__init__("tcpdemux-next", gdb.COMMAND_RUNNING)

    @one_line_errors("tcpdemux-next")
    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError("usage: tcpdemux-next (no arguments)")
        others = [(b, b.enabled) for b in (gdb.breakpoints() or []) if b.enabled]
        for b, _ in others:
            b.enabled = False
        arrival = SegmentArrival("tcp_demux", internal=True)
        arrival.silent = True
        try:
            gdb.execute("continue" if gdb.selected_inferior().pid else "run", to_string=True)
        finally:
            for b, was in others:
                if b.is_valid():
                    b.enabled = was
            if arrival.is_valid():
                arrival.delete()
        if gdb.selected_inferior().pid == 0:
            gdb.write("tcpdemux-next: the program has ended: no more segments\n")
            return
        seg = current_segment()
        if seg is None:
            gdb.write("tcpdemux-next: stopped, but not at a segment (another stop came first)\n")
            return
        gdb.write("segment #%d arrives: %s\n" % (seg[0], segment_str(seg[1])))
        gdb.write("  (in tcp_demux; continue follows it through the lookup)\n")


HELP = """  continue             on to the next breakpoint of the path (info breakpoints)
  tcpdemux-next        on to the next segment the server receives
  finish               to the end of this function, with what it returned
  up, down, bt         the callers: tcp_demux has x, the segment's context
  print *x->seg        the segment; print x->lookup: what the lookup found
  tcpdemux-tables      the listen table and the ehash
  tcpdemux-bucket st N one ehash chain, in the order a lookup walks it
  print *st            the stack, with its non-zero counters by name
docs/debugging.md walks through one handshake."""


class HelpCommand(gdb.Command):
    """Say where the program stopped and what to type next: tcpdemux-help."""

    def __init__(self):
        super().__init__("tcpdemux-help", gdb.COMMAND_SUPPORT)

    @one_line_errors("tcpdemux-help")
    def invoke(self, arg, from_tty):
        head = "== tcpdemux under gdb"
        if gdb.selected_inferior().pid:
            seg = current_segment()
            where = gdb.selected_frame().name() or "?"
            if seg is not None:
                head += ": stopped in %s, for segment #%d the server received:\n   %s" % (
                    where, seg[0], segment_str(seg[1]))
            else:
                head += ": stopped in %s" % where
        else:
            head += ": the program is not running (run, or tcpdemux-next)"
        gdb.write(head + "\n" + HELP + "\n")


gdb.pretty_printers.append(lookup)
TablesCommand()
BucketCommand()
BreakCommand()
NextCommand()
HelpCommand()
