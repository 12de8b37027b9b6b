#!/bin/sh
# Install the Debian packages vxdp-relay needs to build, test and demo;
# only what is missing, so a set-up machine pays one dpkg query.
set -eu

PKGS="make gcc pkg-config libc6-dev linux-libc-dev libbpf-dev libxdp-dev xdp-tools
liburing-dev libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libelf-dev zlib1g-dev clang llvm
bpftool iproute2 ethtool iputils-ping qemu-system-x86 linux-image-amd64
busybox-static cpio gzip iperf3 dpdk dpdk-dev perl util-linux libclang-rt-14-dev
valgrind libjson-c-dev libvirt-daemon-system libvirt-clients libsystemd-dev
systemd groff-base man-db"

# For the netdevsim test's module (tools/dev/mknetdevsim.sh): the kernel
# source and the headers of the guest kernel (the newest 6.1 image with its
# modules, as tools/dev/mkguest.sh picks it). Best effort: a machine whose
# archive lacks them skips that one test.
guest_kver() {
	k=
	for f in $(ls /boot/vmlinuz-6.1.* 2>/dev/null | sort -V); do
		v=${f#/boot/vmlinuz-}
		[ -d "/lib/modules/$v/kernel" ] && k=$v
	done
	echo "$k"
}

is_installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q "install ok installed"
}

optional_pkgs() {
	kver=$(guest_kver)
	for p in linux-source-6.1 ${kver:+linux-headers-$kver}; do
		is_installed "$p" || echo "$p"
	done
}

install_optional() {
	opt=$(optional_pkgs)
	[ -z "$opt" ] && return 0
	echo "install-deps: installing $opt (for the netdevsim test)"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $opt ||
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $opt; } ||
		echo "install-deps: could not install $opt; test_netdevsim.sh will skip" >&2
}

missing=""
for p in $PKGS; do
	is_installed "$p" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ -z "$(optional_pkgs)" ] && exit 0
	[ "$(id -u)" = 0 ] || exit 0
	export DEBIAN_FRONTEND=noninteractive
	install_optional || true
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
# the guest kernel is known only once linux-image-amd64 is in
install_optional || true
