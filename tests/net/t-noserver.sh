#!/bin/bash
#
# t-noserver: dnbd-cat with nobody to answer must give up after --timeout
# with exit status 2 and a message saying so, for a multicast group and for
# a unicast address.  The only timing assertion in the suite: the exit
# must come within --timeout plus a few seconds.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

TIMEOUT=3
SLACK=20	# it must give up, not hang; the machine may be loaded

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host cl 10.77.0.21

# no_server TAG TARGET: one dnbd-cat run against TARGET with no server.
no_server() {
	local tag=$1 target=$2 start rc=0 secs
	start=$EPOCHREALTIME
	# timeout(1) only keeps a hung client from hanging the test.
	net_run cl timeout -k 5 60 "$DNBD_CAT" -b "$target" \
		--timeout "$TIMEOUT" >"$W/$tag.out" 2>"$W/$tag.log" || rc=$?
	secs=$(elapsed_since "$start")
	info "dnbd-cat -b $target --timeout $TIMEOUT: exit $rc after $secs s"
	info "  stderr: $(head -c 500 "$W/$tag.log")"
	((rc == 2)) || fail "-b $target: exit status $rc, expected 2"
	grep -q 'no dnbd server answered' "$W/$tag.log" ||
		fail "-b $target: no 'no dnbd server answered' message"
	awk -v s="$secs" -v l="$((TIMEOUT + SLACK))" 'BEGIN { exit !(s <= l) }' ||
		fail "-b $target: took $secs s, more than $TIMEOUT + $SLACK s"
	[[ ! -s "$W/$tag.out" ]] || fail "-b $target: wrote data to stdout"
	pass "-b $target: exit 2 with the message within $secs s"
}

no_server group 239.77.0.99
no_server unicast 10.77.0.250

check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
