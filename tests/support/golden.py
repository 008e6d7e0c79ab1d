"""Golden trees: rendered files kept on disk for reading (never a test's only proof)."""

from __future__ import annotations

import os
from pathlib import Path

from cloudbr.files import FileMap

UPDATE_GOLDEN = os.environ.get("CLOUDBR_UPDATE_GOLDEN") == "1"


def assert_golden_tree(files: FileMap, root: Path) -> None:
    """The files under `root` are exactly `files` (CLOUDBR_UPDATE_GOLDEN=1 writes them)."""
    if UPDATE_GOLDEN:
        for path, f in files.items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
    on_disk = {
        "/" + str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }
    assert on_disk == {path: f.content for path, f in files.items()}
