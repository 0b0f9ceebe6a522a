#!/bin/bash
#
# t-transport: the batched send and receive paths, each one forced.
#   1. UDP GSO trains from the server, UDP GRO batches into dnbd-cat
#   2. GSO trains into a client without GRO (the kernel splits them)
#   3. --no-gso: one datagram per message (the sendmmsg path)
#   4. the kernel refuses GSO (jumbo segments on a 1500-byte link): the
#      server falls back to sendmmsg, logs it once and counts it
#   5. a rogue sends GSO trains of genuine replies with one damaged
#      datagram each, which the client receives coalesced: the damaged one
#      is counted and dropped alone, the rest of each batch is used
#   6. replicas still hear each other's replies (loopback is off): a read
#      answered by server 1 is not sent again by server 2 within the window
#   7. the server does not hear its own multicast, unless --loop, which a
#      client on the server's own host needs
# The image is not a whole number of segments, so every read ends with a
# short segment (the last datagram of a train may be shorter).  Every read
# is checked by sha256.  Counters are read from the stats file a server
# writes when it stops, never after a fixed sleep, and each step waits for
# what it needs rather than for a time: a loaded machine makes it slower,
# never wrong.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-24}

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host srv2 10.77.0.12
net_add_host c1 10.77.0.21
net_add_host rogue 10.77.0.66

make_image "$W/disk.img" "$SIZE_MIB"
head -c 777 /dev/urandom >>"$W/disk.img"
want=$(sha_of "$W/disk.img")
size=$(size_of "$W/disk.img")
info "image: $size bytes (a short last segment), sha256 $want"

# start_server HOST ID STATS [options]: one dnbd-server, up and announced.
start_server() {
	local host=$1 id=$2 stats=$3
	shift 3
	rm -f "$stats"
	net_bg "$host" "$W/$host-$id.log" "$DNBD_SERVER" -m "$GROUP" -I eth0 \
		-d "$W/disk.img" -i "$id" --stats "$stats" "$@"
	SRV_PID=$NET_LAST_PID
	wait_for 60 json_ready "$stats" ||
		fail "server $id on $host wrote no stats file within 60 s"
}

# stop_server PID STATS: stop it; its final counters are in STATS.
stop_server() {
	net_stop "$1"
	wait_for 10 json_ready "$2" || true
}

# read_all NAME HOST [dnbd-cat options]: the whole image, checked.
read_all() {
	local name=$1 host=$2
	shift 2
	rm -f "$W/$name.out"
	net_run "$host" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
		--stats "$W/$name.json" "$@" >"$W/$name.out" \
		2>"$W/$name.log" ||
		fail "$name: dnbd-cat failed: $(tail -3 "$W/$name.log")"
	[[ "$(sha_of "$W/$name.out")" == "$want" ]] ||
		fail "$name: sha256 differs ($(size_of "$W/$name.out") bytes)"
	info "$name: transport $(jq -c .transport "$W/$name.json")"
}

srv() { json_num "$W/srv.json" ".counters.$1"; }
cl() { json_num "$W/$1.json" "$2"; }

# 1 and 2: GSO trains, with and without GRO on the client.
start_server srv 1 "$W/srv.json"
read_all gro c1
read_all nogro c1 --no-gro

# 7 (first half): nobody on the server's host hears it without --loop.
if net_run srv "$DNBD_CAT" -b "$GROUP" --list --timeout 2 \
	>"$W/local.txt" 2>"$W/local.log"; then
	fail "a client on the server's host heard it without --loop"
fi
pass "without --loop, the server's own host does not hear its multicast"
stop_server "$SRV_PID" "$W/srv.json"
(($(srv gso_sends) > 0)) || fail "the server sent no GSO train"
(($(srv gso_fallbacks) == 0)) || fail "GSO fell back on a veth"
(($(srv own_looped) == 0)) ||
	fail "the server heard $(srv own_looped) of its own datagrams"
[[ "$(json_get "$W/gro.json" .transport.gro)" == true ]] || fail "dnbd-cat: GRO not on"
(($(cl gro .transport.coalesced) > 0)) ||
	fail "dnbd-cat received no coalesced batch"
(($(cl gro .transport.datagrams) > $(cl gro .transport.buffers))) ||
	fail "GRO buffers held no more datagrams than buffers"
[[ "$(json_get "$W/nogro.json" .transport.gro)" == false ]] || fail "--no-gro: GRO on"
(($(cl nogro .transport.coalesced) == 0)) ||
	fail "--no-gro: coalesced buffers"
pass "GSO trains ($(srv gso_sends) of them): read whole with GRO" \
	"($(cl gro .transport.coalesced) coalesced buffers) and without"

# 3: --no-gso, one message per datagram.
start_server srv 1 "$W/srv.json" --no-gso
read_all nogso c1
stop_server "$SRV_PID" "$W/srv.json"
(($(srv gso_sends) == 0)) || fail "--no-gso: $(srv gso_sends) GSO sends"
(($(srv segments_sent) >= size / 1400)) || fail "--no-gso: too few sent"
pass "--no-gso: $(srv segments_sent) datagrams in $(srv sends) sendmmsg calls"

# 4: 8948-byte datagrams do not fit a 1500-byte MTU: GSO refuses them.
start_server srv 1 "$W/srv.json" --seg-max 8900
read_all jumbo c1 --seg-size 8900
stop_server "$SRV_PID" "$W/srv.json"
(($(srv gso_fallbacks) >= 1)) || fail "no GSO fallback counted"
n=$(grep -c "UDP GSO refused" "$W/srv-1.log" || true)
((n == 1)) || fail "the fallback was logged $n times, not once"
pass "GSO refused for jumbo segments: fell back ($(srv gso_fallbacks)" \
	"counted, logged once), read whole"

# 5: damaged datagrams inside coalesced batches.  The server is paced so
# that the rogue's trains (for the second half of the image) arrive while
# the client is still in the first half: it caches them as overheard.
# The rogue starts once the client has written its first bytes (a slow
# client is only further from the second half).  A train arrives whole or
# not at all (one GRO batch); a loaded client may lose a few to its
# socket buffer, so: at least half of the damaged datagrams counted, never
# more than were sent, and every other datagram of those batches used.
TRAINS=20 SEGS=40 BAD=7
start_server srv 1 "$W/srv.json" --rate 4M
id=$(json_get "$W/srv.json" '.images[0].id') || fail "no image id"
net_bg_out c1 "$W/bad.out" "$W/bad.log" "$DNBD_CAT" -b "$GROUP" \
	--timeout 30 --stats "$W/bad.json"
cat_pid=$NET_LAST_PID
bad_started() { [[ -s "$W/bad.out" ]] || ! pid_alive "$cat_pid"; }
wait_for 60 bad_started || fail "the client wrote nothing within 60 s"
net_run rogue "$DNBD_FORGE" --to "$GROUP" --port 5001 --iface eth0 \
	--kind reply-train --image-id "$id" --data-file "$W/disk.img" \
	--offset $((SIZE_MIB / 2 * MIB / 1400 * 1400)) --segs "$SEGS" \
	--bad "$BAD" --count "$TRAINS" --interval-ms 20 \
	2>"$W/forge.log" || fail "dnbd-forge: $(cat "$W/forge.log")"
wait_exit "$cat_pid" 120 || fail "dnbd-cat under damaged trains failed"
[[ "$(sha_of "$W/bad.out")" == "$want" ]] ||
	fail "damaged trains: sha256 differs"
crc=$(cl bad .counters.crc_failures)
cached=$(cl bad .counters.overheard_cached)
info "client: crc_failures $crc, overheard_cached $cached, transport" \
	"$(jq -c .transport "$W/bad.json")"
((crc * 2 >= TRAINS && crc <= TRAINS)) ||
	fail "$crc CRC failures counted, $TRAINS damaged sent"
((cached >= crc * (SEGS - 1))) ||
	fail "only $cached good datagrams used of the $crc damaged batches" \
		"($((crc * (SEGS - 1))) expected)"
(($(cl bad .transport.coalesced) >= crc)) ||
	fail "the trains did not arrive coalesced"
stop_server "$SRV_PID" "$W/srv.json"
pass "one damaged datagram per coalesced batch dropped alone ($crc);" \
	"$cached good ones of those batches cached; image read whole"

# 6: replicas suppress each other's duplicates.  A READ for 100 segments
# goes to server 1 only (target 1); the same READ for server 2 follows
# within the (long) dedup window: server 2 heard server 1's replies.
# The second READ waits until server 1's stats file (written once a
# second) shows its replies, not for a fixed time; the window is the
# longest there is, 10 s, and that wait is cut at 8 s.
start_server srv 1 "$W/srv.json" --dedup-window 10000
srv1_pid=$SRV_PID
start_server srv2 2 "$W/srv2.json" --dedup-window 10000
srv2_pid=$SRV_PID
answered() {	# answered STATS: the server sent or suppressed all 100
	(($(json_num "$1" .counters.segments_sent) +
		$(json_num "$1" .counters.duplicates_suppressed) >= 100))
}
for t in 1 2; do
	net_run rogue "$DNBD_FORGE" --to "$GROUP" --port 5001 --iface eth0 \
		--kind read-flood --image-id "$id" --segs 100 --target "$t" \
		--count 1 2>>"$W/forge.log" || fail "dnbd-forge read-flood"
	stats=$W/srv.json
	((t == 2)) && stats=$W/srv2.json
	wait_for 8 answered "$stats" ||
		fail "server $t did not answer the READ for 100 segments in 8 s"
done
stop_server "$srv2_pid" "$W/srv2.json"
stop_server "$srv1_pid" "$W/srv.json"
s1=$(json_num "$W/srv.json" .counters.segments_sent)
s2=$(json_num "$W/srv2.json" .counters.segments_sent)
d2=$(json_num "$W/srv2.json" .counters.duplicates_suppressed)
info "server 1 sent $s1, server 2 sent $s2 and suppressed $d2"
((s1 == 100)) || fail "server 1 sent $s1 segments, not 100"
((s2 == 0 && d2 == 100)) ||
	fail "server 2 sent $s2 again (suppressed $d2): replicas do not" \
		"hear each other"
pass "replica 2 suppressed all 100 segments replica 1 had sent"

# 7 (second half): with --loop a client on the server's host reads.
start_server srv 3 "$W/srv3.json" --loop
read_all local srv
stop_server "$SRV_PID" "$W/srv3.json"
(($(json_num "$W/srv3.json" .counters.own_looped) > 0)) ||
	fail "--loop: no own datagram came back"
pass "--loop: a client on the server's own host read the image"
check_sanitizer_logs "$W"
