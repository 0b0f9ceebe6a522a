# shellcheck shell=bash
#
# tests/net/lib.sh - helpers for the dnbd integration tests and the demo.
#
# Source it from bash.  Every test builds its own little LAN:
#
#   <prefix>-br      a namespace holding bridge br0 (multicast snooping
#                    off, so every port sees every group, like a hub)
#   <prefix>-NAME    one namespace per host, interface eth0 (10.77.0.x/24)
#                    whose veth peer "p-NAME" is a port of br0
#
# The veth pairs are created directly inside those namespaces, so nothing
# ever appears in, or sends from, the host's own network namespace (see
# shared/ENVIRONMENT.md, "Rules for traffic").  <prefix> is "dn<pid>": unique
# per run, so parallel runs do not collide, and short.  Interface names
# never carry the prefix (they live in private namespaces): "p-NAME" must
# fit the kernel's 15 characters, so NAME is at most 13.
#
# Typical use:
#   source "$(dirname "$0")/lib.sh"
#   trap net_cleanup EXIT
#   trap 'exit 143' TERM INT HUP
#   net_init; net_setup_bridge
#   net_add_host srv 10.77.0.11
#   net_bg srv "$NET_WORK/srv.log" "$DNBD_SERVER" -m 239.77.0.1 -d IMG -i 1
#
# Functions return non-zero on failure; the tests run under set -e.

NET_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NET_PREFIX="dn$$"
NET_BR="$NET_PREFIX-br"
NET_WORK=""
NET_LAST_PID=""
NET_PIDS=()
declare -A NET_IPS=()

# Binaries: the sanitizer build when there is one (make check builds it).
if [[ -z "${DNBD_BIN:-}" ]]; then
	if [[ -x "$NET_REPO/build/asan/bin/dnbd-server" ]]; then
		DNBD_BIN="$NET_REPO/build/asan/bin"
	else
		DNBD_BIN="$NET_REPO/build/bin"
	fi
fi
[[ "$DNBD_BIN" = /* ]] || DNBD_BIN="$NET_REPO/$DNBD_BIN"
DNBD_SERVER="$DNBD_BIN/dnbd-server"
DNBD_CAT="$DNBD_BIN/dnbd-cat"
DNBD_FORGE="$DNBD_BIN/dnbd-forge"
export DNBD_BIN

# A sanitizer finding must end the process and leave its report in the log.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

MIB=$((1024 * 1024))

# ---- messages and verdicts -------------------------------------------------

info() { printf '%s\n' "$*"; }
pass() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
# run.sh shows the reason of the last "SKIP:" line.
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# ---- preconditions -----------------------------------------------------------

# Root, the tools, the binaries and a working netns; skips where the machine
# cannot run the test at all, fails where the build is missing.
net_require() {
	local bin
	[[ $EUID -eq 0 ]] || skip "needs root (network namespaces)"
	net_require_tool ip jq sha256sum timeout
	for bin in "$DNBD_SERVER" "$DNBD_CAT" "$DNBD_FORGE"; do
		[[ -x "$bin" ]] || fail "$bin missing: run make (and make SAN=1)"
	done
	if ! ip netns add "$NET_PREFIX-probe" 2>/dev/null; then
		skip "cannot create network namespaces here"
	fi
	ip netns del "$NET_PREFIX-probe"
}

# net_require_tool TOOL...: skip when a tool is not installed.
net_require_tool() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			skip "$tool not installed (scripts/install-deps.sh)"
	done
}

# The scratch directory: logs, stats files, images and outputs.
net_init() {
	NET_WORK=$(mktemp -d "${TMPDIR:-/tmp}/dnbd-test.XXXXXX")
	info "work directory $NET_WORK, binaries $DNBD_BIN"
}

# ---- the LAN -------------------------------------------------------------------

net_ns() { printf '%s-%s' "$NET_PREFIX" "$1"; }

net_setup_bridge() {
	ip netns add "$NET_BR"
	ip -n "$NET_BR" link set lo up
	# No snooping: the bridge floods every group to every port, so the
	# tests do not depend on IGMP timing.
	ip -n "$NET_BR" link add br0 type bridge mcast_snooping 0
	ip -n "$NET_BR" link set br0 up
}

# net_add_host NAME IP: a namespace with eth0 on the bridge.
net_add_host() {
	local name=$1 ip=$2 ns
	ns=$(net_ns "$name")
	((${#name} <= 13)) || fail "host name '$name' too long (13 max)"
	ip netns add "$ns"
	# No IPv6 chatter (DAD, router solicitations) in the byte counters.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	ip -n "$NET_BR" link add "p-$name" type veth peer name eth0 netns "$ns"
	ip -n "$NET_BR" link set "p-$name" master br0
	ip -n "$NET_BR" link set "p-$name" up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	# Multicast has no default route in an empty namespace.
	ip -n "$ns" route add 224.0.0.0/4 dev eth0
	NET_IPS[$name]=$ip
}

net_ip() { printf '%s' "${NET_IPS[$1]}"; }

# net_run NAME cmd...: run in host NAME's namespace, in the foreground.
net_run() {
	local ns
	ns=$(net_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# net_bg NAME LOG cmd...: start in the background, stdout and stderr to LOG.
# ip netns exec execs the command, so the pid recorded (NET_LAST_PID) is the
# program itself: kill -9 on it kills the server, not a wrapper.
net_bg() {
	local ns log=$2
	ns=$(net_ns "$1")
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	NET_LAST_PID=$!
	NET_PIDS+=("$NET_LAST_PID")
}

# net_bg_out NAME OUT LOG cmd...: the same with stdout to OUT (dnbd-cat).
net_bg_out() {
	local ns out=$2 log=$3
	ns=$(net_ns "$1")
	shift 3
	ip netns exec "$ns" "$@" >"$out" 2>"$log" </dev/null &
	NET_LAST_PID=$!
	NET_PIDS+=("$NET_LAST_PID")
}

# ---- processes --------------------------------------------------------------

# Alive and not a zombie (a zombie still answers kill -0).
pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# wait_pid PID TIMEOUT_S: 0 once PID has ended, 1 if it still runs.
wait_pid() {
	local pid=$1 deadline
	deadline=$(($(date +%s) + $2))
	while pid_alive "$pid"; do
		(($(date +%s) < deadline)) || return 1
		sleep 0.2
	done
	return 0
}

# wait_exit PID TIMEOUT_S: the exit status of background job PID, killing
# it (status 124, like timeout(1)) when it runs longer than TIMEOUT_S.
wait_exit() {
	local pid=$1 rc=0
	if ! wait_pid "$pid" "$2"; then
		info "pid $pid still running after $2 s: killing it"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# net_stop PID [TIMEOUT_S]: SIGTERM and the exit status (a clean shutdown
# lets LeakSanitizer run; kill -9 would hide leaks).
net_stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	wait_exit "$pid" "${2:-20}"
}

# wait_for TIMEOUT_S cmd...: poll cmd (5 times a second) until it succeeds.
wait_for() {
	local deadline
	deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		(($(date +%s) < deadline)) || return 1
		sleep 0.2
	done
}

# ---- measurements ------------------------------------------------------------

# Bytes host NAME sent into the bridge: what its bridge port received.
net_port_tx_bytes() {
	local port="p-$1" v
	v=$(ip -n "$NET_BR" -s -j link show dev "$port" 2>/dev/null |
		jq -e '.[0].stats64.rx.bytes' 2>/dev/null) ||
		v=$(ip netns exec "$NET_BR" \
			cat "/sys/class/net/$port/statistics/rx_bytes")
	printf '%s' "$v"
}

# net_loss NAME PERCENT: drop PERCENT% of dnbd datagrams arriving at NAME.
# One random draw per packet: a server's reply (sport 5001 to dport 5001)
# must not meet two rules and be lost twice as often.  Per datagram, as on
# a wire: the bridge port to NAME cuts GSO trains (UDP GSO, TCP TSO) into
# their datagrams and segments (gso_max_segs 1), as a switch forwards
# frames; otherwise a veth hands the whole train to NAME and nftables
# drops up to 45 datagrams in one draw.  net_loss_off undoes both.
net_loss() {
	local ns p=$2
	ns=$(net_ns "$1")
	ip -n "$NET_BR" link set "p-$1" gso_max_segs 1
	ip netns exec "$ns" nft -f - <<EOF
table inet lossy {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 5001 numgen random mod 100 < $p counter drop
		udp sport 5001 udp dport != 5001 numgen random mod 100 < $p counter drop
	}
}
EOF
}

net_loss_off() {
	ip netns exec "$(net_ns "$1")" nft delete table inet lossy
	ip -n "$NET_BR" link set "p-$1" gso_max_segs 65535
}

# Packets the lossy table dropped in host NAME (both rules).
net_loss_dropped() {
	local ns
	ns=$(net_ns "$1")
	ip netns exec "$ns" nft -j list table inet lossy |
		jq '[.nftables[] | .rule? | select(.) | .expr[] |
		     .counter? | select(.) | .packets] | add // 0'
}

# ---- files ----------------------------------------------------------------------

# make_image FILE MIB: random content, so a misplaced segment cannot match.
make_image() {
	head -c "$(($2 * MIB))" /dev/urandom >"$1"
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# json_get FILE EXPR: the value (raw, false included); fails when the file
# or the value (null) is absent.
json_get() {
	local v
	v=$(jq -r "$2" "$1" 2>/dev/null) || return 1
	[[ -n "$v" && "$v" != null ]] || return 1
	printf '%s\n' "$v"
}

# json_num FILE EXPR: a counter for arithmetic; 0, with a complaint on
# stderr, when it is missing or not a number.
json_num() {
	local v
	v=$(json_get "$1" "$2") || v=""
	if [[ "$v" =~ ^[0-9]+$ ]]; then
		printf '%s\n' "$v"
	else
		printf 'json_num: %s: %s is "%s", not a number\n' \
			"$(basename "$1")" "$2" "$v" >&2
		printf '0\n'
	fi
}

# A stats file that exists and parses: the server is up and writing.
json_ready() {
	[[ -s "$1" ]] && jq -e . "$1" >/dev/null 2>&1
}

# Fails (status 1) when a sanitizer reported anything in DIR/*.log.
check_sanitizer_logs() {
	local dir=$1 f hits=()
	mapfile -t hits < <(grep -l -a -E \
		'AddressSanitizer|LeakSanitizer|runtime error' "$dir"/*.log \
		2>/dev/null)
	if ((${#hits[@]})); then
		for f in "${hits[@]}"; do
			info "sanitizer report in $f:"
			grep -a -m 20 -A 20 -E \
				'AddressSanitizer|LeakSanitizer|runtime error' "$f"
		done
		return 1
	fi
	return 0
}

# A readable number: 12.3 MiB.
human_mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Seconds since an $EPOCHREALTIME taken earlier, one decimal.
elapsed_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# ---- cleanup ---------------------------------------------------------------------

# Kill what we started, then anything still inside our namespaces, then the
# namespaces (which takes their veths and the bridge along).  Runs from the
# EXIT trap: never stops half way, keeps the script's exit status.
net_cleanup() {
	local rc=$? pid ns deadline
	set +e
	for pid in "${NET_PIDS[@]}"; do
		pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	deadline=$(($(date +%s) + 10))
	for pid in "${NET_PIDS[@]}"; do
		while pid_alive "$pid" && (($(date +%s) < deadline)); do
			sleep 0.1
		done
		pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^$NET_PREFIX-"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n "$NET_WORK" && -d "$NET_WORK" ]]; then
		if ((rc != 0 && rc != 77)); then
			net_dump_logs
		fi
		if [[ -n "${DNBD_KEEP:-}" ]]; then
			info "kept $NET_WORK"
		else
			rm -rf "$NET_WORK"
		fi
	fi
	return "$rc"
}

# On failure: the end of every log into the test's own output.
net_dump_logs() {
	local f
	for f in "$NET_WORK"/*.log; do
		[[ -f "$f" ]] || continue
		# Guest consoles: vm_wait already showed what matters.
		[[ "$(basename "$f")" == vm-*.log ]] && continue
		info "---- tail of $(basename "$f")"
		tail -n 25 "$f" | cut -c1-300
	done
}

# Namespaces left by a run that was killed -9 (its pid is gone).  Called by
# tests/run.sh before a run; never touches a live run's namespaces.
net_reap_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E '^dn[0-9]+-'); do
		pid=${ns%%-*}
		pid=${pid#dn}
		[[ -d /proc/$pid ]] && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null && info "removed stale netns $ns"
	done
	return 0
}
