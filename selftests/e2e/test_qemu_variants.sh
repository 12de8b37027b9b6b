#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU guest with virtio-net features turned off that test_qemu_guest.sh
# leaves on: mergeable rx buffers (mrg_rxbuf=off: the guest posts big or
# small buffers and the relay must fit each frame in one chain, 10/12-byte
# header without num_buffers) and event index (event_idx=off: plain
# VRING_AVAIL_F_NO_INTERRUPT / VRING_USED_F_NO_NOTIFY suppression), each
# alone and both together.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#      | vhost-user socket
#   QEMU guest 192.0.2.2/24, -device virtio-net-pci,...,<variant>
#
# Per variant, a fresh relay (--log-level 6) and guest: the relay's
# "queue running: ..." lines and the guest's negotiated feature bits must
# show the feature off (and the other one still on); ping both ways with
# 64- and 1400-byte frames at 0% loss; the relay exits 0 on SIGTERM.
#
# Knobs: VARIANTS (space-separated virtio-net-pci property sets, default
# "mrg_rxbuf=off event_idx=off mrg_rxbuf=off,event_idx=off"), PING_COUNT (10).

. "$(dirname "$0")/../lib.sh"

VARIANTS=${VARIANTS:-mrg_rxbuf=off event_idx=off mrg_rxbuf=off,event_idx=off}
PING_COUNT=${PING_COUNT:-10}
PING_INTERVAL=0.1
# a guest ping run's deadline (nominal length + 5 s), as the guest computes it
PING_DEADLINE=$(awk -v c="$PING_COUNT" -v i="$PING_INTERVAL" 'BEGIN { printf "%d", c * i + 5.5 }')
# the relay's info line per started ring: "rx queue[ N] running: 256
# entries, split ring[, mrg_rxbuf][, event_idx][, indirect]"
RUNNING_RE='(rx|tx) queue( [0-9]+)? running:'
BIT_MRG_RXBUF=15	# VIRTIO_NET_F_MRG_RXBUF
BIT_EVENT_IDX=29	# VIRTIO_RING_F_EVENT_IDX

# TCG boots slow down a lot when the machine is busy: be generous, bounded
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-180}

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"

read -r -a variants <<<"$VARIANTS"
ktap_plan $((7 * ${#variants[@]}))

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock

# feature_check VARIANT - the relay's queue-running lines and the guest's
# feature bits agree that what VARIANT turns off is off, the rest on.
feature_check()
{
	local v=$1 lines n feat bit want ok=0 got

	lines=$(grep -E "$RUNNING_RE" "$RELAY_LOG")
	n=$(printf '%s\n' "$lines" | grep -Ec "$RUNNING_RE")
	printf '%s\n' "$lines" | sed 's/^/# relay: /'
	ktap_diag "guest features: bit $BIT_MRG_RXBUF (mrg_rxbuf)=$(guest_feature_bit $BIT_MRG_RXBUF)," \
		"bit $BIT_EVENT_IDX (event_idx)=$(guest_feature_bit $BIT_EVENT_IDX)"
	# both queues (rx, tx), split rings
	[ "$n" -ge 2 ] || { ktap_diag "expected an rx and a tx 'queue running' line, got $n"; ok=1; }
	for feat in mrg_rxbuf event_idx; do
		case ,$v, in
		*,$feat=off,*) want=0 ;;
		*) want=1 ;;
		esac
		[ "$feat" = mrg_rxbuf ] && bit=$BIT_MRG_RXBUF || bit=$BIT_EVENT_IDX
		got=$(guest_feature_bit "$bit")
		if [ "$got" != "$want" ]; then
			ktap_diag "guest: $feat negotiated=${got:-?}, expected $want"
			ok=1
		fi
		if [ "$want" = 0 ]; then
			printf '%s\n' "$lines" | grep -q "split ring.*, $feat" &&
				{ ktap_diag "relay still runs with $feat"; ok=1; }
		else
			[ "$n" -ge 2 ] && printf '%s\n' "$lines" | grep -v -q "split ring.*, $feat" &&
				{ ktap_diag "relay runs without $feat, which $v leaves on"; ok=1; }
		fi
	done
	printf '%s\n' "$lines" | grep -q 'packed ring' && { ktap_diag "expected split rings"; ok=1; }
	return $ok
}

# guest_ping_check VARIANT NAME FRAME-SIZE
guest_ping_check()
{
	local r

	r=$(guest_result "$2")
	ktap_diag "guest->peer $3-byte frames: ${r:-no result}"
	[ -n "$r" ] && [ "$(kv "$r" loss)" = "0%" ] && [ "$(kv "$r" rx)" = "$PING_COUNT" ]
	ktap_result $? "$1: guest->peer ping, $3-byte frames, 0% loss"
}

# peer_ping_check VARIANT DATA-SIZE FRAME-SIZE
peer_ping_check()
{
	peer_ping "$PING_COUNT" "$2" "$PING_INTERVAL"
	ktap_diag "peer->guest $3-byte frames: rx=${PING_RX:-?}/$PING_COUNT loss=${PING_LOSS:-?}%"
	ktap_result $? "$1: peer->guest ping, $3-byte frames, 0% loss" || ktap_diag "$PING_OUT"
}

for v in "${variants[@]}"; do
	tag=${v//[=,]/-}
	t0=$(date +%s%N)
	ktap_diag "--- variant: virtio-net-pci $v ---"

	# 1: relay and guest up
	rc=0
	relay_start "$TMPD/relay-$tag.log" --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC" --log-level 6 ||
		rc=1
	if [ "$rc" -eq 0 ]; then
		GUEST_NIC_OPTS=$v guest_boot "$SOCK" pingidle "$TMPD/guest-$tag.log" \
			"vxdp.count=$PING_COUNT vxdp.interval=$PING_INTERVAL" || rc=1
	fi
	ktap_result $rc "$v: relay up, guest boots on it" || {
		ktap_diag_file "$RELAY_LOG" 20 "relay log"
		for ((i = 1; i < 7; i++)); do ktap_fail "$v: not run (no guest)"; done
		[ -n "$RELAY_PID" ] && vxdp_stop "$RELAY_PID" TERM 15
		[ -n "$QEMU_PID" ] && vxdp_stop "$QEMU_PID" TERM 15
		continue
	}

	# 2: the feature really is off (the guest negotiated; the queues run)
	feature_check "$v"
	ktap_result $? "$v: relay's 'queue running' lines and the guest's features show it off" ||
		ktap_diag_file "$RELAY_LOG" 20 "relay log"

	# 3-4: guest -> peer (warmup, then the two runs; bounded)
	wait_for_log "$GUEST_LOG" 'VXDP-IDLE' $((10 + 2 * PING_DEADLINE + 60)) "$QEMU_PID"
	ktap_diag "guest warmup: $(guest_result warmup)"
	guest_ping_check "$v" ping64 64
	guest_ping_check "$v" ping1400 1400

	# 5-6: peer -> guest
	peer_ping_check "$v" 22 64
	peer_ping_check "$v" 1358 1400

	# 7: tear down; the relay exits cleanly
	vxdp_stop "$QEMU_PID" TERM 15
	vxdp_stop "$RELAY_PID" TERM 15
	[ "$VXDP_STOP_RC" -eq 0 ] && sanitizer_clean "$RELAY_LOG" &&
		! grep -q 'dropped: .*too big for guest [1-9]' "$RELAY_LOG"
	ktap_result $? "$v: relay exits 0, no frame too big for the guest's buffers, no sanitizer report" ||
		ktap_diag_file "$RELAY_LOG" 20 "relay log"
	grep -o 'stopped: .*' "$RELAY_LOG" | sed 's/^/# relay: /'
	ktap_diag "variant took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	RELAY_PID= QEMU_PID=
done

ktap_finish
