"""site.pxe: its rules, each with the exact line an operator sees, and its resolved model."""

from __future__ import annotations

import ipaddress
import textwrap

import pytest

from cloudbr.inventory import InventoryError, parse_inventory
from cloudbr.model import Distro
from cloudbr.pxe_model import PxeDhcpMode, PxeLoader

HEAD = """\
site:
  domain: lab.test
  distro: debian12
  pxe:
    server: 10.1.0.2/24
"""


def doc(pxe_extra: str = "", hosts: str | None = None) -> str:
    body = HEAD + textwrap.indent(textwrap.dedent(pxe_extra), "    ")
    body += "hosts:\n" + (
        hosts
        if hosts is not None
        else "  - hostname: kvm1\n    address: 10.1.0.21/24\n"
        '    macs: {eth0: "52:54:00:00:00:21"}\n'
    )
    return body


def errors(text: str) -> list[str]:
    with pytest.raises(InventoryError) as exc:
        parse_inventory(text, "inv.yaml")
    return exc.value.lines


def test_defaults_resolve_to_the_model() -> None:
    inv = parse_inventory(doc(), "inv.yaml")
    site = inv.pxe
    assert site is not None
    assert site.server == ipaddress.IPv4Interface("10.1.0.2/24")
    assert site.http_url == "http://10.1.0.2/cloudbr"
    assert (site.document_root, site.tftp_root) == ("/srv/cloudbr", "/srv/tftp")
    assert (site.dhcp_mode, site.dhcp_range, site.loader) == (
        PxeDhcpMode.DHCP,
        None,
        PxeLoader.IPXE,
    )
    installer = site.installer(Distro.DEBIAN12)
    assert (installer.kernel, installer.initrd) == (
        "installers/debian12/linux",
        "installers/debian12/initrd.gz",
    )
    (h,) = site.hosts
    assert (h.hostname, h.nic, h.mac, str(h.address)) == (
        "kvm1",
        "eth0",
        "52:54:00:00:00:21",
        "10.1.0.21/24",
    )


def test_no_site_pxe_means_no_pxe_model() -> None:
    text = "hosts:\n  - hostname: kvm1\n    address: 10.1.0.21/24\n"
    assert parse_inventory(text, "inv.yaml").pxe is None


def test_install_nic_without_mac_is_reported_at_the_host() -> None:
    hosts = "  - hostname: kvm1\n    address: 10.1.0.21/24\n"
    assert errors(doc(hosts=hosts)) == [
        "inv.yaml:7:5: hosts[0]: host kvm1 PXE-installs (site.pxe): its install NIC 'eth0' has "
        "no MAC address; set 'macs: {eth0: ...}' (DHCP and the boot entries are keyed by it)"
    ]


def test_install_nic_is_the_bond_primary() -> None:
    hosts = (
        "  - hostname: kvm1\n    address: 10.1.0.21/24\n"
        "    topology:\n"
        "      nics: [{name: eth0}, {name: eth1, mac: '52:54:00:00:00:22'}]\n"
        "      bonds: [{name: bond0, members: [eth0, eth1], primary: eth1}]\n"
        "      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1}]\n"
    )
    inv = parse_inventory(doc(hosts=hosts), "inv.yaml")
    assert inv.pxe is not None
    assert [(h.nic, h.mac) for h in inv.pxe.hosts] == [("eth1", "52:54:00:00:00:22")]


def test_hosts_selects_who_pxe_installs_and_unknown_names_are_reported() -> None:
    hosts = (
        "  - hostname: kvm1\n    address: 10.1.0.21/24\n"
        '    macs: {eth0: "52:54:00:00:00:21"}\n'
        "  - hostname: kvm2\n    address: 10.1.0.22/24\n"
    )
    inv = parse_inventory(doc("hosts: [kvm1]\n", hosts), "inv.yaml")
    assert inv.pxe is not None
    assert [h.hostname for h in inv.pxe.hosts] == ["kvm1"]  # kvm2 needs no MAC
    assert errors(doc("hosts: [kvm1, kvm3]\n", hosts)) == [
        "inv.yaml:6:19: site.pxe.hosts[1]: no host named 'kvm3' in 'hosts'"
    ]


def test_dhcp_mode_install_address_must_be_on_the_provisioning_network() -> None:
    hosts = '  - hostname: kvm1\n    address: 10.9.0.21/24\n    macs: {eth0: "52:54:00:00:00:21"}\n'
    assert errors(doc(hosts=hosts)) == [
        "inv.yaml:8:14: hosts[0].address: host kvm1 PXE-installs (site.pxe): 10.9.0.21 is outside "
        "the provisioning network 10.1.0.0/24 of site.pxe.server, where dnsmasq hands out the "
        "install address"
    ]
    # proxy-DHCP: another DHCP server and a router reach it; the boot line is static anyway.
    assert parse_inventory(doc("dhcp: {mode: proxy}\n", hosts), "inv.yaml").pxe is not None


def test_range_rules() -> None:
    inside = "dhcp: {range: {start: 10.1.0.20, end: 10.1.0.30}}\n"
    assert errors(doc(inside)) == [
        "inv.yaml:9:14: hosts[0].address: install address 10.1.0.21 is inside "
        "site.pxe.dhcp.range (10.1.0.20-10.1.0.30): dnsmasq could lease it to another machine"
    ]
    outside = "dhcp: {range: {start: 10.2.0.20, end: 10.1.0.10}}\n"
    assert errors(doc(outside)) == [
        "inv.yaml:6:27: site.pxe.dhcp.range.start: 10.2.0.20 is outside the provisioning "
        "network 10.1.0.0/24",
        "inv.yaml:6:43: site.pxe.dhcp.range.end: range end 10.1.0.10 is below its start 10.2.0.20",
    ]
    # Hosts that do not PXE-install, and the boot server itself, are not for lease either.
    hosts = (
        '  - hostname: kvm1\n    address: 10.1.0.21/24\n    macs: {eth0: "52:54:00:00:00:21"}\n'
        "  - hostname: kvm2\n    address: 10.1.0.205/24\n"
    )
    low = "hosts: [kvm1]\ndhcp: {range: {start: 10.1.0.1, end: 10.1.0.20}}\n"
    high = "hosts: [kvm1]\ndhcp: {range: {start: 10.1.0.200, end: 10.1.0.250}}\n"
    assert errors(doc(low, hosts)) == [
        "inv.yaml:5:13: site.pxe.server: address 10.1.0.2 is inside site.pxe.dhcp.range "
        "(10.1.0.1-10.1.0.20): dnsmasq could lease it to another machine"
    ]
    assert errors(doc(high, hosts)) == [
        "inv.yaml:13:14: hosts[1].address: address 10.1.0.205 is inside site.pxe.dhcp.range "
        "(10.1.0.200-10.1.0.250): dnsmasq could lease it to another machine"
    ]
    proxy = "dhcp: {mode: proxy, range: {start: 10.1.0.200, end: 10.1.0.210}}\n"
    assert errors(doc(proxy)) == [
        "inv.yaml:6:32: site.pxe.dhcp.range: a proxy-DHCP server hands out no addresses: "
        "remove 'range'"
    ]


def test_hostname_pxe_is_reserved_for_the_site_tree() -> None:
    hosts = "  - hostname: pxe\n    address: 10.1.0.21/24\n    macs: {eth0: '52:54:00:00:00:21'}\n"
    assert errors(doc(hosts=hosts)) == [
        "inv.yaml:7:15: hosts[0].hostname: hostname 'pxe' is reserved: OUT/pxe/ holds the "
        "site's PXE files"
    ]
    # Without site.pxe too: OUT/pxe/ must stay free for it.
    plain = "hosts:\n  - hostname: pxe\n    address: 10.1.0.21/24\n"
    assert errors(plain) == [
        "inv.yaml:2:15: hosts[0].hostname: hostname 'pxe' is reserved: OUT/pxe/ holds the "
        "site's PXE files"
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "http_url: 'http://10.1.0.2/a b'\n",
            "inv.yaml:6:15: site.pxe.http_url: 'http://10.1.0.2/a b' is not a plain http:// URL",
        ),
        (
            "http_url: https://10.1.0.2/x\n",
            "inv.yaml:6:15: site.pxe.http_url: 'https://10.1.0.2/x' is not a plain http:// URL",
        ),
        (
            "tftp_root: /srv/tftp;x\n",
            "inv.yaml:6:16: site.pxe.tftp_root: '/srv/tftp;x' is not an absolute path",
        ),
        (
            "document_root: /srv/../etc\n",
            "inv.yaml:6:20: site.pxe.document_root: '/srv/../etc': '..' is not allowed",
        ),
        (
            "installers: {debian12: {kernel: /abs/linux, initrd: x/initrd.gz}}\n",
            "inv.yaml:6:37: site.pxe.installers.debian12.kernel: '/abs/linux' is not a relative "
            "path",
        ),
        (
            "path_secret: short\n",
            "inv.yaml:6:18: site.pxe.path_secret: must be 32-256 characters",
        ),
        (
            "console: 'ttyS0 quiet'\n",
            "inv.yaml:6:14: site.pxe.console: String should match pattern",
        ),
        (
            "dhcp: {mode: relay}\n",
            "inv.yaml:6:18: site.pxe.dhcp.mode: Input should be 'dhcp' or 'proxy'",
        ),
        (
            "severs: 10.1.0.3/24\n",
            "inv.yaml:6:5: site.pxe.severs: unknown key 'severs' (did you mean 'server'?)",
        ),
    ],
)
def test_hostile_or_misspelt_values_are_refused_at_their_line(extra: str, message: str) -> None:
    (line,) = errors(doc(extra))
    assert line.startswith(message), line


def test_server_needs_an_ipv4_prefix() -> None:
    text = HEAD.replace("10.1.0.2/24", "10.1.0.2") + "hosts:\n  - hostname: kvm1\n"
    assert errors(text) == [
        "inv.yaml:5:13: site.pxe.server: expected the boot server's IPv4 address with its "
        "prefix, e.g. 10.0.0.2/24"
    ]


def test_validators_match_whole_values() -> None:
    """The loader already refuses control characters; the validators match whole values
    anyway (`$` alone would accept a trailing newline into nginx and dnsmasq lines)."""
    from cloudbr.inventory import pxe

    for check, value in (
        (pxe._abs_path, "/srv/tftp\n"),
        (pxe._rel_path, "installers/linux\n"),
        (pxe._http_url, "http://10.1.0.2/cloudbr\n"),
        (pxe._secret, "s" * 40 + "\n"),
    ):
        with pytest.raises(ValueError, match=r"not|must be"):
            check(value)


def test_control_characters_never_reach_pxe_files() -> None:
    text = doc('tftp_root: "/srv/tftp\\nenable-ra"\n')
    assert errors(text) == [
        "inv.yaml:6:16: site.pxe.tftp_root: control character U+000A is not allowed (no "
        "newlines, tabs or other control characters in inventory values)"
    ]


@pytest.mark.parametrize("name", ["ignore", "infinite", "300", "5h", "2w"])
def test_a_hostname_dnsmasq_reads_as_a_lease_time_or_keyword_is_refused(name: str) -> None:
    """dnsmasq's dhcp-host (option.c): digits with at most one unit letter are a lease time,
    `ignore` never answers the MAC; the host would boot without its name or not at all."""
    hosts = f"  - hostname: {name!r}\n    address: 10.1.0.21/24\n"
    hosts += "    macs: {eth0: '52:54:00:00:00:21'}\n"
    assert errors(doc(hosts=hosts)) == [
        f"inv.yaml:7:15: hosts[0].hostname: host {name} PXE-installs (site.pxe): dnsmasq's "
        f"dhcp-host would read {name!r} as a lease time or keyword, not as its name: rename "
        "the host"
    ]


def test_a_dot_segment_in_the_http_url_is_refused() -> None:
    """nginx matches `location =` on the normalised URI: /./cloudbr/... never matches."""
    text = doc("http_url: http://10.1.0.2/./cloudbr\n")
    assert errors(text) == [
        "inv.yaml:6:15: site.pxe.http_url: 'http://10.1.0.2/./cloudbr': '.' is not allowed in "
        "a path"
    ]


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("10.1.0.0/24", "10.1.0.0 is the network address of 10.1.0.0/24"),
        ("10.1.0.255/24", "10.1.0.255 is the broadcast address of 10.1.0.0/24"),
        ("0.0.0.0/0", "0.0.0.0 is the network address of 0.0.0.0/0"),
    ],
)
def test_the_boot_server_needs_a_host_address(server: str, why: str) -> None:
    """dnsmasq hands out no lease on a provisioning network the server has no address in."""
    text = doc().replace("server: 10.1.0.2/24", f"server: {server}")
    assert errors(text) == [f"inv.yaml:5:13: site.pxe.server: {why}, not a host address"]


def test_a_host_named_boot_needs_the_path_secret() -> None:
    """Without path_secret its documents are at HTTP_URL/boot/..., the installers' place
    (nginx refused the duplicate location for an installer path named kickstart.cfg)."""
    hosts = "  - hostname: boot\n    address: 10.1.0.21/24\n    macs: {eth0: '52:54:00:00:00:21'}\n"
    assert errors(doc(hosts=hosts)) == [
        "inv.yaml:7:15: hosts[0].hostname: host boot PXE-installs (site.pxe): without "
        "site.pxe.path_secret its documents would be served below HTTP_URL/boot/, where the "
        "installers are: rename the host"
    ]
    secret = doc('path_secret: "0123456789abcdef0123456789abcdef"\n', hosts=hosts)
    assert parse_inventory(secret, "inv.yaml").hosts[0].hostname == "boot"


def test_a_host_may_not_have_the_boot_servers_address() -> None:
    hosts = '  - hostname: kvm1\n    address: 10.1.0.2/24\n    macs: {eth0: "52:54:00:00:00:21"}\n'
    assert errors(doc(hosts=hosts)) == [
        "inv.yaml:8:14: hosts[0].address: host kvm1 PXE-installs (site.pxe): 10.1.0.2 is the "
        "boot server's own address (site.pxe.server): nginx, which serves a document to its "
        "host's address, would serve this one to anything running on the boot server"
    ]


def test_documents_may_not_be_inside_tftp_root() -> None:
    inside = "tftp_root: /srv/tftp\ndocument_root: /srv/tftp/cloudbr\n"
    assert errors(doc(inside)) == [
        "inv.yaml:7:20: site.pxe.document_root: /srv/tftp/cloudbr is inside tftp_root /srv/tftp: "
        "TFTP would serve every host's documents (password hashes, keys) to anyone, without "
        "nginx's check of the host's address"
    ]
    assert parse_inventory(doc("tftp_root: /srv/tftp\ndocument_root: /srv/tftp2\n"), "inv.yaml")


def test_proxy_dhcp_chain_url_fits_the_bootp_file_field() -> None:
    url = "http://10.1.0.2/" + "p" * (113 - len("http://10.1.0.2/"))
    fits = f"dhcp: {{mode: proxy}}\nhttp_url: {url}\n"
    assert parse_inventory(doc(fits), "inv.yaml").pxe is not None
    long = f"dhcp: {{mode: proxy}}\nhttp_url: {url}q\n"
    assert errors(doc(long)) == [
        f"inv.yaml:7:15: site.pxe.http_url: proxy-DHCP hands iPXE its chain script {url}q/pxe/boot.ipxe "
        "in the BOOTP file field, which holds 127 characters: keep http_url to 113 characters"
    ]
    # DHCP mode sends it as option 67, and the native loaders fetch no chain script.
    assert parse_inventory(doc(f"http_url: {url}q\n"), "inv.yaml").pxe is not None
    native = f"dhcp: {{mode: proxy}}\nloader: native\nhttp_url: {url}q\n"
    assert parse_inventory(doc(native), "inv.yaml").pxe is not None
