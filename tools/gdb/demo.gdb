# demo.gdb - what `make gdb-demo` runs once tools/gdb/tcpdemux.py is loaded:
# a breakpoint on each step of the demultiplexing path, for the server only
# (the demo's clients run the same functions), then the demo up to the
# server's lookup of the first SYN, and a banner saying what to type.
# No pager: the banner must not stop half-way on a projector's 24 lines.
set pagination off
tcpdemux-break ehash_lookup listener_lookup syn_recv tcp_check_req accept_queue_push accept_pop
run
tcpdemux-help
