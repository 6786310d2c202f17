"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The data goes to a temporary file in the target's own directory (so the final
``os.replace`` is a rename within one file system, which POSIX and Windows make
atomic), is flushed and ``fsync``-ed, and only then replaces the target.  On any
failure the temporary file is removed and the old target is left untouched.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "sub" / "hello.txt", "hi\\n").read_text()
'hi\\n'
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_text_writer", "fsync_dir"]


def fsync_dir(directory: Path) -> None:
    """Make renames inside ``directory`` durable (not possible, nor needed, on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    # Reading the umask through os.umask briefly changes it for every thread, so
    # ask /proc first (Linux) and fall back to the set-and-restore dance elsewhere.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _replacing(target: Path, mode: str, **open_args: object) -> Iterator[IO]:
    """A temporary sibling of ``target`` opened with ``mode``, synced and renamed over
    ``target`` when the block ends without an error (keeping the old file's permissions, or
    the umask's for a new one), removed otherwise."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, mode, **open_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            # mkstemp creates 0600 files; keep the permissions the old file had.
            try:
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(parent)


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create missing parent directories.

    Parameters
    ----------
    path
        The target file.  An existing file is replaced only once the new
        content is completely on disk.
    data
        The bytes to write.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    with _replacing(target, "wb") as fh:
        fh.write(data)
    return target


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`).

    Newlines are written as given (``"\\n"``), on every platform.
    """
    return atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_text_writer(path: PathLike, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file to write in pieces (a large sample streamed in chunks) that replaces
    ``path`` only when the ``with`` block ends without an error; on an error the partial
    file is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rows.csv"
    >>> with atomic_text_writer(p) as fh:
    ...     _ = fh.write("a\\n")
    ...     _ = fh.write("1\\n")
    >>> p.read_text()
    'a\\n1\\n'
    """
    with _replacing(Path(path), "w", encoding=encoding, newline="") as fh:
        yield fh
