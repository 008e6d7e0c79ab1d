# shellcheck disable=SC2016  # single-quoted paths and base64 are literal on purpose
set -eu
umask 022
cloudbr_root=${1:-/}
# cloudbr_put PATH MODE BASE64: write PATH (relative to the root) atomically with MODE.
cloudbr_put() {
    cloudbr_dest="${cloudbr_root%/}/$1"
    mkdir -p -- "$(dirname -- "$cloudbr_dest")"
    cloudbr_tmp=$(mktemp "$cloudbr_dest.cloudbr.XXXXXX")
    printf '%s\n' "$3" | base64 -d > "$cloudbr_tmp"
    chmod "$2" "$cloudbr_tmp"
    mv -f -- "$cloudbr_tmp" "$cloudbr_dest"
}
# cloudbr_dir PATH MODE: create the directory PATH (relative to the root) with MODE.
cloudbr_dir() {
    mkdir -p -- "${cloudbr_root%/}/$1"
    chmod "$2" "${cloudbr_root%/}/$1"
}
cloudbr_put etc/NetworkManager/conf.d/90-cloudbr.conf 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW21haW5dCm5vLWF1dG8tZGVmYXVsdD0qCgpba2V5
ZmlsZV0KdW5tYW5hZ2VkLWRldmljZXM9aW50ZXJmYWNlLW5hbWU6Y2xvdWRicjA7aW50ZXJmYWNl
LW5hbWU6Y2xvdWRicjE7aW50ZXJmYWNlLW5hbWU6Y2xvdWRicjEwMDtpbnRlcmZhY2UtbmFtZTpi
b25kMDtpbnRlcmZhY2UtbmFtZTpib25kMTtpbnRlcmZhY2UtbmFtZTpldGgwO2ludGVyZmFjZS1u
YW1lOmV0aDE7aW50ZXJmYWNlLW5hbWU6ZXRoMjtpbnRlcmZhY2UtbmFtZTpldGgzO2ludGVyZmFj
ZS1uYW1lOm92cy1zeXN0ZW0KCltnbG9iYWwtZG5zXQpzZWFyY2hlcz1teWNsb3VkLmxvY2FsCgpb
Z2xvYmFsLWRucy1kb21haW4tKl0Kc2VydmVycz0xOTIuMTY4LjEwMC41LDE5Mi4xNjguMTAwLjYK'
cloudbr_put etc/systemd/system/NetworkManager-wait-online.service.d/cloudbr.conf 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgojIFRoZSBob3N0J3MgYnJpZGdlcyBtYXkgdGFrZSBs
b25nZXIgdGhhbiBOZXR3b3JrTWFuYWdlcidzIGRlZmF1bHQgNjAgcyB0byBjb21lIHVwLgpbU2Vy
dmljZV0KRW52aXJvbm1lbnQ9Tk1fT05MSU5FX1RJTUVPVVQ9MzAwCg=='
# Move aside the installer's own interface definitions (its install-time network: ifcfg
# files up to EL8, NetworkManager keyfiles on EL9): only the host's files and initscripts'
# ifcfg-lo may come up at boot.
cloudbr_sys=${1:-/}
cloudbr_sys=${cloudbr_sys%/}
cloudbr_keep=' ifcfg-lo '
for cloudbr_f in "$cloudbr_sys/etc/sysconfig/network-scripts"/ifcfg-*; do
    [ -e "$cloudbr_f" ] || continue
    case "$cloudbr_keep" in *" ${cloudbr_f##*/} "*) continue ;; esac
    mkdir -p "$cloudbr_sys/root/cloudbr-installer-ifcfg"
    mv -f -- "$cloudbr_f" "$cloudbr_sys/root/cloudbr-installer-ifcfg/"
done
cloudbr_keep='  '
for cloudbr_f in "$cloudbr_sys/etc/NetworkManager/system-connections"/*.nmconnection; do
    [ -e "$cloudbr_f" ] || continue
    case "$cloudbr_keep" in *" ${cloudbr_f##*/} "*) continue ;; esac
    mkdir -p "$cloudbr_sys/root/cloudbr-installer-nm"
    mv -f -- "$cloudbr_f" "$cloudbr_sys/root/cloudbr-installer-nm/"
done
# Files written from %post may lack their SELinux labels (e.g. /root/.ssh).
if [ -z "$cloudbr_sys" ] && command -v restorecon >/dev/null 2>&1; then
    restorecon -R /etc /root || true
fi
