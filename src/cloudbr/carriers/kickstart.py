"""PLACEHOLDER: being written in a parallel branch of work; replaced before release."""

from __future__ import annotations

from cloudbr.files import FileMap
from cloudbr.model import Host


def render(host: Host, tree: FileMap) -> FileMap:
    return {}
