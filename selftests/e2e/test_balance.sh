#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# CPU placement and load balancing: a daemon whose two workers are pinned by
# --cpus 0,1; relay D pinned by cpu=1 (idle, never moved) makes the placer
# put relays A and B both on worker 0 (fewest lanes, then the lowest
# number). Both get a paced stream into a DPDK testpmd guest: worker 0 is
# busy, worker 1 idle, and the balancer must move one of them to worker 1
# (logged, counted), with no frame lost: every frame the generators sent is
# counted to the guest, no drop counter moves, and testpmd received them all.
# Each worker thread's Cpus_allowed_list (/proc/PID/task/TID/status) is its
# --cpus CPU, and relay D's worker is the one on CPU 1.
#
#   netns relay                                       netns peer
#   vxdp-relay --cpus 0,1 --balance-interval MS
#     relay D (cpu=1) --AF_XDP-- $VF      ====veth==== $PEER_IF   (idle)
#     relay A        --AF_XDP-- vxm0v$$  ====veth==== vxm0p$$  <- vxdp-benchgen
#     relay B        --AF_XDP-- vxm1v$$  ====veth==== vxm1p$$  <- vxdp-benchgen
#       | dpdk-testpmd, virtio-user on A and B, rxonly
#
# The load is made cheaply: with --busy-poll 400 a worker spins 400 us after
# each of a generator's bursts (one a millisecond), so worker 0 runs 40% of a
# core when the two generators' bursts fall together and up to 80% when
# they fall apart, over the balancer's gap (25%) either way; with 200 us the
# aligned case left about 20% and CI measured 28-41%, a few points from
# never moving. A
# low RATE leaves the AF_XDP rings time to spare (256 fill frames are 50 ms
# at 5000 frames/s) while a worker shares its CPU with testpmd's polling.
#
# Knobs: RATE (5000 frames/s a relay), SECS (6 s of stream), BUSY_US (400),
# BALANCE_MS (200; 0 turns the balancer off, and the test must fail then).

. "$(dirname "$0")/../lib.sh"

RATE=${RATE:-5000}
BUSY_US=${BUSY_US:-400}
SECS=${SECS:-6}
BALANCE_MS=${BALANCE_MS:-200}
GEN_BIN=$BUILD/vxdp-benchgen
PREFIX=vxdpb$$			# testpmd --file-prefix

vxdp_init
command -v dpdk-testpmd >/dev/null || ktap_skip_all "dpdk-testpmd not installed (make deps)"
perl -MJSON::PP -e 1 2>/dev/null || ktap_skip_all "perl JSON::PP missing"
[ "$(nproc)" -ge 2 ] || ktap_skip_all "fewer than 2 CPUs: nothing to pin two workers to"
taskset -pc 0,1 $$ >/dev/null 2>&1 || ktap_skip_all "CPUs 0 and 1 are not both allowed to this test"
hugepages_ensure 256 ||
	ktap_skip_all "cannot reserve 256 free 2 MiB hugepages (or mount hugetlbfs) for DPDK"

ktap_plan 11

relay_bin_check || ktap_abort "daemon not built"
[ -x "$GEN_BIN" ] && [ -x "$VXDPCTL_BIN" ] || ktap_abort "vxdpctl or vxdp-benchgen not built (make)"
topo_setup || ktap_abort "cannot create the netns/veth topology"
topo_add_vfs 2 || ktap_abort "cannot create the extra veth pairs"
VFA=${EXTRA_VFS[0]} PEERA=${EXTRA_PEERS[0]}
VFB=${EXTRA_VFS[1]} PEERB=${EXTRA_PEERS[1]}

# jget JSON PERL-EXPR - a value out of vxdpctl's JSON ($d is the document)
jget()
{
	printf '%s\n' "$1" | J=$2 perl -MJSON::PP -e '
		my $d = eval { decode_json(scalar <STDIN>) } or exit;
		my $v = eval $ENV{J};
		print defined $v ? $v : "", "\n";'
}

# home RELAY - the worker relay RELAY's (single) lane runs on
home()
{
	jget "$(vxdpctl --json show "$1" 2>/dev/null)" '$d->{lanes}[0]{worker}'
}

# allowed TID - the thread's Cpus_allowed_list
allowed()
{
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$RELAY_PID/task/$1/status" 2>/dev/null
}

moves()
{
	jget "$(vxdpctl --json workers 2>/dev/null)" '$d->{moves}'
}

# 1-2: placement and pinning ----------------------------------------------------
relay_start "$TMPD/relay.log" --cpus 0,1 --balance-interval "$BALANCE_MS" --busy-poll "$BUSY_US" \
	--log-level 6 \
	--relay "vf=$VF,socket=$TMPD/d.sock,cpu=1" \
	--relay "vf=$VFA,socket=$TMPD/a.sock" \
	--relay "vf=$VFB,socket=$TMPD/b.sock" ||
	ktap_abort "daemon did not start"
ha=$(home "$VFA") hb=$(home "$VFB") hd=$(home "$VF")
[ "$ha" = 0 ] && [ "$hb" = 0 ] && [ "$hd" = 1 ]
ktap_result $? "relays A and B start on worker 0 (${ha:-?}, ${hb:-?}), D (cpu=1) on worker 1 (${hd:-?})" ||
	vxdpctl list | while read -r l; do ktap_diag "$l"; done

wj=$(vxdpctl --json workers 2>/dev/null)
ok=0 desc=""
for w in 0 1; do
	tid=$(jget "$wj" "\$d->{workers}[$w]{tid}")
	cpu=$(jget "$wj" "\$d->{workers}[$w]{cpu}")
	al=$(allowed "$tid")
	desc+="worker $w tid ${tid:-?} cpu ${cpu:-?} Cpus_allowed_list ${al:-?}; "
	[ -n "$tid" ] && [ "$cpu" = "$w" ] && [ "$al" = "$w" ] || ok=1
done
dtid=$(jget "$(vxdpctl --json show "$VF" 2>/dev/null)" '$d->{worker_tid}')
dal=$(allowed "$dtid")
[ "$ok" = 0 ] && [ "$dal" = 1 ]
ktap_result $? "--cpus 0,1 and cpu=1 honoured: ${desc}relay D's thread ${dtid:-?}: ${dal:-?}"

# 3: both streams reach the guest ----------------------------------------------
# 1024-entry rings: the guest may be off its CPU for a while on a loaded
# machine without its ring filling up
TESTPMD_VDEV_OPTS=queue_size=1024 testpmd_start "$TMPD/rxonly.log" "$PREFIX" \
	"$TMPD/a.sock,$TMPD/b.sock" --forward-mode=rxonly --rxd=1024 --txd=1024 ||
	ktap_abort "testpmd did not start on relays A and B"
# frames that come before the guest's rx ring runs are dropped: wait for it
wait_for 15 eval 'grep -q "$VFA: rx queue 0 running" "$RELAY_LOG" &&
	grep -q "$VFB: rx queue 0 running" "$RELAY_LOG"' ||
	ktap_diag "the rx rings of A and B are not both running"
vxdp_bg "$TMPD/gena.log" ip netns exec "$NS_PEER" "$GEN_BIN" pkt "$PEERA" \
	--size 64 --dst 52:54:00:00:0a:01 --rate "$RATE" --seconds "$SECS"
GENA=$VXDP_LAST_PID
vxdp_bg "$TMPD/genb.log" ip netns exec "$NS_PEER" "$GEN_BIN" pkt "$PEERB" \
	--size 64 --dst 52:54:00:00:0b:01 --rate "$RATE" --seconds "$SECS"
GENB=$VXDP_LAST_PID
to_guest()
{
	jget "$(vxdpctl --json stats "$1" 2>/dev/null)" '$d->{relays}[0]{total}{to_guest_frames}'
}
wait_for 10 eval '[ "$(to_guest "$VFA")" -gt 1000 ] && [ "$(to_guest "$VFB")" -gt 1000 ]'
ktap_result $? "both streams reach the guest (A $(to_guest "$VFA"), B $(to_guest "$VFB") frames)"

# 4-6: the balancer moves one of them ---------------------------------------------
wait_for_log "$RELAY_LOG" 'balancer: relay' $((SECS + 2)) "$RELAY_PID"
ktap_result $? "the balancer moved a lane off the busy worker: $(grep -m1 -o 'balancer: relay.*' "$RELAY_LOG")" ||
	vxdpctl workers | while read -r l; do ktap_diag "$l"; done
ha=$(home "$VFA") hb=$(home "$VFB")
wj=$(vxdpctl --json workers 2>/dev/null)
[ -n "$ha" ] && [ -n "$hb" ] && [ "$ha" != "$hb" ]
ktap_result $? "A and B now on different workers (A on ${ha:-?}, B on ${hb:-?})"
m=$(moves) in1=$(jget "$wj" '$d->{workers}[1]{moves_in}') out0=$(jget "$wj" '$d->{workers}[0]{moves_out}')
[ "${m:-0}" -ge 1 ] && [ "${in1:-0}" -ge 1 ] && [ "${out0:-0}" -ge 1 ] &&
	[ "$(home "$VF")" = 1 ]
ktap_result $? "the move is counted (daemon ${m:-?}, worker 1 in ${in1:-?}, worker 0 out ${out0:-?}); pinned D stayed"

# 7-9: no frame lost ----------------------------------------------------------------
wait_for_exit "$GENA" $((SECS + 10))
wait_for_exit "$GENB" 10
sa=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMPD/gena.log")
sb=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMPD/genb.log")
wait_for 5 eval '[ "$(to_guest "$VFA")" -ge "${sa:-1}" ] && [ "$(to_guest "$VFB")" -ge "${sb:-1}" ]'
ga=$(to_guest "$VFA") gb=$(to_guest "$VFB")
[ -n "$sa" ] && [ -n "$sb" ] && [ "${ga:-0}" -ge "$sa" ] && [ "${gb:-0}" -ge "$sb" ]
ktap_result $? "every frame sent reached the guest: A $ga of $sa, B $gb of $sb (at $RATE frames/s each)"
drops=""
for r in "$VFA" "$VFB"; do
	drops+=$(jget "$(vxdpctl --json stats "$r" 2>/dev/null)" \
		'join(" ", map { "$_=$d->{relays}[0]{total}{$_}" } grep { /^(drop_|xsk_rx_dropped|xsk_rx_ring_full)/ } sort keys %{$d->{relays}[0]{total}})')" "
done
! grep -Eq '=[1-9]' <<<"$drops" && [ -n "$drops" ]
ktap_result $? "no drop counter moved: $drops"
testpmd_stop "$TMPD/rxonly.log" "$PREFIX"
[ "$TESTPMD_RX" -ge $((sa + sb)) ] && [ "$TESTPMD_RX" -eq $((ga + gb)) ]
ktap_result $? "testpmd received ${TESTPMD_RX} frames: all the relays gave it ($((ga + gb)))"

# 10-11: clean exit ------------------------------------------------------------------
vxdp_stop "$RELAY_PID" TERM 20
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "SIGTERM: exit 0" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" || ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
