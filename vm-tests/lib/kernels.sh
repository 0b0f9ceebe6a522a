# shellcheck shell=bash
#
# vm-tests/lib/kernels.sh - the Debian kernels, as the image builder
# fetches them (image-builder/lib/kernels.sh: vmk_resolve, vmk_fetch...).

# shellcheck source=SCRIPTDIR/../../image-builder/lib/kernels.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../image-builder/lib/kernels.sh"
