#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A client-mode relay under a real libvirtd: three `virsh destroy` /
# `virsh create` cycles in a row, and the relay serves each new QEMU.
# libvirt's destroy (SIGTERM first) has QEMU close the vhost-user connection
# a moment before its listening socket; a relay reconnecting at once landed
# in the exiting QEMU's backlog, and kept that dead connection (issue 9: 6
# of 11 cycles), so the next `virsh create` waited for the relay for ever.
#
#   libvirtd (our own, in a private mount namespace: /run/libvirt,
#   /var/lib/libvirt, /etc/libvirt, ... from $TMPD, nothing shared)
#     -> QEMU (paused, no guest; interface type='vhostuser' mode='server')
#   vxdp-relay --relay vf=...,socket=SOCK,mode=client (debug log: the
#     handshake of each QEMU is seen as its GET_PROTOCOL_FEATURES)
#
# Knobs: CYCLES (3), VXDP_KEEP_TMP=1.

. "$(dirname "$0")/../lib.sh"

CYCLES=${CYCLES:-3}

vxdp_init
for b in libvirtd virsh qemu-system-x86_64 unshare nsenter; do
	command -v "$b" >/dev/null || ktap_skip_all "$b not installed (make deps)"
done
id libvirt-qemu >/dev/null 2>&1 || ktap_skip_all "no libvirt-qemu user (libvirt-daemon-system, make deps)"

ktap_plan $((CYCLES + 3))

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"

# libvirtd of our own: its state in $TMPD, bind-mounted where it looks
LV=$TMPD/libvirt
DOM=vxdp-lv$VXDP_ID
mkdir -p "$LV"/{run,lib/qemu,log/qemu,cache,etc} /run/libvirt || ktap_abort "mkdir"
cp -a /etc/libvirt/. "$LV/etc/"
# no cgroups and no virtlogd: nothing outside our namespace is touched
cat >"$LV/etc/qemu.conf" <<EOC
cgroup_controllers = [ ]
stdio_handler = "file"
EOC
# QEMU runs as libvirt-qemu and creates the socket (client-mode relay)
chmod 711 "$TMPD"
SOCKDIR=$TMPD/sock
mkdir -p "$SOCKDIR" && chown libvirt-qemu "$SOCKDIR"
SOCK=$SOCKDIR/vhost.sock

vxdp_bg "$LV/libvirtd.out" unshare -m --propagation private sh -c "
	mount --bind '$LV/run' /run/libvirt &&
	mount --bind '$LV/lib' /var/lib/libvirt &&
	mount --bind '$LV/log' /var/log/libvirt &&
	mount --bind '$LV/cache' /var/cache/libvirt &&
	mount --bind '$LV/etc' /etc/libvirt &&
	exec libvirtd"
LVPID=$VXDP_LAST_PID
# the domain's QEMU is libvirtd's child, outside our namespaces
vxdp_on_cleanup "[ -r '$LV/run/qemu/$DOM.pid' ] && kill -KILL \$(cat '$LV/run/qemu/$DOM.pid')"

lv() { nsenter -t "$LVPID" -m -- virsh -q -c qemu:///system "$@"; }

lv_ready() { proc_alive "$LVPID" && lv version >/dev/null 2>&1; }
wait_for 60 lv_ready
ktap_result $? "libvirtd runs (our own instance)" || {
	ktap_diag_file "$LV/libvirtd.out" 20 "libvirtd"
	ktap_abort "libvirtd did not come up"
}

cat >"$LV/dom.xml" <<EOD
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <memory unit='MiB'>128</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>1</vcpu>
  <cpu><numa><cell id='0' cpus='0' memory='128' unit='MiB' memAccess='shared'/></numa></cpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <interface type='vhostuser'>
      <alias name='ua-net0'/>
      <mac address='$GUEST_MAC'/>
      <source type='unix' path='$SOCK' mode='server'/>
      <model type='virtio'/>
    </interface>
  </devices>
  <qemu:override>
    <qemu:device alias='ua-net0'>
      <qemu:frontend><qemu:property name='vectors' type='unsigned' value='0'/></qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
EOD

relay_start "$TMPD/relay.log" --log-level 7 --relay "vf=$VF,socket=$SOCK,mode=client"
ktap_result $? "client-mode relay starts, QEMU not there yet" || ktap_abort "relay did not start"
DPID=$RELAY_PID

# lv_cycle N - virsh create, await the relay's handshake with that QEMU,
# virsh destroy
lv_cycle()
{
	local n0 t0 rc

	n0=$(wc -l <"$RELAY_LOG")
	t0=$(now_epoch)
	# libvirt has QEMU wait (server=on) for the relay before it starts:
	# a relay that does not come leaves `virsh create` hanging
	timeout 30 nsenter -t "$LVPID" -m -- virsh -q -c qemu:///system \
		create "$LV/dom.xml" --paused >"$LV/create$1.out" 2>&1 || {
		ktap_diag_file "$LV/create$1.out" 5 "virsh create"
		ktap_diag_file "$LV/log/qemu/$DOM.log" 10 "qemu log"
		REACHED_S=$(awk -v a="$t0" -v b="$(now_epoch)" 'BEGIN { printf "%.2f", b - a }')
		lv destroy "$DOM" >/dev/null 2>&1
		return 1
	}
	wait_for 15 eval 'log_since "$RELAY_LOG" '"$n0"' | grep -q "GET_PROTOCOL_FEATURES"'
	rc=$?
	REACHED_S=$(awk -v a="$t0" -v b="$(now_epoch)" 'BEGIN { printf "%.2f", b - a }')
	lv destroy "$DOM" >/dev/null 2>&1
	return $rc
}

for ((i = 1; i <= CYCLES; i++)); do
	lv_cycle "$i"
	ktap_result $? "virsh create #$i: the relay serves the new QEMU (${REACHED_S} s), then virsh destroy" ||
		{ ktap_diag_file "$RELAY_LOG" 8 "relay log"; }
done

vxdp_stop "$DPID" TERM 15
[ "$VXDP_STOP_RC" -eq 0 ] && sanitizer_clean "$RELAY_LOG"
ktap_result $? "relay exits 0 on SIGTERM, no sanitizer report"
vxdp_stop "$LVPID" TERM 10

ktap_finish
