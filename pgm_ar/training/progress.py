"""Progress of training: a tqdm bar on a terminal, plain lines in logs and pipes.

The loop shows progress when asked (``progress=True``): on a terminal a transient bar with the
running nats/example, elsewhere (a log file, a CI job, a pipe) a plain line every few seconds
within a long epoch, from :func:`pgm_ar.utils.progress.progress`; the loop adds one line per
epoch either way.
"""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, show: bool, unit: str = "batch") -> Optional[Any]:
    """A transient tqdm bar on a terminal, a plain line every few seconds in logs and pipes
    (:func:`pgm_ar.utils.progress.progress`), or ``None`` when ``show`` is false.

    >>> progress_bar(10, "epoch 1/3", show=False) is None
    True
    """
    from ..utils.progress import progress

    return progress(total, desc, unit=unit, enabled=show)
