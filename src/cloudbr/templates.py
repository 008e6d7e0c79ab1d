"""Find and render the Jinja2 templates kept in kickstart/, autoinstall/ and firstboot/.

A wheel carries them as cloudbr/templates/<dir>; a source checkout has them at the top of
the repository. StrictUndefined turns a missing variable into an error, never an empty line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE = Path(__file__).resolve().parent
TEMPLATE_DIRS = ("kickstart", "autoinstall", "firstboot")


def template_root() -> Path:
    packaged = _PACKAGE / "templates"
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parents[1]  # src/cloudbr -> repository root
    if (checkout / "kickstart").is_dir():
        return checkout
    raise FileNotFoundError("cloudbr templates not found (broken installation)")


def image_root() -> Path:
    """Where build-image.sh and the DIB elements live (wheel: cloudbr/image; checkout: repo)."""
    packaged = _PACKAGE / "image"
    if (packaged / "scripts" / "build-image.sh").is_file():
        return packaged
    checkout = _PACKAGE.parents[1]
    if (checkout / "scripts" / "build-image.sh").is_file():
        return checkout
    raise FileNotFoundError("cloudbr image builder not found (broken installation)")


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_root())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **context: Any) -> str:
    """Render e.g. render("kickstart/kickstart.cfg.j2", host=host)."""
    return environment().get_template(name).render(**context)
