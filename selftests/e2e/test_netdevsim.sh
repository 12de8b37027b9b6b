#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The failover agent's sriov backend and the `ip link` scripts against a real
# PF netlink API: netdevsim, built for the Debian guest kernel from
# linux-source-6.1 (tools/dev/mknetdevsim.sh, cached under build/), loaded in
# a TCG guest with 4 VFs. In the guest, vxdp-sriov-check (selftests/e2e/
# sriov_check.c, the backend linked statically) checks VF MAC / link state /
# spoof-check / trust round trips, partial application, EEXIST and the bare
# NEWLINK a VF change notifies; then tools/scripts/vxdp-vf is run for real:
# each command's effect, and that running it again changes nothing. The
# guest's results come back as "VXDP-TAP" console lines.
#
# Skips (4) only when QEMU or the kernel source/headers packages are missing.

. "$(dirname "$0")/../lib.sh"

NSIM_CHECKS=23		# vxdp-sriov-check's plan
SCRIPT_CHECKS=11

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v cpio >/dev/null || ktap_skip_all "cpio not installed"
SRIOV_CHECK=$BUILD/selftests/vxdp-sriov-check

PLAN=$((1 + NSIM_CHECKS + SCRIPT_CHECKS))
if ! guest_prepare; then
	ktap_plan $PLAN
	ktap_abort "cannot build the guest initramfs"
fi
KVER=${GUEST_KERNEL#/boot/vmlinuz-}
# one build for both `make check` passes (the sanitizer's too)
out=$("$VXDP_SRC/tools/dev/mknetdevsim.sh" "$KVER" "$VXDP_SRC/build/netdevsim" 2>"$TMPD/nsim.log")
rc=$?
[ "$rc" -eq 4 ] &&
	ktap_skip_all "linux-source-6.1 or linux-headers-$KVER not installed (make deps): $(tail -n 1 "$TMPD/nsim.log")"
ktap_plan $PLAN
[ "$rc" -eq 0 ] || { ktap_diag_file "$TMPD/nsim.log" 20 "mknetdevsim"; ktap_abort "netdevsim build failed"; }
[ -x "$SRIOV_CHECK" ] || ktap_abort "$SRIOV_CHECK not built (make)"
eval "$out"
netns_add "$NS_RELAY" || ktap_abort "cannot create netns"

# --- the overlay: modules, iproute2, the check program, the scripts --------
OV=$TMPD/overlay
mkdir -p "$OV/lib/modules" "$OV/bin" "$OV/vxdp"
cp "$NETDEVSIM_KO" "$OV/lib/modules/netdevsim.ko"
case $PSAMPLE_KO in
*.xz) xz -dc "$PSAMPLE_KO" >"$OV/lib/modules/psample.ko" ;;
*.zst) zstd -qdc "$PSAMPLE_KO" >"$OV/lib/modules/psample.ko" ;;
*) cp "$PSAMPLE_KO" "$OV/lib/modules/psample.ko" ;;
esac
overlay_add_bin "$OV" "$(command -v ip)" "$(command -v bridge)" ||
	ktap_abort "cannot copy iproute2 into the guest"
cp "$SRIOV_CHECK" "$OV/bin/vxdp-sriov-check"
cp "$VXDP_SRC/tools/scripts/vxdp-vf" "$OV/vxdp/vxdp-vf"

# The guest's side. check NAME CMD...: a VXDP-TAP line for CMD's success.
cat >"$OV/vxdp/run" <<'EOF'
#!/bin/sh
PATH=/usr/sbin:/sbin:/bin
# busybox's shell runs its own applets first: iproute2 by path
IP=/usr/sbin/ip
BRIDGE=/usr/sbin/bridge
export PATH IP BRIDGE
S=/vxdp/vxdp-vf
check() {
	n=$1
	shift
	if "$@"; then echo "VXDP-TAP ok - $n"; else echo "VXDP-TAP not ok - $n"; fi
}
insmod /lib/modules/psample.ko && insmod /lib/modules/netdevsim.ko ||
	{ echo "VXDP-FAIL insmod netdevsim"; exit 1; }
echo "1 2" >/sys/bus/netdevsim/new_device || { echo "VXDP-FAIL new_device"; exit 1; }
i=0
while [ "$(ls /sys/bus/netdevsim/devices/netdevsim1/net 2>/dev/null | wc -l)" -lt 2 ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && { echo "VXDP-FAIL no netdevsim ports"; exit 1; }
	sleep 0.1
done
set -- $(ls /sys/bus/netdevsim/devices/netdevsim1/net | sort)
PF=$1 RELAY=$2
$IP link set dev "$PF" up && $IP link set dev "$RELAY" up
echo "VXDP-INFO pf=$PF relay=$RELAY"

check "vxdp-vf create: 4 VFs on the PF" \
	sh -c "$S create $PF 4 >/dev/null && [ \$(cat /sys/class/net/$PF/device/sriov_numvfs) = 4 ]"
check "vxdp-vf create again: nothing to do" sh -c "[ -z \"\$($S --dry-run create $PF 4)\" ]"

/bin/vxdp-sriov-check "$PF" "$RELAY" 2>&1 | sed 's/^/VXDP-TAP /'

check "vxdp-vf passthrough: MAC, spoof-check on, trust off, link auto (ip link)" \
	sh -c "$S passthrough $PF 2 52:54:00:00:00:02 >/dev/null &&
	       $IP link show dev $PF | grep 'vf 2 ' | grep -q 'link/ether 52:54:00:00:00:02.*spoof checking on, link-state auto, trust off'"
check "vxdp-vf passthrough again: nothing to do" \
	sh -c "[ -z \"\$($S --dry-run passthrough $PF 2 52:54:00:00:00:02)\" ]"
$IP link set dev "$PF" vf 2 trust on
check "vxdp-vf passthrough after a change by hand: one command, for it alone" \
	sh -c "[ \"\$($S --dry-run passthrough $PF 2 52:54:00:00:00:02)\" = '$IP link set dev $PF vf 2 trust off' ]"
check "vxdp-vf relay: spoof-check off, trust on, link auto" \
	sh -c "$S relay $PF 0 >/dev/null && $IP link show dev $PF | grep 'vf 0 ' | grep -q 'spoof checking off, link-state auto, trust on'"
check "vxdp-vf relay again: nothing to do" sh -c "[ -z \"\$($S --dry-run relay $PF 0)\" ]"
check "vxdp-vf hide: link disable, MAC zeroed" \
	sh -c "$S hide $PF 2 >/dev/null && $IP link show dev $PF | grep 'vf 2 ' | grep -q 'link/ether 00:00:00:00:00:00.*link-state disable'"
check "vxdp-vf on a VF the PF lacks: fails" sh -c "! $S passthrough $PF 7 52:54:00:00:00:07 2>/dev/null"
check "vxdp-vf teardown: no VFs left" \
	sh -c "$S teardown $PF >/dev/null && [ \$(cat /sys/class/net/$PF/device/sriov_numvfs) = 0 ]"
check "vxdp-vf teardown again: nothing to do" sh -c "[ -z \"\$($S --dry-run teardown $PF)\" ]"
exit 0
EOF
chmod 755 "$OV/vxdp/run"

t0=$(date +%s)
guest_run_overlay "$OV" "$TMPD/guest.log" 90
rc=$?
ktap_result $rc "guest with netdevsim ran the checks ($(($(date +%s) - t0)) s)"
tr -d '\r' <"$TMPD/guest.log" | sed -n 's/^VXDP-INFO /# /p'
# the guest's results, renumbered as ours
n=0
while IFS= read -r line; do
	case $line in
	"VXDP-TAP #"*) echo "${line#VXDP-TAP }" ;;
	"VXDP-TAP ok"* | "VXDP-TAP not ok"*)
		n=$((n + 1))
		name=$(printf '%s\n' "$line" | sed 's/^VXDP-TAP \(not \)\{0,1\}ok [0-9]* *- //')
		case $line in
		"VXDP-TAP ok"*) ktap_ok "$name" ;;
		*) ktap_fail "$name" ;;
		esac
		;;
	esac
done < <(tr -d '\r' <"$TMPD/guest.log")
if [ "$n" -ne $((NSIM_CHECKS + SCRIPT_CHECKS)) ]; then
	ktap_diag "the guest reported $n results, not $((NSIM_CHECKS + SCRIPT_CHECKS))"
	ktap_diag_file "$TMPD/guest.log" 30 "guest console"
	ktap_abort "guest results missing"
fi
ktap_finish
