#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Server mode (the default) over many frontend sessions: one relay, started
# once, serves QEMU guests and DPDK virtio-user sessions one after the other
# and must carry traffic for each; a second frontend connecting while one is
# connected is turned away without disturbing the first, and without
# flooding the log (QEMU retries a refused connection at once: the relay
# used to log one warning per retry, ~16k lines a second).
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#      | vhost-user socket (relay listens)     (+ XDP reflector for testpmd)
#   QEMU guest 192.0.2.2/24 ("idle") | dpdk-testpmd virtio-user
#
# Sessions: QEMU #1; QEMU #2 with a second QEMU and a burst of raw
# connections refused meanwhile; TESTPMD_SESSIONS testpmd PVP loops (skipped,
# not failed, without dpdk-testpmd or hugepages); QEMU #3. Then SIGTERM.
#
# Knobs: TESTPMD_SESSIONS (3), REFUSE_BURST (200), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

TESTPMD_SESSIONS=${TESTPMD_SESSIONS:-3}
REFUSE_BURST=${REFUSE_BURST:-200}
PING_COUNT=10
PING_INTERVAL=0.1
MAX_REFUSAL_WARNINGS=3		# "a handful": one per connection is the design
REFLECT_OBJ=$BUILD/bpf/vxdp_reflect.bpf.o
PREFIX=vxdpt$$			# testpmd --file-prefix

# TCG boots slow down a lot when the machine is busy: be generous, bounded
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-180}

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v python3 >/dev/null || ktap_skip_all "python3 not installed"

ktap_plan $((17 + TESTPMD_SESSIONS))

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock
SESSIONS=0		# frontend sessions the relay has served so far

# 1: one relay for the whole test (no mac=: testpmd's frames too) ----------
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK"
ktap_result $? "relay listens on $SOCK (server mode)" || ktap_abort "relay did not start"

# await_disconnects N - the relay logged N "frontend disconnected"
await_disconnects()
{
	wait_for 30 log_count_ge "$RELAY_LOG" 'frontend disconnected' "$1"
}

# qemu_session NR - boot a guest, check peer<->guest traffic; leaves it up.
qemu_session()
{
	local nr=$1 t0 rc

	t0=$(date +%s%N)
	guest_boot "$SOCK" idle "$TMPD/guest$nr.log"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		SESSIONS=$((SESSIONS + 1))
		peer_ping "$PING_COUNT" 56 "$PING_INTERVAL"
		rc=$?
		ktap_diag "QEMU #$nr: up in $(( ($(date +%s%N) - t0) / 1000000 )) ms," \
			"peer->guest rx=${PING_RX:-?}/$PING_COUNT loss=${PING_LOSS:-?}%"
		[ "$rc" -ne 0 ] && ktap_diag "$PING_OUT"
	fi
	ktap_result $rc "QEMU session #$nr: guest boots, peer<->guest pings at 0% loss" ||
		ktap_diag_file "$RELAY_LOG" 15 "relay log"
}

# qemu_end NR - stop session NR's QEMU, await the relay noticing
qemu_end()
{
	vxdp_stop "$QEMU_PID" TERM 15
	await_disconnects "$SESSIONS"
	ktap_result $? "QEMU session #$1 ends, relay logs the disconnect, keeps running" ||
		ktap_diag_file "$RELAY_LOG" 10 "relay log"
	proc_alive "$RELAY_PID" || ktap_abort "the relay died"
}

# 2-3: QEMU #1 ------------------------------------------------------------------
qemu_session 1
qemu_end 1

# 4-10: QEMU #2, with a second frontend refused meanwhile ---------------------
qemu_session 2
FIRST_QEMU=$QEMU_PID
FIRST_LOG=$GUEST_LOG
disc0=$(log_count "$RELAY_LOG" 'frontend disconnected')

# a second QEMU on the same socket: the relay turns it away; QEMU 7.2 then
# retries at once, over and over, until it is killed
guest_start "$SOCK" idle "$TMPD/intruder.log"
INTRUDER=$QEMU_PID
QEMU_PID=$FIRST_QEMU GUEST_LOG=$FIRST_LOG
wait_for_log "$RELAY_LOG" 'refusing a second frontend' 60 "$RELAY_PID"
ktap_result $? "a second QEMU connecting meanwhile is refused (warning logged)" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

# while it keeps retrying, the first guest must keep working
peer_ping "$PING_COUNT" 56 "$PING_INTERVAL"
rc=$?
intruder_alive=0
proc_alive "$INTRUDER" && intruder_alive=1
ktap_diag "first guest while the second QEMU retries: rx=${PING_RX:-?}/$PING_COUNT loss=${PING_LOSS:-?}% (second QEMU still retrying: $intruder_alive)"
ktap_result $rc "the first guest keeps working while the second QEMU retries" ||
	ktap_diag "$PING_OUT"

{ vxdp_stop "$INTRUDER" KILL 10; } 2>/dev/null

# then a burst of raw connections: each must be accepted and closed at once
# (EOF), none kept (a kept one would time out the recv)
burst=$(ip netns exec "$NS_RELAY" timeout 60 python3 -c '
import socket, sys
path, n = sys.argv[1], int(sys.argv[2])
eof = kept = failed = 0
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        if s.recv(1) == b"":
            eof += 1
    except socket.timeout:
        kept += 1
    except OSError:
        failed += 1
    s.close()
print("eof=%d kept=%d failed=%d" % (eof, kept, failed))
' "$SOCK" "$REFUSE_BURST" 2>&1)
ktap_diag "burst of $REFUSE_BURST connections: $burst"
[ "$(kv "$burst" eof)" = "$REFUSE_BURST" ]
ktap_result $? "each of $REFUSE_BURST more connections is closed at once by the relay"

intruder_tries=$(log_count "$TMPD/intruder.qemu.out" 'vhost|[Ff]ailed|[Ee]rror')
warnings=$(log_count "$RELAY_LOG" 'refusing a second frontend')
ktap_diag "refusal warnings in the relay log: $warnings (second QEMU logged $intruder_tries vhost errors while retrying," \
	"plus $REFUSE_BURST raw connections)"
[ "$warnings" -ge 1 ] && [ "$warnings" -le "$MAX_REFUSAL_WARNINGS" ]
ktap_result $? "refusal warning logged at most $MAX_REFUSAL_WARNINGS times (no log flood)" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

[ "$(log_count "$RELAY_LOG" 'frontend disconnected')" -eq "$disc0" ]
ktap_result $? "the first guest's connection was not dropped"
peer_ping "$PING_COUNT" 1358 "$PING_INTERVAL"
ktap_diag "first guest after the second QEMU is gone, 1400-byte frames: rx=${PING_RX:-?}/$PING_COUNT loss=${PING_LOSS:-?}%"
ktap_result $? "the first guest still works after the refused frontends are gone" ||
	ktap_diag "$PING_OUT"
qemu_end 2

# 11..: testpmd virtio-user sessions (PVP loop through an XDP reflector) --------
# testpmd_rx_ge LOG N - testpmd's periodic RX-packets reached N
testpmd_rx_ge()
{
	local n

	n=$(tr -d '\r' <"$1" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | tail -n 1)
	[ "${n:-0}" -ge "$2" ]
}

why=
command -v dpdk-testpmd >/dev/null || why="dpdk-testpmd not installed (make deps)"
[ -z "$why" ] && ! command -v bpftool >/dev/null && why="bpftool not installed (make deps)"
[ -z "$why" ] && [ ! -r "$REFLECT_OBJ" ] && why="$REFLECT_OBJ not built"
[ -z "$why" ] && ! hugepages_ensure 256 && why="cannot reserve 256 free 2 MiB hugepages for DPDK"
if [ -z "$why" ] && ! xdp_attach "$NS_PEER" "$PEER_IF" "$REFLECT_OBJ"; then
	why="cannot attach the XDP reflector to $PEER_IF"
fi
for ((i = 1; i <= TESTPMD_SESSIONS; i++)); do
	name="testpmd session #$i: PVP loop through the relay gets frames back"
	if [ -n "$why" ]; then
		ktap_skip "$name" "$why"
		continue
	fi
	log=$TMPD/testpmd$i.log
	if testpmd_start "$log" "$PREFIX" "$SOCK" --forward-mode=io --port-topology=loop --tx-first; then
		SESSIONS=$((SESSIONS + 1))
		wait_for 20 testpmd_rx_ge "$log" 1
		rc=$?
		testpmd_stop "$log" "$PREFIX"
		ktap_diag "testpmd #$i: rx=$TESTPMD_RX tx=$TESTPMD_TX frames"
		[ "$rc" -eq 0 ] && [ "$TESTPMD_RX" -gt 0 ] && await_disconnects "$SESSIONS" &&
			proc_alive "$RELAY_PID"
		ktap_result $? "$name" || {
			ktap_diag_file "$TMPD/testpmd.clean" 15 "testpmd output"
			ktap_diag_file "$RELAY_LOG" 10 "relay log"
		}
	else
		ktap_fail "$name (testpmd did not start forwarding)"
		ktap_diag_file "$RELAY_LOG" 10 "relay log"
	fi
done
ip -n "$NS_PEER" link set dev "$PEER_IF" xdp off 2>/dev/null

# QEMU #3 after the testpmd sessions ----------------------------------------------
qemu_session 3
qemu_end 3

# the end: one relay process throughout, clean SIGTERM ------------------------------
conn=$(log_count "$RELAY_LOG" 'frontend connected')
ktap_diag "relay served $conn frontend sessions (expected $SESSIONS)"
proc_alive "$RELAY_PID" && [ "$conn" -eq "$SESSIONS" ]
ktap_result $? "the same relay process served all $SESSIONS sessions" ||
	ktap_diag_file "$RELAY_LOG" 30 "relay log"
vxdp_stop "$RELAY_PID" TERM 15
ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC"
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
[ ! -e "$SOCK" ] && ! xdp_attached "$NS_RELAY" "$VF" && [ ! -e "$VXDP_PIN_ROOT/$RELAY_NAME" ]
ktap_result $? "socket, XDP program and pins removed"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
