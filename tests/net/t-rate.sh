#!/bin/bash
#
# t-rate: rate control (docs/protocol.md section 21).  The server's port is
# a slow link (tbf, 40 Mbit/s, 400 ms of queue) and four clients read one
# image at once, first with the defaults (no rate control: the server
# sends as fast as its socket takes it, and the link's queue overflows),
# then with --rate-control.  Both times every byte must be right.  With
# rate control the clients' delay reports must have lowered the rate to
# about the link's, and the link must have dropped far fewer datagrams
# than without (the queue is seen before it overflows).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-16}
N=4
LINK=40mbit
LINK_BYTES=$((40 * 1000 * 1000 / 8))

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
for ((i = 1; i <= N; i++)); do
	net_add_host "c$i" "10.77.0.$((20 + i))"
done
net_run srv tc qdisc add dev eth0 root tbf rate "$LINK" burst 32kbit \
	latency 400ms || fail "tc cannot add a tbf qdisc here"

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")

# Packets the link (srv's tbf) dropped: its queue was full.
tbf_drops() {
	net_run srv tc -j -s qdisc show dev eth0 | jq '.[0].drops'
}

# run_round NAME SERVER-OPTIONS...: N readers at once; sets DROPS.
run_round() {
	local name=$1 i rc start d0 pids=()
	shift
	net_bg srv "$W/srv-$name.log" "$DNBD_SERVER" -m "$GROUP" \
		-d "$W/disk.img" -i 1 --stats "$W/srv-$name.json" -v "$@"
	local srv_pid=$NET_LAST_PID
	wait_for 60 json_ready "$W/srv-$name.json" ||
		fail "$name: the server wrote no stats file within 60 s"
	d0=$(tbf_drops)
	start=$EPOCHREALTIME
	for ((i = 1; i <= N; i++)); do
		net_bg_out "c$i" "$W/$name-c$i.out" "$W/$name-c$i.log" \
			"$DNBD_CAT" -b "$GROUP" --timeout 60 \
			--stats "$W/$name-c$i.json"
		pids+=("$NET_LAST_PID")
	done
	for ((i = 1; i <= N; i++)); do
		rc=0
		wait_exit "${pids[$((i - 1))]}" 300 || rc=$?
		((rc == 0)) || fail "$name: client c$i exited $rc"
		[[ "$(sha_of "$W/$name-c$i.out")" == "$want" ]] ||
			fail "$name: c$i read wrong bytes"
		rm -f "$W/$name-c$i.out"
	done
	DROPS=$(($(tbf_drops) - d0))
	sleep 2		# the stats file is rewritten once a second
	info "$name: $N readers in $(elapsed_since "$start") s, the link" \
		"dropped $DROPS datagrams; server: $(jq -c '{rate, qdelay_ms} +
		(.counters | {segments_sent, segments_rerequested,
		rate_decreases, rate_increases, qdelay_reports})' \
		"$W/srv-$name.json")"
	net_stop "$srv_pid"
}

info "image: $SIZE_MIB MiB; $N clients behind a $LINK link"
run_round fixed
fixed_drops=$DROPS
[[ "$(json_num "$W/srv-fixed.json" .counters.rate_decreases)" == 0 ]] ||
	fail "the default (no rate control) changed the rate"
[[ "$(json_num "$W/srv-fixed.json" .counters.qdelay_reports)" == 0 ]] ||
	fail "the default (no rate control) took delay reports"
pass "without rate control: every byte right, the link dropped $fixed_drops"

run_round control --rate-control
control_drops=$DROPS
dec=$(json_num "$W/srv-control.json" .counters.rate_decreases)
reports=$(json_num "$W/srv-control.json" .counters.qdelay_reports)
((reports > 0)) || fail "the server took no delay reports"
((dec > 0)) || fail "rate control never lowered the rate"
grep -q "rate [0-9]* KiB/s" "$W/srv-control.log" ||
	fail "-v did not log the rate changes"
# The rate it settled at: near the link's, not far below.
rate=$(json_num "$W/srv-control.json" .rate)
((rate > 0 && rate <= 2 * LINK_BYTES)) ||
	fail "rate $rate B/s after the reads, link $LINK_BYTES B/s"
((fixed_drops >= 50)) ||
	skip "the link dropped only $fixed_drops datagrams without rate control: nothing to compare"
((control_drops * 4 <= fixed_drops)) ||
	fail "rate control: the link dropped $control_drops, without it $fixed_drops"
pass "rate control: $dec decreases, rate $((rate / 1000)) kB/s," \
	"the link dropped $control_drops (without: $fixed_drops)"
check_sanitizer_logs "$W"
