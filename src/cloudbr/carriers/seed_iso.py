"""NoCloud seed ISO: the host's identity, users, files and network in one `cidata` image.

Beside the image, the three documents it holds are written as seed/<name> (for operators who
use another carrier, e.g. a seed directory or an HTTP seedfrom, and for inspection).
"""

from __future__ import annotations

from cloudbr.carriers import cloudinit
from cloudbr.files import SECRET, File, FileMap, Role
from cloudbr.iso import build_iso
from cloudbr.model import Host

NAME = "seed-iso"
ISO = "seed.iso"
SEED_DIR = "seed"
LABEL = "cidata"  # what cloud-init's NoCloud looks for (upper or lower case)


def render(host: Host, tree: FileMap) -> FileMap:
    seed = cloudinit.seed(host, tree)
    files = seed.files()
    shared = {name for name, _ in seed.shared}  # the same bytes on every host: linked
    # Everything here may carry password hashes and keys: 0600.
    out = {
        f"{SEED_DIR}/{name}": File(
            data, SECRET, NAME, Role.SHARED_PROGRAM if name in shared else Role.ARTIFACT
        )
        for name, data in files.items()
    }
    out[ISO] = File(build_iso(files, label=LABEL), SECRET, NAME, Role.ARTIFACT)
    return out
