#!/bin/bash
#
# t-unicast: the unicast fallback.  A server given its own address with -m
# answers each requester by unicast; dnbd-cat -b ADDR reads the image, and
# -b ADDR1,ADDR2 reads it from two unicast replicas.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

SIZE_MIB=${DNBD_TEST_MIB:-32}
IP1=10.77.0.11
IP2=10.77.0.12

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv1 "$IP1"
net_add_host srv2 "$IP2"
net_add_host cl 10.77.0.21

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")

# start_server N IP: a unicast server with id N.
declare -A srv_pid
start_server() {
	net_bg "srv$1" "$W/srv$1.log" "$DNBD_SERVER" -m "$2" -d "$W/disk.img" \
		-i "$1" --stats "$W/srv$1.json"
	srv_pid[$1]=$NET_LAST_PID
	wait_for 60 json_ready "$W/srv$1.json" ||
		fail "server $1 wrote no stats file within 60 s"
}

# read_image TAG SERVERS: dnbd-cat -b SERVERS must return the exact image.
read_image() {
	local tag=$1 servers=$2 start rc=0 secs got
	start=$EPOCHREALTIME
	net_bg_out cl "$W/$tag.out" "$W/$tag.log" "$DNBD_CAT" -b "$servers" \
		--timeout 30 -v --stats "$W/$tag.json"
	wait_exit "$NET_LAST_PID" 480 || rc=$?
	secs=$(elapsed_since "$start")
	((rc == 0)) || fail "dnbd-cat -b $servers exited $rc after $secs s"
	got=$(sha_of "$W/$tag.out")
	[[ "$got" == "$want" ]] ||
		fail "-b $servers: sha256 $got != source ($(size_of "$W/$tag.out") bytes)"
	pass "dnbd-cat -b $servers: sha256 matches ($secs s)"
	info "  servers seen: $(jq -c '[.servers[] | {id, state, requests,
		replies}]' "$W/$tag.json")"
}

start_server 1 "$IP1"
read_image one "$IP1"

start_server 2 "$IP2"
read_image two "$IP1,$IP2"
sleep 2	# the stats files are rewritten once a second
for i in 1 2; do
	info "server $i: $(jq -c '.counters | {requests, segments_sent,
		errors_sent}' "$W/srv$i.json")"
done

for i in 1 2; do
	rc=0
	net_stop "${srv_pid[$i]}" || rc=$?
	((rc == 0)) || fail "server $i exited $rc on SIGTERM"
done
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
