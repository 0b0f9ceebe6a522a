#!/bin/bash
#
# t-trace: dnbd-server --trace FILE logs every READ in the dnbd-trace 1
# format (dnbd-server(8)): the header, seven fields a line, the reading
# client's address, the image's name, done_us >= time_us, ranges inside
# the image whose union covers exactly what the clients read; a retry is
# marked as one; the file is complete after SIGTERM.  A trace file that
# cannot be written stops the server at start-up (exit 1, a message).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21

# 8 MiB and 777 bytes: the last segment is a short one.
IMG=$W/boot.img
make_image "$IMG" 8
head -c 777 /dev/urandom >>"$IMG"
size=$(size_of "$IMG")

rc=0
net_run srv timeout -k 5 30 "$DNBD_SERVER" -m "$GROUP" -d "$IMG" -i 1 \
	--trace /nonexistent/dir/trace >"$W/bad.log" 2>&1 || rc=$?
((rc == 1)) || fail "--trace into a missing directory: exit $rc, expected 1: $(head -c 300 "$W/bad.log")"
grep -q 'trace /nonexistent/dir/trace: cannot write' "$W/bad.log" ||
	fail "--trace into a missing directory: no clear message: $(head -c 300 "$W/bad.log")"
pass "--trace into a missing directory: exit 1: $(grep -m1 "cannot write" "$W/bad.log")"

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$IMG" -i 1 \
	--stats "$W/srv.json" --trace "$W/srv.trace"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "server wrote no stats file within 60 s"

# Two reads by one client: 2 MiB from 1 MiB, and the last 5000 bytes.
net_run cl timeout -k 5 120 "$DNBD_CAT" -b "$GROUP" --timeout 20 \
	--offset 1M --length 2M >"$W/a.out" 2>"$W/a.log" ||
	fail "dnbd-cat --offset 1M --length 2M failed: $(head -c 300 "$W/a.log")"
net_run cl timeout -k 5 120 "$DNBD_CAT" -b "$GROUP" --timeout 20 \
	--offset $((size - 5000)) >"$W/b.out" 2>"$W/b.log" ||
	fail "dnbd-cat of the last 5000 bytes failed: $(head -c 300 "$W/b.log")"
rc=0
net_stop "$srv_pid" || rc=$?
((rc == 0)) || fail "server exit $rc on SIGTERM"
grep -q 'trace: [0-9]* READs in' "$W/srv.log" ||
	fail "the server did not say how many READs it traced: $(tail -n 3 "$W/srv.log")"

[[ "$(sed -n 1p "$W/srv.trace")" == "# dnbd-trace 1" ]] ||
	fail "trace header: $(head -n 1 "$W/srv.trace")"
[[ "$(sed -n 2p "$W/srv.trace")" == "# time_us done_us client image offset length kind" ]] ||
	fail "trace columns: $(sed -n 2p "$W/srv.trace")"
# Every line checked; the ranges merged; what they cover printed.
cover=$(awk -v size="$size" -v cl="$(net_ip cl)" '
	/^#/ { next }
	{ n++ }
	NF != 7 { print "line " NR ": " NF " fields: " $0; bad = 1; exit }
	$1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ || $5 !~ /^[0-9]+$/ || $6 !~ /^[0-9]+$/ {
		print "line " NR ": not a number: " $0; bad = 1; exit }
	$2 + 0 < $1 + 0 { print "line " NR ": done before it arrived: " $0; bad = 1; exit }
	index($3, cl ":") != 1 { print "line " NR ": client " $3 ", not " cl; bad = 1; exit }
	$4 != "boot.img" { print "line " NR ": image " $4; bad = 1; exit }
	$7 != "read" && $7 != "retry" { print "line " NR ": kind " $7; bad = 1; exit }
	$6 + 0 <= 0 || $5 + $6 > size { print "line " NR ": range outside the image: " $0; bad = 1; exit }
	$7 == "read" { off[n] = $5 + 0; end[n] = $5 + $6 }
	END {
		if (bad) exit 1
		if (!n) { print "no READ traced"; exit 1 }
		# merge the ranges (insertion sort: a few hundred lines)
		m = 0
		for (i in off) { k[++m] = i }
		for (i = 2; i <= m; i++) for (j = i; j > 1 && off[k[j]] < off[k[j-1]]; j--) {
			t = k[j]; k[j] = k[j-1]; k[j-1] = t }
		s = off[k[1]]; e = end[k[1]]
		for (i = 2; i <= m; i++) {
			if (off[k[i]] <= e) { if (end[k[i]] > e) e = end[k[i]] }
			else { printf "%d-%d ", s, e; s = off[k[i]]; e = end[k[i]] }
		}
		printf "%d-%d\n", s, e
	}' "$W/srv.trace") || fail "bad trace: $cover"
# Reads go by whole segments (1400 bytes from each READ's offset): the
# ranges may start before and end after what dnbd-cat wrote out, never
# leave a gap, and never reach past the image.
read -r first second extra <<<"$cover"
[[ -z "${extra:-}" && -n "${second:-}" ]] ||
	fail "the trace covers '$cover': expected two ranges (1 MiB + 2 MiB, the tail)"
a0=${first%-*} a1=${first#*-} b0=${second%-*} b1=${second#*-}
((a0 <= 1048576 && a1 >= 3145728 && a1 < 3145728 + 1400 * 128)) ||
	fail "first range $first does not cover 1048576-3145728 (or overshoots)"
((b0 <= size - 5000 && b0 > size - 5000 - 1400 * 128 && b1 == size)) ||
	fail "second range $second does not end the image at $size"
pass "--trace: $(grep -vc '^#' "$W/srv.trace") READs in the dnbd-trace 1 format covering $cover of a $size-byte image"

# A retry is marked as one: READs lost on the way to the server come again.
net_bg srv "$W/srv2.log" "$DNBD_SERVER" -m "$GROUP" -d "$IMG" -i 1 \
	--stats "$W/srv2.json" --trace "$W/srv2.trace"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv2.json" || fail "second server: no stats file"
net_loss cl 30
net_run cl timeout -k 5 120 "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	>"$W/c.out" 2>"$W/c.log" || fail "dnbd-cat under 30 % loss failed: $(head -c 300 "$W/c.log")"
net_loss_off cl
net_stop "$srv_pid" || fail "second server: bad exit on SIGTERM"
cmp -s "$W/c.out" "$IMG" || fail "the read under loss differs from the image"
retries=$(awk '$7 == "retry"' "$W/srv2.trace" | wc -l)
want=$(json_num "$W/srv2.json" .counters.requests_retry)
((retries > 0 && retries == want)) ||
	fail "$retries retry lines in the trace, the server counted $want retried requests"
pass "--trace under 30 % loss: $retries retry lines, as many as requests_retry"
check_sanitizer_logs "$W"
