# Generated from cloudbr's platform registry (src/cloudbr/platforms.py) by `make platforms`: do not edit.
# The cloudbr platform of the image: DIB_CLOUDBR_PLATFORM (scripts/build-image.sh sets it),
# else the one of DIB's distribution and release. Its facts, for the element scripts:
#   CLOUDBR_KERNEL_ARGS          grub-dropin (/etc/default/grub.d) or bootloader
#                                (GRUB_CMDLINE_LINUX in /etc/default/grub)
#   CLOUDBR_CLOUD_INIT_RENDERER  what renders the seed's network-config (linux bridge)
#   CLOUDBR_SERVICES_ENABLE, _DISABLE, _MASK  what every image enables, disables, masks
#   CLOUDBR_OVS_UNITS            what an Open vSwitch image enables
#   CLOUDBR_OVS_PURGE            what an Open vSwitch image removes
#   CLOUDBR_OVS_REPO_PATH        Open vSwitch's repository below the distribution mirror
#                                ("": the distribution's own)
if [ -z "${DIB_CLOUDBR_PLATFORM:-}" ]; then
    case "${DISTRO_NAME:-}/${DIB_RELEASE:-}" in
        centos/7) DIB_CLOUDBR_PLATFORM=centos7 ;;
        ubuntu/bionic) DIB_CLOUDBR_PLATFORM=ubuntu1804 ;;
        debian/bookworm) DIB_CLOUDBR_PLATFORM=debian12 ;;
    esac
fi
export DIB_CLOUDBR_PLATFORM=${DIB_CLOUDBR_PLATFORM:-}
case "${DIB_CLOUDBR_PLATFORM}" in
    centos7)
        export CLOUDBR_KERNEL_ARGS=bootloader
        export CLOUDBR_CLOUD_INIT_RENDERER=sysconfig
        export CLOUDBR_SERVICES_ENABLE=network.service
        export CLOUDBR_SERVICES_DISABLE=NetworkManager.service
        export CLOUDBR_SERVICES_MASK=NetworkManager-wait-online.service
        export CLOUDBR_OVS_UNITS=openvswitch.service
        export CLOUDBR_OVS_PURGE=''
        export CLOUDBR_OVS_REPO_PATH=7/cloud/x86_64/openstack-train/
        ;;
    ubuntu1804)
        export CLOUDBR_KERNEL_ARGS=grub-dropin
        export CLOUDBR_CLOUD_INIT_RENDERER=netplan
        export CLOUDBR_SERVICES_ENABLE=''
        export CLOUDBR_SERVICES_DISABLE=''
        export CLOUDBR_SERVICES_MASK=''
        export CLOUDBR_OVS_UNITS='openvswitch-switch.service networking.service'
        export CLOUDBR_OVS_PURGE=netplan.io
        export CLOUDBR_OVS_REPO_PATH=''
        ;;
    debian12)
        export CLOUDBR_KERNEL_ARGS=grub-dropin
        export CLOUDBR_CLOUD_INIT_RENDERER=netplan
        export CLOUDBR_SERVICES_ENABLE=''
        export CLOUDBR_SERVICES_DISABLE=''
        export CLOUDBR_SERVICES_MASK=''
        export CLOUDBR_OVS_UNITS='openvswitch-switch.service networking.service'
        export CLOUDBR_OVS_PURGE=''
        export CLOUDBR_OVS_REPO_PATH=''
        ;;
    *)
        echo "cloudbr: no cloudbr platform for DISTRO_NAME=${DISTRO_NAME:-} DIB_RELEASE=${DIB_RELEASE:-} (cloudbr platforms lists them)" >&2
        ;;
esac
