"""cloudbr-verify, the on-host program: what it ships as, what it reads, what it reports.

A booted host is modelled as a fake root (sysfs, /proc/net/vlan, resolv.conf, the agent's
file as the real merge script writes it) plus canned `ip -json` output in iproute2's format,
written out literally for the reference topology (not derived from the plan). Open vSwitch
state comes from a private ovsdb-server after the real first-boot script built it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cloudbr.inventory import load_inventory
from cloudbr.model import Host
from cloudbr.render import common, rootfs
from cloudbr.render import verify as verify_render
from cloudbr.verify import onhost
from tests.conftest import EXAMPLES, REPO
from tests.support.ovsdb import OvsDb
from tests.test_ovs_firstboot import make_sandbox

E2E = load_inventory(REPO / "tests" / "e2e" / "inventory.yaml")
LB = E2E.host("e2e-lb-a")  # 192.168.100.34, storage 10.0.100.34 on VLAN 100
OVS = E2E.host("e2e-ovs-a")
PROGRAM = Path(onhost.__file__)


# -- what ships ------------------------------------------------------------------------------
def test_every_tree_ships_the_module_bytes_and_its_plan() -> None:
    for inv in (load_inventory(p) for p in sorted(EXAMPLES.glob("*.yaml"))):
        for host in inv.hosts:
            tree = rootfs(host)
            prog = tree[verify_render.PROGRAM_PATH]
            assert prog.content == PROGRAM.read_bytes()
            assert prog.mode == 0o755
            assert prog.content.startswith(b"#!/usr/bin/env python3\n")
            assert json.loads(tree[verify_render.PLAN_PATH].content) == verify_render.plan(host)


def vermin(path: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations", "-t=3.6-"]
    return subprocess.run([*argv, str(path)], capture_output=True, text=True)


def test_program_needs_nothing_newer_than_python_36(tmp_path: Path) -> None:
    """vermin (static minimum-version analysis) over the shipped file, and the parser in
    3.6 grammar mode (walrus, positional-only parameters, ... are syntax errors there)."""
    out = vermin(PROGRAM)
    assert out.returncode == 0, out.stdout + out.stderr
    newer = tmp_path / "newer.py"  # the check can fail: 3.7's capture_output, 3.9's removeprefix
    newer.write_text(
        "import subprocess\nsubprocess.run(['x'], capture_output=True)\n'a'.removeprefix('a')\n"
    )
    assert vermin(newer).returncode != 0
    ast.parse(PROGRAM.read_text(), feature_version=(3, 6))
    with pytest.raises(SyntaxError):  # the grammar check can fail
        ast.parse("if (x := 1): pass", feature_version=(3, 6))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(PROGRAM.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


# -- a booted linux-bridge host, written out by hand -----------------------------------------
def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def booted_lb(root: Path, host: Host) -> None:
    """e2e-lb-a as ifupdown leaves it: bonds, bridges, VLAN 100, the agent file merged."""
    net = "sys/class/net"
    for nic in ("eth0", "eth1", "eth2", "eth3"):
        _write(root, f"{net}/{nic}/mtu", "1500\n")
    for bond, members in (("bond0", "eth0 eth1"), ("bond1", "eth2 eth3")):
        _write(root, f"{net}/{bond}/mtu", "1500\n")
        _write(root, f"{net}/{bond}/bonding/mode", "active-backup 1\n")
        _write(root, f"{net}/{bond}/bonding/miimon", "100\n")
        _write(root, f"{net}/{bond}/bonding/slaves", members + "\n")
        _write(root, f"{net}/{bond}/bonding/active_slave", members.split()[0] + "\n")
        for m in members.split():
            os.symlink(f"../{bond}", root / net / m / "master")
    _write(root, f"{net}/bond0.100/mtu", "1500\n")
    for br, port in (("cloudbr0", "bond0"), ("cloudbr1", "bond1"), ("cloudbr100", "bond0.100")):
        _write(root, f"{net}/{br}/mtu", "1500\n")
        (root / net / br / "bridge").mkdir()
        (root / net / br / "brif").mkdir()
        os.symlink(f"../../{port}", root / net / br / "brif" / port)
        os.symlink(f"../{br}", root / net / port / "master")
    _write(root, f"{net}/lo/mtu", "65536\n")
    _write(
        root,
        "proc/net/vlan/config",
        "VLAN Dev name    | VLAN ID\nName-Type: VLAN_NAME_TYPE_RAW_PLUS_VID_NO_PAD\n"
        "bond0.100      | 100  | bond0\n",
    )
    _write(root, "etc/resolv.conf", "search e2e.test\nnameserver 192.168.100.5\n")
    # The agent's file as the real merge script leaves it next to the package's own keys.
    _write(root, "etc/cloudstack/agent/agent.properties", "resource=x\nhost=10.0.0.1\n")
    _write(root, "etc/cloudbr/agent.properties", common.agent_properties(host).content.decode())
    merge = subprocess.run(
        ["sh", "-c", common.MERGE_SCRIPT], env={**os.environ, "CLOUDBR_ROOT": str(root)}
    )
    assert merge.returncode == 0


def ip_addr(addrs: dict[str, list[str]]) -> str:
    links = [
        {
            "ifindex": i,
            "ifname": dev,
            "addr_info": [
                {"family": "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1]),
                 "scope": "global"}
                for a in cidrs
            ]
            + [{"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}],
        }
        for i, (dev, cidrs) in enumerate(addrs.items(), 1)
    ]  # fmt: skip
    return json.dumps(links)


class FakeIp:
    """`ip -json addr/route`, as iproute2 prints them; `fail_json` models an old iproute2."""

    def __init__(self, addrs: dict[str, list[str]], gw: str, dev: str) -> None:
        self.addrs, self.gw, self.dev = addrs, gw, dev
        self.fail_json = False
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> str:
        self.calls.append(argv)
        if self.fail_json and "-json" in argv:
            raise onhost.StateError('Option "-json" is unknown, try "ip -help".')
        if argv[:3] == ["ip", "-json", "addr"]:
            return ip_addr(self.addrs)
        if argv == ["ip", "-o", "addr", "show"]:
            return "".join(
                f"{i}: {dev}    inet {a} brd 0.0.0.0 scope global {dev}\\       valid_lft forever\n"
                for i, (dev, cidrs) in enumerate(self.addrs.items(), 1)
                for a in cidrs
            )
        if argv == ["ip", "-json", "-4", "route", "show", "default"]:
            return json.dumps([{"dst": "default", "gateway": self.gw, "dev": self.dev}])
        if argv == ["ip", "-4", "route", "show", "default"]:
            return f"default via {self.gw} dev {self.dev} onlink\n"
        if argv[-3:] == ["route", "show", "default"]:
            return "[]" if "-json" in argv else ""
        raise AssertionError(argv)


def lb_ip() -> FakeIp:
    addrs = {"lo": [], "cloudbr0": ["192.168.100.34/24"], "cloudbr100": ["10.0.100.34/24"]}
    return FakeIp(addrs, "192.168.100.1", "cloudbr0")


def source(root: Path) -> onhost.Source:
    return onhost.Source(str(root), lb_ip())


@pytest.fixture
def lb_root(tmp_path: Path) -> Path:
    booted_lb(tmp_path, LB)
    return tmp_path


def drift_of(root: Path, ip: FakeIp, host: Host = LB) -> list[tuple[str, str]]:
    state = onhost.read_state(onhost.Source(str(root), ip), ovs=False)
    return [(d["subject"], d["what"]) for d in onhost.compare(verify_render.plan(host), state)]


def test_booted_host_as_planned_has_no_drift(lb_root: Path) -> None:
    assert drift_of(lb_root, lb_ip()) == []


def test_old_iproute2_without_json_reads_the_same(lb_root: Path) -> None:
    ip = lb_ip()
    ip.fail_json = True
    assert drift_of(lb_root, ip) == []
    assert ["ip", "-o", "addr", "show"] in ip.calls


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("member", [("bond1", "members")]),
        ("mode", [("bond0", "mode")]),
        ("miimon", [("bond0", "miimon")]),
        ("active", [("bond0", "active member")]),
        ("port", [("cloudbr1", "ports")]),
        ("vlan", [("bond0.100", "id")]),
        ("extra-bond", [("bond9", "bond")]),
        ("dns", [("resolver", "dns servers")]),
        ("agent", [(onhost.AGENT, "public.network.device")]),
        ("no-agent", [(onhost.AGENT, "file")]),
        ("no-bridge", [("cloudbr100", "bridge")]),
    ],
)
def test_each_change_is_named_alone(lb_root: Path, change: str, expected: list[Any]) -> None:
    net = lb_root / "sys/class/net"
    edits = {
        "member": lambda: (net / "bond1/bonding/slaves").write_text("eth2\n"),
        "mode": lambda: (net / "bond0/bonding/mode").write_text("balance-rr 0\n"),
        "miimon": lambda: (net / "bond0/bonding/miimon").write_text("0\n"),
        "active": lambda: (net / "bond0/bonding/active_slave").write_text("\n"),
        "port": lambda: (net / "cloudbr1/brif/bond1").unlink(),
        "vlan": lambda: _write(
            lb_root, "proc/net/vlan/config", "h\nh\nbond0.100      | 200  | bond0\n"
        ),
        "extra-bond": lambda: _write(lb_root, "sys/class/net/bond9/bonding/mode", "802.3ad 4\n"),
        "dns": lambda: (lb_root / "etc/resolv.conf").write_text("nameserver 192.168.100.9\n"),
        "agent": lambda: (lb_root / "etc/cloudstack/agent/agent.properties").write_text(
            (lb_root / "etc/cloudstack/agent/agent.properties")
            .read_text()
            .replace("public.network.device=cloudbr1", "public.network.device=cloudbr0")
        ),
        "no-agent": lambda: (lb_root / "etc/cloudstack/agent/agent.properties").unlink(),
        "no-bridge": lambda: os.rename(net / "cloudbr100", lb_root / "gone"),
    }
    edits[change]()
    assert drift_of(lb_root, lb_ip()) == expected


def test_mtu_is_checked_where_the_plan_sets_one(lb_root: Path) -> None:
    jumbo = replace(
        LB, nics=tuple(replace(n, mtu=9000) if n.name == "eth2" else n for n in LB.nics)
    )
    assert drift_of(lb_root, lb_ip(), jumbo) == [("eth2", "mtu")]
    (lb_root / "sys/class/net/eth2/mtu").write_text("9000\n")
    assert drift_of(lb_root, lb_ip(), jumbo) == []
    assert drift_of(lb_root, lb_ip()) == []  # the plan without an MTU takes any


def test_address_and_route_changes_are_named(lb_root: Path) -> None:
    ip = lb_ip()
    ip.addrs["cloudbr100"] = ["10.0.100.134/24"]
    ip.gw = "192.168.100.254"
    assert drift_of(lb_root, ip) == [("cloudbr100", "addresses"), ("default route", "IPv4")]
    ip = lb_ip()
    ip.addrs["bond0"] = ["192.0.2.7/24"]  # an address where the plan has none
    assert drift_of(lb_root, ip) == [("bond0", "addresses")]


def test_cloudstack_runtime_devices_are_not_drift(lb_root: Path) -> None:
    net = lb_root / "sys/class/net"
    for dev in ("cloud0", "brbond0-200", "vnet3"):
        _write(lb_root, f"sys/class/net/{dev}/mtu", "1500\n")
    (net / "cloud0/bridge").mkdir()
    (net / "brbond0-200/bridge").mkdir()
    (net / "cloudbr0/brif/vnet3").symlink_to("../../vnet3")
    assert drift_of(lb_root, lb_ip()) == []


def test_resolver_behind_systemd_resolved_stub(lb_root: Path) -> None:
    (lb_root / "etc/resolv.conf").write_text("nameserver 127.0.0.53\noptions edns0\n")

    def runner(argv: list[str]) -> str:
        if argv == ["resolvectl", "dns"]:
            return "Global:\nLink 2 (eth0):\nLink 7 (cloudbr0): 192.168.100.5\n"
        return lb_ip()(argv)

    assert onhost.read_dns(onhost.Source(str(lb_root), runner)) == ["192.168.100.5"]

    def bionic(argv: list[str]) -> str:  # Ubuntu 18.04: no resolvectl yet
        if argv[0] == "resolvectl":
            raise onhost.StateError("resolvectl: not found")
        return (
            "Link 7 (cloudbr0)\n      Current Scopes: DNS\n         DNS Servers: 192.168.100.5\n"
            "                      192.168.100.6\n          DNS Domain: mycloud.local\n"
        )

    assert onhost.read_dns(onhost.Source(str(lb_root), bionic)) == [
        "192.168.100.5",
        "192.168.100.6",
    ]


# -- Open vSwitch: the real first-boot script, a private ovsdb-server ------------------------
def ovs_drift(db: OvsDb, host: Host) -> list[tuple[str, str]]:
    def runner(argv: list[str]) -> str:
        assert argv[0] == "ovs-vsctl"
        return db.vsctl(*argv[1:])

    state = onhost.read_ovs(onhost.Source("/", runner))
    plan = verify_render.plan(host)
    drift = onhost.compare_devices("bond", plan["bonds"], state["bonds"])
    drift += onhost.compare_devices("bridge", plan["bridges"], state["bridges"])
    return [(d["subject"], d["what"]) for d in drift]


def test_ovs_built_by_first_boot_script_matches_the_plan(ovsdb: OvsDb) -> None:
    sb = make_sandbox(ovsdb, OVS)
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert ovs_drift(ovsdb, OVS) == []
    uuid = ovsdb.vsctl("get", "Interface", "eth3", "_uuid")
    ovsdb.vsctl("remove", "Port", "bond1", "interfaces", uuid)
    assert ovs_drift(ovsdb, OVS) == [("bond1", "members")]
    ovsdb.vsctl("del-br", "cloudbr100")
    assert ovs_drift(ovsdb, OVS) == [("bond1", "members"), ("cloudbr100", "bridge")]
    ovsdb.vsctl("add-br", "cloudbr100", "cloudbr0", "200")
    assert ovs_drift(ovsdb, OVS) == [("bond1", "members"), ("cloudbr100", "vlan")]


# -- the command line ------------------------------------------------------------------------
def test_exit_codes_json_and_state_round_trip(lb_root: Path, tmp_path: Path, capsys: Any) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(rootfs(LB)[verify_render.PLAN_PATH].content)
    dump = tmp_path / "state.json"
    argv = ["--plan", str(plan)]
    assert onhost.main([*argv, "--dump-state", str(dump)], source=source(lb_root)) == 0
    assert onhost.main(["--plan", str(plan), "--state", str(dump)]) == 0
    assert capsys.readouterr().out == "cloudbr-verify e2e-lb-a.e2e.test: no drift\n"
    (lb_root / "sys/class/net/bond1/bonding/slaves").write_text("eth2\n")
    assert onhost.main([*argv, "--json"], source=source(lb_root)) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["drift"] == [
        {"subject": "bond1", "what": "members", "expected": ["eth2", "eth3"], "found": ["eth2"]}
    ]
    assert onhost.main(argv, source=source(lb_root)) == 1
    assert capsys.readouterr().out.splitlines() == [
        "cloudbr-verify e2e-lb-a.e2e.test: 1 difference",
        "SUBJECT  WHAT     EXPECTED   FOUND",
        "bond1    members  eth2,eth3  eth2",
    ]


def test_unreadable_state_exits_2(tmp_path: Path, capsys: Any) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(OVS)))
    assert onhost.main(["--plan", str(plan)], source=onhost.Source(str(tmp_path))) == 2
    assert "cannot read the state: /sys/class/net" in capsys.readouterr().err
    (tmp_path / "state.json").write_text('{"format": 1, "links": {}}')
    assert onhost.main(["--plan", str(plan), "--state", str(tmp_path / "state.json")]) == 2
    assert onhost.main(["--plan", str(tmp_path / "missing.json"), "--state", str(plan)]) == 2


def test_shipped_file_runs_as_a_program(lb_root: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    state = tmp_path / "state.json"
    state.write_text(json.dumps(onhost.read_state(onhost.Source(str(lb_root), lb_ip()), ovs=False)))
    out = subprocess.run(
        [sys.executable, str(PROGRAM), "--plan", str(plan), "--state", str(state)],
        capture_output=True,
        text=True,
    )
    assert (out.returncode, out.stdout) == (0, "cloudbr-verify e2e-lb-a.e2e.test: no drift\n")
