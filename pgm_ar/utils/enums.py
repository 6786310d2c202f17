"""Text to enum members: the one parser of every option given as a word.

Options such as a fit method, an optimizer or a drawing kind are enums whose
values are lower-case words.  Users write them in any case, or pass the member
itself; anything else is a :class:`~pgm_ar.errors.PgmArError` that lists the
choices.
"""
from __future__ import annotations

from enum import Enum
from typing import Type, TypeVar

from ..errors import PgmArError
from .suggest import did_you_mean

__all__ = ["parse_enum"]

E = TypeVar("E", bound=Enum)


def parse_enum(cls: Type[E], value: object, what: str) -> E:
    """The member of ``cls`` that ``value`` names.

    Parameters
    ----------
    cls
        The enum class.
    value
        A member of ``cls`` (returned as is), or text matching a member's value or
        name in any case, surrounding spaces ignored; other values are tried as
        ``cls(value)``.
    what
        What the option is called in the error message (``"optimizer"``).

    Returns
    -------
    Enum
        The member.

    Raises
    ------
    PgmArError
        ``unknown optimizer 'rmsprp' (did you mean 'rmsprop'?); use one of 'adam', 'sgd'``.

    Examples
    --------
    >>> from enum import Enum
    >>> class Colour(str, Enum):
    ...     RED = "red"
    ...     DARK_BLUE = "dark-blue"
    >>> parse_enum(Colour, " Dark-Blue ", "colour"), parse_enum(Colour, "RED", "colour")
    (<Colour.DARK_BLUE: 'dark-blue'>, <Colour.RED: 'red'>)
    >>> parse_enum(Colour, "rad", "colour")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pgm_ar.errors.PgmArError: unknown colour 'rad' (did you mean 'red'?); use one of 'red', ...
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        for member in cls:
            if str(member.value).lower() == key or member.name.lower() == key:
                return member
    else:
        try:
            return cls(value)
        except (ValueError, TypeError):
            pass
    choices = [str(m.value) for m in cls]
    hint = did_you_mean(str(value).strip().lower(), choices)
    raise PgmArError(f"unknown {what} {value!r}{hint}; use one of "
                     f"{', '.join(repr(c) for c in choices)}")
