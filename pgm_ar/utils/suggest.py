"""The "did you mean" hint that follows an unknown name in an error message.

Every message about an unknown variable, key, state, example or option ends with
the same hint, built here, so they all read alike.
"""
from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(name: object, candidates: Iterable[object], n: int = 3) -> str:
    """`` (did you mean 'a', 'b'?)`` for the candidates close to ``name``, else ``""``.

    Parameters
    ----------
    name
        The unknown name as the user wrote it (compared as text).
    candidates
        The names that would have been accepted (compared as text).
    n
        At most this many suggestions, closest first.

    Returns
    -------
    str
        The hint with a leading space, ready to append to a message; empty when
        nothing is close (:func:`difflib.get_close_matches`, cutoff 0.6).

    Examples
    --------
    >>> did_you_mean("sprinker", ["rain", "sprinkler", "wet"])
    " (did you mean 'sprinkler'?)"
    >>> did_you_mean("zzz", ["rain", "wet"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=n)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
