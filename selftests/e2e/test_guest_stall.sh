#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A guest that stops taking frames (a paused VM, a hung driver) while the VF
# keeps receiving must not cost the relay CPU, and must get its traffic again
# once it resumes. The guest is DPDK's virtio-user in rxonly mode, paused
# with SIGSTOP; the VF's traffic is a paced AF_PACKET source in the peer
# netns (vxdp-benchgen pkt, 2000 frames/s).
#
#   netns relay                                netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF <- vxdp-benchgen pkt
#      | vhost-user socket
#   dpdk-testpmd --vdev net_virtio_user0 --forward-mode=rxonly (SIGSTOP/CONT)
#
# While the guest is stopped its rx ring fills, then the relay's XSK rx ring,
# and the kernel drops the rest. Those waiting frames keep the XSK readable:
# a relay that polled it again and again would spin; it must sleep until the
# guest posts buffers (its kick), i.e. use < 5% of a core over 3 s.
#
# Knobs: STALL_SECS (3 s CPU window), RATE (2000 frames/s).

. "$(dirname "$0")/../lib.sh"

STALL_SECS=${STALL_SECS:-3}
RATE=${RATE:-2000}
GEN_BIN=$BUILD/vxdp-benchgen
PREFIX=vxdps$$			# testpmd --file-prefix

vxdp_init
command -v dpdk-testpmd >/dev/null || ktap_skip_all "dpdk-testpmd not installed (make deps)"
hugepages_ensure 256 ||
	ktap_skip_all "cannot reserve 256 free 2 MiB hugepages (or mount hugetlbfs) for DPDK"

ktap_plan 8

relay_bin_check || ktap_abort "daemon not built"
[ -x "$GEN_BIN" ] || ktap_abort "$GEN_BIN not built (make)"
topo_setup || ktap_abort "cannot create the netns/veth topology"

SOCK=$TMPD/vhost.sock
HZ=$(getconf CLK_TCK)

# redirected_ge N - the relay's XDP redirected counter reached N
redirected_ge()
{
	local n

	n=$(stat_value "$(relay_stats "$RELAY_NAME" 2>/dev/null)" redirected)
	[ "${n:-0}" -ge "$1" ]
}

# 1: relay and guest up, traffic flowing ------------------------------------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK"
ktap_result $? "relay on $VF ready" || ktap_abort "relay did not start"

testpmd_start "$TMPD/rxonly.log" "$PREFIX" "$SOCK" --forward-mode=rxonly ||
	ktap_abort "testpmd (virtio-user rxonly) did not start forwarding"
# the source runs for the whole test; cleanup reaps it
vxdp_bg "$TMPD/gen.log" ip netns exec "$NS_PEER" "$GEN_BIN" pkt "$PEER_IF" \
	--size 64 --dst "$GUEST_MAC" --rate "$RATE" --seconds 60
wait_for 10 testpmd_rx_ge "$TMPD/rxonly.log" 1000
ktap_result $? "the guest receives the VF's frames ($(testpmd_rx "$TMPD/rxonly.log") so far)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# 2: guest paused: its ring and then the XSK ring fill up --------------------
kill -STOP "$TESTPMD_PID"
red=$(stat_value "$(relay_stats "$RELAY_NAME" 2>/dev/null)" redirected)
# 1024 guest buffers + 1024 XSK frames, and then some: both rings are full
wait_for 10 redirected_ge $((${red:-0} + 2500))
ktap_result $? "the VF keeps receiving while the guest is paused"

# 3: and the relay sleeps -----------------------------------------------------
t0=$(proc_cpu_ticks "$RELAY_PID")
sleep "$STALL_SECS"	# measurement window, not synchronisation
t1=$(proc_cpu_ticks "$RELAY_PID")
pct=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$STALL_SECS" 'BEGIN { printf "%.1f", 100 * t / hz / s }')
ktap_diag "relay CPU with the guest paused and $RATE frames/s arriving: $((t1 - t0)) ticks in $STALL_SECS s ($pct% of a core)"
awk -v p="$pct" 'BEGIN { exit !(p < 5) }'
ktap_result $? "relay uses < 5% of a core while the paused guest's frames wait"

# 4: guest back: traffic resumes ---------------------------------------------
rx_stop=$(testpmd_rx "$TMPD/rxonly.log")
kill -CONT "$TESTPMD_PID"
wait_for 10 testpmd_rx_ge "$TMPD/rxonly.log" $((${rx_stop:-0} + 2 * RATE))
ktap_result $? "after SIGCONT the guest receives again (${rx_stop:-?} -> $(testpmd_rx "$TMPD/rxonly.log"))" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# 6-8: clean exit ----------------------------------------------------------------
testpmd_stop "$TMPD/rxonly.log" "$PREFIX"
vxdp_stop "$RELAY_PID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
grep -o 'AF_XDP dropped: [^;]*' "$RELAY_LOG" | sed 's/^/# relay: /'
grep -q 'AF_XDP dropped: no rx buffer [1-9]' "$RELAY_LOG"
ktap_result $? "the kernel dropped (and counted) what the paused guest could not take"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
