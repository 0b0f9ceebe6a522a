#!/bin/bash
#
# t-loss-group: one server, three clients reading the same image at once,
# each losing 10% of the dnbd datagrams that arrive at it (independent
# draws), and the server 10% of the requests.  Every client must get the
# exact image, and the lost segments must have been repaired by parity
# (REPAIR and PARITY, docs/protocol.md section 20): the clients rebuilt
# segments and the server sent parity symbols.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-24}
LOSS=10
N=3

net_require
net_require_tool nft
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
for ((i = 1; i <= N; i++)); do
	net_add_host "c$i" "10.77.0.$((20 + i))"
done
net_loss srv "$LOSS" || skip "nftables cannot drop packets here"
for ((i = 1; i <= N; i++)); do
	net_loss "c$i" "$LOSS"
done

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
info "image: $SIZE_MIB MiB; $N clients; $LOSS% loss inbound at each"

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"

start=$EPOCHREALTIME
pids=()
for ((i = 1; i <= N; i++)); do
	net_bg_out "c$i" "$W/c$i.out" "$W/c$i.log" "$DNBD_CAT" -b "$GROUP" \
		--timeout 30 --stats "$W/c$i.json"
	pids+=("$NET_LAST_PID")
done
for ((i = 1; i <= N; i++)); do
	rc=0
	wait_exit "${pids[$((i - 1))]}" 480 || rc=$?
	((rc == 0)) || fail "client c$i exited $rc after $(elapsed_since "$start") s"
	got=$(sha_of "$W/c$i.out")
	[[ "$got" == "$want" ]] ||
		fail "c$i: sha256 $got != source ($(size_of "$W/c$i.out") bytes)"
done
pass "$N clients: sha256 matches after $(elapsed_since "$start") s"

sleep 2	# the server's stats file is rewritten once a second
sum() { # COUNTER: over the clients
	local i t=0
	for ((i = 1; i <= N; i++)); do
		t=$((t + $(json_num "$W/c$i.json" ".counters.$1")))
	done
	echo "$t"
}
dropped=0
for ((i = 1; i <= N; i++)); do
	dropped=$((dropped + $(net_loss_dropped "c$i")))
	info "c$i: $(jq -c '.counters | {timeouts, fast_retransmits,
		stall_retransmits, segments_rerequested, repairs_sent,
		repairs_suppressed, parity_received, segments_rebuilt, parity_bad,
		parity_cached, parity_cache_hits}' "$W/c$i.json")"
done
info "server: $(jq -c '.counters | {requests, requests_retry, segments_sent,
	repairs, repairs_retry, parity_sent, parity_suppressed}' "$W/srv.json")"
rebuilt=$(sum segments_rebuilt)
repairs=$(sum repairs_sent)
psent=$(json_num "$W/srv.json" .counters.parity_sent)
((dropped > 0)) || fail "no loss seen: nftables dropped nothing"
((repairs > 0 && psent > 0 && rebuilt > 0)) ||
	fail "no repair by parity: REPAIRs $repairs, parity sent $psent," \
		"segments rebuilt $rebuilt ($dropped datagrams dropped)"
(($(sum parity_bad) == 0)) || fail "genuine parity counted as bad"
pass "repaired by parity: $repairs REPAIRs, $psent symbols sent," \
	"$rebuilt segments rebuilt ($dropped datagrams dropped)"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
