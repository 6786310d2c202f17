"""Reading input files within the budget: regular files only, sizes checked before reading,
gzip decompressed with a cap (a 2 MB gzip bomb must not become gigabytes in memory).

>>> import gzip
>>> gunzip_capped(gzip.compress(b"hello"), "x.gz")
b'hello'
"""
from __future__ import annotations

import os
import stat
import zlib
from pathlib import Path
from typing import Optional, Union

from ..errors import PgmArError
from ..limits import check as check_limit, get_limits

__all__ = ["read_input_bytes", "gunzip_capped"]


def read_input_bytes(path: Union[str, "os.PathLike[str]"], what: str = "a file") -> bytes:
    """The bytes of ``path``, refused (:class:`PgmArError` naming the file) when it is missing,
    a directory, a device or pipe (a link to ``/dev/zero`` would never end), or larger than
    ``max_file_bytes``."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise PgmArError(f"{p}: no such file") from None
    except OSError as exc:
        raise PgmArError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PgmArError(f"{p}: is a directory, not {what}")
    if not stat.S_ISREG(st.st_mode):
        raise PgmArError(f"{p}: not a regular file (a device, pipe or socket); give {what}")
    check_limit("max_file_bytes", st.st_size, f"{p}")
    try:
        with open(p, "rb") as fh:
            # read one byte past the limit: a file that grew since stat is still caught
            data = fh.read(get_limits().max_file_bytes + 1)
    except OSError as exc:
        raise PgmArError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    check_limit("max_file_bytes", len(data), f"{p}")
    return data


def gunzip_capped(raw: bytes, source: str, limit: Optional[int] = None) -> bytes:
    """Decompress gzip ``raw`` (all members), refusing output over ``max_decompressed_bytes``
    before it is produced in full."""
    cap = get_limits().max_decompressed_bytes if limit is None else limit
    out = []
    total = 0
    data = raw
    try:
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                chunk = d.decompress(data, 1 << 20)
                total += len(chunk)
                if total > cap:
                    check_limit("max_decompressed_bytes", total,
                                f"{source}: decompressed content (more than)")
                out.append(chunk)
                data = d.unconsumed_tail
                if not data or d.eof:
                    break
            if not d.eof:
                raise PgmArError(f"{source}: truncated gzip data (the compressed stream ends "
                                 "early)")
            data = d.unused_data
            # trailing zero padding after the last member is allowed by gzip(1)
            if data and not data.lstrip(b"\x00"):
                break
    except zlib.error as exc:
        raise PgmArError(f"{source}: corrupt gzip data ({exc})") from None
    return b"".join(out)
