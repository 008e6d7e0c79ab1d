"""Builders for the hostile-input corpus and the one assertion every case makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudbr import cli

# One valid host, without and with a site.
HOSTS = (
    "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n    gateway: 192.168.100.1\n"
)
B = "site:\n  domain: mylab.local\n" + HOSTS
TWO_NICS = "      nics: [{name: eth0}, {name: eth1}]\n"
STD_BRIDGES = "      bridges: [{name: cloudbr0, uplink: eth0}, {name: cloudbr1, uplink: eth1}]\n"


def host(extra: str, site: str = "", distro: str = "") -> str:
    """The valid host with `extra` host keys (and `site` keys, a distro)."""
    doc = "site:\n  domain: mylab.local\n" + site + HOSTS
    if distro:
        doc += f"    distro: {distro}\n"
    return doc + extra


def topo(body: str, extra: str = "", backend: str = "linuxbridge") -> str:
    """The valid host with its own topology `body` (and `extra` host keys)."""
    return HOSTS + f"    backend: {backend}\n{extra}    topology:\n" + body


def assert_refused(
    text: str,
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`cloudbr render inv.yaml -o out` exits 1 with exactly `expected` and writes nothing."""
    monkeypatch.chdir(tmp_path)
    Path("inv.yaml").write_text(text, encoding="utf-8", newline="")
    assert cli.main(["render", "inv.yaml", "-o", "out"]) == 1
    out, err = capsys.readouterr()
    n = len(expected)
    summary = f"cloudbr: {n} problem{'s' if n != 1 else ''}; nothing written"
    assert err.split("\n") == [*expected, summary, ""]
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.yaml"]
