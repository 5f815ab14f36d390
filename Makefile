# tcpdemux - build, test and demo.
#
#   make            build build/tcpdemux (installs missing packages first)
#   make demo       run the two-clients demo
#   make check      build and run the Check test suites
#   make debug      build build/tcpdemux with -O0 -g3, ASan and UBSan
#   make clean
#
# Packages: a C compiler, pkg-config, libpcap and Check. When one is missing
# the Makefile installs it with apt-get (as root, or through sudo), or stops
# and prints the command to run.

CC      ?= cc
MODE    ?= release
WERROR  ?= $(if $(CI),-Werror,)
BUILD   := build
OBJDIR  := $(BUILD)/obj-$(MODE)

BASE_CFLAGS := -std=c11 -pthread -D_DEFAULT_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wformat=2 $(WERROR)
ifeq ($(MODE),debug)
  # TCPDEMUX_INVARIANTS: stack_check() after every segment and timer, abort on a broken invariant
  MODE_CFLAGS  := -O0 -g3 -fsanitize=address,undefined -fno-omit-frame-pointer -DTCPDEMUX_INVARIANTS
  MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(MODE),gdb)
  # for stepping in a debugger: nothing optimised away, no sanitizer noise
  MODE_CFLAGS  := -O0 -g3
  MODE_LDFLAGS :=
else ifeq ($(MODE),tsan)
  # ThreadSanitizer, for the replay's reader thread (make check-tsan)
  MODE_CFLAGS  := -O1 -g -fsanitize=thread
  MODE_LDFLAGS := -fsanitize=thread
else ifeq ($(MODE),sanitize)
  MODE_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  MODE_LDFLAGS := -fsanitize=address,undefined
else
  MODE_CFLAGS  := -O2 -g
  MODE_LDFLAGS :=
  # Link-time optimisation for build/tcpdemux only: a replay's per-frame path
  # crosses files (lookahead.c, replay.c, replay_app.c, the stack), and without
  # it the calls between them cost 6% of a replay's instructions. Fat objects,
  # so that everything else linking them (tests, bench tools) needs no -flto.
  LTO_CFLAGS   := $(shell $(CC) -flto=auto -ffat-lto-objects -x c -c /dev/null -o /dev/null 2>/dev/null && echo -flto=auto -ffat-lto-objects)
  LTO_LDFLAGS  := $(if $(LTO_CFLAGS),-flto=auto)
endif

# tcpdump's and libpcap's own test captures, kept outside the repository.
CORPUS ?= ../shared/corpus
# Captures published by others, with facts measured by tshark (tests/check_realworld.c).
REALWORLD ?= ../shared/realworld
# Evaluated when a recipe runs, i.e. after the package check below.
PKG_CFLAGS = $(shell pkg-config --cflags libpcap zlib check 2>/dev/null)
# libpcap is not linked: sim/capture/pcap_lib.c loads it the first time it is
# called (a plain pcap file is read without it), by the SONAME the linker
# would have recorded (Debian's is libpcap.so.0.8). So the program links only
# libdl (for that) and pthreads (replay --threads 2's reader, sim/replay/reader.c).
PROG_LIBS  = -ldl -pthread
PCAP_SONAME = $(shell objdump -p "$$($(CC) -print-file-name=libpcap.so)" 2>/dev/null | sed -n 's/^ *SONAME *//p')
# zlib likewise (sim/capture/zlib_lib.c): only a compressed capture loads it. The tests link it
# (tests/check_capture.c writes gzip files).
TEST_ZLIB_LIBS = $(shell pkg-config --libs zlib 2>/dev/null)
ZLIB_SONAME = $(shell objdump -p "$$($(CC) -print-file-name=libz.so)" 2>/dev/null | sed -n 's/^ *SONAME *//p')
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

# sim/ is grouped by front end (README.md, "Layout"):
# every folder is on the include path, so a file names a header by its name alone.
SIM_DIRS    := sim $(sort $(dir $(wildcard sim/*/*.c sim/*/*.h)))
SIM_INC     := $(patsubst %,-I%,$(patsubst %/,%,$(SIM_DIRS)))
CFLAGS_ALL  = $(BASE_CFLAGS) $(MODE_CFLAGS) $(PKG_CFLAGS) -Istack $(SIM_INC) -Itests $(CFLAGS)
LDFLAGS_ALL = $(MODE_LDFLAGS) $(LDFLAGS)

STACK_SRC := $(wildcard stack/*.c)
SIM_SRC   := $(filter-out sim/main.c,$(wildcard sim/*.c sim/*/*.c))
TEST_SRC  := $(filter-out tests/check_main.c,$(wildcard tests/check_*.c)) tests/helpers.c

STACK_OBJ := $(STACK_SRC:%.c=$(OBJDIR)/%.o)
# The --html page's sources, built into the binary as C strings (tools/embed-page.c).
PAGE_SRC  := sim/render/page/page.html sim/render/page/page.css sim/render/page/page.js
PAGE_GEN  := $(BUILD)/gen/page_assets.c
PAGE_OBJ  := $(OBJDIR)/gen/page_assets.o
SIM_OBJ   := $(SIM_SRC:%.c=$(OBJDIR)/%.o) $(PAGE_OBJ)
TEST_OBJ  := $(TEST_SRC:%.c=$(OBJDIR)/%.o)

DEPS_STAMP := $(BUILD)/.deps-ok
# What `make check` runs besides the suites: gdb, tshark, Chromium, and for the live tests ip, curl,
# tcpdump (tools/ensure-deps.sh --test).
TEST_DEPS_STAMP := $(BUILD)/.test-deps-ok
# Rebuild the binary when the mode changes, even if its objects are older.
MODE_STAMP := $(BUILD)/.mode
ifeq ($(filter $(MODE),gdb tsan),)
$(shell mkdir -p $(BUILD) && (echo $(MODE) | cmp -s - $(MODE_STAMP) || echo $(MODE) > $(MODE_STAMP)))
endif

.PHONY: all demo check debug check-sanitize check-tsan check-valgrind clean deps golden gdb-demo gdb-binary fuzz bench install uninstall \
        conformance

FUZZ_SECONDS ?= 60
.DEFAULT_GOAL := all

all: $(BUILD)/tcpdemux

deps: $(DEPS_STAMP)

$(DEPS_STAMP):
	@sh tools/ensure-deps.sh
	@mkdir -p $(BUILD) && touch $@

$(OBJDIR)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/embed-page: tools/embed-page.c | $(DEPS_STAMP)
	$(CC) -O1 -o $@ $<

$(PAGE_GEN): $(BUILD)/embed-page $(PAGE_SRC)
	@mkdir -p $(dir $@)
	$(BUILD)/embed-page $(PAGE_SRC) > $@.tmp && mv $@.tmp $@

$(PAGE_OBJ): $(PAGE_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(OBJDIR)/sim/capture/pcap_lib.o: CFLAGS_ALL += $(if $(PCAP_SONAME),-DPCAP_SONAME='"$(PCAP_SONAME)"')
$(OBJDIR)/sim/capture/zlib_lib.o: CFLAGS_ALL += $(if $(ZLIB_SONAME),-DZLIB_SONAME='"$(ZLIB_SONAME)"')

# The program's own objects carry the link-time IR (tests and tools link them without it).
$(STACK_OBJ) $(SIM_OBJ) $(OBJDIR)/sim/main.o: CFLAGS_ALL += $(LTO_CFLAGS)

$(BUILD)/libstack-$(MODE).a: $(STACK_OBJ)
	ar rcs $@ $^

$(BUILD)/tcpdemux: $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a $(MODE_STAMP)
	$(CC) $(LDFLAGS_ALL) $(LTO_LDFLAGS) -o $@ $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a $(PROG_LIBS)

# The debugger's copy: -O0 -g3, built beside the main binary (tests/gdb/ uses it).
$(BUILD)/tcpdemux-gdb: $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a
	$(CC) $(LDFLAGS_ALL) -o $@ $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a $(PROG_LIBS)

gdb-binary: deps
	$(MAKE) MODE=gdb $(BUILD)/tcpdemux-gdb

# The ThreadSanitizer's copy (make check-tsan), built beside the main binary.
$(BUILD)/tcpdemux-tsan: $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a
	$(CC) $(LDFLAGS_ALL) -o $@ $(OBJDIR)/sim/main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a $(PROG_LIBS)

# gdb on the two-clients demo, with the pretty-printers loaded, a breakpoint
# on each step of the server's demultiplexing path, stopped at its lookup of
# the first SYN with a banner of what to type (tools/gdb/demo.gdb,
# docs/debugging.md).
gdb-demo: gdb-binary
	gdb -q -x tools/gdb/tcpdemux.py -x tools/gdb/demo.gdb \
		--args $(BUILD)/tcpdemux-gdb demo two-clients --hash-seed 1 --no-color

$(BUILD)/check_all-$(MODE): $(TEST_OBJ) $(OBJDIR)/tests/check_main.o $(SIM_OBJ) $(BUILD)/libstack-$(MODE).a
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJ) $(OBJDIR)/tests/check_main.o $(SIM_OBJ) \
		$(BUILD)/libstack-$(MODE).a $(CHECK_LIBS) $(TEST_ZLIB_LIBS) $(PROG_LIBS)

demo: $(BUILD)/tcpdemux
	$(BUILD)/tcpdemux demo two-clients

$(TEST_DEPS_STAMP): | $(DEPS_STAMP)
	@sh tools/ensure-deps.sh --test
	@touch $@

# The golden tests run build/tcpdemux, so it is built in the same mode.
check: $(BUILD)/tcpdemux $(BUILD)/check_all-$(MODE) gdb-binary $(TEST_DEPS_STAMP)
	TCPDEMUX=$(BUILD)/tcpdemux TCPDEMUX_GDB=$(BUILD)/tcpdemux-gdb TESTDIR=tests TRACES=traces CORPUS=$(CORPUS) REALWORLD=$(REALWORLD) \
		MODE=$(MODE) $(BUILD)/check_all-$(MODE)

# Regenerates the golden files after a deliberate change of output: review the diff.
golden: $(BUILD)/tcpdemux
	for d in $$($(BUILD)/tcpdemux demo | awk 'NR > 1 { print $$1 }'); do \
		$(BUILD)/tcpdemux demo $$d --format json --hash-seed 1 > tests/golden/demo-$$d.jsonl || exit 1; \
	done
	for f in traces/*.pcap; do \
		$(BUILD)/tcpdemux replay $$f --format json --hash-seed 1 \
			> tests/golden/replay-$$(basename $$f .pcap).jsonl || exit 1; \
	done

debug:
	$(MAKE) MODE=debug all

check-sanitize:
	$(MAKE) MODE=sanitize check

# The replay's two threads (sim/replay/reader.c) under ThreadSanitizer: the
# capture suite's reader tests, then every kernel trace, published capture
# and corpus file replayed with --threads 2 (tests/tsan.sh); any report fails.
check-tsan: deps
	$(MAKE) MODE=tsan $(BUILD)/tcpdemux-tsan $(BUILD)/check_all-tsan
	CK_RUN_SUITE=capture CK_RUN_CASE=reader TCPDEMUX=$(BUILD)/tcpdemux-tsan TESTDIR=tests TRACES=traces \
		CORPUS=$(CORPUS) REALWORLD=$(REALWORLD) MODE=tsan TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		$(BUILD)/check_all-tsan
	bash tests/tsan.sh $(BUILD)/tcpdemux-tsan

# Performance benchmark (about 10 minutes): prints the table and rewrites the
# generated part of bench/RESULTS.md. Knobs: make bench REPS=3 BENCH_QUICK=1 ...
bench: deps
	bash bench/run.sh

# The libFuzzer harnesses of tests/fuzz/: regression inputs first, then
# FUZZ_SECONDS of fuzzing each (docs/robustness.md).
fuzz:
	@sh tools/ensure-deps.sh --fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

# Every demo, a replay, a script and a live run (tests/live-valgrind.sh, root) under valgrind:
# no leak, no invalid access.
check-valgrind: $(BUILD)/tcpdemux
	@command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install valgrind"; exit 1; }
	@set -e; for d in $$($(BUILD)/tcpdemux demo | awk 'NR > 1 { print $$1 }'); do \
		valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
			$(BUILD)/tcpdemux demo $$d --hash-seed 1 > /dev/null; echo "valgrind: demo $$d clean"; \
	done
	@valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
		$(BUILD)/tcpdemux replay traces/kernel/syn-burst.pcap $$(cat traces/kernel/syn-burst.args) --verify --quiet > /dev/null
	@echo "valgrind: replay --verify clean"
	@valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
		$(BUILD)/tcpdemux replay traces/kernel/syn-burst.pcap $$(cat traces/kernel/syn-burst.args) --verify --quiet \
		--annotate $(BUILD)/valgrind.pcapng --html $(BUILD)/valgrind.html --plot $(BUILD)/valgrind.svg > /dev/null
	@echo "valgrind: replay --annotate --html --plot clean"
	@valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
		$(BUILD)/tcpdemux replay $(REALWORLD)/zk_echo-connections.pcap --threads 2 --format json > /dev/null
	@echo "valgrind: replay --threads 2 clean"
	@valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
		$(BUILD)/tcpdemux script tests/scripts/time-wait-reuse.pkt --quiet
	@echo "valgrind: script clean"
	@bash tests/live-valgrind.sh $(BUILD)/tcpdemux

# google/packetdrill's Linux suite, run unchanged from a checkout of it:
#   make conformance PACKETDRILL=/tmp/packetdrill   (docs/scripts.md)
conformance: $(BUILD)/tcpdemux
	@bash tools/conformance.sh $(BUILD)/tcpdemux $(PACKETDRILL)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the program, its manual
# page, the gdb and Wireshark helpers and the documentation; the paths
# are those tcpdemux(1) names. make uninstall removes exactly these.
PREFIX  ?= /usr/local
BINDIR  := $(PREFIX)/bin
MAN1DIR := $(PREFIX)/share/man/man1
DATADIR := $(PREFIX)/share/tcpdemux
DOCDIR  := $(PREFIX)/share/doc/tcpdemux
INSTALL ?= install
WIRESHARK_HELPERS := $(wildcard tools/wireshark/*.lua)
DOCS := README.md $(filter-out docs/tcpdemux.1,$(wildcard docs/*.md))

install: $(BUILD)/tcpdemux
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(DATADIR)/gdb $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(BUILD)/tcpdemux $(DESTDIR)$(BINDIR)/tcpdemux
	$(INSTALL) -m 644 docs/tcpdemux.1 $(DESTDIR)$(MAN1DIR)/tcpdemux.1
	$(INSTALL) -m 644 tools/gdb/*.py tools/gdb/*.gdb $(DESTDIR)$(DATADIR)/gdb/
	$(if $(WIRESHARK_HELPERS),$(INSTALL) -d $(DESTDIR)$(DATADIR)/wireshark && \
		$(INSTALL) -m 644 $(WIRESHARK_HELPERS) $(DESTDIR)$(DATADIR)/wireshark/)
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tcpdemux $(DESTDIR)$(MAN1DIR)/tcpdemux.1
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

clean:
	rm -rf $(BUILD)

-include $(STACK_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(OBJDIR)/sim/main.d $(OBJDIR)/tests/check_main.d
