#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# poll=busy: a relay whose worker never sleeps, like DPDK's poll-mode relay.
# With no frontend and no traffic it must still spin (the default mode sleeps:
# test_qemu_guest.sh and test_many_relays.sh hold it under 1% CPU), carry
# frames both ways with DPDK's virtio-user as the frontend, and stop cleanly.
#
#   netns relay                                 netns peer
#   vxdp-relay poll=busy --AF_XDP-- $VF ====veth==== $PEER_IF [XDP reflector]
#      | vhost-user socket
#   dpdk-testpmd --vdev net_virtio_user0 io/loop --tx-first (hugepages)
#
# Knobs: SPIN_WINDOW (2 s), SPIN_MIN_PCT (25: a spinning worker on a busy
# 2-CPU machine still gets far more; a sleeping one ~0), PVP_TIME (2 s).

. "$(dirname "$0")/../lib.sh"

SPIN_WINDOW=${SPIN_WINDOW:-2}
SPIN_MIN_PCT=${SPIN_MIN_PCT:-25}
PVP_TIME=${PVP_TIME:-2}
REFLECT_OBJ=$BUILD/bpf/vxdp_reflect.bpf.o
PREFIX=vxdpt$$			# testpmd --file-prefix

vxdp_init
PVP_SKIP=""
command -v dpdk-testpmd >/dev/null || PVP_SKIP="dpdk-testpmd not installed (make deps)"
command -v bpftool >/dev/null || PVP_SKIP="bpftool not installed (make deps)"
[ -n "$PVP_SKIP" ] || hugepages_ensure 256 ||
	PVP_SKIP="cannot reserve 256 free 2 MiB hugepages for DPDK"

ktap_plan 5

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
SOCK=$TMPD/vhost.sock

# 1: the relay up in busy mode ------------------------------------------------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK,poll=busy"
rc=$?
[ "$rc" -eq 0 ] && grep -q "poll: busy" "$RELAY_LOG"
ktap_result $? "relay with poll=busy ready, its log says 'poll: busy'" ||
	ktap_abort "relay did not start"

# 2: it spins with nothing to do ---------------------------------------------
hz=$(getconf CLK_TCK)
c0=$(proc_cpu_ticks "$RELAY_PID")
sleep "$SPIN_WINDOW"	# measurement window, not synchronisation
c1=$(proc_cpu_ticks "$RELAY_PID")
pct=$(((c1 - c0) * 100 / (SPIN_WINDOW * hz)))
ktap_diag "relay CPU with no frontend and no traffic: $((c1 - c0)) ticks in $SPIN_WINDOW s = $pct% of one core"
[ "$pct" -ge "$SPIN_MIN_PCT" ]
ktap_result $? "poll=busy: the worker polls without sleeping while idle ($pct% >= $SPIN_MIN_PCT% of one core)"

# 3: frames both ways --------------------------------------------------------
if [ -n "$PVP_SKIP" ]; then
	ktap_skip "PVP in busy mode: $PVP_SKIP"
elif ! xdp_attach "$NS_PEER" "$PEER_IF" "$REFLECT_OBJ"; then
	ktap_fail "PVP in busy mode: cannot attach $REFLECT_OBJ to $PEER_IF"
elif testpmd_start "$TMPD/pvp.log" "$PREFIX" "$SOCK" \
	--forward-mode=io --port-topology=loop --tx-first; then
	sleep "$PVP_TIME"	# measurement window, not synchronisation
	testpmd_stop "$TMPD/pvp.log" "$PREFIX"
	refl=$(xdp_prog_counter "$NS_PEER" "$PEER_IF")
	ktap_diag "PVP loop: testpmd rx=$TESTPMD_RX tx=$TESTPMD_TX in ~$TESTPMD_SECS s, reflector ${refl:-?}"
	[ "$TESTPMD_RX" -gt 0 ] && [ "${refl:-0}" -gt 0 ]
	ktap_result $? "PVP in busy mode: frames reach the peer's reflector and come back to testpmd" ||
		ktap_diag_file "$TMPD/testpmd.clean" 25 "testpmd output"
else
	ktap_fail "PVP in busy mode: testpmd did not start forwarding"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
fi

# 4-5: a clean stop ------------------------------------------------------------
vxdp_stop "$RELAY_PID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "busy relay exits 0 on SIGTERM (status $VXDP_STOP_RC)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
