#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: live migration of a QEMU guest (TCG) whose virtio-net is
# served by vxdp-relay, from one relay to another, under traffic.
#
#   netns relay                                  netns peer
#   relay A --AF_XDP-- $VF   ====veth==== $PEER_IF   -+
#      | vhost-user                                   +- bridge $BR 192.0.2.1/24
#   source QEMU  ==migration==> destination QEMU     |
#      (guest 192.0.2.2)            | vhost-user      |
#   relay B --AF_XDP-- $VF_B ====veth==== $PEER_IF_B -+
#
# The guest (tools/dev/mkguest.sh "migrate") checks every byte of a numbered
# UDP stream the peer sends it (selftests/e2e/udpstream.py -> udpcheck.c,
# built here and appended to the initramfs); migrations are driven over QMP.
#
# Phase 1, A -> B: the guest also pings the peer every 0.1 s. The guest runs
# on and keeps answering on the destination, at most MAX_LOST_PINGS pings
# are lost, the stream arrives uncorrupted with at most a short gap.
#
# Phase 2, B -> A (a new QEMU on relay A): the guest holds eth0 down (NAPI
# off, rx buffers stay posted) across the migration while HOLD_COUNT
# datagrams, fewer than the rx buffers it keeps posted, trickle into them
# during the first RAM pass. Those buffers are written by the
# relay only, never touched by the guest until it reads them on the
# destination: only the source relay's dirty log gets them re-sent. Without
# it the guest reads stale memory: garbage its stack drops (seen: about a
# third of the held frames arriving) or older datagrams (another epoch:
# bad). So every one of them must arrive, intact. (Phase 1 cannot show that: a guest reading
# its buffers promptly dirties their pages itself, and QEMU marks the used
# ring dirty when it stops the rings.)
#
# Both relays must exit cleanly and without sanitizer reports.
#
# Knobs (environment): MIG_UDP_RATE (phase 1 datagrams/s, 400),
# MIG_HOLD_COUNT and MIG_HOLD_RATE (phase 2: 150 at 60/s, over ~2.5 s, the
# length of the first RAM pass; the guest keeps 224-256 rx buffers posted),
# MIG_HOLD_SECS (12), MIG_BANDWIDTH (migration
# bytes/s, 32 MiB: several dirty-log rounds), MAX_LOST_PINGS (10),
# MAX_GAP_SECS (3: longest phase 1 stream gap, in seconds of traffic),
# RELAY_BIN,
# VXDP_KEEP_TMP=1 (keep logs).

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3		# not a pyenv shim: the sender takes SIGUSR1
RATE=${MIG_UDP_RATE:-400}
HOLD_COUNT=${MIG_HOLD_COUNT:-150}
HOLD_RATE=${MIG_HOLD_RATE:-60}
HOLD_SECS=${MIG_HOLD_SECS:-12}
MIG_BANDWIDTH=${MIG_BANDWIDTH:-$((32 << 20))}
MAX_LOST_PINGS=${MAX_LOST_PINGS:-10}
MAX_GAP_SECS=${MAX_GAP_SECS:-3}
PING_INTERVAL=0.1
UDP_PORT=5000
UDP_TIMEOUT=400			# the guest checker's own bound
GUEST_MEM=256M
PRE_SECS=3			# stream window before migrating
POST_REPLIES=20			# destination ping replies before ending the stream
MIG_TIMEOUT=150

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
[ -x "$PY" ] || ktap_skip_all "$PY not installed"
command -v gcc >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libc.a ] ||
	ktap_skip_all "gcc with a static libc (libc6-dev) needed for the guest's checker"
command -v cpio >/dev/null || ktap_skip_all "cpio not installed"

ktap_plan 16

VF_B=${VF}b
PEER_IF_B=${PEER_IF}b
BR=vxbr$VXDP_ID
SOCK_A=$TMPD/vhost-a.sock
SOCK_B=$TMPD/vhost-b.sock
MIG_SOCK=$TMPD/migrate.sock
MIG_SOCK2=$TMPD/migrate-back.sock
STOP=$TMPD/stream1.stop
STOP2=$TMPD/stream2.stop

# mig_topo_setup - both VF stand-ins in the relay netns, their peers in one
# bridge in the peer netns, which holds the peer host's address.
mig_topo_setup()
{
	local pair vf pe

	netns_add "$NS_RELAY" "$NS_PEER" || return 1
	ip -n "$NS_PEER" link add name "$BR" type bridge stp_state 0 || return 1
	for pair in "$VF:$PEER_IF" "$VF_B:$PEER_IF_B"; do
		vf=${pair%%:*}
		pe=${pair#*:}
		ip link add "$vf" netns "$NS_RELAY" type veth \
			peer name "$pe" netns "$NS_PEER" || return 1
		VXDP_PINS+=("$vf")
		# complete checksums on the wire, as a NIC would (see topo_setup)
		ip netns exec "$NS_PEER" ethtool -K "$pe" tx off >/dev/null 2>&1
		ip -n "$NS_PEER" link set dev "$pe" master "$BR" up || return 1
		ip -n "$NS_RELAY" link set dev "$vf" up || return 1
	done
	ip netns exec "$NS_PEER" ethtool -K "$BR" tx off >/dev/null 2>&1
	ip -n "$NS_PEER" addr add "$PEER_IP/$PREFIX_LEN" dev "$BR" || return 1
	ip -n "$NS_PEER" link set dev "$BR" up
}

# mig_guest_prepare - the tiny guest's initramfs with the stream checker
# appended as a second cpio archive (the kernel unpacks both). Sets
# MIG_INITRD.
mig_guest_prepare()
{
	guest_prepare || return 1
	mkdir -p "$TMPD/overlay/bin" || return 1
	if ! gcc -static -O2 -Wall -Wextra -Werror -o "$TMPD/overlay/bin/vxdp-udpcheck" \
		"$VXDP_SELFTESTS/e2e/udpcheck.c" >"$TMPD/gcc.log" 2>&1; then
		ktap_diag_file "$TMPD/gcc.log" 20 "gcc udpcheck.c"
		return 1
	fi
	(cd "$TMPD/overlay" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$TMPD/overlay.cpio.gz" || return 1
	MIG_INITRD=$TMPD/initrd.img
	cat "$GUEST_INITRD" "$TMPD/overlay.cpio.gz" >"$MIG_INITRD"
}

# mig_qemu_start NAME SOCK [QEMU-ARGS...] - the test guest with its NIC on
# vhost-user socket SOCK, QMP on $TMPD/NAME.qmp, console in $TMPD/NAME.log,
# QEMU's output in $TMPD/NAME.qemu.out. Both ends of a migration must be
# configured alike; the destination adds -incoming. Sets MIG_PID.
# (vectors=0: QEMU 7.2 under TCG segfaults in vhost_net_start with MSI-X.)
mig_qemu_start()
{
	local name=$1 sock=$2

	shift 2
	: >"$TMPD/$name.log"
	vxdp_bg "$TMPD/$name.qemu.out" ip netns exec "$NS_RELAY" qemu-system-x86_64 \
		-machine pc -accel tcg -cpu max -smp 1 -m "$GUEST_MEM" \
		-object "memory-backend-memfd,id=mem,size=$GUEST_MEM,share=on" \
		-numa node,memdev=mem \
		-chardev "socket,id=chr0,path=$sock" \
		-netdev vhost-user,id=net0,chardev=chr0 \
		-device "virtio-net-pci,netdev=net0,vectors=0,mac=$GUEST_MAC" \
		-kernel "$GUEST_KERNEL" -initrd "$MIG_INITRD" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 ipv6.disable=1 vxdp.ip=$GUEST_IP/$PREFIX_LEN vxdp.peer=$PEER_IP vxdp.script=migrate vxdp.interval=$PING_INTERVAL vxdp.udp_port=$UDP_PORT vxdp.udp_timeout=$UDP_TIMEOUT" \
		-nodefaults -display none -serial "file:$TMPD/$name.log" -no-reboot \
		-qmp "unix:$TMPD/$name.qmp,server=on,wait=off" "$@"
	MIG_PID=$VXDP_LAST_PID
}

# qmp and json_get: selftests/lib.sh

# mig_migrate FROM URI - migrate the QEMU FROM (a mig_qemu_start NAME) to
# URI and await the end. Sets MIG_STATUS (completed, failed, refused, ...)
# and MIG_INFO (the last query-migrate). 0 when completed.
mig_migrate()
{
	local from=$1 uri=$2 out deadline

	qmp "$from" "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": $MIG_BANDWIDTH}}" >/dev/null
	MIG_STATUS=refused MIG_INFO=
	if ! out=$(qmp "$from" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$uri\"}}"); then
		ktap_diag "migrate refused: $out"
		return 1
	fi
	deadline=$((SECONDS + MIG_TIMEOUT))
	while [ "$SECONDS" -lt "$deadline" ]; do
		MIG_INFO=$(qmp "$from" '{"execute": "query-migrate"}')
		MIG_STATUS=$(json_get "$MIG_INFO" 'j["status"]')
		case $MIG_STATUS in
		completed|failed|cancelled|"") break ;;
		esac
		sleep 0.2
	done
	[ -n "$MIG_INFO" ] && ktap_diag "$(json_get "$MIG_INFO" '"migration %s: total %s ms, downtime %s ms, setup %s ms, %.1f MiB sent in %s dirty-log rounds" % (j["status"], j.get("total-time"), j.get("downtime"), j.get("setup-time"), j["ram"]["transferred"] / 1048576, j["ram"]["dirty-sync-count"])')"
	[ "$MIG_STATUS" = completed ]
}

# mig_result LOG NAME - the "VXDP-RESULT NAME k=v ..." line's k=v part.
mig_result()
{
	tr -d '\r' <"$1" | sed -n "s/^.*VXDP-RESULT $2 //p" | tail -n 1
}

# log_has FILE REGEX - FILE has a line matching REGEX (for wait_for).
log_has()
{
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# ping_replies LOG - the icmp seq numbers of the ping replies in a console log.
ping_replies()
{
	tr -d '\r' <"$1" | sed -n 's/.* bytes from .*seq=\([0-9]*\) .*/\1/p'
}

# gap_overlap GAPS FROM TO - datagrams of the gap list "a-b,c-d" in [FROM, TO).
gap_overlap()
{
	printf '%s\n' "$1" | tr ',' '\n' | awk -F- -v f="$2" -v t="$3" '
		$1 ~ /^[0-9]+$/ {
			a = $1 < f ? f : $1; b = $2 + 1 > t ? t : $2 + 1
			if (b > a) n += b - a
		}
		END { print n + 0 }'
}

relay_bin_check || ktap_abort "daemon not built"
mig_topo_setup || ktap_abort "cannot create the netns/veth/bridge topology"
mig_guest_prepare || ktap_abort "cannot build the guest initramfs and its checker"

# 1: two relays, one per VF stand-in ------------------------------------
relay_start "$TMPD/relay-a.log" --log-level 6 --relay "vf=$VF,socket=$SOCK_A,mac=$GUEST_MAC"
rc=$?
RELAY_A_PID=$RELAY_PID RELAY_A_LOG=$RELAY_LOG
if [ "$rc" -eq 0 ]; then
	relay_start "$TMPD/relay-b.log" --log-level 6 --relay "vf=$VF_B,socket=$SOCK_B,mac=$GUEST_MAC"
	rc=$?
fi
RELAY_B_PID=$RELAY_PID RELAY_B_LOG=$RELAY_LOG
ktap_result $rc "relays on $VF and $VF_B listen (ready:)" || ktap_abort "relays did not start"

# 2: the guest boots on the source --------------------------------------
mig_qemu_start src "$SOCK_A"
SRC_PID=$MIG_PID SRC_LOG=$TMPD/src.log
# The destination waits for the migration meanwhile; no vCPU runs there.
mig_qemu_start dst "$SOCK_B" -incoming "unix:$MIG_SOCK"
DST_PID=$MIG_PID DST_LOG=$TMPD/dst.log
wait_for_log "$SRC_LOG" 'VXDP-UDPCHECK-READY|VXDP-FAIL' "${GUEST_BOOT_TIMEOUT:-180}" "$SRC_PID"
r=$(mig_result "$SRC_LOG" warmup)
ktap_diag "source guest warmup: ${r:-no result}"
grep -q 'VXDP-UDPCHECK-READY' "$SRC_LOG" && [ "$(kv "$r" ok)" = 1 ]
ktap_result $? "guest boots on the source relay, reaches the peer, checker listening" || {
	ktap_diag_file "$TMPD/src.qemu.out" 10 "source qemu output"
	ktap_diag_file "$SRC_LOG" 20 "source console"
	ktap_diag_file "$RELAY_A_LOG" 20 "relay A log"
	ktap_abort "guest did not come up"
}

# 3: the destination is waiting, connected to relay B ------------------
wait_for_socket "$TMPD/dst.qmp" 30
st=$(qmp dst '{"execute": "query-status"}')
ktap_diag "destination: $st"
[ "$(json_get "$st" 'j["status"]')" = inmigrate ] &&
	grep -q 'frontend connected' "$RELAY_B_LOG"
ktap_result $? "destination QEMU waits for the migration, its NIC on relay B" ||
	ktap_diag_file "$TMPD/dst.qemu.out" 10 "destination qemu output"

# 4: migrate under traffic ----------------------------------------------
rm -f "$STOP"
vxdp_bg "$TMPD/stream1.log" ip netns exec "$NS_PEER" "$PY" \
	"$VXDP_SELFTESTS/e2e/udpstream.py" "$GUEST_IP" "$UDP_PORT" 1 "$RATE" "$STOP"
STREAM_PID=$VXDP_LAST_PID
sleep "$PRE_SECS"		# traffic window before the migration
kill -USR1 "$STREAM_PID"	# "mark": stream position at the start
t0=$(date +%s%N)
mig_migrate src "unix:$MIG_SOCK"
rc=$?
t1=$(date +%s%N)
kill -USR1 "$STREAM_PID"	# second mark: the switch
ktap_diag "wall clock from migrate to $MIG_STATUS: $(( (t1 - t0) / 1000000 )) ms"
ktap_result $rc "migration A -> B completes (query-migrate: completed)" || {
	ktap_diag "$MIG_INFO"
	ktap_diag_file "$TMPD/src.qemu.out" 10 "source qemu output"
	ktap_diag_file "$TMPD/dst.qemu.out" 10 "destination qemu output"
}

# 5: the source relay logged its writes -------------------------------
ktap_diag "relay A: $(grep -E 'dirty log' "$RELAY_A_LOG" | sed 's/^\[[^]]*\] //' | tr '\n' ';')"
grep -Eq 'dirty log: [0-9]+ bytes' "$RELAY_A_LOG" && grep -q 'dirty logging on' "$RELAY_A_LOG"
ktap_result $? "source relay got the dirty log (SET_LOG_BASE) and VHOST_F_LOG_ALL"

# 6: the guest runs on the destination, the source is done --------------
st_dst=$(qmp dst '{"execute": "query-status"}')
st_src=$(qmp src '{"execute": "query-status"}')
ktap_diag "destination: $st_dst; source: $st_src"
[ "$(json_get "$st_dst" 'j["status"]')" = running ] &&
	[ "$(json_get "$st_src" 'j["status"]')" = postmigrate ]
ktap_result $? "guest runs on the destination, source in postmigrate"
grep -q 'fails to broadcast fake RARP' "$TMPD/dst.qemu.out" &&
	ktap_diag "destination QEMU: no RARP announcement (relay does not offer VHOST_USER_PROTOCOL_F_RARP yet); the bridge learns from the guest's first frame"

# 7-8: the guest's pings, now answered through relay B -------------------
replies_ge() { [ "$(ping_replies "$DST_LOG" | wc -l)" -ge "$1" ]; }
wait_for 60 replies_ge "$POST_REPLIES"
dst_replies=$(ping_replies "$DST_LOG" | wc -l)
ktap_diag "ping replies on the source console: $(ping_replies "$SRC_LOG" | wc -l), on the destination's: $dst_replies"
[ "$dst_replies" -ge "$POST_REPLIES" ]
ktap_result $? "guest keeps pinging the peer on the destination (>= $POST_REPLIES replies)" || {
	ktap_diag_file "$DST_LOG" 20 "destination console"
	ktap_diag_file "$RELAY_B_LOG" 20 "relay B log"
}

# End the stream; the guest reports, then stops its ping.
touch "$STOP"
wait_for_log "$DST_LOG" 'VXDP-UDPCHECK-READY stream2' 60 "$DST_PID"
wait_for_exit "$STREAM_PID" 20
ktap_diag "sender: $(tr '\n' ' ' <"$TMPD/stream1.log")"
sum=$(tr -d '\r' <"$DST_LOG" | grep -E 'packets transmitted' | tail -n 1)
tx=$(printf '%s\n' "$sum" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
rx=$(printf '%s\n' "$sum" | sed -n 's/.*, \([0-9]*\) packets received.*/\1/p')
lost=$(( ${tx:-0} - ${rx:-0} ))
missing_seq=$( { ping_replies "$SRC_LOG"; ping_replies "$DST_LOG"; } | sort -n | awk '
	NR > 1 && $1 > p + 1 { printf "%s%d-%d", n++ ? "," : "", p + 1, $1 - 1 }
	{ p = $1 } END { print "" }')
ktap_diag "guest ping: ${tx:-?} sent, ${rx:-?} answered, $lost lost (seq gaps: ${missing_seq:-none}; interval $PING_INTERVAL s)"
[ -n "$tx" ] && [ -n "$rx" ] && [ "$lost" -le "$MAX_LOST_PINGS" ]
ktap_result $? "at most $MAX_LOST_PINGS pings lost across the migration ($lost)"

# 9-10: the stream, byte for byte --------------------------------------
r=$(mig_result "$DST_LOG" stream1)
ktap_diag "guest stream check: ${r:-no result}"
grep 'VXDP-UDPCHECK bad' "$DST_LOG" "$SRC_LOG" | head -n 3 | while read -r l; do ktap_diag "$l"; done
[ "$(kv "$r" end)" = 1 ] && [ "$(kv "$r" bad)" = 0 ] && [ "$(kv "$r" dup)" = 0 ]
ktap_result $? "every datagram the guest got is intact: no corrupted, no duplicate (relay-written data survives the migration)"

total=$(kv "$r" total)
missing=$(kv "$r" missing)
maxgap=$(kv "$r" maxgap)
marks=($(sed -n 's/^mark seq=//p' "$TMPD/stream1.log"))
if [ -n "$total" ] && [ "${#marks[@]}" -ge 2 ]; then
	during=$(( marks[1] - marks[0] ))
	after=$(( total - marks[1] ))
	ktap_diag "stream: $total sent at $RATE/s; during the migration $during, of which $(gap_overlap "$(kv "$r" gaps)" "${marks[0]}" "${marks[1]}") lost; after the switch $after, of which $(gap_overlap "$(kv "$r" gaps)" "${marks[1]}" "$total") lost; longest gap $maxgap datagrams ($(awk -v g="${maxgap:-0}" -v r="$RATE" 'BEGIN { printf "%.2f", g / r }') s)"
fi
[ -n "$maxgap" ] && [ "$maxgap" -le $((RATE * MAX_GAP_SECS)) ] &&
	[ "$(kv "$r" ok)" -gt 0 ] && [ -n "$after" ] &&
	[ "$(gap_overlap "$(kv "$r" gaps)" "${marks[1]}" "$total")" -lt "$after" ]
ktap_result $? "stream continues through the switch: longest gap <= $MAX_GAP_SECS s, datagrams arrive after it"

# 11-13: phase 2, back to relay A with the guest's rx held ------------
# Relay A serves one frontend at a time: the old source goes first.
vxdp_stop "$SRC_PID" TERM 15
wait_for 15 log_has "$RELAY_A_LOG" 'frontend disconnected'
mig_qemu_start back "$SOCK_A" -incoming "unix:$MIG_SOCK2"
BACK_PID=$MIG_PID BACK_LOG=$TMPD/back.log
wait_for_socket "$TMPD/back.qmp" 30
grep -q 'VXDP-UDPCHECK-READY stream2' "$DST_LOG" &&
	ip netns exec "$NS_PEER" "$PY" "$VXDP_SELFTESTS/e2e/udpstream.py" \
		"$GUEST_IP" "$UDP_PORT" 2 hold "$HOLD_SECS" &&
	wait_for_log "$DST_LOG" 'VXDP-UDPCHECK-HOLD stream2' 20 "$DST_PID"
held=$?
# The buffers fill while the first RAM pass copies the pages: start both.
rm -f "$STOP2"
vxdp_bg "$TMPD/stream2.log" ip netns exec "$NS_PEER" "$PY" \
	"$VXDP_SELFTESTS/e2e/udpstream.py" "$GUEST_IP" "$UDP_PORT" 2 "$HOLD_RATE" "$STOP2" "$HOLD_COUNT"
STREAM2_PID=$VXDP_LAST_PID
mig_migrate dst "unix:$MIG_SOCK2"
rc=$?
ktap_diag "relay B: $(grep -E 'dirty log' "$RELAY_B_LOG" | sed 's/^\[[^]]*\] //' | tr '\n' ';')"
[ "$held" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q 'dirty logging on' "$RELAY_B_LOG"
ktap_result $? "migration B -> A completes with the guest's rx held, relay B logging" || {
	ktap_diag "$MIG_INFO"
	ktap_diag_file "$TMPD/back.qemu.out" 10 "back qemu output"
}

wait_for_log "$BACK_LOG" 'VXDP-UDPCHECK-RELEASED stream2' $((HOLD_SECS + 60)) "$BACK_PID"
grep -q 'VXDP-UDPCHECK-HOLD stream2' "$DST_LOG" &&
	grep -q 'VXDP-UDPCHECK-RELEASED stream2' "$BACK_LOG"
ktap_result $? "the guest held rx from before the migration until after it (reads on relay A)" ||
	ktap_diag_file "$BACK_LOG" 10 "console on A again"
touch "$STOP2"			# END, now that the guest reads again
wait_for_log "$BACK_LOG" 'VXDP-MIGRATE-DONE' 60 "$BACK_PID"
wait_for_exit "$STREAM2_PID" 20
ktap_diag "sender: $(tr '\n' ' ' <"$TMPD/stream2.log")"
r=$(mig_result "$BACK_LOG" stream2)
ktap_diag "guest stream check: ${r:-no result}"
grep 'VXDP-UDPCHECK bad' "$BACK_LOG" | head -n 3 | while read -r l; do ktap_diag "$l"; done
[ "$(kv "$r" end)" = 1 ] && [ "$(kv "$r" total)" = "$HOLD_COUNT" ] &&
	[ "$(kv "$r" ok)" = "$HOLD_COUNT" ] && [ "$(kv "$r" bad)" = 0 ] &&
	[ "$(kv "$r" dup)" = 0 ]
ktap_result $? "all $HOLD_COUNT frames the relay wrote into unread buffers during the copy arrive intact ($(kv "$r" ok))"

# 14-16: clean shutdown --------------------------------------------------
vxdp_stop "$DST_PID" TERM 15
vxdp_stop "$BACK_PID" TERM 15
vxdp_stop "$RELAY_A_PID" TERM 15
rc_a=$VXDP_STOP_RC
vxdp_stop "$RELAY_B_PID" TERM 15
rc_b=$VXDP_STOP_RC
[ "$rc_a" -eq 0 ]
ktap_result $? "relay A exits 0 on SIGTERM ($rc_a)" || ktap_diag_file "$RELAY_A_LOG" 20 "relay A log"
[ "$rc_b" -eq 0 ]
ktap_result $? "relay B exits 0 on SIGTERM ($rc_b)" || ktap_diag_file "$RELAY_B_LOG" 20 "relay B log"
sanitizer_clean "$RELAY_A_LOG" && sanitizer_clean "$RELAY_B_LOG"
ktap_result $? "no sanitizer report in the relay logs"

ktap_finish
