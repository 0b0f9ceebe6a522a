#!/bin/bash
#
# t-replay: dnbd-replay replays a boot trace from dnbd-server (the client
# core) and from nbd-server and nbdkit (libnbd), every read checked with
# --verify against the image, the JSON summary's reads, bytes and think
# time equal to what the trace says.  A read that differs from the
# --verify file fails (exit 1, naming the offset), a bad trace line exits
# 2 naming it, no server exits 1 within --timeout, SIGTERM exits 1.  And
# what dnbd-server --trace recorded of it all replays as well.
#
# The trace is synthetic: a few hundred reads of varied sizes, unaligned
# ones, one larger than the core takes in one read, one ending at the
# image's end, in groups sent together, with think times of 1-6 ms; plus
# another client's lines, retries and comments, which the replay skips.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
NBD_PORT=10809
KIT_PORT=10810
CLIENT=10.33.0.10
REPLAY=$DNBD_BIN/../bench/dnbd-replay

net_require
net_require_tool nbd-server nbdkit
[[ -x "$REPLAY" ]] || fail "$REPLAY missing: run make (and make SAN=1)"
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21
SRV_IP=$(net_ip srv)

IMG=$W/disk.img
make_image "$IMG" 32
size=$(size_of "$IMG")

# gen_trace SIZE SEED: the synthetic trace on stdout.  Groups of 1-4 reads
# go out at the same time_us, each answered 0.1-2 ms later; the next group
# goes out 1-6 ms after the group's last answer.  The model makes every
# read of a group depend on the previous group's last answer, so the
# think time of each read is the gap before its group.  The last comment
# lines give the totals the replay must report.
gen_trace() {
	awk -v size="$1" -v seed="$2" -v cl="$CLIENT" 'BEGIN {
		srand(seed)
		print "# dnbd-trace 1"
		print "# time_us done_us client image offset length kind"
		t = 0; last = 0; n = 0; bytes = 0; think = 0
		for (g = 0; g < 120; g++) {
			k = 1 + int(rand() * 4)
			for (j = 0; j < k; j++) {
				r = rand()
				if (r < 0.3) len = 4096 * (1 + int(rand() * 32))
				else if (r < 0.6) len = 1 + int(rand() * 300000)
				else if (r < 0.9) len = 1400 * (1 + int(rand() * 90))
				else len = 512
				if (g == 60 && j == 0) len = 2 * 1048576 + 12345
				off = int(rand() * (size - len))
				if (rand() < 0.3) off -= off % 4096
				if (g == 90 && j == 0) off = size - len
				done = t + 100 + int(rand() * 1900)
				if (done > last) last = done
				printf "%d %d %s:40312 boot %d %d read\n", t, done, cl, off, len
				n++; bytes += len; think += t - prev
			}
			# Another client reads at the same time; a retry.
			if (g % 10 == 3)
				printf "%d %d 10.33.0.99:5000 boot 0 4096 read\n", t, t + 50
			if (g % 17 == 5)
				printf "%d %d %s:40312 boot 0 1400 retry\n", t, t, cl
			prev = last
			t = last + 1000 + int(rand() * 5000)
		}
		printf "# reads: %d\n# bytes: %d\n# think_us: %d\n", n, bytes, think
	}'
}
gen_trace "$size" 7 >"$W/boot.trace"
want_reads=$(sed -n 's/^# reads: //p' "$W/boot.trace")
want_bytes=$(sed -n 's/^# bytes: //p' "$W/boot.trace")
want_think=$(sed -n 's/^# think_us: //p' "$W/boot.trace")
tail_line=$(awk '$6 + $5 == '"$size"' && $3 ~ /^10.33.0.10:/' "$W/boot.trace")
[[ -n "$tail_line" ]] || fail "the generator wrote no read at the image's end"
info "trace: $want_reads reads, $want_bytes bytes, think $want_think us"

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$IMG,name=boot" -i 1 \
	--stats "$W/srv.json" --trace "$W/srv.trace"
srv_pid=$NET_LAST_PID
cat >"$W/nbd.conf" <<EOF
[generic]
	port = $NBD_PORT
	listenaddr = $SRV_IP
[boot]
	exportname = $IMG
	readonly = true
EOF
net_run srv nbd-server -C "$W/nbd.conf" -p "$W/nbd.pid" >"$W/nbd-server.log" 2>&1 ||
	fail "nbd-server did not start: $(cat "$W/nbd-server.log")"
wait_for 30 test -s "$W/nbd.pid" || fail "nbd-server wrote no pid file"
NET_PIDS+=("$(cat "$W/nbd.pid")")
net_bg srv "$W/nbdkit.log" nbdkit -f -r -i "$SRV_IP" -p "$KIT_PORT" file "$IMG"
listening() { [[ -n $(net_run srv ss -Hltn "sport = :$1") ]]; }
wait_for 60 json_ready "$W/srv.json" || fail "dnbd-server wrote no stats file"
wait_for 30 listening "$NBD_PORT" || fail "nbd-server does not listen"
wait_for 30 listening "$KIT_PORT" || fail "nbdkit does not listen"

# replay TAG ARGS...: dnbd-replay in cl, JSON to TAG.json, stderr to
# TAG.log, the exit status back.
replay() {
	local tag=$1 rc=0
	shift
	net_run cl timeout -k 5 60 "$REPLAY" "$@" >"$W/$tag.json" \
		2>"$W/$tag.log" || rc=$?
	return "$rc"
}

# check_json TAG SYSTEM: the summary of a good replay.
check_json() {
	local f=$W/$1.json sys=$2 v
	jq -e . "$f" >/dev/null 2>&1 || fail "$1: no JSON: $(head -c 300 "$f")"
	info "$1: $(jq -c '{system, reads, bytes, seconds, think_seconds,
		max_inflight, errors, retries, timeouts, datagrams}' "$f")"
	[[ $(json_get "$f" .system) == "$sys" ]] || fail "$1: system is not $sys"
	(($(json_num "$f" .reads) == want_reads)) ||
		fail "$1: $(json_num "$f" .reads) reads, the trace has $want_reads"
	(($(json_num "$f" .bytes) == want_bytes)) ||
		fail "$1: $(json_num "$f" .bytes) bytes, the trace has $want_bytes"
	[[ $(json_get "$f" .errors) == 0 ]] || fail "$1: errors in the JSON"
	# Think time: the model's, scaled by 0.1; and the replay waited it.
	v=$(jq -r --argjson w "$want_think" \
		'(.think_seconds - $w / 1e7) | fabs < 1e-4' "$f")
	[[ "$v" == true ]] || fail "$1: think_seconds $(json_get "$f" \
		.think_seconds), the trace's scaled $want_think us / 10"
	v=$(jq -r '.seconds >= .think_seconds' "$f")
	[[ "$v" == true ]] || fail "$1: took less than its think time"
	# Groups of up to 4 go out together.
	v=$(json_num "$f" .max_inflight)
	((v >= 2 && v <= ${3:-64})) || fail "$1: max_inflight $v"
	pass "$1: $want_reads reads, $want_bytes bytes verified, think time kept"
}

start=$EPOCHREALTIME
rc=0
replay dnbd -b "$GROUP" --image boot --think-scale 0.1 --verify "$IMG" \
	--client "$CLIENT" --timeout 10 "$W/boot.trace" || rc=$?
((rc == 0)) || fail "dnbd replay: exit $rc: $(head -c 500 "$W/dnbd.log")"
check_json dnbd dnbd
for k in requests_sent segments_received reads_completed; do
	(($(json_num "$W/dnbd.json" ".counters.$k") > 0)) ||
		fail "dnbd: counters.$k is 0"
done
info "dnbd replay took $(elapsed_since "$start") s"

rc=0
replay nbd -q --nbd "nbd://$SRV_IP:$NBD_PORT/boot" --think-scale 0.1 \
	--verify "$IMG" --client "$CLIENT:40312" --max-inflight 3 \
	"$W/boot.trace" || rc=$?
((rc == 0)) || fail "nbd-server replay: exit $rc: $(head -c 500 "$W/nbd.log")"
check_json nbd nbd 3
[[ ! -s "$W/nbd.log" ]] || fail "-q, yet stderr: $(head -c 300 "$W/nbd.log")"

rc=0
replay kit --nbd "nbd://$SRV_IP:$KIT_PORT" --think-scale 0.1 \
	--verify "$IMG" --client "$CLIENT" "$W/boot.trace" || rc=$?
((rc == 0)) || fail "nbdkit replay: exit $rc: $(head -c 500 "$W/kit.log")"
check_json kit nbd

# --verify against another file: the first read differs.
head -c "$size" /dev/zero >"$W/zero.img"
rc=0
replay badverify -q --nbd "nbd://$SRV_IP:$KIT_PORT" --no-think \
	--verify "$W/zero.img" "$W/boot.trace" || rc=$?
info "--verify with another file: exit $rc: $(head -c 300 "$W/badverify.log")"
((rc == 1)) || fail "--verify with another file: exit $rc, not 1"
grep -q "differs from .*zero.img at offset [0-9]" "$W/badverify.log" ||
	fail "--verify mismatch: no message naming the offset"
pass "a read that differs from --verify fails, naming the offset"

# A bad line: exit 2, the trace and the line named, nothing sent.
{ head -n 6 "$W/boot.trace"; echo "1 0 $CLIENT:1 boot 0 10 read"; } \
	>"$W/bad.trace"
rc=0
replay badtrace --nbd "nbd://$SRV_IP:$KIT_PORT" "$W/bad.trace" || rc=$?
info "bad trace: exit $rc: $(head -c 300 "$W/badtrace.log")"
((rc == 2)) || fail "bad trace: exit $rc, not 2"
grep -q "bad.trace:7: done_us 0 is before time_us" "$W/badtrace.log" ||
	fail "bad trace: the message does not name line 7"
[[ ! -s "$W/badtrace.json" ]] || fail "bad trace: JSON written"
printf '# dnbd-trace 1\n0 1 %s:1 boot 0 10 retry\n' "$CLIENT" >"$W/empty.trace"
rc=0
replay empty -b "$GROUP" "$W/empty.trace" || rc=$?
{ ((rc == 2)) && grep -q "empty.trace:no read lines" "$W/empty.log"; } ||
	fail "a trace without reads: exit $rc: $(head -c 300 "$W/empty.log")"
pass "bad traces exit 2, naming the line"

# A read beyond the image's end: exit 1 before the replay starts.
printf '0 1 %s:1 boot %d 10 read\n' "$CLIENT" "$((size - 5))" >"$W/past.trace"
rc=0
replay past -b "$GROUP" --image boot "$W/past.trace" || rc=$?
{ ((rc == 1)) && grep -q "past.trace:1: .*beyond the end" "$W/past.log"; } ||
	fail "a read past the end: exit $rc: $(head -c 300 "$W/past.log")"
pass "a read past the image's end exits 1 naming the line"

# No server: exit 1 within --timeout (2 s) and a little.
for mode in dnbd nbd; do
	if [[ $mode == dnbd ]]; then
		args=(-b 239.77.0.99 --image boot)
	else
		args=(--nbd "nbd://$SRV_IP:10899/boot")
	fi
	start=$EPOCHREALTIME
	rc=0
	replay "none-$mode" -q --timeout 2 "${args[@]}" "$W/boot.trace" || rc=$?
	secs=$(elapsed_since "$start")
	info "$mode without a server: exit $rc after $secs s:" \
		"$(head -c 300 "$W/none-$mode.log")"
	((rc == 1)) || fail "$mode without a server: exit $rc, not 1"
	awk -v s="$secs" 'BEGIN { exit !(s < 10) }' ||
		fail "$mode without a server: $secs s"
	[[ -s "$W/none-$mode.log" ]] || fail "$mode without a server: no message"
done
pass "no server: exit 1 within the timeout"

# SIGTERM (here during --start-delay): exit 1 with a message.
net_bg_out cl "$W/term.json" "$W/term.log" "$REPLAY" -q --start-delay 30 \
	--nbd "nbd://$SRV_IP:$KIT_PORT" "$W/boot.trace"
term_pid=$NET_LAST_PID
sleep 0.5
rc=0
net_stop "$term_pid" 10 || rc=$?
{ ((rc == 1)) && grep -q "interrupted" "$W/term.log"; } ||
	fail "SIGTERM: exit $rc: $(head -c 300 "$W/term.log")"
# And while reads are in flight and thinking (think times 10x: 10 s).
net_bg_out cl "$W/term2.json" "$W/term2.log" "$REPLAY" -q --think-scale 10 \
	-b "$GROUP" --image boot "$W/boot.trace"
term_pid=$NET_LAST_PID
sleep 1.5
rc=0
net_stop "$term_pid" 10 || rc=$?
{ ((rc == 1)) && grep -q "interrupted by signal 15 after" "$W/term2.log"; } ||
	fail "SIGTERM while replaying: exit $rc: $(head -c 300 "$W/term2.log")"
[[ $(json_get "$W/term2.json" .errors) == 1 ]] ||
	fail "SIGTERM while replaying: no JSON with errors 1"
pass "SIGTERM: exit 1, interrupted"

rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "dnbd-server exited $rc on SIGTERM"

# The server's own recording of this test's dnbd reads (every client),
# sorted as the format asks, replays too: the recorder's format is ours.
sort -n -s "$W/srv.trace" >"$W/rec.trace"
read -r rec_reads rec_bytes < <(awk '!/^#/ && $7 == "read" { n++; b += $6 }
	END { print n + 0, b + 0 }' "$W/rec.trace")
((rec_reads > 100)) || fail "the server recorded only $rec_reads reads"
rc=0
replay rec -q --no-think --nbd "nbd://$SRV_IP:$KIT_PORT" --verify "$IMG" \
	"$W/rec.trace" || rc=$?
((rc == 0)) || fail "the server's trace: exit $rc: $(head -c 500 "$W/rec.log")"
info "rec: $(jq -c '{reads, bytes, seconds, think_seconds, max_inflight}' \
	"$W/rec.json")"
(($(json_num "$W/rec.json" .reads) == rec_reads &&
	$(json_num "$W/rec.json" .bytes) == rec_bytes)) ||
	fail "the server's trace: not $rec_reads reads of $rec_bytes bytes"
pass "dnbd-server --trace's recording replays: $rec_reads reads, $rec_bytes bytes"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
