"""Issue 12 item 4: one real unattended Debian 12 install by debian-installer, booted."""
