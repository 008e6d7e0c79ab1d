"""cloudbr-verify, the on-host program: what it ships as, what it reads, what it reports.

A booted host is modelled as a fake root (sysfs, /proc/net/vlan, resolv.conf, the agent's
file as the real merge script writes it) plus canned `ip -json` output in iproute2's format,
written out literally for the reference topology (not derived from the plan). Open vSwitch
state comes from a private ovsdb-server after the real first-boot script built it.
"""

from __future__ import annotations

import ast
import io
import ipaddress
import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import cloudbr_drift
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
COMPARISON = Path(cloudbr_drift.__file__)


# -- what ships ------------------------------------------------------------------------------
def test_every_tree_ships_the_module_bytes_and_its_plan() -> None:
    for inv in (load_inventory(p) for p in sorted(EXAMPLES.glob("*.yaml"))):
        for host in inv.hosts:
            tree = rootfs(host)
            prog = tree[verify_render.PROGRAM_PATH]
            assert prog.content == PROGRAM.read_bytes()
            assert prog.mode == 0o755
            assert prog.content.startswith(b"#!/usr/bin/env python3\n")
            lib = tree[verify_render.COMPARISON_PATH]
            assert (lib.content, lib.mode) == (COMPARISON.read_bytes(), 0o644)
            assert f"{onhost.LIB}/{COMPARISON.name}" == verify_render.COMPARISON_PATH
            assert json.loads(tree[verify_render.PLAN_PATH].content) == verify_render.plan(host)


def vermin(path: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations", "-t=3.6-"]
    return subprocess.run([*argv, str(path)], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("shipped", "imports"), [(PROGRAM, {"cloudbr_drift"}), (COMPARISON, set())]
)
def test_program_needs_nothing_newer_than_python_36(
    tmp_path: Path, shipped: Path, imports: set[str]
) -> None:
    """vermin (static minimum-version analysis) over each shipped file, and the parser in
    3.6 grammar mode (walrus, positional-only parameters, ... are syntax errors there); the
    program imports the standard library and its comparison, the comparison the former."""
    out = vermin(shipped)
    assert out.returncode == 0, out.stdout + out.stderr
    newer = tmp_path / "newer.py"  # the check can fail: 3.7's capture_output, 3.9's removeprefix
    newer.write_text(
        "import subprocess\nsubprocess.run(['x'], capture_output=True)\n'a'.removeprefix('a')\n"
    )
    assert vermin(newer).returncode != 0
    ast.parse(shipped.read_text(), feature_version=(3, 6))
    with pytest.raises(SyntaxError):  # the grammar check can fail
        ast.parse("if (x := 1): pass", feature_version=(3, 6))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(shipped.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported - set(sys.stdlib_module_names) == imports


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
            raise cloudbr_drift.StateError('Option "-json" is unknown, try "ip -help".')
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
    plan = verify_render.plan(host)
    state = onhost.read_state(onhost.Source(str(root), ip), plan)
    return [(d["subject"], d["what"]) for d in cloudbr_drift.compare(plan, state)]


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
        ("agent", [(cloudbr_drift.AGENT, "public.network.device")]),
        ("no-agent", [(cloudbr_drift.AGENT, "file")]),
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
            raise cloudbr_drift.StateError("resolvectl: not found")
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
    drift = cloudbr_drift.compare_devices("bond", plan["bonds"], state["bonds"])
    drift += cloudbr_drift.compare_devices("bridge", plan["bridges"], state["bridges"])
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
    state.write_text(
        json.dumps(onhost.read_state(onhost.Source(str(lb_root), lb_ip()), verify_render.plan(LB)))
    )
    out = subprocess.run(
        [sys.executable, str(PROGRAM), "--plan", str(plan), "--state", str(state)],
        capture_output=True,
        text=True,
    )
    assert (out.returncode, out.stdout) == (0, "cloudbr-verify e2e-lb-a.e2e.test: no drift\n")


def test_the_program_imports_its_comparison_from_the_tree(lb_root: Path, tmp_path: Path) -> None:
    """As a host runs it: the tree's two files, Debian's own python3 (no cloudbr installed),
    /usr/local/lib as the tree leaves it (a private mount); paths relative to the working
    directory, as an operator types them."""
    tree = rootfs(LB)
    prog = tmp_path / "cloudbr-verify"
    prog.write_bytes(tree[verify_render.PROGRAM_PATH].content)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "cloudbr_drift.py").write_bytes(tree[verify_render.COMPARISON_PATH].content)
    (tmp_path / "plan.json").write_bytes(tree[verify_render.PLAN_PATH].content)
    state = onhost.read_state(onhost.Source(str(lb_root), lb_ip()), verify_render.plan(LB))
    (tmp_path / "state.json").write_text(json.dumps(state))
    state["bonds"]["bond1"]["members"] = ["eth2"]
    (tmp_path / "drift.json").write_text(json.dumps(state))
    place = f"mount -t tmpfs none /usr/local/lib && cp -r {lib} {onhost.LIB}"

    def run(state_file: str, lib_too: bool = True) -> subprocess.CompletedProcess[str]:
        command = f"/usr/bin/python3 {prog} --plan plan.json --state {state_file}"
        script = (
            f"{place} && {command}"
            if lib_too
            else f"mount -t tmpfs none /usr/local/lib && {command}"
        )
        return subprocess.run(
            ["unshare", "-m", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True
        )

    assert (run("state.json").returncode, run("state.json").stdout) == (
        0,
        "cloudbr-verify e2e-lb-a.e2e.test: no drift\n",
    )
    assert run("drift.json").returncode == 1
    assert "ModuleNotFoundError: No module named 'cloudbr_drift'" in run("x", lib_too=False).stderr


def test_dumped_state_is_0600_and_holds_only_the_agent_keys_the_plan_checks(
    lb_root: Path, tmp_path: Path
) -> None:
    agent = lb_root / "etc/cloudstack/agent/agent.properties"
    agent.write_text(agent.read_text() + "keystore.passphrase=S3cretPassphrase\n")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    dump = tmp_path / "state.json"
    dump.write_text("old\n")
    dump.chmod(0o644)  # an earlier dump, or a file made by hand: it does not stay readable
    argv = ["--plan", str(plan), "--dump-state", str(dump)]
    assert onhost.main(argv, source=source(lb_root)) == 0
    assert dump.stat().st_mode & 0o777 == 0o600
    assert "S3cret" not in dump.read_text()
    assert set(json.loads(dump.read_text())["agent"]) == set(verify_render.plan(LB)["agent"])


def test_odd_bytes_and_unreadable_files_are_no_traceback(
    lb_root: Path, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = lb_root / "etc/cloudstack/agent/agent.properties"
    agent.write_bytes(agent.read_bytes() + b"# r\xe9seau\nzone=\xff\n")  # not UTF-8
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    assert onhost.main(["--plan", str(plan)], source=source(lb_root)) == 0
    missing_dir = ["--plan", str(plan), "--dump-state", str(tmp_path / "no" / "state.json")]
    assert onhost.main(missing_dir, source=source(lb_root)) == 2
    assert capsys.readouterr().err == (
        f"cloudbr-verify: cannot write {tmp_path}/no/state.json: No such file or directory\n"
    )

    def refused(path: str, *args: Any, **kwargs: Any) -> Any:
        if path.endswith("agent.properties"):
            raise PermissionError(13, "Permission denied", path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(onhost, "open", refused, raising=False)  # the agent's file, as a user
    assert onhost.main(["--plan", str(plan)], source=source(lb_root)) == 2
    err = capsys.readouterr().err
    assert (
        err == f"cloudbr-verify: cannot read the state: {cloudbr_drift.AGENT}: Permission denied\n"
    )


def _plan_text(**change: Any) -> str:
    plan = verify_render.plan(LB)
    plan.update(change)
    return json.dumps(plan)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (_plan_text(format=7), "not a cloudbr plan of format 1"),
        (_plan_text(format=True), "not a cloudbr plan of format 1"),
        (_plan_text(backend="bogus"), "unknown backend 'bogus'"),
        (_plan_text(extra=1), "not a cloudbr plan of format 1"),
        (_plan_text(dns="192.168.100.5"), "not a cloudbr plan of format 1"),
        (_plan_text(interfaces={"eth0": {"kind": "nic", "mtu": "9000", "addresses": []}}),
         "not a cloudbr plan of format 1"),
        ("[]", "not a cloudbr plan of format 1"),
        (_plan_text().replace('"format": 1', '"format": NaN'), "NaN is not a number"),
        (_plan_text().replace('"format": 1', '"format": 1, "format": 1'), "a key given twice"),
        ("{", "Expecting property name"),
    ],
    ids=["format", "bool", "backend", "extra", "dns", "mtu", "list", "nan", "twice", "json"],
)  # fmt: skip
def test_a_plan_is_parsed_strictly(tmp_path: Path, capsys: Any, text: str, why: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    assert onhost.main(["--plan", str(plan), "--state", str(plan)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cloudbr-verify: cannot read the state: {plan}: ")
    assert why in err


def test_a_state_file_is_parsed_strictly(lb_root: Path, tmp_path: Path, capsys: Any) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    state = onhost.read_state(onhost.Source(str(lb_root), lb_ip()), verify_render.plan(LB))
    for change in ({"format": 2}, {"dns": "192.168.100.5"}, {"ovs": []}, {"extra": None}):
        (tmp_path / "state.json").write_text(json.dumps({**state, **change}))
        assert onhost.main(["--plan", str(plan), "--state", str(tmp_path / "state.json")]) == 2
        assert "not a cloudbr state of format 1" in capsys.readouterr().err


def _v6_ip(flags: dict[str, bool]) -> FakeIp:
    """e2e-lb-a with 2001:db8:100::34/64 on cloudbr0 carrying `flags`, and an RA address."""
    ip = lb_ip()
    plain = ip_addr

    def addr(argv: list[str]) -> str:
        if argv[:3] != ["ip", "-json", "addr"]:
            return FakeIp.__call__(ip, argv)
        links = json.loads(plain(ip.addrs))
        for link in links:
            if link["ifname"] == "cloudbr0":
                link["addr_info"] += [
                    {"family": "inet6", "local": "2001:db8:100::34", "prefixlen": 64,
                     "scope": "global", **flags},
                    {"family": "inet6", "local": "2001:db8:100:0:5054:ff:fe00:34",
                     "prefixlen": 64, "scope": "global", "dynamic": True, "mngtmpaddr": True},
                ]  # fmt: skip
        return json.dumps(links)

    ip.__call__ = addr  # type: ignore[method-assign]
    return ip


def test_ipv6_from_router_advertisements_is_no_drift_and_a_failed_dad_is_missing(
    lb_root: Path,
) -> None:
    v6 = replace(
        LB,
        ipv6=True,
        bridges=tuple(
            replace(b, addresses=(*b.addresses, ipaddress.ip_interface("2001:db8:100::34/64")))
            if b.name == "cloudbr0"
            else b
            for b in LB.bridges
        ),
    )
    plan = verify_render.plan(v6)
    plan["default_routes"].pop("6", None)  # no IPv6 gateway in this plan: an RA may give one

    def drift(flags: dict[str, bool]) -> list[tuple[str, str]]:
        ip = _v6_ip(flags)
        state = onhost.read_state(onhost.Source(str(lb_root), lambda argv: ip.__call__(argv)), plan)
        return [(d["subject"], d["what"]) for d in cloudbr_drift.compare(plan, state)]

    assert drift({}) == []  # the static address, and the RA's (dynamic) left out
    assert drift({"dadfailed": True, "tentative": True}) == [("cloudbr0", "addresses")]


def test_an_ovs_bridge_missing_from_the_kernel_is_drift() -> None:
    plan = verify_render.plan(OVS)
    links = {n: {"kind": "other", "mtu": 1500, "master": None} for n in plan["interfaces"]}
    addresses = {n: s["addresses"] for n, s in plan["interfaces"].items()}
    ovs = {"bridges": plan["bridges"], "bonds": plan["bonds"]}  # ovsdb has every bridge
    state = {"links": links, "addresses": addresses, "ovs": ovs}
    assert cloudbr_drift.compare_interfaces(plan, state) == []
    del links["cloudbr100"]
    assert cloudbr_drift.compare_interfaces(plan, state) == [
        {
            "subject": "cloudbr100",
            "what": "kernel device",
            "expected": "present",
            "found": "missing",
        }
    ]


def test_a_bridge_missing_from_ovsdb_and_the_kernel_is_one_drift(ovsdb: OvsDb) -> None:
    """As the e2e guest deletes the fake bridge: ovsdb's drift, not the kernel's as well."""
    sb = make_sandbox(ovsdb, OVS)
    assert sb.run().returncode == 0
    plan = verify_render.plan(OVS)
    plan["default_routes"] = {"4": plan["default_routes"]["4"]}
    nics = {n.name for n in OVS.nics}

    def state() -> dict[str, Any]:
        ovs = onhost.read_ovs(onhost.Source("/", lambda argv: ovsdb.vsctl(*argv[1:])))
        names = [n for n in plan["interfaces"] if n in nics or n in ovs["bridges"]]
        return {
            "links": {n: {"kind": "other", "mtu": 1500, "master": None} for n in names},
            "addresses": {n: plan["interfaces"][n]["addresses"] for n in names},
            "ovs": ovs,
            **{"bonds": {}, "bridges": {}, "vlans": {}, "dns": plan["dns"]},
            **{"routes": dict(plan["default_routes"]), "agent": plan["agent"]},
        }

    assert cloudbr_drift.compare(plan, state()) == []
    ovsdb.vsctl("del-br", "cloudbr100")
    assert [(d["subject"], d["what"]) for d in cloudbr_drift.compare(plan, state())] == [
        ("cloudbr100", "bridge")
    ]


def test_a_dump_to_a_device_leaves_its_mode(lb_root: Path, tmp_path: Path) -> None:
    """`--dump-state /dev/null` must not make /dev/null root's alone (a node of its own here)."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    null.chmod(0o666)
    assert (
        onhost.main(["--plan", str(plan), "--dump-state", str(null)], source=source(lb_root)) == 0
    )
    assert stat.S_IMODE(null.stat().st_mode) == 0o666


def test_a_device_gone_while_read_is_a_state_error(
    lb_root: Path, tmp_path: Path, capsys: Any
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))

    class Racing(onhost.Source):  # cloudbr100 removed between listing and reading its ports
        def listdir(self, path: str) -> list[str]:
            if path.endswith("/brif"):
                raise FileNotFoundError(2, "No such file or directory", path)
            return super().listdir(path)

    assert onhost.main(["--plan", str(plan)], source=Racing(str(lb_root), lb_ip())) == 2
    assert capsys.readouterr().err.startswith("cloudbr-verify: cannot read the state: [Errno 2]")


def test_the_report_survives_an_ascii_terminal(
    lb_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.6 in a C locale writes ASCII: an odd byte in a checked agent key is escaped."""
    agent = lb_root / "etc/cloudstack/agent/agent.properties"
    agent.write_bytes(
        agent.read_bytes().replace(
            b"public.network.device=cloudbr1", b"public.network.device=cloudbr\xff"
        )
    )
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(verify_render.plan(LB)))
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    assert onhost.main(["--plan", str(plan)], source=source(lb_root)) == 1
    sys.stdout.flush()
    assert "public.network.device  cloudbr1  cloudbr\\ufffd" in raw.getvalue().decode("ascii")
