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
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
