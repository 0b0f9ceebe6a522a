#!/bin/bash
#
# scripts/demo-net.sh - what `make demo-net` shows: two replica servers and three
# clients reading one 64 MiB image at the same time over multicast, on a
# private bridge in network namespaces (nothing touches the host's own
# network).  Builds nothing: make has built build/bin already.
#
# Exit status 0 when every client got the exact image, 1 otherwise.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export DNBD_BIN=${DNBD_BIN:-$REPO/build/bin}
# shellcheck source=SCRIPTDIR/../tests/net/lib.sh
source "$REPO/tests/net/lib.sh"
trap net_cleanup EXIT
trap 'exit 130' INT TERM HUP

GROUP=239.77.0.1
SIZE_MIB=${DEMO_MIB:-64}
CLIENTS=(client1 client2 client3)
MAX_SECONDS=600		# the progress loop gives up after this

[[ $EUID -eq 0 ]] || { echo "demo: run as root (network namespaces)" >&2; exit 1; }
for b in "$DNBD_SERVER" "$DNBD_CAT"; do
	[[ -x "$b" ]] || { echo "demo: $b missing: run make first" >&2; exit 1; }
done

net_init
W=$NET_WORK
net_setup_bridge
net_add_host server1 10.77.0.1
net_add_host server2 10.77.0.2
net_add_host client1 10.77.0.11
net_add_host client2 10.77.0.12
net_add_host client3 10.77.0.13
info "LAN: bridge in netns $NET_BR; servers 10.77.0.1-2, clients 10.77.0.11-13"

make_image "$W/demo.img" "$SIZE_MIB"
size=$(size_of "$W/demo.img")
want=$(sha_of "$W/demo.img")
info "image: $W/demo.img, $SIZE_MIB MiB of random bytes, sha256 ${want:0:16}..."

for i in 1 2; do
	net_bg "server$i" "$W/server$i.log" "$DNBD_SERVER" -m "$GROUP" \
		-d "$W/demo.img" -i "$i" --stats "$W/server$i.json"
done
for i in 1 2; do
	wait_for 30 json_ready "$W/server$i.json" ||
		{ net_dump_logs; echo "demo: server$i did not start" >&2; exit 1; }
done
info "servers 1 and 2 serve $GROUP:5001"

egress() {
	echo $(($(net_port_tx_bytes server1) + $(net_port_tx_bytes server2)))
}
tx0=$(egress)
start=$EPOCHREALTIME
declare -A pid done_at rc
for c in "${CLIENTS[@]}"; do
	net_bg_out "$c" "$W/$c.out" "$W/$c.log" "$DNBD_CAT" -b "$GROUP" \
		--timeout 30 -v --stats "$W/$c.json"
	pid[$c]=$NET_LAST_PID
done
info "three clients started: dnbd-cat -b $GROUP -v --stats ..."
echo

# One line a second until every client has finished.
running() {
	local c
	for c in "${CLIENTS[@]}"; do
		[[ -z "${rc[$c]:-}" ]] && return 0
	done
	return 1
}
# reap: note the exit status and time of clients that have finished.
reap() {
	local c r
	for c in "${CLIENTS[@]}"; do
		if [[ -z "${rc[$c]:-}" ]] && ! pid_alive "${pid[$c]}"; then
			r=0
			wait "${pid[$c]}" || r=$?
			rc[$c]=$r
			done_at[$c]=$(elapsed_since "$start")
		fi
	done
}

# progress SECONDS: one line, what each client has written so far.
progress() {
	local c line
	line=$(printf '%5ss ' "$1")
	for c in "${CLIENTS[@]}"; do
		line+=$(printf ' %s %6.1f MiB' "$c" \
			"$(awk -v b="$(size_of "$W/$c.out")" 'BEGIN { print b / 1048576 }')")
	done
	line+=$(printf ' | servers sent %6.1f MiB' \
		"$(awk -v b="$(($(egress) - tx0))" 'BEGIN { print b / 1048576 }')")
	echo "$line"
}

# Poll five times a second (for the finish times), print once a second.
tick=0
while running && ((tick < MAX_SECONDS * 5)); do
	sleep 0.2
	tick=$((tick + 1))
	reap
	((tick % 5 == 0)) || ! running || continue
	progress "$(elapsed_since "$start")"
done
for c in "${CLIENTS[@]}"; do
	if [[ -z "${rc[$c]:-}" ]]; then
		echo "demo: $c still running after $MAX_SECONDS s: stopping it"
		rc[$c]=124
		done_at[$c]=-
		kill -TERM "${pid[$c]}" 2>/dev/null || true
	fi
done
tx=$(($(egress) - tx0))

echo
ok=1
for c in "${CLIENTS[@]}"; do
	if [[ ${rc[$c]} == 0 && $(sha_of "$W/$c.out") == "$want" ]]; then
		echo "$c: sha256 OK, finished after ${done_at[$c]} s"
	else
		echo "$c: FAILED (exit ${rc[$c]}, $(size_of "$W/$c.out") bytes)" \
			"after ${done_at[$c]} s; last log lines:"
		tail -n 5 "$W/$c.log" | sed 's/^/    /'
		ok=0
	fi
done
echo
awk -v e="$tx" -v s="$size" 'BEGIN {
	printf "servers sent %.1f MiB for 3 clients x %.1f MiB: %.2f x the image size\n",
		e / 1048576, s / 1048576, e / s }'
echo "(unicast would have sent at least 3 x)"
echo

# The key counters, one column per process.
table() {
	awk '{ printf "  %-22s", $1
	       for (i = 2; i <= NF; i++) printf " %10s", $i
	       printf "\n" }'
}
echo "server counters:"
{
	echo "counter server1 server2"
	for k in requests requests_retry segments_sent duplicates_suppressed \
		announces_sent errors_sent; do
		echo "$k $(jq -r ".counters.$k // \"-\"" "$W/server1.json")" \
			"$(jq -r ".counters.$k // \"-\"" "$W/server2.json")"
	done
} | table
echo "client counters:"
{
	echo "counter ${CLIENTS[*]}"
	for k in requests_sent segments_received replies_overheard cache_hits \
		requests_suppressed segments_rerequested timeouts failovers; do
		line=$k
		for c in "${CLIENTS[@]}"; do
			line+=" $(jq -r ".counters.$k // \"-\"" "$W/$c.json" 2>/dev/null ||
				echo -)"
		done
		echo "$line"
	done
} | table

if ((ok)); then
	echo
	echo "demo: all three clients read the exact image"
	exit 0
fi
echo "demo: a client failed (logs above)"
exit 1
