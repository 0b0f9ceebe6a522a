#!/bin/sh
# Guest side of bench/kmod-fio.sh: fio through /dev/dnbd0 (dnbd.ko, image
# on multicast group VMT_GROUP) and through /dev/nbd0 (the kernel's nbd,
# nbd-server on VMT_SRV:VMT_NBDPORT, export VMT_EXPORT), the same image.
# For each device:
#   seq    rw=read, bs=128k, direct=1, the whole image (at most VMT_SEQRT s)
#   rand   rw=randread, bs=4k, direct=1, iodepth=16, VMT_RANDRT s
#   profile (vmt.perf=1) seq again under perf; "perf: DEV ..." lines
# Each run starts from a fresh binding (dnbd's memory cache empty) and
# dropped page caches.  Results are lines "BENCH <dev> <key> <value>",
# parsed by the host.  Debian's fio and nbd-client are in /opt/bench/bin,
# with their shared libraries at the host's paths.
# shellcheck source=SCRIPTDIR/lib.sh
. /lib/dnbd-guest.sh

B=/opt/bench/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu/ceph
SEQRT=${VMT_SEQRT:-60}
RANDRT=${VMT_RANDRT:-15}

insmod /lib/dnbd.ko || fail "insmod dnbd.ko"
[ -b /dev/nbd0 ] || fail "no /dev/nbd0: the nbd module is not loaded"
"$B/fio" --version || fail "fio does not start (missing libraries?)"
"$B/nbd-client" -h 2>&1 | head -n 1
ENGINE=libaio
"$B/fio" --enghelp 2>/dev/null | grep -q libaio || ENGINE=psync
info "fio engine $ENGINE"
# The crc32c drivers the kernel has, by priority: libcrc32c (dnbd.ko's
# crc32c()) took the first.
info "crc32c drivers: $(awk '$1 == "name" { n = $3 } $1 == "driver" { d = $3 }
	$1 == "priority" && n == "crc32c" { print $3 ":" d }' /proc/crypto |
	sort -rn | tr '\n' ' ')"

size_of() { cat "/sys/block/$1/size"; }
# shellcheck disable=SC2317 # called through wait_until
has_size() { [ "$(size_of "$1")" != 0 ]; }
# shellcheck disable=SC2317
nbd_gone() { [ "$(size_of nbd0)" = 0 ]; }

up() {
	case "$1" in
	dnbd0)
		dnbd-client -d /dev/dnbd0 -b "$VMT_GROUP" --discover 30 \
			--seg-size "${VMT_SEG:-1400}" >/tmp/dnbd.out 2>&1 ||
			{ cat /tmp/dnbd.out; fail "dnbd-client could not bind"; }
		;;
	nbd0)
		"$B/nbd-client" -N "$VMT_EXPORT" "$VMT_SRV" "$VMT_NBDPORT" \
			/dev/nbd0 >/tmp/nbd.out 2>&1 ||
			{ cat /tmp/nbd.out; fail "nbd-client could not connect"; }
		wait_until 20 has_size nbd0 || fail "/dev/nbd0 has no size"
		;;
	esac
	[ "$(size_of "$1")" = $((VMT_MIB * 2048)) ] ||
		fail "/dev/$1: $(size_of "$1") sectors, expected $((VMT_MIB * 2048))"
}

# net_line: the guest's receive losses so far (cumulative): frames the
# emulated NIC missed or dropped, datagrams a full socket buffer dropped.
net_line() {
	st=/sys/class/net/eth0/statistics
	echo "eth0 rx_packets $(cat $st/rx_packets) rx_dropped $(cat $st/rx_dropped)" \
		"rx_missed $(cat $st/rx_missed_errors);" \
		"udp $(awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print "in", $2, "rcvbuf_errors", $6 }' /proc/net/snmp)"
}

# cpu_ticks: the guest CPU's "user nice system idle iowait irq softirq"
# ticks so far; cpu_split OLD: where the ticks since OLD went, in %.
cpu_ticks() { awk '$1 == "cpu" { print $2, $3, $4, $5, $6, $7, $8 }' /proc/stat; }
cpu_split() {
	echo "$1 $(cpu_ticks)" | awk '{
		t = 0
		for (i = 1; i <= 7; i++) { d[i] = $(i + 7) - $i; t += d[i] }
		if (t == 0) t = 1
		printf "user %d%% sys %d%% idle %d%% iowait %d%% irq %d%% softirq %d%%\n",
			100 * (d[1] + d[2]) / t, 100 * d[3] / t, 100 * d[4] / t,
			100 * d[5] / t, 100 * d[6] / t, 100 * d[7] / t }'
}

down() {
	info "after $1: $(net_line)"
	case "$1" in
	dnbd0)
		info "dnbd0: timeouts $(counter dnbd0 timeouts)," \
			"segments_requested $(counter dnbd0 segments_requested)," \
			"reads_failed $(counter dnbd0 reads_failed)," \
			"rx_receives $(counter dnbd0 rx_receives)," \
			"rx_datagrams $(counter dnbd0 rx_datagrams)"
		unbind dnbd0
		;;
	nbd0)
		"$B/nbd-client" -d /dev/nbd0 >/dev/null 2>&1 ||
			fail "nbd-client -d /dev/nbd0"
		wait_until 20 nbd_gone || fail "/dev/nbd0 still connected"
		;;
	esac
}

# fio_run DEV TEST ARGS...: one fio job on a fresh binding; its terse
# (version 3) line in /tmp/fio-DEV-TEST.
fio_run() {
	fdev=$1 t=$2
	shift 2
	out=/tmp/fio-$fdev-$t
	up "$fdev"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	ticks=$(cpu_ticks)
	prof=
	if [ "$t" = profile ]; then
		prof="$B/perf record -q -a -e cpu-clock -F 1000 -o /tmp/perf-$fdev.data --"
	fi
	$prof "$B/fio" --name="$t" --filename="/dev/$fdev" --readonly --direct=1 \
		--ioengine="$ENGINE" --output-format=terse --terse-version=3 \
		"$@" >"$out" 2>"$out.err" ||
		{ cat "$out.err"; fail "fio $t on /dev/$fdev"; }
	split=$(cpu_split "$ticks")
	info "$fdev $t: guest CPU $split"
	if [ -n "$prof" ]; then
		echo "perf: $fdev cpu $split"
		for k in comm sym; do
			"$B/perf" report -q --stdio -n --sort "$k" \
				-i "/tmp/perf-$fdev.data" 2>/dev/null |
				grep -v '^$' | head -n "${VMT_PERFTOP:-40}" |
				sed "s/^/perf: $fdev $k /"
		done
	fi
	down "$fdev"
	grep -q '^3;' "$out" || { cat "$out"; fail "fio $t on /dev/$fdev: no terse line"; }
	info "$fdev $t done"
}

# Terse v3 fields: 6 KiB read, 7 bandwidth KiB/s, 8 IOPS, 9 runtime ms,
# 30 clat p99 "99.000000%=usec", 40 total latency mean usec.
# Interleaved (dnbd seq, nbd seq, dnbd rand, nbd rand), so that the two
# figures of a ratio are measured close together on a shared host.
SEQ="--rw=read --bs=128k --iodepth=1 --runtime=$SEQRT"
for d in dnbd0 nbd0; do
	# shellcheck disable=SC2086 # SEQ is a list of options
	fio_run "$d" seq $SEQ
done
for d in dnbd0 nbd0; do
	fio_run "$d" rand --rw=randread --bs=4k --iodepth=16 \
		--time_based --runtime="$RANDRT" --randrepeat=0
done
# With vmt.perf=1, one more sequential run of each device under perf
# (cpu-clock samples of every CPU): where the guest's time goes.  Not
# one of the measured runs, which perf would slow down.
if [ "${VMT_PERF:-0}" = 1 ]; then
	for d in dnbd0 nbd0; do
		# shellcheck disable=SC2086
		fio_run "$d" profile $SEQ
	done
fi
for d in dnbd0 nbd0; do
	name=${d%0}
	awk -F';' -v n="$name" '{
		printf "BENCH %s seq_MBps %.2f\n", n, $7 * 1024 / 1e6
		printf "BENCH %s seq_MiB %.0f\n", n, $6 / 1024
		printf "BENCH %s seq_s %.1f\n", n, $9 / 1000 }' "/tmp/fio-$d-seq"
	awk -F';' -v n="$name" '{
		split($30, p, "=")
		printf "BENCH %s rand_iops %.0f\n", n, $8
		printf "BENCH %s rand_MBps %.2f\n", n, $7 * 1024 / 1e6
		printf "BENCH %s rand_lat_ms %.2f\n", n, $40 / 1000
		printf "BENCH %s rand_p99_ms %.2f\n", n, p[2] / 1000 }' "/tmp/fio-$d-rand"
done
rmmod dnbd || fail "rmmod dnbd"
exit 0
