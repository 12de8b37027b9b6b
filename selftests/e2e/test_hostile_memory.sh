#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A hostile frontend and guest against relay A's memory and descriptor
# handling, with two neighbours on the same worker: relay B's datapath and
# relay C's control plane are timed throughout (each must answer within
# 20 ms, the worst wait is printed), and the daemon must survive every
# attack. The frontend is build/selftests/vhost_attack (selftests/e2e/
# vhost_attack.c), no QEMU:
#
#   netns relay: vxdp-relay --workers 1
#     relay A  $VF          <- vhost_attack: the attacks, one connection each
#     relay B  vxm0v<pid>   <- vhost_attack: a tx frame, kicked, until used
#     relay C  vxm1v<pid>   <- vhost_attack: GET_FEATURES, until answered
#
# Attacks on A: the guest memfd truncated under a running ring, then a kick
# (split, packed, hugetlbfs), only the buffer's page cut, truncated then only
# SET_VRING_ENABLE, the dirty log truncated; every avail entry a chain of
# num-1 empty descriptors and a 32768-entry indirect table (split, packed),
# the costliest chains still allowed re-posted for ATTACK_MS; 32 regions of
# a sparse 64 TiB memfd and all A can map besides, after which C maps a
# 1 GiB guest; a pipe at EOF and
# a regular file as kick fds (the daemon's CPU meanwhile). A shrunk fd must
# end A's connection with one clear log line; abusive chains stop A's ring.
# Afterwards A still serves a well-behaved frontend, and SIGTERM ends the
# daemon cleanly.
#
# Knobs: ATTACK_MS (500), MAX_WAIT_US (20000), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

ATTACK_BIN=$BUILD/selftests/vhost_attack
ATTACK_MS=${ATTACK_MS:-500}
MAX_WAIT_US=${MAX_WAIT_US:-20000}
MAX_CPU_PCT=20		# a spinning worker is ~100%; probes cost ~1%
TRUNC=(trunc-kick trunc-tail trunc-enable trunc-log trunc-packed trunc-hugetlb)
AMPLIFY=(amplify amplify-packed amplify-valid)
OTHER=(mem-budget kick-pipe kick-file)

vxdp_init
ktap_plan $((${#TRUNC[@]} + ${#AMPLIFY[@]} + ${#OTHER[@]} + 4))

relay_bin_check || ktap_abort "daemon not built"
[ -x "$ATTACK_BIN" ] || ktap_abort "$ATTACK_BIN not built (make)"
topo_setup || ktap_abort "cannot create the netns/veth topology"
topo_add_vfs 2 || ktap_abort "cannot create two more veth pairs"

SA=$TMPD/a.sock
SB=$TMPD/b.sock
SC=$TMPD/c.sock
relay_start "$TMPD/relay.log" \
	--relay "vf=$VF,socket=$SA,name=$VF" \
	--relay "vf=${EXTRA_VFS[0]},socket=$SB" \
	--relay "vf=${EXTRA_VFS[1]},socket=$SC" ||
	ktap_abort "relay did not start"

HUGE=
if hugepages_ensure 2; then
	HUGE=--hugetlb
fi

OUT=$TMPD/attack.out
"$ATTACK_BIN" --a "$SA" --b "$SB" --c "$SC" --pid "$RELAY_PID" --ms "$ATTACK_MS" \
	$HUGE "${TRUNC[@]}" "${AMPLIFY[@]}" "${OTHER[@]}" >"$OUT" 2>"$TMPD/attack.err"
ATTACK_RC=$?
ktap_diag_file "$OUT" 20 "vhost_attack"
[ -s "$TMPD/attack.err" ] && ktap_diag_file "$TMPD/attack.err" 10 "vhost_attack stderr"

# line NAME - vhost_attack's line for attack NAME
line()
{
	grep -E "^attack=$1 " "$OUT"
}

# field LINE KEY - the value of KEY= in LINE
field()
{
	printf '%s\n' "$1" | grep -Eo "(^| )$2=[^ ]*" | head -n 1 | sed 's/.*=//'
}

# neighbours_ok LINE - both neighbours answered within MAX_WAIT_US, probed
# at least once during the attack
neighbours_ok()
{
	local dp ctl

	dp=$(field "$1" dp_max_us)
	ctl=$(field "$1" ctl_max_us)
	[ -n "$dp" ] && [ -n "$ctl" ] && [ "$(field "$1" probes)" -ge 1 ] &&
		[ "$dp" -lt "$MAX_WAIT_US" ] && [ "$ctl" -lt "$MAX_WAIT_US" ]
}

alive()
{
	proc_alive "$RELAY_PID"
}

# A neighbour's wait is the relay's and the scheduler's: on a loaded 2-core
# machine other tests' QEMUs can hold a CPU for tens of milliseconds. An
# attack whose neighbours waited too long runs once more and the second
# run counts (both are printed); a real stall misses both times.
retry=()
for a in "${TRUNC[@]}" "${AMPLIFY[@]}" "${OTHER[@]}"; do
	l=$(line "$a")
	[ "$(field "$l" skipped)" = 1 ] && continue
	neighbours_ok "$l" || retry+=("$a")
done
if [ ${#retry[@]} -gt 0 ] && alive; then
	ktap_diag "neighbours waited too long in: ${retry[*]}; once more"
	"$ATTACK_BIN" --a "$SA" --b "$SB" --c "$SC" --pid "$RELAY_PID" --ms "$ATTACK_MS" \
		$HUGE "${retry[@]}" >"$OUT.2" 2>>"$TMPD/attack.err"
	ktap_diag_file "$OUT.2" 20 "vhost_attack, again"
	for a in "${retry[@]}"; do
		l=$(grep -E "^attack=$a " "$OUT.2") || continue
		grep -vE "^attack=$a " "$OUT" >"$OUT.tmp"
		printf '%s\n' "$l" >>"$OUT.tmp"
		mv "$OUT.tmp" "$OUT"
	done
fi
# ran NAME - how many times attack NAME ran (1, or 2 when retried)
ran()
{
	local n=1 a

	for a in "${retry[@]}"; do
		[ "$a" = "$1" ] && n=2
	done
	echo "$n"
}

for a in "${TRUNC[@]}"; do
	l=$(line "$a")
	if [ "$(field "$l" skipped)" = 1 ]; then
		ktap_skip "$a" "no free 2 MiB huge pages"
		continue
	fi
	[ "$(field "$l" dropped)" = 1 ] && neighbours_ok "$l" && alive
	ktap_result $? "$a: A's connection dropped, daemon alive, neighbours' worst wait dp $(field "$l" dp_max_us) us ctl $(field "$l" ctl_max_us) us"
done

# One line naming the cause per shrunk fd: guest memory for all but the log.
wmem=0
for a in "${TRUNC[@]}"; do
	[ "$a" = trunc-log ] && continue
	[ "$(field "$(line "$a")" skipped)" = 1 ] || wmem=$((wmem + $(ran "$a")))
done
wlog=$(ran trunc-log)
nmem=$(log_count "$RELAY_LOG" "$VF: the frontend shrank the guest memory file")
nlog=$(log_count "$RELAY_LOG" "$VF: the frontend shrank the dirty log file")
[ "$nmem" -eq "$wmem" ] && [ "$nlog" -eq "$wlog" ]
ktap_result $? "one log line per shrunk fd: guest memory $nmem (of $wmem), dirty log $nlog (of $wlog)" ||
	ktap_diag_file "$RELAY_LOG" 30 "relay log"

for a in "${AMPLIFY[@]}"; do
	l=$(line "$a")
	neighbours_ok "$l" && alive
	ktap_result $? "$a: daemon alive, neighbours' worst wait dp $(field "$l" dp_max_us) us ctl $(field "$l" ctl_max_us) us ($(field "$l" kicks) kicks)"
done
nbroken=$(log_count "$RELAY_LOG" "$VF: guest posted a malformed descriptor chain on tx queue 0")
wbroken=$(($(ran amplify) + $(ran amplify-packed)))
[ "$nbroken" -eq "$wbroken" ]
ktap_result $? "the issue's chains stop A's ring, once per connection: $nbroken (of $wbroken)"

l=$(line mem-budget)
[ "$(field "$l" refused_4t)" = 32 ] && [ "$(field "$l" a_mapped_gib)" -le 64 ] &&
	[ "$(field "$l" c_maps_1g)" = 1 ] && neighbours_ok "$l"
ktap_result $? "mem-budget: A's 4 TiB regions refused ($(field "$l" refused_4t) of 32), A maps $(field "$l" a_mapped_gib) GiB (mem-max 64G), C maps a 1 GiB guest"

for a in kick-pipe kick-file; do
	l=$(line "$a")
	cpu=$(field "$l" cpu_pct)
	[ "$(field "$l" kick_ack)" = 1 ] && [ -n "$cpu" ] && [ "$cpu" -ge 0 ] &&
		[ "$cpu" -lt "$MAX_CPU_PCT" ] && neighbours_ok "$l"
	ktap_result $? "$a: refused (failure ack), daemon CPU ${cpu:-?}% over ${ATTACK_MS} ms"
done

[ "$ATTACK_RC" -eq 0 ] && grep -q '^a_serves=1' "$OUT" && alive
ktap_result $? "after every attack A serves a new frontend, the daemon runs on"

vxdp_stop "$RELAY_PID"
[ "$VXDP_STOP_RC" -eq 0 ] && sanitizer_clean "$RELAY_LOG"
ktap_result $? "SIGTERM: clean exit (status $VXDP_STOP_RC), no sanitizer report" ||
	ktap_diag_file "$RELAY_LOG" 30 "relay log"

ktap_finish
