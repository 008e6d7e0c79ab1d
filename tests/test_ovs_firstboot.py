"""The OVS first-boot script, run for real against a private ovsdb-server.

`ovs-vsctl` is the fixture's shim (real ovs-vsctl, private database, --no-wait). The kernel
side cannot run here (no openvswitch module, no NICs), so `ip` and `ping` on PATH are fakes
that keep a kernel state file (tests/support/fake_kernel.py has their rules).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudbr import render
from cloudbr.carriers import embed
from cloudbr.inventory import load_inventory
from cloudbr.model import Backend, Family, Host
from cloudbr.platforms import ovs_bond_options, platform
from cloudbr.render import ovs_firstboot
from tests.conftest import EXAMPLES
from tests.support import fake_kernel
from tests.support.cli_run import run_cli
from tests.support.ovsdb import OvsDb, reset_ovsdb

FAKE_RESOLVCONF = r"""#!/bin/sh
# Fake resolvconf: -a RECORD (stdin) / -d RECORD in $CLOUDBR_RESOLVCONF_DIR.
case $1 in
    -a) cat >"$CLOUDBR_RESOLVCONF_DIR/$2" ;;
    -d) rm -f "$CLOUDBR_RESOLVCONF_DIR/$2" ;;
    *) exit 2 ;;
esac
"""

FAKE_RESOLVECTL = r"""#!/bin/sh
# Fake resolvectl: dns|domain LINK [VALUE...] and revert LINK, in $CLOUDBR_RESOLVCONF_DIR.
d=$CLOUDBR_RESOLVCONF_DIR
verb=$1 link=$2
shift 2
case $verb in
    revert) rm -f "$d/$link.dns" "$d/$link.domain"; exit 0 ;;
    dns|domain)
        if [ $# -gt 0 ]; then echo "$*" >"$d/$link.$verb"; exit 0; fi
        echo "Link 3 ($link): $(cat "$d/$link.$verb" 2>/dev/null)" ;;
    *) exit 2 ;;
esac
"""


def ovs_hosts() -> list[Host]:
    hosts = [h for p in sorted(EXAMPLES.glob("seed-*-ovs.yaml")) for h in load_inventory(p).hosts]
    hosts += [h for h in load_inventory(EXAMPLES / "lab.yaml").hosts if h.backend is Backend.OVS]
    return hosts


OVS_HOSTS = {f"{h.distro.value}-{h.hostname}": h for h in ovs_hosts()}
REFERENCE = load_inventory(EXAMPLES / "seed-centos7-ovs.yaml").host("kvmhost1")
LACP_HOST = load_inventory(EXAMPLES / "lab.yaml").host("kvm-d12-ovs")


@dataclass
class Sandbox:
    """A host whose `ip`/`ping` are fakes and whose `ovs-vsctl` talks to a private database."""

    db: OvsDb
    root: Path
    script: Path
    plan: Path

    @property
    def kernel(self) -> Path:
        return self.root / "kernel.json"

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        full_env = self.db.env(
            FAKE_KERNEL=str(self.kernel),
            FAKE_IP_LOG=str(self.root / "ip.log"),
            FAKE_PING_LOG=str(self.root / "ping.log"),
            CLOUDBR_FIRSTBOOT_DEADLINE="3",
            CLOUDBR_RESOLV_CONF=str(self.root / "resolv.conf"),
            CLOUDBR_RESOLVCONF_DIR=str(self.root / "resolvconf"),
            **env,
        )
        full_env["PATH"] = f"{self.root / 'bin'}:{full_env['PATH']}"
        return subprocess.run(
            ["bash", str(self.script), *args, str(self.plan)],
            env=full_env,
            capture_output=True,
            text=True,
        )

    def state(self) -> dict[str, Any]:
        st: dict[str, Any] = json.loads(self.kernel.read_text())
        return st

    def calls(self, tool: str) -> list[list[str]]:
        log = self.root / f"{tool}.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def clear_logs(self) -> None:
        for tool in ("ip", "ping"):
            (self.root / f"{tool}.log").unlink(missing_ok=True)


def installer_kernel(host: Host) -> dict[str, Any]:
    """How a freshly installed host looks: its address and default route on the first NIC."""
    first = host.nics[0].name
    addr = host.primary_address
    gw = host.gateway4
    assert addr is not None
    assert gw is not None
    return {
        "nics": [n.name for n in host.nics],
        "up": [first],
        "addrs": [[first, str(addr)]],
        "routes": [
            {"fam": 4, "dev": first, "via": str(gw), "line": f"default via {gw} dev {first}"}
        ],
    }


def make_sandbox(db: OvsDb, host: Host, kernel: dict[str, Any] | None = None) -> Sandbox:
    root = db.root / "sandbox"
    shutil.rmtree(root, ignore_errors=True)  # a fresh host: no kernel, logs or resolver state
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (root / "resolvconf").mkdir(exist_ok=True)
    fakes = [(tool, fake_kernel.client(tool, db.sock)) for tool in ("ip", "ping")]
    fakes += [("resolvconf", FAKE_RESOLVCONF), ("resolvectl", FAKE_RESOLVECTL)]
    for name, text in fakes:
        tool = root / "bin" / name
        tool.write_text(text)
        tool.chmod(0o755)
    files = ovs_firstboot.render(host)
    script = root / "cloudbr-ovs-firstboot"
    script.write_bytes(files[ovs_firstboot.SCRIPT].content)
    plan = root / "ovs-firstboot.plan"
    plan.write_bytes(files[ovs_firstboot.PLAN].content)
    sb = Sandbox(db, root, script, plan)
    sb.kernel.write_text(json.dumps(kernel or installer_kernel(host)))
    return sb


PORT_COLUMNS = ["bond_mode", "lacp", "other_config", "bond_updelay", "bond_downdelay", "tag"]
PORT_COLUMNS += ["external_ids", "fake_bridge", "bond_fake_iface"]


def _bridge_queries(br: str) -> list[list[str]]:
    owner = ["br-get-external-id", br, "cloudbr-owner"]
    return [["list-ports", br], ["br-to-parent", br], ["br-to-vlan", br], owner]


def topology(db: OvsDb) -> dict[str, Any]:
    """Everything the script owns in the database, by name (UUIDs differ between databases)."""
    bridges = sorted(db.bridges())
    got = iter(db.batch(*(q for br in bridges for q in _bridge_queries(br))))
    info = {br: [next(got) for _ in range(4)] for br in bridges}  # ports, parent, vlan, owner
    ports = {br: sorted(info[br][0].split()) for br in bridges}
    all_ports = [p for br in bridges for p in ports[br]]
    ifaces = {p: sorted(found) for p, found in db.ifaces_of(all_ports).items()}
    cols = iter(db.batch(*(("get", "Port", p, c) for p in all_ports for c in PORT_COLUMNS)))
    port_cols = {p: {c: next(cols) for c in PORT_COLUMNS} for p in all_ports}
    names = [i for p in all_ports for i in ifaces[p]]
    mtus = dict(
        zip(names, db.batch(*(("get", "Interface", i, "mtu_request") for i in names)), strict=True)
    )
    out: dict[str, Any] = {}
    for br in bridges:
        out[br] = {
            "parent": info[br][1],
            "vlan": info[br][2],
            "owner": info[br][3],
            "ports": {
                p: {"ifaces": ifaces[p], "mtu": {i: mtus[i] for i in ifaces[p]}, **port_cols[p]}
                for p in ports[br]
            },
        }
    return out


def expected_bridges(host: Host) -> set[str]:
    return {b.name for b in host.bridges}


def assert_converged(sb: Sandbox, host: Host) -> None:
    """The database and kernel state the inventory describes, checked against the model."""
    db = sb.db
    assert db.bridges() == expected_bridges(host)
    got = iter(db.batch(*(q for br in host.bridges for q in _bridge_queries(br.name))))
    info = {br.name: [next(got) for _ in range(4)] for br in host.bridges}
    uplinks = [br.uplink for br in host.bridges if br.vlan is None and br.uplink is not None]
    bonds = [host.bond(u.name) for u in uplinks if u.is_bond]
    members = db.ifaces_of([b.name for b in bonds])
    wanted = [(b.name, key, value) for b in bonds for key, value in ovs_bond_options(host, b)]
    wanted += [(u.name, "external_ids:cloudbr-owner", host.hostname) for u in uplinks]
    values = db.batch(*(("get", "Port", port, key) for port, key, _ in wanted))
    for br in host.bridges:
        ports, parent, vlan, owner = info[br.name]
        assert owner == host.hostname
        if br.vlan is not None:
            assert (parent, vlan) == (br.vlan.parent_bridge, str(br.vlan.id))
        else:
            assert parent == br.name
            assert br.uplink is None or br.uplink.name in ports.split()
    assert {b.name: set(b.members) for b in bonds} == members
    for (port, key, value), found in zip(wanted, values, strict=True):
        assert found.strip('"') == value, (port, key)
    st = sb.state()
    want = sorted([b.name, str(a)] for b in host.bridges for a in b.addresses)
    assert sorted(st["addrs"]) == want
    assert [(r["dev"], r["via"]) for r in st["routes"]] == [
        (host.primary_bridge.name, str(host.gateway4))
    ]
    assert {b.name for b in host.bridges} <= set(st["up"])


# --- the rendered files -------------------------------------------------------------------------


@pytest.mark.parametrize("host", OVS_HOSTS.values(), ids=OVS_HOSTS.keys())
def test_every_ovs_host_tree_has_script_and_unit(host: Host) -> None:
    tree = render.rootfs(host)
    script = tree[ovs_firstboot.SCRIPT]
    unit = tree[ovs_firstboot.UNIT_PATH]
    assert script.mode == 0o755
    assert script.renderer == ovs_firstboot.NAME
    assert unit.mode == 0o644


def test_linuxbridge_hosts_get_no_firstboot() -> None:
    lab = load_inventory(EXAMPLES / "lab.yaml")
    for host in lab.hosts:
        tree = render.rootfs(host)
        assert (ovs_firstboot.SCRIPT in tree) is (host.backend is Backend.OVS), host.hostname


def unit_directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).extend(value.split())
    return out


@pytest.mark.parametrize("host", OVS_HOSTS.values(), ids=OVS_HOSTS.keys())
def test_unit_orders_after_ovs_and_before_network_online_and_agent(host: Host) -> None:
    text = ovs_firstboot.render(host)[ovs_firstboot.UNIT_PATH].content.decode()
    d = unit_directives(text)
    ovs = (
        "openvswitch.service"
        if platform(host).family is Family.RHEL
        else "openvswitch-switch.service"
    )
    other = "openvswitch-switch.service" if ovs == "openvswitch.service" else "openvswitch.service"
    assert ovs in d["After"]
    assert ovs in d["Requires"]
    assert other not in d["After"]
    assert {"network-online.target", "libvirtd.service", "cloudstack-agent.service"} <= set(
        d["Before"]
    )
    assert d["ExecStart"] == [ovs_firstboot.SCRIPT, ovs_firstboot.PLAN]
    assert d["Type"] == ["oneshot"]
    assert d["WantedBy"] == ["multi-user.target"]


def systemd_verify(root: Path, unit_text: str, host: Host) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` in a root holding Debian's system units, a stand-in for the OVS
    service the unit requires, the script and the unit."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    stub = root / "etc/systemd/system" / platform(host).ovs_service
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    for path, f in ovs_firstboot.render(host).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
        target.chmod(f.mode)
    unit = root / ovs_firstboot.UNIT_PATH.lstrip("/")
    unit.write_text(unit_text)
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", str(unit)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("host", [REFERENCE, LACP_HOST], ids=["centos7", "debian12"])
def test_systemd_accepts_the_unit(tmp_path: Path, host: Host) -> None:
    text = ovs_firstboot.render(host)[ovs_firstboot.UNIT_PATH].content.decode()
    out = systemd_verify(tmp_path / "good", text, host)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    # The name every carrier enables is the unit's: systemctl links it into multi-user.
    root = tmp_path / "good"
    units = embed.units_to_enable(ovs_firstboot.render(host))
    enable = ["systemctl", f"--root={root}", "enable", *units]
    subprocess.run(enable, check=True, capture_output=True)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert {p.name: os.readlink(p) for p in wants.iterdir()} == {
        u: f"/etc/systemd/system/{u}" for u in units
    }
    broken = systemd_verify(tmp_path / "bad", text.replace("Type=oneshot", "Type=oneshoot"), host)
    assert "Failed to parse service type" in broken.stderr  # the check can fail


def odd_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "odd.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            site: {backend: ovs, distro: debian12, ipv6: true}
            hosts:
              - hostname: odd-host-1
                address: 192.168.1.2/24
                gateway: 192.168.1.1
                address6: 2001:db8::2/64
                reachability_target: 192.168.1.254
                topology:
                  nics: [{name: eth0, mtu: 9000}, {name: eth1, mtu: 9000}, {name: enp0s1-x_y.zz}]
                  bonds: [{name: bond-a_b.c12345, members: [eth0, eth1], mtu: 9000}]
                  bridges:
                    - {name: br-a_b.c1234567, uplink: bond-a_b.c12345, mtu: 9000}
                    - {name: x-, uplink: enp0s1-x_y.zz}
                  vlans:
                    - {id: 4094, parent: br-a_b.c1234567, bridge: v.1_-x, name: vlan.4094,
                       addresses: [10.9.9.9/24]}
                traffic_labels: {management: br-a_b.c1234567, guest: br-a_b.c1234567, public: x-}
            """
        )
    )
    return path


def all_script_hosts(tmp_path: Path) -> list[Host]:
    return [*OVS_HOSTS.values(), *load_inventory(odd_inventory(tmp_path)).hosts]


def test_one_program_for_every_host_bash_n_and_shellcheck_clean(tmp_path: Path) -> None:
    programs = {
        ovs_firstboot.render(h)[ovs_firstboot.SCRIPT].content for h in all_script_hosts(tmp_path)
    }
    assert programs == {ovs_firstboot.program()}
    script = tmp_path / "cloudbr-ovs-firstboot"
    script.write_bytes(ovs_firstboot.program())
    subprocess.run(["bash", "-n", str(script)], check=True)
    sc = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
    assert sc.returncode == 0, sc.stdout


def parse(tmp_path: Path, text: str | None) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "cloudbr-ovs-firstboot"
    script.write_bytes(ovs_firstboot.program())
    plan = tmp_path / "plan"
    if text is not None:
        plan.write_text(text)
    return subprocess.run(
        ["bash", str(script), "--parse", str(plan)], capture_output=True, text=True
    )


def test_every_plan_parses_to_its_steps(tmp_path: Path) -> None:
    for host in all_script_hosts(tmp_path):
        text = ovs_firstboot.render(host)[ovs_firstboot.PLAN].content.decode()
        out = parse(tmp_path, text)
        assert out.returncode == 0, (host.hostname, out.stderr)
        steps = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        assert out.stdout.splitlines() == steps[1:-1]  # less the format line and "end"


GOOD = "cloudbr-ovs-plan 1\nowner h1\nreach 192.0.2.1\nbridge br0\nend\n"
BAD_PLANS = {
    "unknown-verb": (GOOD.replace("bridge br0", "reboot now"), "unknown step: reboot"),
    "hostile-word": (GOOD.replace("bridge br0", "bridge br$(id)"), "bad name: br$(id)"),
    "extra-word": (GOOD.replace("bridge br0", "bridge br0 br1"), "unexpected: br1"),
    "bad-tag": (GOOD.replace("bridge br0", "vlan-bridge v1 br0 4095"), "bad tag: 4095"),
    "bad-cidr": (GOOD.replace("bridge br0", "address br0 192.0.2.1/33"), "bad cidr"),
    "bad-option": (GOOD.replace("bridge br0", "port br0 b0 e0 e1 -- x=$(id)"), "bad opt"),
    "truncated": (GOOD.replace("end\n", ""), "no end line"),
    "no-header": (GOOD.replace("cloudbr-ovs-plan 1\n", ""), "not a cloudbr-ovs-plan 1"),
    "double-space": (GOOD.replace("bridge br0", "bridge  br0"), "single spaces"),
    "after-end": (GOOD + "bridge br1\n", "a step after end"),
    "control-char": (GOOD.replace("br0", "br0\x1b"), "non-printable"),
}


@pytest.mark.parametrize("case", BAD_PLANS.values(), ids=BAD_PLANS.keys())
def test_bad_plans_are_fatal(tmp_path: Path, case: tuple[str, str]) -> None:
    text, message = case
    out = parse(tmp_path, text)
    assert out.returncode == 6
    assert message in out.stderr
    assert out.stdout == ""


def test_unreadable_plan_is_fatal(tmp_path: Path) -> None:
    out = parse(tmp_path, None)
    assert out.returncode == 6
    assert "cannot read the plan" in out.stderr
    assert parse(tmp_path, GOOD).returncode == 0  # the same call with a plan passes


@pytest.mark.parametrize(
    "name", ["br$(reboot)", "br;rm", "br`id`", "br 0", "br'x", "cloudbr0123456789"]
)
def test_hostile_names_are_rejected_before_any_script(tmp_path: Path, name: str) -> None:
    inv = tmp_path / "bad.yaml"
    inv.write_text(
        "site: {backend: ovs, distro: debian12}\n"
        "hosts:\n"
        "  - hostname: h1\n"
        "    address: 192.168.1.2/24\n"
        "    gateway: 192.168.1.1\n"
        "    traffic_labels: {management: " + json.dumps(name) + "}\n"
        "    topology:\n"
        "      bridges: [{name: "
        + json.dumps(name)
        + ", uplink: bond0}, {name: cloudbr1, uplink: bond1}]\n"
    )
    out = run_cli("render", str(inv), "-o", str(tmp_path / "out"))
    assert out.returncode == 1
    assert "bridges" in out.stderr
    assert not (tmp_path / "out").exists()


# --- running it against a private ovsdb-server ------------------------------------------------


@pytest.mark.parametrize("host", OVS_HOSTS.values(), ids=OVS_HOSTS.keys())
def test_builds_the_topology_and_moves_the_address(ovsdb: OvsDb, host: Host) -> None:
    sb = make_sandbox(ovsdb, host)
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert_converged(sb, host)
    # It checked the gateway with a bounded wait before declaring success.
    # The target is probed before any change and again after them.
    pings = sb.calls("ping")
    assert len(pings) == 2
    assert {p[-1] for p in pings} == {str(host.gateway4)}
    assert pings[1][pings[1].index("-w") + 1] == "3"


def test_reference_host_matches_the_post_topology(ovsdb: OvsDb) -> None:
    """kvmhost1 written out by hand (not derived from the model), as the post means it."""
    sb = make_sandbox(ovsdb, REFERENCE)
    assert sb.run().returncode == 0
    topo = topology(ovsdb)
    assert set(topo) == {"cloudbr0", "cloudbr1", "cloudbr100"}
    assert topo["cloudbr0"]["ports"]["bond0"]["ifaces"] == ["eth0", "eth1"]
    assert topo["cloudbr1"]["ports"]["bond1"]["ifaces"] == ["eth2", "eth3"]
    bond0 = topo["cloudbr0"]["ports"]["bond0"]
    assert bond0["bond_mode"] == "active-backup"
    assert bond0["lacp"] == "off"
    assert ovsdb.get("Port", "bond0", "other_config:bond-detect-mode") == "miimon"
    assert ovsdb.get("Port", "bond0", "other_config:bond-miimon-interval") == "100"
    assert (topo["cloudbr100"]["parent"], topo["cloudbr100"]["vlan"]) == ("cloudbr0", "100")
    assert sorted(sb.state()["addrs"]) == [
        ["cloudbr0", "192.168.100.20/24"],
        ["cloudbr100", "10.0.100.20/24"],
    ]


def test_lacp_bond_gets_lacp_settings(ovsdb: OvsDb) -> None:
    sb = make_sandbox(ovsdb, LACP_HOST)
    assert sb.run().returncode == 0
    assert ovsdb.get("Port", "bond0", "bond_mode") == "balance-tcp"
    assert ovsdb.get("Port", "bond0", "lacp") == "active"
    assert ovsdb.get("Port", "bond0", "other_config:lacp-time") == "fast"


@pytest.mark.parametrize("host", [REFERENCE, LACP_HOST], ids=["centos7", "debian12-lacp"])
def test_second_run_changes_nothing(ovsdb: OvsDb, host: Host) -> None:
    sb = make_sandbox(ovsdb, host)
    assert sb.run().returncode == 0
    dump, kernel = ovsdb.dump(), sb.state()
    sb.clear_logs()
    out = sb.run()
    assert out.returncode == 0
    assert "in sync" in out.stderr
    assert ovsdb.dump() == dump
    assert sb.state() == kernel
    writes = [c for c in sb.calls("ip") if {"add", "del", "set", "replace"} & set(c)]
    assert writes == []
    assert sb.calls("ping") == []


def step_commands(stderr: str) -> list[str]:
    return re.findall(r"^cloudbr-ovs-firstboot: step \d+: .*?: (.*)$", stderr, re.M)


def test_dry_run_prints_exactly_the_commands_a_run_executes(ovsdb: OvsDb) -> None:
    sb = make_sandbox(ovsdb, REFERENCE)
    dump, kernel = ovsdb.dump(), sb.state()
    dry = sb.run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert ovsdb.dump() == dump
    assert sb.state() == kernel
    planned = dry.stdout.splitlines()
    assert planned[0] == (
        "ovs-vsctl --timeout=30 --may-exist add-br cloudbr0 -- br-set-external-id cloudbr0 cloudbr-owner kvmhost1"
    )
    out = sb.run()
    assert out.returncode == 0
    assert step_commands(out.stderr) == planned


def test_check_reports_drift_and_sync(ovsdb: OvsDb) -> None:
    sb = make_sandbox(ovsdb, REFERENCE)
    before = sb.run("--check")
    assert before.returncode == 1
    assert "drift: create bridge cloudbr0" in before.stdout
    assert ovsdb.bridges() == set()
    assert sb.run().returncode == 0
    assert sb.run("--check").returncode == 0
    ovsdb.vsctl("set", "Port", "bond1", "bond_mode=balance-slb")
    drift = sb.run("--check")
    assert drift.returncode == 1
    assert drift.stdout.splitlines() == ["drift: set bond_mode=active-backup on port bond1"]
    assert ovsdb.get("Port", "bond1", "bond_mode") == "balance-slb"  # --check changed nothing
    assert sb.run().returncode == 0
    assert ovsdb.get("Port", "bond1", "bond_mode") == "active-backup"


def test_interrupted_after_sampled_steps_converges_on_rerun(
    ovsdb: OvsDb, record_property: Any
) -> None:
    """A few steps here; CLOUDBR_FIRSTBOOT_SWEEP=all interrupts after each (`make e2e` runs it
    so: tests/e2e/sweep_case.py reads the properties recorded here)."""
    host = REFERENCE
    db = ovsdb
    sb = make_sandbox(db, host)
    steps = len(sb.run("--dry-run").stdout.splitlines())
    assert sb.run().returncode == 0
    want_topology, want_kernel = topology(db), sb.state()
    assert steps >= 10
    every = os.environ.get("CLOUDBR_FIRSTBOOT_SWEEP") == "all"
    sample = range(1, steps + 1) if every else sorted({1, steps // 2, steps})
    record_property("steps", steps)
    record_property("interrupted_after", ",".join(map(str, sample)))
    for k in sample:
        reset_ovsdb(db)
        sb = make_sandbox(db, host)
        stopped = sb.run(CLOUDBR_FIRSTBOOT_STOP_AFTER=str(k))
        assert stopped.returncode == 75, (k, stopped.stderr)
        assert len(step_commands(stopped.stderr)) == k
        rerun = sb.run()
        assert rerun.returncode == 0, (k, rerun.stderr)
        assert topology(db) == want_topology, k
        assert sb.state() == want_kernel, k
        assert_converged(sb, host)


# --- safety: rollback, conflicts, adoption -------------------------------------------------------


def test_unreachable_gateway_rolls_everything_back(ovsdb: OvsDb) -> None:
    sb = make_sandbox(ovsdb, REFERENCE)
    kernel = sb.state()
    out = sb.run(FAKE_PING="fail-after-first")
    assert out.returncode == 4
    assert "192.168.100.1 did not answer within 3s" in out.stderr
    assert "previous state restored" in out.stderr
    assert sb.state() == kernel  # address and default route back on eth0
    assert ovsdb.bridges() == set()  # the NICs are the kernel's again
    ip_calls = [" ".join(c) for c in sb.calls("ip")]
    assert "addr add 192.168.100.20/24 brd + dev eth0" in ip_calls
    assert "-4 route replace default via 192.168.100.1 dev eth0" in ip_calls


def test_gateway_that_never_answered_keeps_the_new_bridges(ovsdb: OvsDb) -> None:
    """No answer before the change either (e.g. LACP or STP still starting): no teardown."""
    sb = make_sandbox(ovsdb, REFERENCE)
    out = sb.run(FAKE_PING="fail")
    assert out.returncode == 0, out.stderr
    assert "does not answer before the change" in out.stderr
    assert "nor before: keeping the change" in out.stderr
    assert_converged(sb, REFERENCE)


def test_dns_reaches_the_platform_resolver(ovsdb: OvsDb) -> None:
    host = LACP_HOST  # debian12: resolvconf
    sb = make_sandbox(ovsdb, host)
    assert sb.run().returncode == 0
    bridge = next(b for b in host.bridges if b.dns.servers)
    record = (sb.root / "resolvconf" / f"{bridge.name}.inet").read_text().splitlines()
    assert [f"nameserver {s}" for s in bridge.dns.servers] == [
        ln for ln in record if ln.startswith("nameserver")
    ]
    again = sb.run("--check")
    assert again.returncode == 0, again.stdout


def test_dns_without_the_resolver_package_goes_to_resolv_conf(ovsdb: OvsDb) -> None:
    """A debian12 host whose image lacks resolvconf: the plan's DNS lands in resolv.conf."""
    host = LACP_HOST  # debian12: resolvconf
    sb = make_sandbox(ovsdb, host)
    (sb.root / "bin" / "resolvconf").unlink()
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert "resolvconf is not installed" in out.stderr
    bridge = next(b for b in host.bridges if b.dns.servers)
    lines = (sb.root / "resolv.conf").read_text().splitlines()
    assert [f"nameserver {s}" for s in bridge.dns.servers] == [
        ln for ln in lines if ln.startswith("nameserver")
    ]
    assert not (sb.root / "resolvconf" / f"{bridge.name}.inet").exists()
    again = sb.run("--check")
    assert again.returncode == 0, again.stdout


def test_failed_move_is_rolled_back_even_when_ping_would_pass(ovsdb: OvsDb) -> None:
    """The fake kernel refuses the gateway route (no address on the bridge): exit 5, restored."""
    host = REFERENCE
    sb = make_sandbox(ovsdb, host)
    kernel = sb.state()
    # Steal the bridge's address right before the route step by making cloudbr0's address
    # already present elsewhere is not enough; instead point the route at a foreign gateway.
    plan = sb.plan.read_text().replace(
        "route 4 cloudbr0 192.168.100.1", "route 4 cloudbr0 192.0.2.1"
    )
    sb.plan.write_text(plan)
    out = sb.run()
    assert out.returncode == 5
    assert "Nexthop has invalid gateway" in out.stderr
    assert sb.state() == kernel
    assert ovsdb.bridges() == set()


def test_rollback_keeps_objects_that_existed_before(ovsdb: OvsDb) -> None:
    ovsdb.vsctl("add-br", "cloudbr0")
    ovsdb.vsctl("add-bond", "cloudbr0", "bond0", "eth0", "eth1", "bond_mode=active-backup")
    sb = make_sandbox(ovsdb, REFERENCE)
    out = sb.run(FAKE_PING="fail-after-first")
    assert out.returncode == 4
    assert ovsdb.bridges() == {"cloudbr0"}
    assert ovsdb.ifaces("bond0") == {"eth0", "eth1"}
    assert ovsdb.get("Port", "bond0", "external_ids") == "{}"  # adoption undone too
    assert ovsdb.vsctl("--if-exists", "get", "Port", "bond0", "lacp") == "[]"


CONFLICTS = {
    "nic-in-foreign-bridge": (
        [["add-br", "other"], ["add-port", "other", "eth0"]],
        "interface eth0 is already in port eth0 on bridge other",
    ),
    "bond-with-other-members": (
        [["add-br", "cloudbr0"], ["add-bond", "cloudbr0", "bond0", "eth0", "eth3"]],
        "port bond0 on cloudbr0 has interface(s)",
    ),
    "bond-on-wrong-bridge": (
        [["add-br", "cloudbr1"], ["add-bond", "cloudbr1", "bond0", "eth0", "eth1"]],
        "port bond0 is on bridge cloudbr1, not cloudbr0",
    ),
    "vlan-bridge-as-plain-bridge": (
        [["add-br", "cloudbr100"]],
        "cloudbr100 exists as bridge on cloudbr100 (VLAN 0), not as VLAN 100 on cloudbr0",
    ),
    "other-hosts-bridge": (
        [["add-br", "cloudbr1"], ["br-set-external-id", "cloudbr1", "cloudbr-owner", "kvmhost9"]],
        "bridge cloudbr1 belongs to cloudbr host kvmhost9, not kvmhost1",
    ),
}


@pytest.mark.parametrize("case", CONFLICTS.values(), ids=CONFLICTS.keys())
def test_untagged_conflicts_are_refused_before_any_change(
    ovsdb: OvsDb, case: tuple[list[list[str]], str]
) -> None:
    setup, message = case
    for cmd in setup:
        ovsdb.vsctl(*cmd)
    sb = make_sandbox(ovsdb, REFERENCE)
    dump, kernel = ovsdb.dump(), sb.state()
    out = sb.run()
    assert out.returncode == 3
    assert message in out.stderr
    assert "refusing to change anything" in out.stderr
    assert ovsdb.dump() == dump
    assert sb.state() == kernel
    check = sb.run("--check")
    assert check.returncode == 3
    assert message in check.stderr


def test_tagged_conflicts_are_repaired(ovsdb: OvsDb) -> None:
    tag = "external_ids:cloudbr-owner=kvmhost1"
    ovsdb.vsctl(
        "add-br", "cloudbr1", "--", "br-set-external-id", "cloudbr1", "cloudbr-owner", "kvmhost1"
    )
    ovsdb.vsctl("add-bond", "cloudbr1", "bond0", "eth0", "eth2", "--", "set", "Port", "bond0", tag)
    ovsdb.vsctl(
        "add-br",
        "cloudbr100",
        "--",
        "br-set-external-id",
        "cloudbr100",
        "cloudbr-owner",
        "kvmhost1",
    )
    sb = make_sandbox(ovsdb, REFERENCE)
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert "rebuild port bond0 on cloudbr0" in out.stderr
    assert_converged(sb, REFERENCE)


def run_debian_ifupdown_hook(sb: Sandbox, iface: str, **stanza: str) -> None:
    """Debian's own OVS ifupdown hook, as `ifup` runs it for an /etc/network/interfaces stanza."""
    env = sb.db.env(MODE="start", PHASE="pre-up", IFACE=iface, **stanza)
    env["PATH"] = f"{sb.root / 'bin'}:{env['PATH']}"
    env.update(FAKE_KERNEL=str(sb.kernel), FAKE_IP_LOG=str(sb.root / "ip.log"))
    subprocess.run(["sh", "/usr/share/openvswitch/scripts/ifupdown.sh"], env=env, check=True)


@pytest.mark.parametrize("vlan_type", ["OVSBridge", "OVSIntPort"])
def test_adopts_what_the_distro_network_scripts_built(ovsdb: OvsDb, vlan_type: str) -> None:
    host = REFERENCE
    sb = make_sandbox(ovsdb, host)
    for br, bond, members in (
        ("cloudbr0", "bond0", "eth0 eth1"),
        ("cloudbr1", "bond1", "eth2 eth3"),
    ):
        run_debian_ifupdown_hook(sb, br, IF_OVS_TYPE="OVSBridge")
        run_debian_ifupdown_hook(
            sb,
            bond,
            IF_OVS_TYPE="OVSBond",
            IF_OVS_BRIDGE=br,
            IF_OVS_BONDS=members,
            IF_OVS_OPTIONS="bond_mode=active-backup",
        )
    if vlan_type == "OVSBridge":
        run_debian_ifupdown_hook(
            sb, "cloudbr100", IF_OVS_TYPE="OVSBridge", IF_OVS_OPTIONS="cloudbr0 100"
        )
    else:
        run_debian_ifupdown_hook(
            sb,
            "cloudbr100",
            IF_OVS_TYPE="OVSIntPort",
            IF_OVS_BRIDGE="cloudbr0",
            IF_OVS_OPTIONS="tag=100",
        )
    uuids = {p: ovsdb.vsctl("get", "Port", p, "_uuid") for p in ("bond0", "bond1", "cloudbr100")}
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert "adopt bridge cloudbr0" in out.stderr
    assert_converged(sb, host)
    # Adopted in place, not recreated; the hook's own settings (fake bond iface) left alone.
    assert {p: ovsdb.vsctl("get", "Port", p, "_uuid") for p in uuids} == uuids
    assert ovsdb.get("Port", "bond0", "bond_fake_iface") == "true"
    again = sb.run()
    assert again.returncode == 0
    assert "in sync" in again.stderr


def test_odd_but_valid_names_work_end_to_end(ovsdb: OvsDb, tmp_path: Path) -> None:
    host = load_inventory(odd_inventory(tmp_path)).hosts[0]
    kernel = installer_kernel(host)
    kernel["addrs"].append(["eth0", "2001:db8::2/64"])
    kernel["addrs"].append(["eth1", "192.168.1.2/24"])  # a stale copy elsewhere goes too
    sb = make_sandbox(ovsdb, host, kernel)
    out = sb.run()
    assert out.returncode == 0, out.stderr
    assert ovsdb.bridges() == {"br-a_b.c1234567", "x-", "v.1_-x"}
    assert ovsdb.ifaces("bond-a_b.c12345") == {"eth0", "eth1"}
    assert ovsdb.ports("x-") == {"enp0s1-x_y.zz"}
    assert ovsdb.vsctl("br-to-vlan", "v.1_-x") == "4094"
    assert ovsdb.get("Interface", "eth0", "mtu_request") == "9000"
    assert ovsdb.get("Interface", "br-a_b.c1234567", "mtu_request") == "9000"
    assert sorted(sb.state()["addrs"]) == [
        ["br-a_b.c1234567", "192.168.1.2/24"],
        ["br-a_b.c1234567", "2001:db8::2/64"],
        ["v.1_-x", "10.9.9.9/24"],
    ]
    assert sb.calls("ping")[0][-1] == "192.168.1.254"
    assert sb.run().returncode == 0
    assert sb.run("--check").returncode == 0
