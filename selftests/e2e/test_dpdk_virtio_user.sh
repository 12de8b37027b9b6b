#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end with DPDK's virtio-user as a second, independent vhost-user
# client of vxdp-relay (no QEMU): dpdk-testpmd drives the relay's virtio side
# while XDP programs on the far veth end reflect or count the frames.
#
#   netns relay                                 netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF [XDP reflector | sink]
#      | vhost-user socket
#   dpdk-testpmd --vdev net_virtio_user0 (root netns, hugepages)
#
# Three sessions on the same relay, one after the other (so the relay also
# has to take a new vhost-user connection each time):
#   1. PVP loop: testpmd io/loop --tx-first -> relay -> veth -> XDP_TX
#      MAC-swap reflector -> veth -> relay -> testpmd; RX must be > 0.
#   2. txonly: testpmd -> relay -> veth -> XDP sink; the sink must count.
#   3. rxonly: the peer sends pings (static neighbour, nobody answers) ->
#      relay -> testpmd; testpmd must receive them.
# Then the relay must still be running and stop cleanly on SIGTERM.
#
# Knobs: PVP_TIME (10 s), TXONLY_TIME (5 s), RX_PINGS (200).

. "$(dirname "$0")/../lib.sh"

PVP_TIME=${PVP_TIME:-10}
TXONLY_TIME=${TXONLY_TIME:-5}
RX_PINGS=${RX_PINGS:-200}
REFLECT_OBJ=$BUILD/bpf/vxdp_reflect.bpf.o
SINK_OBJ=$BUILD/bpf/vxdp_sink.bpf.o
PREFIX=vxdpt$$			# testpmd --file-prefix

vxdp_init
command -v dpdk-testpmd >/dev/null || ktap_skip_all "dpdk-testpmd not installed (make deps)"
command -v bpftool >/dev/null || ktap_skip_all "bpftool not installed (make deps)"
hugepages_ensure 256 ||
	ktap_skip_all "cannot reserve 256 free 2 MiB hugepages (or mount hugetlbfs) for DPDK"

ktap_plan 12

relay_bin_check || ktap_abort "daemon not built"
for obj in "$REFLECT_OBJ" "$SINK_OBJ"; do
	[ -r "$obj" ] || ktap_abort "$obj not built (make)"
done
topo_setup || ktap_abort "cannot create the netns/veth topology"

SOCK=$TMPD/vhost.sock

# redirected NOW - the relay's XDP "redirected" packet counter
redirected_now()
{
	stat_value "$(relay_stats "$RELAY_NAME" 2>/dev/null)" redirected
}

# 1: relay up (no mac=: every frame on the VF goes to the virtio side) ------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK"
ktap_result $? "relay on $VF ready for DPDK virtio-user" || ktap_abort "relay did not start"

# 2-4: PVP loop through an XDP_TX reflector ------------------------------
if ! xdp_attach "$NS_PEER" "$PEER_IF" "$REFLECT_OBJ"; then
	ktap_diag "cannot attach $REFLECT_OBJ to $PEER_IF"
fi
red0=$(redirected_now)
if testpmd_start "$TMPD/pvp.log" "$PREFIX" "$SOCK" \
	--forward-mode=io --port-topology=loop --tx-first; then
	sleep "$PVP_TIME"	# measurement window, not synchronisation
	testpmd_stop "$TMPD/pvp.log" "$PREFIX"
	ktap_diag "PVP loop: testpmd rx=$TESTPMD_RX tx=$TESTPMD_TX in ~$TESTPMD_SECS s," \
		"Rx-pps mean $TESTPMD_RX_PPS, peak $TESTPMD_PEAK_PPS"
	[ "$TESTPMD_RX" -gt 0 ]
	ktap_result $? "PVP loop: testpmd receives its frames back through the relay" ||
		ktap_diag_file "$TMPD/testpmd.clean" 25 "testpmd output"
else
	ktap_fail "PVP loop: testpmd did not start forwarding"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
fi
red1=$(redirected_now)
ktap_diag "relay XDP redirected: ${red0:-?} -> ${red1:-?}"
[ "${red1:-0}" -gt "${red0:-0}" ]
ktap_result $? "relay's XDP redirected counter grows (PVP)" ||
	ktap_diag "$(relay_stats "$RELAY_NAME" 2>&1)"
refl=$(xdp_prog_counter "$NS_PEER" "$PEER_IF")
ktap_diag "reflector bounced ${refl:-?} frames"
[ "${refl:-0}" -gt 0 ]
ktap_result $? "peer's XDP reflector bounced frames from the relay"

# 5: txonly into an XDP sink -------------------------------------------------
xdp_attach "$NS_PEER" "$PEER_IF" "$SINK_OBJ" ||
	ktap_diag "cannot attach $SINK_OBJ to $PEER_IF"
if testpmd_start "$TMPD/txonly.log" "$PREFIX" "$SOCK" --forward-mode=txonly; then
	sleep "$TXONLY_TIME"	# measurement window
	testpmd_stop "$TMPD/txonly.log" "$PREFIX"
	sink=$(xdp_prog_counter "$NS_PEER" "$PEER_IF")
	ktap_diag "txonly: testpmd tx=$TESTPMD_TX in ~$TESTPMD_SECS s (Tx-pps mean $TESTPMD_TX_PPS)," \
		"peer's XDP sink counted ${sink:-?}"
	[ "${sink:-0}" -gt 0 ]
	ktap_result $? "txonly: frames from testpmd reach the peer's XDP sink" ||
		ktap_diag_file "$TMPD/testpmd.clean" 25 "testpmd output"
else
	ktap_fail "txonly: testpmd did not start forwarding"
fi

# 6: peer -> testpmd rxonly --------------------------------------------------
# No-one answers 192.0.2.2 here; a static neighbour entry lets the peer send.
ip -n "$NS_PEER" link set dev "$PEER_IF" xdp off
ip -n "$NS_PEER" neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$PEER_IF" nud permanent

# testpmd_rx_seen LOG N - testpmd's periodic RX-packets reached N
testpmd_rx_seen()
{
	local n

	n=$(tr -d '\r' <"$1" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | tail -n 1)
	[ "${n:-0}" -ge "$2" ]
}

if testpmd_start "$TMPD/rxonly.log" "$PREFIX" "$SOCK" --forward-mode=rxonly; then
	# (unanswered, iputils ping paces itself to ~100/s; no -w, which would
	# make it keep sending until it got RX_PINGS replies)
	ns_exec_peer timeout 30 ping -c "$RX_PINGS" -i 0.002 -W 1 -q "$GUEST_IP" >/dev/null 2>&1
	# await the last of them at testpmd (stats every 1 s), bounded
	wait_for 5 testpmd_rx_seen "$TMPD/rxonly.log" "$RX_PINGS"
	testpmd_stop "$TMPD/rxonly.log" "$PREFIX"
	ktap_diag "rxonly: peer sent $RX_PINGS pings, testpmd received $TESTPMD_RX"
	[ "$TESTPMD_RX" -gt 0 ]
	ktap_result $? "rxonly: the peer's frames reach testpmd through the relay" ||
		ktap_diag_file "$TMPD/testpmd.clean" 25 "testpmd output"
else
	ktap_fail "rxonly: testpmd did not start forwarding"
fi

# 7-12: the relay survived three client sessions and stops cleanly --------
proc_alive "$RELAY_PID"
ktap_result $? "relay still running after three vhost-user client sessions" ||
	ktap_diag_file "$RELAY_LOG" 30 "relay log"
relay_stop_check "$SOCK"

ktap_finish
