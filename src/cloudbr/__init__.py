"""cloudbr: first-boot networking for Apache CloudStack KVM hosts."""

__version__ = "0.1.0"
