#!/bin/bash
#
# t-freestanding: the protocol core in proto/ must build for the kernel
# module as well as for userspace.  Check that its .c files include only
# proto's own headers, and that compiled freestanding, without builtins,
# they reference no symbol but memcpy, memset and memcmp (which the kernel
# provides too): no malloc, printf, time or socket call can sneak in.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
allowed='^(memcpy|memset|memcmp)$'
bad=0

for f in proto/*.c; do
	while read -r inc; do
		case "$inc" in
		'"dnbd_'*'.h"' | '"crc32c_table.h"') ;;
		*) echo "FAIL: $f includes $inc (only proto's own headers)"; bad=1 ;;
		esac
	done < <(sed -n 's/^#include[[:space:]]*\(.*\)$/\1/p' "$f")
	gcc -std=gnu11 -ffreestanding -fno-builtin -O2 -Wall -Wextra -Werror \
		-Iproto -c "$f" -o "$tmp/$(basename "$f" .c).o"
done
# The core as one object: what it still needs must come from the host.
ld -r -o "$tmp/core.o" "$tmp"/*.o
while read -r sym; do
	if [[ ! "$sym" =~ $allowed ]]; then
		echo "FAIL: proto/ needs $sym from its host"
		bad=1
	fi
done < <(nm -u "$tmp/core.o" | awk '{ print $2 }')
echo "proto/ needs from its host: $(nm -u "$tmp/core.o" | awk '{ print $2 }' | tr '\n' ' ')"
# Headers the kernel would see must not pull in libc either.
if grep -n '#include <' proto/*.h | grep -v 'dnbd_port.h'; then
	echo "FAIL: a proto header includes a system header outside dnbd_port.h"
	bad=1
fi
((bad == 0)) && echo "ok: proto/ is freestanding"
exit $bad
