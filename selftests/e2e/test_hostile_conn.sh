#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile frontends, control plane (issue 9): what a frontend can do with
# its vhost-user connection alone must neither stall the relay's neighbours
# nor strand a connection. One daemon, one worker, four relays:
#
#   netns relay (--workers 1)                          netns peer
#   A   server mode  <- vxdp-hostile attacks           (nothing)
#   AC  client mode  -> vxdp-hostile listens, attacks  (nothing)
#   B   <- vxdp-hostile drives B's rings: a frame out  -> XDP reflector -> back in
#   C   <- vxdp-hostile: GET_FEATURES round trips
#
# vxdp-hostile (selftests/e2e/hostile) times B's datapath and C's control
# plane all through each attack and prints the worst wait. For every attack:
# the daemon survives; B and C answer within HOSTILE_MAX_WAIT_MS (20)
# throughout; a bad connection is dropped with one log line saying why; A
# (or AC) serves a good frontend afterwards. A peer that says nothing is
# dropped by the first-message deadline (3 s); a daemon out of fds serves
# the frontend waiting in its backlog once fds are back, without spinning.
# Then 1000 abuse cycles: fds and RSS flat, A's log lines held by its rate
# limit.
#
# Knobs: HOSTILE_MAX_WAIT_MS (20), CYCLES (1000), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

MAX_WAIT_MS=${HOSTILE_MAX_WAIT_MS:-20}
CYCLES=${CYCLES:-1000}
DROP_MS=2000		# a late message: the 1 s deadline, plus slack
FIRST_MS=3000		# the first message's deadline (relay_conn.c)
RSS_SLACK_KIB=1024	# "flat": what allocator noise may add
MAX_CPU_PCT=20		# a spinning worker is ~100%

vxdp_init

ktap_plan 36

relay_bin_check || ktap_abort "daemon not built"
[ -x "$HOSTILE_BIN" ] || ktap_abort "$HOSTILE_BIN not built (make)"
topo_setup || ktap_abort "cannot create the netns/veth topology"
topo_add_vfs 4 || ktap_abort "cannot create 4 veth pairs"
A=${EXTRA_VFS[0]} B=${EXTRA_VFS[1]} C=${EXTRA_VFS[2]} AC=${EXTRA_VFS[3]}
SA=$TMPD/a.sock SB=$TMPD/b.sock SC=$TMPD/c.sock SAC=$TMPD/ac.sock
xdp_attach "$NS_PEER" "${EXTRA_PEERS[1]}" "$BUILD/bpf/vxdp_reflect.bpf.o" ||
	ktap_abort "cannot attach the reflector behind B"

relay_start "$TMPD/relay.log" --workers 1 \
	--relay "vf=$A,socket=$SA" --relay "vf=$B,socket=$SB" \
	--relay "vf=$C,socket=$SC" --relay "vf=$AC,socket=$SAC,mode=client"
ktap_result $? "one daemon, one worker: A (attacked), AC (client mode, attacked), B and C (timed)" ||
	ktap_abort "daemon did not start"
DPID=$RELAY_PID
HOSTILE_PROBES=(--probe-data "$SB" --probe-ctl "$SC" --max-wait "$MAX_WAIT_MS" --daemon-pid "$DPID")

attack() { hostile_attack "$@"; OUT=$HOSTILE_OUT HRC=$HOSTILE_RC; }
val() { hostile_val "$@"; }
lines() { hostile_lines "$1"; }
neighbours() { hostile_neighbours "$1"; }

# dropped NAME REASON-REGEX - every connection of the last attack was
# dropped in time, each with one log line naming A and saying why (the
# first ones: past A's log budget the rest are only counted)
dropped()
{
	local ms n c

	ms=$(val "attack=$1" worst_drop_ms)
	c=$(val "attack=$1" cycles)
	n=$(lines "$A: dropping frontend connection")
	ktap_diag "$1: $c connections, each dropped, the latest after ${ms:-?} ms; A's drop lines: $n, e.g. $(log_since "$RELAY_LOG" "$HOSTILE_LOG0" | grep "$A: dropping" | head -n 1)"
	[ "$(val "attack=$1" kept)" = 0 ] && [ "${ms%.*}" -le "$DROP_MS" ] &&
		[ "$n" -ge 1 ] && [ "$n" -le "$c" ] &&
		[ "$(lines "$A: dropping frontend connection: .*$2")" -eq "$n" ] &&
		{ [ "$c" -gt 5 ] || [ "$n" -eq "$c" ]; }
	ktap_result $? "$1: A drops each connection within $DROP_MS ms, one log line naming A says why" ||
		{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 15 "relay log"; }
}

good_after()
{
	[ "$(val "attack=$1" good_after)" = 1 ]
	ktap_result $? "$1: A serves a good frontend afterwards (rings up, round trip)"
}

# 1: no attack ------------------------------------------------------------------
attack idle "$SA"
neighbours "idle (baseline)"

# 2: one byte every 900 ms ------------------------------------------------------
attack drip "$SA"
dropped drip "not complete"
neighbours drip
good_after drip

# 3: a flood of messages that need no reply ------------------------------------
attack flood "$SA"
ktap_diag "flood: $(val attack=flood messages) messages in $(val attack=flood secs) s"
[ "$(val attack=flood served_after)" = 1 ] && [ "$(val attack=flood good_after)" = 1 ]
ktap_result $? "flood: A keeps serving its flooder, then a good frontend" || hostile_diag "$OUT"
neighbours flood

# 4: replies never read ----------------------------------------------------------
attack noread "$SA"
dropped noread "does not read its replies"
neighbours noread
good_after noread

# 5: half a header, reconnect, again -----------------------------------------
attack halfhdr "$SA" --duration 2
dropped halfhdr "not complete"
neighbours halfhdr

# 6: a frontend that connects and says nothing --------------------------------
attack silent "$SA"
ms=$(val attack=silent drop_ms)
ktap_diag "silent: dropped after ${ms:-?} ms: $(log_since "$RELAY_LOG" "$HOSTILE_LOG0" | grep "$A: dropping" | head -n 1)"
[ "$(val attack=silent dropped)" = 1 ] && [ "${ms%.*}" -ge $((FIRST_MS - 100)) ] &&
	[ "${ms%.*}" -le $((FIRST_MS + 1000)) ] &&
	[ "$(lines "$A: dropping frontend connection: it said nothing within $FIRST_MS ms")" -eq 1 ] &&
	[ "$(val attack=silent good_after)" = 1 ]
ktap_result $? "silent: A drops a frontend that says nothing after ${FIRST_MS} ms (one line why), then serves a good one" ||
	{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 10 "relay log"; }
neighbours silent

# 7: the daemon out of fds --------------------------------------------------------
attack emfile "$SA"
ktap_diag "emfile: $(grep attack=emfile "$OUT" | head -n 1)"
cpu=$(val attack=emfile cpu_pct)
[ -n "$cpu" ] && [ "$cpu" -ge 0 ] && [ "$cpu" -lt "$MAX_CPU_PCT" ]
ktap_result $? "emfile: accept() out of fds: the daemon does not spin (CPU ${cpu:-?}% < $MAX_CPU_PCT%)" ||
	{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 10 "relay log"; }
[ "$(val attack=emfile served)" = 1 ] && [ "$(val attack=emfile served_ms)" -le 1000 ] 2>/dev/null &&
	[ "$(lines "$A: cannot accept a frontend: Too many open files")" -eq 1 ]
ktap_result $? "emfile: one line says why; the frontend waiting is served $(val attack=emfile served_ms) ms after fds are back" ||
	{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 10 "relay log"; }
neighbours emfile

# 8: connection bursts ---------------------------------------------------------
# burst_ok [TIME] - the last burst attack stranded none, never found the
# backlog full, served one at a time, and (with TIME) answered each within
# MAX_WAIT_MS net of run-queue time
burst_ok()
{
	[ "$HRC" -ne 2 ] && [ "$(val attack=burst stranded)" = 0 ] &&
		[ "$(val attack=burst backlog_full)" = 0 ] && [ "$(val attack=burst bad_rounds)" = 0 ] &&
		{ [ -z "${1:-}" ] ||
		  awk -v w="$(val attack=burst worst_ms)" -v m="$MAX_WAIT_MS" 'BEGIN { exit !(w != "" && w <= m) }'; }
}
attack burst "$SA"
ktap_diag "burst: $(grep 'attack=burst rounds' "$OUT" | head -n 1)"
# Some 500 connections, each timed: one wait of the machine's own (a stall
# outside the relay and the run queues, as the disk or the hypervisor
# give) would fail the whole attack. A relay that is slow to accept or
# refuse is slow in any run: a run lost on time alone is run once more, and
# both must not be.
if burst_ok && ! burst_ok time; then
	ktap_diag "burst: over $MAX_WAIT_MS ms once; the bursts again:"
	attack burst "$SA"
	ktap_diag "burst: $(grep 'attack=burst rounds' "$OUT" | head -n 1)"
fi
burst_ok time
ktap_result $? "burst: every connection accepted or refused within $MAX_WAIT_MS ms, none stranded, one served at a time" ||
	hostile_diag "$OUT"
n=$(lines "$A: refusing a second frontend")
ktap_diag "burst: $(val attack=burst refused) refused, $n refusal log lines"
[ "$n" -ge 1 ] && [ "$n" -le 25 ] && [ "$(val attack=burst good_after)" = 1 ]
ktap_result $? "burst: refusals logged, rate limited; A serves a good frontend afterwards"
neighbours burst

# 9-13: client mode: the listener the relay connects to is hostile ----------------
attack accept-close "$SAC"
ktap_diag "accept-close: $(val attack=accept-close accepts) connects in $(val attack=accept-close secs) s; next listener reached after $(val attack=accept-close reached_ms) ms"
[ "$(val attack=accept-close accepts)" -le "$(val attack=accept-close max)" ] 2>/dev/null &&
	[ "$(val attack=accept-close reached)" = 1 ]
ktap_result $? "accept-close: AC backs off (<= $(val attack=accept-close max) connects), then reaches the next listener" ||
	hostile_diag "$OUT"
neighbours accept-close

attack silent-listener "$SAC"
ms=$(val attack=silent-listener drop_ms)
ktap_diag "silent-listener: AC gave up after ${ms:-?} ms, reached the next listener after $(val attack=silent-listener reached_ms) ms"
[ "$(val attack=silent-listener accepted)" = 1 ] && [ "$(val attack=silent-listener dropped)" = 1 ] &&
	[ "${ms%.*}" -le $((FIRST_MS + 1000)) ] && [ "$(val attack=silent-listener reached)" = 1 ] &&
	[ "$(lines "$AC: dropping frontend connection: it said nothing within $FIRST_MS ms")" -eq 1 ]
ktap_result $? "silent-listener: AC gives up on a listener that never speaks, reaches the next" ||
	{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 10 "relay log"; }
neighbours silent-listener

for a in linger reset never-accept; do
	attack "$a" "$SAC"
	ktap_diag "$a: next listener reached after $(val "attack=$a" reached_ms) ms"
	[ "$(val "attack=$a" reached)" = 1 ]
	ktap_result $? "$a: AC reaches the next listener" ||
		{ hostile_diag "$OUT"; ktap_diag_file "$RELAY_LOG" 10 "relay log"; }
	neighbours "$a"
done

# 14: abuse cycles: fds, memory and log lines stay flat ----------------------
attack cycles "$SA" --cycles 100	# warm-up: allocator and log budget settle
fd0=$(proc_nfds "$DPID") rss0=$(proc_rss_kib "$DPID")
t0=$(now_epoch)
attack cycles "$SA" --cycles "$CYCLES"
secs=$(awk -v a="$t0" -v b="$(now_epoch)" 'BEGIN { printf "%.1f", b - a }')
# the last hang-up may still be on its way
wait_for 5 eval '[ "$(proc_nfds "$DPID")" -le "$fd0" ]'
fd1=$(proc_nfds "$DPID") rss1=$(proc_rss_kib "$DPID")
ktap_diag "cycles: $(grep attack=cycles "$OUT" | head -n 1)"
ktap_diag "over $CYCLES abuse cycles: fds $fd0 -> $fd1, VmRSS $rss0 -> $rss1 KiB"
[ "$(val attack=cycles failed)" = 0 ] && [ "$fd1" -eq "$fd0" ]
ktap_result $? "cycles: $CYCLES abuse cycles each handled; fd count flat ($fd0 -> $fd1)"
[ -n "$rss1" ] && [ $((rss1 - rss0)) -le "$RSS_SLACK_KIB" ]
ktap_result $? "cycles: VmRSS flat ($rss0 -> $rss1 KiB, slack $RSS_SLACK_KIB)"
# the rate limit: a burst of 20 lines, then 5 a second (and a summary)
n=$(lines "$A:")
max=$(awk -v s="$secs" 'BEGIN { printf "%d", 20 + 6 * (s + 1) }')
ktap_diag "cycles: $n log lines naming A in $secs s (bound $max); $(log_since "$RELAY_LOG" "$HOSTILE_LOG0" | grep -c .) in all"
log_since "$RELAY_LOG" "$HOSTILE_LOG0" | grep "$A:.*suppressed" | tail -n 2 | sed 's/^/# relay: /'
[ "$n" -le "$max" ]
ktap_result $? "cycles: A's log lines held by its rate limit ($n <= $max)"
neighbours cycles

# 15: the end ---------------------------------------------------------------------
vxdp_stop "$DPID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "daemon survived every attack and exits 0 on SIGTERM" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the daemon log" || ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
