"""Files that prove their integrity: a magic line, a JSON header with the payload's length and
SHA-256, then the payload.

Model files (:mod:`pgm_ar.model.persistence`) and training checkpoints
(:mod:`pgm_ar.training.checkpoint`) share this layout, so one reader checks both: a changed,
missing or appended byte anywhere is refused with the file named, before the payload is
unpickled (and so before torch could report a deep error of its own).

>>> raw = seal(b"DEMO\\n", "demo/1", b"payload")
>>> unseal(raw, b"DEMO\\n", "demo/1", "x.bin", "demo file", "write it again")
b'payload'
>>> unseal(raw[:-1], b"DEMO\\n", "demo/1", "x.bin", "demo file", "write it again")
Traceback (most recent call last):
...
pgm_ar.errors.PgmArError: x.bin: damaged demo file: the header declares 7 payload bytes, the file has 6 (truncated or appended to)
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..errors import PgmArError

__all__ = ["seal", "unseal", "MAX_HEADER"]

#: the header line's longest allowed length
MAX_HEADER = 4096


def seal(magic: bytes, fmt: str, payload: bytes) -> bytes:
    """The bytes of a sealed file: ``magic``, a header line ``{"format", "payload_bytes",
    "sha256"}`` and ``payload``."""
    header = {"format": fmt, "payload_bytes": len(payload),
              "sha256": hashlib.sha256(payload).hexdigest()}
    return magic + json.dumps(header, sort_keys=True).encode("ascii") + b"\n" + payload


def unseal(raw: bytes, magic: bytes, fmt: str, path: Any, what: str, remedy: str
           ) -> Optional[bytes]:
    """The payload of ``raw`` after its header, length and SHA-256 are verified; ``None``
    when ``raw`` does not start with ``magic`` (the caller decides what else it may be).

    Parameters
    ----------
    raw, magic, fmt
        The file's bytes, the first line and the header's format tag it must have.
    path, what, remedy
        For the messages: the file, what kind of file it is (``"model file"``) and what to
        do about a damaged one.
    """
    if not raw.startswith(magic):
        if magic.startswith(raw):  # empty, or cut inside the first line
            raise PgmArError(f"{path}: damaged {what}: {len(raw)} bytes, cut short before its "
                             f"header (truncated); {remedy}")
        return None
    end = raw.find(b"\n", len(magic), len(magic) + MAX_HEADER)
    if end < 0:
        raise PgmArError(f"{path}: damaged {what} (no header line)")
    try:
        header = json.loads(raw[len(magic):end].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise PgmArError(f"{path}: damaged {what} (unreadable header line)") from None
    if (not isinstance(header, dict) or header.get("format") != fmt
            or not isinstance(header.get("sha256"), str)
            or type(header.get("payload_bytes")) is not int or len(header) != 3):
        raise PgmArError(f"{path}: damaged {what} or a newer format (header {header!r}; this "
                         f"version reads {fmt})")
    payload = raw[end + 1:]
    if len(payload) != header["payload_bytes"]:
        raise PgmArError(f"{path}: damaged {what}: the header declares "
                         f"{header['payload_bytes']} payload bytes, the file has {len(payload)} "
                         "(truncated or appended to)")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header["sha256"]:
        raise PgmArError(f"{path}: damaged {what}: SHA-256 of the payload is {digest}, the "
                         f"header records {header['sha256']}; {remedy}")
    return payload
