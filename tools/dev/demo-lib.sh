# SPDX-License-Identifier: GPL-2.0
# What the demos (demo.sh, demo-failover.sh) share: selftests/lib.sh, their
# output helpers, and the checks before anything is created. Sourced with
# DEMO set to the demo's name.

. "$(dirname "${BASH_SOURCE[0]}")/../../selftests/lib.sh"

say() { printf '\n== %s\n' "$*"; }
indent() { sed 's/^/   /'; }
die() {
	echo "$DEMO: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, XDP)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: make deps"
[ -x "$RELAY_BIN" ] || die "$RELAY_BIN missing: make"
vxdp_init >/dev/null
