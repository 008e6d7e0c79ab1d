"""The EL8/EL9 NoCloud seed: the keyfiles travel as files and cloud-init keeps off the network.

Proven with cloud-init's own code (tests/support/cloud_init.py, Debian's cloud-init 22.4):
its NoCloud reader finds the network disabled on the first boot and on later ones, its
write_files lays down every keyfile with mode 0600, and `cloud-init schema` accepts the
user-data; runcmd's commands are NetworkManager's own nmcli verbs, run here by nmcli's
parser knows each verb (under `--offline`, which they need the daemon for, nmcli names
a known verb as unsupported offline and an unknown one as not understood; their arguments
are not checked there).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudbr import render
from cloudbr.carriers import cloudinit, seed_iso
from cloudbr.inventory import load_inventory
from cloudbr.model import Backend, Host
from cloudbr.pipeline import render_host
from cloudbr.render import nm_keyfile, ovs_firstboot
from tests.conftest import EXAMPLES
from tests.support import cloud_init
from tests.test_seed_iso import extract, run

HOSTS = [h for p in sorted(EXAMPLES.glob("el*.yaml")) for h in load_inventory(p).hosts]


@pytest.fixture(scope="module", params=HOSTS, ids=lambda h: f"{h.distro.value}-{h.backend.value}")
def seed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    host: Host = request.param
    tmp = tmp_path_factory.mktemp(host.backend.value)
    files = render_host(host)
    seed_dir = extract(files[seed_iso.ISO].content, tmp)
    write_root = tmp / "written"
    write_root.mkdir()
    case = {
        "seed": str(seed_dir),
        "write_root": str(write_root),
        "system_cfgs": [{}],
        "distro": "rhel",
        "renderer": "sysconfig",
    }
    (got,) = cloud_init.read([case], tmp)
    return {
        "host": host,
        "files": files,
        "tree": render.rootfs(host),
        "got": got,
        "root": write_root,
        "user_data": yaml.safe_load(files["seed/user-data"].content),
    }


def test_cloud_init_renders_no_network(seed: dict[str, Any]) -> None:
    assert not cloudinit.cloud_init_owns_network(seed["host"])
    assert seed["got"]["network_config"] in (
        {"network": {"config": "disabled"}},
        {"config": "disabled"},
    )
    assert seed["got"]["networks"][0] == [None, "DS", None]


def test_write_files_lays_down_the_keyfiles_root_only(seed: dict[str, Any]) -> None:
    tree = seed["tree"]
    keyfiles = [p for p in tree if p.startswith(nm_keyfile.CONNECTIONS + "/")]
    assert bool(keyfiles) == (seed["host"].backend is Backend.LINUXBRIDGE)
    for path in [*keyfiles, nm_keyfile.CONF]:
        assert seed["got"]["written"][path] == [
            hashlib.sha256(tree[path].content).hexdigest(),
            tree[path].mode,
        ]
        assert (seed["root"] / path.lstrip("/")).read_bytes() == tree[path].content
    assert {tree[p].mode for p in keyfiles} <= {0o600}
    entries = {e["path"]: e for e in seed["user_data"]["write_files"]}
    assert all(entries[p]["owner"] == "root:root" for p in keyfiles)


def test_runcmd_has_networkmanager_take_the_files_up(seed: dict[str, Any]) -> None:
    host: Host = seed["host"]
    runcmd: list[list[str]] = seed["user_data"]["runcmd"]
    nm = [c for c in runcmd if c[0] == "nmcli"]
    assert nm[0] == ["nmcli", "general", "reload", "conf"]
    if host.backend is Backend.OVS:
        # The OVS devices are unmanaged before the first-boot unit builds the bridges.
        assert nm == [nm[0]]
        start = next(i for i, c in enumerate(runcmd) if c[:3] == ["systemctl", "enable", "--now"])
        assert runcmd.index(nm[0]) < start
        assert ovs_firstboot.UNIT in runcmd[start]
        return
    assert nm[1] == ["nmcli", "connection", "reload"]
    ups = [c[4] for c in nm[2:]]
    assert [c[:4] for c in nm[2:]] == [["nmcli", "connection", "up", "uuid"]] * len(ups)
    ports = [n.name for n in host.nics] + [v.name for v in host.vlans]
    assert ups == [nm_keyfile.profile_uuid(host, d) for d in ports]
    uuids = {
        line.split("=", 1)[1]
        for p, f in seed["tree"].items()
        if p.endswith(".nmconnection")
        for line in f.content.decode().splitlines()
        if line.startswith("uuid=")
    }
    assert set(ups) <= uuids


def test_nmcli_knows_the_commands(seed: dict[str, Any]) -> None:
    """nmcli's own parser knows every verb (it cannot run them without the daemon)."""
    for cmd in [c for c in seed["user_data"]["runcmd"] if c[0] == "nmcli"]:
        res = run("nmcli", "--offline", *cmd[1:])
        assert "doesn't support --offline mode" in res.stderr, (cmd, res.stderr)
    bogus = run("nmcli", "--offline", "connection", "upp", "uuid", "x")
    assert "not understood" in bogus.stderr


def test_cloud_init_schema_accepts_user_data(seed: dict[str, Any], tmp_path: Path) -> None:
    ud = tmp_path / "user-data"
    ud.write_bytes(seed["files"]["seed/user-data"].content)
    res = run("cloud-init", "schema", "--config-file", ud)
    assert res.returncode == 0, res.stdout + res.stderr
