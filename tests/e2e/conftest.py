"""Booting tests (marked `e2e`) only run with `--e2e` or CLOUDBR_E2E=1.

`pytest tests/` (the unit suite) collects this directory but skips every `e2e` item; the
pure-Python harness tests here still run there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from .image import GuestImage


def pytest_addoption(parser: pytest.Parser) -> None:
    # Only seen when pytest is pointed at tests/e2e (initial conftest); the env var works
    # from anywhere.
    # ValueError: already defined by a conftest closer to the root.
    with contextlib.suppress(ValueError):
        parser.addoption("--e2e", action="store_true", help="boot QEMU guests (slow)")


def e2e_enabled(config: pytest.Config) -> bool:
    opt = False
    with contextlib.suppress(ValueError):
        opt = bool(config.getoption("--e2e"))
    return opt or os.environ.get("CLOUDBR_E2E") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if e2e_enabled(config):
        return
    skip = pytest.mark.skip(reason="e2e: needs --e2e or CLOUDBR_E2E=1 (boots QEMU guests)")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def guest_image() -> GuestImage:
    return GuestImage.ensure()


@pytest.fixture
def e2e_workdir(tmp_path: Path) -> Path:
    return tmp_path
