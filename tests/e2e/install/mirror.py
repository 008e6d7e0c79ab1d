"""The install's package source: a partial Debian mirror built from Debian's own files.

The indices are Debian's, byte for byte: `dists/<suite>/InRelease` (checked with gpgv
against debian-archive-keyring), Release + Release.gpg, and the index files debian-installer
and apt fetch, each checked against the SHA256 in the signed Release. So debian-installer
and the installed system's apt verify real signatures, and nothing needs
`allow_unauthenticated`. The pool holds only what the install needs:

* .debs: the dependency closure (Recommends included) of each group in packages.txt,
  resolved by apt itself in a private apt dir (`APT_CONFIG`: its own sources, lists, cache
  and an empty dpkg status; the host's apt config is never read or written);
* udebs: every udeb of main/debian-installer except kernel-module udebs of another kernel
  ABI than the netboot kernel's (anna picks from the whole index; ~90 MB).

A request for anything else gets 404 from the server (and is logged). Cached under
`$CLOUDBR_E2E_CACHE/install-mirror-<key>/`, key = packages.txt, this module, the upstream
mirror, the suite and the netboot installer's kernel ABI.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ..image import cache_root
from .netboot import Netboot
from .serve import release_sha256

HERE = Path(__file__).resolve().parent
PACKAGES_TXT = HERE / "packages.txt"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# The index files the installer and the installed system's apt fetch (the rest 404).
INDEXES = (
    # choose-mirror checks the architecture in the component's own Release
    "main/binary-amd64/Release",
    "main/debian-installer/binary-amd64/Release",
    "main/binary-amd64/Packages.xz",
    "main/binary-amd64/Packages.gz",
    "main/debian-installer/binary-amd64/Packages.xz",
    "main/debian-installer/binary-amd64/Packages.gz",
    "main/i18n/Translation-en.xz",
    "main/source/Sources.xz",
)
DEB_INDEX = "main/binary-amd64/Packages.xz"
UDEB_INDEX = "main/debian-installer/binary-amd64/Packages.xz"
DOWNLOAD_TIMEOUT_S = 300


class MirrorError(RuntimeError):
    pass


class NotServed(MirrorError):
    """The upstream answered 404."""


def suite() -> str:
    return os.environ.get("CLOUDBR_E2E_SUITE", "bookworm")


def upstream() -> str:
    """CLOUDBR_E2E_MIRROR, else the first Debian mirror of this machine's apt sources (the
    same rule as scripts/e2e-image.sh)."""
    env = os.environ.get("CLOUDBR_E2E_MIRROR")
    if env:
        return env.rstrip("/")
    etc = Path("/etc/apt")
    deb822 = [p.read_text() for p in sorted((etc / "sources.list.d").glob("*.sources"))]
    uris = [u for text in deb822 for u in re.findall(r"^URIs:\s*(\S+)", text, re.M)]
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for text in (p.read_text() for p in lists if p.is_file()):
        uris += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
    for uri in uris:
        if "security" not in uri and re.search(r"/debian/?$", uri):
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def groups(text: str) -> list[list[str]]:
    """packages.txt -> resolution groups: each `@priority:P` line alone, then one group of
    every named package."""
    named: list[str] = []
    out: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@priority:"):
            out.append([line])
        else:
            named.append(line)
    return [*out, named] if named else out


def parse_index(text: str) -> Iterator[dict[str, str]]:
    """Stanzas of a Packages file (only single-line fields are needed here)."""
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def udebs_for(index: Iterable[dict[str, str]], abi: str) -> list[dict[str, str]]:
    """Every udeb but the kernel-module udebs (and kernel) of another ABI than `abi`."""
    other = re.compile(r"-(\d+\.\d+\.\d+-\d+)-")
    return [u for u in index if (m := other.search(u["Package"] + "-")) is None or m[1] == abi]


@dataclass(frozen=True)
class Mirror:
    """A built mirror: `root/debian/{dists,pool}` + manifest.json."""

    root: Path

    @property
    def base(self) -> Path:
        return self.root / "debian"

    @property
    def manifest(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.root / "manifest.json").read_text())
        return data

    @classmethod
    def ensure(cls, netboot: Netboot, cache: Path | None = None) -> tuple[Mirror, float | None]:
        """The cached mirror for the current key (built if missing) and the build seconds
        (None: cached)."""
        root = cache or cache_root()
        root.mkdir(parents=True, exist_ok=True)
        final = root / f"install-mirror-{mirror_key(netboot)}"
        with open(root / ".install-mirror.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (final / "manifest.json").exists():
                return cls(final), None
            t0 = time.monotonic()
            tmp = final.with_name(final.name + ".tmp")
            _build(tmp, netboot)
            tmp.rename(final)  # last: a half-built mirror is never taken for a cached one
            for old in root.glob("install-mirror-*"):
                if old != final:
                    shutil.rmtree(old, ignore_errors=True)
            return cls(final), time.monotonic() - t0


def mirror_key(netboot: Netboot) -> str:
    h = hashlib.sha256()
    for path in (PACKAGES_TXT, Path(__file__)):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for value in (upstream(), suite(), netboot.kernel_abi):
        h.update(value.encode() + b"\0")
    return h.hexdigest()[:16]


def _fetch(url: str, dest: Path, sha256: str | None = None, size: int | None = None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if sha256 is not None and dest.is_file() and _sha256(dest) == sha256:
        return  # a retried build keeps what it already has
    data = _get(url)
    if size is not None and len(data) != size:
        raise MirrorError(f"{url}: {len(data)} bytes, expected {size}")
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise MirrorError(f"{url}: SHA256 mismatch")
    dest.write_bytes(data)


def _get(url: str, attempts: int = 3) -> bytes:
    """The body of `url`; a 404 is NotServed, other failures (name resolution, resets) are
    retried a few times."""
    error: OSError | None = None
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                body: bytes = resp.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotServed(f"{url}: 404") from exc
            error = exc
        except OSError as exc:
            error = exc
        time.sleep(2 * attempt)
    raise MirrorError(f"{url}: {error}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch_indexes(base: Path, up: str, st: str) -> dict[str, tuple[str, int]]:
    dists = base / "dists" / st
    for name in ("InRelease", "Release", "Release.gpg"):
        _fetch(f"{up}/dists/{st}/{name}", dists / name)
    for argv in (
        ["gpgv", "--keyring", str(KEYRING), str(dists / "InRelease")],
        ["gpgv", "--keyring", str(KEYRING), str(dists / "Release.gpg"), str(dists / "Release")],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    hashes = release_sha256((dists / "Release").read_text())
    if release_sha256(_signed_body(dists / "InRelease")) != hashes:
        raise MirrorError(f"{up}: InRelease and Release differ (mirror updated mid-fetch?)")
    for path in INDEXES:
        digest, size = hashes[path]
        _fetch(f"{up}/dists/{st}/{path}", dists / path, digest, size)
    return hashes


def _download(
    up: str, base: Path, files: list[dict[str, str]], allow_missing: bool = False
) -> list[str]:
    """Fetch each index entry into the pool (checked: size, SHA256); returns the packages
    the upstream does not serve (404), which is an error unless `allow_missing`."""

    def one(p: dict[str, str]) -> str | None:
        try:
            _fetch(f"{up}/{p['Filename']}", base / p["Filename"], p["SHA256"], int(p["Size"]))
        except NotServed:
            if not allow_missing:
                raise
            return p["Package"]
        return None

    with ThreadPoolExecutor(4) as pool:
        return sorted(name for name in pool.map(one, files) if name is not None)


def _signed_body(inrelease: Path) -> str:
    text = inrelease.read_text()
    body = text.split("\n\n", 1)[1]
    return body.split("\n-----BEGIN PGP SIGNATURE-----", 1)[0]


def _apt_dir(work: Path, up: str, st: str) -> dict[str, str]:
    """A private apt (own sources, lists, cache, empty status): APT_CONFIG env."""
    for sub in ("lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/prefs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    (work / "status").write_text("")
    (work / "sources.list").write_text(f"deb [signed-by={KEYRING}] {up} {st} main\n")
    conf = {
        "Dir::Etc::sourcelist": work / "sources.list",
        "Dir::Etc::sourceparts": "/nonexistent",
        "Dir::Etc::parts": work / "etc/apt.conf.d",
        "Dir::Etc::preferencesparts": work / "etc/prefs",
        "Dir::State::lists": work / "lists",
        "Dir::State::status": work / "status",
        "Dir::Cache": work / "cache",
        "APT::Architecture": "amd64",
        "Acquire::Languages": "none",
        "APT::Install-Recommends": "true",
        "Debug::NoLocking": "1",
    }
    (work / "apt.conf").write_text("".join(f'{k} "{v}";\n' for k, v in conf.items()))
    env = {**os.environ, "APT_CONFIG": str(work / "apt.conf")}
    subprocess.run(["apt-get", "-q", "update"], env=env, check=True, timeout=600)
    return env


def _resolve(env: dict[str, str], names: list[str]) -> set[str]:
    """Pool paths (relative to the mirror base) of the closure of `names`, by apt."""
    proc = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--print-uris", *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise MirrorError(f"apt cannot resolve {names[:5]}...: {proc.stderr.strip()[-800:]}")
    # apt prints URLs: percent-encoded (~ -> %7e, + -> %2b)
    return {unquote(p) for p in re.findall(r"^'[^']*/(pool/[^']+)'", proc.stdout, re.M)}


def _build(root: Path, netboot: Netboot) -> None:
    up, st = upstream(), suite()
    base = root / "debian"
    print(f"e2e-install: building partial mirror of {up} {st} in {root}", flush=True)
    _fetch_indexes(base, up, st)
    debs = {
        p["Package"]: p
        for p in parse_index(
            lzma.decompress((base / "dists" / st / DEB_INDEX).read_bytes()).decode()
        )
    }
    env = _apt_dir(root / "apt", up, st)
    wanted: set[str] = set()
    resolved: dict[str, int] = {}
    for group in groups(PACKAGES_TXT.read_text()):
        names = group
        if group[0].startswith("@priority:"):
            prio = group[0].split(":", 1)[1]
            names = sorted(n for n, p in debs.items() if p.get("Priority") == prio)
        paths = _resolve(env, names)
        resolved[group[0] if len(group) == 1 else "named"] = len(paths)
        wanted |= paths
    by_path = {p["Filename"]: p for p in debs.values()}
    udeb_index = lzma.decompress((base / "dists" / st / UDEB_INDEX).read_bytes()).decode()
    deb_files = [by_path[p] for p in sorted(wanted)]
    udeb_files = udebs_for(parse_index(udeb_index), netboot.kernel_abi)
    _download(up, base, deb_files)
    # Some package sources serve no .udeb at all (this machine's answers 404 for every one):
    # the mirror is still built, and which udebs are missing is recorded, so the install
    # run can say exactly where d-i stops.
    missing = _download(up, base, udeb_files, allow_missing=True)
    shutil.rmtree(root / "apt")
    manifest = {
        "upstream": up,
        "suite": st,
        "kernel_abi": netboot.kernel_abi,
        "groups": resolved,
        "debs": len(deb_files),
        "udebs": len(udeb_files) - len(missing),
        "udebs_not_served": missing,
        "bytes": sum(
            (base / p["Filename"]).stat().st_size
            for p in deb_files + udeb_files
            if (base / p["Filename"]).is_file()
        ),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    counts = {k: len(v) if isinstance(v, list) else v for k, v in manifest.items()}
    print(f"e2e-install: mirror ready: {counts}", flush=True)
