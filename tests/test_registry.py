"""The platform registry is the one place that knows distros: every id has an entry, a
rendered platform has a renderer for each of its stacks and a carrier for its installer, no
module outside it branches on a distro, and every rendered file says what it is (its role)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from cloudbr import carriers, cli, platform_files, platforms, render
from cloudbr.files import Role
from cloudbr.model import Backend, Distro
from tests.test_eni import HOSTS, variant

SRC = Path(__file__).resolve().parents[1] / "src" / "cloudbr"
# The registry, its types, its report and the model (which defines the enums).
REGISTRY = {"platforms.py", "platform_types.py", "platform_report.py", "model.py"}


def test_every_distro_id_has_one_entry() -> None:
    assert list(platforms.PLATFORMS) == list(Distro)
    for distro, p in platforms.PLATFORMS.items():
        assert p.id is distro
        # Every backend has its stacks, or the entry says why `check` refuses it.
        assert p.backends == tuple(b for b in Backend if not p.refused(b)), distro


@pytest.mark.parametrize("p", platforms.rendered(), ids=lambda p: p.id.value)
def test_rendered_platforms_have_their_renderers_and_carrier(p: platforms.Platform) -> None:
    assert p.installer.carrier in carriers.INSTALLER_CARRIERS
    assert p.kernel_args in render.KERNEL_ARGS_RENDERERS
    for backend in Backend:
        for stack in p.stacks(backend):
            assert render.STACK_RENDERERS.get(stack), (p.id, backend, stack)


def test_a_stack_is_only_what_the_renderers_know() -> None:
    """Every stack a rendered platform uses has its renderers."""
    used = {s for p in platforms.rendered() for b in Backend for s in p.stacks(b)}
    assert used <= set(render.STACK_RENDERERS)


def test_every_rootfs_file_has_a_role() -> None:
    roles = set()
    for host in [*HOSTS.values(), variant(distro="centos7"), variant("ovs", distro="centos7")]:
        for path, f in render.rootfs(host).items():
            assert f.role is not Role.ARTIFACT, (host.hostname, path, f.renderer)
            roles.add(f.role)
    # ACCESS comes from the carriers, ARTIFACT is what they make.
    assert roles == set(Role) - {Role.ACCESS, Role.ARTIFACT}


def _distro_references(tree: ast.AST) -> list[str]:
    """`Distro.X`, `Family.X`, `.family` and `.is_ubuntu` uses: branching on a distro."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("Distro", "Family"):
                out.append(f"{node.lineno}: {base.id}.{node.attr}")
            elif node.attr == "is_ubuntu":
                out.append(f"{node.lineno}: .{node.attr}")
            elif node.attr == "family" and not (isinstance(base, ast.Name) and base.id == "self"):
                out.append(f"{node.lineno}: .{node.attr}")  # (eni's stanzas: inet/inet6)
    return out


def test_no_distro_conditionals_outside_the_registry() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name in REGISTRY:
            continue
        refs = _distro_references(ast.parse(path.read_text(), str(path)))
        if refs:
            found[str(path.relative_to(SRC))] = refs
    assert found == {}


def test_distro_comparisons_are_found() -> None:
    """The check above can fail: it finds each way of naming a distro."""
    code = "if host.distro is Distro.EL8 or p.family is Family.RHEL or host.distro.is_ubuntu: pass"
    assert len(_distro_references(ast.parse(code))) == 4


def test_platforms_command_prints_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["platforms", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in doc] == [d.value for d in Distro]
    by_id = {p["id"]: p for p in doc}
    assert by_id["centos7"]["stacks"] == {
        "linuxbridge": ["ifcfg"],
        "ovs": ["ifcfg", "ovs-firstboot"],
    }
    assert by_id["debian12"]["installer"]["carrier"] == "preseed"
    assert by_id["debian12"]["cloudstack"] == "not tested"
    assert by_id["ubuntu2404"]["versions"]["ovs"] == "3.3"
    assert [p["id"] for p in doc if p["rendered"]] == [p.id.value for p in platforms.rendered()]
    assert cli.main(["platforms"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "NAME",
        "BACKENDS",
        "LINUXBRIDGE",
        "OVS",
        "INSTALLER",
        "CLOUDSTACK",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == [d.value for d in Distro]
    assert rows["centos7"].split()[3:7] == [
        "linuxbridge,ovs",
        "ifcfg",
        "ifcfg+ovs-firstboot",
        "kickstart",
    ]
    assert rows["el9"].split()[4:9] == [
        "linuxbridge,ovs",
        "nm-keyfile",
        "nm-keyfile+ovs-firstboot",
        "kickstart",
        "supported",
    ]
    assert rows["ubuntu2404"].split()[3:] == [
        "linuxbridge,ovs",
        "netplan",
        "netplan-ovs",
        "autoinstall",
        "supported",
    ]
    # 20.04 has no OVS backend (its netplan has no openvswitch section).
    assert rows["ubuntu2004"].split()[3:6] == ["linuxbridge", "netplan", "-"]


def test_generated_image_files_are_current() -> None:
    """The elements' pkg-map files, their platform facts and build-image.sh's platform table
    are generated from the registry: `make platforms` rewrites them."""
    root = SRC.parents[1]
    stale = [
        rel for rel, text in platform_files.files().items() if (root / rel).read_text() != text
    ]
    assert stale == [], "run `make platforms`"
    assert platform_files.main(["--root", str(root), "--check"]) == 0


def test_a_stale_generated_file_is_found(tmp_path: Path) -> None:
    for rel, text in platform_files.files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert platform_files.main(["--root", str(tmp_path), "--check"]) == 0
    pkg_map = tmp_path / "elements/cloudbr-ovs/pkg-map"
    pkg_map.write_text(pkg_map.read_text().replace("resolvconf", "openresolv"))
    assert platform_files.main(["--root", str(tmp_path), "--check"]) == 1
    assert platform_files.main(["--root", str(tmp_path)]) == 0
    assert "resolvconf" in pkg_map.read_text()
