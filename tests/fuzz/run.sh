#!/usr/bin/env bash
# run.sh - build the libFuzzer harnesses, re-run the regression inputs,
# then fuzz each harness for FUZZ_SECONDS.
#
#   tests/fuzz/run.sh [HARNESS...]      HARNESS: options pcap script segment
#                                       stack (or fuzz_stack, ...): every
#                                       tests/fuzz/fuzz_NAME.c; default all
#
# Environment:
#   FUZZ_SECONDS  seconds of fuzzing per harness (default 60; 0 = build and
#                 regression check only)
#   FUZZ_JOBS     harnesses fuzzed at the same time (default 1)
#   CC            the compiler (default clang; libFuzzer needs clang)
#
# Everything goes to build/fuzz/: the binaries fuzz_NAME, the corpora
# corpus-NAME (seeded from traces/ and tests/fuzz/regress/NAME/, and kept
# between runs), logs NAME.log, crash inputs artifacts-NAME/.
# Exit status: 0 when every regression input passes and no harness crashed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
CC=${CC:-clang}
out=build/fuzz
all=()
for f in tests/fuzz/fuzz_*.c; do
	f=${f#tests/fuzz/fuzz_}
	all+=("${f%.c}")
done

case $FUZZ_SECONDS in '' | *[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;; esac
case $FUZZ_JOBS in '' | 0 | *[!0-9]*) echo "run.sh: FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac
if [ "$CC" = cc ] || [ "$CC" = gcc ]; then
	CC=clang # make's default CC is no libFuzzer compiler
fi
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run.sh: $CC not found (clang with libFuzzer is needed: apt-get install clang)" >&2
	exit 2
fi

harnesses=()
if [ $# -eq 0 ]; then
	harnesses=("${all[@]}")
else
	for h in "$@"; do
		h=${h#fuzz_}
		h=${h%.c}
		if [ ! -f "tests/fuzz/fuzz_$h.c" ]; then
			echo "run.sh: no harness '$h' (have: ${all[*]})" >&2
			exit 2
		fi
		harnesses+=("$h")
	done
fi

mkdir -p "$out"
if ! pkg-config --exists libpcap 2>/dev/null; then
	echo "run.sh: libpcap (pkg-config libpcap) not found: run 'make deps' first" >&2
	exit 2
fi
read -r -a pcap_libs <<<"$(pkg-config --libs libpcap zlib)"
sanitizers=fuzzer,address,undefined
cflags=(-g -O1 "-fsanitize=$sanitizers" -fno-sanitize-recover=all -std=c11
	-D_DEFAULT_SOURCE -Istack -Isim)
# sim/ is grouped by front end; every folder is on the include path (as in the Makefile).
for d in sim/*/; do
	cflags+=("-I${d%/}")
done
stack_src=(stack/*.c)
sim_src=()
for f in sim/*.c sim/*/*.c; do
	[ "$f" = sim/main.c ] || sim_src+=("$f")
done
# The --html page, built into the program as C strings (the Makefile's page_assets.c).
mkdir -p "$out"
"$CC" -O1 -o "$out/embed-page" tools/embed-page.c || exit 2
"$out/embed-page" sim/render/page/page.html sim/render/page/page.css sim/render/page/page.js > "$out/page_assets.c" || exit 2
sim_src+=("$out/page_assets.c")

# ---- build -------------------------------------------------------------------
# The stack and sim objects once, shared by every harness.
mkdir -p "$out/obj"
objs=()
for f in "${stack_src[@]}" "${sim_src[@]}"; do
	o="$out/obj/$(echo "$f" | tr / _).o"
	"$CC" "${cflags[@]}" -c -o "$o" "$f" || exit 2
	objs+=("$o")
done
for h in "${harnesses[@]}"; do
	echo "== build fuzz_$h"
	"$CC" "${cflags[@]}" -o "$out/fuzz_$h" "tests/fuzz/fuzz_$h.c" "${objs[@]}" "${pcap_libs[@]}" || exit 2
done

# ---- seeds -------------------------------------------------------------------
captures=(traces/*.pcap traces/kernel/*.pcap)
if command -v python3 >/dev/null 2>&1; then
	python3 tests/fuzz/seeds.py "$out" "${captures[@]}"
else
	echo "run.sh: python3 not found: only the pcap and script corpora are seeded" >&2
	mkdir -p "$out/corpus-pcap"
	cp "${captures[@]}" "$out/corpus-pcap/"
fi
# The script harness starts from the scenario suite.
mkdir -p "$out/corpus-script"
for f in tests/scripts/*.pkt; do
	if [ -f "$f" ]; then
		cp "$f" "$out/corpus-script/"
	fi
done

# ---- regression inputs -------------------------------------------------------
failed=0
declare -A result execs secs
for h in "${harnesses[@]}"; do
	mkdir -p "$out/corpus-$h"
	result[$h]="ok"
	execs[$h]=0
	secs[$h]=0
	dir=tests/fuzz/regress/$h
	[ -d "$dir" ] || continue
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		log=$out/regress-$h-$(basename "$f").log
		if env -u FUZZ_TOLERATE_KNOWN "$out/fuzz_$h" -timeout=10 -rss_limit_mb=2048 "$f" >"$log" 2>&1; then
			echo "regress $h/$(basename "$f"): ok"
		else
			echo "regress $h/$(basename "$f"): FAILED (log: $log)"
			grep -E '^(fuzz_[a-z]+: |SUMMARY|==[0-9]+==ERROR)' "$log" | head -5 | sed 's/^/    /' || true
			result[$h]="regression failed"
			failed=1
		fi
		# Into the corpus only if fuzzing can start from it (known issues tolerated).
		if FUZZ_TOLERATE_KNOWN=1 "$out/fuzz_$h" -timeout=10 -rss_limit_mb=2048 "$f" >/dev/null 2>&1; then
			cp "$f" "$out/corpus-$h/regress-$(basename "$f")"
		fi
	done
done

# ---- fuzzing -----------------------------------------------------------------
fuzz_one() {
	local h=$1 extra=()

	mkdir -p "$out/artifacts-$h"
	# The replay and the script runner print a line on stderr for every bad
	# input: silence it, keep libFuzzer's and the sanitizers' reports.
	if [ "$h" = pcap ] || [ "$h" = script ]; then
		extra=(-close_fd_mask=2)
	fi
	FUZZ_TOLERATE_KNOWN=1 "$out/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$out/artifacts-$h/" "${extra[@]}" \
		"$out/corpus-$h" >"$out/$h.log" 2>&1
}

collect() {
	local h=$1 rc=$2 done_line last rate

	done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$out/$h.log" | tail -1 || true)
	if [ -n "$done_line" ]; then
		execs[$h]=$(echo "$done_line" | awk '{print $2}')
		secs[$h]=$(echo "$done_line" | awk '{print $5}')
	else
		# No "Done" line (a crash): the last status line has the count and the rate.
		last=$(grep -E '^#[0-9]+.*exec/s: [0-9]+' "$out/$h.log" | tail -1 || true)
		if [ -n "$last" ]; then
			execs[$h]=$(echo "$last" | sed -E 's/^#([0-9]+).*/\1/')
			rate=$(echo "$last" | sed -E 's/.*exec\/s: ([0-9]+).*/\1/')
			if [ "$rate" -gt 0 ]; then
				secs[$h]="~$((execs[$h] / rate))"
			fi
		fi
	fi
	if [ "$rc" -ne 0 ]; then
		failed=1
		result[$h]="CRASH (exit $rc; log $out/$h.log; input in $out/artifacts-$h/)"
		grep -E '^(fuzz_[a-z]+: |SUMMARY|==[0-9]+==ERROR|artifact_prefix)' "$out/$h.log" | head -6 |
			sed "s/^/    [$h] /" || true
	elif [ -n "$done_line" ]; then
		echo "[$h] $done_line"
	fi
}

if [ "$FUZZ_SECONDS" -gt 0 ]; then
	pending=("${harnesses[@]}")
	while [ ${#pending[@]} -gt 0 ]; do
		batch=("${pending[@]:0:$FUZZ_JOBS}")
		pending=("${pending[@]:$FUZZ_JOBS}")
		pids=()
		for h in "${batch[@]}"; do
			echo "== fuzz_$h for ${FUZZ_SECONDS}s (log $out/$h.log)"
			fuzz_one "$h" &
			pids+=($!)
		done
		for i in "${!batch[@]}"; do
			rc=0
			wait "${pids[$i]}" || rc=$?
			collect "${batch[$i]}" "$rc"
		done
	done
fi

# ---- summary -----------------------------------------------------------------
echo
printf '%-10s %8s %12s  %s\n' harness seconds execs result
for h in "${harnesses[@]}"; do
	printf '%-10s %8s %12s  %s\n' "$h" "${secs[$h]}" "${execs[$h]}" "${result[$h]}"
done
exit "$failed"
