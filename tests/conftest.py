from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ovsdb import OvsDb, ovsdb_server, reset_ovsdb

REPO = Path(__file__).resolve().parents[1]
# Renders in tests write scratch trees: no syncfs of the shared disk for each (see writer.py;
# tests/test_hostile_output.py proves the sync with it unset).
os.environ.setdefault("CLOUDBR_UNSAFE_IO", "1")
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def ovsdb_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvsDb]:
    if not shutil.which("ovsdb-server"):
        pytest.fail("ovsdb-server missing: run `make test`, which installs openvswitch-switch")
    # Unix socket paths must stay short (108 bytes), so use a short temp dir.
    root = tmp_path_factory.mktemp("ovs")
    with ovsdb_server(root) as db:
        yield db


@pytest.fixture
def ovsdb(ovsdb_session: OvsDb) -> OvsDb:
    """One ovsdb-server per session, emptied before each test."""
    reset_ovsdb(ovsdb_session)
    return ovsdb_session


@pytest.fixture(autouse=True, scope="session")
def host_keeps_its_hostname() -> Iterator[None]:
    """Tests run installers' scripts (d-i sets a hostname): the machine's own must survive,
    or sudo's "unable to resolve host" warning breaks later diskimage-builder runs."""
    before = socket.gethostname()
    yield
    assert socket.gethostname() == before, f"a test changed this machine's hostname from {before!r}"
