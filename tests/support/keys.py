"""Public key lines of the shape OpenSSH reads (type, then length-prefixed strings filling the
blob), with reproducible random key bytes: as many distinct keys as a test needs."""

from __future__ import annotations

import base64
import random


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def ed25519(n: int, comment: str = "") -> str:
    blob = _string(b"ssh-ed25519") + _string(random.Random(n).randbytes(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()}{' ' + comment if comment else ''}"


def rsa(n: int, bits: int = 4096, comment: str = "") -> str:
    """An RSA key line of `bits` (716 base64 characters for 4096, as ssh-keygen writes)."""
    modulus = b"\x00" + random.Random(n).randbytes(bits // 8)
    blob = _string(b"ssh-rsa") + _string(b"\x01\x00\x01") + _string(modulus)
    return f"ssh-rsa {base64.b64encode(blob).decode()}{' ' + comment if comment else ''}"
