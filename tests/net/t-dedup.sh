#!/bin/bash
#
# t-dedup: the server's dedup window (protocol.md section 15, step 4).
# Forged READs (tests/tools/dnbd-forge) for the same 4 segments, with a
# window of 10 s so that the machine's load cannot move a READ out of it:
#   1. client A, request 1: sent (4 segments);
#   2. a copy of that READ (A, 1), as a network may duplicate or a rogue
#      replay it: held back;
#   3. client B, request 2: held back (the multicast already brought it
#      the segments, or will);
#   4. client A, request 3: sent again.  A asks anew for what was sent for
#      itself: it did not keep it (dnbd.ko's reads of adjacent pages share
#      a segment), and holding it back would only cost A a retry;
#   5. client B, request 4, with RETRY: sent again (RETRY bypasses the
#      window).
# The server's counters must say 12 segments sent and 8 held back.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SEGS=4

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21

make_image "$W/disk.img" 1
net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--dedup-window 10000 --stats "$W/srv.json"
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"
id=$(json_get "$W/srv.json" '.images[0].id') || fail "no image id in stats"

sc() { json_num "$W/srv.json" ".counters.$1"; }
# read_as CLIENT REQ [--retry]: one READ of segments 0..SEGS-1.
read_as() {
	net_run cl "$DNBD_FORGE" --to "$GROUP" --iface eth0 --kind read-flood \
		--image-id "$id" --segs "$SEGS" --client-id "$1" --req-id "$2" \
		"${@:3}" || fail "dnbd-forge READ $1/$2 failed"
}
# counted NAME N: the stats file shows counter NAME at N (it is written
# every second).
counted() { (($(sc "$1") == $2)); }
expect() {
	wait_for 10 counted "$1" "$2" ||
		fail "$3: $1 is $(sc "$1"), not $2"
}

read_as 101 1
expect segments_sent $SEGS "client A's first READ"
read_as 101 1
read_as 202 2
expect duplicates_suppressed $((2 * SEGS)) "a copy of A's READ and B's READ"
read_as 101 3
expect segments_sent $((2 * SEGS)) "A's new READ of what was sent for it"
read_as 202 4 --retry
expect segments_sent $((3 * SEGS)) "B's READ with RETRY"
# Nothing else was sent or held back meanwhile.
sleep 1.5
[[ $(sc segments_sent) == $((3 * SEGS)) ]] ||
	fail "segments_sent $(sc segments_sent), not $((3 * SEGS))"
[[ $(sc duplicates_suppressed) == $((2 * SEGS)) ]] ||
	fail "duplicates_suppressed $(sc duplicates_suppressed), not $((2 * SEGS))"
pass "dedup window: a copy of a READ and another client's READ held back; the same client's new READ and a RETRY sent again"
