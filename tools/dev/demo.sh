#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/demo.sh (`make demo`) - show vxdp-relay carrying a VM's traffic:
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- VF (veth) ========= veth 192.0.2.1/24
#      | vhost-user
#   QEMU guest (TCG, tiny initramfs) eth0 192.0.2.2/24: ping 192.0.2.1
#
# Everything lives in namespaces created here and is removed on exit, also
# on failure or ^C. Exits non-zero when the guest's pings did not get through.
# Needs root, qemu-system-x86_64 and a built tree (`make`).

DEMO=demo
. "$(dirname "$0")/demo-lib.sh"

COUNT=${COUNT:-5}

say "Topology"
topo_setup || die "cannot create the namespaces and the veth pair"
echo "   netns $NS_RELAY: $VF (the VF stand-in, no address; the relay attaches here)"
echo "   netns $NS_PEER:  $PEER_IF $PEER_IP/$PREFIX_LEN (the far end of the wire)"

say "Starting the relay"
SOCK=$TMPD/vhost.sock
echo "   $RELAY_BIN --relay vf=$VF,socket=$SOCK"
relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$SOCK" || die "the relay did not start"
grep 'ready:' "$RELAY_LOG" | indent

say "Booting the guest (QEMU TCG, virtio-net over vhost-user)"
guest_prepare || die "cannot build the guest initramfs (tools/dev/mkguest.sh)"
echo "   kernel $GUEST_KERNEL"
echo "   initrd $GUEST_INITRD"
guest_boot "$SOCK" ping "$TMPD/guest.log" "vxdp.count=$COUNT vxdp.interval=0.2" ||
	die "the guest did not come up"
tr -d '\r' <"$GUEST_LOG" | sed -n 's/^.*VXDP-READY /   guest up: /p'

say "Guest pings the peer through the relay"
wait_for_log "$GUEST_LOG" 'VXDP-DONE' 90 "$QEMU_PID" ||
	echo "   (the guest did not finish its pings in time)"
ok=1
for run in ping64 ping1400; do
	tr -d '\r' <"$GUEST_LOG" | sed -n "/VXDP-BEGIN $run/,/VXDP-END $run/p" |
		grep -v '^VXDP-' | indent
	r=$(guest_result "$run")
	[ "$(kv "$r" loss)" = "0%" ] || ok=0
done

say "Relay counters (vxdpctl stats $RELAY_NAME)"
relay_stats "$RELAY_NAME" 2>&1 | indent

say "Relay log (last lines)"
tail -n 15 "$RELAY_LOG" | indent

say "Cleaning up"
vxdp_stop "$RELAY_PID" TERM 15
echo "   relay exited with status $VXDP_STOP_RC"
if [ "$ok" -eq 1 ]; then
	echo "   demo OK: the guest reached $PEER_IP with no loss"
	exit 0
fi
echo "   demo FAILED: pings from the guest were lost"
exit 1
