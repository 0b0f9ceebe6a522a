#!/bin/bash
#
# t-failover: one client reads 64 MiB from two rate-limited replicas; about
# a second into the read the busiest server is killed with SIGKILL.  The
# read must finish from the other replica with the exact bytes.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-64}
# Slow enough that the read is still running when the kill comes, however
# loaded the machine: before the kill this script waits for a stats file
# (rewritten once a second), then 1.5 s, then runs jq (2.8 s into the read
# at a load average of 7 on 2 cores).  Load slows this script, not the
# rate-limited servers, so the read's own length is the margin: two
# servers at 4 MiB/s need at least 8 s for 64 MiB (6 MiB/s left about 3 s).
RATE=4M

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv1 10.77.0.11
net_add_host srv2 10.77.0.12
net_add_host cl 10.77.0.21

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")

declare -A srv_pid
for i in 1 2; do
	net_bg "srv$i" "$W/srv$i.log" "$DNBD_SERVER" -m "$GROUP" \
		-d "$W/disk.img" -i "$i" --rate "$RATE" --stats "$W/srv$i.json"
	srv_pid[$i]=$NET_LAST_PID
done
for i in 1 2; do
	wait_for 60 json_ready "$W/srv$i.json" ||
		fail "server $i wrote no stats file within 60 s"
done

segs() { json_num "$W/srv$1.json" '.counters.segments_sent'; }
data_flowing() { (($(segs 1) + $(segs 2) > 0)); }

start=$EPOCHREALTIME
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	-v --stats "$W/cl.json"
cat_pid=$NET_LAST_PID

# The stats files are rewritten every second: wait until one shows data
# flowing, then compare growth over 1.5 s.  The server that grew most is
# the one the client leans on.
wait_for 60 data_flowing ||
	fail "no server sent a segment within 60 s"
a1=$(segs 1) a2=$(segs 2)
sleep 1.5
b1=$(segs 1) b2=$(segs 2)
d1=$((b1 - a1)) d2=$((b2 - a2))
if ((d1 > d2 || (d1 == d2 && b1 >= b2))); then victim=1; else victim=2; fi
info "segments_sent growth over 1.5 s: server 1 +$d1 (total $b1)," \
	"server 2 +$d2 (total $b2)"
pid_alive "$cat_pid" ||
	fail "the read finished before the failover (too fast for --rate $RATE)"
kill -KILL "${srv_pid[$victim]}"
wait "${srv_pid[$victim]}" 2>/dev/null || true
info "killed server $victim (kill -9) $(elapsed_since "$start") s into the read"

rc=0
wait_exit "$cat_pid" 480 || rc=$?
secs=$(elapsed_since "$start")
((rc == 0)) || fail "dnbd-cat exited $rc after $secs s"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] ||
	fail "sha256 $got != source ($(size_of "$W/cl.out") bytes)"
pass "sha256 matches; the read took $secs s"
info "client: $(jq -c '.counters | {failovers, timeouts,
	segments_rerequested, fast_retransmits}' "$W/cl.json")"
info "servers: $(jq -c '[.servers[] | {id, state, requests, replies}]' \
	"$W/cl.json")"

survivor=$((3 - victim))
rc=0
net_stop "${srv_pid[$survivor]}" || rc=$?
((rc == 0)) || fail "server $survivor exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
