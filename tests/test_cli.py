"""The CLI contract: exit codes, outputs, atomic writes, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudbr import cli, writer
from tests.conftest import EXAMPLES, REPO

LAB = EXAMPLES / "lab.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudbr", *args], capture_output=True, text=True, check=False
    )


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root: relative path -> (sha256, mode)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mode & 0o7777,
            )
    return out


def test_check_loads_no_renderer() -> None:
    """`check` of a large inventory is mostly start-up: it must not import the renderers,
    the carriers (pycdlib) or Jinja2, which only `render` and the day-two commands need."""
    code = (
        "import sys; from cloudbr import cli; cli.main(['check', sys.argv[1]]); "
        "print(sorted(m for m in sys.modules if m.startswith(('cloudbr.render', "
        "'cloudbr.carriers', 'cloudbr.pipeline', 'jinja2', 'pycdlib'))))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(LAB)], capture_output=True, text=True, check=True
    )
    assert res.stdout.splitlines()[-1] == "[]"


def test_check_lists_every_host() -> None:
    res = run("check", str(LAB))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 6
    assert lines[0].split("\t") == [
        "kvm-c7-br.mylab.local",
        "centos7",
        "linuxbridge",
        "cloudbr0=192.168.100.21/24 cloudbr100=10.0.100.21/24",
    ]


def test_check_json() -> None:
    res = run("check", "--json", str(EXAMPLES / "seed-ubuntu1804-ovs.yaml"))
    assert res.returncode == 0
    assert json.loads(res.stdout) == [
        {
            "hostname": "kvmhost1",
            "fqdn": "kvmhost1.mylab.local",
            "distro": "ubuntu1804",
            "backend": "ovs",
            "addresses": {"cloudbr0": ["192.168.100.20/24"], "cloudbr100": ["10.0.100.20/24"]},
        }
    ]


def test_usage_error_exits_2() -> None:
    assert run("render", str(LAB)).returncode == 2  # -o is required
    assert run("frobnicate").returncode == 2


def test_invalid_inventory_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/255.255.155.0\n")
    out = tmp_path / "out"
    res = run("render", str(bad), "-o", str(out))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        f"{bad}:3:14: hosts[0].address: '192.168.100.20/255.255.155.0': "
        "'255.255.155.0' is not a valid netmask",
        "cloudbr: 1 problem; nothing written",
    ]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_broken_inventory_leaves_existing_out_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("render", str(LAB), "-o", str(out)).returncode == 0
    before = snapshot(out)
    bad = tmp_path / "bad.yaml"
    bad.write_text(LAB.read_text().replace("gateway: 192.168.100.1", "gateway: 10.9.9.9", 1))
    assert run("render", str(bad), "-o", str(out)).returncode == 1
    assert snapshot(out) == before


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    res = run("check", str(tmp_path / "nope.yaml"))
    assert res.returncode == 1
    assert "nope.yaml:1:1: (document): cannot read: No such file or directory" in res.stderr


def test_render_writes_rootfs_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 0
    hosts = sorted(p.name for p in out.iterdir())
    # The lab has site.pxe: OUT/pxe/ is the site-level tree beside the hosts'; its OVS preseed
    # hosts fetch the first-boot program from OUT/_preseed/.
    lab = ["kvm-c7-br", "kvm-c7-ovs", "kvm-u18-br", "kvm-u18-ovs", "kvm-d12-br", "kvm-d12-ovs"]
    assert hosts == sorted([*lab, "pxe", "_preseed"])
    manifest = json.loads((out / "kvm-c7-br" / "manifest.json").read_text())
    assert manifest["host"] == "kvm-c7-br"
    for entry in manifest["files"]:
        f = out / "kvm-c7-br" / "rootfs" / entry["path"].lstrip("/")
        assert hashlib.sha256(f.read_bytes()).hexdigest() == entry["sha256"]
        assert f"{f.stat().st_mode & 0o7777:04o}" == entry["mode"]
        assert entry["renderer"]
    for entry in manifest["artifacts"]:
        f = out / "kvm-c7-br" / entry["path"]
        assert hashlib.sha256(f.read_bytes()).hexdigest() == entry["sha256"]


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["render", str(LAB), "-o", str(a), "-q"]) == 0
    assert cli.main(["render", str(LAB), "-o", str(b), "-q"]) == 0
    assert snapshot(a) == snapshot(b)


def test_render_one_host_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 0
    before = snapshot(out)
    (out / "kvm-d12-br" / "rootfs" / "etc" / "hostname").unlink()
    assert cli.main(["render", str(LAB), "-o", str(out), "-q", "--host", "kvm-d12-br"]) == 0
    assert snapshot(out) == before


def test_unknown_host_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", str(LAB), "-o", str(tmp_path / "o"), "--host", "nope"]) == 1
    assert f"{LAB}: no host named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_failure_while_writing_leaves_out_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 0
    before = snapshot(out)
    calls = 0
    real = writer._write_file

    def failing(target: str, content: bytes, mode: int, umask_free: bool = False) -> None:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise OSError(28, "No space left on device")
        real(target, content, mode, umask_free)

    monkeypatch.setattr(writer, "_write_file", failing)
    assert cli.main(["render", str(LAB), "-o", str(out), "-q"]) == 3
    assert capsys.readouterr().err == "cloudbr: No space left on device\n"
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert not [p for p in os.listdir(out) if p.startswith(".")]  # no stage left behind


def test_schema_is_valid_json_and_committed_copy_is_current() -> None:
    res = run("schema")
    assert res.returncode == 0
    schema = json.loads(res.stdout)
    assert schema["title"] == "cloudbr inventory"
    assert "hosts" in schema["required"]
    committed = (REPO / "schema" / "inventory.schema.json").read_text()
    assert committed == res.stdout, "run `make schema` to refresh schema/inventory.schema.json"


def test_examples_reference_the_schema() -> None:
    for example in EXAMPLES.glob("*.yaml"):
        first = example.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/inventory.schema.json", example


def test_examples_validate_against_the_published_json_schema() -> None:
    import jsonschema
    import yaml

    schema = json.loads((REPO / "schema" / "inventory.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for example in EXAMPLES.glob("*.yaml"):
        assert list(validator.iter_errors(yaml.safe_load(example.read_text()))) == [], example
    bad = {"hosts": [{"hostname": "a", "bnods": []}]}
    assert [e.message for e in validator.iter_errors(bad)] == [
        "Additional properties are not allowed ('bnods' was unexpected)"
    ]


def test_image_subcommand_fails_fast_naming_the_variable(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudbr",
            "image",
            "ubuntu1804",
            "ovs",
            "--check",
            "--output-dir",
            str(tmp_path),
        ],
        env={**os.environ, "DIB_DISTRIBUTION_MIRROR": "http://127.0.0.1:9/ubuntu"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode != 0
    assert "Set DIB_DISTRIBUTION_MIRROR to a reachable Ubuntu mirror" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_image_subcommand_rejects_unknown_backend() -> None:
    assert run("image", "debian12", "linux").returncode == 2
