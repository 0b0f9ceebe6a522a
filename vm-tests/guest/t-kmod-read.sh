#!/bin/sh
# Guest side of vm-tests/t-kmod-multi.sh and t-kmod-failover.sh: bind
# /dev/dnbd0 to the image on VMT_GROUP and read all of it (sha256 VMT_SHA).
#   VMT_BARRIER  optional: our address on the barrier subnet; VMT_PEER
#                the peer's.  Both guests bind first, then raise their
#                barrier address and wait for the other's, so that the
#                reads start together.
. /lib/dnbd-guest.sh

insmod /lib/dnbd.ko || fail "insmod dnbd.ko"
bind dnbd0 -b "$VMT_GROUP" --discover 30
if [ -n "${VMT_BARRIER:-}" ]; then
	ip addr add "$VMT_BARRIER/24" dev eth0
	peer_up() { ping -c 1 -W 1 "$VMT_PEER" >/dev/null 2>&1; }
	wait_until 120 peer_up || fail "peer $VMT_PEER never reached the barrier"
	ok "barrier passed"
fi
info "reading"
# A read that takes long shows what the driver is doing: its non-zero
# counters every 30 s, on the console.
(
	while sleep 30; do
		info "still reading: $(awk '$2 != 0 { printf "%s %s ", $1, $2 }' \
			/sys/block/dnbd0/dnbd/counters)"
	done
) &
watch=$!
timed_sha /dev/dnbd0 "$VMT_SHA" "64 MiB image through /dev/dnbd0" 64
kill "$watch" 2>/dev/null
cat /sys/block/dnbd0/dnbd/servers
info "counters: failovers $(counter dnbd0 failovers) timeouts $(counter dnbd0 timeouts)" \
	"overheard $(counter dnbd0 replies_overheard)" \
	"suppressed $(counter dnbd0 requests_suppressed)" \
	"segments_requested $(counter dnbd0 segments_requested)" \
	"rebuilt $(counter dnbd0 segments_rebuilt)" \
	"parity_bad $(counter dnbd0 parity_bad)"
[ "$(counter dnbd0 reads_failed)" = 0 ] || fail "reads failed"
# No forger here: a rebuild that fails its block CRC is a driver bug
# (a buffer that did not keep what the core wrote into it).
[ "$(counter dnbd0 parity_bad)" = 0 ] || fail "parity rebuilds failed their CRC"
# The peer may still need our barrier address: stay a little.
[ -n "${VMT_BARRIER:-}" ] && sleep 3
unbind dnbd0
rmmod dnbd || fail "rmmod dnbd"
exit 0
