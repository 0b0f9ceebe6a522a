#!/bin/bash
#
# t-range: partial reads (--offset/--length) return exactly the bytes that
# dd would, reads past the end fail clearly, and an image that grows under
# a running server is reported as changed and no longer served.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21

# 8 MiB and 777 bytes: the last segment is a short one.
IMG=$W/disk.img
make_image "$IMG" 8
head -c 777 /dev/urandom >>"$IMG"
size=$(size_of "$IMG")
info "image: $size bytes"

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$IMG" -i 1 \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"

# cat_range TAG ARGS...: dnbd-cat with ARGS, stdout to TAG.out, status back.
cat_range() {
	local tag=$1 rc=0
	shift
	net_run cl timeout -k 5 120 "$DNBD_CAT" -b "$GROUP" \
		--timeout "${CAT_TIMEOUT:-20}" "$@" \
		>"$W/$tag.out" 2>"$W/$tag.log" || rc=$?
	return "$rc"
}

# expect_range TAG OFFSET LENGTH|end: the read equals the same range of the
# source, cut with dd (byte offsets, no pipe: pipefail and SIGPIPE).
expect_range() {
	local tag=$1 off=$2 len=$3 rc=0
	if [[ "$len" == end ]]; then
		cat_range "$tag" --offset "$off" || rc=$?
		dd if="$IMG" of="$W/$tag.want" iflag=skip_bytes skip="$off" \
			bs=1M status=none
	else
		cat_range "$tag" --offset "$off" --length "$len" || rc=$?
		dd if="$IMG" of="$W/$tag.want" iflag=skip_bytes,count_bytes \
			skip="$off" count="$len" bs=1M status=none
	fi
	((rc == 0)) || fail "--offset $off --length $len: exit $rc:" \
		"$(head -c 300 "$W/$tag.log")"
	cmp -s "$W/$tag.out" "$W/$tag.want" ||
		fail "--offset $off --length $len: $(size_of "$W/$tag.out") bytes" \
			"differ from the source range ($(size_of "$W/$tag.want") bytes)"
	pass "--offset $off --length $len: $(size_of "$W/$tag.out") bytes match"
}

expect_range mid 1234567 3456789
expect_range first 0 1
expect_range seg 1399 2
expect_range tail $((size - 1000)) 1000
expect_range toend $((size - 5000)) end

# Past the end: an error, not an empty success.
for off in "$size" $((size + 12345)); do
	rc=0
	cat_range "past$off" --offset "$off" --length 10 || rc=$?
	info "--offset $off (size $size): exit $rc, stderr:" \
		"$(head -c 300 "$W/past$off.log")"
	((rc != 0)) || fail "--offset $off past the end exited 0"
	((rc != 124 && rc != 137)) || fail "--offset $off past the end hung"
	[[ -s "$W/past$off.log" ]] || fail "--offset $off: no error message"
	[[ ! -s "$W/past$off.out" ]] || fail "--offset $off: wrote data"
	pass "--offset $off past the end fails with a message"
done

# Grow the image under the server: it must notice (a periodic check or on
# the next request) and stop serving the old identity.
truncate -s +1M "$IMG"
info "image grown by 1 MiB under the running server"
changed() {
	(($(json_num "$W/srv.json" '.counters.image_changed') > 0)) ||
		[[ $(json_get "$W/srv.json" '.images[0].changed') == true ]]
}
start=$EPOCHREALTIME
if wait_for 10 changed; then
	pass "server reported the change after $(elapsed_since "$start") s"
	reported=1
else
	info "server did not report the change within 10 s without a request"
	reported=0
fi

rc=0
CAT_TIMEOUT=5 cat_range after || rc=$?
info "read after the change: exit $rc, $(size_of "$W/after.out") bytes," \
	"stderr: $(head -c 300 "$W/after.log")"
((rc != 124 && rc != 137)) || fail "read after the change hung"
((rc != 0)) || fail "read after the image changed succeeded"
pass "read after the change fails (exit $rc)"
if ((!reported)); then
	wait_for 5 changed ||
		fail "server stats never reported the change (image_changed" \
			"$(json_get "$W/srv.json" .counters.image_changed)," \
			"changed $(json_get "$W/srv.json" '.images[0].changed'))"
	pass "server reported the change after a request"
fi
info "server: $(jq -c '.counters | {image_changed, errors_sent,
	requests_out_of_range}' "$W/srv.json"), images[0].changed" \
	"$(json_get "$W/srv.json" '.images[0].changed')"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
