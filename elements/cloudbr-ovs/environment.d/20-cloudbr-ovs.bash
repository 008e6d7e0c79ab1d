# cloudbr-ovs defaults (sourced by diskimage-builder; see README.rst).

# "install bridge /bin/false" in modprobe.d keeps the Linux bridge module out
# of an OVS host, but the CloudStack agent's installation needs that module:
# auto = apply it only if the cloudstack-agent package is in the image;
# 1 = always; 0 = never.
export DIB_CLOUDBR_OVS_BLACKLIST_BRIDGE=${DIB_CLOUDBR_OVS_BLACKLIST_BRIDGE:-auto}

# CentOS 7 has no Open vSwitch in its base repositories: yum repository that
# provides the "openvswitch" package. Empty = RDO Train on the CentOS vault
# under DIB_DISTRIBUTION_MIRROR (CentOS 7 is end-of-life).
export DIB_CLOUDBR_OVS_CENTOS7_REPO=${DIB_CLOUDBR_OVS_CENTOS7_REPO:-}
# GPG key URL for that repository; empty disables the GPG check for it.
export DIB_CLOUDBR_OVS_CENTOS7_GPGKEY=${DIB_CLOUDBR_OVS_CENTOS7_GPGKEY:-}
