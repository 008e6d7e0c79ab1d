"""The NoCloud seed ISO, proven by its consumers: blkid, xorriso, `cloud-init schema`, and
cloud-init's own boot path (tests/support/cloud_init.py: NoCloud reading the extracted ISO,
network selection, network_state and the distro's renderer, write_files, the hostname it
writes) with Debian's cloud-init 22.4 (importable only under /usr/bin/python3) and, given
CLOUDBR_CLOUD_INIT_TREES, the source trees of the oldest versions the platforms ship: 19.4
(CentOS 7.9) and 23.1 (bionic's last); plus `netplan generate`."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pycdlib
import pytest
import yaml

from cloudbr import render
from cloudbr.carriers import cloudinit, seed_iso
from cloudbr.files import File, FileMap, Role
from cloudbr.inventory import load_inventory
from cloudbr.iso import EPOCH, IsoError, build_iso
from cloudbr.model import Backend, Family, Host
from cloudbr.pipeline import render_host
from cloudbr.platforms import platform
from cloudbr.render import common, netplan, ovs_firstboot
from tests.conftest import EXAMPLES
from tests.support import cloud_init, preloaded
from tests.test_eni import variant

INVENTORIES = [EXAMPLES / "lab.yaml", *sorted(EXAMPLES.glob("seed-*.yaml"))]
HOSTS: list[Host] = [h for inv in INVENTORIES for h in load_inventory(inv).hosts]
# IPv6 with a default route, MTUs, 802.3ad: the topology away from the reference one.
HOSTS += [variant(), variant(distro="centos7")]
# Paths where a file defines interfaces, for every distro we render.
CLOUD_CFG_D = "/etc/cloud/cloud.cfg.d/"
NETWORK_DEFINITION_PREFIXES = (
    "/etc/netplan/",
    "/etc/network/interfaces",
    "/etc/sysconfig/network-scripts/ifcfg-",
)


def _id(host: Host) -> str:
    return f"{host.hostname}-{host.distro.value}-{host.backend.value}"


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    # cloud-init from the preloaded fork server (tests/support/preloaded.py), the rest as is.
    return preloaded.run([str(a) for a in argv], text=True)


def extract(iso: bytes, tmp: Path, *load_options: str) -> Path:
    """Extract with xorriso; load_options e.g. ("-read_fs", "norock") to read Joliet names."""
    image, out = tmp / "seed.iso", tmp / "extracted"
    image.write_bytes(iso)
    # stdio: a plain file wherever it is (xorriso refuses paths under /dev, e.g. /dev/shm).
    indev = f"stdio:{image}"
    res = run("xorriso", *load_options, "-osirrox", "on", "-indev", indev, "-extract", "/", out)
    assert res.returncode == 0, res.stderr
    return out


def system_cfg(files: dict[str, bytes]) -> dict[str, Any]:
    """What cloud-init would merge from these cloud.cfg.d files (later names win)."""
    merged: dict[str, Any] = {}
    for path in sorted(files):
        if path.startswith(CLOUD_CFG_D):
            merged.update(yaml.safe_load(files[path]) or {})
    return merged


def written_by_user_data(cloud_config: dict[str, Any]) -> dict[str, bytes]:
    out = {}
    for f in cloud_config["write_files"]:
        raw = f["content"].encode()
        out[f["path"]] = base64.b64decode(raw) if f.get("encoding") == "b64" else raw
    return out


@pytest.fixture
def restore_tz() -> Iterator[None]:
    yield
    time.tzset()


# --- the ISO writer ------------------------------------------------------------------------

SMALL = {
    "user-data": b"#cloud-config\nhostname: a\n",
    "meta-data": b"instance-id: x\n",
    "network-config": b"network:\n  config: disabled\n",
}


def test_blkid_sees_a_cidata_iso9660(tmp_path: Path) -> None:
    image = tmp_path / "seed.iso"
    image.write_bytes(build_iso(SMALL, label="cidata"))
    res = run("blkid", "-p", "-o", "export", image)
    assert res.returncode == 0, res.stderr
    fields = dict(line.split("=", 1) for line in res.stdout.splitlines())
    assert fields["LABEL"] == "cidata"
    assert fields["TYPE"] == "iso9660"
    # The ISO9660 "UUID" blkid reports is the volume date: our fixed one, not today.
    assert fields["UUID"] == "2000-01-01-00-00-00-00"


@pytest.mark.parametrize(
    ("read_fs", "names"),
    [
        ("any", {n: n for n in SMALL}),  # Rock Ridge, what Linux mounts
        ("norock", {n: n for n in SMALL}),  # Joliet
        (
            "ecma119",
            {
                "META_DATA": "meta-data",
                "NETWORK_CONFIG": "network-config",
                "USER_DATA": "user-data",
            },
        ),
    ],
)
def test_names_through_each_namespace(tmp_path: Path, read_fs: str, names: dict[str, str]) -> None:
    out = extract(build_iso(SMALL, label="cidata"), tmp_path, "-read_fs", read_fs)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        on_disc: SMALL[name] for on_disc, name in names.items()
    }


def test_rock_ridge_mode_keeps_secrets_root_only(tmp_path: Path) -> None:
    out = extract(build_iso(SMALL, label="cidata"), tmp_path)
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o400}


def test_same_files_give_the_same_bytes_whatever_the_clock_and_tz(
    monkeypatch: pytest.MonkeyPatch, restore_tz: None
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.25)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    first = build_iso(SMALL, label="cidata")
    monkeypatch.setattr(time, "time", lambda: 1_800_000_777.5)
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: a non-zero GMT offset if it leaked
    time.tzset()
    second = build_iso(dict(reversed(SMALL.items())), label="cidata")
    assert first == second
    # pycdlib got its `time` module back.
    assert all(getattr(m, "time", time) is time for n, m in sys.modules.items() if "pycdlib" in n)


def test_recorded_dates_are_the_fixed_epoch(tmp_path: Path) -> None:
    image = tmp_path / "seed.iso"
    image.write_bytes(build_iso(SMALL, label="cidata"))
    want = time.gmtime(EPOCH)
    reader = pycdlib.PyCdlib()
    reader.open(str(image))
    try:
        created = reader.pvd.volume_creation_date
        assert (created.year, created.month, created.dayofmonth) == (want.tm_year, 1, 1)
        assert created.gmtoffset == 0
        for name in SMALL:
            rec = reader.get_record(rr_path="/" + name)
            assert (rec.date.years_since_1900 + 1900, rec.date.month, rec.date.gmtoffset) == (
                want.tm_year,
                1,
                0,
            )
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("files", "label"),
    [
        ({"a/b": b""}, "cidata"),  # no directories
        ({"user-data": b"", "user_data": b""}, "cidata"),  # same ISO9660 name
        ({"x" * 31: b""}, "cidata"),
        (SMALL, "ci data"),
    ],
)
def test_unrepresentable_input_is_refused(files: dict[str, bytes], label: str) -> None:
    with pytest.raises(IsoError):
        build_iso(files, label=label)


# --- the seed of every example host --------------------------------------------------------


# cloud-init's distro and the network renderer it uses there (the first of the distro's
# renderer list that is installed: sysconfig on EL, netplan on Ubuntu, eni on Debian 12).
DISTRO_RENDERER = {
    "centos7": ("rhel", "sysconfig"),
    "ubuntu1804": ("ubuntu", "netplan"),
    "debian12": ("debian", "eni"),
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Per example host: its rendered output, the ISO extracted by xorriso, and what
    cloud-init's NoCloud reader made of it."""
    cases, out = [], {}
    for host in HOSTS:
        tmp = tmp_path_factory.mktemp(host.hostname)
        files = render_host(host)
        tree = render.rootfs(host)
        seed_dir = extract(files[seed_iso.ISO].content, tmp)
        written = {p: tree[p].content for p in cloudinit.carried_paths(host, tree)}
        write_root = tmp / "written"
        write_root.mkdir()
        cases.append(
            {
                "seed": str(seed_dir),
                "write_root": str(write_root),
                # first boot (no system config) and a later boot (what write_files added)
                "system_cfgs": [{}, system_cfg(written)],
                "distro": DISTRO_RENDERER[host.distro.value][0],
                "renderer": DISTRO_RENDERER[host.distro.value][1],
            }
        )
        out[_id(host)] = {"host": host, "files": files, "tree": tree, "seed_dir": seed_dir}
    for tree_path in cloud_init.trees():
        results = cloud_init.read(cases, tmp_path_factory.mktemp("ci"), tree_path)
        for key, result in zip(out, results, strict=True):
            out[key].setdefault("cloud_init", result)  # the installed one comes first
            out[key].setdefault("versions", {})[result["version"]] = result
    return out


@pytest.fixture(params=HOSTS, ids=_id)
def seed(request: pytest.FixtureRequest, seeds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return seeds[_id(request.param)]


def test_cloud_init_reads_the_iso_as_rendered(seed: dict[str, Any]) -> None:
    host: Host = seed["host"]
    files: FileMap = seed["files"]
    got = seed["cloud_init"]
    assert got["found"]
    assert got["seed"].endswith("/seed/nocloud")
    assert got["user_data"].encode() == files["seed/user-data"].content
    assert got["user_data"].startswith("#cloud-config\n")
    meta = yaml.safe_load(files["seed/meta-data"].content)
    assert meta == {"instance-id": got["instance_id"], "local-hostname": host.hostname}
    assert got["instance_id"].startswith("cloudbr-")
    assert got["meta_data"]["local-hostname"] == host.hostname
    assert got["network_config"] == yaml.safe_load(files["seed/network-config"].content)
    for name in ("user-data", "meta-data", "network-config"):
        assert (seed["seed_dir"] / name).read_bytes() == files[f"seed/{name}"].content


def test_cloud_init_schema_accepts_user_data(seed: dict[str, Any], tmp_path: Path) -> None:
    ud = tmp_path / "user-data"
    ud.write_bytes(seed["files"]["seed/user-data"].content)
    res = run("cloud-init", "schema", "--config-file", ud)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Valid cloud-config" in res.stdout


def test_cloud_init_schema_can_say_no(tmp_path: Path) -> None:
    """The check above is not a formality: a malformed write_files entry is refused."""
    bad = tmp_path / "user-data"
    bad.write_text("#cloud-config\nwrite_files:\n- content: no path\n  permissions: 644\n")
    res = run("cloud-init", "schema", "--config-file", bad)
    assert res.returncode != 0


def test_identity_and_access(seed: dict[str, Any]) -> None:
    host: Host = seed["host"]
    cfg = seed["cloud_init"]["cloud_config"]
    assert cfg["hostname"] == host.hostname
    # The name cc_set_hostname writes, as each cloud-init version's util.get_hostname_fqdn and
    # distro pick it (on EL, distros/rhel.py prefers an fqdn whenever it has one).
    for version, got in seed["versions"].items():
        assert got["hostname_written"] == host.hostname, version
    assert "fqdn" not in cfg
    if host.access.root_password_hash or host.access.ssh_authorized_keys:
        (root,) = cfg["users"]
        assert root["name"] == "root"
        assert root.get("hashed_passwd") == host.access.root_password_hash
        assert root.get("ssh_authorized_keys", []) == list(host.access.ssh_authorized_keys)
        assert not {"plain_text_passwd", "passwd"} & set(root)
        assert root.get("lock_passwd") is (not host.access.root_password_hash)
        assert cfg["disable_root"] is False
    else:
        assert "users" not in cfg


def test_write_files_lays_down_the_tree(seed: dict[str, Any]) -> None:
    """cloud-init's own write_files, replayed, produces the tree's bytes and modes."""
    host: Host = seed["host"]
    tree: FileMap = seed["tree"]
    written = seed["cloud_init"]["written"]
    expected = cloudinit.carried_paths(host, tree)
    assert list(written) == expected  # sorted, as rendered
    for path in expected:
        f = tree[path]
        assert written[path] == [hashlib.sha256(f.content).hexdigest(), f.mode]
    assert common.BRIDGE_BLACKLIST not in written
    assert common.AGENT_PROPERTIES in written
    if host.backend is Backend.OVS:
        # The shared program is no part of user-data: the ISO carries it once, as a file.
        shared = set(cloudinit.shared_files(tree).values())
        assert shared == {ovs_firstboot.SCRIPT}
        assert set(tree) - set(written) == {common.BRIDGE_BLACKLIST} | shared


def test_network_ownership(seed: dict[str, Any]) -> None:
    """cloud-init's own choice of network configuration, on first boot and on a later boot
    once write_files has added its cloud.cfg.d snippets, and what its renderer makes of it."""
    host: Host = seed["host"]
    for version, got in seed["versions"].items():
        written = got["written"]
        first_boot, later_boot = got["networks"]
        if host.backend is Backend.LINUXBRIDGE:
            v2 = netplan.network_config(host, gateway6_key=True)
            assert got["network_config"] == v2, version  # read unwrapped, as written
            assert first_boot[:2] == [v2, "DS"], version
            assert later_boot[:2] == [v2, "DS"], version
            check_rendered(host, first_boot[2], version)
            assert not [p for p in written if p.startswith(NETWORK_DEFINITION_PREFIXES)]
        else:
            # 19.4's NoCloud strips the `network:` key itself (a disabled config only).
            disabled = {"config": "disabled"}
            assert got["network_config"] in ({"network": disabled}, disabled), version
            assert first_boot == [None, "DS", None], version
            assert later_boot[0] is None, version
            # The tree's own interface definitions travel with it.
            assert [p for p in written if p.startswith(NETWORK_DEFINITION_PREFIXES)]


def check_rendered(host: Host, rendered: dict[str, Any], version: str) -> None:
    """The files the distro's renderer wrote hold the host's bridges, addresses, bonds and
    default routes (IPv4 and IPv6)."""
    assert "error" not in rendered, (version, rendered)
    files: dict[str, str] = rendered["files"]
    if platform(host).family is Family.RHEL:
        scripts = "/etc/sysconfig/network-scripts/"
        for bridge in host.bridges:
            ifcfg = files[f"{scripts}ifcfg-{bridge.name}"]
            assert "TYPE=Bridge" in ifcfg, version
            for addr in bridge.ipv4:
                assert re.search(rf"^IPADDR\d*={addr.ip}$", ifcfg, re.M), version
            if bridge.gateway4:
                assert f"GATEWAY={bridge.gateway4}" in ifcfg, version
            if bridge.gateway6:
                assert f"IPV6_DEFAULTGW={bridge.gateway6}" in ifcfg, version
        for bond in host.bonds:
            assert f"miimon={bond.miimon}" in files[f"{scripts}ifcfg-{bond.name}"], version
        return
    text = "\n".join(files.values())
    for bridge in host.bridges:
        assert bridge.name in text, version
        for addr in bridge.addresses:
            assert str(addr.ip) in text, version
        for gateway in (bridge.gateway4, bridge.gateway6):
            assert gateway is None or str(gateway) in text, version
    for bond in host.bonds:
        assert bond.name in text, version


def test_wrapped_v2_is_what_cloud_init_19_4_cannot_read() -> None:
    """A model of cloud-init 19.4 (CentOS 7.9), read at tag 19.4 of canonical/cloud-init:
    cloudinit/sources/DataSourceNoCloud.py `_maybe_remove_top_network` strips a top-level
    `network:` only for `config: disabled` or when it holds both `config` and `version` (v1);
    cloudinit/net/network_state.py `parse_net_config_data` then needs a top-level `version`.
    (22.2 moved the stripping into the parser for every version, LP #1906187.) Run the real
    19.4 and 23.1 trees with CLOUDBR_CLOUD_INIT_TREES (tests/support/cloud_init.py)."""

    def nocloud_19_4(doc: dict[str, Any]) -> Any:
        net = doc.get("network")
        if not isinstance(net, dict):
            return doc
        if net.get("config") == "disabled" or ("config" in net and "version" in net):
            return net
        return doc

    for host in HOSTS:
        doc = yaml.safe_load(render_host(host)[f"{seed_iso.SEED_DIR}/network-config"].content)
        read = nocloud_19_4(doc)
        if host.backend is Backend.LINUXBRIDGE:
            assert read.get("version") == 2
            assert "bridges" in read
            # What the carrier wrote before: wrapped, it reaches the parser with no version.
            assert nocloud_19_4({"network": read}).get("version") is None
        else:
            assert read == {"config": "disabled"}


def test_ipv6_default_route_is_gateway6_in_the_seed() -> None:
    """19.4's sysconfig renderer fails on a `::/0` route; `gateway6` (v2, read by 19.4's
    network_state._v2_to_v1_ipcfg for the first IPv6 address) renders everywhere."""
    hosts = [h for h in HOSTS if h.backend is Backend.LINUXBRIDGE and h.ipv6]
    for host in hosts:
        doc = cloudinit.network_config(host)
        for name, bridge in doc["bridges"].items():
            routes = bridge.get("routes", [])
            assert all(r["to"] != netplan.DEFAULT6 for r in routes), name
            gw6 = host.bridge(name).gateway6
            assert bridge.get("gateway6") == (str(gw6) if gw6 else None)
    assert any(h.primary_bridge.gateway6 for h in hosts)


def test_ovs_hosts_start_the_first_boot_service(seed: dict[str, Any]) -> None:
    host: Host = seed["host"]
    cfg = seed["cloud_init"]["cloud_config"]
    # The tree's module and sysctl files were written after systemd applied them at this
    # boot: runcmd applies them again (e.g. IPv6 off) before anything else.
    apply_now = [
        ["systemctl", "restart", "systemd-modules-load.service"],
        ["systemctl", "restart", "systemd-sysctl.service"],
    ]
    if host.backend is Backend.OVS:
        name = ovs_firstboot.SCRIPT.rsplit("/", 1)[-1]
        install = ["sh", "-c", cloudinit.INSTALL_SHARED, "cloudbr-install-shared"]
        assert cfg["runcmd"] == [
            *apply_now,
            [*install, name, ovs_firstboot.SCRIPT],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", ovs_firstboot.UNIT],
        ]
        # What runcmd enables and starts is on disk by then: the unit and plan from
        # write_files, the program from the seed medium (installed by the step before).
        assert {ovs_firstboot.UNIT_PATH, ovs_firstboot.PLAN} <= set(cfg_paths(cfg))
        assert ovs_firstboot.SCRIPT not in cfg_paths(cfg)
        assert (seed["seed_dir"] / name).read_bytes() == ovs_firstboot.program()
        unit = written_by_user_data(cfg)[ovs_firstboot.UNIT_PATH].decode()
        assert f"ExecStart={ovs_firstboot.SCRIPT} {ovs_firstboot.PLAN}" in unit
    else:
        assert cfg["runcmd"] == apply_now
    assert {common.MODULES, common.SYSCTL} <= set(cfg_paths(cfg))
    assert all("defer" not in f for f in cfg["write_files"])


FAKE_MOUNT = """#!/bin/sh
# test stand-in: "mount -o ro -L LABEL DIR" copies the extracted seed when LABEL is cidata
[ "$4" = cidata ] || exit 32
cp -R "$FAKE_SEED/." "$5"
"""
FAKE_INSTALL = """#!/bin/bash
# test stand-in: install into $FAKE_ROOT instead of /
exec /usr/bin/install "${@:1:$#-1}" "$FAKE_ROOT${!#}"
"""


@pytest.mark.parametrize("mounts", [True, False], ids=["seed-medium", "no-medium"])
def test_runcmd_installs_the_shared_program_from_the_seed(
    mounts: bool, tmp_path: Path, seeds: dict[str, dict[str, Any]]
) -> None:
    seed = next(s for s in seeds.values() if s["host"].backend is Backend.OVS)
    (cmd,) = [c for c in seed["cloud_init"]["cloud_config"]["runcmd"] if c[:2] == ["sh", "-c"]]
    bin_dir, root = tmp_path / "bin", tmp_path / "root"
    bin_dir.mkdir()
    fakes = {"mount": FAKE_MOUNT if mounts else "#!/bin/sh\nexit 32\n"}
    fakes |= {"install": FAKE_INSTALL, "umount": '#!/bin/sh\nfind "$1" -mindepth 1 -delete\n'}
    for tool, text in fakes.items():
        (bin_dir / tool).write_text(text)
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_SEED": str(seed["seed_dir"])}
    out = subprocess.run(cmd, env={**env, "FAKE_ROOT": str(root)}, capture_output=True, text=True)
    installed = root / ovs_firstboot.SCRIPT.lstrip("/")
    if mounts:
        assert out.returncode == 0, out.stderr
        assert installed.read_bytes() == ovs_firstboot.program()
        assert installed.stat().st_mode & 0o777 == 0o755
    else:  # another NoCloud source: the image must have the program (here it has not)
        assert out.returncode == 1
        assert not installed.exists()


def cfg_paths(cfg: dict[str, Any]) -> list[str]:
    return [f["path"] for f in cfg["write_files"]]


def test_the_excluded_snippet_would_have_taken_the_network_from_cloud_init(
    seeds: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Why linux-bridge seeds leave out cloud.cfg.d snippets that set `network:`: as system
    config they outrank the datasource, so a re-seeded host would keep its old network."""
    cases = []
    for s in seeds.values():
        host, tree = s["host"], s["tree"]
        snippets = {
            p: f.content
            for p, f in tree.items()
            if p.startswith(CLOUD_CFG_D) and "network" in system_cfg({p: f.content})
        }
        if host.backend is Backend.LINUXBRIDGE and snippets:
            write_root = tmp_path / host.hostname
            write_root.mkdir()
            cases.append(
                {
                    "seed": str(s["seed_dir"]),
                    "write_root": str(write_root),
                    "system_cfgs": [system_cfg(snippets)],
                    "distro": DISTRO_RENDERER[host.distro.value][0],
                    "renderer": DISTRO_RENDERER[host.distro.value][1],
                }
            )
    if not cases:
        pytest.skip("no renderer emits a network snippet for linux-bridge hosts today")
    for got in cloud_init.read(cases, tmp_path):
        assert got["networks"] == [[None, "SYSTEM_CFG", None]]


# --- the linux-bridge network-config is a valid v2 document ---------------------------------

BRIDGE_HOSTS = [h for h in HOSTS if h.backend is Backend.LINUXBRIDGE]


@pytest.mark.parametrize("host", BRIDGE_HOSTS, ids=_id)
def test_netplan_generate_accepts_network_config(host: Host, tmp_path: Path) -> None:
    # cloud-init hands a v2 document to netplan under `network:` (its netplan renderer).
    doc = {"network": yaml.safe_load(render_host(host)["seed/network-config"].content)}
    (tmp_path / "etc/netplan").mkdir(parents=True)
    (tmp_path / "etc/netplan/50-cloud-init.yaml").write_text(yaml.safe_dump(doc))
    res = run("netplan", "generate", "--root-dir", tmp_path)
    assert res.returncode == 0, res.stderr
    units = {p.name for p in (tmp_path / "run/systemd/network").iterdir()}
    for bridge in host.bridges:
        assert f"10-netplan-{bridge.name}.netdev" in units
        assert f"10-netplan-{bridge.name}.network" in units
    for bond in host.bonds:
        assert f"10-netplan-{bond.name}.netdev" in units


# --- reproducibility and identity ----------------------------------------------------------


def test_two_renders_give_identical_isos_and_hosts_differ() -> None:
    first = {_id(h): render_host(h)[seed_iso.ISO].content for h in HOSTS}
    second = {_id(h): render_host(h)[seed_iso.ISO].content for h in HOSTS}
    assert first == second
    # Hosts differ by name; the two variants (same host, Debian and EL) may share a seed.
    by_name = {h.hostname: first[_id(h)] for h in HOSTS}
    assert len(set(by_name.values())) == len(by_name) < len(HOSTS)


def _moved(host: Host) -> Host:
    """The same host with its management address moved by one."""
    bridge = host.primary_bridge
    addr = bridge.addresses[0]
    moved = ipaddress.ip_interface(f"{addr.ip + 1}/{addr.network.prefixlen}")
    new = dataclasses.replace(bridge, addresses=(moved, *bridge.addresses[1:]))
    return dataclasses.replace(host, bridges=tuple(new if b is bridge else b for b in host.bridges))


@pytest.mark.parametrize("host", HOSTS, ids=_id)
def test_instance_id_follows_the_host_content(host: Host) -> None:
    def iid(h: Host) -> str:
        meta = yaml.safe_load(cloudinit.seed(h, render.rootfs(h)).meta_data)
        value: str = meta["instance-id"]
        return value

    assert iid(host) == iid(host)
    assert iid(_moved(host)) != iid(host)
    assert iid(dataclasses.replace(host, hostname=host.hostname + "x")) != iid(host)


def test_secret_bearing_outputs_are_0600(tmp_path: Path) -> None:
    res = run(
        sys.executable, "-m", "cloudbr", "render", EXAMPLES / "lab.yaml", "-o", tmp_path, "-q"
    )
    assert res.returncode == 0, res.stderr
    for host in load_inventory(EXAMPLES / "lab.yaml").hosts:
        d = tmp_path / host.hostname
        for rel in (seed_iso.ISO, "seed/user-data", "seed/meta-data", "seed/network-config"):
            assert (d / rel).stat().st_mode & 0o777 == 0o600, rel
        assert (d / seed_iso.ISO).read_bytes() == render_host(host)[seed_iso.ISO].content


# --- content that YAML cannot carry verbatim ------------------------------------------------

AWKWARD = {
    "/usr/local/lib/cloudbr/blob.bin": File(bytes(range(256)), 0o600, "test"),
    "/etc/cloudbr/large.txt": File(b"x" * (cloudinit.INLINE_LIMIT + 1), 0o644, "test"),
    "/etc/cloudbr/crlf.txt": File(b"a\r\nb\r\n", 0o644, "test"),
    "/etc/cloudbr/tabs-and-trailing.txt": File(b"a\tb  \n\n  c\n\n\n", 0o644, "test"),
    "/etc/cloudbr/no-newline.txt": File(b"last line", 0o644, "test"),
    "/etc/cloudbr/unicode.txt": File("café ✓ — ünïcode\n".encode(), 0o644, "test"),
    "/etc/cloudbr/yaml-lookalike.txt": File(b"- not: a list\n'quoted'\n", 0o644, "test"),
    "/usr/local/sbin/cloudbr-tool": File(b"#!/bin/sh\necho hi\n", 0o755, "test"),
    "/etc/cloudbr/empty": File(b"", 0o644, "test"),
}


def test_awkward_content_survives_cloud_init_write_files(tmp_path: Path) -> None:
    host = next(h for h in HOSTS if h.backend is Backend.OVS)
    seed = cloudinit.seed(host, AWKWARD)
    ud = yaml.safe_load(seed.user_data)
    encodings = {f["path"]: f.get("encoding") for f in ud["write_files"]}
    assert encodings["/usr/local/lib/cloudbr/blob.bin"] == "b64"
    assert encodings["/etc/cloudbr/large.txt"] == "b64"
    assert encodings["/etc/cloudbr/unicode.txt"] is None
    assert written_by_user_data(ud) == {p: f.content for p, f in AWKWARD.items()}

    seed_dir = extract(build_iso(seed.files(), label=seed_iso.LABEL), tmp_path)
    write_root = tmp_path / "root"
    write_root.mkdir()
    case = {"seed": str(seed_dir), "write_root": str(write_root), "system_cfgs": []}
    (got,) = cloud_init.read([{**case, "distro": "debian", "renderer": "eni"}], tmp_path)
    for path, f in AWKWARD.items():
        assert (write_root / path.lstrip("/")).read_bytes() == f.content, path
        assert got["written"][path][1] == f.mode, path
    schema = tmp_path / "user-data"
    schema.write_text(seed.user_data)
    assert run("cloud-init", "schema", "--config-file", schema).returncode == 0


def test_linux_bridge_seeds_leave_out_network_snippets() -> None:
    host = next(h for h in HOSTS if h.backend is Backend.LINUXBRIDGE)
    tree = {
        "/etc/cloud/cloud.cfg.d/99-x.cfg": File.text(
            "network: {config: disabled}", renderer="x", role=Role.NETWORK_OWNERSHIP
        ),
        "/etc/cloud/cloud.cfg.d/98-y.cfg": File.text(
            "preserve_hostname: true", renderer="x", role=Role.HOST
        ),
        "/etc/network/interfaces": File.text("auto lo", renderer="eni", role=Role.NETWORK),
    }
    assert cloudinit.carried_paths(host, tree) == ["/etc/cloud/cloud.cfg.d/98-y.cfg"]
    ovs = dataclasses.replace(host, backend=Backend.OVS)
    assert cloudinit.carried_paths(ovs, tree) == sorted(tree)


def test_interface_definitions_and_only_they_are_network_files() -> None:
    """Every file that defines interfaces says so by its role (what the seed leaves out where
    cloud-init renders the network), and every Role.NETWORK file is one, or a resolver
    setting that goes with one."""
    seen = set()
    for h in HOSTS:
        for p, f in render.rootfs(h).items():
            if p.startswith(NETWORK_DEFINITION_PREFIXES):
                assert f.role is Role.NETWORK, p
                seen.add(p.split("/")[2])
            elif f.role is Role.NETWORK:
                assert p.startswith(("/etc/sysconfig/network", "/etc/systemd/resolved.conf.d/")), p
    assert seen == {"netplan", "network", "sysconfig"}


def test_seed_documents_are_deterministic_yaml() -> None:
    for host in HOSTS:
        tree = render.rootfs(host)
        a, b = cloudinit.seed(host, tree), cloudinit.seed(host, dict(reversed(tree.items())))
        assert a == b
