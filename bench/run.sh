#!/bin/bash
#
# bench/run.sh - `make bench`: dnbd next to nbd-server and nbdkit on a
# namespace LAN of this machine.  A benchmark: it measures and reports, and
# asserts nothing about timings (it fails only when a reader fails).
#
# The LAN is tests/net/lib.sh's: a bridge namespace, srv (10.77.0.11),
# srv2 (10.77.0.12, the failover replica) and clients c1..c8 (10.77.0.21..).
# Bridge ports of hosts a run does not use are down, so the bridge's
# multicast flooding (snooping is off) reaches only the hosts taking part,
# as a switch with IGMP snooping would.  All traffic stays in there.
#
# Scenarios (one function each):
#   1 one client reads the whole image: dnbd-cat, nbdcopy from nbd-server
#     and from nbdkit, and iperf3 -R on the same veth (the link limit);
#     also dnbd with two knobs changed (-t 2; 8900-byte segments)
#   2 N clients read the image at once: server egress / image, wall time,
#     PASSES passes, the median (and every pass's egress)
#   3 random loss p% (nftables, into client and server): throughput
#   4 failover: kill -9 the replica in use; pause in the client's stream
#   5 server CPU seconds per GiB, from the runs of 1 and 2
#   6 a slow shared link (tbf on srv's eth0), N clients at once: dnbd
#     (defaults), dnbd --rate-control, nbd-server
#   7 one client on a 1 Gbit/s link (tbf on srv's eth0): dnbd-cat from
#     dnbd-server (defaults, and paced with --rate at the link rate) next
#     to nbdcopy from nbd-server, PASSES passes, median
#   8 N clients that each lose p% of what arrives, independently, read
#     the loss image at once: egress with parity repair (the default;
#     and dnbd-cat --hold 64), with --no-fec (named re-requests only),
#     and nbd-server
#   9 a Wi-Fi-like cell: tbf 54 Mbit/s on srv's eth0, N clients that
#     each lose p% of what arrives: first one client alone on the clean
#     cell (the reference time), then the N through the loss: dnbd,
#     dnbd --rate-control, nbd-server
#  10 the boot storm: a real boot trace replayed by 1, 8 and 32 clients
#     (dnbd-replay), together and spread over 30 s, on the LAN and at
#     1 Gbit/s: dnbd and nbd-server (bench/bootstorm.sh)
# plus a perf profile (perf record -a) during one more single read (it
# runs with scenario 1).
#
# Raw figures go to RAW (results.tsv, failover.tsv, meta.tsv, profiles);
# bench/report.py turns them into OUT/benchmarks.md and OUT/bench/*.png.
#
# Knobs (environment):
#   BENCH_QUICK=1    the tiny version make check runs (16 MiB, N=1 2,
#                    loss 0 5, tbf 2 clients x 8 MiB, one pass)
#   BENCH_MIB        image of scenarios 1, 2, 5 (1024)
#   BENCH_N          client counts of scenario 2 ("1 2 4 8")
#   BENCH_PASSES     passes of scenarios 1 and 2, median reported (3)
#   BENCH_LOSS       loss percentages ("0 1 5 10"); BENCH_LOSS_MIB (256)
#   BENCH_FAIL_MIB   failover image (96); BENCH_FAIL_RATE per replica
#                    (24M); BENCH_FAIL_REPEAT (3)
#   BENCH_TBF_MIB    slow-link image (128); BENCH_TBF_N (8);
#                    BENCH_TBF_RATE (100mbit)
#   BENCH_GBIT_MIB   image of the 1 Gbit/s scenario 7 (512; quick: 8)
#   BENCH_MLOSS      loss percentages of scenario 8 ("5"); BENCH_MLOSS_N
#                    its clients (8; quick: 2)
#   BENCH_CELL_MIB   image of scenario 9 (64; quick: 8); BENCH_CELL_N its
#                    clients (8; quick: 2); BENCH_CELL_LOSS (10);
#                    BENCH_CELL_RATE (54mbit)
#   BENCH_BOOT_*     scenario 10: see bench/bootstorm.sh
#   BENCH_ONLY       the scenarios to run, e.g. "1 7" (default: all of
#                    1..10; 5 is computed from the runs of 1 and 2, the
#                    profile runs with 1)
#   BENCH_SRV_OPTS   extra dnbd-server options of scenarios 1-3 and 5-9
#                    (e.g. --rate-control), for side runs
#   BENCH_PERF=0     no perf profile
#   BENCH_OUT        report directory (docs; quick: build/bench/quick)
#   BENCH_RAW        raw figures (build/bench; quick: BENCH_OUT/raw)
# As root on Debian 12; missing packages are installed (`run.sh --deps`
# installs them and does nothing else).
# shellcheck disable=SC2317 # predicates called through wait_for
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export DNBD_BIN=$REPO/build/bin	# the optimized build, not build/asan
# shellcheck source=SCRIPTDIR/../tests/net/lib.sh
source "$REPO/tests/net/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP
PATH=$PATH:/usr/sbin:/sbin

QUICK=${BENCH_QUICK:-0}
if ((QUICK)); then
	D_MIB=16 D_N="1 2" D_LOSS="0 5" D_LOSS_MIB=16 D_FAIL_MIB=16
	D_FAIL_RATE=6M D_FAIL_REPEAT=1 D_TBF_MIB=8 D_TBF_N=2 D_PASSES=1
	D_GBIT_MIB=8 D_MLOSS_N=2 D_CELL_MIB=8 D_CELL_N=2
	D_OUT=$REPO/build/bench/quick IPERF_S=1
else
	D_MIB=1024 D_N="1 2 4 8" D_LOSS="0 1 5 10" D_LOSS_MIB=256 D_FAIL_MIB=96
	D_FAIL_RATE=24M D_FAIL_REPEAT=3 D_TBF_MIB=128 D_TBF_N=8 D_PASSES=3
	D_GBIT_MIB=512 D_MLOSS_N=8 D_CELL_MIB=64 D_CELL_N=8
	D_OUT=$REPO/docs IPERF_S=5
fi
MIBS=${BENCH_MIB:-$D_MIB}
NS_LIST=${BENCH_N:-$D_N}
PASSES=${BENCH_PASSES:-$D_PASSES}
LOSSES=${BENCH_LOSS:-$D_LOSS}
LOSS_MIB=${BENCH_LOSS_MIB:-$D_LOSS_MIB}
FAIL_MIB=${BENCH_FAIL_MIB:-$D_FAIL_MIB}
FAIL_RATE=${BENCH_FAIL_RATE:-$D_FAIL_RATE}
FAIL_REPEAT=${BENCH_FAIL_REPEAT:-$D_FAIL_REPEAT}
TBF_MIB=${BENCH_TBF_MIB:-$D_TBF_MIB}
TBF_N=${BENCH_TBF_N:-$D_TBF_N}
TBF_RATE=${BENCH_TBF_RATE:-100mbit}
GBIT_MIB=${BENCH_GBIT_MIB:-$D_GBIT_MIB}
MLOSS=${BENCH_MLOSS:-5}
MLOSS_N=${BENCH_MLOSS_N:-$D_MLOSS_N}
CELL_MIB=${BENCH_CELL_MIB:-$D_CELL_MIB}
CELL_N=${BENCH_CELL_N:-$D_CELL_N}
CELL_LOSS=${BENCH_CELL_LOSS:-10}
CELL_RATE=${BENCH_CELL_RATE:-54mbit}
ONLY=${BENCH_ONLY:-1 2 3 4 5 6 7 8 9 10}
PERF=${BENCH_PERF:-1}
OUT=${BENCH_OUT:-$D_OUT}
if ((QUICK)); then RAW=${BENCH_RAW:-$OUT/raw}; else RAW=${BENCH_RAW:-$REPO/build/bench}; fi

GROUP=239.77.0.1
FAIL_GROUP=239.77.0.5
SRV_IP=10.77.0.11
NBD_PORT=10809
KIT_PORT=10810
EXPORT=bench
# dnbd-cat --hold of the dnbd-hold reader (scenario 8): 4x its window.
HOLD=64
# A reader that does not finish within this many seconds failed.
CLIENT_TIMEOUT=600
# TCP under heavy loss may crawl: its reader is stopped after this long.
LOSS_TIMEOUT=120
IPERF_P=$(($(nproc) < 4 ? $(nproc) : 4))
# shellcheck source=SCRIPTDIR/bootstorm.sh
source "$REPO/bench/bootstorm.sh"
boot_knobs
PKGS=(nbd-server nbdkit libnbd-bin iperf3 gnuplot-nox linux-perf nftables
	jq time python3 iproute2 strace procps libnbd-dev)

# ---- set-up ---------------------------------------------------------------

# bench_pkgs: install the Debian packages that are missing.
bench_pkgs() {
	local p missing=()
	for p in "${PKGS[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	info "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null; }
}

# bench_check_knobs: numbers where numbers are expected.
bench_check_knobs() {
	local v
	for v in "$MIBS" "$PASSES" "$LOSS_MIB" "$FAIL_MIB" "$FAIL_REPEAT" "$TBF_MIB" "$TBF_N" \
		"$GBIT_MIB" "$MLOSS_N" "$CELL_MIB" "$CELL_N"; do
		[[ "$v" =~ ^[1-9][0-9]*$ ]] || fail "a BENCH_ size or count is not a number: '$v'"
	done
	((MLOSS_N <= 8)) || fail "BENCH_MLOSS_N is at most 8 (the LAN's clients)"
	((CELL_N <= 8)) || fail "BENCH_CELL_N is at most 8 (the LAN's clients)"
	for v in $NS_LIST $LOSSES $MLOSS $CELL_LOSS; do
		[[ "$v" =~ ^[0-9]+$ ]] || fail "BENCH_N, BENCH_LOSS and BENCH_MLOSS take numbers: '$v'"
	done
	[[ -n "${ONLY// /}" ]] || fail "BENCH_ONLY names no scenario"
	for v in $ONLY; do
		[[ "$v" =~ ^([1-9]|10)$ ]] || fail "BENCH_ONLY takes scenario numbers 1..10: '$v'"
	done
	! selected 10 || boot_check_knobs
}

# selected N: scenario N is in BENCH_ONLY.
selected() {
	[[ " $ONLY " == *" $1 "* ]]
}

# max_clients: the most clients any scenario starts.
max_clients() {
	local n m=1 ns=""
	! selected 2 || ns=$NS_LIST
	! selected 6 || ns+=" $TBF_N"
	! selected 8 || ns+=" $MLOSS_N"
	! selected 10 || ns+=" $(boot_hosts)"
	for n in $ns; do
		((n <= m)) || m=$n
	done
	echo "$m"
}

# bench_lan: bridge, srv, srv2 and the clients; every client port down.
bench_lan() {
	local i
	net_setup_bridge
	net_add_host srv "$SRV_IP"
	net_add_host srv2 10.77.0.12
	for ((i = 1; i <= $(max_clients); i++)); do
		net_add_host "c$i" "10.77.0.$((20 + i))"
	done
	port_set srv2 down
	clients_up 0
}

# port_set HOST up|down: the host's bridge port.
port_set() {
	ip -n "$NET_BR" link set "p-$1" "$2"
}

# carrier_up HOST: its eth0 has a link (its bridge port is up).
carrier_up() {
	[[ $(net_run "$1" cat /sys/class/net/eth0/carrier 2>/dev/null) == 1 ]]
}

# clients_up N: c1..cN on the bridge, the other clients off it.
clients_up() {
	local i n=$1
	for ((i = 1; i <= $(max_clients); i++)); do
		if ((i <= n)); then port_set "c$i" up; else port_set "c$i" down; fi
	done
	for ((i = 1; i <= n; i++)); do
		wait_for 10 carrier_up "c$i" || fail "c$i: no carrier"
	done
}

# sub_image FILE MIB: the first MIB MiB of IMG, or new random data when
# IMG is smaller (or was not made: scenarios 1 and 2 not selected).
sub_image() {
	if [[ -s "$IMG" ]] && (($(size_of "$IMG") >= $2 * MIB)); then
		head -c $(($2 * MIB)) "$IMG" >"$1"
	else
		make_image "$1" "$2"
	fi
}

# ---- servers ----------------------------------------------------------------

DNBD_PID="" NBD_PID="" KIT_PID="" VAR_PID=""
# Variants of dnbd in scenario 1 (knobs, not defaults), on their own group.
VARIANTS="dnbd-t2 dnbd-seg8900"
VAR_GROUP=239.77.0.9

# listening PORT: a TCP server in srv listens on PORT.
listening() {
	[[ -n $(net_run srv ss -Hltn "sport = :$1") ]]
}

# serve IMG: dnbd-server, nbd-server and nbdkit export IMG from srv.
serve() {
	local img=$1
	stop_servers
	net_bg srv "$W/dnbd-server.log" "$DNBD_SERVER" -m "$GROUP" -i 1 -r 1 \
		-d "$img,name=$EXPORT" --stats "$W/dnbd-server.json" ${BENCH_SRV_OPTS:-}
	DNBD_PID=$NET_LAST_PID
	serve_nbd "$img"
	net_bg srv "$W/nbdkit.log" nbdkit --exit-with-parent -f -r -i "$SRV_IP" \
		-p "$KIT_PORT" file "$img"
	KIT_PID=$NET_LAST_PID
	wait_for 30 json_ready "$W/dnbd-server.json" || fail "dnbd-server did not start"
	wait_for 30 listening "$NBD_PORT" || fail "nbd-server does not listen"
	wait_for 30 listening "$KIT_PORT" || fail "nbdkit does not listen"
}

# serve_nbd IMG: nbd-server 3 in its usual daemon mode (one child per
# connection), read-only export "bench".
serve_nbd() {
	rm -f "$W/nbd.pid"
	cat >"$W/nbd.conf" <<EOF
[generic]
	port = $NBD_PORT
	listenaddr = $SRV_IP
[$EXPORT]
	exportname = $1
	readonly = true
EOF
	net_run srv nbd-server -C "$W/nbd.conf" -p "$W/nbd.pid" >"$W/nbd-server.log" 2>&1 ||
		fail "nbd-server did not start: $(cat "$W/nbd-server.log")"
	wait_for 30 test -s "$W/nbd.pid" || fail "nbd-server wrote no pid file"
	NBD_PID=$(cat "$W/nbd.pid")
	NET_PIDS+=("$NBD_PID")
}

stop_servers() {
	local pid
	for pid in $DNBD_PID $NBD_PID $KIT_PID; do
		net_stop "$pid" 10 >/dev/null 2>&1 || true
	done
	wait_for 10 nbd_idle || true
	DNBD_PID="" NBD_PID="" KIT_PID="" VAR_PID=""
}

# ---- measurements -------------------------------------------------------------

# cpu_ticks PID: user + system time of PID, its threads and its reaped
# children (nbd-server's per-connection processes), in clock ticks.
cpu_ticks() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -ra f <<<"${stat##*) }"
	echo $((f[11] + f[12] + f[13] + f[14]))
}

# host_ticks: the busy time of all cores (user, nice, system, irq,
# softirq), in clock ticks: servers, clients, bridge and everything else.
host_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

ticks_to_s() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'; }

# nbd-server's children have exited and been reaped (their CPU time is
# in the parent's cutime/cstime only then).
nbd_idle() {
	[[ -z "$NBD_PID" ]] || ! pgrep -P "$NBD_PID" >/dev/null
}

server_pid() {
	case $1 in
	dnbd | dnbd-hold) echo "$DNBD_PID" ;;
	nbd-server) echo "$NBD_PID" ;;
	nbdkit) echo "$KIT_PID" ;;
	dnbd-*) echo "$VAR_PID" ;;
	esac
}

# reader SYSTEM TAG: the command line of one reader of the whole image.
reader() {
	case $1 in
	dnbd) echo "$DNBD_CAT -b $GROUP --timeout 30 --stats $W/cat-$2.json" ;;
	dnbd-hold) echo "$DNBD_CAT -b $GROUP --timeout 30 --hold $HOLD --stats $W/cat-$2.json" ;;
	nbd-server) echo "nbdcopy nbd://$SRV_IP:$NBD_PORT/$EXPORT null:" ;;
	nbdkit) echo "nbdcopy nbd://$SRV_IP:$KIT_PORT/ null:" ;;
	dnbd-t2) echo "$DNBD_CAT -b $VAR_GROUP --timeout 30 --stats $W/cat-$2.json" ;;
	dnbd-seg8900) echo "$DNBD_CAT -b $VAR_GROUP --timeout 30 --seg-size 8900 --stats $W/cat-$2.json" ;;
	dnbd-rate | dnbd-nofec | dnbd-rc)
		echo "$DNBD_CAT -b $VAR_GROUP --timeout 30 --stats $W/cat-$2.json" ;;
	esac
}

# variant_args SYSTEM: dnbd-server's options for a variant.
variant_args() {
	case $1 in
	dnbd-t2) echo "-t 2" ;;	# two I/O workers
	dnbd-seg8900) echo "--seg-max 8900" ;;	# IP-fragmented 8900-byte segments
	dnbd-rate) echo "--rate $GBIT_PACE" ;;	# paced at the link rate (scenario 7)
	dnbd-nofec) echo "--no-fec" ;;	# named re-requests only (scenario 8)
	dnbd-rc) echo "--rate-control" ;;	# rate control (scenarios 6, 9)
	esac
}

# port_tx_pkts HOST: packets HOST sent into the bridge (a TCP segment
# offloaded as 64 KiB counts once: veths pass GSO packets whole).
port_tx_pkts() {
	ip -n "$NET_BR" -s -j link show dev "p-$1" | jq -e '.[0].stats64.rx.packets'
}

# result SCEN SYSTEM PARAM PASS WALL BYTES CLIENTS EGRESS PKTS SRVCPU CLICPU HOSTCPU NOTE
result() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$RAW/results.tsv"
}

# start_readers SYSTEM TAG N: N readers on c1..cN, each under time(1)
# and timeout(1); their pids in READER_PIDS.
READER_PIDS=()
start_readers() {
	local sys=$1 tag=$2 n=$3 i cmd
	READER_PIDS=()
	for ((i = 1; i <= n; i++)); do
		read -ra cmd <<<"$(reader "$sys" "$tag-$i")"
		rm -f "$W/time-$tag-$i"
		net_bg_out "c$i" /dev/null "$W/cl-$tag-$i.log" /usr/bin/time \
			-f '%e %U %S' -o "$W/time-$tag-$i" timeout "$CLIENT_TIMEOUT" "${cmd[@]}"
		READER_PIDS+=("$NET_LAST_PID")
	done
}

# wait_readers TAG: 0 when every reader exited 0; shows the failures.
wait_readers() {
	local tag=$1 i rc bad=0
	for i in "${!READER_PIDS[@]}"; do
		rc=0
		wait "${READER_PIDS[$i]}" || rc=$?
		if ((rc != 0)); then
			info "reader $tag-$((i + 1)) exited $rc:"
			tail -n 5 "$W/cl-$tag-$((i + 1)).log"
			bad=1
		fi
	done
	return "$bad"
}

# client_cpu TAG N: user + system seconds of the N readers.
client_cpu() {
	local i
	for ((i = 1; i <= $2; i++)); do
		tail -n 1 "$W/time-$1-$i"
	done | awk '{ s += $2 + $3 } END { printf "%.2f", s }'
}

# slowest TAG N, fastest TAG N: the elapsed time of one reader.
slowest() {
	local i
	for ((i = 1; i <= $2; i++)); do
		tail -n 1 "$W/time-$1-$i"
	done | sort -n | tail -n 1 | awk '{ printf "%.2f", $1 }'
}

fastest() {
	local i
	for ((i = 1; i <= $2; i++)); do
		tail -n 1 "$W/time-$1-$i"
	done | sort -n | head -n 1 | awk '{ printf "%.2f", $1 }'
}

# measure SCEN SYSTEM PARAM PASS N IMG: N readers of IMG at once; one
# line in results.tsv.  A failed reader ends the benchmark, unless
# TOLERATE=1 (TCP under heavy loss may run into CLIENT_TIMEOUT): then the
# line says "failed" and the wall time is "-".
measure() {
	local scen=$1 sys=$2 param=$3 pass=$4 n=$5 img=$6
	local tag="$scen-$sys-$param-$pass" pid tx0 tx1 k0 k1 c0 c1 h0 h1 d0 start wall note
	pid=$(server_pid "$sys")
	wait_for 10 nbd_idle || true
	d0=$(qdisc_drops)	# before h0: the window of host_ticks is the run's
	h0=$(host_ticks)
	tx0=$(net_port_tx_bytes srv)
	k0=$(port_tx_pkts srv)
	c0=$(cpu_ticks "$pid")
	start=$EPOCHREALTIME
	start_readers "$sys" "$tag" "$n"
	if wait_readers "$tag"; then
		wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
		note=$(run_note "$sys" "$tag" "$n")
	else
		[[ ${TOLERATE:-0} == 1 ]] || fail "$tag: a reader failed"
		wall=- note=failed
	fi
	h1=$(host_ticks)
	[[ $sys != nbd-server ]] || wait_for 10 nbd_idle || info "nbd-server children linger"
	tx1=$(net_port_tx_bytes srv)
	k1=$(port_tx_pkts srv)
	c1=$(cpu_ticks "$pid")
	note+=";qdisc_drops=$(($(qdisc_drops) - d0))"
	result "$scen" "$sys" "$param" "$pass" "$wall" "$(size_of "$img")" "$n" \
		$((tx1 - tx0)) $((k1 - k0)) "$(ticks_to_s $((c1 - c0)))" "$(client_cpu "$tag" "$n")" \
		"$(ticks_to_s $((h1 - h0)))" "$note"
	show_run "$scen" "$sys" "$param" "$pass" "$wall" "$(size_of "$img")" $((tx1 - tx0))
}

# qdisc_drops: packets the root qdisc of srv's eth0 dropped (0 without
# tbf: a veth's default qdisc is noqueue).
qdisc_drops() {
	net_run srv tc -s -j qdisc show dev eth0 | jq '.[0].drops // 0'
}

# show_run SCEN SYS PARAM PASS WALL BYTES EGRESS: one line of progress.
show_run() {
	awk -v s="$1" -v y="$2" -v p="$3" -v n="$4" -v w="$5" -v b="$6" -v e="$7" 'BEGIN {
		if (w == "-") { printf "%-3s %-10s %-4s pass %s: failed\n", s, y, p, n; exit }
		printf "%-3s %-10s %-4s pass %s: %8.2f s, %7.1f MB/s per reader, egress %.2fx image\n",
			s, y, p, n, w, b / w / 1e6, e / b }'
}

# run_note SYS TAG N: the fastest and slowest reader; for dnbd the
# segments re-requested and the timeouts, summed over the readers.
run_note() {
	local sys=$1 tag=$2 n=$3 i rr=0 to=0 rd=0 bu=0 co=0 dg=0 rq=0 rp=0 rb=0
	printf 'fastest=%s;slowest=%s' "$(fastest "$tag" "$n")" "$(slowest "$tag" "$n")"
	[[ $sys == dnbd* ]] || return 0
	for ((i = 1; i <= n; i++)); do
		rr=$((rr + $(cat_counter "$tag-$i" .counters.segments_rerequested)))
		rq=$((rq + $(cat_counter "$tag-$i" .counters.segments_requested)))
		to=$((to + $(cat_counter "$tag-$i" .counters.timeouts)))
		rd=$((rd + $(cat_counter "$tag-$i" .counters.reads_completed)))
		bu=$((bu + $(cat_counter "$tag-$i" .transport.buffers)))
		co=$((co + $(cat_counter "$tag-$i" .transport.coalesced)))
		dg=$((dg + $(cat_counter "$tag-$i" .transport.datagrams)))
		rp=$((rp + $(cat_counter "$tag-$i" '.counters.repairs_sent // 0')))
		rb=$((rb + $(cat_counter "$tag-$i" '.counters.segments_rebuilt // 0')))
	done
	# The client's receive side: reads done, receive buffers (one per
	# datagram without GRO), those that held several datagrams (GRO).
	# requested: segments the clients asked for themselves (first asks and
	# re-requests), the rest came from the cache or another's request.
	printf ';rerequested=%s;timeouts=%s;reads=%s;buffers=%s;coalesced=%s;datagrams=%s;requested=%s;repairs=%s;rebuilt=%s' \
		"$rr" "$to" "$rd" "$bu" "$co" "$dg" "$rq" "$rp" "$rb"
}

# cat_counter TAG EXPR: a dnbd-cat counter from its --stats file.
cat_counter() { json_num "$W/cat-$1.json" "$2"; }

# ---- scenarios -------------------------------------------------------------------

# 1: one reader of the whole image from each server, PASSES times
# (interleaved), and the link limit of the same veth with iperf3.
s1_single() {
	local p sys
	info "== 1: one client, $MIBS MiB image, $PASSES pass(es)"
	serve "$IMG"
	clients_up 1
	s1_iperf
	for ((p = 1; p <= PASSES; p++)); do
		for sys in nbd-server nbdkit dnbd; do
			measure s1 "$sys" 1 "$p" 1 "$IMG"
		done
		s1_counters
		for sys in $VARIANTS; do
			run_variant s1 "$sys" 1 "$p" "$IMG"
		done
	done
}

# run_variant SCEN SYSTEM PARAM PASS IMG: one read from a dnbd-server
# started with the variant's options.  The server's counters of the
# first pass (written when it exits) are kept: RAW/SCEN-SYSTEM-server.json.
run_variant() {
	local scen=$1 sys=$2 param=$3 p=$4 img=$5 n=${6:-1} args
	read -ra args <<<"$(variant_args "$sys")"
	rm -f "$W/$sys.json"
	net_bg srv "$W/$sys.log" "$DNBD_SERVER" -m "$VAR_GROUP" -i 1 -r 1 \
		-d "$img,name=$EXPORT" --stats "$W/$sys.json" "${args[@]}"
	VAR_PID=$NET_LAST_PID
	wait_for 30 json_ready "$W/$sys.json" || fail "dnbd-server ($sys) did not start"
	measure "$scen" "$sys" "$param" "$p" "$n" "$img"
	net_stop "$VAR_PID" 10 >/dev/null || true
	VAR_PID=""
	((p != 1)) || cp "$W/$sys.json" "$RAW/$scen-$sys-server.json"
}

# udp_stat HOST FIELD: a counter of the Udp: lines of HOST's /proc/net/snmp.
udp_stat() {
	# shellcheck disable=SC2016 # an awk program
	net_run "$1" awk -v f="$2" '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else { print $c[f]; exit } }' /proc/net/snmp
}

# What the dnbd runs of scenario 1 left in the counters: the server's
# (its own multicast looped back, re-sent segments) and the kernel's UDP
# receive-buffer overflows in client and server.
s1_counters() {
	[[ ! -s "$RAW/s1-dnbd-server.json" ]] || return 0	# after the first pass
	sleep 1.2	# the stats file is rewritten every second
	cp "$W/dnbd-server.json" "$RAW/s1-dnbd-server.json"
	kv s1_c1_udp_rcvbuf_errors "$(udp_stat c1 RcvbufErrors)"
	kv s1_srv_udp_rcvbuf_errors "$(udp_stat srv RcvbufErrors)"
	kv s1_c1_udp_in "$(udp_stat c1 InDatagrams)"
}

# The veth's TCP limit from srv to c1 (-R: the server sends), with as
# many streams as nbdcopy opens connections (one per core, at most 4).
s1_iperf() {
	local j=$W/iperf3.json secs bytes
	net_bg srv "$W/iperf3-s.log" iperf3 -s -1 -B "$SRV_IP"
	wait_for 10 listening 5201 || fail "iperf3 -s does not listen"
	net_run c1 timeout 60 iperf3 -c "$SRV_IP" -R -t "$IPERF_S" -P "$IPERF_P" -J >"$j" ||
		fail "iperf3 failed: $(jq -r '.error // empty' "$j" 2>/dev/null)"
	secs=$(jq '.end.sum_received.seconds' "$j")
	bytes=$(jq '.end.sum_received.bytes' "$j")
	result s1 iperf3 1 1 "$secs" "$bytes" 1 - - - - - \
		"retransmits=$(jq '.end.sum_sent.retransmits // 0' "$j")"
	info "$(printf 's1  iperf3 -R: %.1f Gbit/s' "$(jq '.end.sum_received.bits_per_second / 1e9' "$j")")"
}

# 2: N readers of the same image at once, dnbd and nbd-server.
# PASSES passes of each N (dnbd, then nbd-server): whether N readers stay
# in step varies from run to run, so one pass says little.
s2_many() {
	local n p
	info "== 2: N clients at once, $MIBS MiB image, $PASSES pass(es)"
	serve "$IMG"
	for n in $NS_LIST; do
		((n > 0)) || continue
		clients_up "$n"
		for ((p = 1; p <= PASSES; p++)); do
			measure s2 dnbd "$n" "$p" "$n" "$IMG"
			measure s2 nbd-server "$n" "$p" "$n" "$IMG"
		done
	done
}

# loss_on HOST P: P% loss of dnbd datagrams (lib.sh) and of nbd's TCP
# segments arriving at HOST; loss_off HOST removes both.
loss_on() {
	net_loss "$1" "$2"
	net_run "$1" nft -f - <<EOF2
table inet lossytcp {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp sport $NBD_PORT numgen random mod 100 < $2 counter drop
		tcp dport $NBD_PORT numgen random mod 100 < $2 counter drop
	}
}
EOF2
}

loss_off() {
	net_loss_off "$1"
	net_run "$1" nft delete table inet lossytcp
}

# 3: random loss into client and server, one reader; TCP (nbd-server)
# under the same loss for comparison, bounded in time.
s3_loss() {
	local p img=$W/loss.img
	info "== 3: random loss, $LOSS_MIB MiB image"
	sub_image "$img" "$LOSS_MIB"
	serve "$img"
	clients_up 1
	# p = 0 too: the same path (rules that drop nothing, GSO trains cut
	# at the bridge ports), so that the relative figures measure loss.
	for p in $LOSSES; do
		loss_on c1 "$p" && loss_on srv "$p"
		measure s3 dnbd "$p" 1 1 "$img"
		CLIENT_TIMEOUT=$LOSS_TIMEOUT TOLERATE=1 measure s3 nbd-server "$p" 1 1 "$img"
		loss_off c1 && loss_off srv
	done
	cp "$W/dnbd-server.log" "$RAW/s3-dnbd-server.log"
}

# 8: MLOSS_N readers at once, each losing p% of what arrives at it
# (nftables in every client, independent draws; the server's port is
# clean): the server's egress against the image, with parity repair and
# with --no-fec, and nbd-server (one TCP connection per reader) under the
# same loss, bounded in time.
s8_group_loss() {
	local p i img=$W/loss.img
	info "== 8: $MLOSS_N clients each losing p% independently, $LOSS_MIB MiB image"
	sub_image "$img" "$LOSS_MIB"
	serve "$img"
	clients_up "$MLOSS_N"
	for p in $MLOSS; do
		for ((i = 1; i <= MLOSS_N; i++)); do loss_on "c$i" "$p"; done
		measure s8 dnbd "$p" 1 "$MLOSS_N" "$img"
		measure s8 dnbd-hold "$p" 1 "$MLOSS_N" "$img"
		run_variant s8 dnbd-nofec "$p" 1 "$img" "$MLOSS_N"
		CLIENT_TIMEOUT=$LOSS_TIMEOUT TOLERATE=1 measure s8 nbd-server "$p" 1 \
			"$MLOSS_N" "$img"
		for ((i = 1; i <= MLOSS_N; i++)); do loss_off "c$i"; done
	done
}

# 4: two paced replicas; kill -9 the busier one during a read and time
# the pause in the client's output stream.
s4_failover() {
	local k img=$W/fail.img
	info "== 4: failover, $FAIL_MIB MiB image, --rate $FAIL_RATE per replica"
	sub_image "$img" "$FAIL_MIB"
	stop_servers
	clients_up 1
	port_set srv2 up
	wait_for 10 carrier_up srv2 || fail "srv2: no carrier"
	printf 'repeat\tvictim\tkill_after_s\tfirst_ms\tresume_ms\tstall_ms\tmax_gap_ms\tbase_gap_ms\tfailovers\tbytes\n' \
		>"$RAW/failover.tsv"
	for ((k = 1; k <= FAIL_REPEAT; k++)); do
		s4_once "$k" "$img"
	done
	port_set srv2 down
}

fo_tx() { net_port_tx_bytes "$1"; }
# fo_flowing: the replicas sent 1 MiB since the read started.
fo_flowing() {
	(($(fo_tx srv) + $(fo_tx srv2) - FO_TX0 > 1048576))
}

# s4_once K IMG: one failover run.
s4_once() {
	local k=$1 img=$2 i host pid=() a1 a2 b1 b2 victim start kill_t pipe
	for i in 1 2; do
		host=srv
		((i == 1)) || host=srv2
		net_bg "$host" "$W/fo-srv$i-$k.log" "$DNBD_SERVER" -m "$FAIL_GROUP" -i "$i" \
			-r 1 -d "$img,name=fail" --rate "$FAIL_RATE" --stats "$W/fo-srv$i-$k.json"
		pid[i]=$NET_LAST_PID
	done
	for i in 1 2; do
		wait_for 30 json_ready "$W/fo-srv$i-$k.json" || fail "replica $i did not start"
	done
	FO_TX0=$(($(fo_tx srv) + $(fo_tx srv2)))
	start=$EPOCHREALTIME
	net_bg c1 "$W/fo-cat-$k.log" bash -c "$DNBD_CAT -b $FAIL_GROUP --timeout 30 \
		--stats $W/fo-cat-$k.json | python3 $REPO/bench/tsread.py $W/fo-ts-$k"
	pipe=$NET_LAST_PID
	wait_for 30 fo_flowing || fail "failover: no data within 30 s"
	sleep 0.3
	a1=$(fo_tx srv) a2=$(fo_tx srv2)
	sleep 0.4
	b1=$(fo_tx srv) b2=$(fo_tx srv2)
	victim=1
	((b2 - a2 <= b1 - a1)) || victim=2
	pid_alive "$pipe" || fail "failover: the read ended before the kill (raise BENCH_FAIL_MIB)"
	kill_t=$EPOCHREALTIME
	kill -KILL "${pid[victim]}"
	{ wait "${pid[victim]}"; } 2>/dev/null || true
	wait_exit "$pipe" 120 || fail "failover: the read failed ($(tail -n 3 "$W/fo-cat-$k.log"))"
	s4_record "$k" "$victim" "$start" "$kill_t"
	net_stop "${pid[3 - victim]}" 10 || true
}

# s4_record K VICTIM START KILL_T: one line of failover.tsv.
s4_record() {
	local k=$1 key v
	declare -A g=()
	while read -r key v; do g[$key]=$v; done < <(python3 "$REPO/bench/tsread.py" \
		--gaps "$W/fo-ts-$k" "$4")
	((g[bytes] == FAIL_MIB * MIB)) || fail "failover: read ${g[bytes]} bytes, not $((FAIL_MIB * MIB))"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$2" \
		"$(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.2f", b - a }')" \
		"${g[first_ms]}" "${g[resume_ms]}" "${g[stall_ms]}" "${g[max_gap_ms]}" \
		"${g[base_gap_ms]}" "$(json_num "$W/fo-cat-$k.json" .counters.failovers)" \
		"${g[bytes]}" >>"$RAW/failover.tsv"
	info "s4  repeat $k: killed replica $2; stream resumed ${g[resume_ms]} ms after the kill (pause ${g[stall_ms]} ms; first data after ${g[first_ms]} ms)"
}

# 5: server CPU seconds per GiB, from the runs of scenarios 1 and 2:
# per GiB on the wire (egress) and per GiB the readers got.
s5_cpu() {
	info "== 5: server CPU per GiB (from scenarios 1 and 2)"
	printf 'source\tsystem\tclients\truns\tsrv_cpu_s\tegress_gib\tdelivered_gib\tcpu_per_gib_egress\tcpu_per_gib_delivered\n' \
		>"$RAW/cpu.tsv"
	awk -F'\t' -v OFS='\t' '
		($1 == "s1" || $1 == "s2") && $2 != "iperf3" && $10 != "-" {
			k = $1 "\t" $2 "\t" $7
			cpu[k] += $10; eg[k] += $8 / 2^30; dl[k] += $6 * $7 / 2^30; runs[k]++
		}
		END {
			for (k in cpu)
				print k, runs[k], cpu[k], eg[k], dl[k],
					(eg[k] > 0 ? cpu[k] / eg[k] : 0), (dl[k] > 0 ? cpu[k] / dl[k] : 0)
		}' "$RAW/results.tsv" | sort -t$'\t' -k1,1 -k3,3n -k2,2 >>"$RAW/cpu.tsv"
	column -t -s$'\t' "$RAW/cpu.tsv"
}

# 6: a slow shared link: tbf on srv's eth0, TBF_N readers at once.
s6_tbf() {
	local img=$W/tbf.img
	info "== 6: $TBF_N clients behind tbf $TBF_RATE, $TBF_MIB MiB image"
	sub_image "$img" "$TBF_MIB"
	serve "$img"
	clients_up "$TBF_N"
	net_run srv tc qdisc add dev eth0 root tbf rate "$TBF_RATE" burst 32kbit latency 400ms ||
		fail "tc cannot add a tbf qdisc here"
	kv s6_tbf_queue_bytes "$(net_run srv tc -j qdisc show dev eth0 |
		jq '.[0].options | .rate * .lat / 1e6 | floor')"
	s6_run dnbd "$img"
	sleep 1.2	# the server's counters, for the segments it sent twice
	cp "$W/dnbd-server.json" "$RAW/s6-dnbd-server.json"
	s6_run dnbd-rc "$img"
	s6_run nbd-server "$img"
	net_run srv tc qdisc del dev eth0 root
}

# tbf_drops: packets srv's tbf qdisc dropped (its queue was full).
tbf_drops() {
	net_run srv tc -s -j qdisc show dev eth0 | jq -e '.[0].drops'
}

# s6_run SYSTEM IMG: the readers, and what tbf dropped meanwhile.
s6_run() {
	local d0
	d0=$(tbf_drops)
	if [[ $1 == dnbd-rc ]]; then
		run_variant s6 "$1" "$TBF_N" 1 "$2" "$TBF_N"
	else
		measure s6 "$1" "$TBF_N" 1 "$TBF_N" "$2"
	fi
	kv "s6_${1}_tbf_drops" $(($(tbf_drops) - d0))
}

# 9: a Wi-Fi-like cell.  tbf CELL_RATE on srv's eth0 is the one radio
# channel all clients share (an access point sends multicast at one basic
# rate to all), and each client loses CELL_LOSS % of what arrives,
# independently (nftables, per datagram).  One client alone on the clean
# cell first: the time the image takes on that link, the reference.  Then
# CELL_N at once through the loss: dnbd (parity, the defaults),
# dnbd --rate-control (parity and rate control), nbd-server (TCP, bounded).
s9_cell() {
	local i img=$W/cell.img
	info "== 9: a $CELL_RATE cell, $CELL_N clients each losing $CELL_LOSS %, $CELL_MIB MiB image"
	sub_image "$img" "$CELL_MIB"
	serve "$img"
	clients_up "$CELL_N"
	net_run srv tc qdisc add dev eth0 root tbf rate "$CELL_RATE" burst 32kbit latency 400ms ||
		fail "tc cannot add a tbf qdisc here"
	measure s9 dnbd 0 1 1 "$img"
	for ((i = 1; i <= CELL_N; i++)); do loss_on "c$i" "$CELL_LOSS"; done
	measure s9 dnbd "$CELL_LOSS" 1 "$CELL_N" "$img"
	sleep 1.2	# the server's counters: rate control's decisions
	cp "$W/dnbd-server.json" "$RAW/s9-dnbd-server.json"
	run_variant s9 dnbd-rc "$CELL_LOSS" 1 "$img" "$CELL_N"
	CLIENT_TIMEOUT=$LOSS_TIMEOUT TOLERATE=1 measure s9 nbd-server "$CELL_LOSS" 1 \
		"$CELL_N" "$img"
	for ((i = 1; i <= CELL_N; i++)); do loss_off "c$i"; done
	net_run srv tc qdisc del dev eth0 root
}

# 7: one client on a 1 Gbit/s link: tbf on srv's eth0 is the link, as in
# scenario 6, at
#   rate 1gbit     125 MB/s of what the qdisc sees: whole Ethernet frames
#                  without preamble and FCS (the 14-byte Ethernet and the
#                  IP/UDP/TCP headers included), the same bytes the bridge
#                  port counts for egress
#   burst 128kb    the bucket, 128 KiB.  dnbd-server's UDP GSO trains and
#                  TCP's TSO packets reach the qdisc as one skb of up to
#                  64 KiB of payload, about 67 KB with every segment's
#                  headers; tbf cuts an skb larger than its burst into
#                  datagrams in software (which would bring back the cost
#                  per datagram) or drops it.  128 KiB holds two whole
#                  trains and is 1 ms at the rate: no longer a line-rate
#                  burst than a switch port sends anyway.
#   latency 50ms   the queue: 50 ms at the rate, 6.25 MB, more than one
#                  dnbd-cat window in flight (16 reads of 127 segments,
#                  2.8 MB), so a single reader's replies wait in the queue
#                  instead of being dropped, as behind a switch port with
#                  deep buffers
# dnbd-server with its defaults, and (dnbd-rate) paced with --rate at the
# link rate: --rate counts dnbd datagrams (UDP payload), so the link's
# 125 MB/s of frames is 125e6 x 1448 / 1490 bytes/s of 1448-byte datagrams
# (1,400 bytes of data, 48 of dnbd header; 42 of UDP, IP and Ethernet).
GBIT_RATE=1gbit GBIT_BYTES=125000000
GBIT_TBF="burst 128kb latency 50ms"
GBIT_PACE=$((GBIT_BYTES * 1448 / 1490))

s7_gbit() {
	local p sys img=$W/gbit.img
	info "== 7: one client behind tbf $GBIT_RATE, $GBIT_MIB MiB image, $PASSES pass(es)"
	sub_image "$img" "$GBIT_MIB"
	serve "$img"
	clients_up 1
	# shellcheck disable=SC2086 # GBIT_TBF is several words
	net_run srv tc qdisc add dev eth0 root tbf rate "$GBIT_RATE" $GBIT_TBF ||
		fail "tc cannot add a tbf qdisc here"
	kv s7_tbf "$(net_run srv tc qdisc show dev eth0 | head -n 1)"
	for ((p = 1; p <= PASSES; p++)); do
		for sys in nbd-server dnbd; do
			measure s7 "$sys" gbit "$p" 1 "$img"
		done
		if ((p == 1)); then
			sleep 1.2	# the stats file is rewritten every second
			cp "$W/dnbd-server.json" "$RAW/s7-dnbd-server.json"
		fi
		run_variant s7 dnbd-rate gbit "$p" "$img"
	done
	net_run srv tc qdisc del dev eth0 root
}

# ---- profile ------------------------------------------------------------------------

# profile: perf record of the whole machine (-a) during one more read of
# the image by dnbd-cat (not timed: perf slows it); strace -c of both
# programs when perf cannot run.
profile() {
	info "== profile: perf record -a during one dnbd read"
	serve "$IMG"
	clients_up 1
	if ! prof_perf; then
		info "perf failed ($(tail -n 1 "$W/perf.log")): strace -c instead"
		prof_strace
	fi
}

# prof_report VIEW...: perf report lines (no headers) of the recording.
prof_report() {
	perf report -i "$W/perf.data" --stdio -g none "$@" 2>/dev/null |
		grep -v -e '^#' -e '^$' -e ' do_syscall_64 ' -e ' entry_SYSCALL_64' |
		sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//'
}

# prof_top COMM: COMM's hottest symbols, by their own samples (self)
# and with everything they call (children).  Filtered with awk: perf 6.1's
# --comm drops some entries from the self view.
prof_top() {
	prof_report --no-children --sort comm,symbol |
		awk -v c="$1" '$2 == c' | head -n 15 >"$RAW/profile-$1-self.txt"
	prof_report --children --sort comm,symbol |
		awk -v c="$1" '$3 == c' | head -n 30 >"$RAW/profile-$1-children.txt"
}

prof_perf() {
	local ppid rc=0
	perf record -e cpu-clock -F 999 -g -a -o "$W/perf.data" >"$W/perf.log" 2>&1 &
	ppid=$!
	NET_PIDS+=("$ppid")
	sleep 1
	pid_alive "$ppid" || return 1
	net_run c1 timeout "$CLIENT_TIMEOUT" "$DNBD_CAT" -b "$GROUP" --timeout 30 \
		>/dev/null 2>"$W/perf-cat.log" || rc=$?
	kill -TERM "$ppid" 2>/dev/null || true
	wait_exit "$ppid" 120 || true
	((rc == 0)) || return 1
	{
		printf 'tool\tperf %s\n' "$(perf --version | awk '{ print $3 }')"
		printf 'samples\t%s\n' "$(perf report -i "$W/perf.data" --stdio 2>/dev/null |
			awk '/^# Samples/ { print $3; exit }')"
	} >"$RAW/profile-meta.tsv"
	prof_report --no-children --sort comm,dso | head -n 10 >"$RAW/profile-who.txt"
	prof_top dnbd-server
	prof_top dnbd-cat
	prof_chains dnbd-server >"$RAW/profile-chains-dnbd-server.tsv"
	prof_chains dnbd-cat >"$RAW/profile-chains-dnbd-cat.tsv"
	[[ -s "$RAW/profile-dnbd-server-self.txt" && -s "$RAW/profile-dnbd-cat-self.txt" ]]
}

# prof_chains COMM: the share of COMM's samples whose kernel call chain
# passes through a path: its sends (sendmmsg), the copy of its own
# multicast looped back to it (dev_loopback_xmit), delivery through the
# bridge and veths, waiting for and waking on datagrams (epoll_wait, poll,
# sock_def_readable), receiving (recvmmsg), reading the image (pread), CRC.
prof_chains() {
	perf script -i "$W/perf.data" --comm "$1" -F comm,ip,sym 2>/dev/null | awk -v c="$1" '
		function tally() {
			n++
			for (k in pat) if (chain ~ pat[k]) hit[k]++
		}
		BEGIN {
			pat["sendmmsg"] = "sendmmsg"; pat["loopback"] = "dev_loopback_xmit"
			pat["bridge"] = "br_handle_frame"; pat["wait_epoll"] = "epoll_wait"
			pat["wait_poll"] = " do_sys_poll"; pat["wakeup"] = "sock_def_readable"
			pat["recv"] = "recvmmsg|recvmsg|recvfrom"; pat["pread"] = "pread"
			pat["crc32c"] = "dnbd_crc32c"; pat["softirq"] = "net_rx_action"
		}
		$1 == c && NF == 1 { if (in_s) tally(); in_s = 1; chain = " "; next }
		/^$/ { if (in_s) tally(); in_s = 0; next }
		{ chain = chain $2 " " }
		END {
			if (in_s) tally()
			printf "samples\t%d\n", n
			for (k in pat) printf "%s\t%.1f\n", k, n ? 100 * hit[k] / n : 0
		}'
}

# The fallback: system calls of both (strace slows them even more).
prof_strace() {
	local spid
	strace -c -f -p "$DNBD_PID" -o "$W/strace-srv.txt" 2>/dev/null &
	spid=$!
	NET_PIDS+=("$spid")
	sleep 1
	net_run c1 timeout "$CLIENT_TIMEOUT" strace -c -f -o "$W/strace-cat.txt" \
		"$DNBD_CAT" -b "$GROUP" --timeout 30 >/dev/null 2>&1 || true
	kill -TERM "$spid" 2>/dev/null || true
	wait_exit "$spid" 30 || true
	printf 'tool\tstrace -c\n' >"$RAW/profile-meta.tsv"
	head -n 15 "$W/strace-srv.txt" >"$RAW/profile-dnbd-server-self.txt"
	head -n 15 "$W/strace-cat.txt" >"$RAW/profile-dnbd-cat-self.txt"
}

# ---- report -----------------------------------------------------------------------

kv() { printf '%s\t%s\n' "$1" "$2" >>"$RAW/meta.tsv"; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo -; }

# bench_meta: the machine, the tools and the knobs, for the report.
bench_meta() {
	local p
	: >"$RAW/meta.tsv"
	kv date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	kv nproc "$(nproc)"
	kv cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	kv kernel "$(uname -r)"
	kv mem_mib "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
	kv load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
	kv qemu_running "$(pgrep -c -f '^qemu-system' || true)"
	kv dnbd "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo -)"
	for p in nbd-server nbdkit libnbd-bin libnbd0 iperf3 linux-perf gnuplot-nox nftables; do
		kv "v_$p" "$(pkg_version "$p")"
	done
	kv quick "$QUICK"; kv mib "$MIBS"; kv passes "$PASSES"; kv n_list "$NS_LIST"
	kv losses "$LOSSES"; kv loss_mib "$LOSS_MIB"; kv fail_mib "$FAIL_MIB"
	kv mlosses "$MLOSS"; kv mloss_n "$MLOSS_N"
	kv fail_rate "$FAIL_RATE"; kv fail_repeat "$FAIL_REPEAT"; kv tbf_mib "$TBF_MIB"
	kv tbf_n "$TBF_N"; kv tbf_rate "$TBF_RATE"; kv iperf_s "$IPERF_S"; kv iperf_p "$IPERF_P"
	kv gbit_mib "$GBIT_MIB"; kv gbit_rate "$GBIT_RATE"; kv gbit_bytes "$GBIT_BYTES"
	kv gbit_tbf "$GBIT_TBF"; kv gbit_pace "$GBIT_PACE"; kv only "$ONLY"
	kv loss_timeout "$LOSS_TIMEOUT"
	kv cell_mib "$CELL_MIB"; kv cell_n "$CELL_N"; kv cell_loss "$CELL_LOSS"
	kv cell_rate "$CELL_RATE"
	kv clk_tck "$(getconf CLK_TCK)"
}

main() {
	local t0=$EPOCHREALTIME
	[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, apt-get)"
	bench_pkgs || fail "could not install ${PKGS[*]}"
	[[ ${1:-} != --deps ]] || return 0
	bench_check_knobs
	make -s -C "$REPO" all >/dev/null || fail "make failed"
	net_require
	net_init
	W=$NET_WORK
	mkdir -p "$RAW" "$OUT/bench"
	rm -f "$RAW"/{results,failover,cpu,meta,boot,bootruns}.tsv "$RAW"/profile-* \
		"$RAW"/s[0-9]-*.json "$RAW"/s10-*.json
	rm -rf "$RAW/s10-clients"
	printf 'scenario\tsystem\tparam\tpass\twall_s\timage_bytes\tclients\tegress_bytes\tegress_pkts\tsrv_cpu_s\tcli_cpu_s\thost_cpu_s\tnote\n' \
		>"$RAW/results.tsv"
	bench_meta
	bench_lan
	IMG=$W/image.img
	if selected 1 || selected 2; then
		info "image: $MIBS MiB of random data"
		make_image "$IMG" "$MIBS"
	fi
	! selected 1 || s1_single
	! selected 1 || ((PERF == 0)) || profile
	! selected 2 || s2_many
	! selected 3 || s3_loss
	! selected 4 || s4_failover
	! selected 5 || s5_cpu
	! selected 6 || s6_tbf
	! selected 7 || s7_gbit
	! selected 8 || s8_group_loss
	! selected 9 || s9_cell
	! selected 10 || s10_boot
	stop_servers
	kv load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
	kv runtime_s "$(elapsed_since "$t0")"
	python3 "$REPO/bench/report.py" "$RAW" "$OUT" || fail "bench/report.py failed"
	info "raw figures in $RAW; report $OUT/benchmarks.md, plots in $OUT/bench/"
}

main "$@"; exit $?	# exit here: never read a file edited mid-run
