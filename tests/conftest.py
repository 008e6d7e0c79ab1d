from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ovsdb import OvsDb, ovsdb_server

REPO = Path(__file__).resolve().parents[1]
# Renders in tests write scratch trees: no syncfs of the shared disk for each (see writer.py;
# tests/test_hostile_output.py proves the sync with it unset).
os.environ.setdefault("CLOUDBR_UNSAFE_IO", "1")
EXAMPLES = REPO / "examples"


@pytest.fixture
def ovsdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvsDb]:
    if not shutil.which("ovsdb-server"):
        pytest.fail("ovsdb-server missing: run `make test`, which installs openvswitch-switch")
    # Unix socket paths must stay short (108 bytes), so use a short temp dir.
    root = tmp_path_factory.mktemp("ovs")
    with ovsdb_server(root) as db:
        yield db
