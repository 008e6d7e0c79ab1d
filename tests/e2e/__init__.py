"""Booted-guest e2e harness for cloudbr (QEMU/TCG + vde_switch); see README.md."""
