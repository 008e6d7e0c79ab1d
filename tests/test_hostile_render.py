"""Hostile values cloudbr accepts (free text: the SSH key comment; URL paths; unquoted MACs;
a link-local IPv6 gateway) rendered for real: the kickstart %post and the preseed late script
run against a scratch root, and no injected command ran, no generated document gained a line,
and the value arrived byte for byte."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudbr import pipeline
from cloudbr.carriers import cloudinit, kickstart, preseed
from cloudbr.inventory import InventoryError, load_inventory, parse_inventory
from cloudbr.model import Host
from cloudbr.render import ovs_firstboot
from tests.test_kickstart import parsed, post_body, run_post, unpacked

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPbRgvd4ZMKHmtc3QdnB1dwJQ4+Ql5LL7nIOfX0sFCM3"


def comment(marker: Path) -> str:
    """A comment that runs `touch marker` if any shell, YAML or installer parser mistakes it
    for code: quotes of every kind, substitutions, separators, a kickstart section name."""
    m = str(marker)
    return (
        f"'; touch {m}; echo ' \"$(touch {m})\" `touch {m}` && touch {m} | "
        f"touch {m} # %post %end EOF \\ ${{IFS}}touch${{IFS}}{m} - d-i preseed/run"
    )


def inventory(distro: str, backend: str, key_comment: str) -> str:
    doc = {
        "site": {
            "domain": "mylab.local",
            "installer": {"mirror": "http://mirror.example:8080/deb~ian/+x=1,y@2%2e"},
            "access": {"ssh_authorized_keys": [f"{KEY} {key_comment}"]},
        },
        "hosts": [
            {
                "hostname": "kvmhost1",
                "distro": distro,
                "backend": backend,
                "address": "192.168.100.20/24",
                "gateway": "192.168.100.1",
            }
        ],
    }
    return yaml.safe_dump(doc)


def host_of(distro: str, backend: str, key_comment: str) -> Host:
    return parse_inventory(inventory(distro, backend, key_comment), "inv.yaml").hosts[0]


# The preseed's gzip'd payload: one base64 word per continued line, its count depends on how
# well the content compresses, and no such line can be preseed syntax.
PAYLOAD_LINE = re.compile(rb"^  [A-Za-z0-9+/=]+ \\$", re.M)


# A packed script's heredoc (kickstart %post): base64 alone between its markers, its line
# count likewise the compressor's; the script it unpacks is counted on its own.
PACKED = re.compile(rb"<<'CLOUDBR_EOF'\n[A-Za-z0-9+/=\n]*?\nCLOUDBR_EOF\n")


def line_counts(host: Host) -> dict[str, int]:
    files = pipeline.render_host(host)
    counts = {
        p: PACKED.sub(b"\n\n", f.content).count(b"\n") - len(PAYLOAD_LINE.findall(f.content))
        for p, f in files.items()
        if not p.endswith(".iso")
    }
    if kickstart.OUTPUT in files:
        script = unpacked(post_body(files[kickstart.OUTPUT].content.decode()))
        counts[f"{kickstart.OUTPUT}: %post script"] = script.count("\n")
    return counts


@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_kickstart_post_runs_no_injected_command(backend: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    host = host_of("centos7", backend, comment(marker))
    text = pipeline.render_host(host)[kickstart.OUTPUT].content.decode()
    parsed(text)  # pykickstart reads the document: no directive or section was added
    root = tmp_path / "root"
    root.mkdir()
    run_post(text, root)
    assert not marker.exists()
    keys = (root / "root/.ssh/authorized_keys").read_text()
    assert keys == f"{KEY} {comment(marker)}\n"


@pytest.mark.parametrize("distro", ["ubuntu1804", "debian12"])
def test_preseed_late_script_runs_no_injected_command(distro: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    host = host_of(distro, "ovs", comment(marker))
    script = tmp_path / "late.sh"
    script.write_text(preseed.late_script(host, pipeline.render.rootfs(host)))
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "chroot").write_text("#!/bin/sh\nexit 0\n")  # the target's own commands
    (shim / "chroot").chmod(0o755)
    root = tmp_path / "target"
    root.mkdir()
    # What early_command fetched and the late_command copied: the shared programs.
    tree = pipeline.render.rootfs(host)
    staged = root / preseed.SHARED_IN_TARGET.lstrip("/")
    staged.mkdir(parents=True)
    for name, f in preseed.site_files([host]).items():
        (staged / name).write_bytes(f.content)
    env = dict(os.environ, PATH=f"{shim}:{os.environ['PATH']}")
    res = subprocess.run(["sh", str(script), str(root)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not staged.exists()
    prog = root / ovs_firstboot.SCRIPT.lstrip("/")
    assert prog.read_bytes() == tree[ovs_firstboot.SCRIPT].content
    assert not marker.exists()
    keys = (root / "root/.ssh/authorized_keys").read_text()
    assert keys == f"{KEY} {comment(marker)}\n"


@pytest.mark.parametrize("distro", ["centos7", "ubuntu1804", "debian12"])
@pytest.mark.parametrize("backend", ["linuxbridge", "ovs"])
def test_no_generated_document_gains_a_line(distro: str, backend: str, tmp_path: Path) -> None:
    hostile = comment(tmp_path / "pwned")
    plain = "x" * len(hostile)  # same length: base64 payloads wrap the same way
    assert line_counts(host_of(distro, backend, hostile)) == line_counts(
        host_of(distro, backend, plain)
    )


@pytest.mark.parametrize("distro", ["centos7", "debian12"])
def test_cloud_init_user_data_carries_the_key_as_one_value(distro: str, tmp_path: Path) -> None:
    hostile = comment(tmp_path / "pwned")
    host = host_of(distro, "linuxbridge", hostile)
    ud = yaml.safe_load(cloudinit.seed(host, pipeline.render.rootfs(host)).user_data)
    assert [u.get("ssh_authorized_keys") for u in ud["users"]] == [[f"{KEY} {hostile}"]]


def test_preseed_mirror_keeps_the_url_parts(tmp_path: Path) -> None:
    host = host_of("debian12", "linuxbridge", "ops@lab")
    m = preseed.mirror(host)
    assert (m.protocol, m.hostname, m.directory) == (
        "http",
        "mirror.example:8080",
        "/deb~ian/+x=1,y@2%2e",
    )


def test_unquoted_mac_and_hex_stay_what_was_written() -> None:
    text = (
        "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n"
        "    macs: {eth0: 52:54:00:12:34:56, eth1: 52:54:00:00:00:10}\n"
        "    storage_address: 10.0.100.20/24\n    storage: {vlan: 0x64}\n"
    )
    h = parse_inventory(text, "inv.yaml").hosts[0]
    assert [n.mac for n in h.nics[:2]] == ["52:54:00:12:34:56", "52:54:00:00:00:10"]
    assert h.vlans[0].id == 100


def test_link_local_ipv6_gateway_is_accepted_and_rendered() -> None:
    text = (
        "hosts:\n  - hostname: kvmhost1\n    distro: debian12\n    ipv6: true\n"
        "    address: 192.168.100.20/24\n    address6: 2001:db8::20/64\n    gateway6: fe80::1\n"
    )
    h = parse_inventory(text, "inv.yaml").hosts[0]
    assert str(h.gateway6) == "fe80::1"
    files = pipeline.render_host(h)
    assert b"gateway fe80::1\n" in files["rootfs/etc/network/interfaces"].content


def test_bom_is_accepted_and_undecodable_bytes_are_reported_where_they_are(
    tmp_path: Path,
) -> None:
    good = "hosts:\n  - hostname: kvmhost1\n    address: 192.168.100.20/24\n"
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + good.encode())
    assert load_inventory(bom).hosts[0].hostname == "kvmhost1"
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(good.encode().replace(b"kvmhost1", b"kvm\xc3\xa9h\xffost"))
    with pytest.raises(InventoryError) as exc:
        load_inventory(bad)
    assert exc.value.lines == [
        f"{bad}:2:20: (document): byte 0xff is not UTF-8 (save the inventory as UTF-8 text)"
    ]
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(good.encode("utf-16"))
    with pytest.raises(InventoryError) as exc:
        load_inventory(utf16)
    assert exc.value.lines == [
        f"{utf16}:1:1: (document): byte 0xff is not UTF-8 (save the inventory as UTF-8 text)"
    ]


def test_empty_document_asks_for_hosts(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as exc:
        parse_inventory("# nothing yet\n", "inv.yaml")
    assert exc.value.lines == ["inv.yaml:1:1: hosts: required key 'hosts' is missing"]


def test_an_endless_or_huge_file_is_refused_without_reading_it_all() -> None:
    with pytest.raises(InventoryError) as exc:
        load_inventory("/dev/zero")
    assert exc.value.lines == ["/dev/zero:1:1: (document): larger than 16 MiB"]


def test_a_directory_is_not_an_inventory(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as exc:
        load_inventory(tmp_path)
    assert exc.value.lines == [f"{tmp_path}:1:1: (document): cannot read: Is a directory"]
