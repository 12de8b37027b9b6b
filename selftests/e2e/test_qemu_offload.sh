#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest offloads end to end: one real QEMU guest (TCG) negotiates checksum
# and TCP segmentation offloads with the relay (offloads=on, the default),
# and byte-checked TCP streams cross the relay both ways over IPv4, IPv6 and
# an 802.1Q VLAN:
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24, 2001:db8::1/64
#      | vhost-user                            `-- vlan 100 (topo_peer_vlan): 198.18.0.1/24
#   guest eth0 192.0.2.2, 2001:db8::2; eth0.100 198.18.0.2
#
# guest -> peer: the guest hands over TSO frames of up to 64 KiB with partial
# checksums (HOST_TSO4/6, CSUM); the relay cuts and checksums them, and the
# peer's stack (veth: no checksum offload on receive) verifies every one.
# peer -> guest: the peer puts full-size, fully checksummed frames on the
# wire; the relay verifies them (DATA_VALID) and joins runs of one flow
# into frames of gso_type TCPV4/6 (GUEST_TSO4/6), which the guest's stack
# takes. vxdp-tcpcheck (selftests/e2e/tcpcheck.c) writes the stream in
# writes of odd sizes and checks every byte at the other end; TCP
# timestamps and SACK (Linux's defaults) put options in every header.
#
# Checks: the offload features negotiated (and ECN/UFO not), each stream
# whole and in order at the receiver, no checksum or header error counted
# by the guest's or the peer's stack, the relay's counters showing the
# segmentation, checksums and joined frames done (so the checks cannot pass
# with offloads off), and a clean stop. Throughput is printed, not judged:
# tools/bench/vxdp-offload-bench measures it.
#
# Knobs: TCP_BYTES_V4 (32 MiB - 1), TCP_BYTES (8 MiB + 3: IPv6 and VLAN),
# VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

TCP_BYTES_V4=${TCP_BYTES_V4:-33554431}
TCP_BYTES=${TCP_BYTES:-8388611}
TCP_TIMEOUT=60
PORT=5001
PEER_IP6=2001:db8::1
GUEST_IP6=2001:db8::2
VLAN_ID=100
PEER_VLAN_IP=198.18.0.1
GUEST_VLAN_IP=198.18.0.2
vxdp_init
# NAME ADDRESS(the guest's) GUEST-MODE BYTES (vxdp_init named the addresses)
STREAMS=(
	"v4_rx $GUEST_IP recv $TCP_BYTES_V4"
	"v4_tx $GUEST_IP send $TCP_BYTES_V4"
	"v6_rx $GUEST_IP6 recv $TCP_BYTES"
	"v6_tx $GUEST_IP6 send $TCP_BYTES"
	"vlan_rx $GUEST_VLAN_IP recv $TCP_BYTES"
	"vlan_tx $GUEST_VLAN_IP send $TCP_BYTES"
)

command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v gcc >/dev/null || ktap_skip_all "gcc not installed (make deps)"

ktap_plan $((4 + ${#STREAMS[@]} + 4))

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"
guest_add_static vxdp-tcpcheck "$VXDP_SELFTESTS/e2e/tcpcheck.c" ||
	ktap_abort "cannot build tcpcheck.c for the guest"
TCPCHECK=$TMPD/overlay/bin/vxdp-tcpcheck

# The peer: IPv6 back on for its end, and an address on VLAN $VLAN_ID.
ns_exec_peer sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
	"net.ipv6.conf.$PEER_IF.disable_ipv6=0" >/dev/null &&
	ip -n "$NS_PEER" -6 addr add "$PEER_IP6/64" dev "$PEER_IF" nodad ||
	ktap_abort "cannot give the peer IPv6"
topo_peer_vlan "$VLAN_ID" "$PEER_VLAN_IP/24" || ktap_abort "cannot put the peer on VLAN $VLAN_ID"

# peer_snmp TABLE FIELD - a /proc/net/snmp counter of the peer.
peer_snmp()
{
	ns_exec_peer cat /proc/net/snmp | awk -v t="$1:" -v f="$2" '
		$1 == t && !n { for (i = 2; i <= NF; i++) if ($i == f) c = i; n = 1; next }
		$1 == t && n { print $c; exit }'
}
peer_tcp_csum0=$(peer_snmp Tcp InCsumErrors)
peer_ip_hdr0=$(peer_snmp Ip InHdrErrors)

SOCK=$TMPD/vhost.sock

# 1: the relay -------------------------------------------------------------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC"
ktap_result $? "relay on $VF listens on its vhost-user socket (offloads on by default)" ||
	ktap_abort "relay did not start"

# 2: the guest -------------------------------------------------------------
tcp_arg=
for s in "${STREAMS[@]}"; do
	read -r name _ mode bytes <<<"$s"
	tcp_arg=$tcp_arg${tcp_arg:+,}$name:$mode:$bytes
done
GUEST_IPV6=1 guest_boot "$SOCK" offload "$TMPD/guest.log" \
	"vxdp.ip6=$GUEST_IP6/64 vxdp.vlan=$VLAN_ID:$GUEST_VLAN_IP/24 vxdp.tcp=$tcp_arg vxdp.tcp_timeout=$TCP_TIMEOUT"
ktap_result $? "guest boots with IPv6 and VLAN $VLAN_ID on the relay" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}

# 3: what was negotiated -----------------------------------------------------
# virtio-net bits: CSUM 0, GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8,
# GUEST_ECN 9, GUEST_UFO 10, HOST_TSO4 11, HOST_TSO6 12, HOST_ECN 13,
# HOST_UFO 14, MRG_RXBUF 15.
bits=""
for b in 0 1 7 8 11 12 15 9 10 13 14; do
	bits="$bits$(guest_feature_bit $b)"
done
ktap_diag "guest features CSUM,GUEST_CSUM,GUEST_TSO4/6,HOST_TSO4/6,MRG_RXBUF | GUEST_ECN/UFO,HOST_ECN/UFO: ${bits:0:7} | ${bits:7}"
[ "$bits" = 11111110000 ]
ktap_result $? "guest acked CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6 (mergeable buffers), no ECN or UFO offered"

# 4: the guest reaches the peer -------------------------------------------
wait_for_log "$GUEST_LOG" 'VXDP-RESULT warmup' 30 "$QEMU_PID"
guest_check_warmup

# 5..: the streams -----------------------------------------------------------
# stream_check NAME ADDRESS GUEST-MODE BYTES
stream_check()
{
	local name=$1 addr=$2 mode=$3 bytes=$4 peer_mode=send out g p ok

	[ "$mode" = send ] && peer_mode=recv
	if [ "$CONNECTED" -ne 0 ]; then
		ktap_fail "stream $name: not run, the guest can't reach the peer"
		return
	fi
	if ! wait_for_log "$GUEST_LOG" "VXDP-TCPCHECK-READY $name" $((TCP_TIMEOUT + 10)) "$QEMU_PID"; then
		ktap_fail "stream $name: guest not listening"
		return
	fi
	out=$(ns_exec_peer "$TCPCHECK" connect "$name" "$addr" "$PORT" "$peer_mode" \
		"$bytes" "$TCP_TIMEOUT" 2>&1)
	wait_for_log "$GUEST_LOG" "VXDP-RESULT $name " $((TCP_TIMEOUT + 10)) "$QEMU_PID"
	g=$(guest_result "$name")
	p=$(printf '%s\n' "$out" | sed -n "s/^VXDP-RESULT $name //p")
	ktap_diag "$name peer $peer_mode: ${p:-$out}"
	ktap_diag "$name guest $mode: ${g:-no result}"
	[ "$(kv "$g" ok)" = 1 ] && [ "$(kv "$p" ok)" = 1 ] &&
		[ "$(kv "$g" bytes)" = "$bytes" ] && [ "$(kv "$p" bytes)" = "$bytes" ]
	ok=$?
	ktap_result $ok "stream $name: $bytes bytes $([ "$mode" = recv ] && echo "peer -> guest" || echo "guest -> peer") over $addr, every byte checked at the receiver"
}
for s in "${STREAMS[@]}"; do
	stream_check $s
done

# the stacks' own counters ----------------------------------------------------
wait_for_log "$GUEST_LOG" 'VXDP-RESULT snmp' 30 "$QEMU_PID"
r=$(guest_result snmp)
ktap_diag "guest stack: ${r:-no result}"
[ -n "$r" ] && [ "$(kv "$r" tcp_csum_err)" = 0 ] && [ "$(kv "$r" ip_hdr_err)" = 0 ] &&
	[ "$(kv "$r" ip6_hdr_err)" = 0 ] && [ "$(kv "$r" udp_csum_err)" = 0 ]
ktap_result $? "guest stack counted no checksum or header error"

d_csum=$(( $(peer_snmp Tcp InCsumErrors) - peer_tcp_csum0 ))
d_hdr=$(( $(peer_snmp Ip InHdrErrors) - peer_ip_hdr0 ))
ktap_diag "peer stack: TCP InCsumErrors +$d_csum, IP InHdrErrors +$d_hdr"
[ "$d_csum" -eq 0 ] && [ "$d_hdr" -eq 0 ]
ktap_result $? "peer stack counted no checksum or header error"

# the relay: clean stop, and the offloads were done --------------------------
vxdp_stop "$RELAY_PID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
line=$(grep -o 'offloads: to guest.*' "$RELAY_LOG" | tail -n 1)
ktap_diag "relay: ${line:-no offload counters}"
num() { printf '%s\n' "$line" | grep -Eo "[0-9]+ $1" | head -n 1 | grep -Eo '^[0-9]+'; }
[ "${line:+y}" = y ] && [ "$(num 'checksums verified')" -gt 0 ] &&
	[ "$(num 'joined frames')" -gt 0 ] && [ "$(num 'TSO frames')" -gt 0 ] &&
	[ "$(num 'segments, ')" -gt "$(num 'TSO frames')" ] && [ "$(num 'bad headers')" -eq 0 ] &&
	sanitizer_clean "$RELAY_LOG"
ktap_result $? "relay cut TSO frames, verified checksums, joined segments; no bad header, no sanitizer report" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

ktap_finish
