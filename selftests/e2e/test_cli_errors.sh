#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vxdp-relay's command line and failure paths: every bad input must end in a
# clear message on stderr and a non-zero exit status, never in a crash (a
# signal, an exit status >= 128, a sanitizer report) or a hang, and must
# leave nothing behind (socket file, XDP program, pinned maps). A healthy
# relay must keep running when a second daemon tries its VF, and must exit 0,
# removing its socket, on SIGTERM and on SIGINT.
#
# Every daemon run happens inside the test's own "relay" netns, so a
# misparsed interface name can never reach a host interface.

. "$(dirname "$0")/../lib.sh"

vxdp_init
ktap_plan 30

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
bpffs_ensure

BADIF=vxno$$			# an interface that does not exist
OTHER_NAME=vxot$$		# a second relay name (pins) for the busy case
VXDP_PINS+=("$OTHER_NAME")
HEALTHY=0			# 1 while a healthy relay is expected on $VF
RUN_NR=0

# run_relay ARGS... - run the daemon to completion in the relay netns,
# bounded; sets RC, OUT, ERR (file names).
run_relay()
{
	RUN_NR=$((RUN_NR + 1))
	OUT=$TMPD/run$RUN_NR.out
	ERR=$TMPD/run$RUN_NR.err
	netns_argv "$NS_RELAY"
	timeout -k 5 20 "${NETNS_ARGV[@]}" "$RELAY_BIN" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
}

# leftovers - describe anything a failed start left behind (nothing while
# no healthy relay is expected to run).
leftovers()
{
	local s

	[ "$HEALTHY" -eq 1 ] && return 0
	for s in "$TMPD"/*.sock; do
		[ -e "$s" ] && echo "socket $s left behind"
	done
	xdp_attached "$NS_RELAY" "$VF" && echo "XDP program left on $VF"
	[ -e "$VXDP_PIN_ROOT/$RELAY_NAME" ] && echo "pins $VXDP_PIN_ROOT/$RELAY_NAME left behind"
	[ -e "$VXDP_PIN_ROOT/$OTHER_NAME" ] && echo "pins $VXDP_PIN_ROOT/$OTHER_NAME left behind"
	return 0
}

# expect_error NAME REGEX ARGS... - the daemon must refuse ARGS with exit
# status 1..123 (124-127: timeout/exec failures, >= 128: killed by a signal),
# a stderr message matching REGEX (extended, case-insensitive), no sanitizer
# report and no leftovers. REGEX names the problem, never a word of the
# input itself (the daemon may echo the spec back). With EXPECT_RC set, the
# exit status must be exactly that.
expect_error()
{
	local name=$1 re=$2 why="" left

	shift 2
	run_relay "$@"
	if [ "$RC" -eq 0 ]; then
		why="exit status 0"
	elif [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		why="still running after 20 s (accepted the input?)"
	elif [ "$RC" -ge 128 ]; then
		why="crashed: exit status $RC (signal $((RC - 128)))"
	elif [ "$RC" -ge 124 ]; then
		why="could not be run: exit status $RC"
	elif [ -n "${EXPECT_RC:-}" ] && [ "$RC" -ne "$EXPECT_RC" ]; then
		why="exit status $RC, expected $EXPECT_RC"
	elif ! grep -Eiq -- "$re" "$ERR"; then
		why="no message matching /$re/ on stderr"
	elif ! sanitizer_clean "$ERR"; then
		why="sanitizer report"
	fi
	left=$(leftovers)
	[ -n "$left" ] && why="${why:+$why; }$left"
	if [ -z "$why" ]; then
		ktap_ok "$name"
		ktap_diag "exit $RC: $(head -n 1 "$ERR")"
	else
		ktap_fail "$name"
		ktap_diag "args: $*"
		ktap_diag "$why"
		ktap_diag_file "$ERR" 10 "stderr"
	fi
}

S=$TMPD/vhost.sock
# words that state what is wrong, or a constraint ("1-15 characters")
USAGE_RE='usage|invalid|malformed|missing|unknown|unrecognized|bad|expected|require|empty|must|too long|no --relay|unexpected|characters|bytes|[0-9]-[0-9]'

# 1: --help ------------------------------------------------------------------
run_relay --help
[ "$RC" -eq 0 ] && grep -q -- '--relay' "$OUT"
ktap_result $? "--help exits 0 and describes --relay" || {
	ktap_diag "exit $RC"
	ktap_diag_file "$OUT" 5 stdout
	ktap_diag_file "$ERR" 5 stderr
}

# 2-14: malformed command lines ----------------------------------------------
expect_error "no relay, no config file, no control socket" "$USAGE_RE" --control none
expect_error "unknown option" "$USAGE_RE" --no-such-option
expect_error "--relay without a value" "$USAGE_RE" --relay
expect_error "--relay spec without key=value" "$USAGE_RE" --relay garbage
expect_error "--relay without socket=" "$USAGE_RE" --relay "vf=$VF"
expect_error "--relay without vf=" "$USAGE_RE" --relay "socket=$S"
expect_error "--relay with an unknown key" "$USAGE_RE" --relay "vf=$VF,socket=$S,bogus=1"
expect_error "--relay with a malformed mac=" "$USAGE_RE" --relay "vf=$VF,socket=$S,mac=zz:zz:zz"
expect_error "--relay with empty values" "$USAGE_RE" --relay "vf=,socket="
expect_error "--relay with a 16-character interface name" "$USAGE_RE|long" \
	--relay "vf=vxdp0123456789ab,socket=$S"
expect_error "--relay with a socket path longer than sun_path" "$USAGE_RE|long" \
	--relay "vf=$VF,socket=$TMPD/$(printf 'x%.0s' $(seq 120)).sock"
expect_error "--relay with a relay name containing '/'" "$USAGE_RE" \
	--relay "vf=$VF,socket=$S,name=../escape"
expect_error "--log-level out of range" "$USAGE_RE" --log-level 9 --relay "vf=$VF,socket=$S"

# 15-19: --workers and --busy-poll out of range or not a number: usage errors (exit 2)
EXPECT_RC=2 expect_error "--workers 0" "$USAGE_RE" --workers 0 --relay "vf=$VF,socket=$S"
EXPECT_RC=2 expect_error "--workers 257 (over the limit)" "$USAGE_RE" \
	--workers 257 --relay "vf=$VF,socket=$S"
EXPECT_RC=2 expect_error "--workers not a number" "$USAGE_RE" --workers 2x --relay "vf=$VF,socket=$S"
EXPECT_RC=2 expect_error "--busy-poll over 1000 us" "$USAGE_RE" --busy-poll 1001 --relay "vf=$VF,socket=$S"
EXPECT_RC=2 expect_error "--busy-poll negative" "$USAGE_RE" --busy-poll -1 --relay "vf=$VF,socket=$S"

# 20-23: inputs that parse but can't work ------------------------------------
expect_error "unknown interface" "no such|not found|unknown|exist" \
	--relay "vf=$BADIF,socket=$S"
expect_error "socket path in a missing directory" "no such|director|exist|missing" \
	--relay "vf=$VF,socket=$TMPD/missing/dir/vhost.sock"
expect_error "loopback (no XDP for the relay, not Ethernet)" "xdp|ethernet|support|loopback" \
	--relay "vf=lo,socket=$S"
expect_error "the same vf twice on one command line" "twice|duplicate|already|same|more than once|repeat" \
	--relay "vf=$VF,socket=$TMPD/a.sock" --relay "vf=$VF,socket=$TMPD/b.sock"

# 24-27: a second daemon on a VF that a running relay holds -----------------
relay_start "$TMPD/healthy.log" --relay "vf=$VF,socket=$S"
ktap_result $? "a healthy relay starts on $VF" || ktap_abort "no healthy relay"
HEALTHY=1
expect_error "second daemon on the same VF (other name) is refused" \
	"already|busy|attached|in use" --relay "vf=$VF,socket=$TMPD/b.sock,name=$OTHER_NAME"
expect_error "second daemon on the same VF (same name) is refused" \
	"already|busy|attached|in use|exist" --relay "vf=$VF,socket=$TMPD/b.sock"

why=""
proc_alive "$RELAY_PID" || why="first relay died"
[ -S "$S" ] || why="$why; its socket is gone"
xdp_attached "$NS_RELAY" "$VF" || why="$why; its XDP program is gone"
[ -e "$VXDP_PIN_ROOT/$RELAY_NAME/stats" ] || why="$why; its pins are gone"
[ -e "$TMPD/b.sock" ] && why="$why; the refused daemon left b.sock"
[ -e "$VXDP_PIN_ROOT/$OTHER_NAME" ] && why="$why; the refused daemon left pins $OTHER_NAME"
[ -z "$why" ]
ktap_result $? "refused second daemons leave the running relay intact" || ktap_diag "${why#; }"

# 28-29: SIGTERM on the healthy relay -----------------------------------------
vxdp_stop "$RELAY_PID" TERM 15
HEALTHY=0
[ "$VXDP_STOP_RC" -eq 0 ] && sanitizer_clean "$RELAY_LOG"
ktap_result $? "SIGTERM: relay exits 0 (status $VXDP_STOP_RC)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
left=$(leftovers)
[ -z "$left" ]
ktap_result $? "SIGTERM: socket removed, XDP detached, pins removed" || ktap_diag "$left"

# 30: SIGINT on a fresh relay -------------------------------------------------
if relay_start "$TMPD/sigint.log" --relay "vf=$VF,socket=$S"; then
	vxdp_stop "$RELAY_PID" INT 15
	left=$(leftovers)
	[ "$VXDP_STOP_RC" -eq 0 ] && [ -z "$left" ] && sanitizer_clean "$RELAY_LOG"
	ktap_result $? "SIGINT: relay exits 0 and cleans up (status $VXDP_STOP_RC)" || {
		ktap_diag "$left"
		ktap_diag_file "$RELAY_LOG" 20 "relay log"
	}
else
	ktap_fail "SIGINT: relay did not start again on $VF"
fi

ktap_finish
