#!/bin/bash
#
# t-metrics: what an admin's monitoring sees.  Two replica servers (ids 1
# and 2) export one image with --stats and --metrics; client c1 reads all
# of it, c2 a part.  Checks:
#   - the metrics file parses with a real Prometheus parser
#     (python3-prometheus-client, tests/tools/promcheck.py) and passes
#     promtool's lint (Debian's prometheus package, promtool only);
#   - every counter of the stats file is dnbd_server_<name>_total with the
#     same value, and the per-image series equal the JSON's, at the final
#     write of a clean shutdown (both files from one moment);
#   - the stats file's clients: c1 and c2 by address, the image, reads and
#     segments; "settled" once they stopped reading (30 s); the replica
#     each server heard: the other's id and address;
#   - --metrics into a directory that does not exist: exit 1 and a clear
#     message at start-up, not a server that runs blind.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.78.0.1
PY=/usr/bin/python3	# Debian's, with python3-prometheus-client
CHECK="$NET_REPO/tests/tools/promcheck.py"

net_require
net_require_tool "$PY"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	fail "python3-prometheus-client missing (scripts/install-deps.sh)"
net_init
W=$NET_WORK

# promtool from Debian's prometheus package, unpacked into build/cache, not
# installed: the package would start a Prometheus server on the host.
promtool_get() {
	local cache="$NET_REPO/build/cache/promtool" deb
	if [[ ! -x "$cache/usr/bin/promtool" ]]; then
		rm -rf "$cache" && mkdir -p "$cache/deb"
		(cd "$cache/deb" && apt-get download prometheus >/dev/null 2>&1) ||
			(apt-get update -qq && cd "$cache/deb" &&
				apt-get download prometheus >/dev/null) ||
			fail "cannot download Debian's prometheus package for promtool"
		deb=$(ls "$cache"/deb/prometheus_*.deb)
		dpkg-deb -x "$deb" "$cache"
		rm -rf "$cache/deb"
	fi
	PROMTOOL="$cache/usr/bin/promtool"
}
promtool_get

make_image "$W/disk.img" 8

# Start-up: a metrics file that cannot be written.
rc=0
timeout 20 "$DNBD_SERVER" -m "$GROUP" -i 1 -d "$W/disk.img" --metrics "$W/none/m.prom" \
	>"$W/bad.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "--metrics into a missing directory: exit $rc, not 1"
grep -q -- "--metrics $W/none/m.prom: cannot write" "$W/bad.log" ||
	fail "no clear message for an unwritable --metrics: $(cat "$W/bad.log")"

net_setup_bridge
net_add_host srv1 10.78.0.11
net_add_host srv2 10.78.0.12
net_add_host c1 10.78.0.21
net_add_host c2 10.78.0.22
declare -A srv_pid
for i in 1 2; do
	net_bg "srv$i" "$W/srv$i.log" "$DNBD_SERVER" -m "$GROUP" -I eth0 \
		-d "$W/disk.img,name=lab" -i "$i" --stats "$W/srv$i.json" \
		--metrics "$W/srv$i.prom"
	srv_pid[$i]=$NET_LAST_PID
done
for i in 1 2; do
	wait_for 60 json_ready "$W/srv$i.json" ||
		fail "server $i wrote no stats file within 60 s"
	[[ -s "$W/srv$i.prom" ]] || fail "server $i wrote no metrics file"
done

net_bg_out c1 "$W/c1.out" "$W/c1.log" "$DNBD_CAT" -b "$GROUP" --timeout 30
c1=$NET_LAST_PID
net_bg_out c2 "$W/c2.out" "$W/c2.log" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
	--offset 1048576 --length 2097152
c2=$NET_LAST_PID
wait_exit "$c1" 120 || fail "c1's read failed: $(tail -3 "$W/c1.log")"
wait_exit "$c2" 120 || fail "c2's read failed: $(tail -3 "$W/c2.log")"
cmp -s "$W/c1.out" "$W/disk.img" || fail "c1 read wrong bytes"

# Live, while the clients are fresh (heard within 10 s) and the replicas
# announce: the gauges.
live_gauges() {
	"$PY" "$CHECK" "$W/srv1.prom" >"$W/srv1.live" 2>"$W/srv1.live.err" &&
		grep -qx 'dnbd_server_clients{server_id="1"} 2' "$W/srv1.live" &&
		grep -qx 'dnbd_server_replicas{server_id="1"} 1' "$W/srv1.live"
}
wait_for 8 live_gauges ||
	fail "srv1's live gauges are not 2 clients and 1 replica: $(grep -E 'server_(clients|replicas)' "$W/srv1.live") $(cat "$W/srv1.live.err")"
info "both clients read; waiting for their reads to settle (30 s)"

# The clients, as either server saw them (both hear every request).
client_seen() { # SERVER ADDRESS: the client's entry, settled
	jq -e --arg a "$2" '.clients[] | select(.address == $a and
		.image == "lab" and .settled and .reads > 0 and .segments > 0)' \
		"$W/srv$1.json" >/dev/null 2>&1
}
for i in 1 2; do
	for a in 10.78.0.21 10.78.0.22; do
		wait_for 50 client_seen "$i" "$a" ||
			fail "server $i does not show client $a settled: $(jq -c .clients "$W/srv$i.json")"
	done
	other=$((3 - i))
	jq -e --argjson id "$other" --arg a "10.78.0.1$other" \
		'.replicas[] | select(.id == $id and .address == $a and .datagrams > 0)' \
		"$W/srv$i.json" >/dev/null ||
		fail "server $i does not show replica $other: $(jq -c .replicas "$W/srv$i.json")"
done

# A clean stop writes both files once more, from one moment.
for i in 1 2; do
	net_stop "${srv_pid[$i]}" || fail "server $i did not stop cleanly"
done
for i in 1 2; do
	"$PY" "$CHECK" "$W/srv$i.prom" >"$W/srv$i.samples" ||
		fail "server $i's metrics do not parse: $(cat "$W/srv$i.prom" | head -5)"
	lint=$("$PROMTOOL" check metrics <"$W/srv$i.prom" 2>&1) ||
		fail "promtool check metrics: $lint"
	# What the JSON says, in promcheck's form.
	jq -r --arg id "$i" '
		(.counters | to_entries[] |
			"dnbd_server_\(.key)_total{server_id=\"\($id)\"} \(.value)"),
		(.images[] | "dnbd_image_requests_total{image=\"\(.name)\",server_id=\"\($id)\"} \(.requests)",
			"dnbd_image_segments_sent_total{image=\"\(.name)\",server_id=\"\($id)\"} \(.segments_sent)",
			"dnbd_image_data_sent_bytes_total{image=\"\(.name)\",server_id=\"\($id)\"} \(.data_bytes_sent)",
			"dnbd_image_size_bytes{image=\"\(.name)\",server_id=\"\($id)\"} \(.size)",
			"dnbd_image_changed{image=\"\(.name)\",server_id=\"\($id)\"} \(if .changed then 1 else 0 end)",
			"dnbd_image_info{group=\"\(.group):\(.port)\",image=\"\(.name)\",image_id=\"\(.id)\",revision=\"\(.revision)\",server_id=\"\($id)\"} 1"),
		"dnbd_server_uptime_seconds{server_id=\"\($id)\"} \(.uptime_s)"
		' "$W/srv$i.json" | sort >"$W/srv$i.want"
	n=$(wc -l <"$W/srv$i.want")
	((n > 45)) || fail "only $n expectations from server $i's JSON"
	missing=$(sort "$W/srv$i.samples" | comm -23 "$W/srv$i.want" -)
	[[ -z "$missing" ]] ||
		fail "server $i's metrics differ from its JSON; expected but absent:
$missing"
	info "server $i: $n samples equal the stats file's figures"
done
sent=$(grep -o 'dnbd_server_data_bytes_sent_total{server_id="1"} [0-9]*' "$W/srv1.samples" | cut -d' ' -f2)
((sent > 0)) || fail "server 1 sent no data by its metrics"
check_sanitizer_logs "$W" || fail "sanitizer reports (above)"
pass "metrics parse (prometheus_client, promtool) and equal the JSON; clients, settling and replicas seen; a bad --metrics path refused"
