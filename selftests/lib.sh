#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/lib.sh - shared helpers for vxdp-relay's end-to-end tests.
#
# Source it from a bash test (selftests/e2e/test_*.sh) or tool (tools/*.sh):
#
#	. "$(dirname "$0")/../lib.sh"
#	vxdp_init			# root check, names, temp dir, cleanup trap
#	ktap_plan 3
#	topo_setup			# netns "relay" (VF end) + netns "peer"
#	relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$TMPD/vhost.sock"
#	...
#	ktap_finish
#
# Conventions (kselftest):
#  - TAP on stdout: "TAP version 13", "1..N", "ok N - name" / "not ok N - name",
#    diagnostics as "# ...";
#  - exit 0 = pass, 1 = fail, 4 = skip ("1..0 # SKIP reason"), the latter only
#    when the machine lacks a capability (root, netns, qemu, hugepages ...).
#
# Everything a test creates is named with its PID ($$), so parallel runs and
# leftovers of killed runs never collide, and everything is torn down by the
# EXIT trap, on success, failure, ^C or SIGTERM alike.
#
# Synchronisation is always "await an event with a bounded timeout"
# (wait_for*); a fixed sleep is used only as a measurement window.

# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------
VXDP_SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VXDP_SRC=$(cd "$VXDP_SELFTESTS/.." && pwd)
# The top-level Makefile exports BUILD as an absolute path; default to the
# source tree's build/ when a test is run by hand.
BUILD=${BUILD:-$VXDP_SRC/build}
RELAY_BIN=${RELAY_BIN:-$BUILD/vxdp-relay}
VXDPCTL_BIN=${VXDPCTL_BIN:-$BUILD/vxdpctl}
HOSTILE_BIN=${HOSTILE_BIN:-$BUILD/vxdp-hostile}
VXDP_PIN_ROOT=/sys/fs/bpf/vxdp

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

# ---------------------------------------------------------------------------
# TAP output
# ---------------------------------------------------------------------------
KTAP_PLANNED=0		# from ktap_plan
KTAP_NR=0		# results printed so far
KTAP_FAILED=0		# "not ok" results so far

ktap_plan()
{
	KTAP_PLANNED=$1
	echo "TAP version 13"
	echo "1..$1"
}

# ktap_diag TEXT... - one "# " line per line of TEXT.
ktap_diag()
{
	local line

	printf '%s\n' "$*" | while IFS= read -r line; do
		echo "# $line"
	done
}

# ktap_diag_file FILE [LINES] [TITLE] - the tail of a log as diagnostics.
ktap_diag_file()
{
	local file=$1 n=${2:-20} title=${3:-$1}

	[ -s "$file" ] || { echo "# ($title: empty)"; return 0; }
	echo "# --- last $n lines of $title ---"
	tail -n "$n" "$file" | tr -d '\r' | sed 's/^/#   /'
}

ktap_ok()
{
	KTAP_NR=$((KTAP_NR + 1))
	echo "ok $KTAP_NR - $*"
}

ktap_fail()
{
	KTAP_NR=$((KTAP_NR + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	echo "not ok $KTAP_NR - $*"
}

# ktap_skip NAME REASON - one test skipped (not the whole file).
ktap_skip()
{
	KTAP_NR=$((KTAP_NR + 1))
	echo "ok $KTAP_NR - $1 # SKIP $2"
}

# ktap_result STATUS NAME - ok when STATUS is 0; returns STATUS.
ktap_result()
{
	if [ "$1" -eq 0 ]; then ktap_ok "$2"; else ktap_fail "$2"; fi
	return "$1"
}

# ktap_check NAME CMD [ARGS...] - run CMD; ok when it succeeds.
ktap_check()
{
	local name=$1

	shift
	if "$@"; then
		ktap_ok "$name"
	else
		ktap_fail "$name"
		return 1
	fi
}

# ktap_skip_all REASON - before the plan: skip the whole test (exit 4).
# Only for a capability the machine lacks; say which in REASON.
ktap_skip_all()
{
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

# ktap_abort REASON - a step everything else depends on failed: report the
# remaining planned tests as failed (not "Bail out!", which would stop the
# other test files under prove) and exit 1.
ktap_abort()
{
	ktap_diag "aborting: $*"
	while [ "$KTAP_NR" -lt "$KTAP_PLANNED" ]; do
		ktap_fail "not run: $*"
	done
	ktap_finish
}

# ktap_finish - exit 0 when every planned test ran and passed, else 1.
ktap_finish()
{
	if [ "$KTAP_NR" -ne "$KTAP_PLANNED" ]; then
		ktap_diag "planned $KTAP_PLANNED tests but ran $KTAP_NR"
		exit $KSFT_FAIL
	fi
	[ "$KTAP_FAILED" -eq 0 ] && exit $KSFT_PASS
	ktap_diag "$KTAP_FAILED of $KTAP_PLANNED failed"
	exit $KSFT_FAIL
}

# ---------------------------------------------------------------------------
# Resource names, temp dir, cleanup
# ---------------------------------------------------------------------------
# vxdp_names - per-run names; interface names stay within IFNAMSIZ-1 (15).
vxdp_names()
{
	VXDP_ID=$$			# <= 7 digits (pid_max <= 4194304)
	NS_RELAY=vxdp-r$VXDP_ID		# relay side: holds the VF stand-in
	NS_PEER=vxdp-p$VXDP_ID		# far end of the "wire"
	VF=vxvf$VXDP_ID			# veth end the relay attaches to
	PEER_IF=vxpe$VXDP_ID		# veth end in the peer netns
	RELAY_NAME=$VF			# the daemon's default relay name
	PEER_IP=192.0.2.1
	GUEST_IP=192.0.2.2
	PREFIX_LEN=24
	GUEST_MAC=52:54:00:12:34:56
}

VXDP_PIDS=()		# background processes to kill on cleanup
VXDP_NETNS=()		# netns to delete on cleanup
VXDP_PINS=()		# relay names whose /sys/fs/bpf/vxdp/<name> to remove
VXDP_HOOKS=()		# extra cleanup commands (eval'ed, last first)
VXDP_CLEANED=0

# vxdp_on_cleanup CMD - run CMD (a string, eval'ed) on cleanup.
vxdp_on_cleanup()
{
	VXDP_HOOKS+=("$1")
}

# vxdp_init - common prologue: capabilities, names, temp dir and the trap.
# Skips the test (exit 4) when the machine can't run it at all.
vxdp_init()
{
	[ "$(id -u)" -eq 0 ] || ktap_skip_all "needs root (netns, XDP, AF_XDP)"
	command -v ip >/dev/null || ktap_skip_all "iproute2 (ip) not installed"
	vxdp_names
	TMPD=$(mktemp -d "/tmp/vxdp-e2e.$VXDP_ID.XXXXXX") ||
		ktap_skip_all "cannot create a temp dir in /tmp"
	trap vxdp_cleanup EXIT
	trap 'ktap_diag "interrupted (SIGINT)"; exit 130' INT
	trap 'ktap_diag "terminated (SIGTERM)"; exit 143' TERM
	# A netns is the minimum this suite needs from the kernel.
	if ! ip netns add "vxdp-probe$VXDP_ID" 2>/dev/null; then
		ktap_skip_all "kernel/privileges do not allow network namespaces"
	fi
	ip netns del "vxdp-probe$VXDP_ID"
	vxdp_reap_stale
}

# proc_alive PID - true while PID exists and is not a zombie.
proc_alive()
{
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }		# the state letter follows "(comm) "
	[ "${stat:0:1}" != Z ]
}

# vxdp_kill_wait TIMEOUT PID... - SIGTERM, wait up to TIMEOUT s, then SIGKILL.
vxdp_kill_wait()
{
	local t=$1 pid left i

	shift
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < t * 10; i++)); do
		left=0
		for pid in "$@"; do
			proc_alive "$pid" && left=1
		done
		[ "$left" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "$@"; do
		proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

vxdp_cleanup()
{
	local rc=$? i pids ns name

	[ "$VXDP_CLEANED" -eq 1 ] && return
	VXDP_CLEANED=1
	trap - EXIT INT TERM
	# 1. every process this test started (relay, qemu, testpmd, iperf3)
	pids=()
	for i in "${VXDP_PIDS[@]}"; do
		proc_alive "$i" && pids+=("$i")
	done
	[ "${#pids[@]}" -gt 0 ] && vxdp_kill_wait 5 "${pids[@]}"
	# 2. anything still running inside our namespaces
	for ns in "${VXDP_NETNS[@]}"; do
		for i in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$i" 2>/dev/null
		done
	done
	# 3. extra hooks, last registered first (hugepages, DPDK runtime dirs)
	for ((i = ${#VXDP_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${VXDP_HOOKS[i]}" 2>/dev/null
	done
	# 4. namespaces (their veth ends go with them)
	for ns in "${VXDP_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# 5. pinned maps the relay may have left behind
	for name in "${VXDP_PINS[@]}"; do
		[ -n "$name" ] && rm -rf "${VXDP_PIN_ROOT:?}/$name"
	done
	# 6. temp dir (VXDP_KEEP_TMP=1 keeps logs for a post-mortem)
	if [ -n "$TMPD" ] && [ -d "$TMPD" ]; then
		if [ "${VXDP_KEEP_TMP:-0}" = 1 ]; then
			touch "$TMPD/.kept"	# vxdp_reap_stale leaves it alone
			echo "# logs kept in $TMPD"
		else
			rm -rf "$TMPD"
		fi
	fi
	exit "$rc"
}

# vxdp_reap_stale - remove what earlier runs left when they were SIGKILLed
# (their PID, embedded in every name, is gone): namespaces and whatever still
# runs in them (every process a test starts - relay, QEMU, testpmd, iperf3 -
# runs inside its namespaces for this reason), pins, DPDK runtime files, temp
# dirs. Never touches a live run's resources.
vxdp_reap_stale()
{
	local ns id d

	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in
		vxdp-[rp][0-9]*) id=${ns#vxdp-?} ;;
		vxdp-probe[0-9]*) id=${ns#vxdp-probe} ;;
		*) continue ;;
		esac
		case $id in *[!0-9]*) continue ;; esac
		[ -d "/proc/$id" ] && continue
		for d in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$d" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for d in "$VXDP_PIN_ROOT"/vxvf[0-9]*; do
		[ -d "$d" ] || continue
		id=${d##*/vxvf}
		case $id in *[!0-9]*) continue ;; esac
		[ -d "/proc/$id" ] || rm -rf "$d"
	done
	for d in "$VXDP_PIN_ROOT"/vxm[0-9]*v[0-9]*; do	# topo_add_vfs
		[ -d "$d" ] || continue
		id=${d##*v}
		case $id in *[!0-9]*) continue ;; esac
		[ -d "/proc/$id" ] || rm -rf "$d"
	done
	for d in /var/run/dpdk/vxdpt[0-9]*; do
		[ -d "$d" ] || continue
		id=${d##*/vxdpt}
		case $id in *[!0-9]*) continue ;; esac
		[ -d "/proc/$id" ] || dpdk_cleanup_prefix "vxdpt$id"
	done
	for d in /tmp/vxdp-e2e.[0-9]*.*; do
		[ -d "$d" ] && [ ! -e "$d/.kept" ] || continue
		id=${d#/tmp/vxdp-e2e.}
		id=${id%%.*}
		case $id in *[!0-9]*) continue ;; esac
		[ -d "/proc/$id" ] || rm -rf "$d"
	done
}

# vxdp_bg LOG CMD [ARGS...] - start CMD in the background with stdout+stderr
# to LOG and stdin from /dev/null, register it for cleanup; its PID is left
# in VXDP_LAST_PID. SIGINT/SIGQUIT are reset to default (a non-interactive
# bash would start background jobs with them ignored, and a daemon blocking
# them for a signalfd would never see them).
vxdp_bg()
{
	local log=$1

	shift
	env --default-signal=INT,QUIT "$@" </dev/null >"$log" 2>&1 &
	VXDP_LAST_PID=$!
	VXDP_PIDS+=("$VXDP_LAST_PID")
}

# vxdp_stop PID [SIGNAL] [TIMEOUT] - signal PID (default TERM), wait for it
# to exit (default 15 s), SIGKILL it after that. Sets VXDP_STOP_RC to its
# exit status (128+N when killed by signal N; 255 when it had to be killed).
vxdp_stop()
{
	local pid=$1 sig=${2:-TERM} t=${3:-15} i

	VXDP_STOP_RC=255
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < t * 10; i++)); do
		proc_alive "$pid" || break
		sleep 0.1
	done
	if proc_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	VXDP_STOP_RC=$?
	return 0
}

# ---------------------------------------------------------------------------
# Awaiting events (bounded polling, never a blind sleep)
# ---------------------------------------------------------------------------
# wait_for TIMEOUT CMD [ARGS...] - poll CMD every 0.1 s until it succeeds;
# 1 on timeout.
wait_for()
{
	local t=$1 i

	shift
	for ((i = 0; i <= t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for_log FILE PATTERN TIMEOUT [PID] - await an extended regexp in a log.
# Returns 0 when found, 1 on timeout, 2 as soon as PID (the writer) has died.
wait_for_log()
{
	local file=$1 pat=$2 t=$3 pid=$4 i

	for ((i = 0; i <= t * 10; i++)); do
		grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! proc_alive "$pid"; then
			# one last look: it may have logged the marker and exited
			grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
			return 2
		fi
		sleep 0.1
	done
	return 1
}

# wait_for_socket PATH TIMEOUT - await a unix socket.
wait_for_socket()
{
	wait_for "$2" test -S "$1"
}

# wait_for_exit PID TIMEOUT - await a process's end (does not reap it).
wait_for_exit()
{
	local pid=$1

	wait_for "$2" eval "! proc_alive $pid"
}

# ---------------------------------------------------------------------------
# Topology: two namespaces joined by a veth pair (the "VF" and the "wire")
#
#   netns $NS_RELAY                     netns $NS_PEER
#   [vxdp-relay] --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#
# The guest (or DPDK's virtio-user) behind the relay is 192.0.2.2/24.
# Nothing is created in, or sent from, the root namespace.
# ---------------------------------------------------------------------------
ns_exec_relay() { netns_exec "$NS_RELAY" "$@"; }
ns_exec_peer() { ip netns exec "$NS_PEER" "$@"; }

# netns_exec NS CMD [ARGS...] - `ip netns exec`, but keeping the host's bpffs.
# `ip netns exec` gives CMD a private mount namespace with a fresh /sys for
# NS, and so no /sys/fs/bpf: a daemon mounting bpffs there gets a private
# instance whose pins nobody else sees and which vanish with it. Here CMD gets
# NS's sysfs *and* the host's bpffs at /sys/fs/bpf, so the relay's pins under
# /sys/fs/bpf/vxdp/ are visible to vxdpctl and to the test. CMD keeps this
# shell's PID (every step execs).
netns_exec()
{
	netns_argv "$1"
	shift
	"${NETNS_ARGV[@]}" "$@"
}

# netns_argv NS - the netns_exec prefix as an array in NETNS_ARGV (for
# vxdp_bg, which needs a command, not a shell function).
netns_argv()
{
	NETNS_ARGV=(nsenter --net="/run/netns/$1" unshare --mount sh -c '
		b=$(mktemp -d /tmp/vxdp-bpf.XXXXXX) || exit 125
		mount --bind /sys/fs/bpf "$b" &&
		mount -t sysfs sysfs /sys &&
		mount --bind "$b" /sys/fs/bpf &&
		umount "$b" && rmdir "$b" ||
			{ echo "netns_exec: mount setup failed" >&2; exit 125; }
		exec "$@"' netns_exec)
}

# topo_setup [QUEUES] - the two namespaces and the veth pair. QUEUES (default
# 1) gives both veth ends that many rx and tx queues, as a multiqueue VF
# would have: the relay opens one AF_XDP socket per VF rx queue, and the
# peer's tx queue (picked by flow hash) is the VF rx queue a frame arrives on.
# netns_add NS... - create the namespaces (removed on cleanup), lo up.
netns_add()
{
	local ns

	for ns in "$@"; do
		ip netns add "$ns" || return 1
		VXDP_NETNS+=("$ns")
		ip -n "$ns" link set dev lo up || return 1
		# No IPv6 autoconf/DAD/RS chatter: keeps the wire quiet for the
		# idle-CPU check and the counters.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	done
}

topo_setup()
{
	local nq=${1:-1}

	netns_add "$NS_RELAY" "$NS_PEER" || return 1
	ip link add "$VF" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_RELAY" type veth \
		peer name "$PEER_IF" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_PEER" ||
		return 1
	# A real NIC puts complete checksums on the wire; veth would hand the
	# relay's XDP program TCP frames with only a partial checksum, which the
	# guest then drops. Make the peer compute them in software.
	ip netns exec "$NS_PEER" ethtool -K "$PEER_IF" tx off >/dev/null 2>&1
	ip -n "$NS_PEER" addr add "$PEER_IP/$PREFIX_LEN" dev "$PEER_IF" || return 1
	ip -n "$NS_PEER" link set dev "$PEER_IF" up || return 1
	ip -n "$NS_RELAY" link set dev "$VF" up || return 1
	VXDP_PINS+=("$RELAY_NAME")
}

# topo_peer_vlan VID ADDR/PREFIX - after topo_setup: the peer gets ADDR on
# VLAN VID of the wire, without the kernel's 802.1Q (often not built):
# bpf/test/vxdp_vlan_port.bpf.c pops the tag of VID frames arriving on
# $PEER_IF and sends them to a second veth pair, whose stack end
# (vxvs$VXDP_ID, holding ADDR, checksumming in software like $PEER_IF)
# sends back through the program, which tags them onto $PEER_IF.
topo_peer_vlan()
{
	local vid=$1 addr=$2 va=vxva$VXDP_ID vs=vxvs$VXDP_ID dev trunk access m
	local obj=$BUILD/bpf/vxdp_vlan_port.bpf.o

	[ -r "$obj" ] || return 1
	ip -n "$NS_PEER" link add "$va" type veth peer name "$vs" || return 1
	ip netns exec "$NS_PEER" ethtool -K "$vs" tx off >/dev/null 2>&1
	ip -n "$NS_PEER" addr add "$addr" dev "$vs" || return 1
	ip -n "$NS_PEER" link set dev "$va" up || return 1
	ip -n "$NS_PEER" link set dev "$vs" up || return 1
	for dev in "$PEER_IF" "$va" "$vs"; do
		xdp_attach "$NS_PEER" "$dev" "$obj" || return 1
	done
	trunk=$(ip -n "$NS_PEER" -o link show dev "$PEER_IF" | cut -d: -f1)
	access=$(ip -n "$NS_PEER" -o link show dev "$va" | cut -d: -f1)
	# struct vlan_port { trunk, access, vid }: three u32, little-endian
	for dev in "$PEER_IF" "$va"; do
		m=$(xdp_prog_map "$NS_PEER" "$dev" port) || return 1
		bpftool map update id "$m" key 0 0 0 0 value \
			$(printf '%d %d %d %d ' $((trunk & 255)) $((trunk >> 8 & 255)) 0 0 \
				$((access & 255)) $((access >> 8 & 255)) 0 0 \
				$((vid & 255)) $((vid >> 8)) 0 0) || return 1
	done
}

# xdp_attached NS IFNAME - true when IFNAME has any XDP program.
xdp_attached()
{
	ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -Eq '(^|[[:space:]])xdp'
}

# topo_add_vfs N - after topo_setup, N more veth pairs for tests with many
# relays: VF i is vxm<i>v$VXDP_ID in $NS_RELAY, its far end vxm<i>p$VXDP_ID
# in $NS_PEER, both up. Sets the arrays EXTRA_VFS and EXTRA_PEERS; the VF
# names (the default relay names) are registered for pin cleanup.
topo_add_vfs()
{
	local n=$1 i

	EXTRA_VFS=()
	EXTRA_PEERS=()
	for ((i = 0; i < n; i++)); do
		EXTRA_VFS+=("vxm${i}v$VXDP_ID")
		EXTRA_PEERS+=("vxm${i}p$VXDP_ID")
	done
	VXDP_PINS+=("${EXTRA_VFS[@]}")
	# one `ip -batch` per step: separate ip runs would take seconds
	for ((i = 0; i < n; i++)); do
		echo "link add ${EXTRA_VFS[i]} netns $NS_RELAY type veth peer name ${EXTRA_PEERS[i]} netns $NS_PEER"
	done | ip -batch - || return 1
	printf 'link set dev %s up\n' "${EXTRA_VFS[@]}" | ip -n "$NS_RELAY" -batch - || return 1
	printf 'link set dev %s up\n' "${EXTRA_PEERS[@]}" | ip -n "$NS_PEER" -batch -
}

# bpffs_ensure - mount bpffs if nothing is mounted at /sys/fs/bpf.
bpffs_ensure()
{
	if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# The relay daemon
# ---------------------------------------------------------------------------
# relay_bin_check - fail (not skip) the whole test when the daemon isn't
# built: that is a build problem, not a missing machine capability.
relay_bin_check()
{
	[ -x "$RELAY_BIN" ] && return 0
	ktap_diag "$RELAY_BIN not found: run 'make' first"
	return 1
}

# unit_caps [UNIT] - the capability bounding set of the systemd unit (default
# tools/dist/vxdp-relay.service.in) in setpriv's form: -all,+bpf,...
unit_caps()
{
	local c caps=-all unit=${1:-$VXDP_SRC/tools/dist/vxdp-relay.service.in}

	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$unit"); do
		c=${c#CAP_}
		caps+=",+${c,,}"
	done
	echo "$caps"
}

# relay_start LOG ARGS... - run the daemon in $NS_RELAY (AF_XDP must live in
# the VF's netns; see netns_exec) and await its "ready:" line. Sets RELAY_PID and RELAY_LOG.
# Unless ARGS name a --control or --config, the daemon's control socket is
# RELAY_CTL (LOG's name with .ctl.sock for .log), not the system's: tests,
# and the daemons of one test, run side by side. RELAY_CAPS (a setpriv
# bounding set, e.g. $(unit_caps)) runs it with only those capabilities,
# as its unit does.
# Returns 0 when ready, 1 on timeout, 2 when it exited early.
relay_start()
{
	local log=$1 rc ctl=() priv=()

	shift
	bpffs_ensure
	RELAY_LOG=$log
	case " $* " in
	*" --control "*|*" --config "*) ;;
	*) RELAY_CTL=${log%.log}.ctl.sock; ctl=(--control "$RELAY_CTL") ;;
	esac
	[ -n "${RELAY_CAPS:-}" ] && priv=(setpriv --bounding-set "$RELAY_CAPS" --inh-caps=-all --)
	netns_argv "$NS_RELAY"
	vxdp_bg "$log" "${NETNS_ARGV[@]}" "${priv[@]}" "$RELAY_BIN" "${ctl[@]}" "$@"
	RELAY_PID=$VXDP_LAST_PID
	wait_for_log "$log" 'ready:' "${RELAY_READY_TIMEOUT:-30}" "$RELAY_PID"
	rc=$?
	case $rc in
	1) ktap_diag "relay not ready after ${RELAY_READY_TIMEOUT:-30} s" ;;
	2) ktap_diag "relay exited before it was ready" ;;
	esac
	[ "$rc" -ne 0 ] && ktap_diag_file "$log" 30 "relay log"
	return $rc
}

# relay_sanitized - whether $RELAY_BIN is an ASan build (make SANITIZE=1),
# whose resident memory is ASan's (shadow, redzones, freed-memory
# quarantine) more than the daemon's.
relay_sanitized()
{
	ldd "$RELAY_BIN" 2>/dev/null | grep -q 'libasan'
}

# sanitizer_clean LOG - no ASan/UBSan/LSan report in a daemon log
# (`make check SANITIZE=1`).
sanitizer_clean()
{
	! grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$1" 2>/dev/null
}

# relay_stop_check [SOCK] - SIGTERM the relay (RELAY_PID) and the TAP checks
# that it ended cleanly: exit status 0 and no sanitizer report; with SOCK (a
# server-mode relay on $VF) also the socket removed, no XDP program left on
# $VF and its pins ($RELAY_NAME) gone. 2 results, 5 with SOCK.
relay_stop_check()
{
	local sock=$1

	vxdp_stop "$RELAY_PID" TERM 15
	ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC"
	[ "$VXDP_STOP_RC" -eq 0 ]
	ktap_result $? "relay exits 0 on SIGTERM" || ktap_diag_file "$RELAY_LOG" 20 "relay log"
	if [ -n "$sock" ]; then
		[ ! -e "$sock" ]
		ktap_result $? "relay removed its socket"
		! xdp_attached "$NS_RELAY" "$VF"
		ktap_result $? "no XDP program left on $VF" ||
			ktap_diag "$(ip -n "$NS_RELAY" -d link show dev "$VF")"
		[ ! -e "$VXDP_PIN_ROOT/$RELAY_NAME" ]
		ktap_result $? "pins at $VXDP_PIN_ROOT/$RELAY_NAME removed"
	fi
	sanitizer_clean "$RELAY_LOG"
	ktap_result $? "no sanitizer report in the relay log" ||
		ktap_diag_file "$RELAY_LOG" 40 "relay log"
}

# relay_stats NAME - `vxdpctl --pinned stats NAME` run in the relay netns:
# the XDP counters of the relay's pinned maps, as vxdpctl reads them without
# a daemon.
relay_stats()
{
	netns_exec "$NS_RELAY" "$VXDPCTL_BIN" --pinned stats "$1"
}

# vxdpctl ARGS... - vxdpctl on this test's daemon (RELAY_CTL, or
# VXDPCTL_SOCKET), in the relay netns.
vxdpctl()
{
	netns_exec "$NS_RELAY" "$VXDPCTL_BIN" --socket "${VXDPCTL_SOCKET:-$RELAY_CTL}" "$@"
}

# stat_value TEXT KEY - the first number after KEY in vxdpctl's output
# ("redirected: 12", "redirected 12", "redirected=12 packets", ...).
stat_value()
{
	printf '%s\n' "$1" | tr -d '\r' | grep -Eio -- "$2[^0-9]*[0-9]+" | head -n 1 |
		grep -Eo '[0-9]+$'
}

# proc_cpu_ticks PID - utime+stime of all of PID's threads, in clock ticks.
proc_cpu_ticks()
{
	local f s sum=0 a

	for f in /proc/"$1"/task/*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		s=${s##*) }			# fields from 3 (state) on
		read -r -a a <<<"$s"
		# utime and stime are fields 14 and 15 of stat(5): a[11], a[12]
		sum=$((sum + a[11] + a[12]))
	done
	echo "$sum"
}

# ---------------------------------------------------------------------------
# The QEMU guest
# ---------------------------------------------------------------------------
# guest_prepare - build (or take from the cache) the tiny initramfs; sets
# GUEST_KERNEL and GUEST_INITRD. Returns 1 when it can't.
guest_prepare()
{
	local out

	out=$("$VXDP_SRC/tools/dev/mkguest.sh" "$BUILD/guest" 2>"$TMPD/mkguest.log") || {
		ktap_diag_file "$TMPD/mkguest.log" 20 "mkguest.sh"
		return 1
	}
	eval "$out"
	[ -r "$GUEST_KERNEL" ] && [ -r "$GUEST_INITRD" ]
}

# guest_add_static NAME SRC - after guest_prepare: SRC (one C file) built
# static as the guest's /bin/NAME and appended to its initramfs as a second
# cpio archive (the kernel unpacks both); GUEST_INITRD then names the result.
# Repeatable: each call adds to the previous ones.
guest_add_static()
{
	local name=$1 src=$2 dir=$TMPD/overlay

	mkdir -p "$dir/bin" || return 1
	if ! gcc -static -O2 -Wall -Wextra -Werror -o "$dir/bin/$name" "$src" \
		>"$TMPD/gcc-$name.log" 2>&1; then
		ktap_diag_file "$TMPD/gcc-$name.log" 20 "gcc $src"
		return 1
	fi
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$TMPD/overlay.cpio.gz" || return 1
	cat "$GUEST_INITRD" "$TMPD/overlay.cpio.gz" >"$TMPD/initrd-$name.img" || return 1
	GUEST_INITRD=$TMPD/initrd-$name.img
}

# guest_boot SOCK SCRIPT LOG [KERNEL-ARGS...] - boot the tiny guest under TCG
# with its virtio-net on the vhost-user socket SOCK; the guest's /init runs
# scenario SCRIPT (see tools/dev/mkguest.sh). Serial console to LOG. Awaits
# "VXDP-READY" (guest network up). Sets QEMU_PID, GUEST_LOG, QEMU_OUT.
# GUEST_NIC_OPTS adds virtio-net-pci properties (e.g. "packed=on"),
# GUEST_CHARDEV_OPTS -chardev socket properties (e.g. "server=on,wait=off":
# QEMU listens on SOCK and the relay connects, mode=client),
# GUEST_NETDEV_OPTS -netdev vhost-user properties (e.g. "queues=4"),
# GUEST_MEM_OPTS -m properties (e.g. "slots=2,maxmem=1G" for hot-plug),
# GUEST_IPV6=1 boots the guest with IPv6 (default: ipv6.disable=1),
# GUEST_SMP the guest's CPU count (default 1), and GUEST_QEMU_ARGS further
# QEMU arguments (split on blanks, e.g. "-qmp unix:PATH,server=on,wait=off").
# (vectors=0: QEMU 7.2 under TCG segfaults in vhost_net_start with MSI-X.
# no_timer_check: on a busy host the TCG guest's early IO-APIC timer check
# can miss its ticks and panic "IO-APIC + timer doesn't work!".)
guest_boot()
{
	guest_start "$@"
	guest_wait_ready
}

# guest_start SOCK SCRIPT LOG [KERNEL-ARGS...] - guest_boot without the wait:
# for a QEMU that cannot come up before the relay does (it listens, the relay
# connects), or that is expected never to (a refused second frontend).
# QEMU's own output goes to QEMU_OUT (LOG with .qemu.out for .log).
guest_start()
{
	local sock=$1 script=$2 log=$3 v6=ipv6.disable=1

	shift 3
	[ -n "${GUEST_IPV6:-}" ] && v6=ipv6.disable=0
	GUEST_LOG=$log
	QEMU_OUT=${log%.log}.qemu.out
	: >"$log"
	# QEMU needs no network of its own (the vhost-user socket is a path);
	# it runs in the relay netns only so a leftover can be found and reaped.
	vxdp_bg "$QEMU_OUT" ip netns exec "$NS_RELAY" qemu-system-x86_64 \
		-machine pc -accel tcg -cpu max -smp "${GUEST_SMP:-1}" \
		-m "512${GUEST_MEM_OPTS:+,$GUEST_MEM_OPTS}" \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-numa node,memdev=mem \
		-chardev "socket,id=chr0,path=$sock${GUEST_CHARDEV_OPTS:+,$GUEST_CHARDEV_OPTS}" \
		-netdev "vhost-user,id=net0,chardev=chr0${GUEST_NETDEV_OPTS:+,$GUEST_NETDEV_OPTS}" \
		-device "virtio-net-pci,netdev=net0,vectors=0,mac=$GUEST_MAC${GUEST_NIC_OPTS:+,$GUEST_NIC_OPTS}" \
		-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 $v6 no_timer_check vxdp.ip=$GUEST_IP/$PREFIX_LEN vxdp.peer=$PEER_IP vxdp.script=$script $*" \
		-nodefaults -display none -serial "file:$log" -no-reboot \
		${GUEST_QEMU_ARGS:-}
	QEMU_PID=$VXDP_LAST_PID
}

# qemu_frontend_start SOCK LOG - a QEMU with a vhost-user virtio-net and no
# guest (paused, -S): it listens on SOCK (client-mode relays connect) and
# speaks the vhost-user handshake as soon as a relay connects, nothing more.
# Starts in well under a second. Sets QEMU_PID.
qemu_frontend_start()
{
	vxdp_bg "$2" ip netns exec "$NS_RELAY" qemu-system-x86_64 \
		-machine pc -accel tcg -m 128 \
		-object memory-backend-memfd,id=mem,size=128M,share=on \
		-numa node,memdev=mem \
		-chardev "socket,id=chr0,path=$1,server=on,wait=off" \
		-netdev vhost-user,id=net0,chardev=chr0 \
		-device "virtio-net-pci,netdev=net0,vectors=0,mac=$GUEST_MAC" \
		-nodefaults -display none -S
	QEMU_PID=$VXDP_LAST_PID
}

# guest_wait_ready - await the guest_start'ed guest's "VXDP-READY" (bound:
# GUEST_BOOT_TIMEOUT, 120 s). 0 when up, 1 on timeout, 2 when QEMU exited,
# 3 on VXDP-FAIL; says why on failure.
guest_wait_ready()
{
	local rc

	wait_for_log "$GUEST_LOG" 'VXDP-READY|VXDP-FAIL' "${GUEST_BOOT_TIMEOUT:-120}" "$QEMU_PID"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q 'VXDP-FAIL' "$GUEST_LOG"; then
		rc=3
	fi
	if [ "$rc" -ne 0 ]; then
		ktap_diag "guest did not come up (rc=$rc)"
		ktap_diag_file "$QEMU_OUT" 10 "qemu output"
		ktap_diag_file "$GUEST_LOG" 30 "guest console"
	fi
	return $rc
}

# guest_run_overlay DIR LOG [TIMEOUT] - boot the tiny guest without a NIC and
# run DIR/vxdp/run (with whatever else DIR holds: modules, programs, their
# libraries) from a cpio appended to the guest's initramfs (the kernel
# unpacks both); await its "VXDP-DONE rc=N" (bound: TIMEOUT, default 60 s).
# After guest_prepare and netns_add "$NS_RELAY" (QEMU runs there so that a
# leftover is reaped). Sets GUEST_LOG, QEMU_OUT, QEMU_PID, GUEST_RC (N).
# 0 when it ran to the end (whatever N), 1 otherwise.
guest_run_overlay()
{
	local dir=$1 log=$2 t=${3:-60} initrd=$TMPD/overlay-initrd.img

	GUEST_LOG=$log
	QEMU_OUT=${log%.log}.qemu.out
	GUEST_RC=
	: >"$log"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$TMPD/overlay.cpio.gz" || return 1
	cat "$GUEST_INITRD" "$TMPD/overlay.cpio.gz" >"$initrd" || return 1
	vxdp_bg "$QEMU_OUT" ip netns exec "$NS_RELAY" qemu-system-x86_64 \
		-machine pc -accel tcg -cpu max -smp 1 -m 256 \
		-kernel "$GUEST_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 no_timer_check vxdp.script=overlay" \
		-nodefaults -display none -serial "file:$log" -no-reboot
	QEMU_PID=$VXDP_LAST_PID
	if ! wait_for_log "$log" 'VXDP-DONE|VXDP-FAIL' "$t" "$QEMU_PID" ||
	   grep -q 'VXDP-FAIL' "$log"; then
		ktap_diag "overlay guest did not finish"
		ktap_diag_file "$QEMU_OUT" 10 "qemu output"
		ktap_diag_file "$log" 30 "guest console"
		return 1
	fi
	GUEST_RC=$(tr -d '\r' <"$log" | sed -n 's/^VXDP-DONE rc=\([0-9]*\).*/\1/p' | tail -n 1)
	return 0
}

# overlay_add_bin DIR FILE... - copy programs into an overlay DIR at their
# paths, with the shared libraries ldd lists for them.
overlay_add_bin()
{
	local dir=$1 f l

	shift
	for f in "$@"; do
		mkdir -p "$dir$(dirname "$f")" && cp -L "$f" "$dir$f" || return 1
		for l in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			[ -e "$dir$l" ] && continue
			mkdir -p "$dir$(dirname "$l")" && cp -L "$l" "$dir$l" || return 1
		done
	done
}

# guest_feature_bit N - 1 or 0: virtio feature bit N as the guest's
# virtio-net negotiated it (from VXDP-READY features=, bit 0 first); empty
# when unknown.
guest_feature_bit()
{
	local f

	f=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*VXDP-READY.* features=\([01]*\).*/\1/p' | head -n 1)
	printf '%s\n' "${f:$1:1}"
}

# guest_virtio_ring - "packed" or "split": the ring layout the guest's
# virtio-net negotiated (VIRTIO_F_RING_PACKED, bit 34, from VXDP-READY).
guest_virtio_ring()
{
	case $(guest_feature_bit 34) in
	1) echo packed ;;
	0) echo split ;;
	*) echo unknown ;;
	esac
}

# guest_result NAME - the guest's "VXDP-RESULT NAME k=v ..." line (k=v part).
guest_result()
{
	tr -d '\r' <"$GUEST_LOG" | sed -n "s/^.*VXDP-RESULT $1 //p" | tail -n 1
}

# guest_check_warmup - the TAP check that the guest's warmup ("VXDP-RESULT
# warmup ok=1", already awaited) reached the peer. Sets CONNECTED (0: it
# did; tests skip their traffic runs otherwise) and shows the relay log when
# it did not.
guest_check_warmup()
{
	local r

	r=$(guest_result warmup)
	ktap_diag "guest warmup: ${r:-no result}"
	[ "$(kv "$r" ok)" = 1 ]
	ktap_result $? "guest reaches the peer through the relay"
	CONNECTED=$?
	[ "$CONNECTED" -ne 0 ] && ktap_diag_file "$RELAY_LOG" 20 "relay log"
	return 0
}

# iperf_check NAME DIRECTION [CLIENT-ARGS...] - the TAP check of one iperf3
# TCP run from the peer against the guest's server NAME (mkguest.sh's
# iperf_server: "VXDP-IPERF-READY NAME"), IPERF_TIME seconds: throughput
# > 0. Needs CONNECTED (guest_check_warmup), IPERF_SERVER_TIMEOUT; IPERF_WHAT
# is added to the check's name (e.g. " at MTU 9000").
iperf_check()
{
	local name=$1 dir=$2 out=$TMPD/$1.client mbps

	shift 2
	if [ "$CONNECTED" -ne 0 ]; then
		ktap_fail "iperf3 TCP $dir: not run, the guest can't reach the peer"
		return
	fi
	if ! wait_for_log "$GUEST_LOG" "VXDP-IPERF-READY $name" $((IPERF_SERVER_TIMEOUT + 10)) "$QEMU_PID"; then
		ktap_fail "iperf3 TCP $dir: guest server not ready"
		return
	fi
	ns_exec_peer timeout $((IPERF_TIME + 40)) iperf3 -c "$GUEST_IP" \
		-t "$IPERF_TIME" -f m --connect-timeout 10000 "$@" >"$out" 2>&1
	mbps=$(awk '/receiver/ { for (i = 1; i < NF; i++)
		if ($(i + 1) == "Mbits/sec") v = $i } END { print v }' "$out")
	ktap_diag "iperf3 TCP $dir${IPERF_WHAT:-}: ${mbps:-?} Mbit/s over $IPERF_TIME s"
	awk -v v="${mbps:-0}" 'BEGIN { exit !(v + 0 > 0) }'
	ktap_result $? "iperf3 TCP $dir${IPERF_WHAT:-} has throughput > 0" ||
		ktap_diag_file "$out" 15 "iperf3 client"
}

# kv LINE KEY - the value of KEY=value in a "k=v k=v" line.
kv()
{
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# ping_loss OUTPUT - packet loss percentage from ping's summary (busybox and
# iputils both print "..., N% packet loss"); empty when there's no summary.
ping_loss()
{
	printf '%s\n' "$1" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' | head -n 1
}

# ping_received OUTPUT - "N received" / "N packets received" from the summary.
ping_received()
{
	printf '%s\n' "$1" | sed -n 's/.*, \([0-9]*\) \(packets \)\{0,1\}received.*/\1/p' | head -n 1
}

# peer_ping COUNT DATA-SIZE [INTERVAL] - COUNT pings of DATA-SIZE bytes
# (frame = DATA-SIZE + 42) from the peer netns to the guest, bounded by a
# deadline of COUNT * INTERVAL + 10 s. Sets PING_OUT, PING_RX, PING_LOSS;
# 0 when all COUNT were answered at 0% loss.
peer_ping()
{
	local c=$1 s=$2 i=${3:-0.2} w

	w=$(awk -v c="$c" -v i="$i" 'BEGIN { printf "%d", c * i + 10.5 }')
	PING_OUT=$(ns_exec_peer ping -c "$c" -i "$i" -s "$s" -W 2 -w "$w" -q "$GUEST_IP" 2>&1)
	PING_RX=$(ping_received "$PING_OUT")
	PING_LOSS=$(ping_loss "$PING_OUT")
	[ "${PING_RX:-0}" = "$c" ] && [ "$PING_LOSS" = 0 ]
}

# peer_ping_bg LOG [PING-ARGS...] - a continuous ping from the peer netns to
# the guest in the background (iputils: -D epoch timestamps, -O a line per
# missing reply, -i 0.1 unless PING-ARGS say otherwise), output to LOG. For
# measuring outages and recoveries on the peer's clock; ends with cleanup or
# vxdp_stop. Sets PEER_PING_PID. PEER_PING_RT=1 runs ping SCHED_FIFO (chrt),
# so that its sends and its -D stamps keep their pace on a loaded machine
# when a test measures gaps of a few ms (ping uses little CPU).
peer_ping_bg()
{
	local log=$1 rt=()

	shift
	[ "${PEER_PING_RT:-0}" = 1 ] && chrt -f 10 true 2>/dev/null && rt=(chrt -f 10)
	vxdp_bg "$log" ip netns exec "$NS_PEER" "${rt[@]}" ping -D -O -i 0.1 -W 1 "$@" "$GUEST_IP"
	PEER_PING_PID=$VXDP_LAST_PID
}

# now_epoch - seconds since the epoch with microseconds (ping -D's clock).
now_epoch()
{
	date +%s.%N | cut -c1-17
}

# ping_log_replies LOG [FROM [TO]] - how many replies a peer_ping_bg LOG has
# timestamped at or after FROM (and before TO), epoch seconds.
ping_log_replies()
{
	tr -d '\r' <"$1" | awk -v a="${2:-0}" -v b="${3:-0}" '
		/ bytes from .*icmp_seq=/ {
			t = substr($1, 2, length($1) - 2) + 0
			if (t >= a && (b == 0 || t < b)) n++
		}
		END { print n + 0 }'
}

# ping_log_misses LOG [FROM] - "no answer yet" lines at or after FROM.
ping_log_misses()
{
	tr -d '\r' <"$1" | awk -v a="${2:-0}" '
		/no answer yet for icmp_seq=/ {
			t = substr($1, 2, length($1) - 2) + 0
			if (t >= a) n++
		}
		END { print n + 0 }'
}

# ping_log_first_reply LOG FROM - timestamp of the first reply at or after
# FROM; empty when none yet.
ping_log_first_reply()
{
	tr -d '\r' <"$1" | awk -v a="$2" '
		/ bytes from .*icmp_seq=/ {
			t = substr($1, 2, length($1) - 2) + 0
			if (t >= a) { printf "%.6f\n", t; exit }
		}'
}

# ping_log_sends LOG - "SEQ SEND-TIME" of each answered request in a
# peer_ping_bg (ping -D) LOG, by sequence: a send time is the reply's stamp
# minus its round trip, which the kernel timed
ping_log_sends()
{
	tr -d '\r' <"$1" | awk '
		/ bytes from .*icmp_seq=.*time=/ {
			t = substr($1, 2, length($1) - 2) + 0
			s = $0; sub(/.*icmp_seq=/, "", s); sub(/ .*/, "", s)
			r = $0; sub(/.*time=/, "", r); sub(/ .*/, "", r)
			printf "%d %.6f\n", s, t - r / 1000
		}' | sort -n -k1,1 -u
}

# ping_log_rtt_max LOG FROM TO - the longest round trip, seconds, of the
# replies a peer_ping_bg (ping -D) LOG received between FROM and TO (epoch)
ping_log_rtt_max()
{
	tr -d '\r' <"$1" | awk -v from="$2" -v to="$3" '
		/ bytes from .*icmp_seq=.*time=/ {
			t = substr($1, 2, length($1) - 2) + 0
			r = $0; sub(/.*time=/, "", r); sub(/ .*/, "", r)
			if (t >= from && t < to && r + 0 > m) m = r + 0
		}
		END { printf "%.4f\n", m / 1000 }'
}

# ping_log_gaps LOG - the runs of unanswered requests in a peer_ping_bg LOG,
# one a line: "FIRST-SEQ LAST-SEQ COUNT FROM TO", FROM and TO the times
# (epoch) the first and last unanswered request were sent: a reply's request
# went out at its arrival minus its round trip, an unanswered one between
# its answered neighbours, in proportion. Requests after the last reply are
# not counted (still in flight when the log ended).
ping_log_gaps()
{
	ping_log_sends "$1" | awk '
		NR > 1 && $1 > a + 1 {
			b = $1; tb = $2
			printf "%d %d %d %.6f %.6f\n", a + 1, b - 1, b - a - 1,
				ta + (tb - ta) / (b - a), ta + (tb - ta) * (b - a - 1) / (b - a)
		}
		{ a = $1; ta = $2 }'
}

# ping_log_replies_ge LOG FROM N - true once LOG has N replies since FROM
# (for wait_for).
ping_log_replies_ge()
{
	[ "$(ping_log_replies "$1" "$2")" -ge "$3" ]
}

# ping_log_misses_ge LOG FROM N - true once LOG has N misses since FROM.
ping_log_misses_ge()
{
	[ "$(ping_log_misses "$1" "$2")" -ge "$3" ]
}

# mono_to_epoch_offset - epoch minus CLOCK_MONOTONIC now (the daemon stamps
# its log lines with the monotonic clock; ping -D with the epoch), seconds.
mono_to_epoch_offset()
{
	python3 -c 'import time; print("%.6f" % (time.time() - time.monotonic()))' 2>/dev/null ||
		awk -v e="$(now_epoch)" '{ printf "%.6f\n", e - $1 }' /proc/uptime
}

# log_line_epoch FILE REGEX - the epoch time of the last daemon log line
# ("[ mono.usec] level: text") matching REGEX; empty when none.
log_line_epoch()
{
	local off

	off=$(mono_to_epoch_offset)
	grep -E -- "$2" "$1" 2>/dev/null | tail -n 1 |
		sed -n 's/^\[ *\([0-9]*\.[0-9]*\)\].*/\1/p' |
		awk -v o="$off" '{ printf "%.6f\n", $1 + o }'
}

# log_count FILE REGEX - lines of FILE matching an extended REGEX.
log_count()
{
	local n

	n=$(grep -Ec -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

# log_count_ge FILE REGEX N - true once FILE has N lines matching REGEX
# (for wait_for).
log_count_ge()
{
	[ "$(log_count "$1" "$2")" -ge "$3" ]
}

# ---------------------------------------------------------------------------
# QMP: driving a running QEMU (migration, hot-plug)
# ---------------------------------------------------------------------------
# qmp NAME COMMAND-JSON - one QMP command to the QEMU started with
# "-qmp unix:$TMPD/NAME.qmp,server=on,wait=off"; prints the reply's
# "return" (or the whole reply on error) as JSON. 1 on an error reply or no
# reply.
qmp()
{
	python3 - "$TMPD/$1.qmp" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")

def reply():
    while True:		# skip asynchronous events
        line = f.readline()
        if not line:
            sys.exit(1)
        m = json.loads(line)
        if "return" in m or "error" in m:
            return m

f.readline()		# greeting
f.write('{"execute": "qmp_capabilities"}\n')
f.flush()
reply()
f.write(sys.argv[2] + "\n")
f.flush()
m = reply()
print(json.dumps(m.get("return", m)))
sys.exit(0 if "return" in m else 1)
EOF
}

# json_get JSON EXPR - EXPR (python, on j) of the JSON text; empty if absent.
json_get()
{
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
try:
    v = eval(sys.argv[2])
except (KeyError, IndexError, TypeError):
    v = ""
print(v)' "$1" "$2" 2>/dev/null
}

# qmp_events_start NAME - log the QMP events of the QEMU started with a
# second monitor "-qmp unix:$TMPD/NAME.qmpev,server=on,wait=off" (QEMU
# serves one client per monitor) to $TMPD/NAME.events, one line each:
# "EPOCH EVENT [STATUS]", EPOCH being QEMU's own timestamp of the event.
# MIGRATION events are turned on (migrate-set-capabilities events=on).
# Awaits the connection (bound: 30 s); 1 if it did not come.
qmp_events_start()
{
	local name=$1

	: >"$TMPD/$name.events"
	cat >"$TMPD/qmp_events.py" <<'PYEOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
for i in range(300):
    try:
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(1)
f = s.makefile("rw")
out = open(sys.argv[2], "a", buffering=1)
f.readline()
for cmd in ('{"execute": "qmp_capabilities"}',
            '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": '
            '[{"capability": "events", "state": true}]}}'):
    f.write(cmd + "\n")
    f.flush()
    while "event" in json.loads(f.readline()):
        pass
out.write("connected\n")
for line in f:
    m = json.loads(line)
    if "event" not in m:
        continue
    ts = m["timestamp"]
    d = m.get("data") or {}
    out.write("%d.%06d %s %s\n" % (ts["seconds"], ts["microseconds"], m["event"],
                                   d.get("status", d.get("device-id", ""))))
PYEOF
	vxdp_bg "$TMPD/$name.events.err" python3 -u "$TMPD/qmp_events.py" \
		"$TMPD/$name.qmpev" "$TMPD/$name.events"
	wait_for_log "$TMPD/$name.events" '^connected' 30 "$VXDP_LAST_PID"
}

# qmp_event_epoch NAME REGEX [FROM] - QEMU's timestamp of the first event
# line of qmp_events_start NAME matching REGEX ("EVENT STATUS") at or after
# FROM (epoch); empty when none.
qmp_event_epoch()
{
	grep -E -- "^[0-9.]+ ($2)" "$TMPD/$1.events" 2>/dev/null |
		awk -v f="${3:-0}" '$1 >= f { print $1; exit }'
}

# console_start NAME - a reader for a guest's serial console that stamps
# each line with the host's clock as it arrives: QEMU connects to it with
# the arguments left in CONSOLE_ARGS. The console goes, as written, to
# $TMPD/NAME.log and, as "EPOCH LINE", to $TMPD/NAME.ts. Start it before
# QEMU: it is listening when this returns.
console_start()
{
	local name=$1 sock=$TMPD/$1.ser

	: >"$TMPD/$name.log"
	: >"$TMPD/$name.ts"
	rm -f "$sock"
	cat >"$TMPD/console.py" <<'PYEOF'
import socket, sys, time
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(1)
c, _ = srv.accept()
raw = open(sys.argv[2], "ab", buffering=0)
ts = open(sys.argv[3], "a", buffering=1)
buf = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    now = time.time()
    raw.write(d)
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        ts.write("%.6f %s\n" % (now, line.decode(errors="replace").rstrip("\r")))
PYEOF
	vxdp_bg "$TMPD/$name.console.err" python3 -u "$TMPD/console.py" "$sock" \
		"$TMPD/$name.log" "$TMPD/$name.ts"
	wait_for_socket "$sock" 10 || return 1
	CONSOLE_ARGS=(-chardev "socket,id=ser0,path=$sock" -serial chardev:ser0)
}

# console_epoch NAME REGEX - the host time the first console line of NAME
# matching REGEX arrived (console_start); empty when none.
console_epoch()
{
	grep -E -- "^[0-9.]+ .*($2)" "$TMPD/$1.ts" 2>/dev/null | head -n 1 | cut -d' ' -f1
}

# ---------------------------------------------------------------------------
# QEMU failover: a passthrough NIC (primary) and a virtio-net standby on
# vxdp-relay, two "hosts", each NIC's embedded switch a Linux bridge
#
#   netns $NS_RELAY                                           netns $NS_PEER
#   relay A -AF_XDP- $VF   =veth= $FO_VFP_A -+
#   QEMU src: e1000 - tap $FO_TAP_A ---------+ bridge $FO_BR_A - $FO_UP_A =veth=+
#                                                                              + bridge $FO_BR_P
#   relay B -AF_XDP- $FO_VF_B =veth= $FO_VFP_B -+                              |  192.0.2.1/24
#   QEMU dst: e1000 - tap $FO_TAP_B -------------+ bridge $FO_BR_B - $FO_UP_B =veth=+
#
# A guest's MAC reaches its primary (the tap) or its standby (the relay's VF)
# only through a static FDB entry on that port: those ports have learning
# and unicast flooding off (the failover agent's bridge backend sets that),
# the uplink has learning off (what a switch does not know goes there).
# The peer's bridge learns, as a real network does, from the guest's frames
# and the destination's RARP.
# ---------------------------------------------------------------------------
fo_names()
{
	FO_VF_B=${VF}b
	FO_VFP_A=vxsa$VXDP_ID FO_VFP_B=vxsb$VXDP_ID
	FO_TAP_A=vxta$VXDP_ID FO_TAP_B=vxtb$VXDP_ID
	FO_BR_A=vxba$VXDP_ID FO_BR_B=vxbb$VXDP_ID
	FO_UP_A=vxua$VXDP_ID FO_UP_B=vxub$VXDP_ID
	FO_BR_P=vxbp$VXDP_ID
}

# fo_topo_setup - the namespaces, both hosts' switches and the peer's.
fo_topo_setup()
{
	local h vf vfp tap br up

	fo_names
	netns_add "$NS_RELAY" "$NS_PEER" || return 1
	ip -n "$NS_PEER" link add name "$FO_BR_P" type bridge stp_state 0 || return 1
	for h in A B; do
		if [ "$h" = A ]; then
			vf=$VF vfp=$FO_VFP_A tap=$FO_TAP_A br=$FO_BR_A up=$FO_UP_A
		else
			vf=$FO_VF_B vfp=$FO_VFP_B tap=$FO_TAP_B br=$FO_BR_B up=$FO_UP_B
		fi
		VXDP_PINS+=("$vf")
		ip -n "$NS_RELAY" link add name "$br" type bridge stp_state 0 || return 1
		ip -n "$NS_RELAY" link add "$vf" type veth peer name "$vfp" || return 1
		ip -n "$NS_RELAY" tuntap add mode tap name "$tap" || return 1
		ip link add "$up" netns "$NS_RELAY" type veth \
			peer name "${up/vxu/vxp}" netns "$NS_PEER" || return 1
		# complete checksums on the wire, as a NIC would (see topo_setup)
		ip netns exec "$NS_RELAY" ethtool -K "$vfp" tx off >/dev/null 2>&1
		ip netns exec "$NS_PEER" ethtool -K "${up/vxu/vxp}" tx off >/dev/null 2>&1
		for p in "$vfp" "$tap" "$up"; do
			ip -n "$NS_RELAY" link set dev "$p" master "$br" up || return 1
		done
		# An embedded switch delivers a VF's MAC by its static entry and
		# sends whatever else it does not know to the uplink: a bridge
		# learning there would move the guest's entry to the uplink as
		# soon as the other host's RARP came back through it.
		ip netns exec "$NS_RELAY" bridge link set dev "$up" learning off || return 1
		ip -n "$NS_RELAY" link set dev "$vf" up || return 1
		ip -n "$NS_RELAY" link set dev "$br" up || return 1
		ip -n "$NS_PEER" link set dev "${up/vxu/vxp}" master "$FO_BR_P" up || return 1
	done
	ip netns exec "$NS_PEER" ethtool -K "$FO_BR_P" tx off >/dev/null 2>&1
	ip -n "$NS_PEER" addr add "$PEER_IP/$PREFIX_LEN" dev "$FO_BR_P" || return 1
	ip -n "$NS_PEER" link set dev "$FO_BR_P" up
}

# fo_fdb_monitor_start - record FDB changes of every bridge in $NS_RELAY
# (`bridge -timestamp monitor fdb`) into $TMPD/fdb.mon, from now on.
fo_fdb_monitor_start()
{
	vxdp_bg "$TMPD/fdb.mon" ip netns exec "$NS_RELAY" bridge -timestamp monitor fdb
	FO_FDB_MON_PID=$VXDP_LAST_PID
}

# fo_fdb_events [FROM] - the guest MAC's FDB changes recorded so far, at or
# after FROM (epoch), one a line: "EPOCH add|del PORT".
fo_fdb_events()
{
	python3 - "$TMPD/fdb.mon" "$GUEST_MAC" "${1:-0}" <<'PYEOF'
import sys, time
from datetime import datetime
ts = None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if line.startswith("Timestamp: "):
        # "Timestamp: Thu Dec  3 14:11:58 2026 427434 usec", local time
        w = line[len("Timestamp: "):].split()
        t = datetime.strptime(" ".join(w[:5]), "%a %b %d %H:%M:%S %Y")
        ts = time.mktime(t.timetuple()) + int(w[5]) / 1e6
        continue
    w = line.split()
    deleted = w[:1] == ["Deleted"]
    if deleted:
        w = w[1:]
    if ts is None or len(w) < 3 or w[0] != sys.argv[2] or w[1] != "dev" or ts < float(sys.argv[3]):
        continue
    print("%.6f %s %s" % (ts, "del" if deleted else "add", w[2]))
PYEOF
}

# fo_agent_transitions LOG... - the failover agent's transitions in daemon
# logs, on the epoch clock, in order: "EPOCH FROM TO EVENT" (EVENT as
# logged: "qmp-migration", "primary-up", ...).
fo_agent_transitions()
{
	local off

	off=$(mono_to_epoch_offset)
	cat "$@" 2>/dev/null | sed -n 's/^\[ *\([0-9]*\.[0-9]*\)\] [a-z]*: failover [0-9a-f:]*: \([a-z-]*\) -> \([a-z-]*\) on \([a-z-]*\).*/\1 \2 \3 \4/p' |
		awk -v o="$off" '$2 != $3 { printf "%.6f %s %s %s\n", $1 + o, $2, $3, $4 }' | sort -n
}

# fo_fdb_port BR - the port of bridge BR with the guest's static FDB entry
# ("-" when none, "A,B" when several).
fo_fdb_port()
{
	local p

	p=$(ip netns exec "$NS_RELAY" bridge fdb show br "$1" 2>/dev/null |
		awk -v m="$GUEST_MAC" '$1 == m && / static/ { print $3 }' | paste -sd, -)
	echo "${p:--}"
}

# fo_guest_prepare - the tiny guest's initramfs plus its link monitor and
# stream checker (selftests/e2e/failover_mon.c, udpcheck.c, built static)
# as a second cpio archive. Sets FO_INITRD.
fo_guest_prepare()
{
	local p

	guest_prepare || return 1
	rm -rf "$TMPD/fo-overlay"
	mkdir -p "$TMPD/fo-overlay/bin" || return 1
	for p in failover-mon:failover_mon udpcheck:udpcheck; do
		if ! gcc -static -O2 -Wall -Wextra -Werror -o "$TMPD/fo-overlay/bin/vxdp-${p%%:*}" \
			"$VXDP_SELFTESTS/e2e/${p#*:}.c" >"$TMPD/gcc-fo.log" 2>&1; then
			ktap_diag_file "$TMPD/gcc-fo.log" 20 "gcc ${p#*:}.c"
			return 1
		fi
	done
	(cd "$TMPD/fo-overlay" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$TMPD/fo-overlay.cpio.gz" || return 1
	FO_INITRD=$TMPD/fo-initrd.img
	cat "$GUEST_INITRD" "$TMPD/fo-overlay.cpio.gz" >"$FO_INITRD"
}

# fo_guest_links NAME - the guest's link events (VXDP-LINK lines of its
# console, console_start NAME) on the host's clock, one a line:
# "EPOCH EV ROLE UP CARRIER SLAVE IFNAME". The guest stamps them with its
# own clock; the offset to the host's is the smallest difference between
# a stamped line's arrival and its stamp (the VXDP-CLOCK heartbeats give
# many), so an event is placed within the console's quickest delivery
# (milliseconds) rather than its slowest.
fo_guest_links()
{
	tr -d '\r' <"$TMPD/$1.ts" | awk '
		function kv(k,   i) {
			for (i = 2; i <= NF; i++)
				if (index($i, k "=") == 1) return substr($i, length(k) + 2)
			return ""
		}
		$2 == "VXDP-CLOCK" || $2 == "VXDP-LINK" {
			d = $1 - kv("t")
			if (!n++ || d < off) off = d
		}
		$2 == "VXDP-LINK" { l[m++] = $0 }
		END {
			for (i = 0; i < m; i++) {
				$0 = l[i]
				printf "%.6f %s %s %s %s %s %s\n", kv("t") + off, kv("ev"), kv("role"),
					kv("up"), kv("carrier"), kv("slave"), kv("name")
			}
		}'
}

# fo_guest_event NAME FROM AWK-COND - the host time of the first guest link
# event (fo_guest_links) at or after FROM (epoch) for which AWK-COND holds,
# over $2 ev, $3 role, $4 up, $5 carrier, $6 slave; empty when none. E.g.
# primary registered: '$3 == "primary" && $6 == 1'.
fo_guest_event()
{
	fo_guest_links "$1" | awk -v from="$2" "\$1 >= from && ($3) { print \$1; exit }"
}

# fo_qemu_start NAME SOCK TAP AGENT-QMP [QEMU-ARGS...] - a q35 guest
# (failover scenario) with its standby on the vhost-user socket SOCK and its
# primary, an e1000 paired by failover_pair_id, on tap TAP; console through
# console_start NAME (.log, .ts), QMP on $TMPD/NAME.qmp (the test's),
# NAME.qmpev (qmp_events_start) and AGENT-QMP (the failover agent's qmp=).
# Both ends of a migration are configured alike; the destination adds
# -incoming. FO_GUEST_ARGS adds kernel arguments. QEMU reconnects to a relay
# that went away (reconnect=1), as a restarted daemon expects. Sets
# FO_QEMU_PID.
# (vectors=0: QEMU 7.2 under TCG segfaults in vhost_net_start with MSI-X;
# romfile=: no option ROM, whose RAM block a migration would need.)
fo_qemu_start()
{
	local name=$1 sock=$2 tap=$3 aqmp=$4 mem=${FO_GUEST_MEM:-256M}

	shift 4
	rm -f "$aqmp"
	console_start "$name" || return 1
	vxdp_bg "$TMPD/$name.qemu.out" ip netns exec "$NS_RELAY" qemu-system-x86_64 \
		-machine q35 -accel tcg -cpu max -smp 1 -m "$mem" \
		-object "memory-backend-memfd,id=mem,size=$mem,share=on" \
		-numa node,memdev=mem \
		-device pcie-root-port,id=rp1,chassis=1 \
		-device pcie-root-port,id=rp2,chassis=2 \
		-chardev "socket,id=chr0,path=$sock,reconnect=1" \
		-netdev vhost-user,id=hs0,chardev=chr0 \
		-device "virtio-net-pci,netdev=hs0,id=net0,mac=$GUEST_MAC,failover=on,vectors=0,bus=rp1" \
		-netdev "tap,id=hp0,ifname=$tap,script=no,downscript=no" \
		-device "e1000,netdev=hp0,id=pri0,mac=$GUEST_MAC,failover_pair_id=net0,romfile=,bus=rp2" \
		-kernel "$GUEST_KERNEL" -initrd "$FO_INITRD" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 ipv6.disable=1 no_timer_check vxdp.ip=$GUEST_IP/$PREFIX_LEN vxdp.peer=$PEER_IP vxdp.script=failover ${FO_GUEST_ARGS:-}" \
		-nodefaults -display none "${CONSOLE_ARGS[@]}" -no-reboot \
		-qmp "unix:$TMPD/$name.qmp,server=on,wait=off" \
		-qmp "unix:$TMPD/$name.qmpev,server=on,wait=off" \
		-qmp "unix:$aqmp,server=on,wait=off" "$@"
	FO_QEMU_PID=$VXDP_LAST_PID
}

# ---------------------------------------------------------------------------
# Hugepages (DPDK)
# ---------------------------------------------------------------------------
HP_NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HP_FREE=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages

# hugepages_ensure N - make at least N free 2 MiB hugepages available; the old
# pool size is restored on cleanup if we raised it. 1 when the kernel can't.
hugepages_ensure()
{
	local want=$1 nr free

	[ -w "$HP_NR" ] || return 1
	# DPDK needs a hugetlbfs mount; mount one at /dev/hugepages if none is
	if ! awk '$3 == "hugetlbfs" { f = 1 } END { exit !f }' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs nodev /dev/hugepages || return 1
		vxdp_on_cleanup "umount /dev/hugepages"
	fi
	nr=$(cat "$HP_NR")
	free=$(cat "$HP_FREE")
	[ "$free" -ge "$want" ] && return 0
	echo $((nr + want - free)) >"$HP_NR" 2>/dev/null
	vxdp_on_cleanup "echo $nr > $HP_NR"
	[ "$(cat "$HP_FREE")" -ge "$want" ]
}

# dpdk_cleanup_prefix PREFIX - remove a dead DPDK process's runtime dir and
# hugepage files (--file-prefix PREFIX).
dpdk_cleanup_prefix()
{
	local p=$1

	[ -n "$p" ] || return 0
	rm -rf "/var/run/dpdk/$p"
	rm -f /dev/hugepages/"$p"map_* /dev/hugepages/"$p"-*
}

# ---------------------------------------------------------------------------
# XDP helpers on the peer end (bpf/test/vxdp_reflect.bpf.c, bpf/test/vxdp_sink.bpf.c)
# ---------------------------------------------------------------------------
# xdp_attach NS IFNAME OBJ - attach OBJ's SEC("xdp") in native mode,
# replacing whatever program is there.
xdp_attach()
{
	ip -n "$1" link set dev "$2" xdp off 2>/dev/null
	ip -n "$1" link set dev "$2" xdpdrv obj "$3" sec xdp
}

# xdp_prog_map NS IFNAME NAME - the id of map NAME of IFNAME's XDP program.
# Prints nothing and fails without one.
xdp_prog_map()
{
	local id m

	id=$(ip -n "$1" link show dev "$2" 2>/dev/null |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$id" ] || return 1
	for m in $(bpftool -j prog show id "$id" |
		perl -MJSON::PP -0777 -ne 'print join(" ", @{decode_json($_)->{map_ids} || []})'); do
		if bpftool -j map show id "$m" | grep -q "\"name\":\"$3\""; then
			echo "$m"
			return 0
		fi
	done
	return 1
}

# xdp_prog_counter NS IFNAME [FIELD] - sum over CPUs of stats[0].FIELD
# (packets by default, or bytes) of IFNAME's XDP program's per-CPU "stats"
# map (struct vxdp_counter). Prints nothing and fails without a program.
xdp_prog_counter()
{
	local map

	map=$(xdp_prog_map "$1" "$2" stats) || return 1
	bpftool -j map lookup id "$map" key 0 0 0 0 | FIELD=${3:-packets} perl -MJSON::PP -0777 -ne '
		my $d = decode_json($_);
		my $f = $ENV{FIELD};
		my $sum = 0;
		if ($d->{formatted}) {		# with BTF: named fields
			$sum += $_->{value}{$f} for @{$d->{formatted}{values}};
		} else {			# raw bytes: packets then bytes, u64 LE
			my $off = $f eq "bytes" ? 8 : 0;
			for my $v (@{$d->{values}}) {
				my @b = map { hex } @{$v->{value}};
				my $n = 0;
				$n = $n * 256 + $b[$off + $_] for reverse 0 .. 7;
				$sum += $n;
			}
		}
		print "$sum\n";'
}

# ---------------------------------------------------------------------------
# DPDK testpmd as a vhost-user client (net_virtio_user)
# ---------------------------------------------------------------------------
# testpmd_start LOG PREFIX SOCK[,SOCK...] TESTPMD-ARGS... - start dpdk-testpmd
# with a virtio-user port on each vhost-user socket SOCK and await forwarding.
# TESTPMD_VDEV_OPTS adds net_virtio_user devargs (e.g. "mrg_rxbuf=0").
# Sets TESTPMD_PID and TESTPMD_T0 (start of forwarding, ns since epoch).
testpmd_start()
{
	local log=$1 prefix=$2 socks=$3 rc sock i=0 vdevs=()

	shift 3
	for sock in ${socks//,/ }; do
		vdevs+=(--vdev "net_virtio_user$i,path=$sock,queues=1${TESTPMD_VDEV_OPTS:+,$TESTPMD_VDEV_OPTS}")
		i=$((i + 1))
	done
	vxdp_on_cleanup "dpdk_cleanup_prefix $prefix"
	# in the relay netns only so that a leftover can be found and reaped
	vxdp_bg "$log" ip netns exec "$NS_RELAY" dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci \
		--file-prefix "$prefix" -m 256 --single-file-segments \
		"${vdevs[@]}" -- \
		--total-num-mbufs=8192 --stats-period 1 "$@"
	TESTPMD_PID=$VXDP_LAST_PID
	wait_for_log "$log" 'Start automatic packet forwarding|packet forwarding - ports=' \
		30 "$TESTPMD_PID"
	rc=$?
	TESTPMD_T0=$(date +%s%N)
	[ "$rc" -ne 0 ] && ktap_diag_file "$log" 20 "testpmd output"
	return $rc
}

# testpmd_rx LOG - testpmd's latest periodic RX-packets count
testpmd_rx()
{
	tr -d '\r' <"$1" | sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' | tail -n 1
}

# testpmd_rx_ge LOG N - it reached N (for wait_for)
testpmd_rx_ge()
{
	local n

	n=$(testpmd_rx "$1")
	[ "${n:-0}" -ge "$2" ]
}

# testpmd_stop LOG PREFIX - SIGINT, await its exit (it prints its final
# forward statistics), remove its runtime files. Sets TESTPMD_SECS (time it
# was forwarding), TESTPMD_RX/TESTPMD_TX (accumulated forward statistics)
# TESTPMD_PEAK_PPS (highest Rx-pps of its periodic port statistics) and
# TESTPMD_RX_PPS/TESTPMD_TX_PPS (mean of those 1 s samples). Rates come from
# the samples: testpmd notices SIGINT only at its next stats tick, so its
# totals cover up to a second more than TESTPMD_SECS.
testpmd_stop()
{
	local log=$1 prefix=$2 clean=$TMPD/testpmd.clean

	TESTPMD_SECS=$(awk -v a="$TESTPMD_T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	vxdp_stop "$TESTPMD_PID" INT 20
	dpdk_cleanup_prefix "$prefix"
	# strip the terminal escapes testpmd puts around its periodic stats
	tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"$clean"
	TESTPMD_RX=$(sed -n '/Accumulated forward statistics/,/+++++++/s/.*RX-packets: *\([0-9]*\).*/\1/p' "$clean" | tail -n 1)
	TESTPMD_TX=$(sed -n '/Accumulated forward statistics/,/+++++++/s/.*TX-packets: *\([0-9]*\).*/\1/p' "$clean" | tail -n 1)
	# no final summary (killed?): fall back to the last periodic counters
	[ -n "$TESTPMD_RX" ] || TESTPMD_RX=$(sed -n 's/.*RX-packets: *\([0-9]*\).*/\1/p' "$clean" | tail -n 1)
	[ -n "$TESTPMD_TX" ] || TESTPMD_TX=$(sed -n 's/.*TX-packets: *\([0-9]*\).*/\1/p' "$clean" | tail -n 1)
	TESTPMD_PEAK_PPS=$(sed -n 's/.*Rx-pps: *\([0-9]*\).*/\1/p' "$clean" | sort -n | tail -n 1)
	# mean of the 1 s samples, the first (start-up) one left out
	TESTPMD_RX_PPS=$(sed -n 's/.*Rx-pps: *\([0-9]*\).*/\1/p' "$clean" |
		awk 'NR > 1 { s += $1; n++ } END { printf "%.0f", n ? s / n : 0 }')
	TESTPMD_TX_PPS=$(sed -n 's/.*Tx-pps: *\([0-9]*\).*/\1/p' "$clean" |
		awk 'NR > 1 { s += $1; n++ } END { printf "%.0f", n ? s / n : 0 }')
	: "${TESTPMD_RX:=0}" "${TESTPMD_TX:=0}" "${TESTPMD_PEAK_PPS:=0}"
}

# ---------------------------------------------------------------------------
# The hostile frontend (selftests/e2e/hostile/vxdp-hostile) and what a
# daemon holds
# ---------------------------------------------------------------------------
# hostile OUT ARGS... - run vxdp-hostile ARGS (--target, probes, attacks),
# its key=value result lines to OUT, its diagnostics to OUT.err; returns its
# status (0 held, 1 did not, 2 harness failure).
hostile()
{
	local out=$1

	shift
	"$HOSTILE_BIN" "$@" >"$out" 2>"$out.err"
}

# hostile_kv OUT WHAT KEY - KEY's value in OUT's first line that has WHAT
# ("attack=drip", "probe=data") and KEY; empty when absent.
hostile_kv()
{
	local line

	line=$(grep -E -- "(^| )$2( |\$)" "$1" | grep -E -- " $3=" | head -n 1)
	kv "$line" "$3"
}

# hostile_diag OUT - its result lines and diagnostics as TAP diagnostics.
hostile_diag()
{
	ktap_diag "$(cat "$1" "$1.err" 2>/dev/null)"
}

# hostile_parse OUT - HRES[WHAT.KEY] for every "WHAT KEY=VALUE ..." pair in
# vxdp-hostile's result file OUT (the first value wins; read them with
# hostile_val), and HOSTILE_OUT=OUT. Parsed in one go: a process per lookup
# costs seconds on a loaded machine.
declare -A HRES
hostile_parse()
{
	HOSTILE_OUT=$1
	HRES=()
	eval "$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "=");
		k = $1 "." kv[1]; if (!(k in seen)) { seen[k] = 1;
		v = substr($i, length(kv[1]) + 2); gsub(/[^A-Za-z0-9_.:-]/, "", v);
		printf "HRES[%s]=%s\n", k, v } } }' "$1")"
}

# hostile_attack NAME TARGET [ARGS...] - run attack NAME on TARGET with the
# neighbour probes HOSTILE_PROBES (an array: --probe-data, --probe-ctl,
# --max-wait, --daemon-pid ...); its results parsed (hostile_parse). Sets
# HOSTILE_LOG0 (RELAY_LOG's length before) and HOSTILE_RC (its status).
# An attack lost on the neighbours' time alone (none lost, the daemon
# alive) is run once more and the second run is the one checked: a wait
# of the machine's own (the disk, the hypervisor) can hit any one run,
# while a relay that stalls its neighbours stalls them in both. A test
# that checks more of their time than the worst wait names its check in
# HOSTILE_TIME_OK (a command, true when the figures are in bound): a run
# that fails it on time alone is run once more too.
hostile_attack()
{
	local name=$1 target=$2 try

	shift 2
	for try in 1 2; do
		HOSTILE_LOG0=$(wc -l <"$RELAY_LOG")
		hostile "$TMPD/$name.out" --target "$target" "${HOSTILE_PROBES[@]}" "$@" "$name"
		HOSTILE_RC=$?
		[ "$HOSTILE_RC" -eq 2 ] && hostile_diag "$TMPD/$name.out"
		hostile_parse "$TMPD/$name.out"
		[ "$try" -eq 1 ] && { hostile_late_only || hostile_slow_only; } || break
		ktap_diag "$name: the neighbours' waits over their bound once (worst B $(hostile_val probe=data worst_ms) ms, C $(hostile_val probe=ctl worst_ms) ms; raw $(hostile_val probe=data worst_raw_ms) / $(hostile_val probe=ctl worst_raw_ms) ms; mean $(hostile_val probe=data mean_ms) / $(hostile_val probe=ctl mean_ms) ms), nothing lost: the attack once more"
		hostile_diag "$TMPD/$name.out"
	done
}

# hostile_late_only - the last attack's probes saw a wait over the bound,
# but none was lost, each probe ran, and the daemon is alive
hostile_late_only()
{
	local p over=0

	[ "$HOSTILE_RC" -eq 1 ] && proc_alive "$RELAY_PID" || return 1
	for p in data ctl; do
		[ -z "$(hostile_val probe=$p n)" ] && continue	# not probed
		[ "$(hostile_val probe=$p lost)" = 0 ] || return 1
		[ "$(hostile_val probe=$p over)" = 0 ] 2>/dev/null || over=1
	done
	[ "$over" -eq 1 ]
}

# hostile_slow_only - the last attack held (none lost, the daemon alive)
# but failed the test's own time check HOSTILE_TIME_OK
hostile_slow_only()
{
	[ -n "$HOSTILE_TIME_OK" ] && [ "$HOSTILE_RC" -eq 0 ] && proc_alive "$RELAY_PID" &&
		! $HOSTILE_TIME_OK
}

# hostile_val WHAT KEY - a value of the last attack ("attack=drip" dropped)
hostile_val()
{
	printf '%s\n' "${HRES[$1.$2]}"
}

# hostile_lines REGEX - daemon log lines since the last attack began
# matching REGEX (extended)
hostile_lines()
{
	log_since "$RELAY_LOG" "$HOSTILE_LOG0" | grep -Ec -- "$1"
}

# hostile_neighbours NAME - the check that the neighbours answered in time
# all through the last attack: at least HOSTILE_MIN_PROBES (10) probes each,
# none lost, none over HOSTILE_MAX_WAIT_MS (20), and the daemon alive. A
# wait is counted without the time the daemon's workers or the probe sat on
# a run queue (the machine's other load); both figures are printed.
hostile_neighbours()
{
	local p ok=0 max=${HOSTILE_MAX_WAIT_MS:-20}

	for p in data ctl; do
		[ "$(hostile_val probe=$p lost)" = 0 ] &&
			[ "$(hostile_val probe=$p over)" = 0 ] &&
			[ "$(hostile_val probe=$p n)" -ge "${HOSTILE_MIN_PROBES:-10}" ] 2>/dev/null ||
			ok=1
	done
	proc_alive "$RELAY_PID" || ok=1
	ktap_result $ok "$1: daemon alive, neighbours answer within $max ms (worst: B datapath $(hostile_val probe=data worst_ms) ms over $(hostile_val probe=data n) frames, C control $(hostile_val probe=ctl worst_ms) ms over $(hostile_val probe=ctl n) requests)" ||
		hostile_diag "$HOSTILE_OUT"
	ktap_diag "$1: worst waits with run-queue time included: B $(hostile_val probe=data worst_raw_ms) ms, C $(hostile_val probe=ctl worst_raw_ms) ms"
	return $ok
}

# proc_nfds PID - how many fds PID has open.
proc_nfds()
{
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# proc_rss_kib PID - PID's resident set, KiB (VmRSS).
proc_rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# log_since FILE LINE - FILE from line LINE + 1 on (LINE: `wc -l` before).
log_since()
{
	tail -n +"$(($2 + 1))" "$1"
}
