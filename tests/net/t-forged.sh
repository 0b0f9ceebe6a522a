#!/bin/bash
#
# t-forged: a rogue host on the LAN sends damaged and misdirected dnbd
# datagrams (tests/tools/dnbd-forge) while a client reads.  The read must
# return the exact image, the client must count each kind of forgery under
# its drop counter, and the server must reject forged requests (bad CRC)
# and answer out-of-range ones with an ERROR.
#
# The forged replies all carry a correct CRC unless named -badcrc, and land
# on random segments of the image (--spread), so that any one accepted
# would show in the sha256.  Kinds: bad CRC; wrong image id; wrong
# revision; offset past the end; truncated; 100 bytes short; 100 bytes
# too long; larger than any datagram; misaligned; another segment grid;
# announcements whose id lies; garbage.  The rogue also replays what it
# hears: the real server's replies back onto the group, twice each
# (duplicates), and the replies and announcements of a second, real
# image from another group (replayed from another image).  Once the client
# has chosen its image, the rogue announces another size and revision of
# it under the real server's id (a server-id collision): the client must
# stay on its image and count the announcements it dropped.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=${DNBD_TEST_MIB:-32}
# Rate-limited so the read lasts a few seconds under the forged traffic.
RATE=8M

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host srv2 10.77.0.12
net_add_host cl 10.77.0.21
net_add_host cl2 10.77.0.22
net_add_host rogue 10.77.0.66
GROUP2=239.77.0.50

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
make_image "$W/other.img" 8

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--rate "$RATE" --stats "$W/srv.json"
srv_pid=$NET_LAST_PID
# A second, real image on another group, whose traffic the rogue replays.
net_bg srv2 "$W/srv2.log" "$DNBD_SERVER" -m "$GROUP2" -d "$W/other.img" \
	-i 2 --rate 2M --stats "$W/srv2.json"
srv2_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"
wait_for 60 json_ready "$W/srv2.json" ||
	fail "second server wrote no stats file within 60 s"

# The image id as any client sees it.
net_run cl "$DNBD_CAT" -b "$GROUP" --list --timeout 20 >"$W/list.txt" \
	2>"$W/list.log" || fail "dnbd-cat --list failed: $(cat "$W/list.log")"
info "list: $(cat "$W/list.txt")"
read -r _ name _ id _ size _ rev _ < <(grep -m1 '^image ' "$W/list.txt") ||
	fail "no 'image ...' line in the --list output"
[[ "$id" =~ ^0x[0-9a-f]{16}$ ]] || fail "bad id '$id' in --list output"
[[ "$size" == "$(size_of "$W/disk.img")" ]] ||
	fail "--list size $size != file size"
srv_id=$(json_get "$W/srv.json" '.images[0].id') || srv_id=missing
[[ "$srv_id" == "$id" ]] || fail "--list id $id != server stats id $srv_id"
info "image $name id $id size $size"

# forge KIND COUNT [args]: the rogue sends to the group, in the background,
# COUNT datagrams 10 ms apart (bounded: at most COUNT/100 seconds).
forge_bg() {
	local kind=$1 count=$2
	shift 2
	net_bg rogue "$W/forge-$kind.log" "$DNBD_FORGE" --to "$GROUP" \
		--port 5001 --iface eth0 --kind "$kind" --image-id "$id" \
		--size "$size" --count "$count" --interval-ms 10 "$@"
}

forge_pids=()
for kind in reply-badcrc reply-foreign reply-revision reply-range \
	reply-trunc reply-short reply-oversize reply-huge reply-misaligned \
	reply-segsize announce-bogus garbage; do
	forge_bg "$kind" 30000 --spread --name "$name" --revision "$rev"
	forge_pids+=("$NET_LAST_PID")
done
# Parity for the blocks the client reads (dnbd-cat: 127-segment chunks):
# garbled (a CRC-valid datagram whose symbol and block CRC are random),
# and damaged after sealing.  Neither may yield a wrong byte.  And REPAIR
# requests to the server, which it answers within its rate.
for kind in parity-garbled parity-badcrc; do
	forge_bg "$kind" 30000 --spread --segs 127
	forge_pids+=("$NET_LAST_PID")
done
forge_bg repair-flood 300 --spread --segs 127
forge_pids+=("$NET_LAST_PID")
# Replays: genuine replies duplicated, and another image's datagrams.
net_bg rogue "$W/forge-replay-dup.log" "$DNBD_FORGE" --kind replay \
	--from "$GROUP" --to "$GROUP" --iface eth0 --dup 2 --count 100000 \
	--duration-s 300
forge_pids+=("$NET_LAST_PID")
net_bg rogue "$W/forge-replay-other.log" "$DNBD_FORGE" --kind replay \
	--from "$GROUP2" --to "$GROUP" --iface eth0 --count 100000 \
	--duration-s 300
forge_pids+=("$NET_LAST_PID")
# A real client of the other image makes the traffic to replay.
net_bg_out cl2 "$W/cl2.out" "$W/cl2.log" "$DNBD_CAT" -b "$GROUP2" \
	--timeout 30
cl2_pid=$NET_LAST_PID

start=$EPOCHREALTIME
# --image: the replayed announcements of the other image make two on the
# group, and a client without a name refuses to guess.
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	--image "$name" -v --stats "$W/cl.json"
cl_pid=$NET_LAST_PID
# Once the client reads (it has chosen its image), the server-id collision.
has_output() { [[ -s "$W/cl.out" ]] || ! pid_alive "$cl_pid"; }
wait_for 60 has_output || fail "the client wrote nothing within 60 s"
forge_bg announce-collide 30000 --sender 1 --name "$name" --revision "$rev"
forge_pids+=("$NET_LAST_PID")
rc=0
wait_exit "$cl_pid" 480 || rc=$?
secs=$(elapsed_since "$start")
rc2=0
wait_exit "$cl2_pid" 120 || rc2=$?
for pid in "${forge_pids[@]}"; do
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
((rc2 == 0)) || fail "the other image's client exited $rc2"
[[ "$(sha_of "$W/cl2.out")" == "$(sha_of "$W/other.img")" ]] ||
	fail "the other image's client read wrong bytes"
((rc == 0)) || fail "dnbd-cat exited $rc after $secs s under forged traffic"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] ||
	fail "sha256 $got != source ($(size_of "$W/cl.out") bytes)"
pass "sha256 matches under forged traffic ($secs s)"

cc() { json_num "$W/cl.json" ".counters.$1"; }
info "client: $(jq -c '.counters | {crc_failures, drop_image, drop_range,
	drop_length, drop_short, drop_field, drop_magic, drop_segsize,
	segments_duplicate, announces_dropped, server_moved, parity_received,
	parity_bad, parity_unused, parity_cached, segments_rebuilt}' "$W/cl.json")"
# forge_sent KIND: datagrams that forger sent (its last log line).
forge_sent() {
	sed -n 's/.*: \([0-9]*\) sent, .*/\1/p' "$W/forge-$1.log" | tail -n 1
}
for kind in reply-badcrc reply-foreign reply-revision reply-range \
	reply-trunc reply-short reply-oversize reply-huge reply-misaligned \
	reply-segsize announce-bogus announce-collide parity-garbled \
	parity-badcrc repair-flood; do
	n=$(forge_sent "$kind")
	((${n:-0} > 0)) || fail "forger $kind sent nothing"
	info "forger $kind: $n sent"
done
replayed() { sed -n 's/.*replay: \([0-9]*\) heard.*/\1/p' "$1"; }
dup_heard=$(replayed "$W/forge-replay-dup.log")
other_heard=$(replayed "$W/forge-replay-other.log")
info "replays: $dup_heard genuine datagrams sent twice more;" \
	"$other_heard of the other image's replayed onto the group"
((${dup_heard:-0} > 0)) || fail "the duplicating replay heard nothing"
((${other_heard:-0} > 0)) || fail "the other image's replay heard nothing"
# at_least COUNTER KIND...: the client counted at least a quarter of what
# those forgers sent (they start before it, and a busy sanitizer build may
# lose some datagrams in its socket buffer).
at_least() {
	local counter=$1 kind sum=0
	shift
	for kind in "$@"; do
		sum=$((sum + $(forge_sent "$kind")))
	done
	(($(cc "$counter") * 4 >= sum)) ||
		fail "client $counter is $(cc "$counter"), under a quarter of" \
			"the $sum datagrams sent by $*"
}
at_least crc_failures reply-badcrc parity-badcrc
at_least parity_received parity-garbled
# Also the other image's replies and announcements (replayed).
at_least drop_image reply-foreign reply-revision
at_least drop_range reply-range
at_least drop_length reply-trunc reply-huge
at_least drop_field reply-short reply-oversize reply-misaligned
at_least drop_segsize reply-segsize
at_least announces_dropped announce-bogus announce-collide
# A replayed copy finds its read still pending (a duplicate) or done
# (overheard): which one depends on how fast the server's trains went.
dups=$(($(cc segments_duplicate) + $(cc replies_overheard)))
((dups * 4 >= dup_heard)) ||
	fail "client segments_duplicate + replies_overheard is $dups for" \
		"$dup_heard genuine datagrams replayed twice"
pass "client counted every kind of forged reply and announcement"
# The collision changed nothing: the image chosen is the real one, and
# the only server the client knows is the real server 1.
[[ "$(json_get "$W/cl.json" .image.id)" == "$id" &&
	"$(json_get "$W/cl.json" .image.size)" == "$size" &&
	"$(json_get "$W/cl.json" .image.revision)" == "$rev" ]] ||
	fail "client image $(jq -c .image "$W/cl.json") is not $id/$size/$rev"
[[ "$(jq -c '[.servers[].id]' "$W/cl.json")" == "[1]" ]] ||
	fail "client servers $(jq -c '[.servers[].id]' "$W/cl.json") != [1]"
pass "server-id collision: client kept image $id and server 1"

# Now forged requests to the server: a broken CRC, then past the end.
for kind in read-badcrc read-range; do
	net_run rogue "$DNBD_FORGE" --to "$GROUP" --port 5001 --iface eth0 \
		--kind "$kind" --image-id "$id" --size "$size" --count 20 \
		--interval-ms 5 2>>"$W/forge-$kind.log" ||
		fail "dnbd-forge --kind $kind failed"
done
sc() { json_num "$W/srv.json" ".counters.$1"; }
server_saw_forgeries() {
	(($(sc crc_failures) > 0 && $(sc requests_out_of_range) > 0 &&
		$(sc errors_sent) > 0))
}
# The stats file is rewritten every second; give a slow machine time.
wait_for 15 server_saw_forgeries || true
info "server: $(jq -c '.counters | {crc_failures, requests_out_of_range,
	errors_sent, drop_length, drop_field}' "$W/srv.json")"
(($(sc crc_failures) > 0)) || fail "server crc_failures is 0 (read-badcrc)"
(($(sc requests_out_of_range) > 0)) ||
	fail "server requests_out_of_range is 0 (read-range)"
(($(sc errors_sent) > 0)) || fail "server errors_sent is 0 (read-range)"
(($(sc repairs) > 0 && $(sc parity_sent) > 0)) ||
	fail "server repairs $(sc repairs), parity_sent $(sc parity_sent)" \
		"after a REPAIR flood"
pass "server rejected forged requests and answered out-of-range with ERROR"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exited $rc on SIGTERM"
rc=0
net_stop "$srv2_pid" || rc=$?
((rc == 0)) || fail "second server exited $rc on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
