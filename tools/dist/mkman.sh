#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkman.sh TEMPLATE OUT BUILD - a man page from its template (tools/dist/man/):
# each line '.\" @generated: PROG ARGS...' becomes what $BUILD/PROG ARGS
# prints (the option and command tables, so they are written once, in the
# code), and @VERSION@ and @DATE@ are filled in from the daemon and the
# source's last commit.
set -eu

in=$1 out=$2 build=$3
version=$("$build/vxdp-relay" --version | awk '{ print $2 }')
date=$(git -C "$(dirname "$in")" log -1 --format=%cs 2>/dev/null || date -u +%Y-%m-%d)
tmp=$out.tmp

: >"$tmp"
while IFS= read -r line; do
	case $line in
	'.\" @generated: '*)
		cmd=${line#'.\" @generated: '}
		# shellcheck disable=SC2086	# PROG ARGS, split on purpose
		set -- $cmd
		prog=$1
		shift
		"$build/$prog" "$@" >>"$tmp"
		;;
	*)
		printf '%s\n' "$line" | sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$date/g" >>"$tmp"
		;;
	esac
done <"$in"
mv "$tmp" "$out"
