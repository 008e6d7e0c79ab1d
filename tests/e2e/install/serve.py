"""A read-only HTTP server for the partial mirror, one connection on stdin/stdout.

QEMU runs it per guest connection: `-netdev user,restrict=on,guestfwd=tcp:IP:80-cmd:...`
(restrict=on: the guest reaches nothing else; slirp connects each TCP connection to IP:80
to a new process of this command). Nothing listens on any socket of this machine.

Usage: python3 serve.py ROOT LOG   (stdlib only: QEMU starts it with /usr/bin/python3)

GET/HEAD of files under ROOT, keep-alive (apt pipelines), `by-hash/SHA256/<hex>` paths
resolved through the suite's Release file (apt uses them when Release says
Acquire-By-Hash). Every request is appended to LOG as `status method path bytes`, so a
package the mirror lacks shows up as a 404 line.
"""

from __future__ import annotations

import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, BinaryIO

BY_HASH = re.compile(
    r"^(?P<dists>.*/dists/[^/]+)/(?P<dir>.+)/by-hash/SHA256/(?P<hex>[0-9a-f]{64})$"
)


def release_sha256(release: str) -> dict[str, tuple[str, int]]:
    """The SHA256 section of a Release file: path -> (hex digest, size)."""
    out: dict[str, tuple[str, int]] = {}
    section = False
    for line in release.splitlines():
        if not line.startswith(" "):
            section = line.startswith("SHA256:")
        elif section:
            digest, size, path = line.split()
            out[path] = (digest, int(size))
    return out


def resolve(root: Path, url_path: str) -> Path | None:
    """The file a request path names under `root` (None: not served)."""
    path = url_path.split("?", 1)[0]
    m = BY_HASH.match(path)
    if m:
        release = (root / m["dists"].lstrip("/") / "Release").resolve()
        if not release.is_relative_to(root) or not release.is_file():
            return None
        for name, (digest, _) in release_sha256(release.read_text()).items():
            if digest == m["hex"] and name.rsplit("/", 1)[0] == m["dir"]:
                path = f"{m['dists']}/{name}"
                break
        else:
            return None
    target = (root / path.lstrip("/")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: apt and d-i's wget reuse or close as they like
    root: Path
    log: Path

    def __init__(self, rfile: BinaryIO, wfile: BinaryIO, root: Path, log: Path) -> None:
        self.root, self.log = root, log
        self._streams = (rfile, wfile)
        super().__init__(None, ("guest", 0), None)  # type: ignore[arg-type]

    def setup(self) -> None:
        self.rfile, self.wfile = self._streams

    def finish(self) -> None:
        self.wfile.flush()

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        self.wfile.flush()
        while not self.close_connection:
            self.handle_one_request()
            self.wfile.flush()

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        target = resolve(self.root, self.path)
        if target is None:
            self._record(404, 0)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = target.stat().st_size
        self._record(200, size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Last-Modified", self.date_time_string(int(target.stat().st_mtime)))
        self.end_headers()
        if body:
            with target.open("rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)

    def _record(self, status: int, size: int) -> None:
        line = f"{time.time():.3f} {status} {self.command} {self.path} {size}\n"
        # O_APPEND, one write: concurrent connections (processes) never interleave a line.
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # stderr would go to QEMU's log; _record keeps the request log


def main(argv: list[str]) -> int:
    root, log = Path(argv[1]).resolve(), Path(argv[2])
    rfile = os.fdopen(0, "rb")
    wfile = os.fdopen(1, "wb")
    Handler(rfile, wfile, root, log)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
