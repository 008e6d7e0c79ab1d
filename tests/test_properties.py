"""Properties over generated inventories: every valid one renders, deterministically, with
names the kernel accepts; every misspelt key is reported at its own line and column."""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbr.inventory import InventoryError, parse_inventory
from cloudbr.model import IFNAMSIZ
from cloudbr.pipeline import render_host

DISTROS = ["centos7", "ubuntu1804", "debian12"]
LINUX_MODES = ["active-backup", "balance-xor", "802.3ad", "balance-tlb", "balance-alb"]
OVS_MODES = ["active-backup", "balance-slb", "balance-tcp"]


@st.composite
def hosts(draw: st.DrawFn, index: int) -> dict[str, Any]:
    backend = draw(st.sampled_from(["linuxbridge", "ovs"]))
    mode = draw(st.sampled_from(OVS_MODES if backend == "ovs" else LINUX_MODES))
    miimon = draw(st.sampled_from([50, 100, 200]))
    host: dict[str, Any] = {
        "hostname": f"kvm{index}-{draw(st.sampled_from(['a', 'b', 'x1']))}",
        "distro": draw(st.sampled_from(DISTROS)),
        "backend": backend,
        "address": f"192.168.{index // 200}.{index % 200 + 10}/16",
        "gateway": "192.168.250.1",
        "bond": {"mode": mode, "miimon": miimon, "updelay": miimon * draw(st.integers(0, 2))},
    }
    if draw(st.booleans()):
        host["storage_address"] = f"10.{index // 200}.{index % 200}.20/24"
        host["storage"] = {"vlan": draw(st.integers(1, 4094))}
    if draw(st.booleans()):
        host["macs"] = {
            f"eth{n}": f"52:54:00:{index // 256:02x}:{index % 256:02x}:{n:02x}" for n in range(4)
        }
    if mode == "802.3ad" and draw(st.booleans()):
        host["bond"]["lacp_rate"] = "fast"
    return host


@st.composite
def inventories(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    return {
        "site": {
            "domain": draw(st.sampled_from(["mylab.local", "a.example.org"])),
            "dns": {"servers": ["192.168.250.5"], "search": ["mycloud.local"]},
        },
        "hosts": [draw(hosts(i)) for i in range(n)],
    }


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(inventories())
def test_valid_inventories_render_deterministically(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    inv = parse_inventory(text, "gen.yaml")
    assert len(inv.hosts) == len(doc["hosts"])
    for host in inv.hosts:
        first = render_host(host)
        second = render_host(parse_inventory(text, "gen.yaml").host(host.hostname))
        assert first == second
        names = {n.name for n in host.nics} | {b.name for b in host.bonds}
        names |= {b.name for b in host.bridges} | {v.name for v in host.vlans}
        assert all(len(name) <= IFNAMSIZ for name in names)
        manifest = json.loads(first["manifest.json"].content)
        assert {f["path"] for f in manifest["files"]} == {
            p[len("rootfs") :] for p in first if p.startswith("rootfs/")
        }
        assert "seed.iso" in first
        assert ("kickstart.cfg" in first) == (host.distro.value == "centos7")


@SETTINGS
@given(inventories(), st.data())
def test_a_misspelt_key_is_reported_at_its_line(doc: dict[str, Any], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(doc["hosts"]) - 1))
    key = data.draw(st.sampled_from(sorted(doc["hosts"][i])))
    host = doc["hosts"][i]
    doc["hosts"][i] = {(k + "x" if k == key else k): v for k, v in host.items()}
    text = yaml.safe_dump(doc, sort_keys=False)
    lines = text.splitlines()
    start = next(n for n, ln in enumerate(lines) if ln.startswith("- ") and host["hostname"] in ln)
    line = 1 + next(n for n in range(start, len(lines)) if lines[n][2:].startswith(f"{key}x:"))
    try:
        parse_inventory(text, "gen.yaml")
    except InventoryError as exc:
        reported = exc.lines
    else:
        raise AssertionError("a misspelt key was accepted")
    expected = f"gen.yaml:{line}:3: hosts[{i}].{key}x: unknown key '{key}x' (did you mean '{key}'?)"
    assert expected in reported
