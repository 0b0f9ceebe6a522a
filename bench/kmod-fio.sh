#!/bin/bash
#
# bench/kmod-fio.sh - fio through /dev/dnbd0 next to the kernel's own nbd,
# in a QEMU guest, per kernel.  A benchmark: it prints figures and asserts
# nothing about them.
#
# On the LAN of vm-tests/t-kmod.sh (bridge namespace, host namespace srv
# at 10.77.0.11), one random image (BENCH_MIB, default 256 MiB) is
# exported twice by the host namespace srv:
#   - dnbd-server (optimized build, build/bin) on group 239.77.0.1
#   - Debian's nbd-server, TCP port 10809, export "bench", read-only
# One guest per kernel (vm-tests/guest/bench-fio.sh) runs Debian's fio
# against /dev/dnbd0 (dnbd.ko) and /dev/nbd0 (nbd.ko), interleaved (dnbd
# seq, nbd seq, dnbd rand, nbd rand) so that a ratio's two figures are
# measured close together:
#   seq   rw=read bs=128k direct=1, the whole image (BENCH_SEQRT s at most)
#   rand  rw=randread bs=4k direct=1 iodepth=16 libaio, BENCH_RANDRT s
# and the host prints, per kernel, both figures and the ratio dnbd/nbd,
# also written to build/bench/kmod-fio.txt.
#
# Knobs: BENCH_KERNEL (or VM_KERNELS) "6.1" (default), "6.12" or
# "6.1 6.12"; BENCH_MIB (256); BENCH_SEQRT (60); BENCH_RANDRT (15);
# VM_MEM (1024); BENCH_PERF (1): after the measured runs, one more
# sequential run of each device under perf in the guest (cpu-clock, every
# CPU), its top commands and symbols (BENCH_PERFTOP lines, 25) written to
# build/bench/kmod-profile.txt and docs/bench/kmod-profile.txt; 0: none;
# BENCH_SEG, dnbd's segment size (1400); VM_CPU, the
# guest's CPU model (qemu64 with SSSE3, SSE4.1, SSE4.2, POPCNT).  As root on
# Debian 12; missing packages are installed.
#
# The guest runs under QEMU TCG (no KVM here): its CPU is emulated, so
# absolute figures are far below real hardware; the ratio is the point.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export DNBD_BIN=$REPO/build/bin	# the optimized build, not build/asan
VM_MEM=${VM_MEM:-1024}
# The guest's CPU has SSE4.2 (and the SSSE3 and SSE4.1 that come with it:
# glibc picks string functions by them), as every x86-64 PC since 2008:
# the kernel's crc32c() then runs the crc32 instruction (crc32c-intel), as
# on a lab PC, not the table QEMU's default model (qemu64) leaves it.
export VM_CPU=${VM_CPU:-qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt}
# shellcheck source=SCRIPTDIR/../vm-tests/lib/dnbd.sh
source "$REPO/vm-tests/lib/dnbd.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
NBD_PORT=10809
EXPORT=bench
SRV_IP=10.77.0.11
GUEST_IP=10.77.0.21/24
IMG_MIB=${BENCH_MIB:-256}
# dnbd's segment size: above 1472 each datagram is IP-fragmented on the
# 1500-byte MTU, which trades datagrams per read for fragments.
SEG=${BENCH_SEG:-1400}
SEQRT=${BENCH_SEQRT:-60}
PERF=${BENCH_PERF:-1}
PERFTOP=${BENCH_PERFTOP:-25}
RANDRT=${BENCH_RANDRT:-15}
KERNELS=${BENCH_KERNEL:-${VM_KERNELS:-6.1}}
OUT=$REPO/build/bench/kmod-fio.txt
PROF_OUT=$REPO/build/bench/kmod-profile.txt
# The copy docs/benchmarks.md shows (bench/report.py); BENCH_KMOD_DOC=""
# leaves docs/ alone.
DOC=${BENCH_KMOD_DOC-$REPO/docs/bench/kmod-fio.txt}
PROF_DOC=${DOC:+${DOC%/*}/kmod-profile.txt}
PATH=$PATH:/usr/sbin:/sbin

[[ "$IMG_MIB" =~ ^[1-9][0-9]*$ ]] || fail "BENCH_MIB must be a number of MiB"
[[ "$SEQRT$RANDRT" =~ ^[0-9]+$ ]] || fail "BENCH_SEQRT and BENCH_RANDRT are seconds"
[[ "$PERF" == [01] ]] || fail "BENCH_PERF must be 0 or 1"
[[ "$PERFTOP" =~ ^[1-9][0-9]*$ ]] || fail "BENCH_PERFTOP must be a number of lines"

# bench_libs BIN...: "host:/guest" lines for the shared libraries of the
# dynamically linked BINs and their loader, at the host's paths (which
# the guest's loader searches).  Fails when ldd cannot resolve one.
bench_libs() {
	local bin
	for bin in "$@"; do
		ldd "$bin" | awk '
			/not found/ { bad = 1 }
			$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\// { print $1 }
			END { exit bad }' || return 1
	done | sort -u | awk '{ print $1 ":" $1 }'
}

# bench_initrd KVER OUT: dnbd_vm_initrd's files plus fio, nbd-client and
# their libraries (in /opt/bench/bin, away from busybox's links), and the
# kernel's nbd module.
# bench_crc_module: crc32c_intel when VM_CPU has SSE4.2 (loaded before
# libcrc32c, which then picks it); nothing otherwise.
bench_crc_module() {
	[[ $VM_CPU == *+sse4.2* || $VM_CPU == max* ]] && echo crc32c_intel
	return 0
}

bench_initrd() {
	local kver=$1 out=$2 fio nbdc perf crc libs extra bins
	fio=$(command -v fio) || fail "no fio"
	nbdc=$(command -v nbd-client) || fail "no nbd-client"
	bins=("$fio" "$nbdc")
	extra="$fio:/opt/bench/bin/fio
$nbdc:/opt/bench/bin/nbd-client"
	if [[ $PERF == 1 ]]; then
		perf=$(command -v perf) || fail "no perf (Debian's linux-perf)"
		bins+=("$perf")
		extra+=$'\n'"$perf:/opt/bench/bin/perf"
	fi
	libs=$(bench_libs "${bins[@]}") ||
		fail "ldd cannot resolve the libraries of ${bins[*]}"
	crc=$(bench_crc_module)
	DNBD_VM_EXTRA_FILES="$extra
$libs" dnbd_vm_initrd "$kver" "$out" bench-fio.sh nbd ${crc:+"$crc"}
}

nbd_listening() {
	[[ -n $(net_run srv ss -Hltn "sport = :$NBD_PORT") ]]
}

# val KERNEL DEV KEY: a figure the guest printed ("BENCH DEV KEY VALUE").
declare -A VAL=()
val() { printf '%s' "${VAL[$1 $2 $3]:--}"; }

# table FLAVOR KVER: the figures of one kernel, with dnbd/nbd.
table() {
	local k=$1 key label d n
	printf '\nkernel %s, image %s MiB, guest: QEMU TCG, 1 vCPU (%s), %s MB\n' \
		"$2" "$IMG_MIB" "${VM_CPU:-qemu64}" "$VM_MEM"
	printf '%-32s %10s %10s %9s\n' test dnbd nbd dnbd/nbd
	while IFS='|' read -r key label; do
		d=$(val "$k" dnbd "$key")
		n=$(val "$k" nbd "$key")
		printf '%-32s %10s %10s %9s\n' "$label" "$d" "$n" \
			"$(awk -v d="$d" -v n="$n" 'BEGIN {
				if (d ~ /^[0-9.]+$/ && n ~ /^[0-9.]+$/ && n > 0)
					printf "%.2f", d / n
				else
					printf "-" }')"
	done <<'EOF'
seq_MBps|seq read 128k, MB/s
seq_s|seq read, seconds
rand_iops|rand read 4k qd16, IOPS
rand_MBps|rand read 4k qd16, MB/s
rand_lat_ms|rand read 4k, mean latency ms
rand_p99_ms|rand read 4k, p99 clat ms
EOF
}

net_init
W=$NET_WORK
[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, taps, apt-get)"
vmk_need_pkgs fio nbd-server nbd-client iproute2 ||
	fail "could not install fio, nbd-server or nbd-client"
[[ $PERF != 1 ]] || vmk_need_pkgs linux-perf || fail "could not install linux-perf"
make -s -C "$REPO" >"$W/make.log" 2>&1 || { cat "$W/make.log"; fail "make failed"; }
dnbd_vm_require
net_setup_bridge
net_add_host srv "$SRV_IP"

info "image: $IMG_MIB MiB of random data"
make_image "$W/bench.img" "$IMG_MIB"
cat >"$W/nbd.conf" <<EOF
[generic]
	port = $NBD_PORT
	listenaddr = $SRV_IP
[$EXPORT]
	exportname = $W/bench.img
	readonly = true
EOF
net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -i 1 --seg-max "$SEG" \
	-d "$W/bench.img,name=$EXPORT" --stats "$W/srv.json"
# nbd-server -d (no fork) serves one connection and exits; the guest
# connects once per fio run, so nbd-server runs as the daemon it normally
# is.  Its pid joins NET_PIDS for net_cleanup (which also kills whatever
# is left in the namespace, such as its per-client children).
net_run srv nbd-server -C "$W/nbd.conf" -p "$W/nbd.pid" >"$W/nbd-server.log" 2>&1 ||
	fail "nbd-server did not start: $(cat "$W/nbd-server.log")"
wait_for 30 test -s "$W/nbd.pid" || fail "nbd-server wrote no pid file"
NET_PIDS+=("$(cat "$W/nbd.pid")")
wait_for 30 json_ready "$W/srv.json" || fail "dnbd-server did not start"
wait_for 30 nbd_listening || fail "nbd-server does not listen on $NBD_PORT"

results=$W/results.txt
profile=$W/profile.txt
busy=$(pgrep -c -f '^qemu-system' || true)
((busy == 0)) || info "WARNING: $busy other QEMU processes are running: the figures will be low and noisy"
{
	printf 'bench/kmod-fio.sh, %s, host %s (%s cores)\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(uname -r)" "$(nproc)"
	printf 'dnbd-server (build/bin) and nbd-server %s in a host namespace,\n' \
		"$(dpkg-query -W -f='${Version}' nbd-server)"
	printf 'fio %s in the guest, direct=1; page caches dropped and devices re-bound before each run.\n' \
		"$(dpkg-query -W -f='${Version}' fio)"
	printf 'load average before the run: %s; other QEMU processes: %s\n' \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$busy"
	printf 'NOTE: QEMU runs under TCG (software CPU emulation, no KVM):\n'
	printf 'absolute figures are far below real hardware; compare the ratio.\n'
} >"$results"

for flavor in $KERNELS; do
	kver=$(vmk_resolve "$flavor") || fail "cannot resolve kernel $flavor"
	name="bench${flavor//./}"
	bench_initrd "$kver" "$W/$name.img"
	info "$kver: initramfs $(du -m "$W/$name.img" | cut -f1) MB; booting"
	start=$EPOCHREALTIME
	vm_start "$name" "$kver" "$W/$name.img" "$GUEST_IP" \
		"vmt.group=$GROUP vmt.srv=$SRV_IP vmt.nbdport=$NBD_PORT vmt.export=$EXPORT vmt.mib=$IMG_MIB vmt.seg=$SEG vmt.seqrt=$SEQRT vmt.randrt=$RANDRT vmt.perf=$PERF vmt.perftop=$PERFTOP"
	rc=0
	vm_wait "$name" $((120 + 4 * (SEQRT + RANDRT) + 2 * 60)) || rc=$?
	vm_output "$name" | grep '^guest: ' || true
	((rc == 0)) || fail "$kver: the guest's benchmark failed$(vm_rc_text "$rc")"
	vm_check_dmesg "$name" || fail "$kver: oops or warning in the guest's kernel log"
	while read -r _ dev key v; do
		VAL[$flavor $dev $key]=$v
	done < <(vm_output "$name" | grep -E '^BENCH (dnbd|nbd) [A-Za-z0-9_]+ [0-9.]+$')
	[[ -n "${VAL[$flavor dnbd rand_iops]:-}" && -n "${VAL[$flavor nbd rand_iops]:-}" ]] ||
		fail "$kver: the guest printed no figures"
	if [[ $PERF == 1 ]]; then
		grep -q '^perf: dnbd0 sym ' < <(vm_output "$name") ||
			fail "$kver: the guest printed no profile (BENCH_PERF=1)"
		{
			printf '\nkernel %s: one more sequential 128k run of each device under perf\n' "$kver"
			printf '(perf record -a -e cpu-clock -F 1000 in the guest; samples of every task;\n'
			printf 'image %s MiB, dnbd segments of %s bytes)\n' "$IMG_MIB" "$SEG"
			vm_output "$name" | sed -n 's/^perf: //p'
		} >>"$profile"
	fi
	table "$flavor" "$kver" | tee -a "$results"
	printf 'load average after this kernel: %s\n' \
		"$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
	info "$kver: guest ran $(elapsed_since "$start") s"
	vm_stop "$name"
done

mkdir -p "$(dirname "$OUT")"
cp "$results" "$OUT"
rm -f "$PROF_OUT"
if [[ $PERF == 1 ]]; then
	{
		printf 'bench/kmod-fio.sh, %s: guest profiles\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
		cat "$profile"
	} >"$PROF_OUT"
fi
if [[ -n "$DOC" ]]; then
	mkdir -p "$(dirname "$DOC")"
	cp "$results" "$DOC"
	rm -f "$PROF_DOC"
	[[ $PERF != 1 ]] || cp "$PROF_OUT" "$PROF_DOC"
	info "copied to ${DOC#"$REPO"/}; bench/report.py shows it in docs/benchmarks.md"
fi
info ""
cat "$OUT"
info ""
info "written to ${OUT#"$REPO"/}"
[[ $PERF != 1 ]] || info "profiles in ${PROF_OUT#"$REPO"/}"
