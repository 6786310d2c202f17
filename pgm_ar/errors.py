"""The one error hierarchy of pgm_ar, and its one warning.

Every error a user can cause is a :class:`PgmArError` (a ``ValueError``), so a
caller can catch one type, and the CLI turns it into one clear line (exit 2)
instead of a traceback.  A result that is returned but should not be trusted as it
is comes with a :class:`FitWarning`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .utils.suggest import did_you_mean

__all__ = ["PgmArError", "UnknownVariableError", "DuplicateVariableError", "CycleError",
           "StatementError", "SpecError", "SpecCycleError", "DataError", "InferenceTooLargeError",
           "GraphvizMissingError", "FitWarning", "ImpossibleEvidenceError"]


class PgmArError(ValueError):
    """Base class of every error caused by user input."""


class UnknownVariableError(PgmArError):
    """A name that is not a variable of the network."""

    def __init__(self, name: str, known: Sequence[str] = (), where: str = "") -> None:
        self.name = name
        hint = did_you_mean(name, known)
        place = f" in {where}" if where else ""
        super().__init__(f"unknown variable {name!r}{place}{hint}")


class DuplicateVariableError(PgmArError):
    """Two variables share a name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"duplicate variable name {name!r}")


class CycleError(PgmArError):
    """The declared edges contain a directed cycle; ``cycle`` lists its nodes in order."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        if len(self.cycle) == 1:
            msg = f"self-loop on variable {self.cycle[0]!r}: a variable cannot be its own parent"
        else:
            path = " -> ".join(self.cycle + (self.cycle[0],))
            msg = f"the edges form a cycle: {path}"
        super().__init__(msg)


class StatementError(PgmArError):
    """A malformed independence statement."""


class SpecError(PgmArError):
    """A problem in a spec or BIF file; names the file and the line or key path."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.path, self.line, self.key = path, line, key
        where = []
        if path:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if key:
            where.append(f"at {key}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SpecCycleError(SpecError, CycleError):
    """A cycle in a file's edges: both a :class:`SpecError` (file, line, key) and a
    :class:`CycleError` (``cycle`` lists the nodes in order)."""

    def __init__(self, cycle: Sequence[str], path: Optional[str] = None,
                 line: Optional[int] = None, key: Optional[str] = None) -> None:
        # Both bases build their own message; compose it here once instead of
        # letting the cooperative __init__ chain mix the two signatures.
        self.cycle = tuple(cycle)
        self.path, self.line, self.key = path, line, key
        where = [str(p) for p in (path,) if p]
        if line is not None:
            where.append(f"line {line}")
        if key:
            where.append(f"at {key}")
        message = str(CycleError(self.cycle))
        ValueError.__init__(self, f"{', '.join(where)}: {message}" if where else message)


class DataError(PgmArError):
    """Bad data: names the column, the first bad row and its value where known."""

    def __init__(self, message: str, column: str | None = None, row: int | None = None,
                 value: Any = None) -> None:
        self.column, self.row, self.value = column, row, value
        parts = []
        if column is not None:
            parts.append(f"column {column!r}")
        if row is not None:
            parts.append(f"row {row}")
        if value is not None:
            parts.append(f"value {value!r}")
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ImpossibleEvidenceError(PgmArError):
    """Evidence of probability zero under the model.

    The one rule for impossible evidence: a probability conditioned on it (``query``,
    ``map_query``, ``sample(evidence=...)``, ``impute``) is this error, the same on every path;
    the probability *of* it (``log_prob``) is ``-inf``.  ``evidence`` holds it as given.
    """

    def __init__(self, evidence: Any, message: Optional[str] = None) -> None:
        self.evidence = evidence
        super().__init__(message or f"the evidence {evidence} has probability zero under the "
                                    "model: nothing can be conditioned on it (its log_prob is "
                                    "-inf)")


class InferenceTooLargeError(PgmArError):
    """Exact inference would build a factor too large to hold; approximate instead."""


class GraphvizMissingError(PgmArError):
    """Rendering needs graphviz's ``dot`` program, which is not installed."""

    def __init__(self, fmt: str = "") -> None:
        what = f" to {fmt}" if fmt else ""
        super().__init__(
            f"rendering{what} needs graphviz's 'dot' program, which was not found on PATH. "
            "Install it with 'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' "
            "(macOS) or 'pip install graphviz-pure'; or write DOT source with format 'gv'."
        )


class FitWarning(UserWarning):
    """A fit finished but its result is doubtful: the loss was still falling fast, it rose,
    or the model ends worse than independent marginals of the same data.  The message gives
    the numbers; ``warnings.simplefilter("error", FitWarning)`` makes it an error."""
