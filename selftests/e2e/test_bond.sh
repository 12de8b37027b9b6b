#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VF bond (vf=A+B, active-backup): a QEMU guest behind a relay on two veth
# stand-in VFs, A and B, whose far ends are ports of one bridge in the peer
# netns, as two PFs would be ports of one switch. The peer pings the guest
# every 2 ms (10 ms while replies are outstanding). `ip link set A down`:
# the relay switches to B, and the requests lost around the change span at
# most SWITCH_MAX_MS (see outage_ms: from the ping's -D stamps and kernel-
# timed round trips); then A up and B down: back to A, the same bound. Each switch is one log line with its cause, and
# the per-member counters (vxdpctl stats) show the guest's traffic moved.
# The switch floods the peer's broadcasts to both members: the backup's XDP
# program leaves them to the host stack, so the guest gets each once.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- A ====veth==== A' -+
#      | vhost-user   \-- B ====veth==== B' -+- bridge 192.0.2.1/24
#   QEMU guest 192.0.2.2/24                      ping -i 0.002 -> guest
#
# One guest boot; the two switches take a second or two.

. "$(dirname "$0")/../lib.sh"

SWITCH_MAX_MS=${SWITCH_MAX_MS:-100}	# the gap a switch may leave

vxdp_init
command -v qemu-system-x86_64 >/dev/null || ktap_skip_all "qemu-system-x86_64 not installed (make deps)"

ktap_plan 17

VF_A=vxba$VXDP_ID
VF_B=vxbb$VXDP_ID
PEER_A=vxqa$VXDP_ID
PEER_B=vxqb$VXDP_ID
BR=vxbr$VXDP_ID
VF=$VF_A		# relay_stop_check's XDP and pin checks: member A
RELAY_NAME=$VF_A

bond_topo()
{
	local end

	netns_add "$NS_RELAY" "$NS_PEER" || return 1
	ip -n "$NS_PEER" link add "$BR" type bridge || return 1
	for end in "$VF_A:$PEER_A" "$VF_B:$PEER_B"; do
		ip link add "${end%:*}" netns "$NS_RELAY" type veth \
			peer name "${end#*:}" netns "$NS_PEER" || return 1
		ip -n "$NS_PEER" link set dev "${end#*:}" master "$BR" up || return 1
		ip -n "$NS_RELAY" link set dev "${end%:*}" up || return 1
	done
	ip -n "$NS_PEER" addr add "$PEER_IP/$PREFIX_LEN" dev "$BR" || return 1
	ip -n "$NS_PEER" link set dev "$BR" up || return 1
	# A permanent ARP entry: a carrier loss would flush a learned one, and
	# its retry (a second later) would be measured as the switch.
	ip -n "$NS_PEER" neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$BR" nud permanent
	VXDP_PINS+=("$VF_A" "$VF_A+b")
}

relay_bin_check || ktap_abort "daemon not built"
[ -x "$HOSTILE_BIN" ] || ktap_abort "$HOSTILE_BIN not built (make)"
guest_prepare || ktap_abort "cannot build the guest initramfs"
bond_topo || ktap_abort "cannot create the netns/veth/bridge topology"

SOCK=$TMPD/vhost.sock
relay_start "$TMPD/relay.log" --relay "vf=$VF_A+$VF_B,socket=$SOCK,mac=$GUEST_MAC" ||
	ktap_abort "relay did not start"

# set_mtu MTU - what the relay said to a frontend's NET_SET_MTU of MTU (as
# QEMU's host_mtu=): refused=0 or refused=1
set_mtu()
{
	hostile "$TMPD/mtu.out" --target "$SOCK" --cycles "$1" set-mtu
	hostile_kv "$TMPD/mtu.out" attack=set-mtu refused
}

# 1-2: the guest's MTU must fit both members: it sends out of either in turn
ip -n "$NS_RELAY" link set dev "$VF_B" mtu 1400
r=$(set_mtu 1500)
ktap_diag "B at MTU 1400, NET_SET_MTU 1500: refused=${r:-?}; $(grep -h 'refusing guest MTU' "$RELAY_LOG" | tail -n 1)"
[ "$r" = 1 ] && log_count_ge "$RELAY_LOG" "refusing guest MTU 1500: vf $VF_B has MTU 1400" 1
ktap_result $? "a guest MTU of 1500 refused while member $VF_B has MTU 1400 (the log names it)"
ip -n "$NS_RELAY" link set dev "$VF_B" mtu 1500
r=$(set_mtu 1500)
[ "$r" = 0 ]
ktap_result $? "... and taken once $VF_B has 1500 again (refused=${r:-?})"

guest_boot "$SOCK" idle "$TMPD/guest.log" || ktap_abort "guest did not boot"
PING_LOG=$TMPD/ping.log
# (real-time: a ping starved by the guest's TCG threads would send late and
# stamp late, and its own gaps would be measured as the switch's)
PEER_PING_RT=1 peer_ping_bg "$PING_LOG" -i 0.002
wait_for 30 ping_log_replies_ge "$PING_LOG" 0 50 || ktap_abort "no ping replies through the bond"

# member FIELD VF - FIELD of member VF in `vxdpctl -j stats`
member()
{
	local st

	st=$(vxdpctl -j stats "$RELAY_NAME" 2>/dev/null)
	json_get "$st" "[m['$1'] for m in j['relays'][0]['bond']['members'] if m['vf'] == '$2'][0]"
}

# answered_after T - true once a request sent at or after T was answered
answered_after()
{
	ping_log_sends "$PING_LOG" | awk -v t="$1" '$2 >= t { f = 1 } END { exit !f }'
}

# outage_ms LOG T0 - how long the path lost frames around a change made at
# T0: between the send times of the last request answered before the lost
# ones and the first one answered after them, the widest such span reaching
# past T0; "never" when no request sent 0.5 s after T0 came back (the lost
# run has no end yet). LOG is a copy
# taken once requests sent 0.5 s after T0 were answered, and before the
# down member comes back: a reply merely late (a TCG guest starved for a
# while on a loaded machine answers a second late) is in it, a frame held
# in the down member's tx ring (sent when it comes back up) is not.
outage_ms()
{
	ping_log_sends "$1" | awk -v t0="$2" '
		NR > 1 && $2 >= t0 && ta <= t0 + 2 && $2 - ta > g { g = $2 - ta }
		{ ta = $2 }
		END { if (ta >= t0 + 0.5) printf "%.1f\n", g * 1000; else print "never" }'
}

# switch_check WHAT T0 FROM TO - replies resumed within SWITCH_MAX_MS of the
# last one before T0 (the change), and one log line says FROM -> TO and why
switch_check()
{
	local what=$1 t0=$2 from=$3 to=$4 g pat

	wait_for 10 answered_after "$(awk -v t="$t0" 'BEGIN { printf "%.6f", t + 0.5 }')"
	cp "$PING_LOG" "$TMPD/ping-$to.log"
	g=$(outage_ms "$TMPD/ping-$to.log" "$t0")
	ktap_diag "$what: requests lost for $g ms around the change (peer ping -D)"
	[ "$g" != never ] && awk -v g="$g" -v m="$SWITCH_MAX_MS" 'BEGIN { exit !(g <= m) }'
	ktap_result $? "$what: the guest answers again within $SWITCH_MAX_MS ms ($g ms)"
	pat="bond $VF_A\\+$VF_B: active $from -> $to \\($from down or no carrier\\)"
	wait_for 2 log_count_ge "$RELAY_LOG" "$pat" 1
	grep -E "bond $VF_A" "$RELAY_LOG" | tail -n 1 | sed 's/^/# relay: /'
	[ "$(log_count "$RELAY_LOG" "$pat")" -eq 1 ]
	ktap_result $? "$what: one log line: active $from -> $to, and why"
}

# moved TO FROM TX0 WHAT - TO is active, announced itself, and sent more
# than TX0 frames since (the guest's replies)
moved()
{
	local to=$1 from=$2 tx0=$3 what=$4 tx act ann

	tx=$(member tx_frames "$to")
	act=$(member active "$to")
	ann=$(member announced "$to")
	ktap_diag "$what: $to active=$act tx_frames ${tx0:-?} -> ${tx:-?} announced=${ann:-?}; $from active=$(member active "$from") tx_frames=$(member tx_frames "$from") rx_frames=$(member rx_frames "$from")"
	[ "$act" = True ] && [ "${ann:-0}" -ge 1 ] && [ "${tx:-0}" -gt "${tx0:-0}" ] 2>/dev/null
	ktap_result $? "$what: $to active, announced, the guest's replies go out of it"
}

# member_ge FIELD VF N - FIELD of member VF is at least N
member_ge()
{
	[ "$(member "$1" "$2")" -ge "$3" ] 2>/dev/null
}

# group_once ACTIVE BACKUP WHAT - N broadcasts from the peer (flooded by its
# bridge to both members) reach the guest once, through ACTIVE: BACKUP's XDP
# program passes them to the host stack and it brings none to the guest
# (unicast to the guest goes only to ACTIVE's port: the bridge learned it)
group_once()
{
	local act=$1 bak=$2 what=$3 n=20 p0 r0 a0 p r a

	p0=$(member xdp_passed "$bak")
	r0=$(member rx_frames "$bak")
	a0=$(member rx_frames "$act")
	ip netns exec "$NS_PEER" ping -b -q -n -c "$n" -i 0.01 -W 1 "${PEER_IP%.*}.255" >/dev/null 2>&1
	wait_for 5 member_ge xdp_passed "$bak" $((${p0:-0} + n))
	p=$(member xdp_passed "$bak")
	r=$(member rx_frames "$bak")
	a=$(member rx_frames "$act")
	ktap_diag "$what: $n broadcasts from the peer: $bak xdp_passed ${p0:-?} -> ${p:-?}, rx_frames ${r0:-?} -> ${r:-?}; $act rx_frames ${a0:-?} -> ${a:-?}"
	[ "${p:-0}" -ge $((${p0:-0} + n)) ] 2>/dev/null && [ -n "$r" ] && [ "$r" = "$r0" ] &&
		[ "${a:-0}" -ge $((${a0:-0} + n)) ] 2>/dev/null
	ktap_result $? "$what: the peer's broadcasts reach the guest once, through $act; $bak leaves them to the host"
}

[ "$PREFIX_LEN" = 24 ] || ktap_abort "group_once's broadcast address assumes a /24"
# 3: broadcasts reach the guest once -------------------------------------------------
group_once "$VF_A" "$VF_B" "at start"

# 4-6: A down -> B ----------------------------------------------------------------
txb=$(member tx_frames "$VF_B")
ktap_diag "before: $VF_A tx_frames=$(member tx_frames "$VF_A") rx_frames=$(member rx_frames "$VF_A"), $VF_B tx_frames=$txb"
t0=$(now_epoch)
ip -n "$NS_RELAY" link set dev "$VF_A" down
switch_check "$VF_A down" "$t0" "$VF_A" "$VF_B"
wait_for 5 ping_log_replies_ge "$PING_LOG" "$t0" 100
moved "$VF_B" "$VF_A" "$txb" "$VF_A down"

# 7-10: A up (the backup now), B down -> A ----------------------------------------------------------
ip -n "$NS_RELAY" link set dev "$VF_A" up
wait_for_log "$RELAY_LOG" "vf $VF_A up again" 5
group_once "$VF_B" "$VF_A" "$VF_A up again, $VF_B active"
txa=$(member tx_frames "$VF_A")
t0=$(now_epoch)
ip -n "$NS_RELAY" link set dev "$VF_B" down
switch_check "$VF_A up, $VF_B down" "$t0" "$VF_B" "$VF_A"
wait_for 5 ping_log_replies_ge "$PING_LOG" "$t0" 100
moved "$VF_A" "$VF_B" "$txa" "$VF_B down"

# 11: two switches counted ----------------------------------------------------------
st=$(vxdpctl stats "$RELAY_NAME" 2>&1)
printf '%s\n' "$st" | grep -A2 'bond:' | sed 's/^/# /'
[ "$(stat_value "$st" 'bond:')" = 2 ]
ktap_result $? "vxdpctl stats: 2 switches"

# 12-17: a clean stop, both members' XDP and pins gone -----------------------------------
vxdp_stop "$PEER_PING_PID" INT 5
relay_stop_check "$SOCK"
! xdp_attached "$NS_RELAY" "$VF_B" && [ ! -e "$VXDP_PIN_ROOT/$VF_A+b" ]
ktap_result $? "no XDP program left on $VF_B, its pins removed"

ktap_finish
