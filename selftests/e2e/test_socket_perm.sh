#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# owner=, group= and perm= on the listening vhost-user socket (server mode):
# the socket must carry exactly that ownership and mode, and the kernel must
# then let in exactly who the mode allows - checked by connecting as other,
# unprivileged users (setpriv, no capabilities, no supplementary groups).
# In mode=client QEMU creates the socket, so the three options are refused
# at parse time (usage error, nothing touched). No QEMU needed: the relay
# only has to listen, on a veth "VF".
#
#   netns relay: vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF (netns peer)
#      | $TMPD/sock/vhost.sock  <- connect() as uid 65534 / 65533, as root
#
# Relay 1: owner=nobody (by name),group=<a group by name>,perm=0660
#   owner (uid 65534) may connect, a group member may, anyone else: EACCES.
# Relay 2: owner=0,group=0,perm=0600 (by number)
#   uid 65534 now gets EACCES; root still connects; the relay warns that
#   only root can connect (relay 1 does not).
# Then the parse-time refusals, and a client-mode relay under the unit's
# capabilities (no CAP_DAC_OVERRIDE) whose QEMU socket it may not write to:
# the line it logs names the likely cause (libvirt's QEMU user).

. "$(dirname "$0")/../lib.sh"

NOBODY_UID=65534
OTHER_UID=65533			# no passwd entry needed for setpriv
OTHER_GID=65533

vxdp_init
command -v setpriv >/dev/null || ktap_skip_all "setpriv (util-linux) not installed"
command -v stat >/dev/null || ktap_skip_all "stat (coreutils) not installed"
# an interpreter the unprivileged users can run (pyenv shims under /root
# are not)
PY=
for p in /usr/bin/python3 "$(command -v python3)"; do
	[ -n "$p" ] || continue
	if setpriv --reuid=$OTHER_UID --regid=$OTHER_GID --clear-groups "$p" -c pass 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || ktap_skip_all "no python3 that an unprivileged user (uid $OTHER_UID) can run"
# a group that is neither root's nor nobody's, by name
GROUP=$(getent group users | cut -d: -f1)
[ -n "$GROUP" ] || GROUP=$(awk -F: '$3 >= 1 && $3 < 1000 { print $1; exit }' /etc/group)
[ -n "$GROUP" ] || ktap_skip_all "no group with a gid in 1..999 in /etc/group"
GROUP_GID=$(getent group "$GROUP" | cut -d: -f3)
NOBODY=$(getent passwd $NOBODY_UID | cut -d: -f1)
[ -n "$NOBODY" ] || ktap_skip_all "no user with uid $NOBODY_UID (nobody) in /etc/passwd"

ktap_plan 17

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
bpffs_ensure

# The socket's directory must be searchable by the unprivileged users, so
# that only the socket's own mode decides (mktemp -d made $TMPD 0700).
chmod 0711 "$TMPD"
mkdir -m 0755 "$TMPD/sock"
SOCK=$TMPD/sock/vhost.sock

# connect_as UID GID - connect() to $SOCK as UID:GID, no supplementary
# groups, no capabilities; prints "connected" or the errno name (EACCES ...)
connect_as()
{
	ip netns exec "$NS_RELAY" setpriv --reuid="$1" --regid="$2" --clear-groups \
		"$PY" -c '
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
' "$SOCK" 2>&1
}

# expect_connect NAME UID GID RESULT - connect_as must print RESULT; after a
# successful connect (and close), await the relay logging the disconnect so
# that the next client is not refused as a second frontend.
expect_connect()
{
	local name=$1 want=$4 got n

	n=$(log_count "$RELAY_LOG" 'frontend disconnected')
	got=$(connect_as "$2" "$3")
	ktap_diag "connect as uid $2 gid $3: $got"
	if [ "$got" = connected ]; then
		wait_for 10 log_count_ge "$RELAY_LOG" 'frontend disconnected' $((n + 1)) ||
			ktap_diag "relay did not log the connection ending"
	fi
	[ "$got" = "$want" ]
	ktap_result $? "$name"
}

# relay_end NAME - SIGTERM: exit 0 and the socket removed
relay_end()
{
	vxdp_stop "$RELAY_PID" TERM 15
	[ "$VXDP_STOP_RC" -eq 0 ] && [ ! -e "$SOCK" ] && sanitizer_clean "$RELAY_LOG"
	ktap_result $? "$1: relay exits 0 on SIGTERM, socket removed" ||
		ktap_diag_file "$RELAY_LOG" 20 "relay log"
}

# 1-6: owner=nobody,group=$GROUP,perm=0660 (names) ----------------------------
relay_start "$TMPD/relay1.log" --relay "vf=$VF,socket=$SOCK,owner=$NOBODY,group=$GROUP,perm=0660"
ktap_result $? "relay with owner=$NOBODY,group=$GROUP,perm=0660 listens" ||
	ktap_abort "relay did not start"
st=$(stat -c '%u %g %a %F' "$SOCK" 2>&1)
ktap_diag "stat $SOCK: $st ($(stat -c '%U:%G %A' "$SOCK" 2>&1))"
[ "$st" = "$NOBODY_UID $GROUP_GID 660 socket" ]
ktap_result $? "socket is $NOBODY:$GROUP ($NOBODY_UID:$GROUP_GID), mode 0660"
expect_connect "the owner (uid $NOBODY_UID) may connect" $NOBODY_UID $NOBODY_UID connected
expect_connect "a member of $GROUP (uid $OTHER_UID gid $GROUP_GID) may connect" $OTHER_UID "$GROUP_GID" connected
expect_connect "anyone else (uid $OTHER_UID gid $OTHER_GID) is refused with EACCES" $OTHER_UID $OTHER_GID EACCES
! grep -q 'only root can connect' "$RELAY_LOG"
ktap_result $? "no 'only root can connect' warning for a socket its owner $NOBODY may use"
relay_end "owner=$NOBODY,group=$GROUP,perm=0660"

# 7-11: owner=0,group=0,perm=0600 (numbers) ---------------------------------------
relay_start "$TMPD/relay2.log" --relay "vf=$VF,socket=$SOCK,owner=0,group=0,perm=0600"
ktap_result $? "relay with owner=0,group=0,perm=0600 listens" ||
	ktap_abort "relay did not start"
st=$(stat -c '%u %g %a %F' "$SOCK" 2>&1)
ktap_diag "stat $SOCK: $st"
[ "$st" = "0 0 600 socket" ]
ktap_result $? "socket is 0:0, mode 0600"
expect_connect "uid $NOBODY_UID (not the owner now) is refused with EACCES" $NOBODY_UID $NOBODY_UID EACCES
n=$(log_count "$RELAY_LOG" 'frontend disconnected')
got=$(ip netns exec "$NS_RELAY" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected")' "$SOCK" 2>&1)
ktap_diag "connect as root: $got"
[ "$got" = connected ] && wait_for 10 log_count_ge "$RELAY_LOG" 'frontend disconnected' $((n + 1))
ktap_result $? "root (the owner) connects, the relay takes it as its frontend"
grep -h 'only root can connect' "$RELAY_LOG" | sed 's/^/# relay: /'
grep -q "socket $SOCK: only root can connect.*libvirt-qemu" "$RELAY_LOG"
ktap_result $? "a socket only root may use is warned about at start-up, naming libvirt's QEMU user"
relay_end "owner=0,group=0,perm=0600"

# 12-14: refused at parse time -----------------------------------------------------
# parse_refused NAME REGEX SPEC - exit 2 (usage), REGEX in the message, and
# nothing touched: no socket, no XDP program, no pins
parse_refused()
{
	local rc err=$TMPD/parse.err

	netns_argv "$NS_RELAY"
	timeout -k 5 20 "${NETNS_ARGV[@]}" "$RELAY_BIN" --relay "$3" </dev/null >/dev/null 2>"$err"
	rc=$?
	ktap_diag "--relay $3: exit $rc: $(head -n 3 "$err")"
	[ "$rc" -eq 2 ] && grep -Eqi -- "$2" "$err" && [ ! -e "$SOCK" ] &&
		! xdp_attached "$NS_RELAY" "$VF" && [ ! -e "$VXDP_PIN_ROOT/$RELAY_NAME" ] &&
		sanitizer_clean "$err"
	ktap_result $? "$1"
}
parse_refused "mode=client with perm= is refused at parse time (exit 2, nothing touched)" \
	'mode=server' "vf=$VF,socket=$SOCK,mode=client,perm=0660"
parse_refused "mode=client with owner=/group= is refused at parse time" \
	'mode=server' "vf=$VF,socket=$SOCK,mode=client,owner=$NOBODY,group=$GROUP"
parse_refused "an unknown owner is refused at parse time" \
	'no such user' "vf=$VF,socket=$SOCK,owner=vxdp-no-such-user-$$"

# 17: client mode, QEMU's socket not writable by the relay ----------------------
# (the relay as its unit runs it: without CAP_DAC_OVERRIDE root obeys the
# socket's mode; uid $OTHER_UID stands in for libvirt's QEMU, its socket
# 0755 in a directory of its own)
mkdir -m 0755 "$TMPD/qemu" && chown $OTHER_UID:$OTHER_GID "$TMPD/qemu"
QSOCK=$TMPD/qemu/vm.sock
vxdp_bg "$TMPD/listener.log" ip netns exec "$NS_RELAY" setpriv --reuid=$OTHER_UID \
	--regid=$OTHER_GID --clear-groups sh -c 'umask 022; exec "$1" -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
time.sleep(60)" "$2"' sh "$PY" "$QSOCK"
wait_for_socket "$QSOCK" 10
RELAY_CAPS=$(unit_caps) relay_start "$TMPD/relay3.log" --relay "vf=$VF,socket=$QSOCK,mode=client"
wait_for_log "$RELAY_LOG" 'waiting for QEMU' 10 "$RELAY_PID"
grep -h 'waiting for QEMU' "$RELAY_LOG" | sed 's/^/# relay: /'
grep -q "waiting for QEMU to listen on $QSOCK (Permission denied: .*libvirt-qemu.*setgid" "$RELAY_LOG"
ktap_result $? "client mode, EACCES: the line names the cause (QEMU's user, the directory to use)"
vxdp_stop "$RELAY_PID" TERM 15

ktap_finish
