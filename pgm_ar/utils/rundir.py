"""Writing a run directory as a whole: locked against a second writer, staged in a hidden
sibling and renamed into place, so that a reader sees the old run or the new one, never half
of one.

The lock is ``.NAME.lock`` beside the run (an ``flock``, released by the kernel when the
process ends however it ends, so a killed run never leaves a stale lock).  The run is written
to ``.NAME.partial``; :meth:`RunDirWriter.commit` swaps it into place with renames.  A failure
removes the partial run and leaves the old one untouched, except that a run which saved a
resumable checkpoint is kept (committed) so that ``--resume`` can continue it.  A ``.partial``
left by a killed process is found by the next writer (under the lock): ``--resume`` continues
from it when it holds a checkpoint, otherwise it is removed.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with RunDirWriter(out) as w:
...     _ = (w.staging / "model.pt").write_text("weights")
...     _ = w.commit()
>>> sorted(p.name for p in out.parent.iterdir())  # the run, and the lock file beside it
['.run.lock', 'run']
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional, Union

from ..errors import PgmArError
from .atomic import fsync_dir

try:  # POSIX; elsewhere runs are staged but not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunDirWriter"]


class RunDirWriter:
    """Stage, lock and commit the run directory ``out``.

    Parameters
    ----------
    out
        The run directory.
    force
        Replace an existing non-empty run (at commit; until then the old run stays).
    resume
        Continue the run in ``out`` (or in a ``.partial`` left by a killed process): it is
        moved into the staging directory, where training finds its checkpoint.
    checkpoint_dir
        The name of the checkpoint sub-directory: a failed run that wrote one is kept.
    """

    def __init__(self, out: Union[str, Path], force: bool = False, resume: bool = False,
                 checkpoint_dir: Optional[str] = None) -> None:
        self.out = Path(out)
        absolute = Path(os.path.abspath(self.out))
        cwd = Path(os.getcwd())
        if absolute == cwd or absolute in cwd.parents:
            # the run is renamed into place as a whole: that cannot be done to the folder the
            # process is working in
            raise PgmArError(f"{out}: the run directory must be a new folder (or one to "
                             "replace), not the current directory or one above it")
        self.out = absolute if self.out.name in ("", ".", "..") else self.out
        self.force, self.resume = force, resume
        self.checkpoint_dir = checkpoint_dir
        name = self.out.name or "run"
        self.staging = self.out.parent / f".{name}.partial"
        self.lock_path = self.out.parent / f".{name}.lock"
        self._old = self.out.parent / f".{name}.old"
        self._lock_fd: Optional[int] = None
        self.committed = False

    # ---------------------------------------------------------------- locking
    def _acquire(self) -> None:
        parent = self.out.parent
        for p in [parent, *parent.parents]:
            if p.exists():
                if not p.is_dir():
                    raise PgmArError(f"{self.out}: {p} is a file, not a directory")
                break
        parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    holder = os.read(fd, 64).decode("ascii", "replace").strip()
                finally:
                    os.close(fd)
                who = f" (process {holder})" if holder else ""
                raise PgmArError(f"{self.out}: another pgm-ar fit is writing this run "
                                 f"directory{who}; wait for it to finish or choose another "
                                 "--out") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        # The lock file stays: removing it while another process has it open would let two
        # writers lock two different files of the same name.
        os.close(self._lock_fd)
        self._lock_fd = None

    # ---------------------------------------------------------------- staging
    def _has_checkpoint(self, d: Path) -> bool:
        return bool(self.checkpoint_dir) and (d / self.checkpoint_dir).is_dir() and \
            any((d / self.checkpoint_dir).iterdir())

    def _check_target(self) -> None:
        out = self.out
        if out.exists() and not out.is_dir():
            raise PgmArError(f"{out}: exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not self.force and not self.resume:
            hint = " or --resume to continue it" if self._has_checkpoint(out) else ""
            raise PgmArError(f"{out}: run directory already exists and is not empty; use "
                             f"--force to overwrite it{hint}")

    def __enter__(self) -> "RunDirWriter":
        self._acquire()
        try:
            self._check_target()
            if self._old.exists():  # a swap interrupted by a kill: the new run is in place
                shutil.rmtree(self._old, ignore_errors=True)
            if self.staging.exists():
                if self.resume and self._has_checkpoint(self.staging) \
                        and not self._has_checkpoint(self.out):
                    return self  # continue the killed run's checkpoint
                shutil.rmtree(self.staging)
            if self.resume and self._has_checkpoint(self.out):
                os.rename(self.out, self.staging)
                # the run is back in place on failure (see __exit__), so resume can retry
            else:
                self.staging.mkdir()
        except BaseException:
            self._release()
            raise
        return self

    def commit(self) -> Path:
        """Put the staged run in place of ``out`` (replacing an old run)."""
        if self.out.exists():
            os.rename(self.out, self._old)
            os.rename(self.staging, self.out)
            shutil.rmtree(self._old, ignore_errors=True)
        else:
            os.rename(self.staging, self.out)
        fsync_dir(self.out.parent)
        self.committed = True
        return self.out

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed and self.staging.exists():
                if exc_type is not None and self._has_checkpoint(self.staging):
                    self.commit()  # resumable: keep it where --resume looks
                else:
                    shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._release()
