#!/bin/bash
#
# t-multi-image: one dnbd-server process exports three images.  By default
# image k is announced on group -m + k; ,group= and ,name= override that.
# A client on each group finds only that group's image and reads it
# exactly; --list on a shared group shows both images there, and a read
# without --image on it is refused with the list of names.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
trap net_cleanup EXIT
trap 'exit 143' TERM INT HUP

net_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv 10.77.0.11
net_add_host cl 10.77.0.21

make_image "$W/a.img" 4
make_image "$W/b.img" 3
make_image "$W/c.img" 2
# a.img -> 239.77.0.1 (first group), b.img -> 239.77.0.2 (next),
# c.img named "third" joins b's group explicitly.
net_bg srv "$W/srv.log" "$DNBD_SERVER" -m 239.77.0.1 -I eth0 \
	-d "$W/a.img" -d "$W/b.img" -d "$W/c.img,name=third,group=239.77.0.2" \
	-i 5 --stats "$W/srv.json"
srv_pid=$NET_LAST_PID
wait_for 60 json_ready "$W/srv.json" || fail "server wrote no stats file"

groups=$(jq -r '[.images[] | .name + "@" + .group] | join(" ")' "$W/srv.json")
info "images: $groups"
[[ "$groups" == "a.img@239.77.0.1 b.img@239.77.0.2 third@239.77.0.2" ]] ||
	fail "unexpected image/group assignment: $groups"
pass "one group per image by default, group= overrides"

read_check() { # GROUP FILE [--image NAME]
	local group=$1 file=$2 out
	shift 2
	out="$W/out.$(basename "$file")"
	net_run cl "$DNBD_CAT" -b "$group" "$@" --timeout 20 >"$out" \
		2>"$W/cat.$(basename "$file").log" ||
		fail "dnbd-cat -b $group $* failed: $(cat "$W/cat.$(basename "$file").log")"
	[[ "$(sha_of "$out")" == "$(sha_of "$file")" ]] ||
		fail "dnbd-cat -b $group $*: wrong bytes"
	pass "dnbd-cat -b $group $*: $(size_of "$out") bytes match"
}

read_check 239.77.0.1 "$W/a.img"
read_check 239.77.0.2 "$W/b.img" --image b.img
read_check 239.77.0.2 "$W/c.img" --image third

list=$(net_run cl "$DNBD_CAT" -b 239.77.0.2 --list --timeout 10)
info "$list"
grep -q '^image b.img id 0x' <<<"$list" || fail "--list misses b.img"
grep -q '^image third id 0x' <<<"$list" || fail "--list misses third"
if grep -q 'a.img' <<<"$list"; then
	fail "--list on 239.77.0.2 shows a.img from another group"
fi
pass "--list shows exactly the two images of 239.77.0.2"

rc=0
err=$(net_run cl "$DNBD_CAT" -b 239.77.0.2 --timeout 10 2>&1 >/dev/null) ||
	rc=$?
info "without --image: exit $rc: $err"
((rc == 2)) && grep -q -- '--image' <<<"$err" ||
	fail "two images on a group without --image must exit 2 naming --image"
rc=0
err=$(net_run cl "$DNBD_CAT" -b 239.77.0.1 --image nosuch --timeout 5 \
	2>&1 >/dev/null) || rc=$?
info "--image nosuch: exit $rc: $err"
((rc == 2)) && grep -q "no image named 'nosuch'" <<<"$err" ||
	fail "an unknown --image must exit 2 with a clear message"
pass "ambiguous and unknown image names are refused clearly"

net_stop "$srv_pid" || fail "server did not exit cleanly on SIGTERM"
check_sanitizer_logs "$W" || fail "sanitizer reports (see above)"
pass "no sanitizer reports"
