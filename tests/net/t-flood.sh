#!/bin/bash
#
# t-flood: a rogue host floods the server with valid requests while an
# honest client reads.  The rogue asks for 128 segments per READ with
# RETRY set (so the dedup window does not help) a thousand times a second,
# and sends as many HELLOs.  The server must stay up and serve the honest
# client the right bytes; --client-rate must drop most of the rogue's
# requests (requests_ratelimited) so that only its budget of them is
# served; and everything the server sent during the flood must stay within
# --rate (bytes_sent against rate x time, with a generous margin: the
# stats file has one-second resolution).  The amplification the rogue got
# (server bytes per rogue byte) is reported.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-4}
# The honest client and the rogue could each take all of --rate: the
# server is saturated, so the egress bound below means something.
RATE_MIB=1			# --rate
CLIENT_RATE_MIB=1		# --client-rate
FLOOD_N=4000			# READs (and HELLOs) from the rogue, 1 ms apart

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21
net_add_host rogue 10.77.0.66

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
size=$(size_of "$W/disk.img")

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--rate "${RATE_MIB}M" --client-rate "${CLIENT_RATE_MIB}M" \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"
id=$(json_get "$W/srv.json" '.images[0].id') || fail "no image id in stats"

sc() { json_num "$W/srv.json" ".counters.$1"; }
# A snapshot of the stats file: uptime and bytes sent.
snap() {
	jq -r '"\(.uptime_s) \(.counters.bytes_sent)"' "$W/srv.json"
}
read -r up0 bytes0 < <(snap)
rogue_tx0=$(net_port_tx_bytes rogue)

net_bg rogue "$W/forge-read-flood.log" "$DNBD_FORGE" --to "$GROUP" \
	--iface eth0 --kind read-flood --image-id "$id" --segs 128 --retry \
	--count "$FLOOD_N" --interval-ms 1
flood_pid=$NET_LAST_PID
net_bg rogue "$W/forge-hello-flood.log" "$DNBD_FORGE" --to "$GROUP" \
	--iface eth0 --kind hello-flood --count "$FLOOD_N" --interval-ms 1
hello_pid=$NET_LAST_PID

start=$EPOCHREALTIME
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 60 \
	-v --stats "$W/cl.json"
rc=0
wait_exit "$NET_LAST_PID" 480 || rc=$?
secs=$(elapsed_since "$start")
((rc == 0)) || fail "dnbd-cat exited $rc after $secs s under the flood"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] || fail "sha256 $got != source"
pass "sha256 matches under the request flood ($secs s)"

# The forgers are bounded (FLOOD_N at 1 ms); let them finish.
wait_exit "$flood_pid" 120 || fail "read flood did not end"
wait_exit "$hello_pid" 120 || fail "hello flood did not end"
pid_alive "$srv_pid" || fail "the server died under the flood"
rogue_tx=$(($(net_port_tx_bytes rogue) - rogue_tx0))
# Two stats periods later, the file holds everything sent; on a loaded
# machine a write may come late, so also wait (bounded) until it shows
# the flood's dropped requests.  A late file can only lower the counts
# the upper bounds below check.
sleep 2.2
flood_counted() { (($(sc requests_ratelimited) >= FLOOD_N)); }
wait_for 10 flood_counted || true
read -r up1 bytes1 < <(snap)
sent=$((bytes1 - bytes0))
window=$((up1 - up0))
info "server: $(jq -c '.counters | {requests, requests_ratelimited,
	control_ratelimited, hellos, announces_sent, segments_sent,
	bytes_sent, duplicates_suppressed, rate_waits}' "$W/srv.json")"
info "client: $(jq -c '.counters | {requests_sent, timeouts,
	segments_rerequested, reads_completed}' "$W/cl.json")"

# Per-source limit: most of the rogue's requests were dropped (the honest
# client sends a few hundred, so most of these are the rogue's).
limited=$(sc requests_ratelimited)
honest=$(json_num "$W/cl.json" .counters.requests_sent)
# What the rogue may be served: its budget over the window, plus the
# initial burst (2 MiB), in 128-segment READs.
cost=$((128 * (48 + 1400 + 16)))
budget=$(((CLIENT_RATE_MIB * MIB * (window + 1) + 2 * MIB) / cost + 1))
info "rogue: $FLOOD_N READs of 128 segments and $FLOOD_N HELLOs;" \
	"$limited requests dropped by --client-rate (the honest client sent" \
	"$honest); the rogue's budget: about $budget READs in ${window} s"
((limited >= FLOOD_N)) ||
	fail "requests_ratelimited $limited: under $FLOOD_N of the" \
		"rogue's $((2 * FLOOD_N)) requests"
(($(sc requests) <= honest + budget * 3 / 2 + 5)) ||
	fail "server served $(sc requests) READs: the honest client's" \
		"$honest and more than the rogue's budget $budget"
pass "--client-rate dropped $limited of the rogue's requests"

# Everything sent during the flood stays within --rate: rate x window,
# plus a second for the stats file's resolution, plus 10%.
bound=$((RATE_MIB * MIB * (window + 1) * 11 / 10 + MIB))
info "egress: $(human_mib "$sent") in ${window} s (bound" \
	"$(human_mib "$bound") at ${RATE_MIB} MiB/s: $((sent * 100 /
	(RATE_MIB * MIB * window)))% of the rate); rogue sent" \
	"$(human_mib "$rogue_tx")"
((sent <= bound)) || fail "server sent $sent bytes in $window s, over $bound"
pass "server egress within --rate"
# Amplification: the server's bytes for the rogue per byte it sent.
rogue_bytes=$((sent - size))
((rogue_bytes < 0)) && rogue_bytes=0
info "amplification: at most $(awk -v a="$rogue_bytes" -v b="$rogue_tx" \
	'BEGIN { printf "%.2f", a / b }') server bytes per rogue byte" \
	"(without --client-rate a READ of 68 bytes may cost 187 KB: 2756x)"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
