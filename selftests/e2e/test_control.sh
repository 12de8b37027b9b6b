#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runtime control: relays added and removed while another relay's guest keeps
# pinging, through the control socket (vxdpctl) and through the config file
# (SIGHUP); a broken file changes nothing and its line is named; per-queue
# counters and rates (vxdpctl stats --rate --json) during a paced stream; the
# drop reasons the test provokes are counted.
#
#   netns relay                                   netns peer
#   vxdp-relay --config FILE                      ping -> guest A
#     relay A --AF_XDP-- $VF      ====veth==== $PEER_IF 192.0.2.1
#       | QEMU guest A 192.0.2.2
#     relay B --AF_XDP-- vxm0v$$  ====veth==== vxm0p$$ 198.18.0.1
#       | dpdk-testpmd virtio-user, rxonly         <- vxdp-benchgen (RATE pps)
#
# Relay B comes and goes (vxdpctl add/del, then a [relay] section and
# SIGHUP); A's ping, one every 0.1 s for the whole test, must lose nothing.
#
# Knobs: RATE (10000 frames/s), RATE_SECS (2 s rate window).

. "$(dirname "$0")/../lib.sh"

RATE=${RATE:-10000}
RATE_SECS=${RATE_SECS:-2}
GEN_BIN=$BUILD/vxdp-benchgen
PREFIX=vxdpc$$			# testpmd --file-prefix

vxdp_init
command -v dpdk-testpmd >/dev/null || ktap_skip_all "dpdk-testpmd not installed (make deps)"
command -v qemu-system-x86_64 >/dev/null || ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
perl -MJSON::PP -e 1 2>/dev/null || ktap_skip_all "perl JSON::PP missing"
hugepages_ensure 256 ||
	ktap_skip_all "cannot reserve 256 free 2 MiB hugepages (or mount hugetlbfs) for DPDK"

ktap_plan 20

relay_bin_check || ktap_abort "daemon not built"
[ -x "$GEN_BIN" ] && [ -x "$VXDPCTL_BIN" ] || ktap_abort "vxdpctl or vxdp-benchgen not built (make)"
guest_prepare || ktap_abort "cannot build the guest initramfs"
topo_setup || ktap_abort "cannot create the netns/veth topology"
topo_add_vfs 1 || ktap_abort "cannot create the second veth pair"
VFB=${EXTRA_VFS[0]}
PEERB=${EXTRA_PEERS[0]}
B_IP=198.18.0.2
ip -n "$NS_PEER" addr add 198.18.0.1/24 dev "$PEERB"
ip -n "$NS_PEER" neigh replace "$B_IP" lladdr 52:54:00:00:0b:01 dev "$PEERB" nud permanent

CONF=$TMPD/vxdp.conf
RELAY_CTL=$TMPD/ctl.sock
cat >"$CONF" <<EOF
# test_control.sh
[daemon]
control = $RELAY_CTL

[relay $VF]
vf = $VF
socket = $TMPD/a.sock
EOF
cp "$CONF" "$TMPD/vxdp.conf.orig"

# jget JSON PERL-EXPR - a value out of vxdpctl's JSON ($d is the document)
jget()
{
	printf '%s\n' "$1" | J=$2 perl -MJSON::PP -e '
		my $d = eval { decode_json(scalar <STDIN>) } or exit;
		my $v = eval $ENV{J};
		print defined $v ? $v : "", "\n";'
}

# b_stat KEY - relay B's total counter KEY now
b_stat()
{
	jget "$(vxdpctl --json stats "$VFB" 2>/dev/null)" "\$d->{relays}[0]{total}{$1}"
}

b_stat_ge()
{
	local v

	v=$(b_stat "$1")
	[ "${v:-0}" -ge "$2" ]
}

relay_listed()
{
	vxdpctl list 2>/dev/null | grep -q "^$1 "
}

# hup_and_wait N - SIGHUP, await the Nth "reloaded"/"reload: " outcome line
hup_and_wait()
{
	kill -HUP "$RELAY_PID"
	wait_for 15 eval "[ \$(grep -Ec 'reloaded |reload: .*nothing changed' \"$RELAY_LOG\") -ge $1 ]"
}

# 1-2: daemon from a config file, its control socket ---------------------------
relay_start "$TMPD/relay.log" --config "$CONF"
ktap_result $? "daemon started from $CONF with relay A" || ktap_abort "daemon did not start"
perm=$(stat -c '%a %U' "$RELAY_CTL" 2>/dev/null)
hello=$(vxdpctl hello 2>&1)
[ "$perm" = "660 root" ] && [[ $hello == *"protocol 1"*"1 relays"* ]]
ktap_result $? "control socket $perm; hello: $hello"

# 3: guest A up, pinging from the peer for the whole test -----------------------
guest_boot "$TMPD/a.sock" idle "$TMPD/guest-a.log"
ktap_result $? "guest A boots behind relay A" || ktap_abort "no guest"
peer_ping_bg "$TMPD/ping.log"
wait_for 20 eval '[ -e "$TMPD/ping.log" ] && [ "$(ping_log_replies "$TMPD/ping.log")" -ge 3 ]' ||
	ktap_diag "guest A does not answer pings yet"

# 4-5: vxdpctl add: relay B comes up next to A and carries traffic --------------
out=$(vxdpctl add "vf=$VFB,socket=$TMPD/b.sock" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && relay_listed "$VF" && relay_listed "$VFB" && [ -S "$TMPD/b.sock" ] &&
	xdp_attached "$NS_RELAY" "$VFB"
ktap_result $? "vxdpctl add: relay B runs beside A ($out)" || ktap_diag_file "$RELAY_LOG" 10 "relay log"
# 1 KiB buffers without mergeable buffers: a 1242-byte frame cannot fit
TESTPMD_VDEV_OPTS=mrg_rxbuf=0 testpmd_start "$TMPD/rxonly.log" "$PREFIX" "$TMPD/b.sock" \
	--forward-mode=rxonly --mbuf-size=1152 --max-pkt-len=1000 ||
	ktap_diag "testpmd did not start on relay B"
vxdp_bg "$TMPD/gen.log" ip netns exec "$NS_PEER" "$GEN_BIN" pkt "$PEERB" \
	--size 64 --dst 52:54:00:00:0b:01 --rate "$RATE" --seconds 40
GEN_PID=$VXDP_LAST_PID
wait_for 10 testpmd_rx_ge "$TMPD/rxonly.log" 2000
ktap_result $? "relay B's guest (virtio-user) receives the stream ($(testpmd_rx "$TMPD/rxonly.log") frames so far)"

# 6-7: stats --rate --json: the stream's rate within 5% ------------------------
# A window off the rate is measured once more (the stream runs 40 s) and
# the second one checked: a wait of the machine's own can stall the
# generator or the guest for part of one window; a wrong rate is wrong in
# both.
rate_ok() { awk -v p="${pps:-0}" -v r="$RATE" 'BEGIN { exit !(p >= 0.95 * r && p <= 1.05 * r) }'; }
for try in 1 2; do
	rate_json=$(vxdpctl stats "$VFB" --rate --interval "$RATE_SECS" --json 2>&1)
	pps=$(jget "$rate_json" '$d->{relays}[0]{total}{to_guest_pps}')
	cpu=$(jget "$rate_json" 'join(" ", map { "$_->{id}:$_->{cpu_percent}%" } @{$d->{workers}})')
	ktap_diag "vxdpctl stats --rate over ${RATE_SECS} s: to guest ${pps:-?} pps (stream $RATE pps), worker CPU $cpu"
	rate_ok && break
	[ "$try" -eq 1 ] && ktap_diag "rate off by more than 5% once: the window once more"
done
rate_ok
ktap_result $? "stats --rate --json: to-guest rate within 5% of $RATE pps" ||
	ktap_diag "$rate_json"
[ -n "$(jget "$rate_json" '$d->{workers}[0]{cpu_percent}')" ] &&
	[ -n "$(jget "$rate_json" 'exists $d->{relays}[0]{total}{drops_per_s}{drop_no_buffer} ? 1 : ""')" ]
ktap_result $? "--rate reports drops per second per reason and CPU per worker"

# 8: too big for the guest's buffers -------------------------------------------
big0=$(b_stat drop_too_big)
ip netns exec "$NS_PEER" ping -c 20 -i 0.01 -s 1200 -W 1 -q "$B_IP" >/dev/null 2>&1
wait_for 5 b_stat_ge drop_too_big $((${big0:-0} + 20))
ktap_result $? "20 frames larger than the guest's buffers: drop_too_big ${big0:-?} -> $(b_stat drop_too_big)"

# 9: no guest buffer: the guest stops taking frames -----------------------------
nb0=$(b_stat drop_no_buffer)
kill -STOP "$TESTPMD_PID"
wait_for 10 b_stat_ge drop_no_buffer $((${nb0:-0} + 1000))
ktap_result $? "guest paused: drop_no_buffer ${nb0:-?} -> $(b_stat drop_no_buffer) (kernel: rx ring full $(b_stat xsk_rx_ring_full), rx dropped $(b_stat xsk_rx_dropped))"
kill -CONT "$TESTPMD_PID"
kill "$GEN_PID" 2>/dev/null
testpmd_stop "$TMPD/rxonly.log" "$PREFIX"

# 10: vxdpctl del -----------------------------------------------------------------
out=$(vxdpctl del "$VFB" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && ! relay_listed "$VFB" && relay_listed "$VF" && [ ! -e "$TMPD/b.sock" ] &&
	! xdp_attached "$NS_RELAY" "$VFB" && [ ! -e "$VXDP_PIN_ROOT/$VFB" ]
ktap_result $? "vxdpctl del: relay B gone (socket, XDP, pins), A still listed ($out)"
out=$(vxdpctl del "$VFB" 2>&1)
[ $? -ne 0 ] && [[ $out == *"no relay named '$VFB'"* ]]
ktap_result $? "vxdpctl del of a relay that is not there: an error naming it ($out)"

# 12-14: SIGHUP adds relay B from the file, and it carries traffic -------------
cat >>"$CONF" <<EOF

[relay $VFB]
vf = $VFB
socket = $TMPD/b2.sock
EOF
hup_and_wait 1
relay_listed "$VFB" && [ -S "$TMPD/b2.sock" ] && grep -q "reloaded $CONF: 1 relay added, 0 removed" "$RELAY_LOG"
ktap_result $? "SIGHUP: the new [relay] section is running" || ktap_diag_file "$RELAY_LOG" 8 "relay log"
[ "$(grep -c "relay $VF: worker" "$RELAY_LOG")" -eq 1 ]
ktap_result $? "SIGHUP left relay A alone (opened once)"
if testpmd_start "$TMPD/rxonly2.log" "$PREFIX" "$TMPD/b2.sock" --forward-mode=rxonly; then
	ip netns exec "$NS_PEER" ping -c 50 -i 0.01 -W 1 -q "$B_IP" >/dev/null 2>&1
	wait_for 5 testpmd_rx_ge "$TMPD/rxonly2.log" 50
	ktap_result $? "the reloaded relay B carries frames to its guest ($(testpmd_rx "$TMPD/rxonly2.log"))"
	testpmd_stop "$TMPD/rxonly2.log" "$PREFIX"
else
	ktap_fail "the reloaded relay B carries frames to its guest (testpmd did not start)"
fi

# 15: SIGHUP with the section gone removes it ----------------------------------
cp "$TMPD/vxdp.conf.orig" "$CONF"
hup_and_wait 2
! relay_listed "$VFB" && relay_listed "$VF" && [ ! -e "$TMPD/b2.sock" ] && ! xdp_attached "$NS_RELAY" "$VFB"
ktap_result $? "SIGHUP: the removed section's relay is gone, A runs"

# 16-17: a broken file changes nothing and names its line ------------------------
printf '\n[relay %s]\nvf = %s\nsocket = %s\nqueues = many\n' "$VFB" "$VFB" "$TMPD/b3.sock" >>"$CONF"
badline=$(grep -n '^queues = many' "$CONF" | cut -d: -f1)
hup_and_wait 3
grep -q "reload: $CONF:$badline: key 'queues': queues=many" "$RELAY_LOG" && grep -q 'nothing changed' "$RELAY_LOG"
ktap_result $? "broken file: the log names $CONF:$badline and the key" || ktap_diag_file "$RELAY_LOG" 5 "relay log"
! relay_listed "$VFB" && relay_listed "$VF" && proc_alive "$RELAY_PID"
ktap_result $? "broken file: the running relays are left as they were"

# 18: A's ping lost nothing --------------------------------------------------------
# Every echo request up to the last one answered got its reply (-O's "no
# answer yet" only means later than the 0.1 s interval: a TCG guest on a busy
# host); only the one in flight when ping is stopped may lack one.
sleep 1		# one more ping interval after the last change
kill -INT "$PEER_PING_PID" 2>/dev/null
wait_for_exit "$PEER_PING_PID" 5
read -r nrep maxseq < <(tr -d '\r' <"$TMPD/ping.log" |
	sed -n 's/.* bytes from .*icmp_seq=\([0-9]*\) .*/\1/p' | sort -un |
	awk '{ n++; m = $1 } END { print n + 0, m + 0 }')
sent=$(tr -d '\r' <"$TMPD/ping.log" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
ktap_diag "guest A's ping: $sent sent, $nrep answered (seq 1..$maxseq), $(ping_log_misses "$TMPD/ping.log") answered late"
[ "$nrep" -ge 50 ] && [ "$nrep" -eq "$maxseq" ] && [ "${sent:-0}" -le $((maxseq + 1)) ]
ktap_result $? "relay A's guest answered every ping while B came and went"

# 19-20: clean exit ------------------------------------------------------------------
vxdp_stop "$RELAY_PID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ] && [ ! -e "$RELAY_CTL" ]
ktap_result $? "SIGTERM: exit 0, control socket removed" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
sanitizer_clean "$RELAY_LOG"
ktap_result $? "no sanitizer report in the relay log" || ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
