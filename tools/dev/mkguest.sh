#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tools/dev/mkguest.sh - build the tiny test guest's initramfs from Debian's files.
#
#   tools/dev/mkguest.sh [OUTDIR]		(default: build/guest)
#
# Prints, for `eval`:
#   GUEST_KERNEL=/boot/vmlinuz-6.1.0-N-amd64
#   GUEST_INITRD=OUTDIR/initramfs-<key>.cpio.gz
#
# The initramfs holds busybox-static, the guest kernel's virtio/virtio_net
# modules, iperf3 and (when the host has it) ethtool with the shared libraries
# ldd lists (and the dynamic loader), and an /init that brings up eth0 and
# runs a scenario chosen on the kernel command line. It is cached: <key>
# hashes this script (so the /init below) and every input file, so a second
# run with the same inputs only prints.
#
# Guest kernel command line (set by selftests/lib.sh guest_boot):
#   vxdp.ip=192.0.2.2/24	guest address on eth0
#   vxdp.peer=192.0.2.1		the peer to ping
#   vxdp.script=NAME		idle | ping | pingidle | e2e | jumbo | migrate | mq |
#				failover | overlay (below)
#   vxdp.count=10 vxdp.interval=0.2	ping count and interval
#   vxdp.iperf_timeout=90	bound for the iperf3 server run
#   vxdp.mtu=9000		eth0's MTU (default: what the device says)
#   vxdp.queues=4		mq: queue pairs to turn on (ethtool -L eth0 combined N)
#   vxdp.ip6=2001:db8::2/64	offload: IPv6 address on eth0 (boot without
#				ipv6.disable=1: lib.sh GUEST_IPV6=1)
#   vxdp.vlan=100:198.18.0.2/24	offload: eth0.100 with that address
#   vxdp.tcp=NAME:MODE:BYTES,..	offload: vxdp-tcpcheck streams to serve
#   vxdp.tcp_timeout=60		offload: bound of each stream
#   vxdp.iperf_runs=6		iperf: iperf3 server runs to serve
#   vxdp.tx_interval=0.05	failover: the guest's own pings to the peer
#
# Serial console markers (one per line, at the start of the line):
#   VXDP-READY ip=... mac=... features=0101...	eth0 is up with its address;
#						features: the negotiated virtio bits
#   VXDP-FAIL reason				/init could not set up
#   VXDP-RESULT warmup ok=1 tries=N		first reply from the peer
#   VXDP-RESULT ping64 size=22 tx=N rx=N loss=N% rc=N
#   VXDP-RESULT ping1400 size=1358 tx=N rx=N loss=N% rc=N
#   VXDP-IPERF-READY name			iperf3 -s -1 is listening
#   VXDP-RESULT name rc=N mbps=X		the server's summary (e2e runs
#						iperf_rx, then iperf_tx)
#   VXDP-BEGIN name / VXDP-END name		raw ping/iperf3 output between
#   VXDP-IDLE					e2e, pingidle: done, guest now quiet
#						(pingidle: warmup and both ping runs,
#						then stays up for the peer's pings)
#   VXDP-DONE					ping: done, powering off
#   VXDP-DONE rc=N				overlay: /vxdp/run (appended to the
#						initramfs by a test, see lib.sh
#						guest_run_overlay) exited N; no
#						network, nothing else set up
#   VXDP-LINK t=.. ev=.. name=.. role=..	failover: a link changed (see
#   VXDP-CLOCK t=..				selftests/e2e/failover_mon.c); then
#						warmup and VXDP-IDLE
#   VXDP-RESULT mtu eth0=N			jumbo: eth0's MTU; then warmup,
#						ping1400 (size=1372) and ping9000
#						(size=8972: 1400- and 9000-byte IP
#						packets), iperf_rx, iperf_tx, idle
#   VXDP-RESULT channels combined=N max=N xps=M,..	mq: `ethtool -l eth0`
#						(current, maximum combined) after
#						`ethtool -L eth0 combined vxdp.queues`;
#						xps: the tx queues' XPS CPU masks
#						before the guest cleared them.
#						Then warmup, and for each of p4_rx,
#						p4_tx, many_rx, many_tx in turn:
#   VXDP-QSTATS name.pre rx=N,.. tx=N,..	eth0's per-queue packet counters
#						(ethtool -S rx_queue_I_packets,
#						tx_queue_I_packets, queue 0 first),
#   VXDP-IPERF-READY name, VXDP-RESULT name	an iperf3 server run (-i 0),
#   VXDP-QSTATS name.post rx=.. tx=..		the counters after it;
#						then VXDP-IDLE
#   iperf: warmup, then vxdp.iperf_runs times VXDP-IPERF-READY runI /
#   VXDP-RESULT runI (I from 1; the peer's client picks the direction),
#   then VXDP-IDLE (tools/bench/vxdp-offload-bench)
#   offload: VXDP-READY, warmup, then for each vxdp.tcp stream
#   VXDP-TCPCHECK-READY NAME and VXDP-RESULT NAME ok=.. bytes=.. (see
#   selftests/e2e/tcpcheck.c, appended by test_qemu_offload.sh), then
#   VXDP-RESULT snmp tcp_csum_err=N ip_hdr_err=N udp_csum_err=N
#   ip6_hdr_err=N tcp_retrans=N (the guest stack's counters), VXDP-IDLE
#
# Override the guest kernel with GUEST_KVER=6.1.0-N-amd64.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build/guest}
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
# 802.1Q and its dependencies, for the offload scenario's VLAN (optional)
VLAN_MODS="llc stp garp mrp 8021q"
# the failover scenario's primary, an emulated PCI NIC (optional)
PRIMARY_MODS="e1000"

die() { echo "mkguest: $*" >&2; exit 1; }

# --- inputs -------------------------------------------------------------------
if [ -n "${GUEST_KVER:-}" ]; then
	KVER=$GUEST_KVER
else
	# newest Debian 6.1 kernel that has both its image and its modules
	KVER=
	for k in $(ls /boot/vmlinuz-6.1.* 2>/dev/null | sort -V); do
		v=${k#/boot/vmlinuz-}
		[ -d "/lib/modules/$v/kernel" ] && KVER=$v
	done
	[ -n "$KVER" ] || die "no /boot/vmlinuz-6.1.* with /lib/modules (apt-get install linux-image-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[ -r "$KERNEL" ] || die "$KERNEL not readable"

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; the guest needs busybox-static"
fi
IPERF3=$(command -v iperf3) || die "iperf3 missing (apt-get install iperf3)"
# ethtool is optional: only the mq scenario needs it (and says so)
ETHTOOL=
for f in $(command -v ethtool 2>/dev/null) /usr/sbin/ethtool /sbin/ethtool; do
	[ -x "$f" ] && { ETHTOOL=$f; break; }
done

# module files, in load order; .ko or compressed .ko.{xz,zst,gz}
MODFILES=
for m in $MODS; do
	f=$(find "$MODDIR/kernel" -name "$m.ko" -o -name "$m.ko.*" | head -n 1)
	if [ -z "$f" ]; then
		grep -q "/$m.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && continue
		die "module $m not found under $MODDIR"
	fi
	MODFILES="$MODFILES $f"
done
for m in $VLAN_MODS $PRIMARY_MODS; do
	f=$(find "$MODDIR/kernel" -name "$m.ko" -o -name "$m.ko.*" | head -n 1)
	[ -n "$f" ] && MODFILES="$MODFILES $f"
done

# iperf3's and ethtool's shared libraries and the dynamic loader, as ldd
# lists them
LIBS=
for b in "$IPERF3" $ETHTOOL; do
	l=$(ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	[ -n "$l" ] || die "ldd found no libraries for $b"
	LIBS="$LIBS $l"
done
LIBS=$(printf '%s\n' $LIBS | sort -u)

# --- cache --------------------------------------------------------------------
KEY=$({
	cat "$0"
	echo "$KVER"
	for f in "$BUSYBOX" "$IPERF3" $ETHTOOL $LIBS $MODFILES; do
		echo "$f"
		sha256sum <"$f"
	done
} | sha256sum | cut -c1-16)
INITRD=$OUT/initramfs-$KEY.cpio.gz

if [ ! -s "$INITRD" ]; then
	mkdir -p "$OUT"
	STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
	trap 'rm -rf "$STAGE" "$INITRD.tmp.$$"' EXIT INT TERM
	mkdir -p "$STAGE/bin" "$STAGE/sbin" "$STAGE/dev" "$STAGE/proc" \
		"$STAGE/sys" "$STAGE/tmp" "$STAGE/etc" "$STAGE/lib/modules" \
		"$STAGE/root"
	chmod 1777 "$STAGE/tmp"

	# busybox and a link per applet
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ -e "$STAGE/bin/$a" ] || ln -s busybox "$STAGE/bin/$a"
	done

	# kernel modules, decompressed (busybox insmod takes plain .ko)
	for f in $MODFILES; do
		b=$(basename "$f")
		case $f in
		*.ko) cp "$f" "$STAGE/lib/modules/$b" ;;
		*.ko.xz) xz -dc "$f" >"$STAGE/lib/modules/${b%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$STAGE/lib/modules/${b%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"$STAGE/lib/modules/${b%.gz}" ;;
		*) die "unknown module format: $f" ;;
		esac
	done

	# iperf3, ethtool + libraries at the paths the loader looks for them
	# (rm first: a busybox applet link of the same name would be
	# written through)
	rm -f "$STAGE/bin/iperf3"
	cp "$IPERF3" "$STAGE/bin/iperf3"
	if [ -n "$ETHTOOL" ]; then
		rm -f "$STAGE/bin/ethtool"
		cp "$ETHTOOL" "$STAGE/bin/ethtool"
	fi
	for l in $LIBS; do
		mkdir -p "$STAGE$(dirname "$l")"
		cp -L "$l" "$STAGE$l"
	done

	echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
	echo "root:x:0:" >"$STAGE/etc/group"
	# the kernel opens /dev/console for init before devtmpfs is mounted
	mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || true

	cat >"$STAGE/init" <<'EOF'
#!/bin/sh
# /init of the vxdp-relay test guest (generated by tools/dev/mkguest.sh).
PATH=/bin:/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
# keep kernel messages from splitting our marker lines
echo 1 >/proc/sys/kernel/printk

IP= PEER= SCRIPT=idle COUNT=10 INTERVAL=0.2 IPERF_TIMEOUT=90 MTU= QUEUES=4
IP6= VLAN= TCP= TCP_TIMEOUT=60 IPERF_RUNS=6
for arg in $(cat /proc/cmdline); do
	case $arg in
	vxdp.ip=*) IP=${arg#*=} ;;
	vxdp.peer=*) PEER=${arg#*=} ;;
	vxdp.script=*) SCRIPT=${arg#*=} ;;
	vxdp.count=*) COUNT=${arg#*=} ;;
	vxdp.interval=*) INTERVAL=${arg#*=} ;;
	vxdp.iperf_timeout=*) IPERF_TIMEOUT=${arg#*=} ;;
	vxdp.mtu=*) MTU=${arg#*=} ;;
	vxdp.queues=*) QUEUES=${arg#*=} ;;
	vxdp.ip6=*) IP6=${arg#*=} ;;
	vxdp.vlan=*) VLAN=${arg#*=} ;;
	vxdp.tcp=*) TCP=${arg#*=} ;;
	vxdp.tcp_timeout=*) TCP_TIMEOUT=${arg#*=} ;;
	vxdp.iperf_runs=*) IPERF_RUNS=${arg#*=} ;;
	esac
done

halt_guest() { sync; poweroff -f; sleep 10; }
fail() { echo "VXDP-FAIL $*"; halt_guest; }
idle_forever() { while :; do sleep 3600; done; }

# a test's own program, no network (selftests/lib.sh guest_run_overlay)
if [ "$SCRIPT" = overlay ]; then
	[ -x /vxdp/run ] || fail "no /vxdp/run in the initramfs"
	/vxdp/run
	echo "VXDP-DONE rc=$?"
	halt_guest
fi

for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	 virtio_pci failover net_failover virtio_net e1000; do
	[ -f /lib/modules/$m.ko ] || continue	# built into this kernel
	insmod /lib/modules/$m.ko || fail "insmod $m"
done

i=0
while [ ! -e /sys/class/net/eth0 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no eth0 after 10 s"
	sleep 0.1
done
[ -n "$IP" ] || fail "no vxdp.ip= on the kernel command line"
ip link set lo up
if [ -n "$MTU" ]; then
	ip link set eth0 mtu "$MTU" || fail "eth0 mtu $MTU"
fi
ip link set eth0 up || fail "eth0 up"
ip addr add "$IP" dev eth0 || fail "address $IP"
if [ -n "$IP6" ]; then
	# no duplicate address detection (busybox ip has no nodad)
	echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad
	ip -6 addr add "$IP6" dev eth0 || fail "address $IP6"
fi
if [ -n "$VLAN" ]; then
	for m in llc stp garp mrp 8021q; do
		[ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
	done
	ip link add link eth0 name "eth0.${VLAN%%:*}" type vlan id "${VLAN%%:*}" ||
		fail "vlan ${VLAN%%:*} (8021q module?)"
	ip addr add "${VLAN#*:}" dev "eth0.${VLAN%%:*}" || fail "address ${VLAN#*:}"
	ip link set "eth0.${VLAN%%:*}" up || fail "eth0.${VLAN%%:*} up"
fi
# negotiated virtio features, one char per bit from bit 0 (34: packed ring)
feat=$(cat /sys/class/net/eth0/device/features 2>/dev/null)
echo "VXDP-READY ip=$IP mac=$(cat /sys/class/net/eth0/address) script=$SCRIPT features=${feat:-unknown}"

# a ping run's deadline: its nominal length + 5 s
DEADLINE=$(awk -v c="$COUNT" -v i="$INTERVAL" 'BEGIN { printf "%d", c * i + 5.5 }')

# warmup: first reply from the peer (ARP through the relay included)
warmup() {
	t=0
	while [ $t -lt 5 ]; do
		t=$((t + 1))
		if ping -c 1 -W 2 "$PEER" >/dev/null 2>&1; then
			echo "VXDP-RESULT warmup ok=1 tries=$t"
			return 0
		fi
	done
	echo "VXDP-RESULT warmup ok=0 tries=$t"
	return 1
}

# ping_run NAME SIZE: COUNT pings of SIZE data bytes to the peer
ping_run() {
	out=/tmp/ping.$1
	ping -c "$COUNT" -i "$INTERVAL" -s "$2" -w "$DEADLINE" "$PEER" >$out 2>&1
	rc=$?
	echo "VXDP-BEGIN $1"
	cat $out
	echo "VXDP-END $1"
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' $out)
	rx=$(sed -n 's/.*, \([0-9]*\) packets received.*/\1/p' $out)
	loss=$(sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p' $out)
	echo "VXDP-RESULT $1 size=$2 tx=${tx:-0} rx=${rx:-0} loss=${loss:-100}% rc=$rc"
}

# iperf_server NAME [IPERF3-ARGS...]: serve one TCP test to the peer's
# iperf3 client
iperf_server() {
	name=$1
	shift
	# A log of its own: the background job creates it asynchronously, and
	# the previous run's "listening" must not pass for this one's.
	log=/tmp/iperf-$name.log
	rm -f "$log"
	timeout "$IPERF_TIMEOUT" iperf3 -s -1 -4 -f m --forceflush "$@" >"$log" 2>&1 &
	pid=$!
	t=0
	while ! grep -q listening "$log" 2>/dev/null; do
		t=$((t + 1))
		[ $t -gt 100 ] && break
		sleep 0.1
	done
	echo "VXDP-IPERF-READY $name"
	wait $pid
	rc=$?
	mbps=$(grep -E 'sender|receiver' "$log" | tail -n 1 |
		awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }')
	echo "VXDP-BEGIN $name"
	cat "$log"
	echo "VXDP-END $name"
	echo "VXDP-RESULT $name rc=$rc mbps=${mbps:-0}"
}

# qstats NAME: eth0's per-queue packet counters, queue 0 first
qstats() {
	ethtool -S eth0 | awk -v name="$1" '
		{ sub(/^[ \t]+/, "") }
		/^[rt]x_queue_[0-9]+_packets:/ {
			split($1, a, "_")
			c[a[1], a[3]] = $2
			if (a[3] + 1 > n) n = a[3] + 1
		}
		END {
			for (i = 0; i < n; i++) {
				r = r (i ? "," : "") (c["rx", i] + 0)
				t = t (i ? "," : "") (c["tx", i] + 0)
			}
			print "VXDP-QSTATS " name " rx=" r " tx=" t
		}'
}

case $SCRIPT in
idle)
	idle_forever
	;;
ping)
	warmup
	ping_run ping64 22
	ping_run ping1400 1358
	echo "VXDP-DONE"
	halt_guest
	;;
pingidle)
	warmup
	ping_run ping64 22
	ping_run ping1400 1358
	echo "VXDP-IDLE"
	idle_forever
	;;
jumbo)
	echo "VXDP-RESULT mtu eth0=$(cat /sys/class/net/eth0/mtu)"
	warmup
	ping_run ping1400 1372
	ping_run ping9000 8972
	iperf_server iperf_rx	# peer -> guest
	iperf_server iperf_tx	# guest -> peer (client runs -R)
	echo "VXDP-IDLE"
	idle_forever
	;;
e2e)
	warmup
	ping_run ping64 22
	ping_run ping1400 1358
	iperf_server iperf_rx	# peer -> guest
	iperf_server iperf_tx	# guest -> peer (client runs -R)
	echo "VXDP-IDLE"
	idle_forever
	;;
mq)
	# Multiqueue (selftests/e2e/test_qemu_multiqueue.sh; QEMU
	# queues=N, mq=on). virtio_net turns on min(queue pairs, online
	# CPUs) pairs, so one on a one-CPU guest: ask for vxdp.queues.
	# Then clear the tx queues' XPS maps so that the tx queue is picked
	# by flow hash, not by CPU (6.1 maps the one CPU to every queue,
	# which also hashes, but that is the driver's choice to make). The
	# peer's iperf3 clients decide what each server run carries (-P, -R).
	[ -x /bin/ethtool ] || fail "no ethtool in the initramfs (install ethtool on the host)"
	ethtool -L eth0 combined "$QUEUES" || fail "ethtool -L eth0 combined $QUEUES"
	ch=$(ethtool -l eth0 | awk '/^Pre-set/ { s = "max" } /^Current/ { s = "cur" }
		/^Combined:/ { v[s] = $2 } END { print "combined=" v["cur"] " max=" v["max"] }')
	xps=
	for f in /sys/class/net/eth0/queues/tx-*/xps_cpus; do
		xps=$xps${xps:+,}$(cat "$f")
		echo 0 >"$f" || fail "cannot clear $f"
	done
	echo "VXDP-RESULT channels $ch xps=${xps:-none}"
	warmup || fail "peer unreachable"
	for run in p4_rx p4_tx many_rx many_tx; do
		qstats "$run.pre"
		iperf_server "$run" -i 0
		qstats "$run.post"
	done
	echo "VXDP-IDLE"
	idle_forever
	;;
iperf)
	warmup || fail "peer unreachable"
	i=0
	while [ $i -lt "$IPERF_RUNS" ]; do
		i=$((i + 1))
		iperf_server "run$i" -i 0
	done
	echo "VXDP-IDLE"
	idle_forever
	;;
offload)
	# Offloads (selftests/e2e/test_qemu_offload.sh): the byte-checked TCP
	# streams of vxdp.tcp, served one after the other on port 5001 (the
	# peer connects), then what the guest's stack counted as bad.
	[ -x /bin/vxdp-tcpcheck ] || fail "no /bin/vxdp-tcpcheck in the initramfs"
	warmup || fail "peer unreachable"
	for s in $(echo "$TCP" | tr , ' '); do
		n=${s%%:*}
		m=${s#*:}
		vxdp-tcpcheck serve "$n" 5001 "${m%%:*}" "${m#*:}" "$TCP_TIMEOUT"
	done
	awk '$1 == "Tcp:" || $1 == "Ip:" || $1 == "Udp:" {
			if (!($1 in hdr)) { for (i = 2; i <= NF; i++) hdr[$1] = hdr[$1] " " $i; h[$1] = 1; next }
			split(hdr[$1], k, " "); for (i = 2; i <= NF; i++) v[$1 k[i - 1]] = $i }
		END { printf "VXDP-RESULT snmp tcp_csum_err=%d ip_hdr_err=%d udp_csum_err=%d tcp_retrans=%d",
			v["Tcp:InCsumErrors"], v["Ip:InHdrErrors"], v["Udp:InCsumErrors"], v["Tcp:RetransSegs"] }' /proc/net/snmp
	awk '$1 == "Ip6InHdrErrors" { e = $2 } END { printf " ip6_hdr_err=%d\n", e }' /proc/net/snmp6 2>/dev/null ||
		echo " ip6_hdr_err=0"
	echo "VXDP-IDLE"
	idle_forever
	;;
migrate)
	# Live migration (selftests/e2e/test_migration.sh, which appends
	# /bin/vxdp-udpcheck, built from selftests/e2e/udpcheck.c, to this
	# initramfs). Stream 1: pings the peer every vxdp.interval s, a
	# console line per reply (after the switch on the destination's
	# console), while vxdp-udpcheck checks the peer's numbered UDP stream
	# on vxdp.udp_port until its END datagram. Stream 2: no ping; the
	# peer may ask the checker to hold eth0 down for a while (rx buffers
	# stay posted and fill, unread, across a migration). Each run is
	# bounded by vxdp.udp_timeout s. Console: VXDP-UDPCHECK-READY stream1,
	# ping lines, VXDP-RESULT stream1, ping's summary, VXDP-UDPCHECK-READY
	# stream2, VXDP-RESULT stream2, VXDP-MIGRATE-DONE.
	UDP_PORT=5000 UDP_TIMEOUT=170
	for arg in $(cat /proc/cmdline); do
		case $arg in
		vxdp.udp_port=*) UDP_PORT=${arg#*=} ;;
		vxdp.udp_timeout=*) UDP_TIMEOUT=${arg#*=} ;;
		esac
	done
	[ -x /bin/vxdp-udpcheck ] || fail "no /bin/vxdp-udpcheck in the initramfs"
	warmup || fail "peer unreachable"
	ping -i "$INTERVAL" "$PEER" &
	pid=$!
	vxdp-udpcheck stream1 "$UDP_PORT" "$UDP_TIMEOUT" 1
	kill -INT $pid
	wait $pid
	vxdp-udpcheck stream2 "$UDP_PORT" "$UDP_TIMEOUT" 2 eth0 "$PEER"
	echo "VXDP-MIGRATE-DONE"
	idle_forever
	;;
failover)
	# QEMU failover (selftests/e2e/test_failover.sh, which appends
	# /bin/vxdp-failover-mon, built from selftests/e2e/failover_mon.c,
	# to this initramfs): eth0 is net_failover's master over the
	# virtio-net standby and the e1000 primary QEMU plugs once the guest
	# acked STANDBY. The monitor puts every link change on the console
	# (VXDP-LINK, stamped with the guest's clock, and VXDP-CLOCK
	# heartbeats); with vxdp.tx_interval the guest also pings the peer,
	# with vxdp.udp_port it checks the peer's UDP stream (vxdp-udpcheck,
	# appended too: its result when the stream ends, bound by
	# vxdp.udp_timeout).
	TX_INTERVAL= UDP_PORT= UDP_TIMEOUT=300
	for arg in $(cat /proc/cmdline); do
		case $arg in
		vxdp.tx_interval=*) TX_INTERVAL=${arg#*=} ;;
		vxdp.udp_port=*) UDP_PORT=${arg#*=} ;;
		vxdp.udp_timeout=*) UDP_TIMEOUT=${arg#*=} ;;
		esac
	done
	[ -x /bin/vxdp-failover-mon ] || fail "no /bin/vxdp-failover-mon in the initramfs"
	vxdp-failover-mon 200 &
	warmup || fail "peer unreachable"
	# (again after an error: with both its NICs down, as when a relay
	# restarts mid-migration, ping gives up)
	[ -n "$TX_INTERVAL" ] && while :; do
		ping -q -i "$TX_INTERVAL" "$PEER" >/dev/null 2>&1
		sleep 0.2
	done &
	[ -n "$UDP_PORT" ] && [ -x /bin/vxdp-udpcheck ] &&
		vxdp-udpcheck stream "$UDP_PORT" "$UDP_TIMEOUT" 1 &
	echo "VXDP-IDLE"
	idle_forever
	;;
*)
	fail "unknown vxdp.script=$SCRIPT"
	;;
esac
EOF
	chmod 755 "$STAGE/init"

	(cd "$STAGE" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -6 >"$INITRD.tmp.$$"
	# drop older builds, then publish atomically
	for old in "$OUT"/initramfs-*.cpio.gz; do
		[ -e "$old" ] && [ "$old" != "$INITRD" ] && rm -f "$old"
	done
	mv "$INITRD.tmp.$$" "$INITRD"
	rm -rf "$STAGE"
	trap - EXIT INT TERM
	echo "mkguest: built $INITRD ($(du -k "$INITRD" | cut -f1) KiB)" >&2
fi

echo "GUEST_KERNEL=$KERNEL"
echo "GUEST_INITRD=$INITRD"
