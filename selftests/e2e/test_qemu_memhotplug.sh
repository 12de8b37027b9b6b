#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: memory hot-plug of a QEMU guest (TCG) whose virtio-net is
# served by vxdp-relay, through VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS.
#
#   netns relay                              netns peer
#   vxdp-relay --AF_XDP-- $VF ====veth==== $PEER_IF 192.0.2.1/24
#      | vhost-user socket
#   QEMU guest eth0 192.0.2.2/24 (tools/dev/mkguest.sh "pingidle"), QMP socket
#
# QEMU 7.2 with CONFIGURE_MEM_SLOTS negotiated hands its memory over as one
# ADD_MEM_REG per region instead of SET_MEM_TABLE, plugs a DIMM with one
# more ADD_MEM_REG and unplugs it with REM_MEM_REG. The guest boots with
# memhp_default_state=online_movable, so its kernel onlines the DIMM by
# itself and, the memory being movable, can offline it again when QEMU asks
# for it back (ACPI eject): the unplug then completes without a shell in
# the guest.
#
# Checks: the protocol feature is negotiated and the boot memory arrives as
# ADD_MEM_REG; the guest pings the peer; the DIMM's region reaches the relay
# (gpa and size as QEMU reports them) and the guest accepts the DIMM (ACPI
# OST); the peer pings the guest at 0% loss before, after the plug and
# after the unplug, whose REM_MEM_REG names the same region; no ring broke;
# a clean SIGTERM with no sanitizer report.
#
# The guest's rx buffers are not steered into the DIMM: its kernel puts
# network buffers in ZONE_NORMAL, never in movable memory, and memory onlined
# as ZONE_NORMAL could not be unplugged again. The unit tests cover buffers
# in an added region (test_vhost_user: "mem slots").
#
# Knobs (environment): PING_COUNT (5), DIMM_SIZE (128M), RELAY_BIN,
# VXDP_KEEP_TMP=1 (keep logs).

. "$(dirname "$0")/../lib.sh"

PING_COUNT=${PING_COUNT:-5}
PING_INTERVAL=0.2
DIMM_SIZE=${DIMM_SIZE:-128M}
PLUG_TIMEOUT=30			# QMP command -> relay log line

vxdp_init
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 not installed (make deps)"
command -v python3 >/dev/null || ktap_skip_all "python3 not installed (QMP)"

ktap_plan 11

relay_bin_check || ktap_abort "daemon not built"
topo_setup || ktap_abort "cannot create the netns/veth topology"
guest_prepare || ktap_abort "cannot build the guest initramfs"

SOCK=$TMPD/vhost.sock
dimm_bytes=$(numfmt --from=iec "$DIMM_SIZE") || ktap_abort "bad DIMM_SIZE $DIMM_SIZE"
dimm_hex=$(printf '0x%x' "$dimm_bytes")

# ping_check NAME DATA-SIZE - the peer pings the guest, all answered.
ping_check()
{
	peer_ping "$PING_COUNT" "$2" "$PING_INTERVAL"
	local rc=$?

	ktap_diag "peer->guest $(($2 + 42))-byte frames $1: rx=${PING_RX:-?}/$PING_COUNT loss=${PING_LOSS:-?}%"
	ktap_result $rc "peer pings the guest $1, 0% loss" || ktap_diag "$PING_OUT"
}

# elapsed EPOCH - seconds since EPOCH (now_epoch), 0.1 s resolution.
elapsed()
{
	awk -v a="$1" -v b="$(now_epoch)" 'BEGIN { printf "%.1f", b - a }'
}

# 1: the relay, logging region changes (info) ------------------------------
relay_start "$TMPD/relay.log" --log-level 6 --relay "vf=$VF,socket=$SOCK,mac=$GUEST_MAC"
ktap_result $? "relay on $VF listens on its vhost-user socket" ||
	ktap_abort "relay did not start"

# 2-3: a guest with a free DIMM slot and QMP --------------------------------
GUEST_MEM_OPTS="slots=2,maxmem=1G" \
GUEST_QEMU_ARGS="-qmp unix:$TMPD/guest.qmp,server=on,wait=off" \
	guest_boot "$SOCK" pingidle "$TMPD/guest.log" \
	"vxdp.count=$PING_COUNT vxdp.interval=$PING_INTERVAL memhp_default_state=online_movable"
ktap_result $? "guest boots with a free DIMM slot, virtio-net on the relay" || {
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
	ktap_abort "guest did not boot"
}
boot_regions=$(log_count "$RELAY_LOG" 'memory region added: ')
ktap_diag "boot memory: $boot_regions region(s) by ADD_MEM_REG"
grep -q 'CONFIGURE_MEM_SLOTS negotiated' "$RELAY_LOG" && [ "$boot_regions" -ge 1 ]
ktap_result $? "QEMU negotiates CONFIGURE_MEM_SLOTS and adds its memory region by region" || {
	grep -q 'CONFIGURE_MEM_SLOTS negotiated' "$RELAY_LOG" ||
		ktap_diag "not negotiated: does the relay offer it (relay_protocol_features)?"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
}

# 4: the guest reaches the peer ---------------------------------------------
wait_for_log "$GUEST_LOG" 'VXDP-IDLE' $((40 + 2 * PING_COUNT)) "$QEMU_PID"
r=$(guest_result ping1400)
ktap_diag "guest->peer 1400-byte frames: ${r:-no result}"
[ -n "$r" ] && [ "$(kv "$r" loss)" = "0%" ] && [ "$(kv "$r" rx)" = "$PING_COUNT" ]
ktap_result $? "guest pings the peer through the relay, 0% loss"

# 5: before the plug --------------------------------------------------------
ping_check "before the plug" 1358

# 6-7: plug a DIMM ------------------------------------------------------------
plugged=1
t0=$(now_epoch)
if qmp guest "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-memfd\", \"id\": \"hp1\", \"size\": $dimm_bytes, \"share\": true}}" >"$TMPD/qmp.out" &&
	qmp guest '{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm1", "memdev": "hp1"}}' >>"$TMPD/qmp.out"; then
	devs=$(qmp guest '{"execute": "query-memory-devices"}')
	gpa=$(json_get "$devs" 'hex(j[0]["data"]["addr"])')
	ktap_diag "QEMU placed dimm1 ($DIMM_SIZE) at ${gpa:-?}"
	re="memory region added: gpa ${gpa:-none} size $dimm_hex "
	wait_for_log "$RELAY_LOG" "$re" "$PLUG_TIMEOUT" "$RELAY_PID"
	plugged=$?
	ktap_diag "plug: the relay logged the region $(elapsed "$t0") s after object-add"
else
	ktap_diag "QMP: $(cat "$TMPD/qmp.out")"
fi
ktap_result $plugged "DIMM plugged: the relay maps its region (ADD_MEM_REG, gpa ${gpa:-?} size $dimm_hex)" ||
	ktap_diag_file "$RELAY_LOG" 20 "relay log"

# The guest's kernel reports the DIMM through ACPI _OST: 0 = accepted.
ost_ok()
{
	local st

	st=$(qmp guest '{"execute": "query-acpi-ospm-status"}') || return 1
	[ "$(json_get "$st" '[d["status"] for d in j if d.get("device") == "dimm1"][0]')" = 0 ] &&
		[ "$(json_get "$st" '[d["source"] for d in j if d.get("device") == "dimm1"][0]')" = 1 ]
}
wait_for 20 ost_ok
ktap_result $? "the guest accepts the DIMM (ACPI OST: insert, success)" ||
	ktap_diag "$(qmp guest '{"execute": "query-acpi-ospm-status"}')"

# 8: traffic with the DIMM in --------------------------------------------------
ping_check "after the plug" 1358

# 9-10: unplug it ----------------------------------------------------------------
# The guest offlines the movable memory and ejects it; QEMU then takes the
# region back from the relay.
unplugged=1
t0=$(now_epoch)
if [ "$plugged" -eq 0 ] &&
	qmp guest '{"execute": "device_del", "arguments": {"id": "dimm1"}}' >"$TMPD/qmp.out"; then
	wait_for_log "$RELAY_LOG" "memory region removed: gpa $gpa size $dimm_hex " \
		"$PLUG_TIMEOUT" "$RELAY_PID"
	unplugged=$?
	ktap_diag "unplug: the relay logged the removal $(elapsed "$t0") s after device_del"
else
	ktap_diag "QMP: $(cat "$TMPD/qmp.out")"
fi
ktap_result $unplugged "DIMM unplugged: the relay unmaps the same region (REM_MEM_REG)" || {
	ktap_diag "$(qmp guest '{"execute": "query-acpi-ospm-status"}')"
	ktap_diag_file "$RELAY_LOG" 20 "relay log"
}
ping_check "after the unplug" 1358

# 11: no ring broke, clean exit ----------------------------------------------------
broken=$(log_count "$RELAY_LOG" 'not inside guest memory|malformed descriptor chain|REM_MEM_REG: no region|guest_mem: region .* refused')
vxdp_stop "$RELAY_PID" TERM 15
ktap_diag "relay exit status after SIGTERM: $VXDP_STOP_RC; ring/region errors logged: $broken"
[ "$VXDP_STOP_RC" -eq 0 ] && [ "$broken" -eq 0 ] && sanitizer_clean "$RELAY_LOG"
ktap_result $? "no ring or region error, relay exits 0 on SIGTERM, no sanitizer report" ||
	ktap_diag_file "$RELAY_LOG" 40 "relay log"

ktap_finish
