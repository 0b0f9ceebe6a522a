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
