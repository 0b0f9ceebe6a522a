#!/bin/bash
#
# t-loss: one server, one client, 10% random loss of dnbd datagrams into
# the client (requests it overhears and replies) and into the server
# (requests).  Retransmission must still deliver the exact image.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-64}
LOSS=10

net_require
net_require_tool nft
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21
net_loss cl "$LOSS" || skip "nftables cannot drop packets here"
net_loss srv "$LOSS"

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
info "image: $SIZE_MIB MiB; $LOSS% loss inbound at client and server"

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"

start=$EPOCHREALTIME
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	-v --stats "$W/cl.json"
rc=0
wait_exit "$NET_LAST_PID" 480 || rc=$?
secs=$(elapsed_since "$start")
((rc == 0)) || fail "dnbd-cat exited $rc after $secs s"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] ||
	fail "sha256 $got != source ($(size_of "$W/cl.out") bytes)"
pass "sha256 matches after $secs s"

sleep 2	# the server's stats file is rewritten once a second
dropped_cl=$(net_loss_dropped cl)
dropped_srv=$(net_loss_dropped srv)
rereq=$(json_num "$W/cl.json" .counters.segments_rerequested)
info "nftables dropped $dropped_cl datagrams into the client," \
	"$dropped_srv into the server"
info "client: segments_rerequested $rereq; $(jq -c '.counters | {timeouts,
	fast_retransmits, requests_sent, segments_requested}' "$W/cl.json")"
info "server: $(jq -c '.counters | {requests, requests_retry, segments_sent,
	segments_rerequested, duplicates_suppressed}' "$W/srv.json")"
# Without any re-request the loss was not applied and nothing was tested.
((dropped_cl > 0 && rereq > 0)) ||
	fail "no loss seen (dropped $dropped_cl, re-requested $rereq)"
pass "the client re-requested $rereq segments"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
