# shellcheck shell=bash disable=SC2034
# Generated from cloudbr's platform registry (src/cloudbr/platforms.py) by `make platforms`: do not edit.
# Sourced by scripts/build-image.sh: the platforms it builds and their DIB settings.
IMAGE_PLATFORMS='centos7 el8 el9 ubuntu1804 debian12'

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
            PLATFORM_OVS_REPO=https://vault.centos.org/7.9.2009/cloud/x86_64/openstack-train/
            PLATFORM_OVS_PURGE=''
            PLATFORM_ELEMENTS=1
            ;;
        el8)
            PLATFORM_ELEMENT=rhel
            PLATFORM_DISTRO_NAME=rhel
            PLATFORM_RELEASE=8
            PLATFORM_MIRROR=https://dl.rockylinux.org/pub/rocky
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_REPO=https://mirror.stream.centos.org/SIGs/8-stream/nfv/x86_64/openvswitch-2/
            PLATFORM_OVS_PURGE=''
            PLATFORM_ELEMENTS=0
            ;;
        el9)
            PLATFORM_ELEMENT=rhel
            PLATFORM_DISTRO_NAME=rhel
            PLATFORM_RELEASE=9
            PLATFORM_MIRROR=https://dl.rockylinux.org/pub/rocky
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_REPO=https://mirror.stream.centos.org/SIGs/9-stream/nfv/x86_64/openvswitch-2/
            PLATFORM_OVS_PURGE=''
            PLATFORM_ELEMENTS=0
            ;;
        ubuntu1804)
            PLATFORM_ELEMENT=ubuntu-minimal
            PLATFORM_DISTRO_NAME=ubuntu
            PLATFORM_RELEASE=bionic
            PLATFORM_MIRROR=http://archive.ubuntu.com/ubuntu
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_REPO=''
            PLATFORM_OVS_PURGE=netplan.io
            PLATFORM_ELEMENTS=1
            ;;
        debian12)
            PLATFORM_ELEMENT=debian-minimal
            PLATFORM_DISTRO_NAME=debian
            PLATFORM_RELEASE=bookworm
            PLATFORM_MIRROR=http://deb.debian.org/debian
            PLATFORM_DIB_PINS=''
            PLATFORM_OVS_REPO_PATH=''
            PLATFORM_OVS_REPO=''
            PLATFORM_OVS_PURGE=''
            PLATFORM_ELEMENTS=1
            ;;
        *) return 1 ;;
    esac
}
