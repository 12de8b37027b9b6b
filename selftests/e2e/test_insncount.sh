#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The workload behind tools/bench/vxdp-insncount (build/vxdp-vqload), natively,
# without valgrind: every case must finish with every frame checked (the
# workload compares each byte and header it moves, and exits 1 otherwise),
# and the same frames must come out the same whichever ring and direction
# carried them. Cheap (well under a second), no root, no network; the
# instruction counts themselves are `make bench`'s business.

. "$(dirname "$0")/../lib.sh"

LOAD_BIN=${LOAD_BIN:-$BUILD/vxdp-vqload}
PACKETS=2048

[ -x "$LOAD_BIN" ] || ktap_skip_all "$LOAD_BIN not built"
TMPF=$(mktemp /tmp/vxdp-insncount.XXXXXX) || exit 1
trap 'rm -f "$TMPF"' EXIT

ktap_plan 4

CASES=$("$LOAD_BIN" --list)
ncases=$(echo "$CASES" | wc -l)
[ "$ncases" -ge 8 ]
ktap_result $? "workload lists its cases ($ncases)"

timeout 20 "$LOAD_BIN" --packets $PACKETS >"$TMPF" 2>&1
rc=$?
[ $rc -eq 0 ] || ktap_diag_file "$TMPF"
ktap_result $rc "every case runs and every frame checks out (exit $rc)"

# One line per case, each with every measured frame checked.
bad=$(awk -v n=$PACKETS '/^case=/ {
		split($2, p, "="); split($3, o, "=")
		if (p[2] != n || o[2] != n) print $1; seen++
	} END { if (seen == 0) print "no cases" }' "$TMPF")
want=$(echo "$CASES" | sed 's/^/case=/' | sort)
got=$(grep -o '^case=[^ ]*' "$TMPF" | sort)
[ -z "$bad" ] && [ "$want" = "$got" ]
ktap_result $? "each case reports $PACKETS frames, all checked${bad:+ (not: $bad)}"

# The frames are the same sequence in every case of a size, so their
# checksums must agree: a datapath that drops, repeats or reorders frames
# in one ring layout or direction only stands out. Offload cases (-csum,
# -tso, -gro) carry TCP frames of their own: each kind is its own group.
mism=$(awk '/^case=/ {
		split($1, c, "="); split($5, s, "=")
		n = split(c[2], part, "-"); size = part[3]
		if (n > 3 && part[4] != "mrg") size = size "-" part[4]
		if (size in sum && sum[size] != s[2]) print c[2]
		sum[size] = s[2]
	}' "$TMPF")
[ -z "$mism" ]
ktap_result $? "same frames, same checksum across rings and directions${mism:+ (differs: $mism)}"

ktap_finish
