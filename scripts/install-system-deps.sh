#!/usr/bin/env bash
# Install the Debian packages named in the given lists (one per line, '#' comments),
# but only when some are missing, so repeated `make test` runs stay fast.
set -euo pipefail

missing=()
for list in "$@"; do
    while read -r pkg _; do
        [[ -z "$pkg" || "$pkg" == \#* ]] && continue
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done <"$list"
done
((${#missing[@]} == 0)) && exit 0

echo "installing Debian packages: ${missing[*]}"
sudo_cmd=()
((EUID == 0)) || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# One apt at a time, also across parallel make runs.
exec 9>/tmp/cloudbr-apt.lock
flock 9
"${sudo_cmd[@]}" apt-get update -qq
# Test tools only: no package may start a daemon (nginx would take port 80 on the host;
# tests run their own instances). policy-rc.d 101 = "action forbidden", for the install only.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
    trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy"
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# network-manager is here for nmcli --offline and NetworkManager --print-config only: it must
# never own this machine's network, not even after a reboot, so its units stay disabled.
if [[ " ${missing[*]} " == *" network-manager "* ]]; then
    "${sudo_cmd[@]}" systemctl disable NetworkManager.service NetworkManager-wait-online.service \
        NetworkManager-dispatcher.service >/dev/null 2>&1 || true
fi
