"""Subiquity autoinstall documents, proven by their consumers:
- the document against schema/autoinstall.schema.json (written from subiquity's reference, of
  exactly the keys cloudbr emits), with jsonschema;
- the whole user-data and its `user-data` passthrough with `cloud-init schema` (Debian's
  cloud-init 22.4, which knows the `autoinstall` key);
- the install-time `network` with `netplan generate --root-dir`;
- the late-commands with `sh -c`, as subiquity runs them, against a scratch target root that
  holds what subiquity leaves there (its netplan file) and the target's own `update-grub` and
  `systemctl` (stand-ins that log their arguments). `curtin` on PATH is a stand-in modelling
  `curtin in-target --target=T -- CMD`: curtin chroots into T and runs CMD; the stand-in runs
  CMD without chroot, in T, with T's bin directories first on PATH, and keeps CMD's status.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cloudbr.carriers import autoinstall, embed, packed
from cloudbr.files import File, FileMap, Role
from cloudbr.inventory import parse_inventory
from cloudbr.model import Backend, Host
from cloudbr.pipeline import render_host
from cloudbr.render import rootfs
from tests.conftest import EXAMPLES, REPO
from tests.test_eni import variant
from tests.test_netplan import parse_unit, values
from tests.test_seed_iso import extract, run

SCHEMA = json.loads((REPO / "schema" / "autoinstall.schema.json").read_text())
HASH = "$6$cloudbrlab$iTU3lxUd69EYmQuLMqd2Xh1HzO4FmuUBozC84qZLzvkcCaGexk9uYdMrlsmWWF0fBxRIIqG171n5.5fgjTOdY1"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnVQ0b7J0bZcVjB3o9D6gkgqLkqOlb0a1l3xq6m6ZVr op@lab"
INSTALLER = """\
  access:
    root_password_hash: "{hash}"
    ssh_authorized_keys: ["{key}"]
  installer:
    mirror: http://mirror.lab.example/ubuntu
    disk: vda
    agent_repo: https://repo.lab.example/cloudstack/ubuntu
    install_agent: true
    timezone: Europe/Berlin
"""


def _example(name: str, extra: str = "") -> Host:
    text = (EXAMPLES / name).read_text()
    if extra:
        text = text.replace("\nhosts:", extra.format(key=KEY, hash=HASH) + "\nhosts:")
    return parse_inventory(text, name).hosts[0]


HOSTS = {
    "ubuntu2404-ovs": _example("ubuntu2404-ovs.yaml"),
    "ubuntu2404-bridge": _example("ubuntu2404-bridge.yaml"),
    "ubuntu2404-ovs-installer": _example("ubuntu2404-ovs.yaml", INSTALLER),
    "variant-ubuntu2204-bridge": variant("linuxbridge", "ubuntu2204"),
}


def user_data(host: Host) -> dict[str, Any]:
    files = render_host(host)
    text = files[autoinstall.USER_DATA].content.decode()
    assert text.startswith("#cloud-config\n")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_document_matches_the_schema(name: str) -> None:
    doc = user_data(HOSTS[name])
    assert list(doc) == ["autoinstall"]  # 24.04: any other top-level key is an error
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_schema_can_say_no() -> None:
    doc = user_data(HOSTS["ubuntu2404-ovs"])
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for bad in (
        {**doc, "late-commands": []},  # outside autoinstall:
        {"autoinstall": {**doc["autoinstall"], "version": 2}},
        {"autoinstall": {**doc["autoinstall"], "identiy": {}}},
    ):
        assert not validator.is_valid(bad)


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_cloud_init_schema_accepts_user_data_and_passthrough(name: str, tmp_path: Path) -> None:
    host = HOSTS[name]
    whole = tmp_path / "user-data"
    whole.write_bytes(render_host(host)[autoinstall.USER_DATA].content)
    inner = tmp_path / "passthrough"
    passthrough = user_data(host)["autoinstall"]["user-data"]
    inner.write_text("#cloud-config\n" + yaml.safe_dump(passthrough))
    for path in (whole, inner):
        res = run("cloud-init", "schema", "--config-file", path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Valid cloud-config" in res.stdout


def test_root_access_and_timezone() -> None:
    host = HOSTS["ubuntu2404-ovs-installer"]
    doc = user_data(host)["autoinstall"]
    (root,) = doc["user-data"]["users"]
    assert root["name"] == "root"
    assert root["hashed_passwd"] == host.access.root_password_hash
    assert root["ssh_authorized_keys"] == [KEY]
    assert doc["user-data"]["disable_root"] is False
    assert doc["user-data"]["timezone"] == "Europe/Berlin"
    assert "identity" not in doc


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_install_network_is_the_install_nic_for_netplan(name: str, tmp_path: Path) -> None:
    host = HOSTS[name]
    network = user_data(host)["autoinstall"]["network"]
    path = tmp_path / "etc/netplan/00-installer-config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"network": network}))
    path.chmod(0o600)
    res = run("netplan", "generate", "--root-dir", tmp_path)
    assert (res.returncode, res.stderr) == (0, ""), res.stderr
    nic = autoinstall.install_nic(host)
    assert nic is not None
    bridge = host.primary_bridge
    device = f"{nic}.{bridge.vlan.id}" if bridge.vlan else nic
    unit = parse_unit((tmp_path / f"run/systemd/network/10-netplan-{device}.network").read_text())
    assert values(unit, "Network", "Address") == [str(a) for a in bridge.addresses]
    gateways = [str(g) for g in (host.gateway4, bridge.gateway6) if g]
    assert values(unit, "Route", "Gateway") == gateways
    if host.nic(nic).mac:
        link = (tmp_path / f"run/systemd/network/10-netplan-{nic}.link").read_text()
        assert host.nic(nic).mac in link
        assert f"Name={nic}" in link
    # Nothing else of the topology: the installed system gets it from the tree.
    assert sorted(p.name for p in (tmp_path / "run/systemd/network").glob("*.network")) == sorted(
        {f"10-netplan-{nic}.network", f"10-netplan-{device}.network"}
    )


def test_installer_settings() -> None:
    doc = user_data(HOSTS["ubuntu2404-ovs-installer"])["autoinstall"]
    assert doc["storage"] == {"layout": {"name": "lvm", "match": {"path": "/dev/vda"}}}
    mirror = [{"arches": ["default"], "uri": "http://mirror.lab.example/ubuntu"}]
    assert doc["apt"]["primary"] == mirror == doc["apt"]["security"]
    source = doc["apt"]["sources"]["cloudstack.list"]["source"]
    assert source.split()[-3:] == ["https://repo.lab.example/cloudstack/ubuntu", "noble", "4.20"]
    assert {"openvswitch-switch", "cloudstack-agent"} <= set(doc["packages"])
    plain = user_data(HOSTS["ubuntu2404-bridge"])["autoinstall"]
    assert plain["storage"] == {"layout": {"name": "lvm"}}
    assert "openvswitch-switch" not in plain["packages"]
    assert "cloudstack-agent" not in plain["packages"]
    assert "sources" not in plain["apt"]


STUB_CURTIN = """\
#!/bin/sh
# Stand-in for `curtin in-target --target=T -- CMD...` (see the module docstring).
[ "$1" = in-target ] || exit 64
shift
case "$1" in --target=*) target=${1#--target=}; shift ;; *) exit 64 ;; esac
[ "$1" = -- ] || exit 64
shift
[ -d "$target" ] || exit 65
cd "$target" && PATH="$target/usr/sbin:$target/usr/bin:$PATH" exec "$@"
"""
TARGET_TOOL = """\
#!/bin/sh
echo "$(basename "$0") $*" >> "$(pwd)/commands.log"
exit "${CLOUDBR_TEST_RC:-0}"
"""


def scratch_target(tmp: Path) -> tuple[Path, dict[str, str]]:
    """A target root as subiquity leaves it, and the environment of its late-commands."""
    target, bin_dir = tmp / "target", tmp / "bin"
    installer_netplan = target / "etc/netplan/00-installer-config.yaml"
    installer_netplan.parent.mkdir(parents=True)
    installer_netplan.write_text("network: {version: 2}\n")
    for tool in ("update-grub", "systemctl"):
        path = target / "usr/sbin" / tool
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TARGET_TOOL)
        path.chmod(0o755)
    bin_dir.mkdir()
    (bin_dir / "curtin").write_text(STUB_CURTIN)
    (bin_dir / "curtin").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env["TARGET_MOUNT_POINT"] = str(target)
    return target, env


def late_commands(host: Host, tree: FileMap) -> list[str]:
    doc = yaml.safe_load(autoinstall.render(host, tree)[autoinstall.USER_DATA].content)
    commands: list[str] = doc["autoinstall"]["late-commands"]
    return commands


def run_late(commands: list[str], env: dict[str, str]) -> int:
    for cmd in commands:
        rc = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True).returncode
        if rc:
            return rc
    return 0


def tree_on_disk(target: Path) -> dict[str, tuple[bytes, int]]:
    return {
        "/" + str(p.relative_to(target)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in target.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def with_unit(tree: FileMap) -> FileMap:
    unit = "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
    return {
        **tree,
        "/etc/systemd/system/cloudbr-x.service": File.text(unit, renderer="t", role=Role.UNIT),
    }


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_late_commands_lay_down_exactly_the_tree(name: str, tmp_path: Path) -> None:
    host = HOSTS[name]
    tree = with_unit(rootfs(host))
    target, env = scratch_target(tmp_path)
    assert run_late(late_commands(host, tree), env) == 0
    got = tree_on_disk(target)
    log = got.pop("/commands.log")[0].decode().splitlines()
    for tool in ("update-grub", "systemctl"):
        got.pop(f"/usr/sbin/{tool}")
    want = {p: (f.content, f.mode) for p, f in tree.items()}
    if host.access.ssh_authorized_keys:
        want[embed.AUTHORIZED_KEYS] = (
            "\n".join(host.access.ssh_authorized_keys).encode() + b"\n",
            0o600,
        )
        assert stat.S_IMODE((target / "root/.ssh").stat().st_mode) == 0o700
    # The installer's netplan file is gone; nothing but the tree is left.
    assert got == want
    assert "systemctl enable cloudbr-x.service" in log
    assert ("update-grub " in log) == host.legacy_nic_names


@pytest.mark.parametrize(
    "inject",
    ["target tool fails", "payload corrupt", "target unwritable", "no curtin"],
)
def test_late_commands_fail_loudly(inject: str, tmp_path: Path) -> None:
    host = HOSTS["ubuntu2404-ovs"]
    assert host.legacy_nic_names  # so update-grub runs in the target
    commands = late_commands(host, rootfs(host))
    target, env = scratch_target(tmp_path)
    if inject == "target tool fails":
        env["CLOUDBR_TEST_RC"] = "3"
    elif inject == "payload corrupt":
        lines = commands[0].split("\n")
        mid = len(lines) // 2  # a base64 line of the payload, past the gzip header
        lines[mid] = lines[mid][:10] + ("A" if lines[mid][10] != "A" else "B") + lines[mid][11:]
        commands = ["\n".join(lines)]
    elif inject == "target unwritable":
        (target / "etc/default").write_text("a file where a directory must go\n")
    else:
        env["PATH"] = "/usr/bin:/bin"
    assert run_late(commands, env) != 0


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_cidata_iso_holds_the_two_documents(name: str, tmp_path: Path) -> None:
    files = autoinstall.render(HOSTS[name], rootfs(HOSTS[name]))
    out = extract(files[autoinstall.ISO].content, tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["meta-data", "user-data"]
    for doc in ("meta-data", "user-data"):
        assert (out / doc).read_bytes() == files[f"{autoinstall.DIR}/{doc}"].content
    res = run("xorriso", "-indev", f"stdio:{tmp_path / 'seed.iso'}", "-pvd_info")
    assert "Volume Id    : cidata" in res.stdout
    assert all(f.mode == 0o600 for f in files.values())


def test_meta_data_instance_id_follows_the_document() -> None:
    host = HOSTS["ubuntu2404-ovs"]
    tree = rootfs(host)
    a = yaml.safe_load(autoinstall.render(host, tree)[autoinstall.META_DATA].content)
    assert a == yaml.safe_load(autoinstall.render(host, tree)[autoinstall.META_DATA].content)
    b = yaml.safe_load(autoinstall.render(host, with_unit(tree))[autoinstall.META_DATA].content)
    assert a["local-hostname"] == host.hostname
    assert a["instance-id"] != b["instance-id"]


def test_ubuntu_hosts_get_autoinstall_and_no_preseed() -> None:
    for host in HOSTS.values():
        files = render_host(host)
        assert autoinstall.USER_DATA in files
        assert not [p for p in files if p.endswith("preseed.cfg")]
        assert (host.backend is Backend.OVS) == (
            "openvswitch-switch" in user_data(host)["autoinstall"]["packages"]
        )


def test_pxe_sites_refuse_autoinstall_hosts_at_the_host() -> None:
    from tests.test_pxe_inventory import doc, errors

    text = doc().replace("distro: debian12", "distro: ubuntu2404")
    assert errors(text) == [
        "inv.yaml:7:5: hosts[0]: host kvm1 PXE-installs (site.pxe): PXE boot entries for "
        "subiquity (ubuntu2404) are not built yet; install from its media with "
        "OUT/kvm1/autoinstall/cidata.iso attached"
    ]


def _many_vlans(count: int) -> Host:
    """An Ubuntu 22.04 host with `count` VLAN bridges on bond1: a tree whose late-command
    would be longer than one `sh -c` argument may be."""
    vlans = "".join(
        f"        - {{id: {i}, parent: bond1, bridge: br{i}}}\n" for i in range(101, 101 + count)
    )
    text = f"""\
site: {{domain: lab.example, distro: ubuntu2204, backend: linuxbridge}}
hosts:
  - hostname: big
    topology:
      nics: [{{name: eth0}}, {{name: eth1}}, {{name: eth2}}, {{name: eth3}}]
      bonds:
        - {{name: bond0, members: [eth0, eth1]}}
        - {{name: bond1, members: [eth2, eth3]}}
      bridges:
        - {{name: cloudbr0, uplink: bond0, addresses: [192.0.2.10/24], gateway: 192.0.2.1}}
        - {{name: cloudbr1, uplink: bond1}}
      vlans:
{vlans}"""
    return parse_inventory(text, "many-vlans.yaml").hosts[0]


def test_a_tree_too_large_for_one_argument_gets_several_late_commands(tmp_path: Path) -> None:
    host = _many_vlans(1600)
    tree = rootfs(host)
    single = packed.unpack_and_run(autoinstall.late_parts(host, tree), script="late.sh", run="")
    with pytest.raises(OSError, match="Argument list too long") as too_long:
        subprocess.run(["sh", "-c", single], capture_output=True)  # one command: no start
    assert too_long.value.errno == errno.E2BIG
    commands = late_commands(host, tree)
    assert len(commands) >= 3
    assert all(len(c.encode()) < packed.ARG_MAX_STRLEN for c in commands)
    target, env = scratch_target(tmp_path)
    (tmp_path / "tmp").mkdir()
    env["TMPDIR"] = str(tmp_path / "tmp")
    assert run_late(commands, env) == 0
    got = tree_on_disk(target)
    for extra in ("/commands.log", "/usr/sbin/update-grub", "/usr/sbin/systemctl"):
        got.pop(extra, None)
    assert got == {p: (f.content, f.mode) for p, f in tree.items()}
    assert list((tmp_path / "tmp").iterdir()) == []  # the spool is gone
    lines = commands[1].split("\n")  # a slice corrupted: gzip's CRC fails the install
    lines[3] = lines[3][:10] + ("A" if lines[3][10] != "A" else "B") + lines[3][11:]
    target, env = scratch_target(tmp_path / "again")
    env["TMPDIR"] = str(tmp_path / "tmp")
    assert run_late([commands[0], "\n".join(lines), *commands[2:]], env) != 0
