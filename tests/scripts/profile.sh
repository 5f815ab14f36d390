#!/bin/bash
# A profile in the style of packetdrill's defaults.sh, read by
# front-end.pkt: sysctls, harmless commands, a knob the stack ignores.
ip tcp_metrics flush all > /dev/null 2>&1
sysctl -q net.ipv4.tcp_syncookies=1
sysctl -q net.ipv4.tcp_synack_retries=$((2+3))
# Linux knobs tcpdemux does not model: listed by --verbose
sysctl -q net.ipv4.tcp_frto=2
tc qdisc add dev tun0 root pfifo
