"""An SSH public key's base64 blob, read as OpenSSH does (RFC 4253 6.6, PROTOCOL.u2f): a run of
length-prefixed strings that must fill it exactly, the first naming the key's type. A line
whose blob is cut short, or holds another type of key, is one sshd ignores: root would have no
key to log in with, and nothing would say why."""

from __future__ import annotations

import base64
import binascii

# Strings after the type name: rsa e, n; dss p, q, g, y; ed25519 the key; ecdsa the curve and
# the point; the security-key forms their application as well.
FIELDS = {
    "ssh-rsa": 2,
    "ssh-dss": 4,
    "ssh-ed25519": 1,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
}
ED25519_KEY_BYTES = 32


def _strings(blob: bytes) -> list[bytes] | None:
    out, at = [], 0
    while at < len(blob):
        size = int.from_bytes(blob[at : at + 4], "big")
        if at + 4 + size > len(blob):
            return None
        out.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def blob_problem(kind: str, b64: str) -> str | None:
    """Why the key `kind b64` is no key of that type, or None."""
    try:
        strings = _strings(base64.b64decode(b64, validate=True))
    except (binascii.Error, ValueError):
        return "its key is not base64"
    if strings and strings[0] != kind.encode():
        return f"its key is not an {kind} key"
    if (
        strings is None
        or len(strings) != 1 + FIELDS[kind]
        or (kind.endswith("ed25519") and len(strings[1]) != ED25519_KEY_BYTES)
    ):
        return "its key is cut short (or has extra bytes)"
    return None
