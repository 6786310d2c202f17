"""Progress bars that stay out of logs and pipes: shown only on a terminal."""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, show: bool, unit: str = "batch") -> Optional[Any]:
    """A transient tqdm bar, or ``None`` when ``show`` is false (callers pass
    ``progress and sys.stderr.isatty()`` so that logs and pipes stay clean).

    >>> progress_bar(10, "epoch 1/3", show=False) is None
    True
    """
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total or None, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
