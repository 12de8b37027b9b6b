#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The daemon as its systemd unit runs it (tools/dist/vxdp-relay.service.in):
# the unit file passes `systemd-analyze verify` (installed with make
# install), and the daemon started the unit's way - its ExecStart with a
# config file of two relays, NOTIFY_SOCKET (a datagram socket this test
# reads), RUNTIME_DIRECTORY, the unit's UMask and exactly its
# CapabilityBoundingSet - says READY=1 only once both relays are up (XDP on
# both VFs, the server socket listening), STATUS= lines before and after,
# RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; with stderr the
# journal's stream (JOURNAL_STREAM) its lines carry <N> priorities and name
# their relay. Killed (as Restart=on-failure would find it), it starts again
# with the same capabilities; a relay that cannot start fails the start, no
# READY=1, the failure in STATUS=. No guest: a few seconds.

. "$(dirname "$0")/../lib.sh"

UNIT_IN=$VXDP_SRC/tools/dist/vxdp-relay.service.in

vxdp_init
command -v systemd-analyze >/dev/null || ktap_skip_all "systemd-analyze not installed (make deps)"
command -v setpriv >/dev/null || ktap_skip_all "setpriv (util-linux) not installed"
command -v python3 >/dev/null || ktap_skip_all "python3 missing"

ktap_plan 12

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
topo_add_vfs 1 || ktap_abort "cannot create the second veth pair"
VFB=${EXTRA_VFS[0]}

# 1: the unit, as make install writes it, verifies -----------------------------
# (installed into a prefix of its own so that ExecStart= and the man pages
# of Documentation= exist where the unit says)
PFX=$TMPD/prefix
make -s -C "$VXDP_SRC" install BUILD="$BUILD" PREFIX="$PFX" SYSCONFDIR="$PFX/etc" \
	>"$TMPD/install.log" 2>&1 || ktap_diag_file "$TMPD/install.log" 20 "make install"
UNIT=$PFX/lib/systemd/system/vxdp-relay.service
MANPATH=$PFX/share/man systemd-analyze verify "$UNIT" >"$TMPD/verify.log" 2>&1
rc=$?
# (it also reports other units it loads on the way: only ours counts)
! grep -q 'vxdp-relay' "$TMPD/verify.log" && [ "$rc" -eq 0 ]
ktap_result $? "systemd-analyze verify passes the installed unit" ||
	ktap_diag_file "$TMPD/verify.log" 20 "systemd-analyze verify"

# unit_key KEY - the value of KEY= in the unit (the first)
unit_key()
{
	sed -n "s/^$1=//p" "$UNIT" | head -n 1
}
CAPS=$(unit_key CapabilityBoundingSet)
UMASK=$(unit_key UMask)
EXEC=$(unit_key ExecStart)
BOUNDING=$(unit_caps "$UNIT")
ktap_diag "unit: ExecStart=$EXEC, CapabilityBoundingSet=$CAPS, UMask=$UMASK"

# The notify socket: every datagram one line, with what was up when it came.
NOTIFY=$TMPD/notify.sock
NOTES=$TMPD/notify.log
RUNDIR=$TMPD/run
mkdir -p "$RUNDIR/vm"
cat >"$TMPD/notify.py" <<'EOF'
import os, socket, subprocess, sys
path, out, ns, sock, vfs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        up = []
        if "READY=1" in msg:
            # what is up the moment READY=1 arrives
            up.append("socket=%d" % os.path.exists(sock))
            for vf in vfs:
                link = subprocess.run(["ip", "-n", ns, "-d", "link", "show", "dev", vf],
                                      capture_output=True, text=True).stdout
                up.append("%s=%d" % (vf, " xdp" in link or "prog/xdp" in link))
        f.write(msg.replace("\n", "|") + " " + " ".join(up) + "\n")
EOF
vxdp_bg "$TMPD/notify.out" python3 "$TMPD/notify.py" "$NOTIFY" "$NOTES" "$NS_RELAY" \
	"$RUNDIR/vm/a.sock" "$VF" "$VFB"
wait_for 10 test -S "$NOTIFY" || ktap_abort "notify listener did not start"

CONF=$TMPD/vxdp-relay.conf
cat >"$CONF" <<EOF
[relay a]
vf = $VF
socket = $RUNDIR/vm/a.sock

[relay b]
vf = $VFB
socket = $RUNDIR/vm/b.sock
mode = client
EOF
VXDP_PINS+=(a b)

# unit_start LOG - the daemon of ExecStart= with our config file, as systemd
# would start it: NOTIFY_SOCKET, RUNTIME_DIRECTORY, UMask, the capability
# bounding set, stderr the journal's stream. Sets RELAY_PID.
unit_start()
{
	local log=$1 args

	: >"$log"
	read -r -a args <<<"${EXEC#* }"
	args=("${args[@]/#*vxdp-relay.conf/$CONF}")
	netns_argv "$NS_RELAY"
	vxdp_bg "$log.out" "${NETNS_ARGV[@]}" sh -c 'umask "$1"; shift
		export JOURNAL_STREAM=$(stat -L -c %d:%i "$1"); log=$1; shift
		exec "$@" 2>>"$log"' unit "$UMASK" "$log" \
		env NOTIFY_SOCKET="$NOTIFY" RUNTIME_DIRECTORY="$RUNDIR" \
		setpriv --bounding-set "$BOUNDING" --inh-caps=-all -- "$RELAY_BIN" "${args[@]}"
	RELAY_PID=$VXDP_LAST_PID
}

# 2-5: start: STATUS=, then READY=1 with everything up ---------------------------
unit_start "$TMPD/relay.log"
wait_for 30 grep -q 'READY=1' "$NOTES"
ktap_result $? "READY=1 arrives" || ktap_diag_file "$TMPD/relay.log" 30 "relay log"
ready=$(grep -m 1 'READY=1' "$NOTES")
ktap_diag "at READY=1: ${ready##* STATUS}"
[[ $ready == *"socket=1 $VF=1 $VFB=1"* ]]
ktap_result $? "READY=1 only once both relays are up (XDP on both VFs, the server socket there)"
before=$(sed -n '1,/READY=1/p' "$NOTES" | grep -c 'STATUS=starting relay')
[ "$before" -ge 2 ] && [[ $ready == *"STATUS=2 relays running"* ]]
ktap_result $? "STATUS= says each relay starting ($before lines), then '2 relays running'" ||
	ktap_diag_file "$NOTES" 10 "notifications"
# (the daemon's PID from its control socket, in RUNTIME_DIRECTORY: check 6)
hello=$(netns_exec "$NS_RELAY" "$VXDPCTL_BIN" --socket "$RUNDIR/control.sock" -j hello 2>&1)
pid_relay=$(json_get "$hello" 'j["pid"]')
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid_relay/status" 2>/dev/null)
want=$(python3 -c 'import sys
names = {"net_admin": 12, "net_raw": 13, "ipc_lock": 14, "bpf": 39}
print("%016x" % sum(1 << names[c.lower().replace("cap_", "")] for c in sys.argv[1:]))' $CAPS)
ktap_diag "daemon $pid_relay: CapEff $capeff, the unit's set $want"
[ -n "$capeff" ] && [ "$capeff" = "$want" ]
ktap_result $? "it runs with exactly the unit's capabilities"

# 6: the control socket in RUNTIME_DIRECTORY ------------------------------------
[ "$(json_get "$hello" 'j["relays"]')" = 2 ]
ktap_result $? "the control socket is \$RUNTIME_DIRECTORY/control.sock, 2 relays" ||
	ktap_diag "vxdpctl hello: $hello"

# 7: journal stream: <N> priorities, lines about a relay name it ------------------
grep -q '^<5>a: xdp_steer\|^<[0-7]>a: ' "$TMPD/relay.log" &&
	grep -q '^<[0-7]>b: ' "$TMPD/relay.log" && ! grep -q '^\[' "$TMPD/relay.log"
ktap_result $? "stderr as the journal's stream: <N> prefixes, relay lines named 'a: ', 'b: '" ||
	ktap_diag_file "$TMPD/relay.log" 10 "relay log"

# 8: SIGHUP: RELOADING=1, then READY=1 ----------------------------------------
n=$(wc -l <"$NOTES")
kill -HUP "$pid_relay"
wait_for 10 eval 'tail -n +$((n + 1)) "$NOTES" | grep -q READY=1'
tail -n +$((n + 1)) "$NOTES" >"$TMPD/reload.notes"
head -n 1 "$TMPD/reload.notes" | grep -q 'RELOADING=1.*MONOTONIC_USEC=' &&
	grep -q 'READY=1' "$TMPD/reload.notes"
ktap_result $? "SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1" ||
	ktap_diag_file "$TMPD/reload.notes" 5 "notifications"

# 9: killed, it starts again under the same capabilities ------------------------
{ vxdp_stop "$RELAY_PID" KILL 10; } 2>/dev/null
n=$(grep -c 'READY=1' "$NOTES")
unit_start "$TMPD/relay2.log"
wait_for 30 eval '[ "$(grep -c READY=1 "$NOTES")" -gt "$n" ]'
ktap_result $? "after SIGKILL the unit's restart comes up again (no XDP program left to remove)" ||
	ktap_diag_file "$TMPD/relay2.log" 20 "relay log"

# 10: SIGTERM: STOPPING=1, exit 0 ------------------------------------------------
vxdp_stop "$RELAY_PID" TERM 15
rc=$VXDP_STOP_RC
tail -n 1 "$NOTES" | grep -q 'STOPPING=1'
ktap_result $? "SIGTERM: STOPPING=1, exit status $rc" || ktap_diag_file "$NOTES" 5 "notifications"
[ "$rc" -eq 0 ]
ktap_result $? "exit status 0 after SIGTERM"

# 12: a relay that cannot start fails the start, without READY=1 -----------------
sed -i "s/^vf = $VFB$/vf = vxnone$VXDP_ID/" "$CONF"
n=$(grep -c 'READY=1' "$NOTES")
unit_start "$TMPD/relay3.log"
wait_for_exit "$RELAY_PID" 30
vxdp_stop "$RELAY_PID" TERM 5
rc=$VXDP_STOP_RC
failed=$(grep 'STATUS=relay b' "$NOTES" | tail -n 1)
ktap_diag "exit $rc; ${failed:-no failure status}"
[ "$rc" -eq 1 ] && [ "$(grep -c 'READY=1' "$NOTES")" -eq "$n" ] && [ -n "$failed" ]
ktap_result $? "a relay that cannot start: exit 1, no READY=1, STATUS= names it" ||
	ktap_diag_file "$TMPD/relay3.log" 10 "relay log"

ktap_finish
