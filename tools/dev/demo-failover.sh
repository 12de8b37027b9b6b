#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/dev/demo-failover.sh (`make demo-failover`) - a live migration of a
# guest with a passthrough NIC, the failover agents of two vxdp-relays doing
# the host side alone:
#
#   host A: vxdp-relay + agent, bridge A (the NIC's switch) --+
#           QEMU: virtio-net standby on the relay,            +-- peer 192.0.2.1
#                 e1000 primary on a tap in bridge A          |   (pings every 10 ms)
#   host B: the same, QEMU waiting for the migration ---------+
#
# (selftests/lib.sh, "QEMU failover": the machinery of
# selftests/e2e/test_failover.sh.) Everything lives in namespaces created here
# and is removed on exit. Needs root, qemu-system-x86_64 and a built tree.

DEMO=demo-failover
. "$(dirname "$0")/demo-lib.sh"

ctl() { local s=$1; shift; netns_exec "$NS_RELAY" "$VXDPCTL_BIN" -s "$s" "$@"; }
state_is() { [ "$(json_get "$(ctl "$1" failover --json 2>/dev/null)" 'j["vms"][0]["state"]')" = "$2" ]; }
# the agent's transitions in LOG since FROM, "a -> b (reason)" each on a line
steps()
{
	local off

	off=$(mono_to_epoch_offset)
	sed -n 's/^\[ *\([0-9.]*\)\] notice: failover [0-9a-f:]*: \([a-z-]* -> [a-z-]*\) on [^:]*: \(.*\) ([0-9]* actions\{0,1\})$/\1 \2 (\3)/p' "$1" |
		awk -v o="$off" -v f="$2" '$1 + o >= f { $1 = ""; sub(/^ /, ""); print }'
}

say "Two hosts, each a relay with its failover agent and a bridge as its NIC's switch"
fo_topo_setup || die "cannot create the namespaces, bridges and taps"
fo_guest_prepare || die "cannot build the guest (tools/dev/mkguest.sh)"
for h in A B; do
	if [ "$h" = A ]; then
		spec="vf=$VF,socket=$TMPD/a.sock,mac=$GUEST_MAC,primary-port=$FO_TAP_A,relay-port=$FO_VFP_A,qmp=$TMPD/a.agent.qmp"
	else
		spec="vf=$FO_VF_B,socket=$TMPD/b.sock,mac=$GUEST_MAC,primary-port=$FO_TAP_B,relay-port=$FO_VFP_B,qmp=$TMPD/b.agent.qmp"
	fi
	echo "   $h: vxdp-relay --relay ${spec//$TMPD\//}"
	relay_start "$TMPD/relay-$h.log" --relay "$spec" || die "relay $h did not start"
	eval "CTL_$h=\$RELAY_CTL"
done

say "Booting the guest on A (standby on relay A, e1000 primary on A's switch)"
T0=$(now_epoch)
FO_GUEST_ARGS="vxdp.tx_interval=0.05"
fo_qemu_start a "$TMPD/a.sock" "$FO_TAP_A" "$TMPD/a.agent.qmp" || die "cannot start QEMU"
fo_qemu_start b "$TMPD/b.sock" "$FO_TAP_B" "$TMPD/b.agent.qmp" -incoming "unix:$TMPD/mig.sock"
wait_for_log "$TMPD/a.log" 'VXDP-IDLE|VXDP-FAIL' 180 || die "the guest did not come up"
wait_for 30 state_is "$CTL_A" primary || die "A's agent did not put the guest on its primary"
steps "$TMPD/relay-A.log" "$T0" | sed 's/^/A: /' | indent

say "The peer pings the guest every 10 ms; migrating A -> B over QMP"
peer_ping_bg "$TMPD/ping.log" -i 0.01 -W 1
sleep 1
T1=$(now_epoch)
qmp a "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$TMPD/mig.sock\"}}" >/dev/null ||
	die "migrate refused"
wait_for 90 eval '[ "$(json_get "$(qmp a "{\"execute\": \"query-migrate\"}")" "j[\"status\"]")" = completed ]' ||
	die "the migration did not complete"
T2=$(now_epoch)
# As libvirt does: the source QEMU, paused for good, is told to quit.
qmp a '{"execute": "quit"}' >/dev/null
wait_for 30 state_is "$CTL_B" primary
sleep 0.5
kill -INT "$PEER_PING_PID"
steps "$TMPD/relay-A.log" "$T1" | sed 's/^/A: /' | indent
steps "$TMPD/relay-B.log" "$T1" | sed 's/^/B: /' | indent
lost=$(ping_log_gaps "$TMPD/ping.log" | awk -v a="$T1" '$5 >= a { n += $3; g = g sprintf("%s%d", g ? " + " : "", $3) } END { printf "%d (%s)", n, g ? g : "none" }')
echo "   migration $(awk -v a="$T1" -v b="$T2" 'BEGIN { printf "%.1f", b - a }') s; pings lost: $lost of $(ping_log_replies "$TMPD/ping.log" "$T1") answered"
echo "   (lost while the guest unplugs its primary, while the VM is stopped, and"
echo "    between B's primary coming up in the guest and its link)"

say "vxdpctl failover on B"
ctl "$CTL_B" failover | indent
exit 0
