#!/bin/bash
#
# t-client-cli: dnbd-client's command line on a host without the driver.
# Usage errors exit 2; a device that is missing or not a dnbd device exits
# 1 with a message saying so.  (The driver's side of every command, and
# binding itself, are tested in the VMs: vm-tests/t-kmod.sh.)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

CLIENT=$DNBD_BIN/dnbd-client
[[ -x "$CLIENT" ]] || fail "$CLIENT missing: run make"
net_require
net_init
W=$NET_WORK
net_setup_bridge
# Binding sends HELLOs: only ever inside a namespace.
net_add_host cl 10.77.0.21

# expect RC PATTERN ARGS...: dnbd-client ARGS exits RC and says PATTERN.
expect() {
	local want=$1 pat=$2 rc=0
	shift 2
	net_run cl timeout -k 5 30 "$CLIENT" "$@" >"$W/out.log" 2>&1 || rc=$?
	((rc == want)) || { cat "$W/out.log"; fail "dnbd-client $*: exit $rc, expected $want"; }
	grep -q -- "$pat" "$W/out.log" ||
		{ cat "$W/out.log"; fail "dnbd-client $*: no '$pat' in its output"; }
	pass "dnbd-client $*: exit $rc, '$pat'"
}

expect 2 "Usage: dnbd-client -d device -b"
expect 2 "Usage" -b 239.77.0.1
expect 2 "give one of" -d /dev/dnbd0 -b 239.77.0.1 -u
expect 2 "invalid value 'soon'" -d /dev/dnbd0 -b 239.77.0.1 --timeout soon
expect 2 "invalid value '70000'" -d /dev/dnbd0 -b 239.77.0.1 -p 70000
expect 2 "invalid value '100'" -d /dev/dnbd0 -b 239.77.0.1 --seg-size 100
expect 2 "unexpected argument" -d /dev/dnbd0 -u extra
expect 2 "do not go together" -d /dev/dnbd0 -u -c /tmp/x
expect 0 "Usage" --help
expect 0 "version" -V
expect 1 "is the dnbd module loaded" -d "$W/no-such-device" -u
expect 1 "not a dnbd device" -d /dev/null -s
check_sanitizer_logs "$W"
