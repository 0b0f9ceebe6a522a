#!/bin/bash
#
# t-server-cli: dnbd-server's command line and life cycle.  Usage errors
# exit 2 with the usage text; a missing image exits non-zero naming it;
# --stats writes valid JSON in the documented shape; SIGUSR1 logs the
# counters; SIGTERM is a clean exit 0.
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
# Even the runs that should fail at once run in a namespace: a server that
# wrongly starts must not multicast on the host's interfaces.
net_add_host srv 10.77.0.11

IMG=$W/disk.img
make_image "$IMG" 1

# srv_once TAG ARGS...: one bounded foreground run; output in TAG.log.
srv_once() {
	local tag=$1 rc=0
	shift
	net_run srv timeout -k 5 30 "$DNBD_SERVER" "$@" >"$W/$tag.log" 2>&1 ||
		rc=$?
	return "$rc"
}

# usage_case TAG ARGS...: exit 2 and the usage text (no arguments, an
# unknown option).
usage_case() {
	local tag=$1 rc=0
	shift
	srv_once "$tag" "$@" || rc=$?
	((rc == 2)) || fail "dnbd-server $*: exit $rc, expected 2:" \
		"$(head -c 300 "$W/$tag.log")"
	grep -qi 'usage' "$W/$tag.log" ||
		fail "dnbd-server $*: no usage text: $(head -c 300 "$W/$tag.log")"
	pass "dnbd-server ${*:-(no arguments)}: exit 2 with usage text"
}

# bad_value TAG ARGS...: exit 2 and a message, the usage text or a line
# saying what is wrong.
bad_value() {
	local tag=$1 rc=0
	shift
	srv_once "$tag" "$@" || rc=$?
	((rc == 2)) || fail "dnbd-server $*: exit $rc, expected 2:" \
		"$(head -c 300 "$W/$tag.log")"
	grep -qiE 'usage|^dnbd-server: ' "$W/$tag.log" ||
		fail "dnbd-server $*: no message: $(head -c 300 "$W/$tag.log")"
	pass "dnbd-server $*: exit 2: $(grep -m1 -iE 'usage|^dnbd-server: ' \
		"$W/$tag.log")"
}

usage_case noargs
usage_case badopt --no-such-option
bad_value noid -m "$GROUP" -d "$IMG"
bad_value id0 -m "$GROUP" -d "$IMG" -i 0
bad_value bigid -m "$GROUP" -d "$IMG" -i 70000
bad_value segmax -m "$GROUP" -d "$IMG" -i 1 --seg-max 100
bad_value badrate -m "$GROUP" -d "$IMG" -i 1 --rate fast
bad_value extra -m "$GROUP" -d "$IMG" -i 1 stray-argument

rc=0
srv_once help -h || rc=$?
((rc == 0)) || fail "dnbd-server -h: exit $rc, expected 0"
grep -qi usage "$W/help.log" || fail "dnbd-server -h: no usage text"
pass "dnbd-server -h: exit 0 with usage text"

rc=0
srv_once missing -m "$GROUP" -d "$W/no-such.img" -i 1 || rc=$?
info "missing image: exit $rc: $(head -c 300 "$W/missing.log")"
((rc != 0 && rc != 124 && rc != 137)) ||
	fail "a missing image file: exit $rc, expected an error exit"
grep -q 'no-such.img' "$W/missing.log" ||
	fail "the error for a missing image does not name the file"
pass "missing image file: exit $rc naming the file"

# A real server: stats, SIGUSR1, SIGTERM.
net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -d "$IMG" -i 7 \
	--stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" ||
	fail "no valid JSON in --stats file within 60 s: $(head -c 300 "$W/srv.json" 2>/dev/null)"
pass "--stats file appeared and is valid JSON"
info "stats: $(jq -c . "$W/srv.json" | head -c 1500)"

# The documented shape (dnbd-server(8), --stats).
jq -e --arg size "$(size_of "$IMG")" '
	.server_id == 7 and (.uptime_s | type) == "number" and
	([.counters[] | type == "number"] | all) and
	(.counters | has("segments_sent") and has("requests") and
	 has("crc_failures") and has("errors_sent") and
	 has("requests_out_of_range") and has("image_changed")) and
	(.images | length) == 1 and
	.images[0].name == "disk.img" and
	(.images[0].id | test("^0x[0-9a-f]{16}$")) and
	.images[0].size == ($size | tonumber) and
	.images[0].group == "239.77.0.1" and .images[0].port == 5001 and
	.images[0].changed == false' "$W/srv.json" >/dev/null ||
	fail "stats JSON lacks a documented field or value"
pass "stats JSON has the documented fields and values"

# SIGUSR1: new log lines naming counters.
lines=$(wc -l <"$W/srv.log")
kill -USR1 "$srv_pid"
logged_counters() {
	tail -n "+$((lines + 1))" "$W/srv.log" |
		grep -qE 'segments_sent|requests|datagrams_received'
}
wait_for 10 logged_counters ||
	fail "SIGUSR1 logged no counters: $(tail -n 5 "$W/srv.log")"
pass "SIGUSR1 logged: $(tail -n "+$((lines + 1))" "$W/srv.log" | head -n 3 |
	tr '\n' ' ' | cut -c1-300)"
pid_alive "$srv_pid" || fail "the server died on SIGUSR1"

rc=0
net_stop "$srv_pid" 20 || rc=$?
((rc == 0)) || fail "SIGTERM: exit $rc, expected 0"
pass "SIGTERM: exit 0"

check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
