# shellcheck shell=bash disable=SC2034
# Generated from cloudbr's platform registry (src/cloudbr/platforms.py) by `make platforms`: do not edit.
# Sourced by scripts/build-image.sh: the platforms it builds and their DIB settings.
IMAGE_PLATFORMS='centos7 ubuntu1804 debian12'

# image_platform ID: set PLATFORM_* for platform ID; fails if it has no image build.
image_platform() {
    case "$1" in
        centos7)
            PLATFORM_ELEMENT=centos
            PLATFORM_DISTRO_NAME=centos
            PLATFORM_RELEASE=7
            PLATFORM_MIRROR=http://vault.centos.org/centos
            PLATFORM_DIB_PINS='diskimage-builder==3.33.0 flake8==6.1.0 pycodestyle==2.11.1 pyflakes==3.1.0'
            PLATFORM_OVS_REPO_PATH=7/cloud/x86_64/openstack-train/
            PLATFORM_OVS_PURGE=''
            ;;
        ubuntu1804)
            PLATFORM_ELEMENT=ubuntu-minimal
            PLATFORM_DISTRO_NAME=ubuntu
            PLATFORM_RELEASE=bionic
            PLATFORM_MIRROR=http://archive.ubuntu.com/ubuntu
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_PURGE=netplan.io
            ;;
        debian12)
            PLATFORM_ELEMENT=debian-minimal
            PLATFORM_DISTRO_NAME=debian
            PLATFORM_RELEASE=bookworm
            PLATFORM_MIRROR=http://deb.debian.org/debian
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_PURGE=''
            ;;
        *) return 1 ;;
    esac
}
