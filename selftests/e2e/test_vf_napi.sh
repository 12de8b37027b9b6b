#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The VF's NAPI deferral for AF_XDP busy polling (user/xdp/vf_napi.c): by
# default the VF is left alone; with napi-defer=N and busy polling on, the
# relay sets napi_defer_hard_irqs / gro_flush_timeout on its VF while it
# runs and puts back what was there when it stops; an operator's own values
# are left alone (and used); --busy-poll 0 leaves the VF untouched; a
# failed start puts them back too.
# A relay killed with SIGKILL cannot put them back: the values it replaced
# are recorded in a map pinned in its bpffs directory, and its next run
# puts those back at exit. No QEMU needed: the relay only has
# to start, on a veth "VF".
#
#   netns relay: vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF (netns peer)

. "$(dirname "$0")/../lib.sh"

vxdp_init
ktap_plan 21

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
bpffs_ensure
[ -r "/sys/class/net/lo/napi_defer_hard_irqs" ] ||
	ktap_skip_all "kernel without napi_defer_hard_irqs (5.11+)"
SOCK=$TMPD/vhost.sock

# knobs - "DEFER TIMEOUT_NS" of the VF, read in its netns
knobs()
{
	ns_exec_relay sh -c "echo \$(cat /sys/class/net/$VF/napi_defer_hard_irqs) \
		\$(cat /sys/class/net/$VF/gro_flush_timeout)"
}

set_knobs()
{
	ns_exec_relay sh -c "echo $2 > /sys/class/net/$VF/gro_flush_timeout &&
		echo $1 > /sys/class/net/$VF/napi_defer_hard_irqs"
}

# run_relay NAME WANT_WHILE_UP WANT_AFTER LOG_PATTERN ARGS... - start a relay,
# compare the VF's knobs while it runs and after SIGTERM (3 checks)
run_relay()
{
	local name=$1 up=$2 after=$3 pattern=$4 got

	shift 4
	relay_start "$TMPD/relay-$name.log" "$@"
	ktap_result $? "$name: relay starts" ||
		{ ktap_skip "$name: knobs" "no relay"; ktap_skip "$name: exit" "no relay"; return; }
	got=$(knobs)
	ktap_diag "$name: VF napi_defer_hard_irqs gro_flush_timeout while up: $got"
	[ "$got" = "$up" ] && { [ -z "$pattern" ] || grep -q -- "$pattern" "$RELAY_LOG"; } &&
		{ [ -n "$pattern" ] || ! grep -q 'NAPI deferral' "$RELAY_LOG"; }
	ktap_result $? "$name: VF knobs '$up' while the relay runs${pattern:+, logged}" ||
		ktap_diag_file "$RELAY_LOG" 10 "relay log"
	vxdp_stop "$RELAY_PID" TERM 15
	got=$(knobs)
	ktap_diag "$name: after exit: $got"
	[ "$VXDP_STOP_RC" -eq 0 ] && [ "$got" = "$after" ] && sanitizer_clean "$RELAY_LOG"
	ktap_result $? "$name: exit 0, VF knobs '$after' afterwards"
}

# 1-3: the default leaves the VF alone: a lone frame would wait for the
# deferral's timer (tools/bench/BENCH-RESULTS.md, run 12)
set_knobs 0 0
run_relay default "0 0" "0 0" "" --relay "vf=$VF,socket=$SOCK"

# 4-6: napi-defer=2 (the kernel's recipe), VF untuned: 2 x 200 us while up,
# 0 0 after
run_relay napi-defer=2 "2 200000" "0 0" "NAPI deferral 2 x 200 us for busy polling (set now, put back at exit)" \
	--relay "vf=$VF,socket=$SOCK,napi-defer=2"

# 7-9: napi-defer=3,napi-timeout=50
run_relay tuned "3 50000" "0 0" "NAPI deferral 3 x 50 us" \
	--relay "vf=$VF,socket=$SOCK,napi-defer=3,napi-timeout=50"

# 10-12: the operator's own deferral stays, and is used
set_knobs 1 30000
run_relay operator "1 30000" "1 30000" "NAPI deferral 1 x 30 us for busy polling (the VF's own)" \
	--relay "vf=$VF,socket=$SOCK,napi-defer=2"
set_knobs 0 0

# 13-15: --busy-poll 0: no busy polling, no deferral
run_relay busy-poll-0 "0 0" "0 0" "" --busy-poll 0 --relay "vf=$VF,socket=$SOCK,napi-defer=2"

# 16: a relay that fails after setting the knobs (its socket cannot be
# created) puts them back before it exits
out=$(netns_exec "$NS_RELAY" "$RELAY_BIN" --relay "vf=$VF,socket=$TMPD/no-such-dir/s,napi-defer=2" 2>&1)
rc=$?
got=$(knobs)
ktap_diag "failed start: exit $rc, knobs after: $got"
[ "$rc" -eq 1 ] && grep -q 'NAPI deferral 2 x 200 us' <<<"$out" && [ "$got" = "0 0" ]
ktap_result $? "a relay failing after the NAPI change puts the knobs back, exit 1" ||
	ktap_diag "$out"

# 17-21: SIGKILL, then a new run of the same relay
PIN=$VXDP_PIN_ROOT/$VF/vf_napi
relay_start "$TMPD/relay-crash1.log" --relay "vf=$VF,socket=$SOCK,napi-defer=2"
[ "$(knobs)" = "2 200000" ] && [ -e "$PIN" ] &&
	bpftool map dump pinned "$PIN" >"$TMPD/rec.txt" 2>&1
ktap_result $? "the values replaced are recorded at $PIN (bpftool map dump)" ||
	ktap_diag_file "$TMPD/rec.txt" 10 "bpftool"
vxdp_stop "$RELAY_PID" KILL 15
got=$(knobs)
ktap_diag "after SIGKILL: knobs $got, record $([ -e "$PIN" ] && echo kept || echo gone)"
[ "$got" = "2 200000" ] && [ -e "$PIN" ]
ktap_result $? "SIGKILL: the deferral and its record stay behind"
relay_start "$TMPD/relay-crash2.log" --relay "vf=$VF,socket=$SOCK,napi-defer=2"
ktap_result $? "the relay starts again after SIGKILL"
grep -q 'left by an earlier run that did not shut down cleanly; 0 x 0 ns go back at exit' "$RELAY_LOG" &&
	[ "$(knobs)" = "2 200000" ]
ktap_result $? "the new run takes 2 x 200 us for the crashed run's, not the operator's" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"
vxdp_stop "$RELAY_PID" TERM 15
got=$(knobs)
ktap_diag "after SIGTERM: knobs $got"
[ "$VXDP_STOP_RC" -eq 0 ] && [ "$got" = "0 0" ] && [ ! -e "$PIN" ] && [ ! -e "$VXDP_PIN_ROOT/$VF" ]
ktap_result $? "SIGTERM: 0 0 back on the VF, record and pin directory gone"

ktap_finish
