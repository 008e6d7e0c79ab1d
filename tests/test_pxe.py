"""OUT/pxe/: boot entries per MAC, and dnsmasq and nginx configurations their daemons accept.

Consumers: `dnsmasq --test -C` (dnsmasq-base 2.90), `nginx -t` (nginx 1.22) and
`grub-script-check` (GRUB 2.06, the UEFI entries), then a real nginx in a network namespace
of the test, which must serve each document to its host's install address only. The booted
proof (iPXE -> debian-installer fetching its preseed) is the e2e case cloudbr-pxe.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cloudbr.cli import main

SECRET = "unit-test-secret-0123456789abcdefghijkl"


def inventory(pxe: dict[str, object], hosts: list[dict[str, object]] | None = None) -> str:
    site = {"domain": "lab.test", "distro": "debian12", "dns": {"servers": ["10.1.0.5"]}}
    default_hosts: list[dict[str, object]] = [
        {
            "hostname": "deb1",
            "address": "10.1.0.21/24",
            "gateway": "10.1.0.1",
            "macs": {"eth0": "52:54:00:00:00:21"},
        },
        {
            "hostname": "el1",
            "distro": "centos7",
            "address": "10.1.0.22/24",
            "gateway": "10.1.0.1",
            "macs": {"eth0": "52:54:00:00:00:22"},
        },
    ]
    doc = {
        "site": {**site, "pxe": {"server": "10.1.0.2/24", **pxe}},
        "hosts": hosts or default_hosts,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def render(tmp_path: Path, text: str, name: str = "out") -> Path:
    inv = tmp_path / f"{name}.yaml"
    inv.write_text(text)
    out = tmp_path / name
    assert main(["render", str(inv), "-o", str(out), "-q"]) == 0
    return out


def boot_line(ipxe: str) -> list[str]:
    (line,) = [ln for ln in ipxe.splitlines() if ln.startswith("kernel ")]
    return line.split()[2:]


# --- the tree and its entries -------------------------------------------------------------


def test_render_writes_the_site_tree_reproducibly(tmp_path: Path) -> None:
    a = render(tmp_path, inventory({"path_secret": SECRET}), "a")
    b = render(tmp_path, inventory({"path_secret": SECRET}), "b")
    files = sorted(str(p.relative_to(a / "pxe")) for p in (a / "pxe").rglob("*") if p.is_file())
    assert files == [
        "boot.ipxe",
        "dnsmasq.conf",
        "grub/grub.cfg-01-52-54-00-00-00-21",
        "grub/grub.cfg-01-52-54-00-00-00-22",
        "ipxe/52-54-00-00-00-21.ipxe",
        "ipxe/52-54-00-00-00-22.ipxe",
        "manifest.json",
        "nginx.conf",
        "pxelinux.cfg/01-52-54-00-00-00-21",
        "pxelinux.cfg/01-52-54-00-00-00-22",
    ]
    for rel in files:
        assert (a / "pxe" / rel).read_bytes() == (b / "pxe" / rel).read_bytes(), rel


def test_render_of_one_host_keeps_the_whole_site_tree(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(inventory({}))
    out = tmp_path / "out"
    assert main(["render", str(inv), "-o", str(out), "-q", "--host", "deb1"]) == 0
    assert (out / "pxe/ipxe/52-54-00-00-00-22.ipxe").is_file()  # el1 was not rendered
    assert not (out / "el1").exists()


def test_debian_entry_preseeds_the_network_on_the_boot_line(tmp_path: Path) -> None:
    out = render(tmp_path, inventory({"path_secret": SECRET}))
    params = boot_line((out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text())
    assert {"auto=true", "priority=critical"} <= set(params)
    # netcfg runs before the preseed file is read: the static network must be here.
    for want in (
        "netcfg/disable_autoconfig=true",
        "netcfg/choose_interface=eth0",
        "netcfg/get_ipaddress=10.1.0.21",
        "netcfg/get_netmask=255.255.255.0",
        "netcfg/get_gateway=10.1.0.1",
        "netcfg/get_nameservers=10.1.0.5",
        "netcfg/get_hostname=deb1",
        "netcfg/get_domain=lab.test",
    ):
        assert want in params
    (url,) = [p.removeprefix("url=") for p in params if p.startswith("url=")]
    assert re.fullmatch(r"http://10\.1\.0\.2/cloudbr/[0-9a-f]{32}/deb1/preseed\.cfg", url)


def test_el_entry_has_kickstart_and_static_ip(tmp_path: Path) -> None:
    out = render(tmp_path, inventory({}))
    params = boot_line((out / "pxe/ipxe/52-54-00-00-00-22.ipxe").read_text())
    assert "inst.ks=http://10.1.0.2/cloudbr/el1/kickstart.cfg" in params  # no secret: no token
    # dracut: ip=<client>:<peer>:<gateway>:<netmask>:<hostname>:<interface>:none
    assert "ip=10.1.0.22::10.1.0.1:255.255.255.0:el1.lab.test:eth0:none" in params
    assert "nameserver=10.1.0.5" in params
    assert {"net.ifnames=0", "biosdevname=0"} <= set(params)  # ethN names at install time


def test_vlan_install_network(tmp_path: Path) -> None:
    topology = {
        "nics": [{"name": "eth0"}, {"name": "eth1"}],
        "bonds": [{"name": "bond0", "members": ["eth0", "eth1"]}],
        "bridges": [{"name": "cloudbr1", "uplink": "bond0"}],
        "vlans": [{"id": 200, "parent": "bond0", "bridge": "cloudbr0"}],
    }
    hosts: list[dict[str, object]] = [
        {
            "hostname": name,
            "distro": distro,
            "address": f"10.1.0.{octet}/24",
            "macs": {"eth0": f"52:54:00:00:00:{octet}"},
            "topology": copy.deepcopy(topology),
        }
        for name, distro, octet in (("deb1", "debian12", 21), ("el1", "centos7", 22))
    ]
    out = render(tmp_path, inventory({}, hosts))
    deb = boot_line((out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text())
    assert {"netcfg/use_vlan=true", "netcfg/vlan_id=200", "netcfg/get_gateway=none"} <= set(deb)
    el = boot_line((out / "pxe/ipxe/52-54-00-00-00-22.ipxe").read_text())
    assert "vlan=eth0.200:eth0" in el
    assert "ip=10.1.0.22:::255.255.255.0:el1.lab.test:eth0.200:none" in el


def test_tokens_are_per_host_and_secret_dependent(tmp_path: Path) -> None:
    def url_of(out: Path) -> str:
        text = (out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text()
        (url,) = [p for p in boot_line(text) if p.startswith("url=")]
        return url

    one = url_of(render(tmp_path, inventory({"path_secret": SECRET}), "one"))
    other = url_of(render(tmp_path, inventory({"path_secret": SECRET[::-1]}), "other"))
    assert one != other
    el = (render(tmp_path, inventory({"path_secret": SECRET}), "el") / "pxe/ipxe").glob("*22.ipxe")
    assert one.split("/")[-3] not in next(el).read_text()


def test_grub_and_pxelinux_boot_the_same_line_as_ipxe(tmp_path: Path) -> None:
    out = render(tmp_path, inventory({"console": "ttyS1,115200"}))
    params = boot_line((out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text())
    params = [p for p in params if not p.startswith("initrd=")]  # iPXE's EFI-stub hint
    assert params[-1] == "console=ttyS1,115200"
    grub = (out / "pxe/grub/grub.cfg-01-52-54-00-00-00-21").read_text()
    assert f"    linux /installers/debian12/linux {' '.join(params)}\n" in grub
    assert "    initrd /installers/debian12/initrd.gz\n" in grub
    pxelinux = (out / "pxe/pxelinux.cfg/01-52-54-00-00-00-21").read_text()
    assert f"    APPEND {' '.join(params)}\n" in pxelinux
    assert "    KERNEL installers/debian12/linux\n" in pxelinux


def test_chain_script_picks_the_script_of_the_booting_mac(tmp_path: Path) -> None:
    out = render(tmp_path, inventory({}))
    chain = (out / "pxe/boot.ipxe").read_text()
    assert chain.startswith("#!ipxe\n")
    url = "http://10.1.0.2/cloudbr/pxe/ipxe/${netX/mac:hexhyp}.ipxe"
    assert f"chain --autofree {url} || goto unknown\n" in chain


# --- dnsmasq --------------------------------------------------------------------------------


def dnsmasq_test(conf: Path) -> subprocess.CompletedProcess[str]:
    if not shutil.which("dnsmasq"):
        pytest.fail("dnsmasq missing: run `make test`, which installs dnsmasq-base")
    return subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "pxe",
    [
        {},
        {"dhcp": {"mode": "dhcp", "range": {"start": "10.1.0.200", "end": "10.1.0.250"}}},
        {"dhcp": {"mode": "proxy"}},
        {"loader": "native"},
        {"loader": "native", "dhcp": {"mode": "proxy"}},
    ],
    ids=["static", "range", "proxy", "native", "native-proxy"],
)
def test_dnsmasq_accepts_the_configuration(tmp_path: Path, pxe: dict[str, object]) -> None:
    conf = render(tmp_path, inventory(pxe)) / "pxe/dnsmasq.conf"
    res = dnsmasq_test(conf)
    assert res.returncode == 0, res.stderr
    assert "syntax check OK" in res.stderr
    text = conf.read_text()
    if pxe.get("dhcp", {}) == {"mode": "proxy"}:  # type: ignore[comparison-overlap]
        assert "dhcp-range=10.1.0.0,proxy,255.255.255.0\n" in text
        assert "dhcp-host=52:54:00:00:00:21,set:cloudbr-deb1\n" in text
        assert "dhcp-ignore=tag:!known\n" in text
    else:
        assert "dhcp-host=52:54:00:00:00:21,set:cloudbr-deb1,10.1.0.21,deb1\n" in text
        assert "dhcp-host=52:54:00:00:00:22,set:cloudbr-el1,10.1.0.22,el1\n" in text


def test_dnsmasq_check_fails_on_a_broken_line(tmp_path: Path) -> None:
    """The consumer check can fail: the same file with one line mangled is refused."""
    conf = render(tmp_path, inventory({})) / "pxe/dnsmasq.conf"
    broken = tmp_path / "broken.conf"
    broken.write_text(conf.read_text().replace("dhcp-range=10.1.0.0,", "dhcp-range=10.1.0.0.0,"))
    res = dnsmasq_test(broken)
    assert res.returncode != 0
    assert "bad dhcp-range" in res.stderr


# --- nginx ----------------------------------------------------------------------------------


def nginx_wrapper(prefix: Path, server_block: Path) -> Path:
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "wrapper.conf"
    temps = " ".join(
        f"{k}_temp_path {prefix / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'logs/error.log'};\nevents {{}}\n"
        f"http {{\n    access_log {prefix / 'logs/access.log'};\n    {temps}\n"
        f"    include {server_block};\n}}\n"
    )
    return conf


def nginx(*args: str) -> subprocess.CompletedProcess[str]:
    if not shutil.which("nginx"):
        pytest.fail("nginx missing: run `make test`, which installs nginx-light")
    return subprocess.run(["nginx", *args], capture_output=True, text=True, timeout=30, check=False)


def test_nginx_accepts_the_server_block(tmp_path: Path) -> None:
    out = render(tmp_path, inventory({"path_secret": SECRET}))
    conf = nginx_wrapper(tmp_path / "nginx", out / "pxe/nginx.conf")
    res = nginx("-t", "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "e.log"))
    assert res.returncode == 0, res.stderr
    assert "test is successful" in res.stderr
    text = (out / "pxe/nginx.conf").read_text()
    assert "autoindex off;" in text
    broken = tmp_path / "broken.conf"
    broken.write_text(text.replace("deny all;", "deny everyone;", 1))
    bad = nginx_wrapper(tmp_path / "bad", broken)
    res = nginx("-t", "-p", str(bad.parent), "-c", str(bad), "-e", str(bad.parent / "e.log"))
    assert res.returncode != 0


# Runs inside the test's namespace: one request from a given source address.
REQUEST = (
    "import http.client, sys\n"
    "c = http.client.HTTPConnection('10.1.0.2', 80, timeout=10, source_address=(sys.argv[1], 0))\n"
    "c.request(sys.argv[2], sys.argv[3]); r = c.getresponse()\n"
    "sys.stdout.buffer.write(b'%d ' % r.status + r.read())\n"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real nginx with the generated server block, in a network namespace of this test
    whose loopback carries the boot server (10.1.0.2) and the host's address (10.1.0.21)."""
    out = tmp_path / "out"
    doc = yaml.safe_load(inventory({}))
    doc["site"]["pxe"]["document_root"] = str(out)
    doc["hosts"][0]["backend"] = "ovs"  # its preseed fetches the first-boot program
    render(tmp_path, yaml.safe_dump(doc))
    conf = nginx_wrapper(tmp_path / "nginx", out / "pxe/nginx.conf")
    ns = f"cbr-pxe-unit-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
    try:
        for addr in ("10.1.0.2/24", "10.1.0.21/32"):
            subprocess.run(
                ["ip", "-n", ns, "addr", "add", addr, "dev", "lo"], check=True, timeout=30
            )
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True, timeout=30)
        argv = ["nginx", "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "e.log")]
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while not (conf.parent / "nginx.pid").exists():
                assert proc.poll() is None, "nginx exited"
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
            yield out, ns
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)


def request(ns: str, path: str, source: str, method: str = "GET") -> tuple[int, bytes]:
    res = subprocess.run(
        ["ip", "netns", "exec", ns, "python3", "-c", REQUEST, source, method, path],
        capture_output=True,
        timeout=30,
        check=True,
    )
    status, _, body = res.stdout.partition(b" ")
    return int(status), body


def test_documents_reach_their_own_host_only(served: tuple[Path, str]) -> None:
    out, ns = served
    ipxe = (out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text()
    (url,) = [p.removeprefix("url=") for p in boot_line(ipxe) if p.startswith("url=")]
    path = url.removeprefix("http://10.1.0.2")
    assert request(ns, path, "10.1.0.21") == (200, (out / "deb1/preseed.cfg").read_bytes())
    assert request(ns, path, "10.1.0.2")[0] == 403  # any other address
    assert request(ns, path, "10.1.0.21", "POST")[0] == 403  # read-only
    # Public: the boot scripts; never listed, never the other files of OUT.
    assert request(ns, "/cloudbr/pxe/ipxe/52-54-00-00-00-21.ipxe", "10.1.0.2")[0] == 200
    others = ("/cloudbr/pxe/", "/cloudbr/pxe/ipxe/", "/cloudbr/pxe/ipxe/52-54-00-00-00-99.ipxe")
    others += ("/cloudbr/deb1/", "/cloudbr/pxe/dnsmasq.conf", "/cloudbr/boot/", "/")
    for other in others:
        assert request(ns, other, "10.1.0.21")[0] == 404, other
    assert request(ns, "/cloudbr/deb1/seed/user-data", "10.1.0.21")[0] == 404
    # The other host's kickstart is not deb1's to read.
    assert request(ns, "/cloudbr/el1/kickstart.cfg", "10.1.0.21")[0] == 403


def test_quoted_values_survive_each_loader(tmp_path: Path) -> None:
    """d-i wants `netcfg/get_nameservers="a b"` (the kernel drops the quotes). pxelinux and
    iPXE pass the line on as written; GRUB's parser would drop the quotes and split the
    word, so GRUB gets it single-quoted."""
    text = inventory({}).replace(
        "servers:\n    - 10.1.0.5", "servers:\n    - 10.1.0.5\n    - 10.1.0.6"
    )
    out = render(tmp_path, text)
    word = 'netcfg/get_nameservers="10.1.0.5 10.1.0.6"'
    assert f" {word} " in (out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text()
    assert f" {word} " in (out / "pxe/pxelinux.cfg/01-52-54-00-00-00-21").read_text()
    assert f" '{word}' " in (out / "pxe/grub/grub.cfg-01-52-54-00-00-00-21").read_text()


def test_grub_accepts_its_entries(tmp_path: Path) -> None:
    if not shutil.which("grub-script-check"):
        pytest.fail("grub-script-check missing: run `make test`, which installs grub-common")
    text = inventory({}).replace(
        "servers:\n    - 10.1.0.5", "servers:\n    - 10.1.0.5\n    - 10.1.0.6"
    )
    entries = sorted((render(tmp_path, text) / "pxe/grub").glob("grub.cfg-01-*"))
    assert len(entries) == 2
    for entry in entries:
        res = subprocess.run(
            ["grub-script-check", str(entry)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert res.returncode == 0, res.stdout + res.stderr
    broken = tmp_path / "broken.cfg"
    broken.write_text(entries[0].read_text().replace("}\n", ""))  # unclosed menuentry
    res = subprocess.run(
        ["grub-script-check", str(broken)], capture_output=True, timeout=30, check=False
    )
    assert res.returncode != 0


def test_the_shared_program_is_served_beside_each_preseed(served: tuple[Path, str]) -> None:
    """d-i fetches it relative to its preseed's URL; nginx serves OUT/_preseed/'s one copy
    there, to that host only."""
    out, ns = served
    ipxe = (out / "pxe/ipxe/52-54-00-00-00-21.ipxe").read_text()
    (url,) = [p.removeprefix("url=") for p in boot_line(ipxe) if p.startswith("url=")]
    path = url.removeprefix("http://10.1.0.2").replace("/preseed.cfg", "/cloudbr-ovs-firstboot")
    program = (out / "_preseed/cloudbr-ovs-firstboot").read_bytes()
    assert program.startswith(b"#!/bin/bash")
    assert request(ns, path, "10.1.0.21") == (200, program)
    assert request(ns, path, "10.1.0.2")[0] == 403
    assert request(ns, "/cloudbr/_preseed/cloudbr-ovs-firstboot", "10.1.0.21")[0] == 404
    # Only preseed hosts that carry it (not the EL host, whose kickstart carries its own).
    assert (out / "pxe/nginx.conf").read_text().count("/cloudbr-ovs-firstboot {") == 1


def _pxelinux_line(cfg: str) -> str:
    """What pxelinux hands the kernel: the APPEND line, with BOOT_IMAGE= and initrd= added."""
    words = dict(line.split(None, 1) for line in cfg.splitlines() if line.startswith("    "))
    return f"BOOT_IMAGE={words['KERNEL']} initrd={words['INITRD']} {words['APPEND']}"


def test_a_boot_line_the_kernel_would_cut_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x86 keeps 2047 characters of the command line (COMMAND_LINE_SIZE 2048): beyond, the
    install network's answers would be cut silently. Many DNS servers take it there."""

    def with_servers(count: int) -> str:
        doc = yaml.safe_load(inventory({"path_secret": SECRET}))
        doc["site"]["dns"]["servers"] = [f"10.2.{i // 250}.{i % 250 + 1}" for i in range(count)]
        return yaml.safe_dump(doc, sort_keys=False)

    out = render(tmp_path, with_servers(60))
    for mac in ("21", "22"):  # debian-installer's one quoted list, dracut's nameserver= each
        cfg = (out / f"pxe/pxelinux.cfg/01-52-54-00-00-00-{mac}").read_text()
        assert 1000 < len(_pxelinux_line(cfg)) <= 2047
    capsys.readouterr()
    inv = tmp_path / "long.yaml"
    inv.write_text(with_servers(150))
    assert main(["render", str(inv), "-o", str(tmp_path / "long"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "long.yaml:" in err
    assert "hosts[1]: its PXE boot line would be" in err  # el1: dracut's nameserver= each
    assert "the kernel keeps 2047" in err
    assert "nothing written" in err
    assert not (tmp_path / "long").exists() or not list((tmp_path / "long").iterdir())
