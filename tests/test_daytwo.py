"""`cloudbr verify | diff | zone | diagram` and the render progress bar, through the CLI."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from cloudbr import zone
from cloudbr.cli import main
from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend
from tests.conftest import EXAMPLES, REPO
from tests.test_verify_onhost import LB, booted_lb, lb_ip

LAB = EXAMPLES / "lab.yaml"
CLOUDBR = str(Path(sys.executable).parent / "cloudbr")
API = json.loads((REPO / "tests/data/cloudstack-api-params.json").read_text())


# -- verify from the management side ---------------------------------------------------------
def test_verify_compares_a_dumped_state_with_the_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The on-host program dumps the state; `cloudbr verify` finds what it would find."""
    from cloudbr.render.verify import plan
    from cloudbr.verify import onhost

    booted_lb(tmp_path / "root", LB)
    (tmp_path / "plan.json").write_text(json.dumps(plan(LB)))
    dump = tmp_path / "state.json"
    argv = ["--plan", str(tmp_path / "plan.json"), "--dump-state", str(dump)]
    assert onhost.main(argv, source=onhost.Source(str(tmp_path / "root"), lb_ip())) == 0
    inv = str(REPO / "tests/e2e/inventory.yaml")
    assert main(["verify", inv, "--host", "e2e-lb-a", "--state", str(dump)]) == 0
    assert capsys.readouterr().out == "cloudbr-verify e2e-lb-a.e2e.test: no drift\n"
    # The same state is drift for another host of the inventory: its addresses differ.
    assert main(["verify", inv, "--host", "e2e-lb-b", "--state", str(dump), "--json"]) == 1
    drift = json.loads(capsys.readouterr().out)["drift"]
    assert {(d["subject"], d["what"]) for d in drift} == {
        ("cloudbr0", "addresses"),
        ("cloudbr100", "addresses"),
    }
    dump.write_text("not json")
    assert main(["verify", inv, "--host", "e2e-lb-a", "--state", str(dump)]) == 2
    assert main(["verify", inv, "--host", "nosuch", "--state", str(dump)]) == 1


# -- diff ------------------------------------------------------------------------------------
def test_diff_names_added_removed_changed_and_masks_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["render", str(LAB), "-o", str(out), "-q"]) == 0
    assert main(["diff", str(LAB), "-o", str(out)]) == 0
    # six hosts and the site-level pxe/ and _preseed/ trees
    assert capsys.readouterr().out == "0 tree(s) would change, 8 unchanged (hosts and site trees)\n"

    doc = yaml.safe_load(LAB.read_text())
    first, second = doc["hosts"][0], doc["hosts"][1]["hostname"]
    first["address"] = first["address"].replace(".21/", ".121/")
    # rounds=: a crypt(3) parameter the inventory accepts, masked with the rest of the hash
    doc["site"].setdefault("access", {})["root_password_hash"] = (
        "$6$rounds=9999$newsalt$" + "x" * 86
    )
    gone = doc["hosts"].pop(2)["hostname"]
    doc["site"]["pxe"]["hosts"].remove(gone)  # site.pxe may only name hosts that exist
    doc["hosts"].append({**doc["hosts"][1], "hostname": "kvm-new", "address": "192.168.100.99/24"})
    doc["hosts"][-1].pop("macs", None)
    doc["hosts"][-1].pop("storage_address", None)
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(doc))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["diff", str(changed), "-o", str(out)]) == 1
    text, errors = capsys.readouterr()
    assert errors == ""  # exit 1 here means changes, not an invalid inventory
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # wrote nothing
    assert f"- {gone} (removed from the inventory)" in text.splitlines()
    assert "+ kvm-new (added)" in text.splitlines()
    assert f"~ {first['hostname']} (changed)" in text.splitlines()
    assert f"~ {second} (changed)" in text.splitlines()  # the new root password hash
    assert "~ pxe (changed)" in text.splitlines()  # the first host's dhcp-host address
    assert "+192.168.100.121\t" in text  # /etc/hosts of the first host
    assert "newsalt" not in text
    assert "rounds=9999" not in text
    assert "$6$cloudbr" not in text
    assert "only masked secrets (password hash or SSH key) differ" in text
    # The first host's user-data: its /etc/hosts lines shown, the hash beside them not
    too = (
        f"{first['hostname']}/seed/user-data: masked secrets (password hash or SSH key) differ too"
    )
    assert too in text.splitlines()
    assert f"binary file {first['hostname']}/seed.iso differs" in text
    # --host: that host alone; a selection says nothing about hosts missing from it
    assert main(["diff", str(changed), "-o", str(out), "--host", second]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"~ {second} (changed)"
    assert main(["render", str(changed), "-o", str(out), "-q"]) == 0
    assert main(["diff", str(changed), "-o", str(out), "--host", second]) == 0


def test_mask_hides_hashes_and_keys_only() -> None:
    from cloudbr.diff import mask

    line = (
        "rootpw --iscrypted $6$abcdefgh$"
        + "A" * 86
        + "\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"
        + "x" * 40
        + " me@host\n"
    )
    assert mask(line) == "rootpw --iscrypted $*$***\nssh-ed25519 *** me@host\n"
    assert mask("price=$5 and $HOME\n") == "price=$5 and $HOME\n"


# -- zone ------------------------------------------------------------------------------------
def cmk_commands(script: str) -> list[tuple[str, dict[str, str]]]:
    """(API command name, parameters) of every `cmk VERB NOUN k=v ...` line."""
    out = []
    for line in script.splitlines():
        if not line.startswith("cmk "):
            continue
        words = shlex.split(line, comments=True)
        verb, noun, *pairs = words[1:]
        api = next(name for name in API if name.lower() == (verb + noun).lower())
        out.append((api, dict(p.split("=", 1) for p in pairs)))
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_zone_uses_only_real_api_parameters(path: Path) -> None:
    inv = load_inventory(path)
    commands = cmk_commands(zone.script(inv))
    for api, params in commands:
        assert set(params) <= set(API[api]["parameters"]), (api, params)
        assert set(API[api]["required"]) <= set(params), (api, params)
    hosts = [p for api, p in commands if api == "addHost"]
    assert sorted(p["url"] for p in hosts) == sorted(
        f"http://{h.primary_address.ip}"  # type: ignore[union-attr]
        for h in inv.hosts
    )
    assert {p["hypervisor"] for p in hosts} == {"KVM"}
    labels = {p["kvmnetworklabel"] for api, p in commands if api == "updateTrafficType"}
    assert labels == {b for h in inv.hosts for _, b in h.traffic_labels.items()}


def test_zone_script_passes_shellcheck_and_refuses_unset_ids(tmp_path: Path) -> None:
    script = tmp_path / "zone.sh"
    script.write_text(zone.script(load_inventory(LAB)))
    check = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cmk").write_text('#!/bin/sh\necho "$@" >>"$CMK_LOG"\n')
    (bin_dir / "cmk").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CMK_LOG": str(tmp_path / "cmk.log")}
    missing = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert missing.returncode != 0
    assert "CLUSTER_ID_1" in missing.stderr
    assert not (tmp_path / "cmk.log").exists()
    names = re.findall(r"\$\{(\w+):\?", script.read_text())
    full = {**env, **{n: f"value-of-{n}" for n in names}}
    assert subprocess.run(["sh", str(script)], env=full).returncode == 0
    calls = (tmp_path / "cmk.log").read_text().splitlines()
    assert "update traffictype id=value-of-TRAFFIC_ID_PUBLIC_1 kvmnetworklabel=cloudbr1" in calls
    assert sum(c.startswith("add host ") for c in calls) == len(load_inventory(LAB).hosts)


# -- diagram ---------------------------------------------------------------------------------
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name", ["kvm-c7-br", "kvm-d12-ovs"])
def test_diagram_svg_has_every_interface(tmp_path: Path, name: str) -> None:
    host = load_inventory(LAB).host(name)
    out = tmp_path / "host.svg"
    assert main(["diagram", str(LAB), "--host", name, "-o", str(out)]) == 0
    root = ET.fromstring(out.read_bytes())
    nodes = {
        g.findtext(f"{SVG}title"): " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "node"
    }
    want = (
        {n.name for n in host.nics} | {b.name for b in host.bonds} | {b.name for b in host.bridges}
    )
    if host.backend is Backend.LINUXBRIDGE:
        want |= {v.name for v in host.vlans}
    assert set(nodes) == want
    for br in host.bridges:
        for addr in br.addresses:
            assert str(addr) in nodes[br.name]
    for traffic, bridge in host.traffic_labels.items():
        assert traffic in nodes[bridge]
    edges = {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}
    bond = host.bonds[0]
    assert f"{bond.members[0]}->{bond.name}" in edges


def svg_text(data: bytes) -> list[tuple[str | None, list[str]]]:
    """Node titles and their text lines: what the picture says, not where dot put it (font
    metrics differ between machines)."""
    root = ET.fromstring(data)
    return sorted(
        (g.findtext(f"{SVG}title"), [t.text or "" for t in g.iter(f"{SVG}text")])
        for g in root.iter(f"{SVG}g")
        if g.get("class") in ("node", "edge")
    )


def test_committed_readme_diagram_is_current() -> None:
    from cloudbr.diagram import svg

    committed = REPO / "docs" / "kvmhost1.svg"
    host = load_inventory(EXAMPLES / "seed-centos7-bridge.yaml").host("kvmhost1")
    assert svg_text(committed.read_bytes()) == svg_text(svg(host))
    assert "docs/kvmhost1.svg" in (REPO / "README.md").read_text()


# -- progress --------------------------------------------------------------------------------
def big_inventory(tmp_path: Path, n: int) -> Path:
    hosts = [
        {
            "hostname": f"kvm{i:03d}",
            "address": f"192.168.{i // 200}.{i % 200 + 10}/16",
            "gateway": "192.168.255.1",
        }
        for i in range(n)
    ]
    inv = tmp_path / "big.yaml"
    inv.write_text(yaml.safe_dump({"site": {"distro": "debian12"}, "hosts": hosts}))
    return inv


def run_in_pty(argv: list[str]) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the pty
        os.environ["COLUMNS"] = "100"
        os.execv(argv[0], argv)
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 120)
        if not ready:
            os.kill(pid, 9)
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    inv = big_inventory(tmp_path, 12)
    rc, text = run_in_pty([CLOUDBR, "render", str(inv), "-o", str(tmp_path / "tty")])
    assert rc == 0, text
    assert "rendering" in text
    assert "12/12" in text
    rc, quiet = run_in_pty([CLOUDBR, "render", str(inv), "-o", str(tmp_path / "q"), "-q"])
    assert (rc, quiet) == (0, "")
    piped = subprocess.run(
        [CLOUDBR, "render", str(inv), "-o", str(tmp_path / "pipe")], capture_output=True, text=True
    )
    assert piped.returncode == 0
    assert piped.stderr == ""
    assert "rendering" not in piped.stdout
    assert "\x1b" not in piped.stdout
    assert len(piped.stdout.splitlines()) == 12
    small = big_inventory(tmp_path, 3)
    rc, text = run_in_pty([CLOUDBR, "render", str(small), "-o", str(tmp_path / "small")])
    assert rc == 0
    assert "rendering" not in text  # a bar only for large inventories
    shutil.rmtree(tmp_path / "tty")


def test_zone_brackets_an_ipv6_management_address() -> None:
    text = (
        "site: {domain: lab.test, distro: el9, ipv6: true}\n"
        "hosts:\n  - {hostname: v6only, address6: 2001:db8::25/64, gateway6: 2001:db8::1}\n"
    )
    (add_host,) = [
        p
        for api, p in cmk_commands(zone.script(parse_inventory(text, "v6.yaml")))
        if api == "addHost"
    ]
    assert add_host["url"] == "http://[2001:db8::25]"
    assert urllib.parse.urlsplit(add_host["url"]).hostname == "2001:db8::25"
