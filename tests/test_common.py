"""Files every host gets: identity, kernel settings, agent settings (and the agent merge)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cloudbr.inventory import load_inventory
from cloudbr.model import Host
from cloudbr.render import common
from tests.conftest import EXAMPLES

# What the cloudstack-agent package ships and cloudstack-setup-agent adds (abridged, real keys).
PACKAGE_PROPERTIES = """\
# Sample configuration file for CloudStack agent
#resource=com.cloud.agent.resource.DummyResource
resource=com.cloud.hypervisor.kvm.resource.LibvirtComputingResource
workers=5
host=192.168.100.10
port=8250
cluster=1
pod=1
zone=1
guid=2f0c0e52-0000-4000-8000-000000000001
#network.bridge.type=native
network.bridge.type=native
private.network.device=cloudbr9
hypervisor.type=kvm
"""


def host(example: str, name: str | None = None) -> Host:
    inv = load_inventory(EXAMPLES / example)
    return inv.host(name) if name else inv.hosts[0]


def lay_down(root: Path, h: Host) -> None:
    for path, f in common.render(h).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
        target.chmod(f.mode)


def merge(root: Path) -> subprocess.CompletedProcess[str]:
    script = root / common.AGENT_MERGE.lstrip("/")
    return subprocess.run(
        ["sh", str(script)],
        env={"CLOUDBR_ROOT": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def props(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_merge_keeps_package_keys_and_sets_ours(tmp_path: Path) -> None:
    lay_down(tmp_path, host("seed-centos7-ovs.yaml"))
    agent = tmp_path / "etc/cloudstack/agent/agent.properties"
    agent.parent.mkdir(parents=True)
    agent.write_text(PACKAGE_PROPERTIES)
    assert merge(tmp_path).returncode == 0
    assert props(agent) == [
        "resource=com.cloud.hypervisor.kvm.resource.LibvirtComputingResource",
        "workers=5",
        "host=192.168.100.10",
        "port=8250",
        "cluster=1",
        "pod=1",
        "zone=1",
        "guid=2f0c0e52-0000-4000-8000-000000000001",
        "network.bridge.type=openvswitch",
        "private.network.device=cloudbr0",
        "hypervisor.type=kvm",
        "libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.OvsVifDriver",
        "guest.network.device=cloudbr0",
        "public.network.device=cloudbr1",
    ]
    assert "#network.bridge.type=native" in agent.read_text()  # comments stay
    once = agent.read_bytes()
    assert merge(tmp_path).returncode == 0
    assert agent.read_bytes() == once  # idempotent
    assert oct(agent.stat().st_mode & 0o777) == "0o644"


def test_merge_creates_the_file_when_the_agent_is_not_installed_yet(tmp_path: Path) -> None:
    lay_down(tmp_path, host("seed-ubuntu1804-bridge.yaml"))
    assert merge(tmp_path).returncode == 0
    assert props(tmp_path / "etc/cloudstack/agent/agent.properties") == [
        "network.bridge.type=native",
        "libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.BridgeVifDriver",
        "private.network.device=cloudbr0",
        "guest.network.device=cloudbr0",
        "public.network.device=cloudbr1",
    ]


def test_merge_script_passes_shellcheck() -> None:
    res = subprocess.run(
        ["shellcheck", "-s", "sh", "-"],
        input=common.MERGE_SCRIPT,
        text=True,
        capture_output=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout


def test_agent_dropin_runs_the_merge_before_each_start() -> None:
    files = common.render(host("seed-centos7-bridge.yaml"))
    dropin = files[common.AGENT_DROPIN_PATH].content.decode()
    assert f"ExecStartPre={common.AGENT_MERGE}\n" in dropin
    assert "[Service]\n" in dropin
    assert files[common.AGENT_MERGE].mode == 0o755


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        (
            "seed-centos7-bridge.yaml",
            [
                "net.ipv6.conf.all.disable_ipv6 = 1",
                "net.ipv6.conf.default.disable_ipv6 = 1",
                "net.ipv6.conf.lo.disable_ipv6 = 1",
                "net.bridge.bridge-nf-call-iptables = 0",
                "net.bridge.bridge-nf-call-ip6tables = 0",
                "net.bridge.bridge-nf-call-arptables = 0",
            ],
        ),
        # OVS hosts have no linux bridge module (blacklisted), so no bridge sysctl keys: the
        # post's advice would make systemd-sysctl fail on every boot.
        (
            "seed-ubuntu1804-ovs.yaml",
            [
                "net.ipv6.conf.all.disable_ipv6 = 1",
                "net.ipv6.conf.default.disable_ipv6 = 1",
                "net.ipv6.conf.lo.disable_ipv6 = 1",
            ],
        ),
    ],
)
def test_sysctl(example: str, expected: list[str]) -> None:
    text = common.render(host(example))[common.SYSCTL].content.decode()
    assert [x for x in text.splitlines() if x and not x.startswith("#")] == expected


def test_modules_load_br_netfilter_for_linux_bridge_and_nothing_bridge_for_ovs() -> None:
    br = common.render(host("seed-centos7-bridge.yaml"))[common.MODULES].content.decode()
    assert [m for m in br.splitlines() if not m.startswith("#")] == [
        "bonding",
        "8021q",
        "bridge",
        "br_netfilter",
    ]
    ovs = common.render(host("seed-centos7-ovs.yaml"))
    assert "bridge" not in ovs[common.MODULES].content.decode().split()
    assert ovs[common.BRIDGE_BLACKLIST].content.decode().endswith("install bridge /bin/false\n")


def test_blacklist_can_be_turned_off(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        (EXAMPLES / "seed-centos7-ovs.yaml")
        .read_text()
        .replace("  ipv6: false\n", "  ipv6: false\n  blacklist_bridge_module: false\n")
    )
    files = common.render(load_inventory(inv).hosts[0])
    assert common.BRIDGE_BLACKLIST not in files


def test_hosts_and_hostname() -> None:
    files = common.render(host("seed-ubuntu1804-bridge.yaml"))
    assert files["/etc/hostname"].content == b"kvmhost1\n"
    hosts = files["/etc/hosts"].content.decode().splitlines()
    assert "192.168.100.20\tkvmhost1.mylab.local kvmhost1" in hosts
    assert "127.0.0.1\tlocalhost localhost.localdomain" in hosts
    assert not any(line.startswith("::1") for line in hosts)  # IPv6 is off for this host
