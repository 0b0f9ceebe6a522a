#!/bin/bash
#
# image-builder/demo-image.sh OUTDIR - the appliance's bundled demo image:
# Debian 12 with systemd (dnbd-mkimage --debian --name demo), its 6.1
# kernel and a dracut initramfs with the 90dnbd module.  Clients log in as
# root on the console without a password (a demo: see roots/debian.sh).
#
# Skips the build when OUTDIR already holds an image made from the same
# inputs (the dracut module, the driver, the protocol core, dnbd-client
# and the image builder): OUTDIR/.inputs records their checksum.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 1 && $1 != -* ]] || { echo "usage: image-builder/demo-image.sh OUTDIR" >&2; exit 2; }
out=$1

inputs() {
	cat "$REPO"/dracut-module/90dnbd/* "$REPO"/kmod/*.[ch] "$REPO"/proto/*.[ch] \
		"$REPO"/client/*.[ch] "$REPO"/image-builder/dnbd-mkimage \
		"$REPO"/image-builder/roots/debian.sh "$REPO"/image-builder/lib/kernels.sh |
		sha256sum | cut -c1-16
}

key=$(inputs)
if [[ -f "$out/.inputs" && "$(cat "$out/.inputs")" == "$key" ]] &&
	[[ -f "$out/demo.img" && -f "$out/demo.initrd" && -f "$out/demo.vmlinuz" ]]; then
	echo "demo-image: $out/demo.img is up to date ($(du -h "$out/demo.img" | cut -f1))"
	exit 0
fi
echo "demo-image: building the Debian 12 demo image in $out (mmdebstrap, squashfs, dracut; a few minutes)"
rm -rf "$out"
mkdir -p "$out"
"$REPO/image-builder/dnbd-mkimage" --debian --name demo --group 239.33.0.1 "$out"
echo "$key" >"$out/.inputs"
echo "demo-image: done: $out/demo.img ($(du -h "$out/demo.img" | cut -f1))"
