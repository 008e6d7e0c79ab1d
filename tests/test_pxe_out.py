"""OUT/pxe/ beside the hosts' trees: the lab example, and --prune (site-level, no host)."""

from __future__ import annotations

from pathlib import Path

from cloudbr.cli import main
from tests.conftest import EXAMPLES
from tests.test_pxe import dnsmasq_test, inventory


def test_lab_example_renders_a_pxe_tree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["render", str(EXAMPLES / "lab.yaml"), "-o", str(out), "-q"]) == 0
    assert dnsmasq_test(out / "pxe/dnsmasq.conf").returncode == 0
    assert len(list((out / "pxe/ipxe").glob("*.ipxe"))) == 3


def test_prune_keeps_the_pxe_tree_while_site_pxe_is_set(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(inventory({}))
    out = tmp_path / "out"
    assert main(["render", str(inv), "-o", str(out), "-q", "--prune"]) == 0
    assert (out / "pxe/manifest.json").is_file()
    assert main(["render", str(inv), "-o", str(out), "-q", "--prune", "--host", "el1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["deb1", "el1", "pxe"]
