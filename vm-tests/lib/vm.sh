# shellcheck shell=bash
#
# vm-tests/lib/vm.sh - QEMU guests on the test LAN of tests/net/lib.sh.
#
# A guest is a Debian kernel (kernels.sh) with a busybox initramfs
# (initramfs.sh) whose /init runs /test.sh and prints "VMTEST-EXIT <rc>".
# Its e1000 NIC is a tap "t-NAME" on br0 in the bridge namespace, and QEMU
# runs inside that namespace, so guests and the host namespaces of
# net_add_host (dnbd-server, ...) share one L2 segment and nothing touches
# the host's own interfaces.  QEMU is always TCG (KVM does not work here).
#
# Typical test:
#   source "$(dirname "$0")/lib/vm.sh"
#   trap vm_cleanup EXIT
#   trap 'exit 143' TERM INT HUP
#   vm_require; net_init; net_setup_bridge
#   net_add_host srv 10.77.0.11
#   kver=$(vmk_resolve 6.12)
#   VMI_FILES="$NET_WORK/guest.sh:/test.sh" vmi_build "$kver" "$NET_WORK/i.img" loop
#   vm_start c1 "$kver" "$NET_WORK/i.img" 10.77.0.21/24 vmt.srv=10.77.0.11
#   vm_start c2 "$kver" "$NET_WORK/i.img" 10.77.0.22/24 vmt.srv=10.77.0.11
#   vm_wait_all 180 c1 c2 || fail "..."
#
# Several guests run at once: vm_start returns at once, vm_wait/vm_wait_all
# collect them.  Per-guest parameters go on the kernel command line
# (EXTRA_APPEND): vmt.KEY=VALUE is $VMT_KEY in /test.sh.
#
# Debugging: VM_SHELL=NAME makes guest NAME boot with vmt.shell=1 and its
# console on this terminal (QEMU in the foreground; Ctrl-A x quits QEMU).
# DNBD_KEEP=1 keeps $NET_WORK with the serial logs vm-NAME.log.

[[ -n "${VM_LOADED:-}" ]] && return 0
VM_LOADED=1

VM_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../../tests/net/lib.sh
source "$VM_LIB/../../tests/net/lib.sh"
# shellcheck source=SCRIPTDIR/kernels.sh
source "$VM_LIB/kernels.sh"
# shellcheck source=SCRIPTDIR/initramfs.sh
source "$VM_LIB/initramfs.sh"

VM_MEM=${VM_MEM:-512}
# The guest's CPU model: QEMU's default (qemu64) unless VM_CPU names one,
# e.g. "qemu64,+ssse3,+sse4.1,+sse4.2" for the crc32 instruction every
# x86-64 PC since 2008 has (bench/kmod-fio.sh).  TCG emulates what it names.
VM_CPU=${VM_CPU:-}
# A TCG guest on a shared 2-core host can lose its CPU for tens of seconds
# while other guests run; the kernel's default RCU-stall (21 s) and
# soft-lockup (20 s) thresholds then report the host's scheduling, not a
# hang (a CI run showed "rcu_preempt kthread starved for 5266 jiffies" in a
# guest that went on to pass every check).  Test guests get 120 s for
# both; a real hang still trips them, and vm_check_dmesg still fails on
# every report.  no_timer_check: a guest that lost its vCPU during the
# early timer-IRQ check panicked ("IO-APIC + timer doesn't work!") on a
# loaded host; the check proves nothing under TCG.
# This is the one place for these settings, and every guest gets them
# without asking: vm_launch (so vm_start and dr_boot) puts them first on
# the kernel command line; appliance.sh builds the appliance ISO with them
# (dnbd-appliance --kernel-args) and gives its PXE clients them through
# the appliance's configuration (append =, ap_conf).
VM_SLOW_CPU="rcupdate.rcu_cpu_stall_timeout=120 watchdog_thresh=60 no_timer_check"
VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
VM_NAMES=()
VM_MACS=0
VM_MAC=""
# Kernel log lines that mean trouble (vm_check_dmesg, vm_tail).
VM_BAD_RE='Oops|BUG:|WARNING:|KASAN|UBSAN|Call Trace|Kernel panic|general protection'
declare -A VM_PID=() VM_T0=() VM_SECS=() VM_RC=() VM_MACADDR=()

# vm_require: root, the packages (installed when missing), tun and netns;
# skips (exit 77) where the machine cannot run VMs at all.
vm_require() {
	[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, taps)"
	vmk_need_pkgs qemu-system-x86 busybox-static cpio xz-utils gzip kmod \
		iproute2 util-linux apt ||
		fail "could not install the packages the VM tests need"
	[[ -c /dev/net/tun ]] || modprobe tun 2>/dev/null || true
	[[ -c /dev/net/tun ]] || skip "no /dev/net/tun (tap devices)"
	if ! ip netns add "$NET_PREFIX-probe" 2>/dev/null; then
		skip "cannot create network namespaces here"
	fi
	ip netns del "$NET_PREFIX-probe"
}

# vm_log_file NAME: the guest's serial console log.
vm_log_file() { printf '%s\n' "$NET_WORK/vm-$1.log"; }

# vm_tap NAME NS: create tap t-NAME in namespace NS, a port of br0, up.
vm_tap() {
	local tap="t-$1" ns=$2
	ip -n "$ns" tuntap add dev "$tap" mode tap
	ip -n "$ns" link set "$tap" master br0
	ip -n "$ns" link set "$tap" up
}

# vm_next_mac: set VM_MAC to a locally administered MAC, unique within
# this run (not printed: a $(...) subshell would lose the count).
vm_next_mac() {
	VM_MACS=$((VM_MACS + 1))
	printf -v VM_MAC '52:54:00:77:%02x:%02x' $((VM_MACS / 256)) $((VM_MACS % 256))
}

# vm_start NAME KVER INITRD IP/NN [EXTRA_APPEND]: boot a guest of the
# busybox harness (initramfs.sh) in the background (or, for VM_SHELL=NAME,
# in the foreground on this terminal).
vm_start() {
	local name=$1 kver=$2 initrd=$3 ip=$4 extra=${5:-} append
	vmk_fetch "$kver" || fail "kernel $kver unavailable"
	append="console=ttyS0 panic=-1 loglevel=5 vmt.name=$name vmt.ip=$ip"
	[[ "${VM_SHELL:-}" == "$name" ]] && append+=" vmt.shell=1"
	[[ -n "$extra" ]] && append+=" $extra"
	vm_launch "$name" "$(vmk_vmlinuz "$kver")" "$initrd" "$append"
}

# vm_launch NAME VMLINUZ INITRD APPEND [QEMU_ARG...]: boot any kernel and
# initramfs with this command line (and extra QEMU arguments: disks) on
# the test LAN; the guest must print the VMTEST-EXIT line itself.  The
# command line is $VM_SLOW_CPU, then APPEND (which can override it).
vm_launch() {
	local name=$1 vmlinuz=$2 initrd=$3 append="$VM_SLOW_CPU $4" log mac chr
	local serial=()
	shift 4
	[[ -n "$NET_WORK" ]] || fail "vm_launch: call net_init and net_setup_bridge first"
	((${#name} <= 13)) || fail "VM name '$name' too long (13 max)"
	[[ -z "${VM_PID[$name]:-}" ]] || fail "VM $name already started"
	[[ -f "$vmlinuz" ]] || fail "vm_launch: no kernel $vmlinuz"
	[[ -f "$initrd" ]] || fail "vm_launch: no initramfs $initrd"
	log=$(vm_log_file "$name")
	vm_next_mac
	mac=$VM_MAC
	VM_NAMES+=("$name")
	vm_tap "$name" "$NET_BR"
	serial=(-serial "file:$log")
	if [[ "${VM_SHELL:-}" == "$name" ]]; then
		chr="stdio,id=con,mux=on,signal=off,logfile=$log"
		serial=(-chardev "$chr" -serial chardev:con -mon chardev=con)
	fi
	local cmd=(ip netns exec "$NET_BR" "$VM_QEMU" -accel tcg
		${VM_CPU:+-cpu "$VM_CPU"}
		-m "$VM_MEM" -smp 1 -nodefaults -nographic -display none
		-no-reboot -kernel "$vmlinuz" -initrd "$initrd"
		-append "$append" "${serial[@]}"
		-netdev "tap,id=n0,ifname=t-$name,script=no,downscript=no"
		-device "e1000,netdev=n0,mac=$mac,romfile=" "$@")
	[[ "${VM_SHELL:-}" == "$name" ]] || cmd+=(-monitor none)
	VM_T0[$name]=$EPOCHREALTIME
	VM_MACADDR[$name]=$mac
	info "vm $name: $(basename "$vmlinuz"), mac $mac, log $(basename "$log")"
	if [[ "${VM_SHELL:-}" == "$name" ]]; then
		# Foreground: a background job would get /dev/null as stdin.
		info "vm $name: console on this terminal; Ctrl-A x quits QEMU"
		"${cmd[@]}" 2>"$NET_WORK/vm-$name.qemu.log" || true
		VM_PID[$name]=0
		return 0
	fi
	"${cmd[@]}" </dev/null >"$NET_WORK/vm-$name.qemu.log" 2>&1 &
	VM_PID[$name]=$!
}

# vm_exit_line NAME: the rc of the guest's "VMTEST-EXIT <rc>" line, if any.
# Only after the kernel log section: /init printed it, not /test.sh.
vm_exit_line() {
	tr -d '\r' <"$(vm_log_file "$1")" 2>/dev/null |
		sed -n '/^VMTEST-DMESG-END$/,$ s/^VMTEST-EXIT \([0-9][0-9]*\)$/\1/p' |
		tail -n 1
}

# vm_wait NAME TIMEOUT_S: the guest's /test.sh status once QEMU has ended;
# 124 (QEMU killed) after TIMEOUT_S, 125 when QEMU ended without a
# VMTEST-EXIT line (panic, crash).  On non-zero: the end of the console.
vm_wait() {
	local name=$1 timeout=$2 pid rc=0 got
	pid=${VM_PID[$name]:-}
	[[ -n "$pid" ]] || fail "vm_wait: no VM $name"
	if [[ -n "${VM_RC[$name]:-}" ]]; then
		return "${VM_RC[$name]}"
	fi
	if ((pid == 0)); then
		got=$(vm_exit_line "$name")	# VM_SHELL: QEMU has ended
		rc=${got:-125}
	elif ! wait_pid "$pid" "$timeout"; then
		info "vm $name: still running after $timeout s: killing QEMU"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rc=124
	else
		wait "$pid" 2>/dev/null || true
		got=$(vm_exit_line "$name")
		if [[ -n "$got" ]]; then
			rc=$got
		else
			rc=125
		fi
	fi
	VM_RC[$name]=$rc
	VM_SECS[$name]=$(elapsed_since "${VM_T0[$name]}")
	info "vm $name: exit $rc after ${VM_SECS[$name]} s$(vm_rc_text "$rc")"
	((rc == 0)) || vm_tail "$name" 40
	return "$rc"
}

# vm_rc_text RC: what vm_wait's special statuses mean.
vm_rc_text() {
	case "$1" in
	124) printf ' (timed out)' ;;
	125) printf ' (QEMU ended without VMTEST-EXIT: panic or crash?)' ;;
	esac
}

# vm_wait_all TIMEOUT_S NAME...: wait for several guests under one
# deadline; 0 when all passed, else the first non-zero status.
vm_wait_all() {
	local deadline name left rc=0 r
	deadline=$(($(date +%s) + $1))
	shift
	for name in "$@"; do
		left=$((deadline - $(date +%s)))
		((left > 0)) || left=1
		r=0
		vm_wait "$name" "$left" || r=$?
		((rc != 0)) || rc=$r
	done
	return "$rc"
}

# vm_tail NAME N: why a guest failed: the last N lines of its console
# (kernel log section left out), the first kernel error lines and the end
# of its kernel log, and QEMU's own messages.
vm_tail() {
	local name=$1 marks
	info "---- vm $name: console, last $2 lines (vm-$name.log)"
	vm_console "$name" | tail -n "$2" | cut -c1-300
	marks=$(vm_log "$name" | grep -m 8 -E "$VM_BAD_RE") || true
	if [[ -n "$marks" ]]; then
		info "---- vm $name: first kernel error lines"
		printf '%s\n' "$marks" | cut -c1-300
	fi
	if vm_log "$name" | grep -q '^VMTEST-DMESG-BEGIN$'; then
		info "---- vm $name: kernel log, last 15 lines"
		vm_dmesg "$name" | tail -n 15 | cut -c1-300
	fi
	if [[ -s "$NET_WORK/vm-$name.qemu.log" ]]; then
		info "---- vm $name: QEMU messages"
		tail -n 10 "$NET_WORK/vm-$name.qemu.log"
	fi
}

# vm_log NAME: the guest's whole console, without carriage returns and
# terminal escapes.
vm_log() {
	tr -d '\r' <"$(vm_log_file "$1")" 2>/dev/null |
		sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g'
}

# vm_log_has NAME REGEX: NAME's console has a line matching REGEX (grep
# -E; reads the whole log, so no SIGPIPE under pipefail).
vm_log_has() {
	[[ -f "$(vm_log_file "$1")" ]] || return 1
	vm_log "$1" | grep -aE -- "$2" >/dev/null
}

# vm_quiet NAME: VM_QUIET becomes the seconds since NAME's console last
# grew, as far as the calls so far saw it (call it from a polling loop),
# and VM_LOG_SIZE[NAME] its size in bytes.
declare -A VM_LOG_SIZE=() VM_LOG_GREW=()
VM_QUIET=0
vm_quiet() {
	local size
	size=$(stat -c %s "$(vm_log_file "$1")" 2>/dev/null) || size=0
	if [[ "$size" != "${VM_LOG_SIZE[$1]:-}" ]]; then
		VM_LOG_SIZE[$1]=$size VM_LOG_GREW[$1]=$SECONDS
	fi
	# shellcheck disable=SC2034 # the callers read it
	VM_QUIET=$((SECONDS - VM_LOG_GREW[$1]))
}

# vm_console NAME: the console without the kernel log section.
vm_console() {
	vm_log "$1" | sed '/^VMTEST-DMESG-BEGIN$/,/^VMTEST-DMESG-END$/d'
}

# vm_output NAME: what the guest's /test.sh printed (with any kernel
# messages that reached the console meanwhile).
vm_output() {
	vm_log "$1" | sed -n '/^vmtest: running \/test.sh$/,/^VMTEST-DMESG-BEGIN$/p' |
		sed '1d;$d'
}

# vm_dmesg NAME: the guest's kernel log, as printed after /test.sh.
vm_dmesg() {
	vm_log "$1" | sed -n '/^VMTEST-DMESG-BEGIN$/,/^VMTEST-DMESG-END$/p' |
		sed '1d;$d'
}

# vm_check_dmesg NAME: fails (and shows the lines) when the guest's kernel
# log or console has an oops, BUG, WARNING, KASAN report or a call trace.
vm_check_dmesg() {
	local hits
	hits=$(vm_log "$1" | grep -E -A 12 "$VM_BAD_RE" | head -n 60) || true
	[[ -z "$hits" ]] && return 0
	info "vm $1: kernel problems:"
	printf '%s\n' "$hits"
	return 1
}

# vm_stop NAME: kill the guest's QEMU and remove its tap.
vm_stop() {
	local name=$1 pid
	pid=${VM_PID[$name]:-}
	if [[ -n "$pid" ]] && pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	ip -n "$NET_BR" link del "t-$name" 2>/dev/null
	return 0
}

# vm_cleanup: the EXIT trap: every guest, then net_cleanup; keeps the
# script's exit status.
vm_cleanup() {
	local rc=$? name
	set +e
	for name in "${VM_NAMES[@]}"; do
		vm_stop "$name"
	done
	((rc == 0 || rc == 77)) || vm_save_logs
	vm_set_status "$rc"
	net_cleanup
}

# vm_save_logs: after a failure, keep the serial logs (net_cleanup removes
# $NET_WORK) in build/test-logs/vm/<test>-vm-NAME.log.
vm_save_logs() {
	local dir="$VMK_REPO/build/test-logs/vm" test name
	[[ -n "$NET_WORK" && -d "$NET_WORK" ]] || return 0
	test=$(basename "$0" .sh)
	mkdir -p "$dir"
	for name in "${VM_NAMES[@]}"; do
		[[ -f "$(vm_log_file "$name")" ]] || continue
		cp "$(vm_log_file "$name")" "$dir/$test-vm-$name.log"
		info "serial log of vm $name kept: build/test-logs/vm/$test-vm-$name.log"
	done
}

# vm_set_status RC: make $? equal RC (net_cleanup reads it).
vm_set_status() { return "$1"; }
