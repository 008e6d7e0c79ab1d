"""The NoCloud seed ISO, proven by its consumers: blkid, xorriso, `cloud-init schema`, cloud-init's
own NoCloud reader, network selection and write_files (Debian's cloud-init 22.4, importable only
under /usr/bin/python3), `netplan generate` and cloud-init's v2 converter."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import json
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
from cloudbr.files import File, FileMap
from cloudbr.inventory import load_inventory
from cloudbr.iso import EPOCH, IsoError, build_iso
from cloudbr.model import Backend, Family, Host
from cloudbr.pipeline import render_host
from cloudbr.render import common, netplan, ovs_firstboot
from tests.conftest import EXAMPLES

SYSTEM_PYTHON = "/usr/bin/python3"
INVENTORIES = [EXAMPLES / "lab.yaml", *sorted(EXAMPLES.glob("seed-*.yaml"))]
HOSTS: list[Host] = [h for inv in INVENTORIES for h in load_inventory(inv).hosts]
# Paths where a file defines interfaces, for every distro we render.
NETWORK_DEFINITION_PREFIXES = (
    "/etc/netplan/",
    "/etc/network/interfaces",
    "/etc/sysconfig/network-scripts/ifcfg-",
)


def _id(host: Host) -> str:
    return f"{host.hostname}-{host.distro.value}-{host.backend.value}"


# Runs under Debian's cloud-init: for each case, read the extracted seed directory exactly as
# DataSourceNoCloud does, ask stages.Init which network configuration it would apply given
# some system config, and replay user-data's write_files (paths rebased into a scratch root).
CLOUD_INIT_READER = r"""
import hashlib, json, os, sys, tempfile
from cloudinit import helpers, stages, util
from cloudinit.config import cc_write_files
from cloudinit.sources import DataSourceNoCloud

out = []
for case in json.load(open(sys.argv[1])):
    root = tempfile.mkdtemp()
    os.makedirs(root + "/cloud/seed")
    os.symlink(case["seed"], root + "/cloud/seed/nocloud")
    sys_cfg = {
        "datasource": {"NoCloud": {"fs_label": None}},
        "system_info": {"paths": {"cloud_dir": root + "/cloud", "run_dir": root + "/run"}},
    }
    ds = DataSourceNoCloud.DataSourceNoCloud(sys_cfg, None, helpers.Paths(sys_cfg["system_info"]["paths"]))
    found = ds.get_data()
    networks = []
    for extra in case["system_cfgs"]:
        init = stages.Init(ds_deps=[])
        init._cfg = util.mergemanydict([extra, sys_cfg])
        init.datasource = ds
        cfg, source = init._find_networking_config()
        networks.append([cfg, source.name if hasattr(source, "name") else str(source)])
    cloud_config = util.load_yaml(ds.userdata_raw)
    written = {}
    files = [dict(f, path=case["write_root"] + f["path"]) for f in cloud_config.get("write_files", [])]
    cc_write_files.write_files("write_files", files, "root:root")
    for f in files:
        st = os.stat(f["path"])
        with open(f["path"], "rb") as fh:
            written[f["path"][len(case["write_root"]):]] = [hashlib.sha256(fh.read()).hexdigest(), st.st_mode & 0o7777]
    out.append({
        "found": bool(found),
        "seed": ds.seed,
        "instance_id": ds.get_instance_id(),
        "meta_data": ds.metadata,
        "user_data": ds.userdata_raw.decode(),
        "cloud_config": cloud_config,
        "network_config": ds.network_config,
        "networks": networks,
        "written": written,
    })
json.dump(out, sys.stdout)
"""


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)


def extract(iso: bytes, tmp: Path, *load_options: str) -> Path:
    """Extract with xorriso; load_options e.g. ("-read_fs", "norock") to read Joliet names."""
    image, out = tmp / "seed.iso", tmp / "extracted"
    image.write_bytes(iso)
    res = run("xorriso", *load_options, "-osirrox", "on", "-indev", image, "-extract", "/", out)
    assert res.returncode == 0, res.stderr
    return out


def cloud_init_read(cases: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
    spec = tmp / "cases.json"
    spec.write_text(json.dumps(cases))
    res = subprocess.run(
        [SYSTEM_PYTHON, "-c", CLOUD_INIT_READER, str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    result: list[dict[str, Any]] = json.loads(res.stdout)
    return result


def system_cfg(files: dict[str, bytes]) -> dict[str, Any]:
    """What cloud-init would merge from these cloud.cfg.d files (later names win)."""
    merged: dict[str, Any] = {}
    for path in sorted(files):
        if path.startswith(cloudinit.CLOUD_CFG_D):
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
            }
        )
        out[_id(host)] = {"host": host, "files": files, "tree": tree, "seed_dir": seed_dir}
    for key, result in zip(out, cloud_init_read(cases, tmp_path_factory.mktemp("ci")), strict=True):
        out[key]["cloud_init"] = result
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
    assert cfg["fqdn"] == host.fqdn
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
        assert set(tree) - set(written) <= {common.BRIDGE_BLACKLIST}


def test_network_ownership(seed: dict[str, Any]) -> None:
    """cloud-init's own choice of network configuration, on first boot and on a later boot
    once write_files has added its cloud.cfg.d snippets."""
    host: Host = seed["host"]
    got = seed["cloud_init"]
    written = got["written"]
    first_boot, later_boot = got["networks"]
    if host.backend is Backend.LINUXBRIDGE:
        v2 = netplan.network_config(host)
        assert got["network_config"] == {"network": v2}
        assert first_boot == [v2, "DS"]
        assert later_boot == [v2, "DS"]
        assert not [p for p in written if p.startswith(NETWORK_DEFINITION_PREFIXES)]
    else:
        assert got["network_config"] == {"network": {"config": "disabled"}}
        assert first_boot == [None, "DS"]
        assert later_boot[0] is None
        # The tree's own interface definitions travel with it.
        assert [p for p in written if p.startswith(NETWORK_DEFINITION_PREFIXES)]


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
        assert cfg["runcmd"] == [
            *apply_now,
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", ovs_firstboot.UNIT],
        ]
        # What runcmd enables and starts is on disk by then.
        assert {ovs_firstboot.UNIT_PATH, ovs_firstboot.SCRIPT} <= set(cfg_paths(cfg))
        unit = written_by_user_data(cfg)[ovs_firstboot.UNIT_PATH].decode()
        assert f"ExecStart={ovs_firstboot.SCRIPT}" in unit
    else:
        assert cfg["runcmd"] == apply_now
    assert {common.MODULES, common.SYSCTL} <= set(cfg_paths(cfg))
    assert all("defer" not in f for f in cfg["write_files"])


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
            if p.startswith(cloudinit.CLOUD_CFG_D) and "network" in system_cfg({p: f.content})
        }
        if host.backend is Backend.LINUXBRIDGE and snippets:
            write_root = tmp_path / host.hostname
            write_root.mkdir()
            cases.append(
                {
                    "seed": str(s["seed_dir"]),
                    "write_root": str(write_root),
                    "system_cfgs": [system_cfg(snippets)],
                }
            )
    if not cases:
        pytest.skip("no renderer emits a network snippet for linux-bridge hosts today")
    for got in cloud_init_read(cases, tmp_path):
        assert got["networks"] == [[None, "SYSTEM_CFG"]]


# --- the linux-bridge network-config is a valid v2 document ---------------------------------

BRIDGE_HOSTS = [h for h in HOSTS if h.backend is Backend.LINUXBRIDGE]


@pytest.mark.parametrize("host", BRIDGE_HOSTS, ids=_id)
def test_netplan_generate_accepts_network_config(host: Host, tmp_path: Path) -> None:
    doc = render_host(host)["seed/network-config"].content
    (tmp_path / "etc/netplan").mkdir(parents=True)
    (tmp_path / "etc/netplan/50-cloud-init.yaml").write_bytes(doc)
    res = run("netplan", "generate", "--root-dir", tmp_path)
    assert res.returncode == 0, res.stderr
    units = {p.name for p in (tmp_path / "run/systemd/network").iterdir()}
    for bridge in host.bridges:
        assert f"10-netplan-{bridge.name}.netdev" in units
        assert f"10-netplan-{bridge.name}.network" in units
    for bond in host.bonds:
        assert f"10-netplan-{bond.name}.netdev" in units


@pytest.mark.parametrize("host", BRIDGE_HOSTS, ids=_id)
def test_cloud_init_renders_network_config_for_the_distro(host: Host, tmp_path: Path) -> None:
    """cloud-init's own v2 parser and the renderer the image pins (sysconfig on EL, netplan on
    Debian and Ubuntu) turn the seed into the host's bridges and addresses."""
    nc = tmp_path / "network-config"
    nc.write_bytes(render_host(host)["seed/network-config"].content)
    rhel = host.distro.family is Family.RHEL
    distro, kind = ("centos", "sysconfig") if rhel else ("debian", "netplan")
    out = tmp_path / "out"
    res = run(
        "cloud-init", "devel", "net-convert", "-p", nc, "-k", "yaml", "-d", out, "-D", distro,
        "-O", kind,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    if rhel:
        scripts = out / "etc/sysconfig/network-scripts"
        for bridge in host.bridges:
            ifcfg = (scripts / f"ifcfg-{bridge.name}").read_text()
            assert "TYPE=Bridge" in ifcfg
            for addr in bridge.ipv4:
                assert f"IPADDR={addr.ip}" in ifcfg
        for bond in host.bonds:
            assert "miimon=" in (scripts / f"ifcfg-{bond.name}").read_text()
    else:
        (rendered,) = (out / "etc/netplan").iterdir()
        v2 = yaml.safe_load(rendered.read_text())["network"]
        for bridge in host.bridges:
            want = [str(a) for a in bridge.addresses]
            assert v2["bridges"][bridge.name].get("addresses", []) == want
        for bond in host.bonds:
            assert v2["bonds"][bond.name]["parameters"]["mii-monitor-interval"] == bond.miimon


# --- reproducibility and identity ----------------------------------------------------------


def test_two_renders_give_identical_isos_and_hosts_differ() -> None:
    first = {_id(h): render_host(h)[seed_iso.ISO].content for h in HOSTS}
    second = {_id(h): render_host(h)[seed_iso.ISO].content for h in HOSTS}
    assert first == second
    assert len(set(first.values())) == len(HOSTS)


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
    (got,) = cloud_init_read(
        [{"seed": str(seed_dir), "write_root": str(write_root), "system_cfgs": []}], tmp_path
    )
    for path, f in AWKWARD.items():
        assert (write_root / path.lstrip("/")).read_bytes() == f.content, path
        assert got["written"][path][1] == f.mode, path
    schema = tmp_path / "user-data"
    schema.write_text(seed.user_data)
    assert run("cloud-init", "schema", "--config-file", schema).returncode == 0


def test_linux_bridge_seeds_leave_out_network_snippets() -> None:
    host = next(h for h in HOSTS if h.backend is Backend.LINUXBRIDGE)
    tree = {
        "/etc/cloud/cloud.cfg.d/99-x.cfg": File.text("network: {config: disabled}", renderer="x"),
        "/etc/cloud/cloud.cfg.d/98-y.cfg": File.text("preserve_hostname: true", renderer="x"),
        "/etc/network/interfaces": File.text("auto lo", renderer="eni"),
    }
    assert cloudinit.carried_paths(host, tree) == ["/etc/cloud/cloud.cfg.d/98-y.cfg"]
    ovs = dataclasses.replace(host, backend=Backend.OVS)
    assert cloudinit.carried_paths(ovs, tree) == sorted(tree)


def test_network_renderer_names_match_the_renderers() -> None:
    """NETWORK_RENDERERS names exactly the renderers that write interface definitions."""
    makers = {
        f.renderer
        for h in HOSTS
        for p, f in render.rootfs(h).items()
        if p.startswith(NETWORK_DEFINITION_PREFIXES)
    }
    assert makers == cloudinit.NETWORK_RENDERERS


def test_seed_documents_are_deterministic_yaml() -> None:
    for host in HOSTS:
        tree = render.rootfs(host)
        a, b = cloudinit.seed(host, tree), cloudinit.seed(host, dict(reversed(tree.items())))
        assert a == b
