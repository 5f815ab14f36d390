# The walkthrough of docs/debugging.md, as gdb runs it in batch mode.
# tests/check_gdb.c runs it and checks what it prints.
set pagination off
set confirm off
set print pretty off

# 1. The first SYN misses the ehash and reaches the listener.
break syn_recv
run
print *x->seg
print *l
print x->lookup
# The request does not exist yet: the tables show an empty ehash.
tcpdemux-tables
finish
# Now it does: request #2 in SYN_RECV, and the SYN queue holds it.
tcpdemux-tables

# 2. The final ACK finds the request in the ehash; the child joins the accept queue.
delete
break accept_queue_push
continue
print *child
finish
print *l->ls

# 3. accept() pops the oldest connection.
delete
break accept_pop
continue
finish
print *$
kill
quit
