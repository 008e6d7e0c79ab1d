"""The unit every renderer produces: a file's bytes, mode and the renderer that made it."""

from __future__ import annotations

from dataclasses import dataclass

SECRET = 0o600  # files that may carry password hashes or keys


@dataclass(frozen=True)
class File:
    content: bytes
    mode: int = 0o644
    renderer: str = ""

    @classmethod
    def text(cls, text: str, *, mode: int = 0o644, renderer: str) -> File:
        if text and not text.endswith("\n"):
            text += "\n"
        return cls(text.encode("utf-8"), mode, renderer)

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


# Target path ("/etc/hostname") -> file. Renderers return these; only the writer does I/O.
FileMap = dict[str, File]


def merge(*maps: FileMap) -> FileMap:
    """Combine file maps; two renderers claiming one path is a bug, not a silent override."""
    out: FileMap = {}
    for m in maps:
        for path, f in m.items():
            if path in out and out[path] != f:
                raise ValueError(f"{path} rendered twice ({out[path].renderer}, {f.renderer})")
            out[path] = f
    return out
