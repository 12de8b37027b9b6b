#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install DESTDIR=...: the tree it installs holds the daemon, vxdpctl,
# the unit (its paths filled in), the man pages, the scripts, the BPF
# objects and the example config (and a starter /etc/vxdp-relay.conf, never
# overwritten); the installed daemon runs (--version, --test-config, a relay
# on a veth that the installed vxdpctl lists); man -l renders each page
# without a warning, and the pages list every option and command of the
# tables they are generated from. No guest: a few seconds.

. "$(dirname "$0")/../lib.sh"

vxdp_init
command -v man >/dev/null || ktap_skip_all "man (man-db) not installed (make deps)"

ktap_plan 9

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"

DEST=$TMPD/dest
case $BUILD in */sanitize) san=1 ;; *) san=0 ;; esac
make -s -C "$VXDP_SRC" install DESTDIR="$DEST" BUILD="$BUILD" SANITIZE=$san \
	>"$TMPD/install.log" 2>&1
ktap_result $? "make install DESTDIR=... succeeds" || ktap_diag_file "$TMPD/install.log" 20 "make install"

# 2: what it installs ------------------------------------------------------------
P=$DEST/usr/local
missing=
for f in sbin/vxdp-relay sbin/vxdpctl sbin/vxdp-vf libexec/vxdp-relay/vxdp-libvirt-hook \
	lib/systemd/system/vxdp-relay.service lib/vxdp-relay/bpf/vxdp_steer.bpf.o \
	share/man/man8/vxdp-relay.8 share/man/man8/vxdpctl.8 share/man/man5/vxdp-relay.conf.5 \
	share/doc/vxdp-relay/vxdp-relay.conf.example ../../etc/vxdp-relay.conf; do
	[ -s "$P/$f" ] || missing+=" $f"
done
for f in sbin/vxdp-relay sbin/vxdpctl sbin/vxdp-vf libexec/vxdp-relay/vxdp-libvirt-hook; do
	[ -x "$P/$f" ] || missing+=" $f(not executable)"
done
grep -qx 'ExecStart=/usr/local/sbin/vxdp-relay --config /etc/vxdp-relay.conf' \
	"$P/lib/systemd/system/vxdp-relay.service" || missing+=" ExecStart="
[ -z "$missing" ]
ktap_result $? "daemon, vxdpctl, scripts, unit (paths filled in), BPF objects, man pages, configs${missing:+; missing:$missing}"

# 3: the installed daemon runs ----------------------------------------------------
ver=$("$P/sbin/vxdp-relay" --version 2>&1)
conf=$("$P/sbin/vxdp-relay" --config "$DEST/etc/vxdp-relay.conf" --test-config 2>&1)
ex=$("$P/sbin/vxdp-relay" --config "$P/share/doc/vxdp-relay/vxdp-relay.conf.example" --test-config 2>&1)
nex=$(grep -c '^\[relay' "$P/share/doc/vxdp-relay/vxdp-relay.conf.example")
ktap_diag "$ver; starter config: $conf; example ($nex relay sections): $ex"
[[ $ver == "vxdp-relay "[0-9]* ]] && [[ $conf == *"fine: 0 relays"* ]] && [ "$nex" -ge 1 ] &&
	[[ $ex == *"fine: $nex relays"* ]]
ktap_result $? "installed daemon: --version, --test-config of the starter and the example config"

# 4-5: a relay from the installed tree, listed by the installed vxdpctl ---------------
RELAY_BIN=$P/sbin/vxdp-relay relay_start "$TMPD/relay.log" --relay "vf=$VF,socket=$TMPD/v.sock"
ktap_result $? "the installed daemon starts a relay on a veth"
out=$(VXDPCTL_BIN=$P/sbin/vxdpctl vxdpctl list 2>&1)
[[ $out == *"$VF"* ]]
ktap_result $? "the installed vxdpctl lists it" || ktap_diag "vxdpctl list: $out"
vxdp_stop "$RELAY_PID"

# 6-8: each man page renders without warnings and lists its table ----------------------
# man_lists PAGE ITEM... - every ITEM (an option or command name) in PAGE's text
man_lists()
{
	local page=$1 text item

	shift
	text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
	for item in "$@"; do
		grep -qF -- "$item" <<<"$text" || { ktap_diag "$page: no '$item'"; return 1; }
	done
}
daemon_opts=$("$RELAY_BIN" --help=markdown | sed -n 's/^| `\(--[a-z-]*\).*/\1/p')
relay_keys=$("$RELAY_BIN" --help=markdown | sed -n 's/^| `\([a-z-]*\)=.*/\1=/p')
file_keys=$(sed 's/^--//' <<<"$daemon_opts" | grep -vx 'config\|test-config\|relay')
cmds=$("$VXDPCTL_BIN" help markdown | sed -n 's/^| `vxdpctl \([a-z]*\).*/\1/p')
for page in vxdp-relay.8 vxdpctl.8 vxdp-relay.conf.5; do
	f=$(find "$P/share/man" -name "$page")
	MANWIDTH=80 man --warnings=all -l "$f" >"$TMPD/$page.txt" 2>"$TMPD/$page.err"
	rc=$?
	case $page in
	vxdp-relay.8) items=($daemon_opts $relay_keys) ;;
	vxdpctl.8) items=($cmds $relay_keys --socket --json) ;;
	*) items=($(sed 's/.*/&=/' <<<"$file_keys") $relay_keys) ;;
	esac
	[ "$rc" -eq 0 ] && [ ! -s "$TMPD/$page.err" ] && grep -q '^NAME' "$TMPD/$page.txt" &&
		man_lists "$f" "${items[@]}"
	ktap_result $? "man -l $page: no warning, lists its ${#items[@]} options/commands" ||
		ktap_diag_file "$TMPD/$page.err" 10 "man warnings"
done

# 9: a second install keeps an edited config -------------------------------------
echo "# edited" >>"$DEST/etc/vxdp-relay.conf"
make -s -C "$VXDP_SRC" install DESTDIR="$DEST" BUILD="$BUILD" SANITIZE=$san >>"$TMPD/install.log" 2>&1
tail -n 1 "$DEST/etc/vxdp-relay.conf" | grep -qx '# edited'
ktap_result $? "make install again leaves an existing /etc/vxdp-relay.conf alone"

ktap_finish
