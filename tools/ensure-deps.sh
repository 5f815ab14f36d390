#!/bin/sh
# ensure-deps.sh [--fuzz | --test] - make sure the build's packages are installed.
#
# Checks for a C compiler, pkg-config, libpcap, zlib and Check (with --fuzz,
# clang with libFuzzer; with --test, what `make check` runs besides the
# suites: tshark and its Lua, which read the --annotate pcapng, Chromium
# with its WebDriver and Python's selenium, which open the --html page,
# gdb, which runs docs/debugging.md, man, which reads the installed manual
# page, and what the live-mode tests run: ip, curl, tcpdump, Debian's
# /usr/bin/python3, setpriv);
# installs the
# missing Debian/Ubuntu packages with apt-get (directly as root, through
# sudo otherwise). Where neither works it prints the exact command to run
# and fails, so `make` stops with one clear message instead of a compiler
# error about a missing header.
set -u

missing=""
if [ "${1:-}" = "--fuzz" ]; then
	# libFuzzer: clang and its runtime libraries
	command -v clang >/dev/null 2>&1 || missing="$missing clang"
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
		missing="$missing libclang-rt-dev"
fi
if [ "${1:-}" = "--test" ]; then
	command -v gdb >/dev/null 2>&1 || missing="$missing gdb"
	command -v man >/dev/null 2>&1 || missing="$missing man-db" # tests/check_usage.c
	command -v tshark >/dev/null 2>&1 || missing="$missing tshark"
	command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
	command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
	/usr/bin/python3 -c 'import selenium' >/dev/null 2>&1 || missing="$missing python3-selenium"
	# tests/check_live.c
	command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
	command -v curl >/dev/null 2>&1 || missing="$missing curl"
	command -v tcpdump >/dev/null 2>&1 || missing="$missing tcpdump"
	command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
	[ -x /usr/bin/python3 ] || missing="$missing python3"
fi
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
if command -v pkg-config >/dev/null 2>&1; then
	pkg-config --exists libpcap 2>/dev/null || missing="$missing libpcap-dev"
	pkg-config --exists zlib 2>/dev/null || missing="$missing zlib1g-dev"
	pkg-config --exists check 2>/dev/null || missing="$missing check"
else
	missing="$missing pkg-config libpcap-dev zlib1g-dev check"
fi
[ -z "$missing" ] && exit 0

echo "tcpdemux: missing packages:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "tcpdemux: no apt-get here; install the equivalents of:$missing" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
else
	echo "tcpdemux: run this, then make again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# An out-of-date package list is the usual reason an install fails: refresh once.
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 ||
	{ $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $missing; } || {
	echo "tcpdemux: apt-get could not install:$missing" >&2
	exit 1
}
echo "tcpdemux: installed:$missing"
