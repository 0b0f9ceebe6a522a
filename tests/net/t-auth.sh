#!/bin/bash
#
# t-auth: keyed authentication (--key-file, docs/security.md).
#
# 1. A keyed server and a keyed client, with a rogue on the LAN that has
#    no key, or another key.  The rogue sends REPLYs of wrong data with a
#    correct CRC over random segments (which an unkeyed client would take),
#    announcements of the real image under the real server's id and under
#    new ids, and READs.  It also replays genuine, keyed datagrams: the
#    server's own replies (duplicates), and another keyed image's replies
#    and announcements from another group.  The client must read the exact
#    image, count every forged datagram (auth_missing, auth_failures) and
#    drop the replayed ones of the other image on their id (drop_image);
#    it must know no server but the real one.  The server must drop the
#    rogue's untagged and wrongly tagged requests.
# 2. Mismatches: an unkeyed client against the keyed server, a keyed client
#    against an unkeyed server, and a client with another key: each finds
#    no server, says why, and counts what it dropped.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
GROUP2=239.77.0.50
GROUP3=239.77.0.90
SIZE_MIB=${DNBD_TEST_MIB:-16}
RATE=6M

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host srv2 10.77.0.12
net_add_host srv3 10.77.0.13
net_add_host cl 10.77.0.21
net_add_host cl2 10.77.0.22
net_add_host rogue 10.77.0.66

# The lab key, raw; another key, as hex: both formats of --key-file.
head -c32 /dev/urandom >"$W/lab.key"
head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/other.key"
echo >>"$W/other.key"
chmod 600 "$W/lab.key" "$W/other.key"

make_image "$W/disk.img" "$SIZE_MIB"
want=$(sha_of "$W/disk.img")
make_image "$W/b.img" 4

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 1 \
	--rate "$RATE" --key-file "$W/lab.key" --announce-interval 1 \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
net_bg srv2 "$W/srv2.log" "$DNBD_SERVER" -m "$GROUP2" -d "$W/b.img" -i 2 \
	--rate 1M --key-file "$W/lab.key" --stats "$W/srv2.json"
srv2_pid=$NET_LAST_PID
net_bg srv3 "$W/srv3.log" "$DNBD_SERVER" -m "$GROUP3" -d "$W/b.img" -i 3 \
	--announce-interval 1 --stats "$W/srv3.json"
srv3_pid=$NET_LAST_PID
for f in srv srv2 srv3; do
	wait_for 60 json_ready "$W/$f.json" ||
		fail "$f wrote no stats file within 60 s"
done
grep -q 'keyed' "$W/srv.log" || fail "the keyed server does not say so"

net_run cl "$DNBD_CAT" -b "$GROUP" --list --timeout 20 \
	--key-file "$W/lab.key" >"$W/list.txt" 2>"$W/list.log" ||
	fail "keyed dnbd-cat --list failed: $(cat "$W/list.log")"
read -r _ name _ id _ size _ rev _ < <(grep -m1 '^image ' "$W/list.txt") ||
	fail "no 'image ...' line in the --list output"
info "image $name id $id size $size revision $rev"

# ---- 1. the keyed LAN under attack ------------------------------------------

forge_pids=()
# forge TAG KIND [args]: the rogue, 10 ms apart, until killed.
forge() {
	local tag=$1 kind=$2
	shift 2
	net_bg rogue "$W/forge-$tag.log" "$DNBD_FORGE" --to "$GROUP" \
		--iface eth0 --kind "$kind" --image-id "$id" --size "$size" \
		--name "$name" --revision "$rev" --count 30000 \
		--interval-ms 10 "$@"
	forge_pids+=("$NET_LAST_PID")
}
forge nokey-data reply-wrongdata --spread
forge nokey-ann announce-fake --sender 1
forge nokey-read read-flood --segs 8
forge badkey-data reply-wrongdata --spread --key-file "$W/other.key"
forge badkey-ann announce-fake --sender 1 --key-file "$W/other.key"
forge badkey-read read-flood --segs 8 --key-file "$W/other.key"
net_bg rogue "$W/forge-replay-dup.log" "$DNBD_FORGE" --kind replay \
	--from "$GROUP" --to "$GROUP" --iface eth0 --count 100000 \
	--duration-s 300
forge_pids+=("$NET_LAST_PID")
net_bg rogue "$W/forge-replay-other.log" "$DNBD_FORGE" --kind replay \
	--from "$GROUP2" --to "$GROUP" --iface eth0 --count 100000 \
	--duration-s 300
forge_pids+=("$NET_LAST_PID")
# A keyed client of the other image makes genuine traffic to replay.
net_bg_out cl2 "$W/cl2.out" "$W/cl2.log" "$DNBD_CAT" -b "$GROUP2" \
	--timeout 30 --key-file "$W/lab.key"
cl2_pid=$NET_LAST_PID

start=$EPOCHREALTIME
net_bg_out cl "$W/cl.out" "$W/cl.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	--image "$name" --key-file "$W/lab.key" -v --stats "$W/cl.json"
rc=0
wait_exit "$NET_LAST_PID" 480 || rc=$?
secs=$(elapsed_since "$start")
rc2=0
wait_exit "$cl2_pid" 120 || rc2=$?
for pid in "${forge_pids[@]}"; do
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
((rc == 0)) || fail "keyed dnbd-cat exited $rc after $secs s"
got=$(sha_of "$W/cl.out")
[[ "$got" == "$want" ]] || fail "sha256 $got != source: forged data got in"
((rc2 == 0)) || fail "the other image's keyed client exited $rc2"
[[ "$(sha_of "$W/cl2.out")" == "$(sha_of "$W/b.img")" ]] ||
	fail "the other image's client read wrong bytes"
pass "keyed client read the right bytes under forgery and replay ($secs s)"

sent() { sed -n 's/.*: \([0-9]*\) sent, .*/\1/p' "$W/forge-$1.log" | tail -n 1; }
heard() { sed -n 's/.*replay: \([0-9]*\) heard.*/\1/p' "$W/forge-$1.log"; }
for tag in nokey-data nokey-ann nokey-read badkey-data badkey-ann \
	badkey-read; do
	n=$(sent "$tag")
	((${n:-0} > 0)) || fail "forger $tag sent nothing"
done
info "forgers: without a key $(sent nokey-data) REPLYs," \
	"$(sent nokey-ann) ANNOUNCEs, $(sent nokey-read) READs; with another" \
	"key $(sent badkey-data), $(sent badkey-ann), $(sent badkey-read);" \
	"replayed: $(heard replay-dup) of this group's, $(heard replay-other)" \
	"of the other image's"
((${heard_dup:=$(heard replay-dup)} > 0)) || fail "nothing replayed"
(($(heard replay-other) > 0)) || fail "nothing of the other image replayed"

cc() { json_num "$W/cl.json" ".counters.$1"; }
info "client: $(jq -c '.counters | {auth_missing, auth_failures,
	auth_unexpected, drop_image, announces_dropped, segments_duplicate,
	server_moved, announces_received}' "$W/cl.json")"
# At least a quarter of what was sent (forgers start before the client).
nokey=$(($(sent nokey-data) + $(sent nokey-ann) + $(sent nokey-read)))
badkey=$(($(sent badkey-data) + $(sent badkey-ann) + $(sent badkey-read)))
(($(cc auth_missing) * 4 >= nokey)) ||
	fail "client auth_missing $(cc auth_missing) for $nokey untagged"
(($(cc auth_failures) * 4 >= badkey)) ||
	fail "client auth_failures $(cc auth_failures) for $badkey wrongly tagged"
(($(cc drop_image) > 0)) ||
	fail "client drop_image is 0: the other image's replayed replies"
(($(cc segments_duplicate) > 0)) ||
	fail "client segments_duplicate is 0: replayed duplicates"
((auth_unexpected = $(cc auth_unexpected), auth_unexpected == 0)) ||
	fail "client auth_unexpected $auth_unexpected on a keyed LAN"
[[ "$(jq -c '[.servers[].id]' "$W/cl.json")" == "[1]" ]] ||
	fail "client servers $(jq -c '[.servers[].id]' "$W/cl.json") != [1]"
pass "client dropped and counted every forged datagram; knows only server 1"

sc() { json_num "$W/srv.json" ".counters.$1"; }
srv_dropped() { (($(sc auth_missing) > 0 && $(sc auth_failures) > 0)); }
wait_for 15 srv_dropped || true
info "server: $(jq -c '.counters | {requests, auth_missing, auth_failures,
	auth_unexpected, requests_ratelimited}' "$W/srv.json")"
(($(sc auth_missing) * 4 >= nokey)) ||
	fail "server auth_missing $(sc auth_missing) for $nokey untagged"
(($(sc auth_failures) * 4 >= badkey)) ||
	fail "server auth_failures $(sc auth_failures) for $badkey wrongly tagged"
# Every READ served was the keyed client's: none of the rogue's 8-segment
# ones (the replayed datagrams are REPLYs and ANNOUNCEs only).
(($(sc requests) <= $(cc requests_sent))) ||
	fail "server served $(sc requests) READs, the client sent $(cc requests_sent)"
pass "server dropped the rogue's untagged and wrongly tagged requests"

# ---- 2. mismatched keys ----------------------------------------------------------

# mismatch TAG GROUP [args]: a dnbd-cat that must find no server.
mismatch() {
	local tag=$1 group=$2 rc=0
	shift 2
	net_run cl "$DNBD_CAT" -b "$group" --timeout 3 --stats "$W/$tag.json" \
		"$@" >"$W/$tag.out" 2>"$W/$tag.log" || rc=$?
	((rc == 2)) || fail "$tag: dnbd-cat exited $rc, not 2 (no server)"
	[[ ! -s "$W/$tag.out" ]] || fail "$tag: dnbd-cat wrote data"
	info "$tag: $(tail -n 1 "$W/$tag.log")"
}
mismatch nokey-client "$GROUP"
grep -q 'the servers use a key' "$W/nokey-client.log" ||
	fail "unkeyed client: no hint about the key"
(($(json_num "$W/nokey-client.json" .counters.auth_unexpected) > 0)) ||
	fail "unkeyed client: auth_unexpected is 0"
pass "an unkeyed client finds no server on a keyed group, and says why"

mismatch keyed-vs-plain "$GROUP3" --key-file "$W/lab.key"
grep -q 'the servers use no key' "$W/keyed-vs-plain.log" ||
	fail "keyed client vs unkeyed server: no hint"
(($(json_num "$W/keyed-vs-plain.json" .counters.auth_missing) > 0)) ||
	fail "keyed client vs unkeyed server: auth_missing is 0"
pass "a keyed client ignores an unkeyed server"

mismatch wrong-key "$GROUP" --key-file "$W/other.key"
grep -q 'wrong tag' "$W/wrong-key.log" || fail "wrong key: no hint"
(($(json_num "$W/wrong-key.json" .counters.auth_failures) > 0)) ||
	fail "wrong key: auth_failures is 0"
pass "a client with another key ignores the lab's servers"

# A bad key file is refused at start.
printf 'not a key\n' >"$W/bad.key"
rc=0
"$DNBD_SERVER" -m "$GROUP" -d "$W/disk.img" -i 9 --key-file "$W/bad.key" \
	2>"$W/badkey-srv.log" || rc=$?
((rc == 2)) || fail "dnbd-server with a bad key file exited $rc, not 2"
rc=0
"$DNBD_CAT" -b "$GROUP" --key-file "$W/nonexistent.key" \
	2>"$W/badkey-cat.log" || rc=$?
((rc == 2)) || fail "dnbd-cat with a missing key file exited $rc, not 2"
pass "bad key files are refused ($(tail -n 1 "$W/badkey-srv.log"))"

for pid in "$srv_pid" "$srv2_pid" "$srv3_pid"; do
	rc=0
	net_stop "$pid" || rc=$?
	((rc == 0)) || fail "a server exited $rc on SIGTERM"
done
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
