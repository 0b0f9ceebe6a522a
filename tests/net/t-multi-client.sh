#!/bin/bash
#
# t-multi-client: two replica servers and three clients reading one 64 MiB
# image at the same time.  Checks that every client gets the exact image
# and that multicast pays off: the servers together send less than 2.5x the
# image size, although three clients read it in full (without sharing: 3x
# and more).  The exact ratio is bench/run.sh's scenario 2, not a test.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-64}
CLIENTS=(c1 c2 c3)

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv1 10.77.0.11
net_add_host srv2 10.77.0.12
net_add_host c1 10.77.0.21
net_add_host c2 10.77.0.22
net_add_host c3 10.77.0.23

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
size=$(size_of "$W/disk.img")
info "image: $SIZE_MIB MiB, sha256 $want"

# Both replicas serve the same file: same name, size and revision, so the
# same image id.
declare -A srv_pid
for i in 1 2; do
	net_bg "srv$i" "$W/srv$i.log" "$DNBD_SERVER" -m "$GROUP" -I eth0 \
		-d "$W/disk.img" -i "$i" --stats "$W/srv$i.json"
	srv_pid[$i]=$NET_LAST_PID
done
for i in 1 2; do
	wait_for 60 json_ready "$W/srv$i.json" ||
		fail "server $i wrote no stats file within 60 s"
done
info "servers up"

tx_before=$(($(net_port_tx_bytes srv1) + $(net_port_tx_bytes srv2)))
start=$EPOCHREALTIME
declare -A cat_pid
for c in "${CLIENTS[@]}"; do
	net_bg_out "$c" "$W/$c.out" "$W/$c.log" "$DNBD_CAT" -b "$GROUP" \
		--timeout 30 -v --stats "$W/$c.json"
	cat_pid[$c]=$NET_LAST_PID
done

bad=0
for c in "${CLIENTS[@]}"; do
	rc=0
	wait_exit "${cat_pid[$c]}" 480 || rc=$?
	secs=$(elapsed_since "$start")
	if ((rc != 0)); then
		info "$c: dnbd-cat exited $rc after $secs s"
		bad=1
		continue
	fi
	got=$(sha_of "$W/$c.out")
	if [[ "$got" != "$want" ]]; then
		info "$c: sha256 $got != source ($(size_of "$W/$c.out") bytes)"
		bad=1
	else
		pass "$c: sha256 matches, done after $secs s"
	fi
done
tx_after=$(($(net_port_tx_bytes srv1) + $(net_port_tx_bytes srv2)))
((bad == 0)) || fail "a client did not read the image correctly"

for c in "${CLIENTS[@]}"; do
	info "$c: $(jq -c '.counters | {requests_sent, segments_rerequested,
		replies_overheard, cache_hits, requests_suppressed, timeouts}' \
		"$W/$c.json")"
done

# Sharing, with a bound that machine load cannot break.  Egress is
# counted on the servers' bridge ports (headers and re-sent segments
# included), so without sharing three full reads cost at least 3x the
# image (about 3.1x with headers), and with perfect sharing about 1.05x.
# How close a run gets to 1x depends on how closely the three clients keep
# in step, which is the machine's scheduling: 1.23x at a load average
# of 7.5 on 2 cores, 1.57x in a run that failed the old bound of 1.5x on a
# busy machine.  2.5x sits well clear of both ends:
# a client left entirely on its own (the other two sharing) is 2x, so
# under 2.5x needs real sharing, and broken sharing (3x and more) fails
# by a margin of half an image.  The exact ratio is measured by
# bench/run.sh (scenario 2), not asserted here.
LIMIT=2.5
egress=$((tx_after - tx_before))
ratio=$(awk -v e="$egress" -v s="$size" 'BEGIN { printf "%.3f", e / s }')
info "server egress $(human_mib "$egress") for 3 x $(human_mib "$size"):" \
	"ratio $ratio of the image size (limit $LIMIT; no sharing: 3 or more)"
awk -v r="$ratio" -v l="$LIMIT" 'BEGIN { exit !(r < l) }' ||
	fail "servers sent $ratio x the image size (>= $LIMIT): the clients did not share the replies"
pass "egress ratio $ratio < $LIMIT (no sharing would be 3 or more)"

sleep 2	# the stats files are rewritten once a second
for i in 1 2; do
	info "server $i: $(jq -c '.counters | {requests, requests_retry,
		segments_sent, segments_rerequested, duplicates_suppressed}' \
		"$W/srv$i.json")"
done
for i in 1 2; do
	rc=0
	net_stop "${srv_pid[$i]}" || rc=$?
	((rc == 0)) || fail "server $i exited $rc on SIGTERM"
done
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
