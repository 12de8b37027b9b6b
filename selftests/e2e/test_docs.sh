#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The documentation the option and command tables generate stays true: the
# README's option and vxdpctl tables are what the binaries print
# (vxdp-relay --help=markdown, vxdpctl help markdown), and the example config
# file parses (vxdp-relay --test-config). No root, no network.

. "$(dirname "$0")/../lib.sh"

ktap_plan 5

README=$VXDP_SRC/README.md
EXAMPLE=$VXDP_SRC/tools/dist/vxdp-relay.conf.example
TMP=$(mktemp -d) || ktap_abort "no temp dir"
trap 'rm -rf "$TMP"' EXIT
[ -x "$RELAY_BIN" ] && [ -x "$VXDPCTL_BIN" ] || ktap_abort "vxdp-relay or vxdpctl not built (make)"

# readme_block CMD - the README's block marked "<!-- generated: CMD -->"
readme_block()
{
	awk -v m="<!-- generated: $1 -->" '$0 == m { on = 1; next }
		/^<!-- end generated -->$/ { on = 0 } on' "$README"
}

# 1-2: README tables -------------------------------------------------------------
for cmd in "vxdp-relay --help=markdown" "vxdpctl help markdown"; do
	bin=$BUILD/${cmd%% *}
	"$bin" ${cmd#* } >"$TMP/want" 2>&1
	readme_block "$cmd" >"$TMP/have"
	diff -u "$TMP/have" "$TMP/want" >"$TMP/diff"
	ktap_result $? "README's table is what '$cmd' prints" || {
		ktap_diag "regenerate the README block from build/$cmd"
		ktap_diag_file "$TMP/diff" 20 "diff README -> $cmd"
	}
done

# 3: the example config ----------------------------------------------------------
# (its owner= is libvirt-qemu, a user this machine may lack)
sed 's/^owner = libvirt-qemu$/owner = root/' "$EXAMPLE" >"$TMP/example.conf"
out=$("$RELAY_BIN" --config "$TMP/example.conf" --test-config 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [[ $out == *"configuration fine: 3 relays"* ]]
ktap_result $? "tools/dist/vxdp-relay.conf.example parses: $out"

# 4-5: --test-config on a broken file ----------------------------------------------
printf '[daemon]\nworkers = 2\n\n[relay a]\nvf = eth0\nsocket = /run/a.sock\nmtu = 9000\n' >"$TMP/bad.conf"
out=$("$RELAY_BIN" --config "$TMP/bad.conf" --test-config 2>&1)
rc=$?
[ "$rc" -eq 2 ] && [[ $out == *"$TMP/bad.conf:7: key 'mtu'"* ]]
ktap_result $? "--test-config names the broken line and key (exit $rc): $out"
"$RELAY_BIN" --config "$TMP/missing.conf" --test-config >"$TMP/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "$TMP/missing.conf: No such file" "$TMP/out"
ktap_result $? "--test-config on a missing file: exit $rc, named"

ktap_finish
