#!/bin/bash
# Extra check for OVS guests: the first-boot service succeeded at boot, `--check` finds no
# drift, and running the script again changes nothing in the OVS configuration.
set -u
unit=cloudbr-ovs-firstboot.service
script=/usr/local/sbin/cloudbr-ovs-firstboot
fail=0
say() { printf '%s\n' "$*"; }

# Configuration columns only: vswitchd keeps updating statistics and status columns.
ovs_config() {
    ovs-vsctl --timeout=20 --format=csv --columns=_uuid,name,ports,fail_mode,other_config,external_ids list Bridge
    ovs-vsctl --timeout=20 --format=csv --columns=_uuid,name,interfaces,tag,trunks,bond_mode,lacp,bond_updelay,bond_downdelay,other_config,external_ids list Port
    ovs-vsctl --timeout=20 --format=csv --columns=_uuid,name,type,options,external_ids list Interface
}

result=$(systemctl show -p Result --value "$unit")
status=$(systemctl show -p ExecMainStatus --value "$unit")
say "boot run: Result=$result ExecMainStatus=$status"
if [ "$result" != success ] || [ "$status" != 0 ]; then
    fail=1
    journalctl -b -u "$unit" --no-pager | tail -n 30
fi
if systemctl is-failed --quiet networking.service; then
    say "networking.service failed"
    fail=1
fi

before=$(ovs_config | sort)
if ! "$script" --check; then
    say "--check reported drift after boot"
    fail=1
fi
if ! "$script"; then
    say "re-run failed"
    fail=1
fi
after=$(ovs_config | sort)
if [ "$before" != "$after" ]; then
    say "re-run changed the OVS configuration:"
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -n 40
    fail=1
else
    say "re-run: OVS configuration unchanged ($(printf '%s\n' "$after" | wc -l) rows)"
fi
exit "$fail"
