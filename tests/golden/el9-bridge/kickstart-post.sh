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
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW21haW5dCm5vLWF1dG8tZGVmYXVsdD0qCg=='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-bond0.100.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWJvbmQwLjEwMAp1dWlk
PTkyOWY3MWI3LTQ0ZDctNTNkMy1hNDI5LWJmNzAyZmVjYzc5NAp0eXBlPXZsYW4KaW50ZXJmYWNl
LW5hbWU9Ym9uZDAuMTAwCmF1dG9jb25uZWN0PXRydWUKbWFzdGVyPWNsb3VkYnIxMDAKc2xhdmUt
dHlwZT1icmlkZ2UKClt2bGFuXQppZD0xMDAKcGFyZW50PWJvbmQwCg=='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-bond0.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWJvbmQwCnV1aWQ9MmVh
ZjVhM2YtYjFjNi01N2Q0LTg2ZWUtNTU2M2Y5NDk1YTg5CnR5cGU9Ym9uZAppbnRlcmZhY2UtbmFt
ZT1ib25kMAphdXRvY29ubmVjdD10cnVlCm1hc3Rlcj1jbG91ZGJyMApzbGF2ZS10eXBlPWJyaWRn
ZQoKW2JvbmRdCm1vZGU9YWN0aXZlLWJhY2t1cAptaWltb249MTAwCnVwZGVsYXk9MApkb3duZGVs
YXk9MApwcmltYXJ5PWV0aDAK'
cloudbr_put etc/NetworkManager/system-connections/cloudbr-bond1.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWJvbmQxCnV1aWQ9NWM5
ZTAwZmQtNGU1Yy01NTlkLWI0OWUtY2JhZjQ3MWFkODNlCnR5cGU9Ym9uZAppbnRlcmZhY2UtbmFt
ZT1ib25kMQphdXRvY29ubmVjdD10cnVlCm1hc3Rlcj1jbG91ZGJyMQpzbGF2ZS10eXBlPWJyaWRn
ZQoKW2JvbmRdCm1vZGU9YWN0aXZlLWJhY2t1cAptaWltb249MTAwCnVwZGVsYXk9MApkb3duZGVs
YXk9MApwcmltYXJ5PWV0aDIK'
cloudbr_put etc/NetworkManager/system-connections/cloudbr-cloudbr0.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWNsb3VkYnIwCnV1aWQ9
MjYzOWI1ZGEtYTRlZS01MTM0LTliZWEtZjZkNjY2NDU0NGZiCnR5cGU9YnJpZGdlCmludGVyZmFj
ZS1uYW1lPWNsb3VkYnIwCmF1dG9jb25uZWN0PXRydWUKClticmlkZ2VdCmZvcndhcmQtZGVsYXk9
MApzdHA9ZmFsc2UKCltpcHY0XQphZGRyZXNzMT0xOTIuMTY4LjEwMC4yMC8yNApnYXRld2F5PTE5
Mi4xNjguMTAwLjEKZG5zPTE5Mi4xNjguMTAwLjU7MTkyLjE2OC4xMDAuNjsKZG5zLXNlYXJjaD1t
eWNsb3VkLmxvY2FsOwptZXRob2Q9bWFudWFsCgpbaXB2Nl0KbWV0aG9kPWRpc2FibGVkCg=='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-cloudbr1.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWNsb3VkYnIxCnV1aWQ9
Mzk0ZTMxMTItZjM1NC01ZjdhLWIxZmQtYmU3ODY2NmZmN2IwCnR5cGU9YnJpZGdlCmludGVyZmFj
ZS1uYW1lPWNsb3VkYnIxCmF1dG9jb25uZWN0PXRydWUKClticmlkZ2VdCmZvcndhcmQtZGVsYXk9
MApzdHA9ZmFsc2UKCltpcHY0XQptZXRob2Q9ZGlzYWJsZWQKCltpcHY2XQptZXRob2Q9ZGlzYWJs
ZWQK'
cloudbr_put etc/NetworkManager/system-connections/cloudbr-cloudbr100.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWNsb3VkYnIxMDAKdXVp
ZD0yNGIzYmRlMS01NjRmLTVjYTktODkzYi0xNDU0NTI5MWViNmQKdHlwZT1icmlkZ2UKaW50ZXJm
YWNlLW5hbWU9Y2xvdWRicjEwMAphdXRvY29ubmVjdD10cnVlCgpbYnJpZGdlXQpmb3J3YXJkLWRl
bGF5PTAKc3RwPWZhbHNlCgpbaXB2NF0KYWRkcmVzczE9MTAuMC4xMDAuMjAvMjQKbWV0aG9kPW1h
bnVhbAoKW2lwdjZdCm1ldGhvZD1kaXNhYmxlZAo='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-eth0.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWV0aDAKdXVpZD0xOTFj
Y2VkNC1hYzlhLTViYTYtODI3NS1lMDRhNDQzZDczYTkKdHlwZT1ldGhlcm5ldAppbnRlcmZhY2Ut
bmFtZT1ldGgwCmF1dG9jb25uZWN0PXRydWUKbWFzdGVyPWJvbmQwCnNsYXZlLXR5cGU9Ym9uZAo='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-eth1.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWV0aDEKdXVpZD1hYjY5
YjY5Zi00ZDExLTU5ZDItYTMxZi1mMTk3M2Q3NjIzYjcKdHlwZT1ldGhlcm5ldAppbnRlcmZhY2Ut
bmFtZT1ldGgxCmF1dG9jb25uZWN0PXRydWUKbWFzdGVyPWJvbmQwCnNsYXZlLXR5cGU9Ym9uZAo='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-eth2.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWV0aDIKdXVpZD1mMWRi
ZWFjZS1hMjZlLTU4MTMtOWQ5MS0zNGM3MDAzNmI1OGQKdHlwZT1ldGhlcm5ldAppbnRlcmZhY2Ut
bmFtZT1ldGgyCmF1dG9jb25uZWN0PXRydWUKbWFzdGVyPWJvbmQxCnNsYXZlLXR5cGU9Ym9uZAo='
cloudbr_put etc/NetworkManager/system-connections/cloudbr-eth3.nmconnection 0600 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgoKW2Nvbm5lY3Rpb25dCmlkPWV0aDMKdXVpZD1mMmFj
YWMzMi0yNDU5LTVhZGItYjE3Zi0xNTYyODcwMGNmNzIKdHlwZT1ldGhlcm5ldAppbnRlcmZhY2Ut
bmFtZT1ldGgzCmF1dG9jb25uZWN0PXRydWUKbWFzdGVyPWJvbmQxCnNsYXZlLXR5cGU9Ym9uZAo='
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
cloudbr_keep=' cloudbr-bond0.100.nmconnection cloudbr-bond0.nmconnection cloudbr-bond1.nmconnection cloudbr-cloudbr0.nmconnection cloudbr-cloudbr1.nmconnection cloudbr-cloudbr100.nmconnection cloudbr-eth0.nmconnection cloudbr-eth1.nmconnection cloudbr-eth2.nmconnection cloudbr-eth3.nmconnection '
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
