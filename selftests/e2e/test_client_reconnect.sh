#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Client mode (--relay ...,mode=client): QEMU listens on the vhost-user
# socket (-chardev socket,server=on,wait=off) and the relay connects to it,
# retrying with backoff whenever the connection fails or drops.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#      | connects to                          ping -D -O -i 0.1 (continuous)
#   QEMU (listens) guest eth0 192.0.2.2/24 (tools/dev/mkguest.sh "idle")
#
# The signal is one continuous ping from the peer netns to the guest, with
# a timestamp per reply and a line per missing reply, on the peer's clock.
# Phases:
#   1. the relay starts first and waits for QEMU, sleeping between tries
#      (< 1% CPU); QEMU comes, the relay connects within the 2 s backoff
#      cap, the guest boots, the peer's pings are answered;
#   2. kill -9 the relay: the replies stop;
#   3. the same relay command again: it clears what its crashed predecessor
#      left (pinned maps, XDP program), reconnects to the running QEMU and
#      the replies resume - no guest reboot. Prints the recovery time;
#   4. kill QEMU, leave it away for a while (the relay retries quietly, no
#      log line per try, < 1% CPU), boot it again on the same socket: the
#      relay reconnects by itself within the backoff cap, replies resume;
#   5. SIGTERM: exit 0, QEMU's socket left alone, XDP and pins gone;
#      and once more while it retries (QEMU killed): exit 0.
#
# Knobs: RECOVERY_TIMEOUT (60 s), RELAY_LOG_LEVEL (0-7), VXDP_KEEP_TMP=1,
# GUEST_NIC_OPTS (e.g. packed=on: with QEMU 7.2 phase 3 then fails - after
# a backend crash QEMU cannot recover a packed ring's position, and the
# relay finds the rings it is handed malformed until the guest resets).

. "$(dirname "$0")/../lib.sh"

RECOVERY_TIMEOUT=${RECOVERY_TIMEOUT:-60}	# bound for replies to resume
STOP_MISSES=10		# missing replies in a row that show "traffic stopped"
WAIT_WINDOW=4		# s the relay waits for QEMU first (backoff reaches 2 s)

# TCG boots slow down a lot when the machine is busy: be generous, bounded
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-180}

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"

ktap_plan 22

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/qemu.sock
PING_LOG=$TMPD/peer-ping.log
RELAY_ARGS=(--relay "vf=$VF,socket=$SOCK,mode=client,mac=$GUEST_MAC")
[ -n "$RELAY_LOG_LEVEL" ] && RELAY_ARGS+=(--log-level "$RELAY_LOG_LEVEL")
export GUEST_CHARDEV_OPTS=server=on,wait=off

# secs_between A B - B - A, 3 decimals
secs_between()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

# cpu_window PID SECS - PID's CPU use over a SECS measurement window, as a
# percentage of one core in CPU_PCT; true when < 1% and PID still runs.
cpu_window()
{
	local hz c0 c1

	hz=$(getconf CLK_TCK)
	c0=$(proc_cpu_ticks "$1")
	sleep "$2"		# measurement window, not synchronisation
	c1=$(proc_cpu_ticks "$1")
	CPU_PCT=$(awk -v u=$((c1 - c0)) -v hz="$hz" -v w="$2" 'BEGIN { printf "%.2f", 100 * u / hz / w }')
	proc_alive "$1" && awk -v p="$CPU_PCT" 'BEGIN { exit !(p < 1) }'
}

# notice_lines LOG - daemon log lines at notice level or above
notice_lines()
{
	log_count "$1" '^\[[ 0-9.]*\] (emerg|alert|crit|error|warning|notice):'
}

# newer_socket SOCK FILE - SOCK is a socket created after FILE was touched
# (QEMU starting takes far longer than the mtime granularity)
newer_socket()
{
	[ -S "$1" ] && [ "$(stat -c %.9Y "$1" 2>/dev/null)" \> "$(stat -c %.9Y "$2")" ]
}

# await_replies FROM N TIMEOUT - N replies timestamped at or after FROM
await_replies()
{
	wait_for "$3" ping_log_replies_ge "$PING_LOG" "$1" "$2"
}

# 1: relay first, nothing listening yet -------------------------------------
relay_start "$TMPD/relay1.log" "${RELAY_ARGS[@]}"
ktap_result $? "client-mode relay starts while QEMU is not there yet (ready:)" ||
	ktap_abort "relay did not start"
RELAY1_PID=$RELAY_PID
wait_for_log "$RELAY_LOG" 'waiting for QEMU to listen' 10 "$RELAY_PID"
ktap_result $? "relay says it waits for QEMU to listen on $SOCK" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

# while nobody listens, the relay must sleep between tries, not spin: its
# CPU over a window long enough for the backoff to reach its 2 s cap
cpu_window "$RELAY_PID" "$WAIT_WINDOW"
rc=$?
ktap_diag "relay CPU while waiting for QEMU: $CPU_PCT% of one core over $WAIT_WINDOW s"
ktap_result $rc "relay backs off while QEMU is absent (< 1% CPU, still running)"

# 2: QEMU listens, the relay connects, the guest boots ----------------------
t_boot=$(now_epoch)
guest_start "$SOCK" idle "$TMPD/guest1.log"
wait_for_socket "$SOCK" 60 || ktap_diag "QEMU did not create $SOCK within 60 s"
t_sock=$(now_epoch)
guest_wait_ready
booted=$?
ktap_diag "guest up $(secs_between "$t_boot" "$(now_epoch)") s after QEMU start (TCG)"
if [ "$booted" -eq 0 ]; then
	wait_for_log "$RELAY_LOG" 'frontend connected' 10 "$RELAY_PID" || booted=1
fi
ktap_result $booted "relay connects to the listening QEMU, guest boots" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}
# backed off to the cap by now: the connect comes within 2 s of QEMU
# listening (t_sock is polled, so late: that only shortens the delay)
t_conn=$(log_line_epoch "$RELAY_LOG" 'frontend connected')
delay=$(secs_between "$t_sock" "${t_conn:-0}")
ktap_diag "relay connected $delay s after QEMU's socket was seen"
awk -v d="$delay" 'BEGIN { exit !(d < 3) }'
ktap_result $? "first connect within the 2 s backoff cap (+1 s slack) of QEMU listening"
QEMU1_PID=$QEMU_PID

# 3: traffic flows ------------------------------------------------------------
peer_ping_bg "$PING_LOG"
t_start=$(now_epoch)
await_replies "$t_start" 10 "$RECOVERY_TIMEOUT"
ktap_result $? "peer->guest pings are answered through the client-mode relay" || {
	ktap_diag_file "$PING_LOG" 10 "peer ping"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "no connectivity"
}

# 4: kill -9 the relay: traffic stops ----------------------------------------
# (bash reports a SIGKILLed job on stderr: not a test failure, keep it quiet)
{ vxdp_stop "$RELAY1_PID" KILL 10; } 2>/dev/null
t_dead=$(now_epoch)
ktap_diag "relay killed with SIGKILL (status $VXDP_STOP_RC)"
# frames in flight when it died may still arrive for a moment; after that
# nothing can cross. Await STOP_MISSES missing replies, then count replies.
t_quiet=$(awk -v t="$t_dead" 'BEGIN { printf "%.6f", t + 0.3 }')
wait_for 30 ping_log_misses_ge "$PING_LOG" "$t_quiet" "$STOP_MISSES"
stopped=$?
late=$(ping_log_replies "$PING_LOG" "$t_quiet")
misses=$(ping_log_misses "$PING_LOG" "$t_quiet")
ktap_diag "after the kill: $late replies, $misses missing"
[ "$stopped" -eq 0 ] && [ "$late" -eq 0 ]
ktap_result $? "traffic stops while the relay is dead ($misses pings unanswered, 0 replies)" ||
	ktap_diag_file "$PING_LOG" 15 "peer ping"

# what the crash left behind (a restart must cope with it)
left_xdp=0 left_pins=0
xdp_attached "$NS_RELAY" "$VF" && left_xdp=1
[ -e "$VXDP_PIN_ROOT/$RELAY_NAME" ] && left_pins=1
ktap_diag "left by the killed relay: XDP program on $VF: $left_xdp, pins at $VXDP_PIN_ROOT/$RELAY_NAME: $left_pins"

# 5: the same command again: cleans up, reconnects, traffic resumes ---------
t_restart=$(now_epoch)
relay_start "$TMPD/relay2.log" "${RELAY_ARGS[@]}"
rc=$?
ktap_result $rc "relay restarts with the same command despite its crashed predecessor's leftovers" ||
	ktap_abort "relay did not restart"

ok=0
if [ "$left_pins" -eq 1 ] &&
	! grep -q "removed .* left by an earlier run of relay '$RELAY_NAME'" "$RELAY_LOG"; then
	ktap_diag "pins were left, but the relay did not say it removed them"
	ok=1
fi
if [ "$left_xdp" -eq 1 ]; then
	# attached as a BPF link, the program goes with the process
	ktap_diag "the killed relay's XDP program stayed on $VF"
	ok=1
fi
grep -E 'left by (an earlier|a crashed) run' "$RELAY_LOG" | sed 's/^/# relay: /'
ktap_result $ok "the killed relay left no XDP program; the restart logs removing its pins" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

wait_for_log "$RELAY_LOG" 'frontend connected' 30 "$RELAY_PID"
ktap_result $? "restarted relay reconnects to the running QEMU (logged)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

await_replies "$t_restart" 5 "$RECOVERY_TIMEOUT"
resumed=$?
first=$(ping_log_first_reply "$PING_LOG" "$t_restart")
t_ready=$(log_line_epoch "$RELAY_LOG" 'ready:')
t_conn=$(log_line_epoch "$RELAY_LOG" 'frontend connected')
if [ -n "$first" ] && [ -n "$t_ready" ] && [ -n "$t_conn" ]; then
	ktap_diag "recovery after the relay restart: first reply $(secs_between "$t_restart" "$first") s after the restart command" \
		"(relay ready: +$(secs_between "$t_restart" "$t_ready") s, connected to QEMU +$(secs_between "$t_restart" "$t_conn") s)"
fi
ktap_result $resumed "traffic resumes after the relay restart" || {
	ktap_diag_file "$PING_LOG" 10 "peer ping"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
}

# the guest was not rebooted: same QEMU, one boot on its console
n_ready=$(log_count "$GUEST_LOG" 'VXDP-READY')
proc_alive "$QEMU1_PID" && [ "$n_ready" -eq 1 ]
ktap_result $? "without a guest reboot (same QEMU, $n_ready boot)"

# 6: restart the guest while the relay runs ----------------------------------
RELAY2_PID=$RELAY_PID
{ vxdp_stop "$QEMU1_PID" KILL 10; } 2>/dev/null
wait_for_log "$RELAY_LOG" 'frontend disconnected' 15 "$RELAY2_PID"
ktap_result $? "relay notices QEMU is gone (frontend disconnected)" ||
	ktap_diag_file "$RELAY_LOG" 10 "relay log"

# QEMU stays away for a while: the relay retries (backoff up to 2 s) without
# a log line per try and without spinning
n0=$(notice_lines "$RELAY_LOG")
cpu_window "$RELAY2_PID" "$WAIT_WINDOW"
rc=$?
n1=$(notice_lines "$RELAY_LOG")
ktap_diag "while QEMU was away for $WAIT_WINDOW s: $((n1 - n0)) relay log lines (notice and above), $CPU_PCT% CPU"
[ "$rc" -eq 0 ] && [ $((n1 - n0)) -le 2 ]
ktap_result $? "relay retries quietly while QEMU is away (<= 2 log lines, < 1% CPU)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# (the killed QEMU's socket file stays; the new QEMU replaces it. Until
# then the relay gets ECONNREFUSED and backs off, at most 2 s between tries)
touch "$TMPD/qemu2.start"
t_boot=$(now_epoch)
guest_start "$SOCK" idle "$TMPD/guest2.log"
wait_for 60 newer_socket "$SOCK" "$TMPD/qemu2.start" ||
	ktap_diag "QEMU did not create $SOCK within 60 s"
t_sock=$(now_epoch)
guest_wait_ready
booted=$?
t_up=$(now_epoch)
n_conn=$(log_count "$RELAY_LOG" 'frontend connected')
ktap_diag "relay log: $n_conn 'frontend connected' lines; guest up $(secs_between "$t_boot" "$t_up") s after QEMU start"
[ "$booted" -eq 0 ] && [ "$n_conn" -ge 2 ] && proc_alive "$RELAY2_PID"
ktap_result $? "relay reconnects by itself to the rebooted QEMU, guest boots" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# the reconnect came within the backoff cap (2 s) of QEMU listening; t_sock
# is polled, so it can only be late, which makes the delay look shorter
t_conn=$(log_line_epoch "$RELAY_LOG" 'frontend connected')
delay=$(secs_between "$t_sock" "${t_conn:-0}")
ktap_diag "relay connected $delay s after QEMU's new socket was seen"
[ "$n_conn" -ge 2 ] && awk -v d="$delay" 'BEGIN { exit !(d < 3) }'
ktap_result $? "reconnect within the 2 s backoff cap (+1 s slack) of QEMU listening"

await_replies "$t_up" 5 "$RECOVERY_TIMEOUT"
resumed=$?
first=$(ping_log_first_reply "$PING_LOG" "$t_boot")
[ -n "$first" ] && ktap_diag "first reply $(secs_between "$t_boot" "$first") s after the QEMU restart" \
	"(guest boot included; relay connected +$(secs_between "$t_boot" "${t_conn:-0}") s)"
ktap_result $resumed "traffic resumes after the guest restart" || {
	ktap_diag_file "$PING_LOG" 10 "peer ping"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
}

vxdp_stop "$PEER_PING_PID" INT 5
ktap_diag "peer ping: $(ping_log_replies "$PING_LOG") replies, $(ping_log_misses "$PING_LOG") missing over the whole run"

# 7: clean shutdown -----------------------------------------------------------
vxdp_stop "$RELAY2_PID" TERM 15
ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC"
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
[ -S "$SOCK" ] && proc_alive "$QEMU_PID"
ktap_result $? "client-mode relay leaves QEMU's socket alone"
! xdp_attached "$NS_RELAY" "$VF" && [ ! -e "$VXDP_PIN_ROOT/$RELAY_NAME" ]
ktap_result $? "no XDP program on $VF and no pins left" ||
	ktap_diag "$(ip -n "$NS_RELAY" -d link show dev "$VF")"

# 8: SIGTERM while retrying (QEMU gone, its socket file left behind) -------
{ vxdp_stop "$QEMU_PID" KILL 10; } 2>/dev/null
relay_start "$TMPD/relay3.log" "${RELAY_ARGS[@]}" &&
	wait_for_log "$RELAY_LOG" 'waiting for QEMU to listen' 10 "$RELAY_PID"
rc=$?
grep 'waiting for QEMU' "$RELAY_LOG" | sed 's/^/# relay: /'
if [ "$rc" -eq 0 ]; then
	vxdp_stop "$RELAY_PID" TERM 15
	rc=$VXDP_STOP_RC
	ktap_diag "exit status after SIGTERM while retrying: $rc"
fi
[ "$rc" -eq 0 ] && ! xdp_attached "$NS_RELAY" "$VF" && [ ! -e "$VXDP_PIN_ROOT/$RELAY_NAME" ]
ktap_result $? "relay stopped by SIGTERM while it retries exits 0, detaches, unpins" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

sanitizer_clean "$TMPD/relay1.log" && sanitizer_clean "$TMPD/relay2.log" &&
	sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay logs" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
