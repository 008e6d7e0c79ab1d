#!/usr/bin/env bash
# Build a CloudStack KVM host image for cloudbr with diskimage-builder (DIB).
#
#   scripts/build-image.sh [--install-deps] [--check] [DISTRO [BACKEND]]
#
#   DISTRO   a platform with an image build (scripts/image-platforms.sh, from
#            `cloudbr platforms`: centos7, ubuntu1804, debian12) (or DISTRO)
#   BACKEND  linuxbridge | ovs                      (or the BACKEND variable)
#
# Output (IMAGE_DIR, default images/):
#   <distro>-<backend>.qcow2     the image
#   <distro>-<backend>.vmlinuz   its kernel  } for QEMU direct kernel boot
#   <distro>-<backend>.initrd    its initrd  }
#   <distro>-<backend>.cmdline   kernel command line for direct boot
#   <distro>-<backend>.json      what was built, how, and how long it took
#   <distro>-<backend>.log       the full DIB log
#
# Options:
#   --install-deps  install the Debian packages in scripts/apt-image.txt that
#                   are missing (apt-get under /tmp/cloudbr-apt.lock) first
#   --check         validate arguments and probe mirrors/base images, then stop
#   --venv-only     only create/refresh the pinned DIB virtualenv and print its
#                   path (a DISTRO whose DIB is pinned, e.g. centos7: that one);
#                   no DISTRO needed
#
# Variables (see docs/images.md for all of them):
#   IMAGE_LAYOUT=partitioned|flat  partitioned (default): DIB "vm" element, MBR
#                   partition table + GRUB, what operators boot. flat: one ext4
#                   filesystem and no bootloader, booted with QEMU direct kernel
#                   boot (needs no device-mapper/kpartx; used by the tests).
#   IMAGE_DIR, IMAGE_NAME, IMAGE_COMPRESS=1|0, IMAGE_VERBOSE=0|1,
#   IMAGE_PROBE_TIMEOUT=5, IMAGE_EXTRA_ELEMENTS, IMAGE_DIB_ARGS
#   Passed through to DIB: DIB_DISTRIBUTION_MIRROR, DIB_DEBIAN_SECURITY_MIRROR,
#   DIB_APT_KEYRING, DIB_LOCAL_IMAGE, DIB_CLOUD_IMAGES, DIB_IMAGE_CACHE and
#   every DIB_CLOUDBR_* element variable.
set -euo pipefail
# The whole script is one compound command: bash parses it completely before
# running it, so editing this file while a (long) build runs cannot derail it.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=build-image

# The platforms with an image build and their DIB settings (generated from
# cloudbr's platform registry): IMAGE_PLATFORMS and image_platform ID, which sets
# PLATFORM_ELEMENT, _DISTRO_NAME, _RELEASE, _MIRROR, _DIB_PINS (a pinned
# diskimage-builder, e.g. 3.33.0 for CentOS 7, the last that builds it; else
# requirements-image.txt), _OVS_REPO_PATH (below the mirror), _OVS_REPO (the
# installer's), _OVS_PURGE and _ELEMENTS (1: the cloudbr elements build it).
# shellcheck source=scripts/image-platforms.sh
. "$ROOT/scripts/image-platforms.sh"

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

INSTALL_DEPS=0
CHECK_ONLY=0
VENV_ONLY=0
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        --install-deps) INSTALL_DEPS=1 ;;
        --check) CHECK_ONLY=1 ;;
        --venv-only) VENV_ONLY=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) positional+=("$1") ;;
    esac
    shift
done
[ ${#positional[@]} -le 2 ] || die "too many arguments (see --help)"

# ---------------------------------------------------------------------------
# Pinned diskimage-builder in its own virtualenv
# ---------------------------------------------------------------------------
ensure_venv() {
    local venv=$1 pins=$2 req=$ROOT/requirements-image.txt stamp cons
    stamp=$(cat "$req" <(echo "$pins") | sha256sum | cut -d' ' -f1)
    if [ -x "$venv/bin/disk-image-create" ] && [ "$(cat "$venv/.cloudbr-stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "creating $venv (pinned diskimage-builder)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    if [ -n "$pins" ]; then
        cons=$(mktemp)
        grep -v -E '^(diskimage-builder|flake8|pycodestyle|pyflakes)==' "$req" >"$cons"
        # shellcheck disable=SC2086 # word splitting of the pin list is intended
        "$venv/bin/pip" install -q --disable-pip-version-check -c "$cons" $pins >&2 || {
            rm -f "$cons"
            return 1
        }
        rm -f "$cons"
    else
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 || return 1
    fi
    echo "$stamp" >"$venv/.cloudbr-stamp"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages of scripts/apt-image.txt that are missing.
install_host_packages() {
    local pkg missing=()
    while read -r pkg; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$ROOT/scripts/apt-image.txt")
    [ ${#missing[@]} -gt 0 ] || return 0
    say "installing host packages: ${missing[*]}"
    as_root flock /tmp/cloudbr-apt.lock apt-get install -y -q "${missing[@]}" >&2 ||
        { as_root flock /tmp/cloudbr-apt.lock apt-get update -q >&2 &&
            as_root flock /tmp/cloudbr-apt.lock apt-get install -y -q "${missing[@]}" >&2; }
}

# The pinned DIB's virtualenv of platform $1 (DIB_VENV_CENTOS7 for CentOS 7's).
pinned_venv() {
    local var
    var=DIB_VENV_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
    echo "${!var:-$ROOT/.venv-image-$1}"
}

if [ "$VENV_ONLY" = 1 ]; then
    if [ "$INSTALL_DEPS" = 1 ]; then
        install_host_packages || die "could not install the packages of scripts/apt-image.txt"
    fi
    d=${DISTRO:-${positional[0]:-}}
    if [ -n "$d" ] && image_platform "$d" && [ -n "$PLATFORM_DIB_PINS" ]; then
        venv=$(pinned_venv "$d")
        ensure_venv "$venv" "$PLATFORM_DIB_PINS" || die "could not install $PLATFORM_DIB_PINS into $venv"
    else
        venv=${DIB_VENV:-$ROOT/.venv-image}
        ensure_venv "$venv" "" || die "could not install requirements-image.txt into $venv"
    fi
    echo "$venv"
    exit 0
fi

DISTRO=${positional[0]:-${DISTRO:-}}
BACKEND=${positional[1]:-${BACKEND:-}}

[ -n "$DISTRO" ] || die "DISTRO is not set: use DISTRO=${IMAGE_PLATFORMS// /|}"
image_platform "$DISTRO" || die "unsupported DISTRO=$DISTRO (${IMAGE_PLATFORMS// /, })"
case "$BACKEND" in
    linuxbridge | ovs) ;;
    "") die "BACKEND is not set: use BACKEND=linuxbridge|ovs" ;;
    *) die "unsupported BACKEND=$BACKEND (linuxbridge or ovs)" ;;
esac
IMAGE_LAYOUT=${IMAGE_LAYOUT:-partitioned}
case "$IMAGE_LAYOUT" in
    partitioned | flat) ;;
    *) die "unsupported IMAGE_LAYOUT=$IMAGE_LAYOUT (partitioned or flat)" ;;
esac
IMAGE_DIR=${IMAGE_DIR:-$ROOT/images}
IMAGE_NAME=${IMAGE_NAME:-$DISTRO-$BACKEND}
IMAGE_COMPRESS=${IMAGE_COMPRESS:-1}
IMAGE_VERBOSE=${IMAGE_VERBOSE:-0}
IMAGE_PROBE_TIMEOUT=${IMAGE_PROBE_TIMEOUT:-5}
IMAGE_EXTRA_ELEMENTS=${IMAGE_EXTRA_ELEMENTS:-}
IMAGE_DIB_ARGS=${IMAGE_DIB_ARGS:-}
export DIB_ROOT_LABEL=${DIB_ROOT_LABEL:-cloudimg-rootfs}

# ---------------------------------------------------------------------------
# Per-distribution settings. Every default can be overridden from the
# environment; the probes below make an unreachable source fail in seconds.
# ---------------------------------------------------------------------------
VENV=${DIB_VENV:-$ROOT/.venv-image}
DIB_PINS=$PLATFORM_DIB_PINS
[ -z "$DIB_PINS" ] || VENV=$(pinned_venv "$DISTRO")
BASE_ELEMENT=$PLATFORM_ELEMENT
export DIB_CLOUDBR_PLATFORM=$DISTRO
export DIB_RELEASE=$PLATFORM_RELEASE
export DIB_DISTRIBUTION_MIRROR=${DIB_DISTRIBUTION_MIRROR:-$PLATFORM_MIRROR}
# What DIB's distribution elements need besides (by DIB's DISTRO_NAME).
case "$PLATFORM_DISTRO_NAME" in
    debian)
        # DIB's own default (http://security.debian.org/) lacks the
        # /debian-security path that bookworm's security suite lives under.
        export DIB_DEBIAN_SECURITY_MIRROR=${DIB_DEBIAN_SECURITY_MIRROR:-http://security.debian.org/debian-security}
        ;;
    ubuntu)
        if [ -z "${DIB_APT_KEYRING:-}" ] && [ -e /usr/share/keyrings/ubuntu-archive-keyring.gpg ]; then
            export DIB_APT_KEYRING=/usr/share/keyrings/ubuntu-archive-keyring.gpg
        fi
        ;;
    centos)
        DIB_CLOUD_IMAGES=${DIB_CLOUD_IMAGES:-https://cloud.centos.org/centos/$DIB_RELEASE/images}
        export DIB_CLOUD_IMAGES
        ;;
    rhel)
        # DIB's rhel element on an EL GenericCloud image (Rocky, Alma, RHEL, Oracle Linux):
        # DIB_LOCAL_IMAGE, or the image directory DIB_CLOUD_IMAGES (Rocky's by default); the
        # packages from DIB_DISTRIBUTION_MIRROR (BaseOS/AppStream), Open vSwitch from the
        # CentOS NFV SIG (DIB_CLOUDBR_OVS_EL_REPO).
        DIB_CLOUD_IMAGES=${DIB_CLOUD_IMAGES:-$PLATFORM_MIRROR/$DIB_RELEASE/images/x86_64}
        export DIB_CLOUD_IMAGES
        ;;
esac

# probe VARIABLE URL: is URL (from VARIABLE) reachable? Local paths and
# file:// URLs must exist; http(s) must answer a 1-byte range request with a
# 2xx/3xx status within IMAGE_PROBE_TIMEOUT seconds.
unreachable=()
probe() {
    local var=$1 url=$2 code
    case "$url" in
        file://*) [ -e "${url#file://}" ] && return 0 ;;
        /* | ./* | ../*) [ -e "$url" ] && return 0 ;;
        http://* | https://* | ftp://*)
            code=$(curl -sS -L -o /dev/null -r 0-0 -w '%{http_code}' \
                --connect-timeout "$IMAGE_PROBE_TIMEOUT" --max-time "$((IMAGE_PROBE_TIMEOUT * 2))" \
                "$url" 2>/dev/null) || true
            case "$code" in
                2?? | 3??) return 0 ;;
            esac
            ;;
    esac
    unreachable+=("$var=${!var:-$url} ($url)")
    return 1
}

say "probing sources for $DISTRO/$BACKEND (timeout ${IMAGE_PROBE_TIMEOUT}s)"
case "$PLATFORM_DISTRO_NAME" in
    debian)
        probe DIB_DISTRIBUTION_MIRROR "$DIB_DISTRIBUTION_MIRROR/dists/$DIB_RELEASE/Release" || true
        probe DIB_DEBIAN_SECURITY_MIRROR "$DIB_DEBIAN_SECURITY_MIRROR/dists/$DIB_RELEASE-security/Release" || true
        ;;
    ubuntu)
        probe DIB_DISTRIBUTION_MIRROR "$DIB_DISTRIBUTION_MIRROR/dists/$DIB_RELEASE/Release" || true
        ;;
    centos)
        if [ -n "${DIB_LOCAL_IMAGE:-}" ]; then
            probe DIB_LOCAL_IMAGE "$DIB_LOCAL_IMAGE" || true
        else
            probe DIB_CLOUD_IMAGES "$DIB_CLOUD_IMAGES/CentOS-$DIB_RELEASE-x86_64-GenericCloud.qcow2.xz" || true
        fi
        probe DIB_DISTRIBUTION_MIRROR "$DIB_DISTRIBUTION_MIRROR/$DIB_RELEASE/os/x86_64/repodata/repomd.xml" || true
        if [ "$BACKEND" = ovs ] && [ -n "$PLATFORM_OVS_REPO_PATH" ]; then
            ovs_repo=${DIB_CLOUDBR_OVS_CENTOS7_REPO:-$DIB_DISTRIBUTION_MIRROR/$PLATFORM_OVS_REPO_PATH}
            probe DIB_CLOUDBR_OVS_CENTOS7_REPO "${ovs_repo%/}/repodata/repomd.xml" || true
        fi
        ;;
    rhel)
        if [ -n "${DIB_LOCAL_IMAGE:-}" ]; then
            probe DIB_LOCAL_IMAGE "$DIB_LOCAL_IMAGE" || true
        else
            probe DIB_CLOUD_IMAGES "$DIB_CLOUD_IMAGES/Rocky-$DIB_RELEASE-GenericCloud-Base.latest.x86_64.qcow2" || true
        fi
        for repo in BaseOS AppStream; do
            probe DIB_DISTRIBUTION_MIRROR "$DIB_DISTRIBUTION_MIRROR/$DIB_RELEASE/$repo/x86_64/os/repodata/repomd.xml" || true
        done
        if [ "$BACKEND" = ovs ]; then
            ovs_repo=${DIB_CLOUDBR_OVS_EL_REPO:-$PLATFORM_OVS_REPO}
            probe DIB_CLOUDBR_OVS_EL_REPO "${ovs_repo%/}/repodata/repomd.xml" || true
        fi
        ;;
esac
if [ ${#unreachable[@]} -gt 0 ]; then
    {
        echo "$PROG: error: cannot reach what the $DISTRO build needs:"
        for u in "${unreachable[@]}"; do echo "  $u"; done
        case "$PLATFORM_DISTRO_NAME" in
            debian)
                echo "Set DIB_DISTRIBUTION_MIRROR (and DIB_DEBIAN_SECURITY_MIRROR) to a reachable Debian mirror."
                ;;
            ubuntu)
                echo "Set DIB_DISTRIBUTION_MIRROR to a reachable Ubuntu mirror (e.g. http://mirror.example/ubuntu)."
                ;;
            centos)
                echo "Set DIB_LOCAL_IMAGE to a local CentOS-$DIB_RELEASE-x86_64-GenericCloud qcow2 (or DIB_CLOUD_IMAGES to a"
                echo "reachable directory holding CentOS-$DIB_RELEASE-x86_64-GenericCloud.qcow2.xz), and DIB_DISTRIBUTION_MIRROR"
                echo "to a reachable CentOS $DIB_RELEASE mirror or vault copy (the directory holding $DIB_RELEASE/os/x86_64)."
                ;;
            rhel)
                echo "Set DIB_DISTRIBUTION_MIRROR to a reachable EL$DIB_RELEASE mirror (the directory holding"
                echo "$DIB_RELEASE/BaseOS/x86_64/os and $DIB_RELEASE/AppStream/x86_64/os), DIB_LOCAL_IMAGE to a local EL$DIB_RELEASE"
                echo "GenericCloud qcow2 (or DIB_CLOUD_IMAGES to a directory holding Rocky's), and for ovs"
                echo "DIB_CLOUDBR_OVS_EL_REPO to a reachable CentOS NFV SIG (or RDO) Open vSwitch repository."
                ;;
        esac
    } >&2
    exit 2
fi
if [ "$PLATFORM_DISTRO_NAME" = ubuntu ]; then
    if [ -z "${DIB_APT_KEYRING:-}" ]; then
        die "no Ubuntu archive keyring: set DIB_APT_KEYRING to ubuntu-archive-keyring.gpg (Debian 12 does not ship it; copy /usr/share/keyrings/ubuntu-archive-keyring.gpg from an Ubuntu host)"
    fi
    [ -r "$DIB_APT_KEYRING" ] || die "DIB_APT_KEYRING=$DIB_APT_KEYRING is not a readable file"
fi
[ -z "${DIB_APT_KEYRING:-}" ] || [ -r "$DIB_APT_KEYRING" ] || die "DIB_APT_KEYRING=$DIB_APT_KEYRING is not a readable file"
say "sources OK"
if [ "$PLATFORM_ELEMENTS" != 1 ]; then
    # Honest stop: the elements do not install this platform's network stack yet (EL8/EL9:
    # NetworkManager keyfiles). Its installer document and the seed ISO are its carriers.
    die "$DISTRO images: the cloudbr elements do not build ${DISTRO^^} yet; install with the installer document (cloudbr render: e.g. kickstart.cfg) or boot a stock ${DISTRO^^} cloud image with the host's seed.iso"
fi
if [ "$CHECK_ONLY" = 1 ]; then
    exit 0
fi

# ---------------------------------------------------------------------------
# Host tools
# ---------------------------------------------------------------------------
if [ "$INSTALL_DEPS" = 1 ]; then
    install_host_packages || die "could not install the packages of scripts/apt-image.txt"
fi
need=(sudo qemu-img curl losetup mkfs.ext4)
case "$PLATFORM_DISTRO_NAME" in
    debian | ubuntu) need+=(debootstrap) ;;
    centos) need+=(kpartx xz) ;;
esac
[ "$IMAGE_LAYOUT" = flat ] || need+=(kpartx dmsetup sgdisk)
for tool in "${need[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null 2>&1 ||
        die "missing host tool '$tool': run $0 --install-deps (packages: scripts/apt-image.txt)"
done
sudo -n true 2>/dev/null || die "DIB needs password-less sudo (or run as root)"
# DIB maps the partitions of a partitioned image with kpartx (device-mapper).
if [ "$IMAGE_LAYOUT" = partitioned ] && [ "${IMAGE_SKIP_DM_CHECK:-0}" != 1 ] &&
    ! as_root dmsetup version >/dev/null 2>&1; then
    die "IMAGE_LAYOUT=partitioned needs the kernel's device-mapper (DIB partitions with kpartx) and this machine has none (dmsetup version fails). Build IMAGE_LAYOUT=flat here (QEMU direct kernel boot), or build partitioned images on a host with device-mapper."
fi

ensure_venv "$VENV" "$DIB_PINS" || die "could not install the pinned diskimage-builder into $VENV"
export PATH=$VENV/bin:$PATH
DIB_VERSION=$(disk-image-create --version 2>/dev/null || echo unknown)

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
export ELEMENTS_PATH=$ROOT/elements${ELEMENTS_PATH:+:$ELEMENTS_PATH}
export DIB_DEBUG_TRACE=${DIB_DEBUG_TRACE:-0}
# Reuse downloads between builds: the debootstrap/mmdebstrap result and every
# .deb (DIB bind-mounts $DIB_IMAGE_CACHE/apt/<distro> on /var/cache/apt/archives).
export DIB_IMAGE_CACHE=${DIB_IMAGE_CACHE:-$HOME/.cache/image-create}
export DIB_APT_LOCAL_CACHE=${DIB_APT_LOCAL_CACHE:-1}
export DIB_DEBOOTSTRAP_CACHE=${DIB_DEBOOTSTRAP_CACHE:-1}
export DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=${DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE:-1}
# Nothing in the image may configure interfaces by itself (see elements/).
export DIB_APT_MINIMAL_CREATE_INTERFACES=0

elements=("$BASE_ELEMENT" "cloudbr-$BACKEND" baremetal)
[ "$IMAGE_LAYOUT" = partitioned ] && elements+=(vm)
# shellcheck disable=SC2206 # a space-separated element list is intended
[ -n "$IMAGE_EXTRA_ELEMENTS" ] && elements+=($IMAGE_EXTRA_ELEMENTS)

dib_args=(-a amd64 -t qcow2 -o "$IMAGE_DIR/$IMAGE_NAME")
[ "$IMAGE_COMPRESS" = 1 ] || dib_args+=(-u)
# shellcheck disable=SC2206 # extra DIB arguments are word-split on purpose
[ -n "$IMAGE_DIB_ARGS" ] && dib_args+=($IMAGE_DIB_ARGS)

mkdir -p "$IMAGE_DIR"
out=$IMAGE_DIR/$IMAGE_NAME
log=$out.log
rm -f "$out.qcow2" "$out.vmlinuz" "$out.initrd" "$out.cmdline" "$out.json"

say "building $out.qcow2: $DISTRO/$BACKEND, layout $IMAGE_LAYOUT, diskimage-builder $DIB_VERSION"
say "elements: ${elements[*]}"
say "full log: $log"

# Progress: the DIB phases and their steps (IMAGE_VERBOSE=1: everything).
progress() {
    if [ "$IMAGE_VERBOSE" = 1 ]; then
        cat
    else
        local start=$SECONDS line
        while IFS= read -r line; do
            case "$line" in
                *"dib-run-parts Running "* | *"Running hooks from"* | *"Converting image"* | \
                    *"Image file"* | *"| cloudbr"* | *"ERROR"* | *"FAIL"*)
                    printf '[%4ds] %s\n' "$((SECONDS - start))" "${line#*| }"
                    ;;
            esac
        done
    fi
}

started=$(date +%s)
set +e
(
    printf '%s: %s\n' "$PROG" "disk-image-create ${dib_args[*]} ${elements[*]}"
    env | grep -E '^(DIB_|ELEMENTS_PATH=)' | sort | sed "s/^/$PROG: env /"
    exec disk-image-create "${dib_args[@]}" "${elements[@]}"
) 2>&1 | tee "$log" | progress
rc=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - started))

if [ "$rc" != 0 ]; then
    say "DIB failed (exit $rc) after ${elapsed}s; last lines of $log:"
    tail -n 40 "$log" >&2
    exit "$rc"
fi
for f in "$out.qcow2" "$out.vmlinuz" "$out.initrd"; do
    [ -s "$f" ] || die "DIB succeeded but $f is missing"
done

# Direct kernel boot command line (the partitioned image boots with GRUB,
# which DIB configured with the same console and root label).
cmdline="root=LABEL=$DIB_ROOT_LABEL ro console=tty0 console=ttyS0,115200"
[ "${DIB_CLOUDBR_ETHN_NAMES:-1}" = 1 ] && cmdline="$cmdline net.ifnames=0 biosdevname=0"
# An OVS image whose platform purges netplan (Ubuntu 18.04), as its preseed says too.
[ "$BACKEND" = ovs ] && [ -n "$PLATFORM_OVS_PURGE" ] && cmdline="$cmdline netcfg/do_not_use_netplan=true"
echo "$cmdline" >"$out.cmdline"

cat >"$out.json" <<EOF
{
  "distro": "$DISTRO",
  "backend": "$BACKEND",
  "layout": "$IMAGE_LAYOUT",
  "image": "$IMAGE_NAME.qcow2",
  "kernel": "$IMAGE_NAME.vmlinuz",
  "initrd": "$IMAGE_NAME.initrd",
  "cmdline": "$cmdline",
  "root_label": "$DIB_ROOT_LABEL",
  "elements": "${elements[*]}",
  "diskimage_builder": "$DIB_VERSION",
  "build_seconds": $elapsed,
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
say "done in ${elapsed}s: $out.qcow2 ($(du -h "$out.qcow2" | cut -f1)), $out.vmlinuz, $out.initrd"
say "direct boot: -kernel $out.vmlinuz -initrd $out.initrd -append '$cmdline'"
exit 0
}
