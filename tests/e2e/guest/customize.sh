#!/bin/bash
# mmdebstrap --customize-hook for the e2e guest: $1 = rootfs, $2 = tests/e2e/guest.
# Leaves the image with no network configuration of its own: every test brings its own.
set -euo pipefail
root=$1
guest=$2

echo "/dev/vda / ext4 rw,errors=remount-ro 0 0" >"$root/etc/fstab"
echo e2e-guest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 e2e-guest\n' >"$root/etc/hosts"
# Each guest gets its own /etc/machine-id from case.tar (systemd derives bridge/bond MACs
# from it); "uninitialized" keeps an uninjected debug boot working.
echo uninitialized >"$root/etc/machine-id"

# Only loopback: no DHCP stanza may race the configuration under test.
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' \
	>"$root/etc/network/interfaces"
rm -f "$root"/etc/netplan/*.yaml

# NetworkManager (for the EL8/EL9 keyfile cases) stays off: it must not touch the interfaces
# of the ifupdown/netplan/OVS cases. The EL cases enable it in their own rootfs (the links
# `systemctl enable NetworkManager` makes). Disabled also removes its D-Bus activation alias.
chroot "$root" systemctl disable NetworkManager.service NetworkManager-wait-online.service \
	NetworkManager-dispatcher.service >/dev/null 2>&1
if chroot "$root" systemctl is-enabled --quiet NetworkManager.service; then
	echo "customize: NetworkManager is still enabled" >&2
	exit 1
fi

# Root on the serial console, passwordless, auto-login (debug only; isolated guests).
chroot "$root" passwd -d root >/dev/null
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cp "$guest/autologin.conf" "$root/etc/systemd/system/serial-getty@ttyS0.service.d/"

# cloud-init: inert without a NoCloud seed, netplan renderer when there is one.
cp "$guest/cloud.cfg" "$root/etc/cloud/cloud.cfg.d/90-cloudbr-e2e.cfg"

# The case runner (check.py itself arrives per test in case.tar).
cp "$guest/cloudbr-e2e-case.service" "$root/etc/systemd/system/"
chroot "$root" systemctl enable cloudbr-e2e-case.service

# Boot time under TCG is the budget: drop periodic jobs and things a test never needs.
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer logrotate.timer dpkg-db-backup.timer \
	systemd-timesyncd.service getty@tty1.service; do
	chroot "$root" systemctl mask "$unit" >/dev/null 2>&1 || true
done
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/cloudbr-e2e.conf"

# Fail the build early if the initrd lacks what direct boot + injection need.
listing=$(chroot "$root" sh -c 'lsinitramfs /boot/initrd.img-*')
for want in qemu_fw_cfg.ko virtio_blk.ko virtio_net.ko ext4.ko sr_mod.ko bin/tar \
	scripts/local-bottom/cloudbr-e2e; do
	if ! grep -q "$want" <<<"$listing"; then
		echo "customize: initrd lacks $want" >&2
		exit 1
	fi
done
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
