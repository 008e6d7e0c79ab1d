"""Keyboard layouts an installer can be given: XKB's, as xkb-data's rules/base.lst lists them
(2.35, Debian 12; a unit test compares this list with the installed file). Anaconda's
--xlayouts, subiquity's `keyboard.layout` and debian-installer's XKB keymap take exactly these
names; a console keymap such as `uk` or a `de-nodeadkeys` variant is none of them."""

from __future__ import annotations

import difflib

XKB_LAYOUTS = frozenset(
    """
    af al am ara at au az ba bd be bg br brai bt bw by ca cd ch cm cn cz de dk dz ee epo es
    et fi fo fr gb ge gh gn gr hr hu id ie il in iq ir is it jp jv ke kg kh kr kz la latam
    lk lt lv ma mao md me mk ml mm mn mt mv my ng nl no np ph pk pl pt ro rs ru se si sk sn
    sy tg th tj tm tr tw tz ua us uz vn za
    """.split()  # noqa: SIM905 - the layouts as base.lst lists them, a line a few
)

# Console keymap names that are not the XKB layout of the same keyboard.
CONSOLE_NAMES = {"uk": "gb", "dvorak": "us"}


def layout(value: str) -> str:
    """The inventory's `installer.keyboard`: one XKB layout, no variant."""
    if value in XKB_LAYOUTS:
        return value
    base = CONSOLE_NAMES.get(value, value.split("-")[0].split("(")[0])
    close = difflib.get_close_matches(value, XKB_LAYOUTS, 1)
    hint = base if base in XKB_LAYOUTS else next(iter(close), "")
    also = f" (did you mean {hint!r}?)" if hint else ""
    raise ValueError(
        f"{value!r} is not an XKB keyboard layout{also}: give one of xkb-data's layouts "
        "(us, gb, de, fr, ...); variants are not supported"
    )
