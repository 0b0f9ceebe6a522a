#!/bin/bash
#
# t-checkpatch: the driver follows the kernel's coding style, as the
# kernel's scripts/checkpatch.pl sees it (taken from Debian's
# linux-source-6.1 package, cached in build/tools/).  Allowed: the two
# warnings every out-of-tree driver that supports several kernels gets
# (LINUX_VERSION_CODE tests).  Of proto/, the CRC32C glue (crc32c.c,
# dnbd_port.h) is checked as well.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

TOOLS=$KM_REPO/build/tools
CP=$TOOLS/linux-source-6.1/scripts/checkpatch.pl

# fetch_checkpatch: three files out of the kernel source package.
fetch_checkpatch() {
	local t
	t=$(mktemp -d)
	(cd "$t" && apt-get download -q linux-source-6.1 >/dev/null) ||
		{ rm -rf "$t"; return 1; }
	(cd "$t" && ar x linux-source-6.1_*.deb data.tar.xz &&
		tar -xJf data.tar.xz ./usr/src/linux-source-6.1.tar.xz &&
		mkdir -p "$TOOLS" &&
		tar -xJf usr/src/linux-source-6.1.tar.xz -C "$TOOLS" \
			linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch)
	local rc=$?
	rm -rf "$t"
	return $rc
}

vmk_need_pkgs perl binutils xz-utils || fail "cannot install perl, binutils, xz-utils"
[[ -f "$CP" ]] || fetch_checkpatch || fail "cannot get checkpatch.pl from linux-source-6.1"
# Of proto/ (shared with userspace), the files that must be clean too:
# the CRC32C glue onto the kernel's crc32c().
PROTO_CLEAN=("$KM_REPO/proto/crc32c.c" "$KM_REPO/proto/dnbd_port.h"
	"$KM_REPO/proto/fec.c" "$KM_REPO/proto/dnbd_fec.h")
out=$(perl "$CP" --no-tree --show-types \
	--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
	-f "$KM_REPO"/kmod/*.c "$KM_REPO"/kmod/*.h "${PROTO_CLEAN[@]}" 2>&1) || true
printf '%s\n' "$out"
grep -qE ': (ERROR|WARNING|CHECK):' <<<"$out" && fail "checkpatch findings"
n=$(grep -c '^total: 0 errors, 0 warnings' <<<"$out" || true)
files=$(($(find "$KM_REPO/kmod" -maxdepth 1 -name '*.[ch]' | wc -l) + ${#PROTO_CLEAN[@]}))
((n == files)) || fail "checkpatch checked $n of $files files cleanly"
pass "checkpatch: $files files, no errors or warnings"
