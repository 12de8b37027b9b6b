#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: a real QEMU guest (TCG) whose virtio-net is served by
# vxdp-relay over vhost-user, relayed through XDP + AF_XDP on a veth "VF" to a
# peer namespace.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#      | vhost-user socket
#   QEMU guest eth0 192.0.2.2/24 (tiny initramfs, tools/dev/mkguest.sh "e2e")
#
# Checks: ping both ways with 64- and 1400-byte frames at 0% loss, iperf3 TCP
# both ways, XDP redirect counters, < 1% CPU while idle, and a clean SIGTERM
# (exit 0, socket removed, XDP detached, pins removed).
#
# Knobs (environment): PING_COUNT (10), IPERF_TIME (4 s), RELAY_BIN,
# GUEST_NIC_OPTS (extra virtio-net-pci properties, e.g. packed=on),
# GUEST_EXPECT_RING (split|packed: fail unless the guest negotiated it),
# VXDP_KEEP_TMP=1 (keep logs).

. "$(dirname "$0")/../lib.sh"

PING_COUNT=${PING_COUNT:-10}
PING_INTERVAL=0.2
IPERF_TIME=${IPERF_TIME:-4}
IDLE_WINDOW=5			# seconds of CPU accounting while idle
# a ping run's deadline (nominal length + 5 s), as the guest computes it
PING_DEADLINE=$(awk -v c="$PING_COUNT" -v i="$PING_INTERVAL" 'BEGIN { printf "%d", c * i + 5.5 }')
IPERF_SERVER_TIMEOUT=$((IPERF_TIME + 30))	# guest's bound per iperf3 -s run

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v iperf3 >/dev/null || ktap_skip_all "iperf3 not installed (make deps)"

ktap_plan 16

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock

# 1: the relay comes up ---------------------------------------------------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC"
ktap_result $? "relay on $VF listens on its vhost-user socket (ready:)" ||
	ktap_abort "relay did not start"

# 2: the guest boots with its NIC on the relay ----------------------------
guest_boot "$SOCK" e2e "$TMPD/guest.log" \
	"vxdp.count=$PING_COUNT vxdp.interval=$PING_INTERVAL vxdp.iperf_timeout=$IPERF_SERVER_TIMEOUT"
booted=$?
if [ "$booted" -eq 0 ]; then
	ring=$(guest_virtio_ring)
	ktap_diag "guest virtio-net ring layout: $ring${GUEST_NIC_OPTS:+ (GUEST_NIC_OPTS=$GUEST_NIC_OPTS)}"
	# a variant may insist on a layout (test_qemu_guest_packed.sh)
	if [ -n "$GUEST_EXPECT_RING" ] && [ "$ring" != "$GUEST_EXPECT_RING" ]; then
		ktap_diag "expected a $GUEST_EXPECT_RING ring"
		booted=1
	fi
fi
ktap_result $booted "guest boots with virtio-net${GUEST_EXPECT_RING:+ ($GUEST_EXPECT_RING ring)} on the relay's socket" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}

# 3-5: the guest pings the peer ------------------------------------------
# Bound: warmup (<= 5 tries of 2 s) + two ping runs + slack for TCG.
wait_for_log "$GUEST_LOG" 'VXDP-RESULT ping1400' $((10 + 2 * PING_DEADLINE + 20)) "$QEMU_PID"
guest_check_warmup

# guest_ping_check NAME FRAME-SIZE
guest_ping_check()
{
	local r

	r=$(guest_result "$1")
	ktap_diag "guest->peer $2-byte frames: ${r:-no result}"
	[ -n "$r" ] && [ "$(kv "$r" loss)" = "0%" ] &&
		[ "$(kv "$r" rx)" = "$PING_COUNT" ]
	ktap_result $? "guest->peer ping, $2-byte frames, 0% loss"
}
guest_ping_check ping64 64
guest_ping_check ping1400 1400

# 6-7: the peer pings the guest (host iputils ping) -----------------------
wait_for_log "$GUEST_LOG" 'VXDP-IPERF-READY iperf_rx' 30 "$QEMU_PID"

# peer_ping_check DATA-SIZE FRAME-SIZE
peer_ping_check()
{
	local out loss rx

	out=$(ns_exec_peer ping -c "$PING_COUNT" -i "$PING_INTERVAL" -s "$1" \
		-W 2 -w "$PING_DEADLINE" -q "$GUEST_IP" 2>&1)
	loss=$(ping_loss "$out")
	rx=$(ping_received "$out")
	ktap_diag "peer->guest $2-byte frames: rx=${rx:-?}/$PING_COUNT loss=${loss:-?}%"
	[ "$loss" = 0 ] && [ "$rx" = "$PING_COUNT" ]
	ktap_result $? "peer->guest ping, $2-byte frames, 0% loss" ||
		ktap_diag "$out"
}
peer_ping_check 22 64
peer_ping_check 1358 1400

# 8-9: iperf3 TCP, both directions ---------------------------------------
iperf_check iperf_rx "peer->guest"
iperf_check iperf_tx "guest->peer" -R

if [ "$CONNECTED" -eq 0 ]; then
	wait_for_log "$GUEST_LOG" 'VXDP-IDLE' $((IPERF_SERVER_TIMEOUT + 10)) "$QEMU_PID" ||
		ktap_diag "guest did not report VXDP-IDLE"
fi

# 10: XDP counters ------------------------------------------------------
stats=$(relay_stats "$RELAY_NAME" 2>&1)
ktap_diag "vxdpctl stats $RELAY_NAME:"
ktap_diag "$stats"
redirected=$(stat_value "$stats" redirected)
[ "${redirected:-0}" -gt 0 ]
ktap_result $? "XDP redirected counter > 0 (${redirected:-none})"

# 11: idle CPU ------------------------------------------------------------
# Guest idle, no traffic: the relay must sleep, not poll. Sum utime+stime
# over all its threads across a fixed measurement window.
hz=$(getconf CLK_TCK)
t0=$(proc_cpu_ticks "$RELAY_PID")
sleep "$IDLE_WINDOW"		# measurement window, not synchronisation
t1=$(proc_cpu_ticks "$RELAY_PID")
used=$((t1 - t0))
ktap_diag "$(awk -v u="$used" -v hz="$hz" -v w="$IDLE_WINDOW" 'BEGIN {
	printf "relay CPU while idle: %.3f s in %d s (%.2f%% of one core)", u / hz, w, 100 * u / hz / w }')"
# < 1% of one core over the window: used/hz < 0.01 * window
awk -v u="$used" -v hz="$hz" -v w="$IDLE_WINDOW" 'BEGIN { exit !(u / hz < 0.01 * w) }'
ktap_result $? "relay uses < 1% CPU while the guest is idle"

# 12-16: clean shutdown on SIGTERM ---------------------------------------
relay_stop_check "$SOCK"

ktap_finish
