#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end, multiqueue: a real QEMU guest (TCG) with 4 virtio-net queue
# pairs on vxdp-relay (queues=4), whose "VF" is a veth with 4 rx and 4 tx
# queues, so the relay runs one AF_XDP socket per VF queue and pairs guest
# queue i with VF queue i.
#
#   netns relay                                  netns peer
#   vxdp-relay --4x AF_XDP-- $VF ====veth (4 queues)==== $PEER_IF 192.0.2.1/24
#      | vhost-user socket, 4 queue pairs (8 vrings)
#   QEMU guest eth0 192.0.2.2/24, -smp 1 (tools/dev/mkguest.sh "mq")
#
# Which queue a flow takes: peer->guest, the peer's veth tx queue (flow hash
# of the socket's random txhash) is the VF rx queue it arrives on, and the
# relay hands VF queue i to guest rx queue i; guest->peer, the guest's tx
# queue by the same kind of hash (the guest clears its XPS maps), which the
# relay sends on VF queue i.
#
# Checks: the guest negotiated VIRTIO_NET_F_MQ and runs 4 combined channels
# (`ethtool -L`, a 1-CPU guest starts with one); the relay started all 8
# vrings; iperf3 -P 4 in both directions completes with every stream
# carrying data; a run of 32 parallel TCP flows in each direction spread
# over at least 3 of the 4 queues (the guest's per-queue counters, which
# count frames the relay delivered into, or took from, each vring); a clean
# SIGTERM.
#
# Why 32 flows and "at least 3 of 4": each flow picks its queue by a
# randomly seeded hash, independently and uniformly. With 4 flows, all on
# one queue has probability 4 * (1/4)^4 = 1/64, so "4 flows use >= 2
# queues" would fail one run in 64 with nothing wrong. With 32 flows, all
# within some 2 of the 4 queues has probability
# (C(4,2) * (2^32 - 2) + 4) / 4^32 ~= 6 / 2^32 ~= 1.4e-9 per direction, so
# the two checks together fail spuriously about once in 3.6e8 runs. The
# -P 4 runs' spread is reported, not asserted. A queue "carries traffic"
# with >= MIN_PKTS packets in the run's data direction: one without any of
# the run's flows sees only iperf3's control connection and ARP (tens of
# packets), one with a single flow of 32 some thousand in 2 s.
#
# Knobs (environment): QUEUES (4), VF_QUEUES (QUEUES: the veth's queue
# count; fewer, e.g. 1, makes the relay spread peer->guest frames over the
# guest's rx queues by its own flow hash), IPERF_TIME (3 s, -P 4 runs),
# MANY_FLOWS (32), MANY_TIME (2 s), MIN_PKTS (200: a queue "carried
# traffic" when it moved at least this many packets in a run), RELAY_BIN,
# VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

QUEUES=${QUEUES:-4}
VF_QUEUES=${VF_QUEUES:-$QUEUES}
IPERF_TIME=${IPERF_TIME:-3}
MANY_FLOWS=${MANY_FLOWS:-32}
MANY_TIME=${MANY_TIME:-2}
MIN_PKTS=${MIN_PKTS:-200}
IPERF_SERVER_TIMEOUT=$((IPERF_TIME + 40))	# guest's bound per iperf3 -s run
VIRTIO_NET_F_MQ=22

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v iperf3 >/dev/null || ktap_skip_all "iperf3 not installed (make deps)"
command -v ethtool >/dev/null || [ -x /usr/sbin/ethtool ] ||
	ktap_skip_all "ethtool not installed (make deps; the guest needs a copy)"
perl -MJSON::PP -e 1 2>/dev/null || ktap_skip_all "perl JSON::PP missing (make deps)"

ktap_plan 12

relay_bin_check || ktap_abort "daemon not built"
topo_setup "$VF_QUEUES" || ktap_abort "cannot create the netns/veth topology with $VF_QUEUES queues"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock

# 1: the relay comes up with one AF_XDP socket per VF queue ---------------
# --log-level 6: the relay logs each vring it starts ("rx queue N running").
relay_start "$TMPD/relay.log" --log-level 6 \
	--relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC,queues=$QUEUES"
rc=$?
if [ "$rc" -eq 0 ]; then
	# `vxdpctl list` lists every relay on the host: keep ours
	list=$(netns_exec "$NS_RELAY" "$VXDPCTL_BIN" list 2>&1 |
		awk -v r="$RELAY_NAME:" '/^[^ ]/ { on = ($0 == r) } on')
	ktap_diag "vxdpctl list (this relay):"
	ktap_diag "$list"
	want="xsk sockets on queues: $(seq -s ' ' 0 $((VF_QUEUES - 1)))"
	printf '%s\n' "$list" | grep -qxF -- "  $want" || {
		ktap_diag "expected '$want'"
		rc=1
	}
	grep -q "$QUEUES queue pairs" "$RELAY_LOG" || rc=1
	if [ "$VF_QUEUES" -ne "$QUEUES" ]; then
		grep -q "spread by flow hash" "$RELAY_LOG" || rc=1
	fi
fi
ktap_result $rc "relay serves $QUEUES queue pairs with an AF_XDP socket on each of $VF's $VF_QUEUES queues" || {
	ktap_diag_file "$TMPD/relay.log" 20 "relay log"
	ktap_abort "relay did not start"
}

# 2: the guest boots with a multiqueue NIC on the relay --------------------
GUEST_NETDEV_OPTS="queues=$QUEUES" GUEST_NIC_OPTS="mq=on" GUEST_SMP=1 \
	guest_boot "$SOCK" mq "$TMPD/guest.log" \
	"vxdp.queues=$QUEUES vxdp.iperf_timeout=$IPERF_SERVER_TIMEOUT"
ktap_result $? "guest boots with a $QUEUES-queue-pair virtio-net on the relay's socket" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}

# 3: VIRTIO_NET_F_MQ -----------------------------------------------------
mq=$(guest_feature_bit $VIRTIO_NET_F_MQ)
ktap_diag "guest's VIRTIO_NET_F_MQ (bit $VIRTIO_NET_F_MQ): ${mq:-unknown}"
[ "$mq" = 1 ]
ktap_result $? "guest negotiated VIRTIO_NET_F_MQ"

# 4: ethtool -l shows QUEUES combined channels ----------------------------
wait_for_log "$GUEST_LOG" 'VXDP-RESULT channels|VXDP-FAIL' 30 "$QEMU_PID"
r=$(guest_result channels)
ktap_diag "guest ethtool -l eth0: ${r:-no result} (xps: the tx queues' CPU masks before the guest cleared them)"
[ "$(kv "$r" combined)" = "$QUEUES" ] && [ "$(kv "$r" max)" = "$QUEUES" ]
ktap_result $? "guest's ethtool -l eth0 shows $QUEUES combined channels (current and maximum)" || {
	grep -a 'VXDP-FAIL' "$GUEST_LOG" | tr -d '\r' | sed 's/^/# /'
	ktap_diag_file "$GUEST_LOG" 15 "guest console"
}

# 5: the relay started all 2 * QUEUES vrings -------------------------------
# relay_vrings_running - how many distinct "(rx|tx) queue N running" the
# relay logged for N < QUEUES.
relay_vrings_running()
{
	grep -Eo '(rx|tx) queue [0-9]+ running' "$RELAY_LOG" 2>/dev/null |
		awk -v q="$QUEUES" '$3 < q' | sort -u | wc -l
}
relay_vrings_ge() { [ "$(relay_vrings_running)" -ge "$1" ]; }
wait_for 15 relay_vrings_ge $((2 * QUEUES))
n=$(relay_vrings_running)
ktap_diag "relay: $n vrings running: $(grep -Eo '(rx|tx) queue [0-9]+ running' "$RELAY_LOG" |
	sort -u | sed 's/ running//' | paste -sd, -)"
[ "$n" -eq $((2 * QUEUES)) ]
ktap_result $? "relay started all $((2 * QUEUES)) vrings (rx and tx of queue pairs 0-$((QUEUES - 1)))" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# 6: the guest reaches the peer ---------------------------------------------
wait_for_log "$GUEST_LOG" 'VXDP-RESULT warmup|VXDP-FAIL' 30 "$QEMU_PID"
guest_check_warmup

# qstats NAME rx|tx - the guest's per-queue packet counters at NAME
# ("VXDP-QSTATS NAME rx=a,b,c,d tx=..."), comma-separated.
qstats()
{
	tr -d '\r' <"$GUEST_LOG" | sed -n "s/^.*VXDP-QSTATS $1 //p" | tail -n 1 |
		tr ' ' '\n' | sed -n "s/^$2=//p"
}

# qdelta RUN rx|tx - per-queue packets moved during RUN, comma-separated
# (empty when a snapshot is missing or their lengths differ).
qdelta()
{
	local a b

	a=$(qstats "$1.pre" "$2")
	b=$(qstats "$1.post" "$2")
	[ -n "$a" ] && [ -n "$b" ] || return 0
	awk -v a="$a" -v b="$b" 'BEGIN {
		n = split(a, x, ","); if (split(b, y, ",") != n) exit
		for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") (y[i] - x[i])
		print s }'
}

# queues_used DELTA - how many queues of a qdelta moved >= MIN_PKTS packets.
queues_used()
{
	awk -v d="$1" -v m="$MIN_PKTS" 'BEGIN {
		n = split(d, x, ","); for (i = 1; i <= n; i++) if (x[i] >= m) u++
		print u + 0 }'
}

# iperf_json FILE - from an iperf3 -J client's output: "mbps=X streams=N
# with_data=M error=..." (receiver side: the guest for a plain run, this
# client for -R).
iperf_json()
{
	perl -MJSON::PP -0777 -ne '
		my $d = eval { decode_json($_) } or do { print "mbps=0 streams=0 with_data=0 error=no-json\n"; exit };
		my @s = @{$d->{end}{streams} || []};
		my $with = grep { ($_->{receiver}{bytes} || 0) > 0 } @s;
		my $bps = $d->{end}{sum_received}{bits_per_second} || 0;
		my $err = $d->{error} // "none";
		$err =~ s/\s+/_/g;
		printf "mbps=%.1f streams=%d with_data=%d error=%s\n", $bps / 1e6, scalar @s, $with, $err;' "$1"
}

# iperf_run RUN DIR SECS FLOWS [CLIENT-ARGS...] - the peer's iperf3 client
# against the guest's server RUN; waits for the guest's counters after it.
# Sets IPERF_RES (iperf_json) and prints diagnostics. 0 when it completed
# with FLOWS streams that all carried data.
iperf_run()
{
	local run=$1 dir=$2 secs=$3 flows=$4 out=$TMPD/$1.json

	shift 4
	IPERF_RES=
	if [ "$CONNECTED" -ne 0 ]; then
		ktap_diag "$run: not run, the guest can't reach the peer"
		return 1
	fi
	if ! wait_for_log "$GUEST_LOG" "VXDP-IPERF-READY $run" $((IPERF_SERVER_TIMEOUT + 10)) "$QEMU_PID"; then
		ktap_diag "$run: guest server not ready"
		return 1
	fi
	ns_exec_peer timeout $((secs + 40)) iperf3 -c "$GUEST_IP" -t "$secs" \
		-P "$flows" -J --connect-timeout 10000 "$@" >"$out" 2>&1
	IPERF_RES=$(iperf_json "$out")
	wait_for_log "$GUEST_LOG" "VXDP-QSTATS $run.post" 20 "$QEMU_PID" ||
		ktap_diag "$run: no counters from the guest after the run"
	ktap_diag "iperf3 -P $flows $dir ($run, $secs s): $IPERF_RES"
	ktap_diag "  guest rx packets per queue: $(qdelta "$run" rx); tx: $(qdelta "$run" tx)"
	[ "$(kv "$IPERF_RES" error)" = none ] &&
		[ "$(kv "$IPERF_RES" streams)" = "$flows" ] &&
		[ "$(kv "$IPERF_RES" with_data)" = "$flows" ] &&
		awk -v v="$(kv "$IPERF_RES" mbps)" 'BEGIN { exit !(v + 0 > 0) }' && return 0
	grep -E '"error"' "$out" | head -n 3 | sed 's/^/# /'
	return 1
}

# 7-8: iperf3 -P 4 both ways ---------------------------------------------
iperf_run p4_rx "peer->guest" "$IPERF_TIME" 4
ktap_result $? "iperf3 -P 4 peer->guest completes, all 4 streams carry data"
iperf_run p4_tx "guest->peer" "$IPERF_TIME" 4 -R
ktap_result $? "iperf3 -P 4 guest->peer (-R) completes, all 4 streams carry data"

# 9-10: many flows spread over the queues --------------------------------
# many_check RUN DIR rx|tx CLIENT-ARGS... - MANY_FLOWS flows; the guest's
# DIR counters must show >= 3 of QUEUES queues (or all, below 4) carrying
# >= MIN_PKTS packets. Completion is required; a stream without data is
# only reported (32 TCP flows on a 1-CPU TCG guest).
many_check()
{
	local run=$1 dir=$2 side=$3 d used need=3 ok

	shift 3
	[ "$QUEUES" -lt 4 ] && need=$QUEUES
	iperf_run "$run" "$dir" "$MANY_TIME" "$MANY_FLOWS" "$@"
	[ "$(kv "$IPERF_RES" error)" = none ] &&
		awk -v v="$(kv "$IPERF_RES" mbps)" 'BEGIN { exit !(v + 0 > 0) }'
	ok=$?
	d=$(qdelta "$run" "$side")
	used=$(queues_used "$d")
	ktap_diag "$run: guest $side queues with >= $MIN_PKTS packets: $used of $QUEUES"
	[ "$ok" -eq 0 ] && [ "$used" -ge "$need" ]
	ktap_result $? "$MANY_FLOWS TCP flows $dir: iperf3 completes, >= $need of $QUEUES guest $side queues carry traffic"
}
many_check many_rx "peer->guest" rx
many_check many_tx "guest->peer" tx -R

wait_for_log "$GUEST_LOG" 'VXDP-IDLE' 30 "$QEMU_PID" ||
	ktap_diag "guest did not report VXDP-IDLE"
stats=$(relay_stats "$RELAY_NAME" 2>&1)
ktap_diag "vxdpctl stats $RELAY_NAME:"
ktap_diag "$stats"

# 11-12: clean shutdown ----------------------------------------------------
vxdp_stop "$RELAY_PID" TERM 15
ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC"
grep -E 'stopped:' "$RELAY_LOG" | tr -d '\r' | sed 's/^/# /'
[ "$VXDP_STOP_RC" -eq 0 ]
ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
