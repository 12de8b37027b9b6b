#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The failover scripts without a PF (no root needed): tools/scripts/vxdp-vf
# --dry-run prints the `ip link` commands it would run, one attribute each,
# in a safe order, and refuses bad input; tools/scripts/vxdp-libvirt-hook
# finds the failover standbys in a domain's XML and calls the agent's command
# for the libvirt operations it maps (--dry-run prints them). Their real runs
# against a PF are in test_netdevsim.sh.

. "$(dirname "$0")/../lib.sh"

VF=$VXDP_SRC/tools/scripts/vxdp-vf
HOOK=$VXDP_SRC/tools/scripts/vxdp-libvirt-hook
T=$(mktemp -d "/tmp/vxdp-scripts.$$.XXXXXX") || ktap_skip_all "cannot create a temp dir"
trap 'rm -rf "$T"' EXIT
PF=vxnopf$$		# no such interface: --dry-run prints everything

ktap_plan 13

# expect NAME WANT CMD...: CMD's stdout is exactly WANT
expect()
{
	local name=$1 want=$2 got

	shift 2
	got=$("$@" 2>"$T/err")
	if [ "$got" = "$want" ]; then
		ktap_ok "$name"
	else
		ktap_fail "$name"
		ktap_diag "got:" "$got" "want:" "$want" "stderr: $(cat "$T/err")"
	fi
}

expect "vxdp-vf passthrough: MAC first, then spoof-check, trust, link, one each" \
"ip link set dev $PF vf 3 mac 52:54:00:12:34:56
ip link set dev $PF vf 3 spoofchk on
ip link set dev $PF vf 3 trust off
ip link set dev $PF vf 3 state auto" \
	"$VF" --dry-run passthrough "$PF" 3 52:54:00:12:34:56
expect "vxdp-vf relay: spoof-check off, trust on, link auto" \
"ip link set dev $PF vf 0 spoofchk off
ip link set dev $PF vf 0 trust on
ip link set dev $PF vf 0 state auto" \
	"$VF" --dry-run relay "$PF" 0
expect "vxdp-vf hide: link disabled before the MAC is zeroed" \
"ip link set dev $PF vf 3 state disable
ip link set dev $PF vf 3 mac 00:00:00:00:00:00" \
	"$VF" --dry-run hide "$PF" 3
expect "vxdp-vf create: through zero, as the kernel wants" \
"echo 0 > /sys/class/net/$PF/device/sriov_numvfs
echo 4 > /sys/class/net/$PF/device/sriov_numvfs" \
	"$VF" --dry-run create "$PF" 4
expect "vxdp-vf teardown: no VFs" "echo 0 > /sys/class/net/$PF/device/sriov_numvfs" \
	"$VF" --dry-run teardown "$PF"
"$VF" --dry-run frobnicate "$PF" >/dev/null 2>&1
ktap_result $([ $? -eq 2 ]; echo $?) "vxdp-vf: an unknown command is a usage error (2)"
"$VF" --dry-run passthrough "$PF" 1 52:54:00:12:34:ZZ >/dev/null 2>"$T/err"
ktap_result $([ $? -eq 1 ] && grep -q "bad MAC" "$T/err"; echo $?) "vxdp-vf: a bad MAC is refused (1)"
"$VF" passthrough "$PF" 1 52:54:00:12:34:56 >/dev/null 2>"$T/err"
ktap_result $([ $? -eq 1 ] && grep -q "has no VF 1" "$T/err"; echo $?) \
	"vxdp-vf: for real, a PF it cannot read is an error"

cat >"$T/dom.xml" <<'XML'
<domain type='qemu'>
  <name>vm1</name>
  <devices>
    <interface type='vhostuser'>
      <mac address='52:54:00:12:34:56'/>
      <source type='unix' path='/run/vxdp/vm1.sock' mode='client'/>
      <model type='virtio'/>
      <teaming type='persistent'/>
      <alias name='ua-net0'/>
    </interface>
    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:12:34:56'/>
      <source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>
      <teaming type='transient' persistent='ua-net0'/>
    </interface>
    <interface type="vhostuser">
      <mac address="52:54:00:AB:CD:EF"/>
      <source type="unix" path="/run/vxdp/vm1b.sock" mode="client"/>
      <model type="virtio"/>
      <teaming type="persistent"/>
    </interface>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:00:99'/>
      <source type='unix' path='/run/vxdp/plain.sock' mode='client'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
XML

expect "hook: migrate begin: frontend-up for each failover standby (not the plain NIC, not the hostdev)" \
"vxdpctl failover event 52:54:00:12:34:56 frontend-up
vxdpctl failover event 52:54:00:ab:cd:ef frontend-up" \
	sh -c "'$HOOK' --dry-run vm1 migrate begin - <'$T/dom.xml'"
expect "hook: prepare begin: frontend-up" \
"vxdpctl failover event 52:54:00:12:34:56 frontend-up
vxdpctl failover event 52:54:00:ab:cd:ef frontend-up" \
	sh -c "VXDP_HOOK_DRY_RUN=1 '$HOOK' vm1 prepare begin - <'$T/dom.xml'"
expect "hook: release end: frontend-gone" \
"vxdpctl failover event 52:54:00:12:34:56 frontend-gone
vxdpctl failover event 52:54:00:ab:cd:ef frontend-gone" \
	sh -c "'$HOOK' --dry-run vm1 release end - <'$T/dom.xml'"
expect "hook: started begin: nothing the relay does not see itself" "" \
	sh -c "'$HOOK' --dry-run vm1 started begin - <'$T/dom.xml'"

# for real: the agent's command gets MAC and EVENT; its failure never fails the hook
cat >"$T/agent" <<AGENT
#!/bin/sh
echo "\$*" >>"$T/calls"
[ "\$1" = 52:54:00:ab:cd:ef ] && exit 3
exit 0
AGENT
chmod +x "$T/agent"
VXDP_FAILOVER_CMD="$T/agent" "$HOOK" vm1 stopped end - <"$T/dom.xml" 2>"$T/err"
rc=$?
ktap_result $([ "$rc" -eq 0 ] && [ "$(cat "$T/calls")" = "52:54:00:12:34:56 frontend-gone
52:54:00:ab:cd:ef frontend-gone" ] && grep -q "failed" "$T/err"; echo $?) \
	"hook: calls the agent per MAC; a failing agent is logged, the hook exits 0"
ktap_finish
