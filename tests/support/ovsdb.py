"""A private ovsdb-server per test: real `ovs-vsctl` semantics, no vswitchd, no kernel.

`shim` is a directory to put first on PATH: its `ovs-vsctl` adds `--db` and `--no-wait`,
so scripts that call plain `ovs-vsctl` (first-boot script, ifup-ovs, Debian's ifupdown.sh)
talk to this database and never wait for a vswitchd that is not there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
        out = subprocess.run(
            ["ovs-vsctl", f"--db={self.db}", "--no-wait", "--timeout=10", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"ovs-vsctl {' '.join(args)} failed: {out.stderr}")
        return out.stdout.strip()

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
        raw = self.vsctl("--bare", "--columns=interfaces", "find", "Port", f"name={port}")
        uuids = raw.split()
        return {self.vsctl("get", "Interface", u, "name").strip('"') for u in uuids}

    def get(self, table: str, record: str, column: str) -> str:
        return self.vsctl("get", table, record, column).strip('"')


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


def reset_ovsdb(db: OvsDb) -> None:
    """Back to an empty database: bridges, ports and interfaces are not root rows, so clearing
    the root's references drops them all."""
    db.vsctl(
        "clear", "Open_vSwitch", ".", "bridges", "--", "clear", "Open_vSwitch", ".", "external_ids"
    )
