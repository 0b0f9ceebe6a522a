# shellcheck shell=sh
#
# vm-tests/guest/lib.sh - helpers for the guest side of the dnbd VM tests
# (busybox sh), installed as /lib/dnbd-guest.sh.  Every check prints one
# line; the first failure ends /test.sh with status 1.

fail() { echo "guest: FAIL: $*"; exit 1; }
ok() { echo "guest: ok: $*"; }
info() { echo "guest: $*"; }

# counter DEV NAME: one counter from /sys/block/DEV/dnbd/counters.
counter() {
	v=$(awk -v k="$2" '$1 == k { print $2 }' "/sys/block/$1/dnbd/counters")
	[ -n "$v" ] || fail "no counter $2 in /sys/block/$1/dnbd/counters"
	echo "$v"
}

# sha_is FILE SHA256 WHAT: the content of FILE has that sha256.
sha_is() {
	got=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$got" = "$2" ] || fail "$3: sha256 $got, expected $2"
	ok "$3: sha256 matches"
}

# uptime_cs: the guest's uptime in centiseconds (busybox date has no %N).
uptime_cs() {
	awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime
}

# timed_sha FILE SHA256 WHAT MIB: sha_is, and the time it took.
timed_sha() {
	t0=$(uptime_cs)
	sha_is "$1" "$2" "$3"
	cs=$(($(uptime_cs) - t0))
	[ $cs -gt 0 ] || cs=1
	info "$3: $4 MiB in $((cs / 100)).$((cs % 100 / 10)) s, $(($4 * 100 / cs)) MiB/s (sha256 included, TCG)"
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s; 1 when time runs out.
wait_until() {
	n=$(($1 * 5))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		usleep 200000
	done
	return 0
}

# bind DEV ARGS...: dnbd-client -d /dev/DEV ARGS, output kept in /tmp.
bind() {
	dev=$1
	shift
	dnbd-client -d "/dev/$dev" "$@" >"/tmp/bind-$dev.out" 2>&1
	rc=$?
	cat "/tmp/bind-$dev.out"
	[ $rc -eq 0 ] || fail "dnbd-client -d /dev/$dev $*: exit $rc"
}

unbind() {
	dnbd-client -d "/dev/$1" -u || fail "unbinding /dev/$1"
}
