"""Files generated from the platform registry for the image build, so that the DIB elements
and scripts/build-image.sh take their per-platform lists from it: the elements' pkg-map
files, the elements' platform facts (an environment.d file) and build-image.sh's platform
table. `make platforms` (python -m cloudbr.platform_files) writes them; a unit test fails
when one is stale.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from cloudbr.model import Backend
from cloudbr.platform_images import DEB_IMAGE_PACKAGES
from cloudbr.platform_types import Image, Platform
from cloudbr.platforms import rendered

GENERATED = (
    "Generated from cloudbr's platform registry (src/cloudbr/platforms.py) by "
    "`make platforms`: do not edit."
)
ELEMENTS = ("cloudbr-kvm-host", "cloudbr-linuxbridge", "cloudbr-ovs")
ENVIRONMENT = "elements/cloudbr-kvm-host/environment.d/50-cloudbr-platform.bash"
BUILD_PLATFORMS = "scripts/image-platforms.sh"


def image_platforms() -> list[tuple[Platform, Image]]:
    """The rendered platforms that have an image build, in registry order."""
    return [(p, p.image) for p in rendered() if p.image is not None]


def element_platforms() -> list[tuple[Platform, Image]]:
    """Those the cloudbr elements build."""
    return [(p, image) for p, image in image_platforms() if image.elements]


def pkg_map(element: str) -> str:
    """DIB's pkg-map (its `release` section: distro -> release -> names) for one element."""
    releases: dict[str, dict[str, dict[str, str]]] = {}
    for _, image in element_platforms():
        releases.setdefault(image.distro_name, {})[image.release] = image.package_names(element)
    doc = {"release": releases, "default": dict(dict(DEB_IMAGE_PACKAGES)[element])}
    return json.dumps(doc, indent=2) + "\n"


def _words(values: tuple[str, ...]) -> str:
    return shlex.quote(" ".join(values))


def _facts(p: Platform, image: Image) -> list[str]:
    return [
        f"CLOUDBR_KERNEL_ARGS={p.kernel_args.value}",
        f"CLOUDBR_CLOUD_INIT_RENDERER={shlex.quote(image.cloud_init_renderer)}",
        f"CLOUDBR_SERVICES_ENABLE={_words(image.services_enable)}",
        f"CLOUDBR_SERVICES_DISABLE={_words(image.services_disable)}",
        f"CLOUDBR_SERVICES_MASK={_words(image.services_mask)}",
        f"CLOUDBR_OVS_UNITS={_words(image.ovs_units)}",
        f"CLOUDBR_OVS_PURGE={_words(p.purge(Backend.OVS))}",
        f"CLOUDBR_OVS_REPO_PATH={shlex.quote(image.ovs_repo_path)}",
    ]


ENVIRONMENT_HEAD = """\
# {generated}
# The cloudbr platform of the image: DIB_CLOUDBR_PLATFORM (scripts/build-image.sh sets it),
# else the one of DIB's distribution and release. Its facts, for the element scripts:
#   CLOUDBR_KERNEL_ARGS          grub-dropin (/etc/default/grub.d) or bootloader
#                                (GRUB_CMDLINE_LINUX in /etc/default/grub)
#   CLOUDBR_CLOUD_INIT_RENDERER  what renders the seed's network-config (linux bridge)
#   CLOUDBR_SERVICES_ENABLE, _DISABLE, _MASK  what every image enables, disables, masks
#   CLOUDBR_OVS_UNITS            what an Open vSwitch image enables
#   CLOUDBR_OVS_PURGE            what an Open vSwitch image removes
#   CLOUDBR_OVS_REPO_PATH        Open vSwitch's repository below the distribution mirror
#                                ("": the distribution's own)
if [ -z "${{DIB_CLOUDBR_PLATFORM:-}}" ]; then
    case "${{DISTRO_NAME:-}}/${{DIB_RELEASE:-}}" in
"""


def environment() -> str:
    out = [ENVIRONMENT_HEAD.format(generated=GENERATED)]
    for p, image in element_platforms():
        out.append(f"        {image.distro_name}/{image.release}) DIB_CLOUDBR_PLATFORM={p.id} ;;\n")
    out.append(
        "    esac\nfi\nexport DIB_CLOUDBR_PLATFORM=${DIB_CLOUDBR_PLATFORM:-}\n"
        'case "${DIB_CLOUDBR_PLATFORM}" in\n'
    )
    for p, image in element_platforms():
        out.append(f"    {p.id})\n")
        out += [f"        export {line}\n" for line in _facts(p, image)]
        out.append("        ;;\n")
    out.append(
        "    *)\n"
        '        echo "cloudbr: no cloudbr platform for DISTRO_NAME=${DISTRO_NAME:-}'
        ' DIB_RELEASE=${DIB_RELEASE:-} (cloudbr platforms lists them)" >&2\n'
        "        ;;\nesac\n"
    )
    return "".join(out)


def build_platforms() -> str:
    ids = " ".join(p.id for p, _ in image_platforms())
    out = [
        f"# shellcheck shell=bash disable=SC2034\n# {GENERATED}\n",
        "# Sourced by scripts/build-image.sh: the platforms it builds and their DIB settings.\n",
        f"IMAGE_PLATFORMS={shlex.quote(ids)}\n\n",
        "# image_platform ID: set PLATFORM_* for platform ID; fails if it has no image build.\n",
        'image_platform() {\n    case "$1" in\n',
    ]
    for p, image in image_platforms():
        settings = {
            "ELEMENT": image.element,
            "DISTRO_NAME": image.distro_name,
            "RELEASE": image.release,
            "MIRROR": image.mirror,
            "DIB_PINS": image.dib_pins,
            "OVS_REPO_PATH": image.ovs_repo_path,
            "OVS_REPO": p.installer.ovs_repo or "",
            "OVS_PURGE": " ".join(p.purge(Backend.OVS)),
            "ELEMENTS": "1" if image.elements else "0",
        }
        out.append(f"        {p.id})\n")
        out += [f"            PLATFORM_{k}={shlex.quote(v)}\n" for k, v in settings.items()]
        out.append("            ;;\n")
    out.append("        *) return 1 ;;\n    esac\n}\n")
    return "".join(out)


def files() -> dict[str, str]:
    """Repository path -> content of every generated file."""
    out = {f"elements/{e}/pkg-map": pkg_map(e) for e in ELEMENTS}
    out[ENVIRONMENT] = environment()
    out[BUILD_PLATFORMS] = build_platforms()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudbr.platform_files", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in files().items():
        path = args.root / rel
        if path.exists() and path.read_text() == text:
            continue
        stale.append(rel)
        if not args.check:
            path.write_text(text)
    for rel in stale:
        print(f"{'stale' if args.check else 'wrote'}: {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
