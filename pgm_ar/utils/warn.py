"""Warnings that point at the user's line: the first frame outside the pgm_ar package."""
from __future__ import annotations

import os
import sys
import warnings
from typing import Type

__all__ = ["warn_at_caller"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn_at_caller(message: str, category: Type[Warning]) -> None:
    """``warnings.warn(message, category)`` attributed to the caller's code, however deep
    inside pgm_ar it is raised (so the default filter shows it once per user line)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
