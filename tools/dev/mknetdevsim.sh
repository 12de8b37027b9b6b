#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tools/dev/mknetdevsim.sh - build netdevsim.ko for the test guest's Debian
# kernel: Debian's 6.1 kernel does not ship netdevsim, but it builds out of
# tree from linux-source-6.1 against the matching linux-headers in seconds.
# It gives a guest a PF with VFs (sriov_numvfs) and the VF netlink API.
#
#   tools/dev/mknetdevsim.sh KVER [OUTDIR]	(default: build/netdevsim)
#
# Prints, for `eval`:
#   NETDEVSIM_KO=OUTDIR/KVER-<key>/netdevsim.ko
#   PSAMPLE_KO=/lib/modules/KVER/.../psample.ko[.xz]	(netdevsim needs it)
#
# Cached: <key> hashes this script, the source package's version and the
# headers', so the module builds once. Exit 4 when the source or headers
# package is not installed (make deps installs both).
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
KVER=${1:?usage: mknetdevsim.sh KVER [OUTDIR]}
OUT=${2:-$SRC/build/netdevsim}
TARBALL=/usr/src/linux-source-6.1.tar.xz
HEADERS=/usr/src/linux-headers-$KVER

die() { echo "mknetdevsim: $*" >&2; exit 1; }
missing() { echo "mknetdevsim: $*" >&2; exit 4; }

[ -r "$TARBALL" ] || missing "$TARBALL missing (apt-get install linux-source-6.1)"
[ -d "$HEADERS" ] || missing "$HEADERS missing (apt-get install linux-headers-$KVER)"
PSAMPLE=$(find "/lib/modules/$KVER/kernel/net/psample" -name 'psample.ko*' 2>/dev/null | head -n 1)
[ -n "$PSAMPLE" ] || die "psample.ko not found under /lib/modules/$KVER"

KEY=$({
	cat "$0"
	echo "$KVER"
	dpkg-query -W -f='${Version}\n' linux-source-6.1 "linux-headers-$KVER" 2>/dev/null || true
} | sha256sum | cut -c1-16)
DIR=$OUT/$KVER-$KEY

if [ ! -s "$DIR/netdevsim.ko" ]; then
	mkdir -p "$OUT"
	STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT INT TERM
	# only the driver's folder out of the 130 MB tarball
	tar -xJf "$TARBALL" -C "$STAGE" --strip-components=3 \
		--wildcards 'linux-source-6.1/drivers/net/netdevsim/*' ||
		die "cannot extract drivers/net/netdevsim from $TARBALL"
	make -s -C "$HEADERS" M="$STAGE/netdevsim" CONFIG_NETDEVSIM=m modules >"$STAGE/build.log" 2>&1 ||
		{ tail -n 20 "$STAGE/build.log" >&2; die "netdevsim build failed"; }
	rm -rf "$OUT"/"$KVER"-*
	mkdir -p "$DIR"
	cp "$STAGE/netdevsim/netdevsim.ko" "$DIR/netdevsim.ko"
	rm -rf "$STAGE"
	trap - EXIT INT TERM
	echo "mknetdevsim: built $DIR/netdevsim.ko" >&2
fi

echo "NETDEVSIM_KO=$DIR/netdevsim.ko"
echo "PSAMPLE_KO=$PSAMPLE"
