"""A private ovsdb-server per test: real `ovs-vsctl` semantics, no vswitchd, no kernel.

`shim` is a directory to put first on PATH: its `ovs-vsctl` adds `--db` and `--no-wait`,
so scripts that call plain `ovs-vsctl` (first-boot script, ifup-ovs, Debian's ifupdown.sh)
talk to this database and never wait for a vswitchd that is not there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cloudbr.model import Bond, Host
from cloudbr.platforms import platform

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")


class OvsDb:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = root / "db.sock"
        self.shim = root / "shim"

    @property
    def db(self) -> str:
        return f"unix:{self.sock}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.shim}:{env.get('PATH', '/usr/bin:/bin')}"
        env["OVS_RUNDIR"] = str(self.root)
        env.update(extra)
        return env

    def vsctl(self, *args: str, check: bool = True) -> str:
        return self._vsctl(args, check).strip()

    def _vsctl(self, args: Sequence[str], check: bool = True) -> str:
        out = subprocess.run(
            ["ovs-vsctl", f"--db={self.db}", "--no-wait", "--timeout=10", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"ovs-vsctl {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def batch(self, *commands: Sequence[str]) -> list[str]:
        """Each command's output, from one `ovs-vsctl` run (`--oneline`: one line per command,
        its newlines printed as \\n and backslashes doubled); one process instead of one per
        query, which was most of the OVS tests' reading time."""
        if not commands:
            return []
        argv = [word for command in commands for word in ("--", *command)][1:]
        lines = self._vsctl(["--oneline", *argv]).split("\n")
        assert lines.pop() == "", lines  # the last line's newline
        assert len(lines) == len(commands), (commands, lines)
        return [_unescape(line).strip() for line in lines]

    def dump(self) -> str:
        """The whole database as text (UUIDs included: an idempotent rerun keeps them)."""
        return subprocess.run(
            ["ovsdb-client", "dump", self.db, "Open_vSwitch"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def bridges(self) -> set[str]:
        return set(self.vsctl("list-br").split())

    def ports(self, bridge: str) -> set[str]:
        return set(self.vsctl("list-ports", bridge).split())

    def ifaces(self, port: str) -> set[str]:
        """Interfaces of a port (for a bond: its members)."""
        return self.ifaces_of([port])[port]

    def ifaces_of(self, ports: Sequence[str]) -> dict[str, set[str]]:
        """Interfaces of each port, in two `ovs-vsctl` runs."""
        raw = self.batch(*(("get", "Port", p, "interfaces") for p in ports))
        uuids = [re.findall(r"[0-9a-f-]{36}", r) for r in raw]
        names = iter(self.batch(*(("get", "Interface", u, "name") for us in uuids for u in us)))
        return {p: {next(names).strip('"') for _ in us} for p, us in zip(ports, uuids, strict=True)}

    def get(self, table: str, record: str, column: str) -> str:
        return self.vsctl("get", table, record, column).strip('"')


def _unescape(line: str) -> str:
    """Undo `--oneline`'s escapes: \\n is a newline, \\\\ a backslash."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], line)


def _write_shim(db: OvsDb) -> None:
    db.shim.mkdir()
    real = shutil.which("ovs-vsctl")
    assert real, "openvswitch-common is not installed"
    script = db.shim / "ovs-vsctl"
    script.write_text(
        "#!/bin/sh\n"
        "# test shim: a private database, and never wait for ovs-vswitchd\n"
        f'exec {real} --db="unix:{db.sock}" --no-wait --timeout=10 "$@"\n'
    )
    script.chmod(0o755)


@contextmanager
def ovsdb_server(root: Path) -> Iterator[OvsDb]:
    db = OvsDb(root)
    conf = root / "conf.db"
    subprocess.run(["ovsdb-tool", "create", str(conf), str(SCHEMA)], check=True)
    pidfile = root / "ovsdb-server.pid"
    subprocess.run(
        [
            "ovsdb-server",
            str(conf),
            f"--remote=punix:{db.sock}",
            f"--pidfile={pidfile}",
            f"--unixctl={root / 'ovsdb-server.ctl'}",
            f"--log-file={root / 'ovsdb-server.log'}",
            "--detach",
            "--no-chdir",
        ],
        check=True,
    )
    try:
        db.vsctl("init")
        _write_shim(db)
        yield db
    finally:
        pid = int(pidfile.read_text().strip()) if pidfile.exists() else 0
        if pid:
            os.kill(pid, signal.SIGTERM)


def assert_bond(db: OvsDb, host: Host, bond: Bond) -> None:
    """The bond's Port in OVSDB is the model's: members, mode, LACP, miimon link monitoring and
    other_config:bond-primary only where the platform's OVS has it (2.14+)."""
    assert db.ifaces(bond.name) == set(bond.members)
    columns = ("bond_mode", "lacp", "other_config")
    mode, lacp, cfg = db.batch(*(("get", "Port", bond.name, c) for c in columns))
    assert mode.strip('"') == bond.mode.value
    assert lacp.strip('"') == bond.ovs_lacp.value
    assert "bond-detect-mode=miimon" in cfg
    assert f'bond-miimon-interval="{bond.miimon}"' in cfg
    honoured = bond.primary is not None and platform(host).ovs_bond_primary
    assert (f"bond-primary={bond.primary}" in cfg) == honoured


def reset_ovsdb(db: OvsDb) -> None:
    """Back to an empty database: bridges, ports and interfaces are not root rows, so clearing
    the root's references drops them all."""
    db.vsctl(
        "clear", "Open_vSwitch", ".", "bridges", "--", "clear", "Open_vSwitch", ".", "external_ids"
    )
