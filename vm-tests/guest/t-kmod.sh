#!/bin/sh
# Guest side of vm-tests/t-kmod.sh: dnbd.ko against dnbd-server on the
# host's test LAN.  Parameters (kernel command line, vmt.*):
#   VMT_GROUP    group of the random image "rand" (VMT_SHA, VMT_SEGS segments)
#   VMT_SQGROUP  group of the squashfs image (data.bin has VMT_SQSHA)
#   VMT_SLOWPORT port of a slow (rate-limited) server of "rand"
#   VMT_PARTSHA  sha256 of "rand"'s 1 MiB at offset 300 * 64 KiB
#   VMT_UCAST    address of a unicast server of "rand", port VMT_UCPORT
#   VMT_KEYPORT  port of a keyed server of "rand" (key VMT_KEY, 64 hex
#                digits; VMT_KEYSHA: sha256 of its first 16 MiB), where a
#                rogue sends untagged replies of wrong data
#   VMT_TRAINPORT port where a rogue sends trains of VMT_TRAINSEGS valid
#                replies (UDP GSO), one damaged in each
. /lib/dnbd-guest.sh

insmod /lib/dnbd.ko nr_devices=4 || fail "insmod dnbd.ko"
[ -b /dev/dnbd3 ] || fail "no /dev/dnbd3 with nr_devices=4"
[ "$(cat /sys/block/dnbd0/size)" = 0 ] || fail "unbound dnbd0 has a size"
grep -q "state: unbound" /proc/driver/dnbd/dnbd0 ||
	fail "/proc/driver/dnbd/dnbd0 does not say unbound"
dnbd-client -d /dev/dnbd0 -u 2>/tmp/err && fail "unbinding an unbound device succeeded"
grep -q "not bound" /tmp/err || fail "unbinding an unbound device: $(cat /tmp/err)"
ok "4 devices, unbound and empty"

# 1. The whole image through /dev/dnbd0.
bind dnbd0 -b "$VMT_GROUP"
grep -q "found a server with id 1 " /tmp/bind-dnbd0.out ||
	fail "dnbd-client did not report server id 1"
[ "$(cat /sys/block/dnbd0/dnbd/image)" = rand ] || fail "sysfs image name"
[ "$(cat /sys/block/dnbd0/ro)" = 1 ] || fail "dnbd0 is not read-only"
bind dnbd3 -b "$VMT_GROUP" 2>/dev/null
dnbd-client -d /dev/dnbd0 -b "$VMT_GROUP" 2>/tmp/err && fail "binding twice succeeded"
grep -q "already bound" /tmp/err || fail "binding twice: $(cat /tmp/err)"
unbind dnbd3
timed_sha /dev/dnbd0 "$VMT_SHA" "64 MiB image through /dev/dnbd0" 64
cat /proc/driver/dnbd/dnbd0
grep -q "^  1 .* up " /proc/driver/dnbd/dnbd0 || fail "/proc lists no server 1 up"
grep -q "^1 .* up " /sys/block/dnbd0/dnbd/servers || fail "sysfs lists no server 1 up"
[ "$(counter dnbd0 reads_failed)" = 0 ] || fail "reads failed"
dd if=/dev/zero of=/dev/dnbd0 bs=4096 count=1 2>/dev/null &&
	fail "a write to the read-only device succeeded"
ok "writes refused"

# Batches: the replies came in UDP GRO batches (the driver turns UDP_GRO
# on for its socket) and large requests were read straight into their
# pages.  Fails if batching silently stops.
grep -q "^rx_gro: on" /proc/driver/dnbd/dnbd0 || fail "UDP GRO is off on dnbd0"
batches=$(counter dnbd0 rx_gro_batches)
direct=$(counter dnbd0 direct_requests)
info "rx: $(counter dnbd0 rx_receives) receives of" \
	"$(counter dnbd0 rx_datagrams) datagrams, $batches GRO batches of" \
	"$(counter dnbd0 rx_gro_datagrams); $direct requests read into their pages"
[ "$batches" -gt 0 ] || fail "no UDP GRO batch was received"
[ "$direct" -gt 0 ] || fail "no request was read straight into its pages"
# Multicast loopback is off on the driver's socket: it does not hear its
# own requests (mcast_loop=0).
[ "$(counter dnbd0 drop_own)" = 0 ] ||
	fail "$(counter dnbd0 drop_own) own requests looped back to dnbd0"
ok "UDP GRO batches and direct reads used, no own requests heard"

# The counters for Prometheus, from the real driver's sysfs files: they
# parse without a warning, dnbd0's reads and server 1 are there.
dnbd-client --metrics /tmp/dnbd.prom 2>/tmp/err || fail "--metrics: $(cat /tmp/err)"
[ -s /tmp/err ] && fail "--metrics warned: $(cat /tmp/err)"
grep -q '^dnbd_client_reads_completed_total{device="dnbd0",image="rand"} [1-9][0-9]*$' \
	/tmp/dnbd.prom || fail "--metrics: no reads_completed for dnbd0: $(cat /tmp/dnbd.prom)"
grep -q '^dnbd_client_server_up{device="dnbd0",image="rand",server_id="1",address="[0-9.]*:[0-9]*"} 1$' \
	/tmp/dnbd.prom || fail "--metrics: server 1 of dnbd0 not up"
grep -q '^dnbd_client_device_bound{device="dnbd1"} 0$' /tmp/dnbd.prom ||
	fail "--metrics: dnbd1 not reported unbound"
ok "dnbd-client --metrics: $(grep -c '^dnbd_client_' /tmp/dnbd.prom) samples, no warning"

# Without GRO (module parameter gro=0, read at bind): one datagram per
# receive, the same bytes.
echo 0 >/sys/module/dnbd/parameters/gro || fail "cannot set gro=0"
bind dnbd3 -b "$VMT_GROUP"
grep -q "^rx_gro: off" /proc/driver/dnbd/dnbd3 || fail "gro=0: UDP GRO is on"
dd if=/dev/dnbd3 of=/tmp/part bs=64k count=16 skip=300 2>/dev/null ||
	fail "gro=0: read from /dev/dnbd3"
sha_is /tmp/part "$VMT_PARTSHA" "gro=0: 1 MiB at 300 x 64 KiB"
rm -f /tmp/part
[ "$(counter dnbd3 rx_gro_batches)" = 0 ] || fail "gro=0: GRO batches received"
[ "$(counter dnbd3 rx_datagrams)" = "$(counter dnbd3 rx_receives)" ] ||
	fail "gro=0: more datagrams than receives"
unbind dnbd3
echo 1 >/sys/module/dnbd/parameters/gro
ok "gro=0: one datagram per receive, right bytes"

# 2. A squashfs image mounted from /dev/dnbd1.
bind dnbd1 -b "$VMT_SQGROUP"
mkdir -p /mnt
mount -t squashfs -o ro /dev/dnbd1 /mnt || fail "mount squashfs from /dev/dnbd1"
sha_is /mnt/data.bin "$VMT_SQSHA" "data.bin on the squashfs"
grep -q "hello from dnbd" /mnt/hello.txt || fail "hello.txt on the squashfs"
umount /mnt
unbind dnbd1
ok "squashfs mounted, file read"

# 3. The cache file: filled by one binding, read by the next.
unbind dnbd0
dd if=/dev/zero of=/tmp/cache bs=1M count=72 2>/dev/null
bind dnbd0 -b "$VMT_GROUP" -c /tmp/cache
sha_is /dev/dnbd0 "$VMT_SHA" "first read with a cache file"
writes_done() { [ "$(counter dnbd0 cachefile_writes)" -ge "$VMT_SEGS" ]; }
wait_until 120 writes_done ||
	fail "cache file: $(counter dnbd0 cachefile_writes) of $VMT_SEGS segments written"
info "cache file: $(counter dnbd0 cachefile_writes) segments written," \
	"$(counter dnbd0 cachefile_dropped) dropped"
unbind dnbd0
bind dnbd0 -b "$VMT_GROUP" -c /tmp/cache
timed_sha /dev/dnbd0 "$VMT_SHA" "second read, after rebinding" 64
hits=$(counter dnbd0 cachefile_hits)
asked=$(counter dnbd0 segments_requested)
info "second read: cachefile_hits $hits, segments_requested $asked"
[ "$hits" -ge "$VMT_SEGS" ] || fail "only $hits cache file hits for $VMT_SEGS segments"
[ "$asked" = 0 ] || fail "$asked segments were asked from the network"
grep -q "cache_hits: $hits" /proc/driver/dnbd/dnbd0 ||
	fail "/proc/driver/dnbd/dnbd0 cache_hits is not $hits"
unbind dnbd0
ok "second read served from the cache file"

# The original's other form: a cache file added to a running device.
bind dnbd2 -b "$VMT_GROUP"
dnbd-client -d /dev/dnbd2 -c /tmp/cache || fail "adding a cache file"
dd if=/dev/dnbd2 of=/dev/null bs=64k count=16 skip=100 2>/dev/null
[ "$(counter dnbd2 cachefile_hits)" -gt 0 ] || fail "no hits after adding the cache file"
[ "$(counter dnbd2 segments_requested)" = 0 ] || fail "network reads with a full cache file"
dnbd-client -d /dev/dnbd2 -c /tmp/cache 2>/dev/null && fail "a second cache file was accepted"
unbind dnbd2
ok "cache file added to a bound device"

# 4. Unicast, and what happens when the server cannot be reached:
# by default reads wait (a root device survives an outage); with
# --timeout they fail with EIO.  A blackhole route cuts the server off.
bind dnbd3 -b "$VMT_UCAST" -p "$VMT_UCPORT"
grep -q "unicast" /proc/driver/dnbd/dnbd3 || fail "dnbd3 is not in unicast mode"
ip route add blackhole "$VMT_UCAST/32"
dd if=/dev/dnbd3 of=/tmp/part bs=64k count=16 skip=300 2>/dev/null &
reader=$!
sleep 4
kill -0 $reader 2>/dev/null || fail "a read without a server did not wait"
ip route del blackhole "$VMT_UCAST/32"
gone() { ! kill -0 $reader 2>/dev/null; }
wait_until 30 gone || fail "the waiting read did not resume when the server came back"
wait $reader || fail "the resumed read failed"
sha_is /tmp/part "$VMT_PARTSHA" "the resumed read (1 MiB at 300 x 64 KiB)"
unbind dnbd3
ok "unicast: a read waited 4 s for the server and resumed with the right bytes"

bind dnbd3 -b "$VMT_UCAST" -p "$VMT_UCPORT" --timeout 2
ip route add blackhole "$VMT_UCAST/32"
t0=$(date +%s)
dd if=/dev/dnbd3 of=/dev/null bs=64k count=16 skip=600 iflag=direct 2>/tmp/err &&
	fail "a read succeeded with the server cut off"
t1=$(date +%s)
ip route del blackhole "$VMT_UCAST/32"
info "read failed after $((t1 - t0)) s: $(head -n 1 /tmp/err)"
[ $((t1 - t0)) -lt 30 ] || fail "--timeout 2 took $((t1 - t0)) s to fail the read"
[ "$(counter dnbd3 reads_failed)" -gt 0 ] || fail "no failed read counted"
unbind dnbd3
ok "--timeout 2: the read failed with an I/O error"

# 5. Keyed: the lab key in a 0600 file, as dracut's dnbdroot.sh writes it.
umask 077
printf '%s\n' "$VMT_KEY" >/tmp/lab.key
umask 022
bind dnbd2 -b "$VMT_GROUP" -p "$VMT_KEYPORT" --key-file /tmp/lab.key
grep -q "keyed" /tmp/bind-dnbd2.out || fail "dnbd-client did not bind keyed"
grep -q "found a server with id 7 " /tmp/bind-dnbd2.out ||
	fail "keyed dnbd-client did not find keyed server 7"
dd if=/dev/dnbd2 of=/tmp/keyed bs=1M count=16 2>/dev/null ||
	fail "keyed read from /dev/dnbd2"
sha_is /tmp/keyed "$VMT_KEYSHA" "16 MiB keyed, under untagged forged replies"
rm -f /tmp/keyed
missing=$(counter dnbd2 auth_missing)
info "keyed: auth_missing $missing, auth_failures" \
	"$(counter dnbd2 auth_failures), segments_received" \
	"$(counter dnbd2 segments_received)"
[ "$missing" -gt 0 ] || fail "the keyed device dropped no untagged datagram"
unbind dnbd2
ok "keyed bind: right bytes, forged replies dropped and counted"

# 5b. Damaged datagrams inside GRO batches: each train the rogue sends is
# received as a batch; its damaged datagram is counted and dropped alone,
# the others are heard (replies_overheard: nobody here asked for them).
bind dnbd2 -b "$VMT_GROUP" -p "$VMT_TRAINPORT"
sleep 4
crc=$(counter dnbd2 crc_failures)
heard=$(counter dnbd2 replies_overheard)
batches=$(counter dnbd2 rx_gro_batches)
info "damaged trains: crc_failures $crc, replies_overheard $heard," \
	"rx_gro_batches $batches, rx_gro_datagrams $(counter dnbd2 rx_gro_datagrams)"
[ "$crc" -gt 0 ] || fail "no damaged datagram counted"
[ "$batches" -gt 0 ] || fail "the trains did not arrive as GRO batches"
# A train split across two batches may be half counted when read.
[ "$heard" -ge $(((crc - 1) * (VMT_TRAINSEGS - 1))) ] ||
	fail "$heard good datagrams heard for $crc damaged trains: batches were dropped whole"
unbind dnbd2
ok "a damaged datagram inside a GRO batch dropped alone"

# 6. Unbind with reads in flight (a slow server), then rmmod.  Not on
# dnbd2: its cache file (section 3) holds the image and would answer.
bind dnbd3 -b "$VMT_GROUP" -p "$VMT_SLOWPORT"
pids=""
for i in 1 2 3 4; do
	dd if=/dev/dnbd3 of=/dev/null bs=256k skip=$((i * 40)) count=40 2>/dev/null &
	pids="$pids $!"
done
usleep 1500000
inflight=$(awk '{ print $1 }' /sys/block/dnbd3/inflight)
info "reads in flight before unbind: $inflight"
[ "$inflight" -gt 0 ] || fail "no reads in flight: the slow server is not slow"
unbind dnbd3
failed=0
for p in $pids; do
	n=0
	while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do
		usleep 100000
		n=$((n + 1))
	done
	kill -0 "$p" 2>/dev/null && fail "reader $p still blocked 10 s after unbind"
	wait "$p" || failed=$((failed + 1))
done
info "$failed of 4 readers failed with an I/O error, none hangs"
[ "$(cat /sys/block/dnbd3/size)" = 0 ] || fail "unbound dnbd3 keeps its size"
# Unloading unbinds what is still bound.
bind dnbd1 -b "$VMT_GROUP"
dd if=/dev/dnbd1 of=/dev/null bs=1M count=4 2>/dev/null || fail "read from dnbd1"
rmmod dnbd || fail "rmmod dnbd with dnbd1 bound"
grep -q '^dnbd ' /proc/modules && fail "dnbd still loaded"
ok "unbound with reads in flight, module removed"
exit 0
