#!/bin/bash
#
# t-forged: a rogue host on the LAN sends damaged and misdirected dnbd
# datagrams (tests/tools/dnbd-forge) while a client reads.  The read must
# return the exact image, the client must count each kind of forgery under
# its drop counter, and the server must reject forged requests (bad CRC)
# and answer out-of-range ones with an ERROR.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-32}
# Rate-limited so the read lasts a few seconds under the forged traffic.
RATE=8M

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21
net_add_host rogue 10.77.0.66

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--rate "$RATE" --stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"

# The image id as any client sees it.
net_run cl "$DNBD_CAT" -b "$GROUP" --list --timeout 20 >"$W/list.txt" \
	2>"$W/list.log" || fail "dnbd-cat --list failed: $(cat "$W/list.log")"
info "list: $(cat "$W/list.txt")"
read -r _ name _ id _ size _ < <(grep -m1 '^image ' "$W/list.txt") ||
	fail "no 'image ...' line in the --list output"
[[ "$id" =~ ^0x[0-9a-f]{16}$ ]] || fail "bad id '$id' in --list output"
[[ "$size" == "$(size_of "$W/disk.img")" ]] ||
	fail "--list size $size != file size"
srv_id=$(json_get "$W/srv.json" '.images[0].id') || srv_id=missing
[[ "$srv_id" == "$id" ]] || fail "--list id $id != server stats id $srv_id"
info "image $name id $id size $size"

# forge KIND COUNT [args]: the rogue sends to the group, in the background,
# COUNT datagrams 10 ms apart (bounded: at most COUNT/100 seconds).
forge_bg() {
	local kind=$1 count=$2
	shift 2
	net_bg rogue "$W/forge-$kind.log" "$DNBD_FORGE" --to "$GROUP" \
		--port 5001 --iface eth0 --kind "$kind" --image-id "$id" \
		--size "$size" --count "$count" --interval-ms 10 "$@"
}

forge_pids=()
for kind in reply-badcrc reply-foreign reply-range reply-trunc \
	announce-bogus garbage; do
	forge_bg "$kind" 30000
	forge_pids+=("$NET_LAST_PID")
done

start=$EPOCHREALTIME
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	-v --stats "$W/cl.json"
rc=0
wait_exit "$NET_LAST_PID" 480 || rc=$?
secs=$(elapsed_since "$start")
for pid in "${forge_pids[@]}"; do
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
((rc == 0)) || fail "dnbd-cat exited $rc after $secs s under forged traffic"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] ||
	fail "sha256 $got != source ($(size_of "$W/cl.out") bytes)"
pass "sha256 matches under forged traffic ($secs s)"

cc() { json_num "$W/cl.json" ".counters.$1"; }
info "client: $(jq -c '.counters | {crc_failures, drop_image, drop_range,
	drop_length, drop_short, drop_field, drop_magic, drop_segsize}' \
	"$W/cl.json")"
(($(cc crc_failures) > 0)) || fail "client crc_failures is 0 (reply-badcrc)"
(($(cc drop_image) > 0)) || fail "client drop_image is 0 (reply-foreign)"
(($(cc drop_range) > 0)) || fail "client drop_range is 0 (reply-range)"
(($(cc drop_length) + $(cc drop_short) > 0)) ||
	fail "client drop_length + drop_short is 0 (reply-trunc)"
pass "client counted every kind of forged reply"

# Now forged requests to the server: a broken CRC, then past the end.
for kind in read-badcrc read-range; do
	net_run rogue "$DNBD_FORGE" --to "$GROUP" --port 5001 --iface eth0 \
		--kind "$kind" --image-id "$id" --size "$size" --count 20 \
		--interval-ms 5 2>>"$W/forge-$kind.log" ||
		fail "dnbd-forge --kind $kind failed"
done
sc() { json_num "$W/srv.json" ".counters.$1"; }
server_saw_forgeries() {
	(($(sc crc_failures) > 0 && $(sc requests_out_of_range) > 0 &&
		$(sc errors_sent) > 0))
}
# The stats file is rewritten every second; give a slow machine time.
wait_for 15 server_saw_forgeries || true
info "server: $(jq -c '.counters | {crc_failures, requests_out_of_range,
	errors_sent, drop_length, drop_field}' "$W/srv.json")"
(($(sc crc_failures) > 0)) || fail "server crc_failures is 0 (read-badcrc)"
(($(sc requests_out_of_range) > 0)) ||
	fail "server requests_out_of_range is 0 (read-range)"
(($(sc errors_sent) > 0)) || fail "server errors_sent is 0 (read-range)"
pass "server rejected forged requests and answered out-of-range with ERROR"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
