"""One host in, one output tree out: rootfs files, carriers and the manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from cloudbr import jsondump, render
from cloudbr.carriers import carriers_for, preseed, pxe, pxe_servers
from cloudbr.files import File, FileMap, Role, merge
from cloudbr.memo import ByIdentity
from cloudbr.model import Host, Inventory

ROOTFS = "rootfs"


# An ISO starts with 32 KiB of zeros (its system area): hashed once, the state copied.
_ZEROS = 32 * 1024
_AFTER_ZEROS = hashlib.sha256(bytes(_ZEROS))


def _sha256(content: bytes) -> str:
    if len(content) > _ZEROS and content[0] == 0 and content.count(0, 0, _ZEROS) == _ZEROS:
        digest = _AFTER_ZEROS.copy()
        digest.update(memoryview(content)[_ZEROS:])
        return digest.hexdigest()
    return hashlib.sha256(content).hexdigest()


_digest = ByIdentity(_sha256)  # the programs every host carries, hashed once


def _entry(path: str, f: File) -> dict[str, str]:
    return {
        "path": path,
        "mode": f"{f.mode:04o}",
        "sha256": _digest(f.content),
        "renderer": f.renderer,
    }


def manifest(host: Host, tree: FileMap, artifacts: FileMap) -> File:
    doc = {
        "host": host.hostname,
        "fqdn": host.fqdn,
        "distro": host.distro.value,
        "backend": host.backend.value,
        "files": [_entry(p, tree[p]) for p in sorted(tree)],
        "artifacts": [_entry(p, artifacts[p]) for p in sorted(artifacts)],
    }
    return File.text(jsondump.dumps(doc, indent=2), renderer="manifest", role=Role.ARTIFACT)


def render_host(host: Host) -> FileMap:
    """Paths relative to OUT/<hostname>/."""
    tree = render.rootfs(host)
    artifacts = merge(*(carrier(host, tree) for carrier in carriers_for(host)))
    out = {f"{ROOTFS}{path}": f for path, f in tree.items()}
    out = merge(out, artifacts)
    out["manifest.json"] = manifest(host, tree, artifacts)
    return out


def site_names(inv: Inventory) -> set[str]:
    """Names of the site-level trees in OUT (kept by --prune)."""
    names = {pxe.DIR} if inv.pxe is not None else set()
    return names | ({preseed.SITE_DIR} if preseed.site_files(inv.hosts) else set())


def _site_tree(name: str, files: FileMap) -> FileMap:
    """With a manifest like a host's, so --prune removes the tree once it is no longer made."""
    doc = {"site": name, "files": [_entry(p, files[p]) for p in sorted(files)]}
    files["manifest.json"] = File.text(
        jsondump.dumps(doc, indent=2), renderer="manifest", role=Role.ARTIFACT
    )
    return files


def site_trees(inv: Inventory) -> Iterator[tuple[str, FileMap]]:
    """Site-level trees beside the hosts': OUT/pxe/ when the inventory has site.pxe, and
    OUT/_preseed/ (the programs the preseeds fetch) when a preseed host needs one."""
    files = pxe_servers.render_site(inv)
    if files:
        yield pxe.DIR, _site_tree(pxe.DIR, files)
    shared = preseed.site_files(inv.hosts)
    if shared:
        yield preseed.SITE_DIR, _site_tree(preseed.SITE_DIR, shared)
