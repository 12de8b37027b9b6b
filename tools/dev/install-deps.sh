#!/bin/sh
# Install the Debian packages vxdp-relay needs to build, test and demo;
# only what is missing, so a set-up machine pays one dpkg query.
set -eu

PKGS="make gcc pkg-config libc6-dev linux-libc-dev libbpf-dev libxdp-dev xdp-tools
liburing-dev libnl-3-dev libnl-route-3-dev libelf-dev zlib1g-dev clang llvm
bpftool iproute2 ethtool iputils-ping qemu-system-x86 linux-image-amd64
busybox-static cpio gzip iperf3 dpdk dpdk-dev perl util-linux libclang-rt-14-dev
valgrind"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
