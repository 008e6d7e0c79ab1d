#!/bin/bash
# Build the cloudbr e2e guest: a Debian 12 rootfs (mmdebstrap) as an unpartitioned ext4
# image (mkfs.ext4 -d, no loop mounts) plus the kernel and initrd for QEMU direct boot.
#
# Usage: scripts/e2e-image.sh OUTDIR
#   writes OUTDIR/{rootfs.ext4,vmlinuz,initrd.img,manifest.txt}
# Env:
#   CLOUDBR_E2E_MIRROR  Debian mirror (default: the first bookworm mirror in this machine's apt
#                       sources, else http://deb.debian.org/debian)
#   CLOUDBR_E2E_SUITE   default bookworm
# Normally called by tests/e2e/image.py (GuestImage.ensure), which owns the cache and its key.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest="$here/../tests/e2e/guest"
out=${1:?usage: $0 OUTDIR}
suite=${CLOUDBR_E2E_SUITE:-bookworm}

detect_mirror() {
	local uri
	# deb822 sources first (Debian 12 default), then one-line sources.list entries.
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
		awk '{print $2}' | grep -v -e security -e '^$' | grep -m1 '/debian/\?$' || true)
	if [ -z "$uri" ]; then
		uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
			awk '{print $2}' | grep -v security | grep -m1 '/debian/\?$' || true)
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}
mirror=${CLOUDBR_E2E_MIRROR:-$(detect_mirror)}

packages=$(grep -v -e '^#' -e '^[[:space:]]*$' "$guest/packages.txt" | paste -sd, -)

mkdir -p "$out"
root="$out/rootfs.tmp"
rm -rf "$root"
trap 'rm -rf "$root"' EXIT

echo "e2e-image: mmdebstrap $suite from $mirror" >&2
# The initramfs config goes in before any package is installed so the kernel's postinst
# builds the initrd once, already with our hook (fw_cfg injector) and module list.
# Hooks are single-quoted on purpose: mmdebstrap runs them with $1 = the chroot.
# shellcheck disable=SC2016
mmdebstrap --variant=apt --include="$packages" \
	--essential-hook='mkdir -p "$1/etc/initramfs-tools/hooks" "$1/etc/initramfs-tools/scripts/local-bottom" "$1/etc/initramfs-tools/conf.d"' \
	--essential-hook="cp $guest/initramfs-hook \"\$1/etc/initramfs-tools/hooks/cloudbr-e2e\"" \
	--essential-hook="cp $guest/initramfs-local-bottom \"\$1/etc/initramfs-tools/scripts/local-bottom/cloudbr-e2e\"" \
	--essential-hook='chmod 755 "$1/etc/initramfs-tools/hooks/cloudbr-e2e" "$1/etc/initramfs-tools/scripts/local-bottom/cloudbr-e2e"' \
	--essential-hook='printf "MODULES=list\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/cloudbr-e2e.conf"' \
	--customize-hook="$guest/customize.sh \"\$1\" \"$guest\"" \
	"$suite" "$root" "$mirror"

cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$out/manifest.txt"

# Size: content + 50% headroom for the per-test overlay's writes.
mb=$(du -sm "$root" | awk '{print $1}')
rm -f "$out/rootfs.ext4"
mkfs.ext4 -q -F -L cloudbr-e2e -E root_owner=0:0 -d "$root" "$out/rootfs.ext4" "$((mb * 3 / 2 + 256))M"
echo "e2e-image: done: $out ($(du -sh "$out/rootfs.ext4" | awk '{print $1}') used)" >&2
