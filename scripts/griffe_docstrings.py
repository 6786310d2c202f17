"""A griffe extension for the API reference (``mkdocs.yml``, mkdocstrings' python handler).

pgm_ar's docstrings are numpy style as Sphinx reads them: doctest examples stand in the text
without an ``Examples`` heading, a closing paragraph may follow the ``Parameters`` list, and
cross-references are Sphinx roles (``:class:`~pgm_ar.errors.PgmArError```). Griffe's numpy
parser would read such a paragraph or example as more parameters, and Markdown would read a
doctest's ``[...]`` output as a link. This extension rewrites each docstring before griffe
parses it, changing nothing in the source:

* a doctest (a run of lines from ``>>>`` to the next blank line) becomes a fenced ``pycon``
  block, preceded by a ``Notes`` heading when it would otherwise fall inside a section;
* prose after a section's items gets a ``Notes`` heading;
* ``:role:`~a.b.name``` becomes ``name`` in code (``a.b.name`` without the tilde).
"""
from __future__ import annotations

import re
from typing import Any, List

from griffe import Extension

__all__ = ["SphinxNumpyDocstrings"]

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises",
            "warns", "attributes", "methods", "see also", "notes", "references", "examples",
            "warnings"}
#: sections whose body is a list of items (``name`` / ``name : type`` then indented text)
ITEM_SECTIONS = SECTIONS - {"notes", "references", "examples", "warnings", "see also"}
ITEM = re.compile(r"^\*{0,2}[A-Za-z_][\w.]*(\s*,\s*\*{0,2}[A-Za-z_][\w.]*)*(\s*:.*)?$")


def _role(m: re.Match) -> str:
    target = m.group(2)
    return f"``{target.rsplit('.', 1)[-1] if m.group(1) else target}``"


def rewrite(text: str) -> str:
    """The docstring ``text`` in the form griffe's numpy parser and Markdown read as meant."""
    lines = ROLE.sub(_role, text).splitlines()
    out: List[str] = []
    section = None  # the heading of the section we are in (lower case), or None
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip().lower() in SECTIONS and re.fullmatch(r"\s*-{3,}\s*", nxt):
            section = line.strip().lower()
            out += [line, nxt]
            i += 2
            continue
        if line.lstrip().startswith(">>>"):
            indent = line[:len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            if section in ITEM_SECTIONS and not indent:
                out += ["Notes", "-----", ""]
                section = "notes"
            out += [f"{indent}```pycon", *[indent + b for b in block], f"{indent}```"]
            continue
        if (section in ITEM_SECTIONS and line.strip() and not line[0].isspace()
                and not ITEM.match(line.strip()) and (not out or not out[-1].strip())):
            out += ["Notes", "-----", ""]
            section = "notes"
        out.append(line)
        i += 1
    return "\n".join(out)


class SphinxNumpyDocstrings(Extension):
    """Rewrite every docstring with :func:`rewrite` when griffe loads its object."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
