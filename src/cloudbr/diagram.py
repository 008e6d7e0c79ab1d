"""`cloudbr diagram`: a host's topology as Graphviz DOT (NICs -> bonds -> bridges -> VLAN
bridges, with addresses, MTUs and CloudStack traffic labels), drawn by `dot -Tsvg`."""

from __future__ import annotations

import shutil
import subprocess

from cloudbr.model import Backend, Host

DOT_TIMEOUT_S = 60


class DiagramError(RuntimeError):
    pass


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _q(*lines: str) -> str:
    """A DOT string; several lines are joined with DOT's centred line break."""
    return '"' + "\\n".join(_escape(line) for line in lines if line) + '"'


def _mtu(mtu: int | None) -> str:
    return f"mtu {mtu}" if mtu else "mtu default"


def _node(name: str, lines: list[str], **attrs: str) -> str:
    extra = "".join(f", {k}={_q(v)}" for k, v in attrs.items())
    return f"  {_q(name)} [label={_q(name, *lines)}{extra}];"


def _bridge_lines(host: Host, name: str) -> list[str]:
    br = host.bridge(name)
    traffic = [t for t, b in host.traffic_labels.items() if b == name]
    lines = [str(a) for a in br.addresses]
    if br.gateway4:
        lines.append(f"gateway {br.gateway4}")
    lines.append(_mtu(br.mtu))
    if traffic:
        lines.append("traffic: " + ", ".join(traffic))
    return lines


def dot(host: Host) -> str:
    ovs = host.backend is Backend.OVS
    kind = "Open vSwitch" if ovs else "linux bridge"
    out = [
        f"digraph {_q(host.hostname)} {{",
        f"  label={_q(f'{host.fqdn} ({host.distro.value}, {kind})')}; labelloc=t;",
        '  rankdir=LR; node [shape=box, fontname="Helvetica", fontsize=10];',
    ]
    for nic in host.nics:
        out.append(_node(nic.name, [nic.mac or "", _mtu(nic.mtu)], shape="box"))
    for bond in host.bonds:
        out.append(_node(bond.name, [f"{bond.mode.value} miimon {bond.miimon}", _mtu(bond.mtu)]))
        out += [f"  {_q(m)} -> {_q(bond.name)};" for m in bond.members]
    for br in host.bridges:
        fill = "lightblue" if br.vlan is None else "lightyellow"
        out.append(
            _node(br.name, _bridge_lines(host, br.name), style="rounded,filled", fillcolor=fill)
        )
        if br.vlan is not None and ovs:
            parent = br.vlan.parent_bridge or ""
            out.append(
                f"  {_q(parent)} -> {_q(br.name)} [label={_q(f'fake bridge, VLAN {br.vlan.id}')}];"
            )
        elif br.uplink:
            out.append(f"  {_q(br.uplink.name)} -> {_q(br.name)};")
    if not ovs:
        for vlan in host.vlans:
            out.append(_node(vlan.name, [f"VLAN {vlan.id}", _mtu(vlan.mtu)], shape="cds"))
            out.append(f"  {_q(vlan.device.name)} -> {_q(vlan.name)};")
    out.append("}")
    return "\n".join(out) + "\n"


def svg(host: Host) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise DiagramError("graphviz is not installed (Debian: apt-get install graphviz)")
    proc = subprocess.run(
        [exe, "-Tsvg"], input=dot(host).encode(), capture_output=True, timeout=DOT_TIMEOUT_S
    )
    if proc.returncode != 0:
        raise DiagramError(f"dot -Tsvg failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout
