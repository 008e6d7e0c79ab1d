"""The harness's own scenarios, on hand-written fixtures (tests/e2e/fixtures/harness-*).

They prove the harness, not cloudbr: scenarios on `cloudbr render` output are built the
same way, with `HostCase(rootfs=OUT/<host>/rootfs)` or `HostCase(seed_iso=OUT/<host>/seed.iso)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import HostCase, Scenario

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def lb_expect(octet: int) -> dict[str, Any]:
    """Expectations for the linux-bridge topology of the seed post, host 192.168.100.<octet>."""
    return {
        "addresses": {
            "cloudbr0": [f"192.168.100.{octet}/24"],
            "cloudbr100": [f"10.0.100.{octet}/24"],
        },
        "absent": [],
        "default_route": {"via": "192.168.100.1", "dev": "cloudbr0"},
        "links_up": ["bond0", "bond1", "cloudbr0", "cloudbr1", "cloudbr100"],
        "bonds": {
            "bond0": {"mode": "active-backup", "miimon": 100, "slaves": ["eth0", "eth1"]},
            "bond1": {"mode": "active-backup", "miimon": 100, "slaves": ["eth2", "eth3"]},
        },
        "bridges": {
            "cloudbr0": {"ports": ["bond0"]},
            "cloudbr1": {"ports": ["bond1"]},
            "cloudbr100": {"ports": ["bond0.100"]},
        },
        "vlans": {"bond0.100": {"id": 100, "link": "bond0"}},
    }


def ovs_expect(octet: int) -> dict[str, Any]:
    """Expectations for the OVS topology: bonds inside OVS, cloudbr100 a fake VLAN bridge."""
    bond = {"bond_mode": "active-backup", "miimon": 100}
    return {
        "addresses": {
            "cloudbr0": [f"192.168.100.{octet}/24"],
            "cloudbr100": [f"10.0.100.{octet}/24"],
        },
        "default_route": {"via": "192.168.100.1", "dev": "cloudbr0"},
        "ovs_bridges": ["cloudbr0", "cloudbr1", "cloudbr100"],
        "ovs_fake_bridges": {"cloudbr100": {"parent": "cloudbr0", "vlan": 100}},
        "ovs_bonds": {
            "bond0": {**bond, "members": ["eth0", "eth1"]},
            "bond1": {**bond, "members": ["eth2", "eth3"]},
        },
    }


def _host(letter: str, octet: int, peer: int | None = None) -> HostCase:
    expect = lb_expect(octet)
    expect["bonds"]["bond0"]["active"] = "eth0"
    if peer is not None:
        expect["ping"] = [
            {"dst": f"192.168.100.{peer}", "timeout_s": 120},
            {"dst": f"10.0.100.{peer}", "timeout_s": 60},
        ]
    return HostCase(
        name=f"harness-{letter}",
        rootfs=FIXTURES / f"harness-lb-ifupdown-{letter}" / "rootfs",
        expect=expect,
    )


def harness_scenarios() -> list[Scenario]:
    single = Scenario("harness-lb-single", [_host("a", 20)])
    pair = Scenario("harness-lb-pair-ping", [_host("a", 20, peer=21), _host("b", 21, peer=20)])
    fo_a = _host("a", 20, peer=21)
    fo_a.failover = {"dst": "192.168.100.21", "bond": "bond0", "interval": 0.01, "duration_s": 6}
    failover = Scenario("harness-lb-failover", [fo_a, _host("b", 21)])
    cycle = Scenario("harness-lb-power-cycle", [_host("a", 20)], power_cycles=1)
    netplan = Scenario(
        "harness-lb-netplan",
        [
            HostCase(
                "harness-np", rootfs=FIXTURES / "harness-lb-netplan-a/rootfs", expect=lb_expect(20)
            )
        ],
    )
    cloud_init = Scenario(
        "harness-lb-cloud-init",
        [
            HostCase(
                "harness-ci",
                seed_dir=FIXTURES / "harness-lb-cloudinit-a/seed",
                expect=lb_expect(20),
                options={"wait_cloud_init": True},
            )
        ],
    )
    ovs = HostCase(
        "harness-ovs",
        rootfs=FIXTURES / "harness-ovs-script-a/rootfs",
        expect={
            **ovs_expect(20),
            "ping": [
                {"dst": "192.168.100.21", "timeout_s": 120},
                {"dst": "10.0.100.21", "timeout_s": 60},
            ],
        },
        failover={"dst": "192.168.100.21", "bond": "bond0", "ovs": True, "duration_s": 6},
    )
    ovs_failover = Scenario("harness-ovs-failover", [ovs, _host("b", 21)])
    return [single, pair, failover, cycle, netplan, cloud_init, ovs_failover]
