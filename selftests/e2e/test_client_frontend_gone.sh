#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Client mode (mode=client): however the previous frontend went, the relay
# reaches the next one. No guest boots: a paused QEMU (-S) listens and
# speaks the vhost-user handshake once the relay connects, which the relay
# logs at debug level; "reached" means the next QEMU's GET_PROTOCOL_FEATURES
# was seen.
#
#   vxdp-relay (client of SOCK) -> QEMU 1..4, each stopped with SIGTERM
#                               -> QEMU 5, SIGKILLed, QEMU 6
#                               -> vxdp-hostile: a listener that resets the
#                                  connection, one that never accepts, one
#                                  that closes in libvirt's destroy order
#                               -> QEMU 7
#
# SIGTERM is how libvirt's `virsh destroy` starts: QEMU closes the
# vhost-user connection a moment before its listening socket, and a relay
# reconnecting at once lands in the exiting QEMU's backlog; that connection
# is then reset, which the relay must notice (issue 9). Several SIGTERMs,
# since the race is not won every time.
#
# Knobs: CYCLES (4), REACH_TIMEOUT (10 s), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

CYCLES=${CYCLES:-4}
REACH_TIMEOUT=${REACH_TIMEOUT:-10}

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"

ktap_plan 8

relay_bin_check || ktap_abort "daemon not built"
[ -x "$HOSTILE_BIN" ] || ktap_abort "$HOSTILE_BIN not built (make)"
topo_setup || ktap_abort "cannot create the netns/veth topology"

SOCK=$TMPD/qemu.sock
relay_start "$TMPD/relay.log" --log-level 7 --relay "vf=$VF,socket=$SOCK,mode=client" &&
	wait_for_log "$RELAY_LOG" 'waiting for QEMU to listen' 10 "$RELAY_PID"
ktap_result $? "client-mode relay starts and waits for QEMU" || ktap_abort "relay did not start"
DPID=$RELAY_PID

# qemu_reached N - start QEMU N and await its handshake with the relay;
# REACHED_S is how long that took
qemu_reached()
{
	local n0 t0 rc

	n0=$(wc -l <"$RELAY_LOG")
	t0=$(now_epoch)
	qemu_frontend_start "$SOCK" "$TMPD/qemu$1.out"
	wait_for "$REACH_TIMEOUT" eval 'log_since "$RELAY_LOG" '"$n0"' | grep -q "GET_PROTOCOL_FEATURES"'
	rc=$?
	REACHED_S=$(awk -v a="$t0" -v b="$(now_epoch)" 'BEGIN { printf "%.2f", b - a }')
	[ "$rc" -ne 0 ] && ktap_diag_file "$TMPD/qemu$1.out" 5 "qemu $1"
	return $rc
}

# 1: QEMU goes with SIGTERM, CYCLES times ----------------------------------
ok=0 delays=""
for ((i = 1; i <= CYCLES; i++)); do
	if ! qemu_reached "$i"; then
		ok=1
		ktap_diag "QEMU $i (after $((i - 1)) SIGTERMs) not reached in $REACH_TIMEOUT s"
		break
	fi
	delays+=" $REACHED_S"
	vxdp_stop "$QEMU_PID" TERM 10
done
ktap_diag "QEMU start to handshake, s:$delays"
ktap_result $ok "after each of $CYCLES QEMUs stopped by SIGTERM, the relay reaches the next" ||
	ktap_diag_file "$RELAY_LOG" 8 "relay log"

# 2: SIGKILL ---------------------------------------------------------------
if [ "$ok" -eq 0 ]; then
	qemu_reached $((CYCLES + 1))
	ok=$?
	{ vxdp_stop "$QEMU_PID" KILL 10; } 2>/dev/null
fi
[ "$ok" -eq 0 ] && qemu_reached $((CYCLES + 2))
ktap_result $? "after a QEMU killed with SIGKILL, the relay reaches the next (${REACHED_S} s)"
vxdp_stop "$QEMU_PID" TERM 10

# 3-5: hostile listeners, then a QEMU ------------------------------------------
for a in reset never-accept linger; do
	hostile "$TMPD/$a.out" --target "$SOCK" --reach $((REACH_TIMEOUT * 1000)) "$a"
	[ "$(hostile_kv "$TMPD/$a.out" "attack=$a" reached)" = 1 ]
	ktap_result $? "after a listener that $(case $a in reset) echo "resets the connection" ;;
		never-accept) echo "never accepts, then goes" ;;
		linger) echo "goes in libvirt's destroy order" ;; esac), the relay reaches the next ($(hostile_kv "$TMPD/$a.out" "attack=$a" reached_ms) ms)" ||
		hostile_diag "$TMPD/$a.out"
done
qemu_reached 99
ktap_result $? "and then a QEMU again (${REACHED_S} s)"
vxdp_stop "$QEMU_PID" TERM 10

# 6: the end -----------------------------------------------------------------
vxdp_stop "$DPID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ] && sanitizer_clean "$RELAY_LOG"
ktap_result $? "relay exits 0 on SIGTERM, no sanitizer report" || ktap_diag_file "$RELAY_LOG" 20 "relay log"

ktap_finish
