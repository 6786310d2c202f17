"""Progress of long work: a tqdm bar on a terminal, plain lines in logs and pipes.

A bar redraws itself with carriage returns, which is noise in a log file or a CI job, so when
standard error is not a terminal the same calls print one plain line every ``every`` seconds
instead (``evaluate: 3400/10000 img, 52 s``), and a last line when the work ends.  Long work
is therefore never silent, and ``--no-progress`` (``enabled=False``) silences both.

>>> import io
>>> out = io.StringIO()
>>> p = progress(10, "evaluate", unit="img", stream=out, every=0.0)
>>> p.update(4); p.close()
>>> print(out.getvalue().splitlines()[0].split(",")[0])
evaluate: 4/10 img
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

__all__ = ["LineProgress", "progress", "DEFAULT_EVERY"]

#: seconds between two progress lines when standard error is not a terminal
DEFAULT_EVERY = 15.0


class LineProgress:
    """tqdm-like ``update``/``close`` that prints ``desc: done/total unit, S s`` lines.

    Parameters
    ----------
    total
        Units of work in all (0 or ``None``: unknown, the line shows only the count).
    desc
        What is being done, at the start of each line.
    unit
        Name of one unit of work.
    every
        Seconds between two lines (the first line comes ``every`` seconds after the start).
    stream
        Where the lines go (default: ``sys.stderr``).
    clock
        Time source in seconds (a test passes a fake clock).
    """

    def __init__(self, total: Optional[int], desc: str, unit: str = "it",
                 every: float = DEFAULT_EVERY, stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = int(total or 0)
        self.desc, self.unit, self.every = desc, unit, float(every)
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.n = 0
        self.postfix = ""
        self.start = clock()
        self._last = self.start
        self._printed = False
        self._closed = False

    def _line(self) -> None:
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        secs = self.clock() - self.start
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {done} {self.unit}, {secs:.0f} s{extra}", file=self.stream,
              flush=True)
        self._printed = True

    def update(self, k: int = 1) -> None:
        """Count ``k`` more units; print a line when ``every`` seconds have passed."""
        self.n += int(k)
        now = self.clock()
        if now - self._last >= self.every:
            self._last = now
            self._line()

    def set_postfix_str(self, text: str) -> None:
        """Text added to the end of the next lines (``95.3 nats/ex``), as tqdm's."""
        self.postfix = str(text)

    def set_postfix(self, **values: object) -> None:
        """``name=value`` pairs added to the end of the next lines, as tqdm's."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        """A last line with the final count (only if a line was printed, or for work that
        took at least ``every`` seconds), so a log shows that the work ended."""
        if self._closed:
            return
        self._closed = True
        if self._printed or self.clock() - self.start >= self.every:
            self._line()


def progress(total: Optional[int], desc: str, unit: str = "it", enabled: bool = True,
             every: Optional[float] = None, stream: Optional[TextIO] = None):
    """A progress reporter with ``update(k)`` and ``close()``, or ``None`` when disabled.

    A transient tqdm bar when ``stream`` (default ``sys.stderr``) is a terminal; otherwise a
    :class:`LineProgress` printing a line every ``every`` seconds (default
    :data:`DEFAULT_EVERY`).
    """
    if not enabled:
        return None
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(total=total or None, desc=desc, unit=unit, leave=False,
                    dynamic_ncols=True, file=stream)
    return LineProgress(total, desc, unit=unit,
                        every=DEFAULT_EVERY if every is None else every, stream=stream)
