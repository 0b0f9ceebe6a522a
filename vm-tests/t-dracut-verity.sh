#!/bin/bash
#
# t-dracut-verity: an image built with --verity (hash tree appended, root
# hash on the kernel command line) has one byte of one file flipped on the
# server after it was built.  The client boots through dm-verity; reading
# the corrupted file gives EIO (never the wrong bytes) while every other
# file reads right.  One client per kernel, one with a systemd initramfs
# and one without.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dracut.sh
source "$(dirname "$0")/lib/dracut.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.4
IMG=vroot

dr_lan

dr_test_tree "$W/tree"
# Random bytes stay uncompressed in the squashfs: easy to find and flip.
# 256 KiB: whole data blocks of its own, not a fragment shared with the
# small files init needs.
head -c 262144 /dev/urandom >"$W/tree/data/bad.bin"
dr_image "$W/tree" "$W" "$IMG" --verity --group "$GROUP"
grep -q 'dnbd.verity=[0-9a-f]\{64\},hashoffset=[0-9]*' "$W/$IMG.cmdline" ||
	fail "no dnbd.verity= in $IMG.cmdline: $(cat "$W/$IMG.cmdline")"
cmdline=$(cat "$W/$IMG.cmdline")

# Flip one byte in the middle of bad.bin, in the server's copy.
off=$(python3 - "$W/$IMG.img" "$W/tree/data/bad.bin" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    img = f.read()
    pat = open(sys.argv[2], 'rb').read()[32768:32768 + 64]
    i = img.find(pat)
    if i < 0 or img.find(pat, i + 1) >= 0:
        print(-1)
        sys.exit(0)
    f.seek(i)
    f.write(bytes([img[i] ^ 0xff]))
    print(i)
PY
)
((off > 0)) || fail "bad.bin's bytes not found once in the image"
info "flipped the byte at offset $off (in /data/bad.bin) after veritysetup format"

dr_serve "$GROUP" "$GROUP,image=$IMG" "$IMG"

mapfile -t flavors < <(dnbd_kernels)
names=()
for flav in "${flavors[@]}"; do
	kver=$(vmk_resolve "$flav") || fail "cannot resolve $flav"
	variant=systemd
	[[ "$flav" == 6.12 ]] && variant=plain
	n="v${flav//./}"
	names+=("$n")
	dr_boot "$n" "$kver" "$variant" \
		"$cmdline dnbdtest.verity=1"
done
dr_wait 500 "a boot through dm-verity or its EIO check" "${names[@]}"
for n in "${names[@]}"; do
	vm_dmesg "$n" | grep -m1 'verity.*corrupted' | sed "s/^/$n: /" || true
done
pass "dm-verity over dnbd: the corrupted block reads as EIO on ${flavors[*]}"
