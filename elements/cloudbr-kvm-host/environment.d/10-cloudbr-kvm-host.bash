# cloudbr-kvm-host defaults (sourced by diskimage-builder; see README.rst).

# Network ownership: the image must carry no interface configuration of its
# own. DIB's debootstrap element writes "auto eth0"/"auto eth1" DHCP stanzas
# unless this is 0, and yum-minimal writes ifcfg-eth0/1 unless this is 0.
# finalise.d/90-cloudbr-network-ownership fails the build if either leaks.
export DIB_APT_MINIMAL_CREATE_INTERFACES=${DIB_APT_MINIMAL_CREATE_INTERFACES:-0}
export DIB_YUM_MINIMAL_CREATE_INTERFACES=${DIB_YUM_MINIMAL_CREATE_INTERFACES:-0}

# 1: legacy ethN interface names (net.ifnames=0 biosdevname=0 on the kernel
# command line written to GRUB); 0: keep the distribution's naming.
export DIB_CLOUDBR_ETHN_NAMES=${DIB_CLOUDBR_ETHN_NAMES:-1}

# 1: install the hypervisor packages (qemu-kvm, libvirt); 0: networking only.
export DIB_CLOUDBR_HYPERVISOR=${DIB_CLOUDBR_HYPERVISOR:-1}
