#!/usr/bin/env bash
# conformance.sh TCPDEMUX [PACKETDRILL_DIR] - `make conformance`.
#
# Runs every script under PACKETDRILL_DIR/gtests/net/tcp (google/packetdrill's
# Linux suite) through `tcpdemux script`, each from its own folder and exactly
# as published, with the options packetdrill's run_all.py gives them (IPv4). Prints one row per
# script (script, result, first error) and the totals, overall and for the 21
# scripts in scope (those that pass on a real Linux 6.18 kernel under real
# packetdrill and use nothing outside what tcpdemux models).
#
# Results: pass (exit 0), fail (exit 1: a behaviour differs), unsupported
# (exit 2: a construct the parser does not take), crash (killed by a
# signal), hang (still running after the time limit). Without a directory it
# says how to get one and exits 0; it exits 1 when a script crashed or hung.
set -u

tcpdemux=${1:?usage: conformance.sh TCPDEMUX [PACKETDRILL_DIR]}
dir=${2:-}
limit=${CONFORMANCE_TIMEOUT:-20}

if [ -z "$dir" ]; then
	cat <<'EOF'
conformance: no packetdrill checkout given. To measure, get google/packetdrill
and point PACKETDRILL at it:
    git clone https://github.com/google/packetdrill /tmp/packetdrill
    make conformance PACKETDRILL=/tmp/packetdrill
(The scripts are GPL; they are run from that checkout, never copied here.)
EOF
	exit 0
fi
suite="$dir/gtests/net/tcp"
if [ ! -d "$suite" ]; then
	echo "conformance: $suite: no such folder (PACKETDRILL must be a google/packetdrill checkout)" >&2
	exit 2
fi
case "$tcpdemux" in /*) ;; *) tcpdemux="$PWD/$tcpdemux" ;; esac

# The scripts in scope (issue 13): each passes on Linux 6.18 under packetdrill.
scope=" blocking/blocking-accept blocking/blocking-connect blocking/blocking-read
 close/close-local-close-then-remote-fin close/close-on-syn-sent close/close-remote-fin-then-close
 shutdown/shutdown-rd-close shutdown/shutdown-rd-wr-close shutdown/shutdown-rdwr-close
 shutdown/shutdown-wr-close validate/validate-established-no-flags
 mss/mss-getsockopt-tcp_maxseg-server mss/mss-setsockopt-tcp_maxseg-client
 mss/mss-setsockopt-tcp_maxseg-server ts_recent/fin_tsval ts_recent/reset_tsval
 syscall_bad_arg/fastopen-invalid-buf-ptr syscall_bad_arg/sendmsg-empty-iov
 syscall_bad_arg/syscall-invalid-buf-ptr inq/client inq/server "
scope=$(echo $scope)

# The options packetdrill's run_all.py gives every script (its IPv4 run).
run_all=(--send_omit_free --ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1
	--netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 -D TFO_COOKIE=3021b9d889017eeb
	-D CODE=host_unreachable -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR)

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
total=0 pass=0 fail=0 unsup=0 crash=0 hang=0 in_scope=0 scope_pass=0
printf '%-58s %-12s %s\n' script result "first error"
while IFS= read -r path; do
	rel=${path#"$suite"/}
	name=${rel%.pkt}
	folder=$(dirname "$path")
	(cd "$folder" && exec timeout -k 5 "$limit" "$tcpdemux" script "$(basename "$path")" --quiet \
		"${run_all[@]}" >/dev/null 2>"$errfile")
	rc=$?
	err=$(head -n 1 "$errfile")
	case $rc in
	0) result=pass; pass=$((pass + 1)); err="" ;;
	1) result=fail; fail=$((fail + 1)) ;;
	2) result=unsupported; unsup=$((unsup + 1)) ;;
	124 | 137) result=hang; hang=$((hang + 1)); err="no result within ${limit} s" ;;
	*) result=crash; crash=$((crash + 1)); err="exit $rc ${err}" ;;
	esac
	total=$((total + 1))
	case " $scope " in
	*" $name "*)
		in_scope=$((in_scope + 1))
		[ "$result" = pass ] && scope_pass=$((scope_pass + 1))
		name="$name *"
		;;
	esac
	# The first error without the folder part of the file name, cut to fit a row.
	err=${err#"$(basename "$path")":}
	printf '%-58s %-12s %.110s\n' "$name" "$result" "$err"
done < <(find "$suite" -name '*.pkt' | LC_ALL=C sort)

echo
echo "conformance: $total scripts: $pass pass, $fail fail (exit 1), $unsup unsupported (exit 2), $crash crash, $hang hang"
echo "conformance: in scope (marked *): $scope_pass of $in_scope pass"
[ $((crash + hang)) -eq 0 ]
