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
cloudbr_put etc/sysconfig/network 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpORVRXT1JLSU5HPXllcwpIT1NUTkFNRT1rdm1ob3N0
MS5teWxhYi5sb2NhbApHQVRFV0FZPTE5Mi4xNjguMTAwLjEKTkVUV09SS0lOR19JUFY2PW5vCklQ
VjZfQVVUT0NPTkY9bm8KSVBWNklOSVQ9bm8K'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-bond0 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Ym9uZDAKT05CT09UPXllcwpOTV9DT05U
Uk9MTEVEPW5vClVTRVJDVEw9bm8KVFlQRT1Cb25kCkJPTkRJTkdfTUFTVEVSPXllcwpCT05ESU5H
X09QVFM9Im1vZGU9YWN0aXZlLWJhY2t1cCBtaWltb249MTAwIHVwZGVsYXk9MCBkb3duZGVsYXk9
MCBwcmltYXJ5PWV0aDAiCkJPT1RQUk9UTz1ub25lCkJSSURHRT1jbG91ZGJyMAo='
cloudbr_put etc/sysconfig/network-scripts/ifcfg-bond0.100 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Ym9uZDAuMTAwCk9OQk9PVD15ZXMKTk1f
Q09OVFJPTExFRD1ubwpVU0VSQ1RMPW5vClZMQU49eWVzClBIWVNERVY9Ym9uZDAKQk9PVFBST1RP
PW5vbmUKQlJJREdFPWNsb3VkYnIxMDAK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-bond1 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Ym9uZDEKT05CT09UPXllcwpOTV9DT05U
Uk9MTEVEPW5vClVTRVJDVEw9bm8KVFlQRT1Cb25kCkJPTkRJTkdfTUFTVEVSPXllcwpCT05ESU5H
X09QVFM9Im1vZGU9YWN0aXZlLWJhY2t1cCBtaWltb249MTAwIHVwZGVsYXk9MCBkb3duZGVsYXk9
MCBwcmltYXJ5PWV0aDIiCkJPT1RQUk9UTz1ub25lCkJSSURHRT1jbG91ZGJyMQo='
cloudbr_put etc/sysconfig/network-scripts/ifcfg-cloudbr0 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Y2xvdWRicjAKT05CT09UPXllcwpOTV9D
T05UUk9MTEVEPW5vClVTRVJDVEw9bm8KVFlQRT1CcmlkZ2UKQk9PVFBST1RPPW5vbmUKSVBBRERS
PTE5Mi4xNjguMTAwLjIwCk5FVE1BU0s9MjU1LjI1NS4yNTUuMApHQVRFV0FZPTE5Mi4xNjguMTAw
LjEKREVGUk9VVEU9eWVzCklQVjZJTklUPW5vCkROUzE9MTkyLjE2OC4xMDAuNQpETlMyPTE5Mi4x
NjguMTAwLjYKRE9NQUlOPW15Y2xvdWQubG9jYWwKU1RQPW5vCkRFTEFZPTAK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-cloudbr1 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Y2xvdWRicjEKT05CT09UPXllcwpOTV9D
T05UUk9MTEVEPW5vClVTRVJDVEw9bm8KVFlQRT1CcmlkZ2UKQk9PVFBST1RPPW5vbmUKREVGUk9V
VEU9bm8KSVBWNklOSVQ9bm8KU1RQPW5vCkRFTEFZPTAK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-cloudbr100 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9Y2xvdWRicjEwMApPTkJPT1Q9eWVzCk5N
X0NPTlRST0xMRUQ9bm8KVVNFUkNUTD1ubwpUWVBFPUJyaWRnZQpCT09UUFJPVE89bm9uZQpJUEFE
RFI9MTAuMC4xMDAuMjAKTkVUTUFTSz0yNTUuMjU1LjI1NS4wCkRFRlJPVVRFPW5vCklQVjZJTklU
PW5vClNUUD1ubwpERUxBWT0wCg=='
cloudbr_put etc/sysconfig/network-scripts/ifcfg-eth0 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9ZXRoMApPTkJPT1Q9eWVzCk5NX0NPTlRS
T0xMRUQ9bm8KVVNFUkNUTD1ubwpUWVBFPUV0aGVybmV0CkJPT1RQUk9UTz1ub25lCk1BU1RFUj1i
b25kMApTTEFWRT15ZXMK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-eth1 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9ZXRoMQpPTkJPT1Q9eWVzCk5NX0NPTlRS
T0xMRUQ9bm8KVVNFUkNUTD1ubwpUWVBFPUV0aGVybmV0CkJPT1RQUk9UTz1ub25lCk1BU1RFUj1i
b25kMApTTEFWRT15ZXMK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-eth2 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9ZXRoMgpPTkJPT1Q9eWVzCk5NX0NPTlRS
T0xMRUQ9bm8KVVNFUkNUTD1ubwpUWVBFPUV0aGVybmV0CkJPT1RQUk9UTz1ub25lCk1BU1RFUj1i
b25kMQpTTEFWRT15ZXMK'
cloudbr_put etc/sysconfig/network-scripts/ifcfg-eth3 0644 \
'IyBHZW5lcmF0ZWQgYnkgY2xvdWRiciBmcm9tIHRoZSBob3N0IGludmVudG9yeTsgZWRpdCB0aGUg
aW52ZW50b3J5LCBub3QgdGhpcyBmaWxlLgpERVZJQ0U9ZXRoMwpPTkJPT1Q9eWVzCk5NX0NPTlRS
T0xMRUQ9bm8KVVNFUkNUTD1ubwpUWVBFPUV0aGVybmV0CkJPT1RQUk9UTz1ub25lCk1BU1RFUj1i
b25kMQpTTEFWRT15ZXMK'
# Move aside the installer's own interface definitions (its install-time network: ifcfg
# files up to EL8, NetworkManager keyfiles on EL9): only the host's files and initscripts'
# ifcfg-lo may come up at boot.
cloudbr_sys=${1:-/}
cloudbr_sys=${cloudbr_sys%/}
cloudbr_keep=' ifcfg-bond0 ifcfg-bond0.100 ifcfg-bond1 ifcfg-cloudbr0 ifcfg-cloudbr1 ifcfg-cloudbr100 ifcfg-eth0 ifcfg-eth1 ifcfg-eth2 ifcfg-eth3 ifcfg-lo '
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
