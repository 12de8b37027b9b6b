#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Jumbo frames end to end: a QEMU guest with host_mtu=9000 (VHOST_USER_NET_SET_MTU)
# behind vxdp-relay on a 9000-MTU veth "VF", frames of up to 9014 bytes
# crossing AF_XDP as multi-buffer (XDP_USE_SG) both ways.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24   (MTU 9000)
#      | vhost-user socket
#   QEMU guest eth0 192.0.2.2/24, MTU 9000 (tools/dev/mkguest.sh "jumbo")
#
# Checks: frags-aware XDP attached natively, multi-buffer sockets, the relay
# accepting the guest's MTU 9000, ping both ways with 1400- and 9000-byte IP
# packets at 0% loss (the peer's with DF set) and no IP fragmentation at the
# peer, iperf3 TCP both ways, no frame dropped as too big, an MTU over the
# VF's refused (QEMU: "MTU not supported by the backend"), a clean SIGTERM,
# and a single-buffer relay (--xsk-single-buffer, as on kernels before 6.6)
# refusing MTU 9000.
#
# Skips (exit 4) only on a kernel without AF_XDP multi-buffer (before 6.6).
#
# Knobs (environment): PING_COUNT (10), IPERF_TIME (4 s), RELAY_BIN,
# GUEST_NIC_OPTS (more virtio-net-pci properties), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

MTU=9000
PING_COUNT=${PING_COUNT:-10}
PING_INTERVAL=0.2
IPERF_TIME=${IPERF_TIME:-4}
PING_DEADLINE=$(awk -v c="$PING_COUNT" -v i="$PING_INTERVAL" 'BEGIN { printf "%d", c * i + 5.5 }')
IPERF_SERVER_TIMEOUT=$((IPERF_TIME + 30))
NIC_OPTS=${GUEST_NIC_OPTS:+$GUEST_NIC_OPTS,}
# A busy host slows TCG enough for the guest kernel's IO-APIC timer check
# to fail ("IO-APIC + timer doesn't work", panic); skip that check.
GUEST_ARGS=no_timer_check

# kernel_at_least MAJOR MINOR
kernel_at_least()
{
	local v maj min

	v=$(uname -r)
	maj=${v%%.*}
	min=${v#*.}
	min=${min%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v iperf3 >/dev/null || ktap_skip_all "iperf3 not installed (make deps)"
kernel_at_least 6 6 ||
	ktap_skip_all "kernel $(uname -r) lacks AF_XDP multi-buffer (XDP_USE_SG, Linux 6.6+)"

ktap_plan 20

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
ip -n "$NS_RELAY" link set dev "$VF" mtu "$MTU" &&
	ip -n "$NS_PEER" link set dev "$PEER_IF" mtu "$MTU" ||
	ktap_abort "cannot set MTU $MTU on the veth pair"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock

# qemu_out - QEMU's own output of the last guest_boot
qemu_out()
{
	echo "${QEMU_OUT:-$TMPD/qemu.out}"
}

# peer_snmp FIELD - the peer netns's IPv4 counter FIELD (/proc/net/snmp)
peer_snmp()
{
	ip netns exec "$NS_PEER" awk -v f="$1" '
		$1 == "Ip:" && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == "Ip:" && hdr { print $col[f]; exit }' /proc/net/snmp
}

# 1-3: the relay comes up on the 9000-MTU VF -------------------------------
relay_start "$TMPD/relay.log" --log-level 6 --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC"
ktap_result $? "relay on the $MTU-MTU $VF listens on its vhost-user socket" ||
	ktap_abort "relay did not start"
link=$(ip -n "$NS_RELAY" -d link show dev "$VF")
printf '%s\n' "$link" | grep -Eq 'prog/xdp |xdp id|^ *xdp ' &&
	! printf '%s\n' "$link" | grep -q xdpgeneric
ktap_result $? "frags-aware XDP program attached natively on the $MTU-MTU VF" ||
	ktap_diag "$link"
grep -q 'multi-buffer: frames up to' "$RELAY_LOG"
ktap_result $? "AF_XDP socket bound with multi-buffer" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

reasm0=$(peer_snmp ReasmReqds)
frag0=$(peer_snmp FragCreates)

# 4-6: a guest with host_mtu=9000 ----------------------------------------
GUEST_NIC_OPTS="${NIC_OPTS}host_mtu=$MTU" guest_boot "$SOCK" jumbo "$TMPD/guest.log" \
	"$GUEST_ARGS vxdp.count=$PING_COUNT vxdp.interval=$PING_INTERVAL vxdp.iperf_timeout=$IPERF_SERVER_TIMEOUT"
ktap_result $? "guest boots with virtio-net host_mtu=$MTU on the relay's socket" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}
wait_for_log "$RELAY_LOG" "guest MTU $MTU " 10
ktap_result $? "relay accepted the guest's MTU $MTU (VHOST_USER_NET_SET_MTU)" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"
wait_for_log "$GUEST_LOG" 'VXDP-RESULT mtu' 10 "$QEMU_PID"
r=$(guest_result mtu)
ktap_diag "guest: ${r:-no result}"
[ "$(kv "$r" eth0)" = "$MTU" ]
ktap_result $? "guest eth0 has MTU $MTU"

# 7-9: the guest pings the peer ------------------------------------------
wait_for_log "$GUEST_LOG" 'VXDP-RESULT ping9000' $((10 + 2 * PING_DEADLINE + 30)) "$QEMU_PID"
guest_check_warmup

# guest_ping_check NAME IP-SIZE
guest_ping_check()
{
	local r

	r=$(guest_result "$1")
	ktap_diag "guest->peer $2-byte IP packets: ${r:-no result}"
	[ -n "$r" ] && [ "$(kv "$r" loss)" = "0%" ] &&
		[ "$(kv "$r" rx)" = "$PING_COUNT" ]
	ktap_result $? "guest->peer ping, $2-byte IP packets, 0% loss"
}
guest_ping_check ping1400 1400
guest_ping_check ping9000 9000

# 10-12: the peer pings the guest, don't-fragment -------------------------
wait_for_log "$GUEST_LOG" 'VXDP-IPERF-READY iperf_rx' 30 "$QEMU_PID"
DF=
ns_exec_peer ping -M do -c 1 -W 1 -s 0 127.0.0.1 >/dev/null 2>&1 && DF="-M do"

# peer_ping_check IP-SIZE
peer_ping_check()
{
	local out loss rx

	# shellcheck disable=SC2086 # $DF is one option or none
	out=$(ns_exec_peer ping $DF -c "$PING_COUNT" -i "$PING_INTERVAL" -s $(($1 - 28)) \
		-W 2 -w "$PING_DEADLINE" -q "$GUEST_IP" 2>&1)
	loss=$(ping_loss "$out")
	rx=$(ping_received "$out")
	ktap_diag "peer->guest $1-byte IP packets${DF:+ ($DF)}: rx=${rx:-?}/$PING_COUNT loss=${loss:-?}%"
	[ "$loss" = 0 ] && [ "$rx" = "$PING_COUNT" ]
	ktap_result $? "peer->guest ping, $1-byte IP packets, 0% loss" ||
		ktap_diag "$out"
}
peer_ping_check 1400
peer_ping_check 9000

# Whole 9000-byte packets both ways: a guest at a smaller MTU would have
# fragmented its pings and replies, and the peer reassembled them.
reasm=$(($(peer_snmp ReasmReqds) - reasm0))
frag=$(($(peer_snmp FragCreates) - frag0))
ktap_diag "peer IP: $reasm reassemblies, $frag fragments created"
[ "$reasm" -eq 0 ] && [ "$frag" -eq 0 ]
ktap_result $? "no IP fragmentation: 9000-byte packets crossed as single 9014-byte frames"

# 13-14: iperf3 TCP both ways ---------------------------------------------
IPERF_WHAT=" at MTU $MTU"
iperf_check iperf_rx "peer->guest"
iperf_check iperf_tx "guest->peer" -R

stats=$(relay_stats "$RELAY_NAME" 2>&1)
ktap_diag "vxdpctl stats $RELAY_NAME:"
ktap_diag "$stats"

# 15-16: an MTU over the VF's is refused ----------------------------------
vxdp_stop "$QEMU_PID" TERM 10
wait_for_log "$RELAY_LOG" 'frontend disconnected' 10
big=$((MTU + 500))
# NET_SET_MTU comes when the guest's driver starts the device, just before
# VXDP-READY; the guest comes up either way (its NIC stays dead).
GUEST_NIC_OPTS="${NIC_OPTS}host_mtu=$big" guest_boot "$SOCK" idle "$TMPD/guest-big.log" "$GUEST_ARGS"
wait_for_log "$RELAY_LOG" "refusing guest MTU $big" 30 "$RELAY_PID"
ktap_result $? "relay refuses guest MTU $big on a VF with MTU $MTU" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"
ktap_diag "$(grep -h "refusing guest MTU" "$RELAY_LOG" | tail -n 1)"
wait_for_log "$(qemu_out)" 'MTU not supported by the backend' 10
ktap_result $? "QEMU reports the refused MTU" ||
	ktap_diag_file "$(qemu_out)" 10 "qemu output"
vxdp_stop "$QEMU_PID" TERM 10

# 17-19: clean shutdown, no frame dropped as too big ----------------------
vxdp_stop "$RELAY_PID" TERM 15
ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC"
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
final=$(grep -h 'stopped: to guest' "$RELAY_LOG" | tail -n 1)
ktap_diag "${final#*] }"
too_big=$(printf '%s\n' "$final" | sed -n 's/.*too big for guest \([0-9]*\).*/\1/p')
bad=$(printf '%s\n' "$final" | sed -n 's/.*bad guest frame \([0-9]*\).*/\1/p')
[ "${too_big:-x}" = 0 ] && [ "${bad:-x}" = 0 ]
ktap_result $? "no frame dropped as too big either way"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

# 20: without multi-buffer the relay refuses MTU 9000 ---------------------
relay_start "$TMPD/relay-nosg.log" --xsk-single-buffer --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC"
rc=$?
if [ "$rc" -eq 0 ]; then
	GUEST_NIC_OPTS="${NIC_OPTS}host_mtu=$MTU" guest_boot "$SOCK" idle "$TMPD/guest-nosg.log" "$GUEST_ARGS"
	wait_for_log "$RELAY_LOG" "refusing guest MTU $MTU" 30 "$RELAY_PID"
	rc=$?
	ktap_diag "$(grep -h "refusing guest MTU" "$RELAY_LOG" | tail -n 1)"
fi
ktap_result $rc "single-buffer relay (--xsk-single-buffer) refuses guest MTU $MTU" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

ktap_finish
