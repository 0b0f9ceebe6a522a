# shellcheck shell=bash
#
# bench/bootstorm.sh - scenario 10 of bench/run.sh (sourced by it): the
# boot storm.  A room of PCs switched on together, replayed from a real
# boot trace (bench/traces/*.trace, recorded by bench/record-trace.sh) by
# dnbd-replay processes, each one client booting: its READs in order,
# each after the one it depended on, with the recorded think time scaled
# by BOOT_THINK.  dnbd-replay runs through the real client core against
# dnbd-server, and over NBD (libnbd, one connection per client) against
# nbd-server, the peer.
#
# On the namespace LAN of run.sh: the clients are spread round-robin over
# c1..c8 (several replay processes per host above 8 clients: each has its
# own socket and connection, as a PC would).  For each link (the LAN as
# it is, and tbf 1 Gbit/s on srv's eth0 as in scenario 7): one lone boot
# per system (the reference), then N = BOOT_N clients together (all start
# at once) and spread evenly over BOOT_SPREAD seconds.
#
# Raw figures: RAW/boot.tsv (one line per client), RAW/bootruns.tsv (one
# per run), RAW/s10-*.json (the replays' own reports), meta.tsv (boot_*).
#
# Knobs: BENCH_BOOT_TRACE (bench/traces/desktop.trace when it exists,
# else demo.trace), BENCH_BOOT_N ("8 32"; quick "2"), BENCH_BOOT_SPREAD
# (30 s; quick 2), BENCH_BOOT_THINK (think-time scale, 0.1; quick 0:
# none), BENCH_BOOT_LINKS ("lan gbit"; quick "lan"), BENCH_BOOT_READS (the
# trace's first so many READs only; quick 300, else all of them);
# for side runs, BENCH_BOOT_MODES ("lone together spread") and
# BENCH_BOOT_SYSTEMS ("dnbd nbd-server"): a report needs them all.

BOOT_HOSTS_MAX=8

boot_knobs() {
	local d_trace=$REPO/bench/traces/demo.trace
	[[ ! -s $REPO/bench/traces/desktop.trace ]] || d_trace=$REPO/bench/traces/desktop.trace
	BOOT_TRACE=${BENCH_BOOT_TRACE:-$d_trace}
	if ((QUICK)); then
		BOOT_N=${BENCH_BOOT_N:-2} BOOT_SPREAD=${BENCH_BOOT_SPREAD:-2}
		BOOT_LINKS=${BENCH_BOOT_LINKS:-lan} BOOT_THINK=${BENCH_BOOT_THINK:-0}
		BOOT_READS=${BENCH_BOOT_READS:-300}
	else
		BOOT_N=${BENCH_BOOT_N:-8 32} BOOT_SPREAD=${BENCH_BOOT_SPREAD:-30}
		BOOT_LINKS=${BENCH_BOOT_LINKS:-lan gbit} BOOT_THINK=${BENCH_BOOT_THINK:-0.1}
		BOOT_READS=${BENCH_BOOT_READS:-0}
	fi
	BOOT_MODES=${BENCH_BOOT_MODES:-lone together spread}
	BOOT_SYSTEMS=${BENCH_BOOT_SYSTEMS:-dnbd nbd-server}
	REPLAY=$REPO/build/bench/dnbd-replay
}

# boot_check_knobs: called by bench_check_knobs.
boot_check_knobs() {
	local v
	[[ -s "$BOOT_TRACE" ]] || fail "BENCH_BOOT_TRACE: no trace at $BOOT_TRACE"
	for v in $BOOT_N; do
		{ [[ "$v" =~ ^[1-9][0-9]*$ ]] && ((v <= 64)); } ||
			fail "BENCH_BOOT_N takes client counts 1..64: '$v'"
	done
	[[ "$BOOT_READS" =~ ^[0-9]+$ ]] || fail "BENCH_BOOT_READS is a count: '$BOOT_READS'"
	[[ "$BOOT_SPREAD" =~ ^[0-9]+$ ]] || fail "BENCH_BOOT_SPREAD is whole seconds: '$BOOT_SPREAD'"
	[[ "$BOOT_THINK" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		fail "BENCH_BOOT_THINK is a scale such as 0.1: '$BOOT_THINK'"
	for v in $BOOT_LINKS; do
		[[ $v == lan || $v == gbit ]] || fail "BENCH_BOOT_LINKS takes lan and gbit: '$v'"
	done
	for v in $BOOT_MODES; do
		[[ $v == lone || $v == together || $v == spread ]] ||
			fail "BENCH_BOOT_MODES takes lone, together and spread: '$v'"
	done
	for v in $BOOT_SYSTEMS; do
		[[ $v == dnbd || $v == nbd-server ]] ||
			fail "BENCH_BOOT_SYSTEMS takes dnbd and nbd-server: '$v'"
	done
}

# boot_hosts: the client hosts scenario 10 uses.
boot_hosts() {
	local n m=1
	for n in $BOOT_N; do ((n <= m)) || m=$n; done
	echo $((m < BOOT_HOSTS_MAX ? m : BOOT_HOSTS_MAX))
}

# boot_trim TRACE OUT: TRACE's comments and its first BOOT_READS reads
# (all with 0), without its image size (the reads left set it).
boot_trim() {
	if ((BOOT_READS == 0)); then
		cp "$1" "$2"
	else
		awk -v k="$BOOT_READS" '/^# image_bytes:/ { next } /^#/ { print; next }
			$7 == "read" && ++n > k { exit } { print }' "$1" >"$2"
	fi
}

# boot_trace_figures: reads, bytes, duration (s) and the image size the
# trace needs (its header's "# image_bytes:", else its highest end).
boot_trace_figures() {
	awk '/^# image_bytes:/ { img = $3 }
		/^#/ { next }
		$7 == "read" { n++; b += $6; if ($5 + $6 > end) end = $5 + $6
			if ($2 > last) last = $2 }
		END { if (!img) img = end
			printf "%d %d %.1f %d\n", n, b, last / 1e6, img }' "$W/boot.trace"
}

# boot_counters: dnbd-server's counters now, one "name value" per line.
boot_counters() {
	sleep 1.1	# the stats file is rewritten every second
	jq -r '.counters | to_entries[] | "\(.key) \(.value)"' "$W/dnbd-server.json"
}

# boot_delta BEFORE AFTER NAME: how much counter NAME grew.
boot_delta() {
	awk -v k="$3" 'NR == FNR { if ($1 == k) a = $2; next } $1 == k { b = $2 }
		END { print b - a }' "$1" "$2"
}

# boot_run SYSTEM LINK MODE N: N replays at once (together) or spread over
# BOOT_SPREAD s; lines in boot.tsv and bootruns.tsv.
boot_run() {
	local sys=$1 link=$2 mode=$3 n=$4 i hosts tag delays=()
	local pid start wall tx0 tx1 c0 c1 note="" target k
	tag="s10-$sys-$link-$mode-$n"
	pid=$(server_pid "$sys")
	wait_for 10 nbd_idle || true
	[[ $sys != dnbd ]] || boot_counters >"$W/$tag.c0"
	tx0=$(net_port_tx_bytes srv)
	c0=$(cpu_ticks "$pid")
	if [[ $sys == dnbd ]]; then
		target=(-b "$GROUP" --image "$EXPORT" --timeout 30)
	else
		target=(--nbd "nbd://$SRV_IP:$NBD_PORT/$EXPORT")
	fi
	# Client i starts after delays[i]: 0, or i/N of the spread.
	read -ra delays <<<"$(awk -v n="$n" -v s="$BOOT_SPREAD" -v m="$mode" \
		'BEGIN { for (i = 0; i < n; i++) printf "%.3f ", m == "spread" ? i * s / n : 0 }')"
	hosts=$(boot_hosts)
	start=$EPOCHREALTIME
	READER_PIDS=()
	for ((i = 0; i < n; i++)); do
		net_bg_out "c$((i % hosts + 1))" "$W/$tag-$i.json" "$W/cl-$tag-$((i + 1)).log" \
			timeout "$CLIENT_TIMEOUT" \
			"$REPLAY" -q --think-scale "$BOOT_THINK" --start-delay "${delays[$i]}" \
			"${target[@]}" "$W/boot.trace"
		READER_PIDS+=("$NET_LAST_PID")
	done
	wait_readers "$tag" || fail "$tag: a replay failed"	# their logs: cl-TAG-N.log
	wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	[[ $sys != nbd-server ]] || wait_for 10 nbd_idle || info "nbd-server children linger"
	tx1=$(net_port_tx_bytes srv)
	c1=$(cpu_ticks "$pid")
	for ((i = 0; i < n; i++)); do
		jq -e '.errors == 0 and .reads > 0' "$W/$tag-$i.json" >/dev/null ||
			fail "$tag-$i: the replay reported errors: $(head -c 300 "$W/$tag-$i.json")"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$link" "$mode" "$n" "$i" "${delays[$i]}" \
			"$(jq -r .seconds "$W/$tag-$i.json")" "$(jq -r .bytes "$W/$tag-$i.json")" \
			>>"$RAW/boot.tsv"
	done
	cp "$W/$tag-0.json" "$RAW/$tag-0.json"
	mkdir -p "$RAW/s10-clients"
	cp "$W/$tag"-*.json "$RAW/s10-clients/"
	if [[ $sys == dnbd ]]; then
		boot_counters >"$W/$tag.c1"
		# Why, from the server's counters: what it sent, what it was asked
		# again, what it held back as just multicast.
		for k in requests requests_retry segments_rerequested segments_sent \
			duplicates_suppressed repairs parity_sent parity_proactive queue_full \
			requests_ratelimited; do
			note+="$k=$(boot_delta "$W/$tag.c0" "$W/$tag.c1" "$k");"
		done
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$link" "$mode" "$n" "$wall" \
		$((tx1 - tx0)) "$(ticks_to_s $((c1 - c0)))" "${note%;}" >>"$RAW/bootruns.tsv"
	awk -v t="$tag" -v w="$wall" -v e=$((tx1 - tx0)) -v b="$BOOT_BYTES" 'BEGIN {
		printf "s10 %-34s all done in %7.2f s, egress %.2fx one boot\n", t, w, e / b }'
}

# s10_boot: the scenario.
s10_boot() {
	local figs reads dur img_bytes link n mode sys img=$W/boot.img
	boot_trim "$BOOT_TRACE" "$W/boot.trace"
	figs=$(boot_trace_figures)
	read -r reads BOOT_BYTES dur img_bytes <<<"$figs"
	((reads > 0)) || fail "$BOOT_TRACE has no read lines"
	info "== 10: boot storm, $(basename "$BOOT_TRACE"): $reads READs, $BOOT_BYTES bytes," \
		"$dur s recorded; think x $BOOT_THINK; N = $BOOT_N; links: $BOOT_LINKS"
	kv boot_trace "$(basename "$BOOT_TRACE")"
	kv boot_reads "$reads"; kv boot_bytes "$BOOT_BYTES"; kv boot_duration_s "$dur"
	kv boot_image_bytes "$img_bytes"; kv boot_n "$BOOT_N"; kv boot_spread "$BOOT_SPREAD"
	kv boot_think "$BOOT_THINK"; kv boot_links "$BOOT_LINKS"; kv boot_hosts "$(boot_hosts)"
	kv boot_reads_cut "$BOOT_READS"
	kv boot_booted "$(sed -n 's/^# booted: //p' "$BOOT_TRACE" | head -n 1)"
	[[ -x "$REPLAY" ]] || fail "no $REPLAY (make)"
	# The trace's image: random bytes of its size (only the transport
	# is measured here; what the bytes mean does not matter).
	if ((QUICK)); then
		truncate -s "$img_bytes" "$img"	# sparse: the quick run's time is short
	else
		head -c "$img_bytes" /dev/urandom >"$img"
	fi
	serve "$img"
	clients_up "$(boot_hosts)"
	printf 'system\tlink\tmode\tclients\tclient\tdelay_s\tseconds\tbytes\n' >"$RAW/boot.tsv"
	printf 'system\tlink\tmode\tclients\twall_s\tegress_bytes\tsrv_cpu_s\tnote\n' >"$RAW/bootruns.tsv"
	for link in $BOOT_LINKS; do
		if [[ $link == gbit ]]; then
			# shellcheck disable=SC2086 # GBIT_TBF is several words
			net_run srv tc qdisc add dev eth0 root tbf rate "$GBIT_RATE" $GBIT_TBF ||
				fail "tc cannot add a tbf qdisc here"
		fi
		for sys in $BOOT_SYSTEMS; do
			[[ " $BOOT_MODES " != *" lone "* ]] || boot_run "$sys" "$link" lone 1
		done
		for n in $BOOT_N; do
			for mode in together spread; do
				[[ " $BOOT_MODES " == *" $mode "* ]] || continue
				for sys in $BOOT_SYSTEMS; do
					boot_run "$sys" "$link" "$mode" "$n"
				done
			done
		done
		[[ $link != gbit ]] || net_run srv tc qdisc del dev eth0 root
	done
}
