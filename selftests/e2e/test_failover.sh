#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: live migration of a guest with a passthrough NIC, driven by the
# failover agent of each host's vxdp-relay and no other script. Two hosts,
# each a relay with its VF stand-in and a Linux bridge as the NIC's embedded
# switch (the agent's bridge backend); the guest (q35, TCG) has its
# virtio-net standby (failover=on) on the relay and an e1000 primary
# (failover_pair_id) on a tap in that bridge (selftests/lib.sh, "QEMU
# failover"). The peer pings the guest every 10 ms and streams UDP to it;
# the guest pings the peer every 50 ms and reports its links on its own
# clock (failover_mon.c).
#
#   1. boot on A: the agent puts the standby path up, then the primary's
#   2. migrate A -> B, cancelled once the guest is on its standby: back on
#      the primary when the re-plugged primary sends
#   3. migrate A -> B: the event order, the FDB per phase, every lost ping
#      inside the guest's unplug, the VM's stop or the destination primary's
#      link-up window, traffic back within 100 ms of the primary's link-up
#   4. migrate B -> A, the source's daemon killed (-9) mid-migration and
#      restarted: it waits for QEMU, reconciles from netlink and the relay,
#      and finishes the migration's work
#
# Relay A's VM waits for the guest's first frame on its primary
# (primary-grace=5000), relay B's takes the default grace: both ways of
# leaving standby-start are exercised. Knobs: VXDP_KEEP_TMP=1 (logs),
# GUEST_BOOT_TIMEOUT.

. "$(dirname "$0")/../lib.sh"

PING_INTERVAL=0.01
GUEST_TX=0.05
UDP_PORT=5000
UDP_RATE=200
MIG_TIMEOUT=90
SLACK_BEFORE=0.02	# a request already on its way when a window opens (at
			# least; the phase's longest round trip if longer)
SLACK_GONE=0.05		# after the source's primary is gone (guest clock)
SLACK_RESUME=0.15	# after RESUME: QEMU announces 50 ms later
SLACK_LINK=0.1		# "within 100 ms of its link-up"

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v python3 >/dev/null || ktap_skip_all "python3 not installed"
command -v gcc >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libc.a ] ||
	ktap_skip_all "gcc with a static libc (libc6-dev) needed for the guest's programs"
command -v cpio >/dev/null || ktap_skip_all "cpio not installed"
command -v bridge >/dev/null || ktap_skip_all "iproute2's bridge not installed"
ls /lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/e1000.ko* >/dev/null 2>&1 ||
	ktap_skip_all "the guest kernel's e1000 module is not installed (linux-image-amd64)"

ktap_plan 18

SOCK_A=$TMPD/vhost-a.sock
SOCK_B=$TMPD/vhost-b.sock
QMP_A=$TMPD/host-a.agent.qmp	# the agent's QMP socket of whichever QEMU runs on A
QMP_B=$TMPD/host-b.agent.qmp
STOP=$TMPD/stream.stop

relay_bin_check || ktap_abort "daemon not built"
fo_topo_setup || ktap_abort "cannot create the namespaces, bridges and taps"
fo_guest_prepare || ktap_abort "cannot build the guest initramfs and its programs"
SPEC_A="vf=$VF,socket=$SOCK_A,mac=$GUEST_MAC,primary-port=$FO_TAP_A,relay-port=$FO_VFP_A,qmp=$QMP_A,primary-grace=5000"
SPEC_B="vf=$FO_VF_B,socket=$SOCK_B,mac=$GUEST_MAC,primary-port=$FO_TAP_B,relay-port=$FO_VFP_B,qmp=$QMP_B"
FO_GUEST_ARGS="vxdp.tx_interval=$GUEST_TX vxdp.udp_port=$UDP_PORT"

# --- helpers -----------------------------------------------------------------
START=$SECONDS
phase() { ktap_diag "[$((SECONDS - START)) s] $*"; }

ctl() { local s=$1; shift; netns_exec "$NS_RELAY" "$VXDPCTL_BIN" -s "$s" "$@"; }

# state CTL - the VM's failover state as vxdpctl failover --json reports it
state() { json_get "$(ctl "$1" failover --json 2>/dev/null)" 'j["vms"][0]["state"]'; }
state_is() { [ "$(state "$1")" = "$2" ]; }

# trans LOG FROM - the agent's transitions since FROM, "from>to:event" each
trans()
{
	fo_agent_transitions "$1" | awk -v f="$2" '$1 >= f { printf "%s%s>%s:%s", n++ ? " " : "", $2, $3, $4 }'
}

# has_trans LOG FROM REGEX - the transitions since FROM match REGEX (for wait_for)
has_trans() { [[ $(trans "$1" "$2") =~ $3 ]]; }

# migrate FROM URI - start a migration of the QEMU FROM to URI
migrate()
{
	qmp "$1" '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 33554432}}' >/dev/null &&
		qmp "$1" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$2\"}}" >/dev/null
}

mig_status() { json_get "$(qmp "$1" '{"execute": "query-migrate"}')" 'j["status"]'; }
mig_done() { case $(mig_status "$1") in completed|failed|cancelled) return 0 ;; esac; return 1; }

# gaps_in FROM TO - the ping gaps (ping_log_gaps) sent within [FROM, TO]
gaps_in() { ping_log_gaps "$TMPD/ping.log" | awk -v a="$1" -v b="$2" '$5 >= a && $4 <= b'; }
lost_in() { gaps_in "$@" | awk '{ n += $3 } END { print n + 0 }'; }

# --- 1: relays with their agents ----------------------------------------------
fo_fdb_monitor_start
relay_start "$TMPD/relay-a.log" --log-level 6 --relay "$SPEC_A"
rc=$?
RELAY_A_PID=$RELAY_PID CTL_A=$RELAY_CTL
if [ "$rc" -eq 0 ]; then
	relay_start "$TMPD/relay-b.log" --log-level 6 --relay "$SPEC_B"
	rc=$?
fi
RELAY_B_PID=$RELAY_PID CTL_B=$RELAY_CTL LOG_B=$TMPD/relay-b.log
[ "$rc" -eq 0 ] && wait_for 10 state_is "$CTL_A" idle && wait_for 10 state_is "$CTL_B" idle
ktap_result $? "relays A and B run a failover agent each: VM $GUEST_MAC idle (vxdpctl failover)" ||
	ktap_abort "relays or agents did not start"
ktap_diag "$(ctl "$CTL_A" failover)"

# --- 2-4: boot on A, the destination waiting on B -----------------------------
phase "boot on A"
T0=$(now_epoch)
fo_qemu_start a1 "$SOCK_A" "$FO_TAP_A" "$QMP_A" || ktap_abort "cannot start QEMU"
A1_PID=$FO_QEMU_PID
qmp_events_start a1
fo_qemu_start b1 "$SOCK_B" "$FO_TAP_B" "$QMP_B" -incoming "unix:$TMPD/mig1.sock"
qmp_events_start b1
peer_ping_bg "$TMPD/ping.log" -i "$PING_INTERVAL" -W 1
wait_for_log "$TMPD/a1.log" 'VXDP-IDLE|VXDP-FAIL' "${GUEST_BOOT_TIMEOUT:-180}" "$A1_PID"
r=$(tr -d '\r' <"$TMPD/a1.log" | sed -n 's/^.*VXDP-RESULT warmup //p' | tail -n 1)
ktap_diag "guest warmup: ${r:-none}"
[ "$(kv "$r" ok)" = 1 ]
ktap_result $? "guest boots on A and reaches the peer" || {
	ktap_diag_file "$TMPD/a1.qemu.out" 10 "QEMU a1"
	ktap_diag_file "$TMPD/a1.log" 20 "console a1"
	ktap_diag_file "$TMPD/relay-a.log" 20 "relay A"
	ktap_abort "no guest"
}
vxdp_bg "$TMPD/stream.out" ip netns exec "$NS_PEER" /usr/bin/python3 \
	"$VXDP_SELFTESTS/e2e/udpstream.py" "$GUEST_IP" "$UDP_PORT" 1 "$UDP_RATE" "$STOP"
STREAM_PID=$VXDP_LAST_PID

wait_for 20 state_is "$CTL_A" primary
t=$(trans "$TMPD/relay-a.log" "$T0")
ktap_diag "A: $t; FDB A: $(fo_fdb_port "$FO_BR_A"), B: $(fo_fdb_port "$FO_BR_B")"
[[ $t =~ idle\>starting:frontend-up\ starting\>standby-start:[a-z-]+\ standby-start\>primary:primary-up$ ]] &&
	[ "$(fo_fdb_port "$FO_BR_A")" = "$FO_TAP_A" ]
ktap_result $? "boot: A's agent readies the standby, then moves the MAC to the primary at the guest's first frame on it"
lf=$(ip netns exec "$NS_RELAY" bridge -d link show | grep -A2 -E "^[0-9]+: ($FO_TAP_A|$FO_VFP_A|$FO_TAP_B|$FO_VFP_B)[@:]" |
	grep -c 'learning off flood off')
ktap_diag "ports with learning and unicast flooding off: $lf of 4"
[ "$lf" -eq 4 ]
ktap_result $? "the agents turned learning and unicast flooding off on the primaries' and relays' ports"
wait_for 10 state_is "$CTL_B" starting
[ "$(fo_fdb_port "$FO_BR_B")" = "$FO_VFP_B" ]
ktap_result $? "B: an incoming QEMU connected: starting, the standby path ready before the guest runs" ||
	ktap_diag "B: $(state "$CTL_B"), FDB B: $(fo_fdb_port "$FO_BR_B")"

# --- 5: migrate_cancel once the guest is on its standby -----------------------
phase "migrate A -> B, cancelled"
T1=$(now_epoch)
migrate a1 "unix:$TMPD/mig1.sock"
wait_for 30 has_trans "$TMPD/relay-a.log" "$T1" 'src-unplug>src-standby'
qmp a1 '{"execute": "migrate_cancel"}' >/dev/null
wait_for 30 mig_done a1
wait_for 20 has_trans "$TMPD/relay-a.log" "$T1" 'standby-start>primary'
t=$(trans "$TMPD/relay-a.log" "$T1")
ktap_diag "A: $t; migration: $(mig_status a1); FDB A: $(fo_fdb_port "$FO_BR_A"); lost pings: $(lost_in "$T1" "$(now_epoch)")"
[[ $t =~ primary\>src-unplug:[a-z-]+\ src-unplug\>src-standby:[a-z-]+\ src-standby\>standby-start:(qmp-migration|dirty-log-stop|qmp-resume)\ standby-start\>primary:primary-up ]] &&
	[ "$(fo_fdb_port "$FO_BR_A")" = "$FO_TAP_A" ]
ktap_result $? "migrate_cancel: the standby carries while QEMU re-plugs the primary, then the primary path is back"
# the cancelled destination QEMU gives up: B forgets the VM
wait_for 20 state_is "$CTL_B" idle
[ "$(fo_fdb_port "$FO_BR_B")" = - ]
ktap_result $? "B: the cancelled incoming QEMU gone: idle, no entry left" ||
	ktap_diag "B: $(state "$CTL_B"), FDB B: $(fo_fdb_port "$FO_BR_B")"

# --- 6-11: migrate A -> B --------------------------------------------------------
phase "migrate A -> B"
fo_qemu_start b2 "$SOCK_B" "$FO_TAP_B" "$QMP_B" -incoming "unix:$TMPD/mig2.sock"
B2_PID=$FO_QEMU_PID
qmp_events_start b2
wait_for 20 state_is "$CTL_B" starting
T2=$(now_epoch)
migrate a1 "unix:$TMPD/mig2.sock"
wait_for "$MIG_TIMEOUT" mig_done a1
ktap_result "$([ "$(mig_status a1)" = completed ]; echo $?)" "migration A -> B completes" ||
	ktap_diag_file "$TMPD/b2.qemu.out" 10 "QEMU b2"
# the destination's primary: registered, then its link up (guest's clock)
T_RESUME=$(qmp_event_epoch b2 RESUME "$T2")
wait_for 20 eval '[ -n "$(fo_guest_event b2 "${T_RESUME:-0}" "\$3 == \"primary\" && \$5 == 1 && \$6 == 1")" ]'
wait_for 10 state_is "$CTL_B" primary
sleep 1		# measurement window: the ping's steady state on the primary
T_UNPLUG=$(qmp_event_epoch a1 UNPLUG_PRIMARY "$T2")
T_GONE=$(fo_guest_event a1 "$T2" '$3 == "primary" && $2 == "del"')
T_STOP=$(qmp_event_epoch a1 STOP "$T2")
T_REG=$(fo_guest_event b2 "${T_RESUME:-0}" '$3 == "primary" && $6 == 1')
T_LINK=$(fo_guest_event b2 "${T_RESUME:-0}" '$3 == "primary" && $5 == 1 && $6 == 1')
ta=$(trans "$TMPD/relay-a.log" "$T2")
tb=$(trans "$LOG_B" "$T2")
ktap_diag "A: $ta"
ktap_diag "B: $tb"
[[ $ta =~ ^primary\>src-unplug:qmp-unplug-primary\ src-unplug\>src-standby:[a-z-]+\ src-standby\>idle:qmp-migration$ ]] &&
	[[ $tb =~ ^starting\>standby-start:[a-z-]+\ standby-start\>primary:[a-z-]+$ ]]
ktap_result $? "event order: A primary, src-unplug (UNPLUG_PRIMARY), src-standby, idle (completed); B starting, standby-start, primary"

rel() { awk -v t="$1" -v z="$T_UNPLUG" 'BEGIN { if (t == "") print "?"; else printf "%+.0f ms", (t - z) * 1000 }'; }
ktap_diag "timeline from UNPLUG_PRIMARY: source primary gone $(rel "$T_GONE"), STOP $(rel "$T_STOP"), RESUME $(rel "$T_RESUME"), destination primary registered $(rel "$T_REG"), its link up $(rel "$T_LINK")"
fdb=$(fo_fdb_events "$T2")
ktap_diag "FDB: $(printf '%s\n' "$fdb" | while read -r t op port; do printf '%s %s %s; ' "$(rel "$t")" "$op" "$port"; done)"
# A: primary entry out, standby in (while the guest unplugs), out once
# completed; B: its standby entry (in since starting) out, the primary's in
seq_a=$(printf '%s\n' "$fdb" | awk -v a="$FO_TAP_A" -v b="$FO_VFP_A" '$3 == a || $3 == b { printf "%s%s-%s", n++ ? " " : "", $2, $3 == a ? "pri" : "stby" }')
seq_b=$(printf '%s\n' "$fdb" | awk -v a="$FO_TAP_B" -v b="$FO_VFP_B" '$3 == a || $3 == b { printf "%s%s-%s", n++ ? " " : "", $2, $3 == a ? "pri" : "stby" }')
stby_a_in=$(printf '%s\n' "$fdb" | awk -v p="$FO_VFP_A" '$2 == "add" && $3 == p { print $1; exit }')
pri_b_in=$(printf '%s\n' "$fdb" | awk -v p="$FO_TAP_B" '$2 == "add" && $3 == p { print $1; exit }')
[ "$seq_a" = "del-pri add-stby del-stby" ] && [ "$seq_b" = "del-stby add-pri" ] &&
	awk -v s="$stby_a_in" -v u="$T_UNPLUG" -v g="$T_GONE" -v x="$SLACK_GONE" \
		'BEGIN { exit !(s >= u && s <= g + x) }'
ktap_result $? "FDB per phase: A primary -> standby during the guest's unplug -> none; B standby -> primary (A: $seq_a; B: $seq_b)"

# every lost ping inside one of the three windows, each opening early by
# the slack: a request sent before the event and not yet answered is lost
# with it, and the TCG guest's round trips grow on a loaded machine
rtt=$(ping_log_rtt_max "$TMPD/ping.log" "$T2" "${T_UNPLUG:-0}")
slack=$(awk -v a="$SLACK_BEFORE" -v b="$rtt" 'BEGIN { printf "%.4f", (b > a) ? b : a }')
ktap_diag "longest round trip before UNPLUG_PRIMARY: $(awk -v r="$rtt" 'BEGIN { printf "%.1f", r * 1000 }') ms; windows open $(awk -v s="$slack" 'BEGIN { printf "%.0f", s * 1000 }') ms before their event"
ping_log_gaps "$TMPD/ping.log" | awk -v from="$T2" -v to="$(now_epoch)" \
	-v u="$T_UNPLUG" -v g="$T_GONE" -v sg="$SLACK_GONE" \
	-v s="$T_STOP" -v r="$T_RESUME" -v sr="$SLACK_RESUME" \
	-v rg="$T_REG" -v l="$T_LINK" -v sl="$SLACK_LINK" -v z="$T_UNPLUG" -v b="$slack" '
	$5 >= from && $4 <= to {
		w = "outside"
		if ($4 >= u - b && $5 <= g + sg) w = "unplug"
		else if ($4 >= s - b && $5 <= r + sr) w = "stop"
		else if ($4 >= rg - b && $5 <= l + sl) w = "link-up"
		n[w] += $3
		printf "gap %d-%d: %d pings sent %+.0f..%+.0f ms: %s\n", $1, $2, $3, ($4 - z) * 1000, ($5 - z) * 1000, w
	}
	END { printf "lost: unplug %d, stop %d, link-up %d, outside %d\n", n["unplug"], n["stop"], n["link-up"], n["outside"] }' >"$TMPD/gaps"
ktap_diag "$(cat "$TMPD/gaps")"
ktap_diag "windows: unplug $(awk -v a="$T_UNPLUG" -v b="$T_GONE" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms, stop $(awk -v a="$T_STOP" -v b="$T_RESUME" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms, link-up $(awk -v a="$T_REG" -v b="$T_LINK" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms; ping every $PING_INTERVAL s"
[ -n "$T_UNPLUG" ] && [ -n "$T_GONE" ] && [ -n "$T_STOP" ] && [ -n "$T_REG" ] && [ -n "$T_LINK" ] &&
	grep -q 'outside 0$' "$TMPD/gaps"
ktap_result $? "zero loss from unplug through switchover: every lost ping falls in the guest's unplug, the VM's stop or the destination primary's link-up window"
last=$(gaps_in "$T_REG" "$(now_epoch)" | tail -n 1 | cut -d' ' -f5)
ktap_diag "destination: MAC to the primary $(rel "$pri_b_in"), its link up $(rel "$T_LINK"), last ping lost $(rel "$last")"
[ -n "$pri_b_in" ] && [ -n "$T_LINK" ] &&
	awk -v p="$pri_b_in" -v l="$T_LINK" -v x="$SLACK_LINK" -v last="${last:-0}" \
		'BEGIN { exit !(p <= l + x && last <= l + x) }' &&
	[ "$(fo_fdb_port "$FO_BR_B")" = "$FO_TAP_B" ]
ktap_result $? "traffic back on the primary within 100 ms of its link-up"

# --- 12-14: back to A, B's daemon killed mid-migration ------------------------
phase "migrate B -> A, B's daemon killed"
vxdp_stop "$A1_PID" TERM 15
wait_for 10 state_is "$CTL_A" idle
fo_qemu_start a2 "$SOCK_A" "$FO_TAP_A" "$QMP_A" -incoming "unix:$TMPD/mig3.sock"
A2_PID=$FO_QEMU_PID
qmp_events_start a2
wait_for 20 state_is "$CTL_A" starting
T3=$(now_epoch)
# The destination held (SIGSTOP): the source's migration goes through the
# unplug, then waits on a full socket, its guest running on the standby,
# for as long as the restart takes.
kill -STOP "$A2_PID"
migrate b2 "unix:$TMPD/mig3.sock"
wait_for 30 has_trans "$LOG_B" "$T3" 'src-unplug>src-standby'
kill -KILL "$RELAY_B_PID"
wait "$RELAY_B_PID" 2>/dev/null
relay_start "$TMPD/relay-b2.log" --log-level 6 --relay "$SPEC_B"
RELAY_B_PID=$RELAY_PID CTL_B=$RELAY_CTL LOG_B=$TMPD/relay-b2.log
wait_for 15 has_trans "$LOG_B" 0 'src-standby'
t=$(trans "$LOG_B" 0)
ktap_diag "B restarted: $t; $(grep -o 'waiting up to.*' "$LOG_B" | head -n 1)"
# (QEMU reconnects within a second, mostly after the agent's first look,
# which then waits: the switch has the standby entry)
[[ $t =~ ^init\>(starting:observed\ starting\>)?src-standby:(observed|rings-running)$ ]] &&
	[ "$(fo_fdb_port "$FO_BR_B")" = "$FO_VFP_B" ] &&
	! fo_fdb_events "$T3" | grep -q "del $FO_VFP_B"
ktap_result $? "kill -9 mid-migration: the restarted agent reconciles onto src-standby (standby entry in netlink, the relay logging), the standby path never taken away"
kill -CONT "$A2_PID"
wait_for "$MIG_TIMEOUT" mig_done b2
wait_for 10 state_is "$CTL_B" idle
wait_for 20 state_is "$CTL_A" primary
ktap_diag "migration: $(mig_status b2); A: $(trans "$TMPD/relay-a.log" "$T3"); B: $(trans "$LOG_B" 0); FDB A: $(fo_fdb_port "$FO_BR_A"), B: $(fo_fdb_port "$FO_BR_B")"
[ "$(mig_status b2)" = completed ] && state_is "$CTL_B" idle && state_is "$CTL_A" primary &&
	[ "$(fo_fdb_port "$FO_BR_B")" = - ] && [ "$(fo_fdb_port "$FO_BR_A")" = "$FO_TAP_A" ]
ktap_result $? "the migration completes: B's reconciled agent removes its standby path, A's guest is on its primary"
Tq=$(now_epoch)
wait_for 10 eval '[ "$(ping_log_replies "$TMPD/ping.log" "$Tq")" -ge 50 ]'
ktap_result $? "the guest answers the peer's pings on A ($(ping_log_replies "$TMPD/ping.log" "$Tq") replies in the last $(awk -v a="$Tq" -v b="$(now_epoch)" 'BEGIN { printf "%.1f", b - a }') s)"

# --- 15: the stream ----------------------------------------------------------
phase "the stream's end"
touch "$STOP"
wait_for_log "$TMPD/a2.log" 'VXDP-RESULT stream' 30
wait_for_exit "$STREAM_PID" 10
r=$(tr -d '\r' <"$TMPD/a2.log" | sed -n 's/^.*VXDP-RESULT stream //p' | tail -n 1)
ktap_diag "UDP stream ($UDP_RATE/s), guest's count: ${r:-none}; sender: $(tr '\n' ' ' <"$TMPD/stream.out")"
[ "$(kv "$r" end)" = 1 ] && [ "$(kv "$r" bad)" = 0 ] && [ "$(kv "$r" ok)" -gt 0 ]
ktap_result $? "the peer's stream reaches the guest intact across the cancel and both migrations"

# --- 16-17: clean shutdown ------------------------------------------------------
phase "shutdown"
kill -INT "$PEER_PING_PID" 2>/dev/null
vxdp_stop "$A2_PID" TERM 15
vxdp_stop "$B2_PID" TERM 15
vxdp_stop "$RELAY_A_PID" TERM 15
rc_a=$VXDP_STOP_RC
vxdp_stop "$RELAY_B_PID" TERM 15
rc_b=$VXDP_STOP_RC
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ]
ktap_result $? "both daemons exit 0 on SIGTERM ($rc_a, $rc_b)" || {
	ktap_diag_file "$TMPD/relay-a.log" 10 "relay A"
	ktap_diag_file "$LOG_B" 10 "relay B"
}
sanitizer_clean "$TMPD/relay-a.log" && sanitizer_clean "$TMPD/relay-b.log" && sanitizer_clean "$LOG_B"
ktap_result $? "no sanitizer report in the daemons' logs"

ktap_finish
