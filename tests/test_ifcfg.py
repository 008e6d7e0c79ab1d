"""CentOS 7 ifcfg files, proven by their consumers.

- Every file is *sourced by bash*, as initscripts and ifup-ovs do; what bash sees is compared.
- linux bridge: key by key against cloud-init's own sysconfig renderer (`cloud-init devel
  net-convert -D centos -O sysconfig`) fed a network-config v2 of the same topology.
- Open vSwitch: replayed the way the `network` service and OVS's ifup-ovs turn the files into
  `ovs-vsctl` commands, against a private ovsdb-server.
- The reference post's files (typed below as published, mistakes included) agree with ours
  except for a documented list of corrections.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudbr.files import FileMap
from cloudbr.inventory import load_inventory, parse_inventory
from cloudbr.model import Backend, Distro, Dns, Host
from cloudbr.render import ifcfg
from tests.conftest import EXAMPLES
from tests.support.golden import assert_golden_tree
from tests.support.ovsdb import OvsDb

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("CLOUDBR_UPDATE_GOLDEN") == "1"
SCRIPTS = "/etc/sysconfig/network-scripts/"

ODD = """
site:
  distro: centos7
  domain: example.net
  ipv6: false
  dns: {servers: [192.0.2.53]}
hosts:
  # IPv6, MTU, STP, NICs straight on bridges (no bonds), known MACs, two search domains.
  - hostname: odd-v6
    backend: linuxbridge
    ipv6: true
    dns: {servers: [192.0.2.53, "2001:db8::53"], search: [a.example, b.example]}
    topology:
      nics: [{name: ens3, mtu: 9000, mac: "52:54:00:aa:00:03"}, {name: ens4, mac: "52:54:00:aa:00:04"}]
      bonds: []
      bridges:
        - {name: cloudbr0, uplink: ens3, mtu: 9000, stp: true, forward_delay: 4}
        - {name: cloudbr1, uplink: ens4}
    address: 192.0.2.10/24
    gateway: 192.0.2.1
    address6: 2001:db8::10/64
    gateway6: 2001:db8::1
  # LACP bonds with hash policy; management on a VLAN bridge.
  - hostname: odd-lacp
    backend: linuxbridge
    bond: {mode: 802.3ad, miimon: 100, lacp_rate: fast, xmit_hash_policy: layer3+4}
    topology:
      bridges: [{name: cloudbr0, uplink: bond0}, {name: cloudbr1, uplink: bond1}]
      vlans: [{id: 200, parent: bond0, bridge: mgmt200}]
    traffic_labels: {management: mgmt200, guest: cloudbr0, public: cloudbr1}
    address: 198.51.100.7/24
    gateway: 198.51.100.1
  # OVS: LACP bond, a NIC straight on a bridge, MTU, and a fake bridge whose name sorts
  # before its parent's (so boot order alone would create it first).
  - hostname: odd-ovs
    backend: ovs
    topology:
      nics: [{name: eth0}, {name: eth1}, {name: eth2}]
      bonds: [{name: bond0, members: [eth0, eth1], mode: balance-tcp, lacp_rate: fast, miimon: 50, mtu: 9000}]
      bridges: [{name: cloudbr0, uplink: bond0, mtu: 9000}, {name: cloudbr1, uplink: eth2}]
      vlans: [{id: 300, parent: cloudbr0, bridge: abr300, addresses: [10.3.0.5/24]}]
    traffic_labels: {management: cloudbr0, guest: cloudbr0, public: cloudbr1, storage: abr300}
    address: 203.0.113.9/24
    gateway: 203.0.113.1
"""


def odd(name: str) -> Host:
    return parse_inventory(ODD, "odd.yaml").host(name)


def example(path: str, name: str | None = None) -> Host:
    inv = load_inventory(EXAMPLES / path)
    return inv.host(name) if name else inv.hosts[0]


def centos7_hosts(backend: Backend) -> list[Host]:
    hosts = [h for p in sorted(EXAMPLES.glob("*.yaml")) for h in load_inventory(p).hosts]
    hosts += list(parse_inventory(ODD, "odd.yaml").hosts)
    return [h for h in hosts if h.distro is Distro.CENTOS7 and h.backend is backend]


def write(files: FileMap, root: Path) -> Path:
    for path, f in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
    return root


def sourced(path: Path) -> dict[str, str]:
    """The variables a file sets when bash sources it, as initscripts do."""
    out = subprocess.run(
        ["env", "-i", "bash", "-c", 'set -a; . "$1" >/dev/null; set +a; env -0', "_", str(path)],
        capture_output=True,
        check=True,
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in out.split("\0") if item)
    for noise in ("PWD", "SHLVL", "_"):
        env.pop(noise, None)
    return env


def sourced_tree(root: Path) -> dict[str, dict[str, str]]:
    scripts = root / SCRIPTS.lstrip("/")
    return {p.name: sourced(p) for p in sorted(scripts.glob("ifcfg-*"))}


# --- plain facts -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(Backend))
def test_every_file_is_named_after_its_device_and_sources_cleanly(
    tmp_path: Path, backend: Backend
) -> None:
    for host in centos7_hosts(backend):
        root = write(ifcfg.render(host), tmp_path / host.hostname)
        files = sourced_tree(root)
        devices = {n.name for n in host.nics} | {b.name for b in host.bridges}
        devices |= {b.name for b in host.bonds}
        if backend is Backend.LINUXBRIDGE:
            devices |= {v.name for v in host.vlans}
        assert set(files) == {f"ifcfg-{d}" for d in devices}, host.hostname
        for name, env in files.items():
            assert f"ifcfg-{env['DEVICE']}" == name
            assert env["ONBOOT"] == "yes"
            assert env["NM_CONTROLLED"] == "no"
            assert env.get("TYPE") != "Unknown"
            if env.get("TYPE") in ("Bridge", "OVSBridge"):
                assert "VLAN" not in env, f"{name}: VLAN=yes belongs on the VLAN device"
        for path, f in ifcfg.render(host).items():
            assert f.mode == 0o644, path


def test_storage_bridge_has_no_gateway_and_no_default_route(tmp_path: Path) -> None:
    for backend in Backend:
        host = example(f"seed-centos7-{'ovs' if backend is Backend.OVS else 'bridge'}.yaml")
        files = sourced_tree(write(ifcfg.render(host), tmp_path / backend.value))
        storage = files["ifcfg-cloudbr100"]
        assert "GATEWAY" not in storage
        assert storage["DEFROUTE"] == "no"
        assert files["ifcfg-cloudbr0"]["DEFROUTE"] == "yes"
        assert files["ifcfg-cloudbr0"]["GATEWAY"] == "192.168.100.1"


def test_sysconfig_network(tmp_path: Path) -> None:
    env = sourced(
        write(ifcfg.render(example("seed-centos7-bridge.yaml")), tmp_path) / "etc/sysconfig/network"
    )
    assert env == {
        "NETWORKING": "yes",
        "HOSTNAME": "kvmhost1.mylab.local",
        "GATEWAY": "192.168.100.1",
        "NETWORKING_IPV6": "no",
        "IPV6INIT": "no",
        "IPV6_AUTOCONF": "no",
    }
    env6 = sourced(write(ifcfg.render(odd("odd-v6")), tmp_path / "v6") / "etc/sysconfig/network")
    assert env6["NETWORKING_IPV6"] == "yes"
    assert "IPV6INIT" not in env6


def test_value_that_bash_would_expand_is_refused() -> None:
    host = example("seed-centos7-bridge.yaml")
    br = dataclasses.replace(host.bridges[0], dns=Dns(search=("x$(reboot)",)))
    bad = dataclasses.replace(host, bridges=(br, *host.bridges[1:]))
    with pytest.raises(ValueError, match="plain shell word"):
        ifcfg.render(bad)


# --- linux bridge vs cloud-init's sysconfig renderer ------------------------------------------


def network_config_v2(host: Host) -> dict[str, object]:
    """The same topology in network-config v2, written independently of ifcfg.py."""
    eths: dict[str, dict[str, object]] = {}
    for n in host.nics:
        eth: dict[str, object] = {}
        if n.mac:
            eth |= {"match": {"macaddress": n.mac}, "set-name": n.name}
        if n.mtu:
            eth["mtu"] = n.mtu
        eths[n.name] = eth
    bonds = {}
    for b in host.bonds:
        params: dict[str, object] = {
            "mode": b.mode.value,
            "mii-monitor-interval": b.miimon,
            "up-delay": b.updelay,
            "down-delay": b.downdelay,
        }
        if b.primary:
            params["primary"] = b.primary
        if b.lacp_rate:
            params["lacp-rate"] = b.lacp_rate.value
        if b.xmit_hash_policy:
            params["transmit-hash-policy"] = b.xmit_hash_policy.value
        bonds[b.name] = {"interfaces": list(b.members), "parameters": params}
        if b.mtu:
            bonds[b.name]["mtu"] = b.mtu
    vlans = {v.name: {"id": v.id, "link": v.device.name} for v in host.vlans}
    bridges = {}
    for br in host.bridges:
        d: dict[str, object] = {
            "interfaces": [br.uplink.name] if br.uplink else [],
            "parameters": {"stp": br.stp, "forward-delay": br.forward_delay},
        }
        if br.addresses:
            d["addresses"] = [str(a) for a in br.addresses]
        if br.gateway4:
            d["gateway4"] = str(br.gateway4)
        if br.gateway6:
            d["gateway6"] = str(br.gateway6)
        if br.dns:
            d["nameservers"] = {
                "addresses": [str(s) for s in br.dns.servers],
                "search": list(br.dns.search),
            }
        if br.mtu:
            d["mtu"] = br.mtu
        bridges[br.name] = d
    return {"version": 2, "ethernets": eths, "bonds": bonds, "vlans": vlans, "bridges": bridges}


def cloud_init_sysconfig(host: Host, tmp: Path) -> Path:
    cfg = tmp / "network-config.yaml"
    cfg.write_text(yaml.safe_dump(network_config_v2(host)))
    out = tmp / "cloud-init"
    subprocess.run(
        [
            "cloud-init",
            "devel",
            "net-convert",
            "-p",
            str(cfg),
            "-k",
            "yaml",
            "-d",
            str(out),
            "-D",
            "centos",
            "-O",
            "sysconfig",
        ],
        check=True,
        capture_output=True,
    )
    return out


def intentional_difference(key: str, ours: str | None, theirs: str | None) -> str | None:
    """Why a key may differ from cloud-init's rendering; None when it may not."""
    if key == "DELAY" and theirs is None:
        return "cloud-init drops the bridge forward delay; initscripts apply DELAY (brctl setfd)"
    if key == "DEFROUTE" and ours == "no" and theirs is None:
        return "only the gateway's bridge may take the default route (global GATEWAY)"
    if key == "IPV6INIT" and ours == "no" and theirs is None:
        return "IPv6 is off for this bridge: say so instead of relying on the default"
    if key.startswith("BONDING_SLAVE") and ours is None:
        return "NetworkManager's key; initscripts enslave through MASTER=/SLAVE= in the NICs"
    if key == "IPV6_FORCE_ACCEPT_RA" and ours is None and theirs == "no":
        return "IPV6_AUTOCONF=no already keeps router advertisements from configuring it"
    return None


def bonding_opts(value: str) -> dict[str, str]:
    return dict(opt.split("=", 1) for opt in value.split())


# Keys that must be present and equal wherever either side has them.
CORE = {
    "DEVICE",
    "TYPE",
    "ONBOOT",
    "BOOTPROTO",
    "MASTER",
    "SLAVE",
    "HWADDR",
    "BRIDGE",
    "VLAN",
    "PHYSDEV",
    "IPADDR",
    "NETMASK",
    "IPADDR1",
    "NETMASK1",
    "GATEWAY",
    "DNS1",
    "DNS2",
    "DOMAIN",
    "IPV6ADDR",
    "IPV6ADDR_SECONDARIES",
    "IPV6_DEFAULTGW",
    "MTU",
    "STP",
    "BONDING_OPTS",
    "BONDING_MASTER",
    "NM_CONTROLLED",
}


@pytest.mark.parametrize(
    "host",
    [*centos7_hosts(Backend.LINUXBRIDGE)],
    ids=lambda h: h.hostname,
)
def test_linux_bridge_agrees_with_cloud_init_sysconfig(tmp_path: Path, host: Host) -> None:
    ours = sourced_tree(write(ifcfg.render(host), tmp_path / "ours"))
    ci_root = cloud_init_sysconfig(host, tmp_path)
    theirs = sourced_tree(ci_root)
    assert set(ours) == set(theirs)
    explained: dict[tuple[str, str], str] = {}
    for name in sorted(ours):
        a, b = dict(ours[name]), dict(theirs[name])
        if "BONDING_OPTS" in a and "BONDING_OPTS" in b:
            # Same options, each tool's own order.
            assert bonding_opts(a["BONDING_OPTS"]) == bonding_opts(b["BONDING_OPTS"]), name
            a["BONDING_OPTS"] = b["BONDING_OPTS"]
        for key in sorted(set(a) | set(b)):
            if a.get(key) == b.get(key):
                continue
            assert key not in CORE, f"{name}: {key} ours={a.get(key)!r} cloud-init={b.get(key)!r}"
            why = intentional_difference(key, a.get(key), b.get(key))
            assert why, f"{name}: undocumented difference {key}: {a.get(key)!r} vs {b.get(key)!r}"
            explained[(name, key)] = why
    # The comparison compared something: the topology's identifying keys agree everywhere.
    assert all(ours[n]["DEVICE"] == theirs[n]["DEVICE"] for n in ours)
    # /etc/sysconfig/network: whatever cloud-init states, we state the same.
    net_ours = sourced(tmp_path / "ours/etc/sysconfig/network")
    net_theirs = sourced(ci_root / "etc/sysconfig/network")
    assert {k: net_ours.get(k) for k in net_theirs} == net_theirs


# --- Open vSwitch: replay the boot ----------------------------------------------------------

# What CentOS 7 does with the files at boot, reduced to the Open vSwitch part:
# - the `network` service ups every ONBOOT file in name order (eth10 after eth9), skipping
#   SLAVE=yes and deferring VLAN devices and TYPE=Bridge to the end;
# - `ifup` sources the file and dispatches on DEVICETYPE (default: the name without its
#   trailing digits), so only DEVICETYPE=ovs files reach ifup-ovs, the rest ifup-eth.
# ifup-ovs itself is modelled from openvswitch's rhel/etc_sysconfig_network-scripts_ifup-ovs
# at v2.12.0 (RDO Train's build for CentOS 7; the file is identical from v2.11.0 to v2.13.0),
# the branches our files reach:
# - OVSREQUIRES: each name not yet in UPPEDSTACK is upped first (check_recursion);
# - OVSBridge: `check_device_down` -> `--may-exist add-br "$DEVICE" $OVS_OPTIONS` (a fake
#   bridge's "<parent> <vlan>" or nothing) [-- $OVS_EXTRA] [-- set bridge stp_enable=$STP],
#   else OVSBRIDGECONFIGURED=yes; then, not DHCP and no OVSINTF and not already configured,
#   ifup-eth configures the bridge's addresses (OVSBOOTPROTO, MACADDR: never written by us);
# - OVSPort: ifup_ovs_bridge (ifup it if `br-exists` fails), ifup-eth, `--if-exists del-port
#   -- add-port "$OVS_BRIDGE" "$DEVICE" $OVS_OPTIONS [-- $OVS_EXTRA]`, OVSINTF=$DEVICE ifup
#   of the bridge;
# - OVSBond: ifup_ovs_bridge, ifup of each BOND_IFACES, `--if-exists del-port -- add-bond
#   "$OVS_BRIDGE" "$DEVICE" $BOND_IFACES $OVS_OPTIONS [-- $OVS_EXTRA]`, OVSINTF ifup of the
#   bridge;
# - any other TYPE: "Invalid OVS interface type", exit 1.
# Unquoted expansions are word-split as there. A device is "down" until this replay has
# upped it (check_device_down asks the kernel). ifup-eth is logged, not run; starting the
# openvswitch service is out of scope. `ovs-vsctl` is the ovsdb fixture's shim.
REPLAY = r"""
# shellcheck disable=SC1090,SC2012,SC2086  # word splitting of the values is what ifup-ovs does
set -eu
dir=$1
up=$(mktemp)
vsctl() { echo "ovs-vsctl $*"; ovs-vsctl "$@"; }
ifup_eth() { echo "ifup-eth $1${2:+ $2}"; echo "$1" >> "$up"; }
device_down() { ! grep -qx "$1" "$up"; }
ifup() (
    cfg="$dir/ifcfg-$1"
    [ -f "$cfg" ] || { echo "ifup $1: no $cfg" >&2; exit 1; }
    unset DEVICE TYPE DEVICETYPE OVS_BRIDGE OVS_OPTIONS OVS_EXTRA BOND_IFACES OVSREQUIRES STP
    . "$cfg"
    [ -n "${DEVICETYPE:-}" ] || DEVICETYPE=${DEVICE%"${DEVICE##*[!0-9]}"}
    if [ "$DEVICETYPE" != ovs ]; then ifup_eth "$DEVICE"; exit 0; fi
    UPPEDSTACK=${UPPEDSTACK:-$DEVICE}
    for r in ${OVSREQUIRES:-}; do
        case " $UPPEDSTACK " in *" $r "*) ;; *) UPPEDSTACK="$UPPEDSTACK $r" ifup "$r" ;; esac
    done
    ifup_ovs_bridge() { vsctl br-exists "$OVS_BRIDGE" || ifup "$OVS_BRIDGE"; }
    case "$TYPE" in
    OVSBridge)
        configured=no
        if device_down "$DEVICE"; then
            vsctl -t 10 -- --may-exist add-br "$DEVICE" ${OVS_OPTIONS:-} \
                ${OVS_EXTRA+-- $OVS_EXTRA} ${STP+-- set bridge "$DEVICE" stp_enable="${STP}"}
        else
            configured=yes
        fi
        if [ -z "${OVSINTF:-}" ] && [ "$configured" != yes ]; then ifup_eth "$DEVICE"; fi ;;
    OVSPort)
        ifup_ovs_bridge
        ifup_eth "$DEVICE" port
        vsctl -t 10 -- --if-exists del-port "$OVS_BRIDGE" "$DEVICE" \
            -- add-port "$OVS_BRIDGE" "$DEVICE" ${OVS_OPTIONS:-} ${OVS_EXTRA+-- $OVS_EXTRA}
        OVSINTF=$DEVICE ifup "$OVS_BRIDGE" ;;
    OVSBond)
        ifup_ovs_bridge
        for i in $BOND_IFACES; do ifup "$i"; done
        vsctl -t 10 -- --if-exists del-port "$OVS_BRIDGE" "$DEVICE" \
            -- add-bond "$OVS_BRIDGE" "$DEVICE" $BOND_IFACES ${OVS_OPTIONS:-} \
            ${OVS_EXTRA+-- $OVS_EXTRA}
        OVSINTF=$DEVICE ifup "$OVS_BRIDGE" ;;
    *) echo "Invalid OVS interface type $TYPE" >&2; exit 1 ;;
    esac
)
later=""
for i in $(cd "$dir" && ls ifcfg-* | sed -e 's/^ifcfg-//' -e 's/[0-9]/ &/' \
           | LC_ALL=C sort -k 1,1 -k 2n | sed 's/ //'); do
    eval "$(grep -E '^(DEVICE|TYPE|SLAVE|ONBOOT)=' "$dir/ifcfg-$i")"
    if [ "${SLAVE:-}" = yes ] || [ "${ONBOOT:-}" = no ]; then continue; fi
    case "$DEVICE" in
    *.*|vlan*) later="$later $i"; continue ;;
    esac
    if [ "${TYPE:-}" = Bridge ]; then later="$later $i"; continue; fi
    ifup "$i"
    unset DEVICE TYPE SLAVE ONBOOT
done
for i in $later; do ifup "$i"; done
"""


def replay(db: OvsDb, scripts: Path) -> str:
    out = subprocess.run(
        ["bash", "-c", REPLAY, "replay", str(scripts)],
        env=db.env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_replayer_passes_shellcheck() -> None:
    out = subprocess.run(
        ["shellcheck", "-s", "bash", "-"], input=REPLAY, text=True, capture_output=True
    )
    assert out.returncode == 0, out.stdout


def assert_bond(db: OvsDb, host: Host, bond_name: str) -> None:
    bond = host.bond(bond_name)
    assert db.ifaces(bond.name) == set(bond.members)
    assert db.get("Port", bond.name, "bond_mode") == bond.mode.value
    assert db.get("Port", bond.name, "lacp") == bond.ovs_lacp.value
    assert db.get("Port", bond.name, "other_config:bond-detect-mode") == "miimon"
    assert db.get("Port", bond.name, "other_config:bond-miimon-interval") == str(bond.miimon)


def test_ovs_seed_host_replays_to_the_reference_topology(tmp_path: Path, ovsdb: OvsDb) -> None:
    host = example("seed-centos7-ovs.yaml")
    log = replay(ovsdb, write(ifcfg.render(host), tmp_path) / SCRIPTS.lstrip("/"))
    assert ovsdb.bridges() == {"cloudbr0", "cloudbr1", "cloudbr100"}
    assert ovsdb.ports("cloudbr0") == {"bond0"}
    assert ovsdb.ports("cloudbr1") == {"bond1"}
    for bond in ("bond0", "bond1"):
        assert_bond(ovsdb, host, bond)
    # CentOS 7's OVS (2.12 or older) has no other_config:bond-primary: not written.
    assert host.bond("bond0").primary == "eth0"
    assert "bond-primary" not in ovsdb.vsctl("get", "Port", "bond0", "other_config")
    assert ovsdb.vsctl("br-to-parent", "cloudbr100") == "cloudbr0"
    assert ovsdb.vsctl("br-to-vlan", "cloudbr100") == "100"
    assert "ovs-vsctl -t 10 -- --may-exist add-br cloudbr100 cloudbr0 100" in log
    assert ovsdb.get("Bridge", "cloudbr0", "stp_enable") == "false"
    # CloudStack's KVM agent checks every traffic label with `ovs-vsctl br-exists`.
    for _, label in host.traffic_labels.items():
        ovsdb.vsctl("br-exists", label)
    # Bond members were brought up as plain links before their bond.
    assert log.index("ifup-eth eth0") < log.index("add-bond cloudbr0 bond0")
    lines = log.splitlines()
    # OVSBridge without OVS_OPTIONS, then ifup-eth for its addresses, exactly once per bridge
    # (the OVSINTF re-ifups after each port skip both): the v2.12.0 OVSBridge branch.
    for bridge in host.bridges:
        assert lines.count(f"ifup-eth {bridge.name}") == 1, bridge.name
    add_br = [ln for ln in lines if " add-br cloudbr0" in ln]
    assert add_br == [
        "ovs-vsctl -t 10 -- --may-exist add-br cloudbr0 -- set bridge cloudbr0 stp_enable=false"
    ]
    # OVSBond: the stale port goes first, in the same transaction.
    assert any(
        "-- --if-exists del-port cloudbr0 bond0 -- add-bond cloudbr0 bond0 eth0 eth1" in ln
        for ln in lines
    )


@pytest.mark.parametrize("host", centos7_hosts(Backend.OVS), ids=lambda h: h.hostname)
def test_every_ovs_host_replays_to_its_model(tmp_path: Path, ovsdb: OvsDb, host: Host) -> None:
    replay(ovsdb, write(ifcfg.render(host), tmp_path) / SCRIPTS.lstrip("/"))
    assert ovsdb.bridges() == {b.name for b in host.bridges}
    for br in host.plain_bridges:
        uplinks = {br.uplink.name} if br.uplink else set()
        assert ovsdb.ports(br.name) == uplinks
    for bond in host.bonds:
        assert_bond(ovsdb, host, bond.name)
    for v in host.vlans:
        assert ovsdb.vsctl("br-to-parent", v.bridge) == v.parent_bridge
        assert ovsdb.vsctl("br-to-vlan", v.bridge) == str(v.id)
    for _, label in host.traffic_labels.items():
        ovsdb.vsctl("br-exists", label)


def test_odd_ovs_host_details(tmp_path: Path, ovsdb: OvsDb) -> None:
    host = odd("odd-ovs")
    log = replay(ovsdb, write(ifcfg.render(host), tmp_path) / SCRIPTS.lstrip("/"))
    # The OVSPort branch: ifup-eth for the port, then del-port + add-port in one transaction.
    lines = log.splitlines()
    port = lines.index("ifup-eth eth2 port")
    assert "-- --if-exists del-port cloudbr1 eth2 -- add-port cloudbr1 eth2" in lines[port + 1]
    assert ovsdb.get("Port", "bond0", "other_config:lacp-time") == "fast"
    assert ovsdb.get("Port", "bond0", "lacp") == "active"
    assert ovsdb.get("Interface", "cloudbr0", "mtu_request") == "9000"
    assert ovsdb.ports("cloudbr1") == {"eth2"}  # OVSPort


def test_fake_bridge_needs_ovsrequires_when_it_sorts_first(tmp_path: Path, ovsdb: OvsDb) -> None:
    # abr300 comes before cloudbr0 in boot order; without OVSREQUIRES its add-br would fail.
    # This proves the replayer's order is real and that OVSREQUIRES is what saves the boot.
    scripts = write(ifcfg.render(odd("odd-ovs")), tmp_path) / SCRIPTS.lstrip("/")
    fake = scripts / "ifcfg-abr300"
    fake.write_text(
        "".join(ln for ln in fake.read_text().splitlines(True) if "OVSREQUIRES" not in ln)
    )
    out = subprocess.run(
        ["bash", "-c", REPLAY, "replay", str(scripts)],
        env=ovsdb.env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "cloudbr0" in out.stderr


# --- the reference post, as published --------------------------------------------------------

# Typed from the post with nothing corrected (the placeholder MACs included).
POST_BRIDGE = {
    "ifcfg-eth0": """DEVICE=eth0
NAME=eth0
TYPE=Ethernet
BOOTPROTO=none
ONBOOT=yes
MASTER=bond0
SLAVE=yes
HWADDR=00:0C:12:xx:xx:xx
NM_CONTROLLED=no
""",
    "ifcfg-bond0": """DEVICE=bond0
NAME=bond0
TYPE=Bond
BRIDGE=cloudbr0
ONBOOT=yes
NM_CONTROLLED=no
BONDING_OPTS="mode=active-backup miimon=100 updelay=0 downdelay=0"
""",
    "ifcfg-bond1": """DEVICE=bond1
NAME=bond1
TYPE=Bond
BRIDGE=cloudbr1
ONBOOT=yes
NM_CONTROLLED=no
BONDING_OPTS="mode=active-backup miimon=100 updelay=0 downdelay=0"
""",
    "ifcfg-cloudbr0": """DEVICE=cloudbr0
ONBOOT=yes
TYPE=Bridge
IPADDR=192.168.100.20
NETMASK=255.255.255.0
GATEWAY=192.168.100.1
NM_CONTROLLED=no
DEFROUTE=yes
IPV4_FAILURE_FATAL=no
IPV6INIT=no
DELAY=0
""",
    "ifcfg-cloudbr1": """DEVICE=cloudbr1
ONBOOT=yes
TYPE=Bridge
BOOTPROTO=none
NM_CONTROLLED=no
DELAY=0
DEFROUTE=no
IPV4_FAILURE_FATAL=no
IPV6INIT=no
""",
    "ifcfg-bond.100": """DEVICE=bond0.100
VLAN=yes
BOOTPROTO=none
ONBOOT=yes
TYPE=Unknown
BRIDGE=cloudbr100
""",
    "ifcfg-cloudbr100": """DEVICE=cloudbr100
ONBOOT=yes
TYPE=Bridge
VLAN=yes
IPADDR=10.0.100.20
NETMASK=255.255.255.0
NM_CONTROLLED=no
DELAY=0
""",
}

POST_OVS = {
    "ifcfg-eth0": """DEVICE=eth0
TYPE=Ethernet
BOOTPROTO=none
NAME=eth0
ONBOOT=yes
NM_CONTROLLED=no
HOTPLUG=no
HWADDR=00:0C:xx:xx:xx:xx
""",
    "ifcfg-bond0": """DEVICE=bond0
ONBOOT=yes
DEVICETYPE=ovs
TYPE=OVSBond
OVS_BRIDGE=cloudbr0
BOOTPROTO=none
BOND_IFACES="eth0 eth1"
OVS_OPTIONS="bond_mode=active-backup lacp=off other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100"
HOTPLUG=no
""",
    "ifcfg-bond1": """DEVICE=bond1
ONBOOT=yes
DEVICETYPE=ovs
TYPE=OVSBond
OVS_BRIDGE=cloudbr1
BOOTPROTO=none
BOND_IFACES="eth2 eth3"
OVS_OPTIONS="bond_mode=active-backup lacp=off other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100"
HOTPLUG=no
""",
    "ifcfg-cloudbr0": """DEVICE=cloudbr0
ONBOOT=yes
DEVICETYPE=ovs
TYPE=OVSBridge
BOOTPROTO=static
IPADDR=192.168.100.20
NETMASK=255.255.255.0
GATEWAY=192.168.100.1
HOTPLUG=no
""",
    "ifcfg-cloudbr1": """DEVICE=cloudbr1
ONBOOT=yes
DEVICETYPE=ovs
TYPE=OVSBridge
BOOTPROTO=none
HOTPLUG=no
""",
    "ifcfg-cloudbr100": """DEVICE=cloudbr100
ONBOOT=yes
DEVICETYPE=ovs
TYPE=OVSBridge
BOOTPROTO=static
IPADDR=10.0.100.20
NETMASK=255.255.255.0
OVS_OPTIONS="cloudbr0 100"
HOTPLUG=no
""",
}

POST_NETWORK = """NETWORKING=yes
HOSTNAME=kvmhost1.mylab.local
GATEWAY=192.168.100.1
NETWORKING_IPV6=no
IPV6INIT=no
IPV6_AUTOCONF=no
"""

# Why our files differ from the post's: (post file, key) -> reason. A difference that is not
# listed fails the test, and so does a listed one that no longer occurs.
NAME_KEY = "NAME is NetworkManager's connection name; initscripts ignore it"
PLACEHOLDER_MAC = "the post's HWADDR is a placeholder; HWADDR is written when the MAC is known"
EXPLICIT_NM = "NM_CONTROLLED=no on every file: a stray NetworkManager must not take the device"
USERCTL = "USERCTL=no: users may not ifup/ifdown host networking (as cloud-init writes it)"
PRIMARY = "active-backup bonds prefer their first member (model default primary)"
NO_DEFROUTE = "only the gateway's bridge may take the default route"
IPV6_OFF = "IPv6 is off for the host: IPV6INIT=no on every bridge"
STP = "STP stated explicitly (off)"
BOOTPROTO = "BOOTPROTO=none stated (static addresses need no DHCP)"
DNS = "DNS servers and search domain of the inventory, for resolv.conf"
IFV4FATAL = "IPV4_FAILURE_FATAL only matters for DHCP; left out"

CORRECTIONS_BRIDGE: dict[tuple[str, str], str] = {
    ("ifcfg-eth0", "NAME"): NAME_KEY,
    ("ifcfg-eth0", "HWADDR"): PLACEHOLDER_MAC,
    ("ifcfg-eth0", "USERCTL"): USERCTL,
    ("ifcfg-bond0", "NAME"): NAME_KEY,
    ("ifcfg-bond0", "USERCTL"): USERCTL,
    ("ifcfg-bond0", "BONDING_OPTS"): PRIMARY,
    ("ifcfg-bond0", "BONDING_MASTER"): "BONDING_MASTER=yes marks the bond master explicitly",
    ("ifcfg-bond0", "BOOTPROTO"): BOOTPROTO,
    ("ifcfg-bond1", "NAME"): NAME_KEY,
    ("ifcfg-bond1", "USERCTL"): USERCTL,
    ("ifcfg-bond1", "BONDING_OPTS"): PRIMARY,
    ("ifcfg-bond1", "BONDING_MASTER"): "BONDING_MASTER=yes marks the bond master explicitly",
    ("ifcfg-bond1", "BOOTPROTO"): BOOTPROTO,
    ("ifcfg-cloudbr0", "IPV4_FAILURE_FATAL"): IFV4FATAL,
    ("ifcfg-cloudbr0", "BOOTPROTO"): BOOTPROTO,
    ("ifcfg-cloudbr0", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr0", "STP"): STP,
    ("ifcfg-cloudbr0", "DNS1"): DNS,
    ("ifcfg-cloudbr0", "DNS2"): DNS,
    ("ifcfg-cloudbr0", "DOMAIN"): DNS,
    ("ifcfg-cloudbr1", "IPV4_FAILURE_FATAL"): IFV4FATAL,
    ("ifcfg-cloudbr1", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr1", "STP"): STP,
    # The post's file name ifcfg-bond.100 does not match DEVICE=bond0.100: ours is
    # ifcfg-bond0.100, compared here under the post's name.
    ("ifcfg-bond.100", "FILENAME"): "the file name must match DEVICE (ifcfg-bond0.100)",
    ("ifcfg-bond.100", "TYPE"): "TYPE=Unknown is not a type; VLAN=yes + DEVICE name suffice",
    ("ifcfg-bond.100", "PHYSDEV"): "PHYSDEV names the VLAN's parent explicitly",
    ("ifcfg-bond.100", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-bond.100", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr100", "VLAN"): "VLAN=yes belongs on the VLAN device, not on its bridge",
    ("ifcfg-cloudbr100", "BOOTPROTO"): BOOTPROTO,
    ("ifcfg-cloudbr100", "DEFROUTE"): NO_DEFROUTE,
    ("ifcfg-cloudbr100", "IPV6INIT"): IPV6_OFF,
    ("ifcfg-cloudbr100", "STP"): STP,
    ("ifcfg-cloudbr100", "USERCTL"): USERCTL,
}

CORRECTIONS_OVS: dict[tuple[str, str], str] = {
    ("ifcfg-eth0", "NAME"): NAME_KEY,
    ("ifcfg-eth0", "HWADDR"): PLACEHOLDER_MAC,
    ("ifcfg-eth0", "USERCTL"): USERCTL,
    ("ifcfg-bond0", "OVS_OPTIONS"): PRIMARY + "; up/down delays stated",
    ("ifcfg-bond0", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-bond0", "USERCTL"): USERCTL,
    ("ifcfg-bond1", "OVS_OPTIONS"): PRIMARY + "; up/down delays stated",
    ("ifcfg-bond1", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-bond1", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr0", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-cloudbr0", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr0", "STP"): "STP=false: ifup-ovs sets stp_enable from it",
    ("ifcfg-cloudbr0", "DEFROUTE"): "DEFROUTE=yes stated on the gateway's bridge",
    ("ifcfg-cloudbr0", "IPV6INIT"): IPV6_OFF,
    ("ifcfg-cloudbr0", "DNS1"): DNS,
    ("ifcfg-cloudbr0", "DNS2"): DNS,
    ("ifcfg-cloudbr0", "DOMAIN"): DNS,
    ("ifcfg-cloudbr1", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-cloudbr1", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr1", "STP"): "STP=false: ifup-ovs sets stp_enable from it",
    ("ifcfg-cloudbr1", "DEFROUTE"): NO_DEFROUTE,
    ("ifcfg-cloudbr1", "IPV6INIT"): IPV6_OFF,
    ("ifcfg-cloudbr100", "OVSREQUIRES"): "ifup-ovs brings the parent bridge up first",
    ("ifcfg-cloudbr100", "NM_CONTROLLED"): EXPLICIT_NM,
    ("ifcfg-cloudbr100", "USERCTL"): USERCTL,
    ("ifcfg-cloudbr100", "DEFROUTE"): NO_DEFROUTE,
    ("ifcfg-cloudbr100", "IPV6INIT"): IPV6_OFF,
}


def compare_with_post(
    post: dict[str, str], ours_root: Path, tmp: Path
) -> tuple[set[tuple[str, str]], int]:
    """(differences as (post file, key), number of agreeing keys)."""
    scripts = ours_root / SCRIPTS.lstrip("/")
    diffs: set[tuple[str, str]] = set()
    agree = 0
    for name, text in post.items():
        (tmp / name).write_text(text)
        theirs = sourced(tmp / name)
        ours_name = f"ifcfg-{theirs['DEVICE']}"
        if ours_name != name:
            diffs.add((name, "FILENAME"))
        ours = sourced(scripts / ours_name)
        for key in set(ours) | set(theirs):
            if ours.get(key) == theirs.get(key):
                agree += 1
            else:
                diffs.add((name, key))
    return diffs, agree


@pytest.mark.parametrize(
    ("example_file", "post", "corrections"),
    [
        ("seed-centos7-bridge.yaml", POST_BRIDGE, CORRECTIONS_BRIDGE),
        ("seed-centos7-ovs.yaml", POST_OVS, CORRECTIONS_OVS),
    ],
    ids=["bridge", "ovs"],
)
def test_reference_post_files_differ_only_by_documented_corrections(
    tmp_path: Path, example_file: str, post: dict[str, str], corrections: dict[tuple[str, str], str]
) -> None:
    ours_root = write(ifcfg.render(example(example_file)), tmp_path / "ours")
    (tmp_path / "post").mkdir()
    diffs, agree = compare_with_post(post, ours_root, tmp_path / "post")
    assert diffs - set(corrections) == set(), "undocumented differences"
    assert set(corrections) - diffs == set(), "documented corrections that no longer occur"
    assert agree >= 30  # DEVICE, TYPE, MASTER, BRIDGE, addresses, ... agree
    # /etc/sysconfig/network: the post's, key for key.
    (tmp_path / "network").write_text(POST_NETWORK)
    assert sourced(ours_root / "etc/sysconfig/network") == sourced(tmp_path / "network")


def test_post_bond_options_without_delays_still_name_the_same_bond(tmp_path: Path) -> None:
    # The OVS_OPTIONS difference above is additive: every option the post sets, we set alike.
    ours = sourced(
        write(ifcfg.render(example("seed-centos7-ovs.yaml")), tmp_path)
        / SCRIPTS.lstrip("/")
        / "ifcfg-bond0"
    )
    (tmp_path / "p").write_text(POST_OVS["ifcfg-bond0"])
    theirs = sourced(tmp_path / "p")
    assert set(theirs["OVS_OPTIONS"].split()) < set(ours["OVS_OPTIONS"].split())


# --- golden trees ----------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["bridge", "ovs"])
def test_golden_tree(flavour: str) -> None:
    files = ifcfg.render(example(f"seed-centos7-{flavour}.yaml"))
    assert_golden_tree(files, GOLDEN / f"centos7-{flavour}" / "rootfs")
