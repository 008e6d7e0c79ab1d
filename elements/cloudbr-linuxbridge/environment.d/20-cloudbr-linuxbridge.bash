# cloudbr-linuxbridge defaults (sourced by diskimage-builder; see README.rst).

# cloud-init network renderer for the seed's network-config (v2). Empty means
# the distribution default chosen by install.d/60-cloudbr-linuxbridge:
# netplan on Debian/Ubuntu, sysconfig on CentOS.
export DIB_CLOUDBR_NETWORK_RENDERER=${DIB_CLOUDBR_NETWORK_RENDERER:-}
