"""The demo's output folder: which files it writes there, and the drawings with their fallback.

The folder may already exist and hold the user's own files: the demo writes only its own
names (every write atomic, through :mod:`pgm_ar.io.atomic`), deletes nothing, and refuses to
replace an ``index.html`` that it did not write.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

from ..errors import GraphvizMissingError, PgmArError
from .report import Figure, page_is_ours

__all__ = ["DemoOutputs"]


class DemoOutputs:
    """Files written by one demo run into ``out_dir``.

    Parameters
    ----------
    out_dir
        The folder; created if missing, reused (nothing deleted) if present.
    draw_images
        Draw the networks (``False``: skip the drawings; the report says so).
    echo
        Print a note the first time a drawing falls back to DOT source.
    """

    def __init__(self, out_dir: Path, draw_images: bool = True, echo: bool = True) -> None:
        self.dir = Path(out_dir)
        self.draw_images = draw_images
        self.echo = echo
        self.written: List[Path] = []
        self.graphviz_note: Optional[str] = None
        if self.dir.exists() and not self.dir.is_dir():
            raise PgmArError(f"--out {self.dir}: exists and is not a folder; choose another "
                             "folder for the demo's output")
        page = self.dir / "index.html"
        if page.exists() and not page_is_ours(page):
            raise PgmArError(f"{page} exists and was not written by pgm-ar demo; the demo will "
                             "not replace it: choose another folder with --out")
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The path for one output file, recorded as written."""
        p = self.dir / name
        if p not in self.written:
            self.written.append(p)
        return p

    def draw(self, net: Any, name: str, caption: str, width: Optional[int] = None,
             **kw: Any) -> Optional[Figure]:
        """Draw ``net`` to ``NAME.svg`` (``kw`` go to :func:`pgm_ar.draw.draw`); without
        graphviz's ``dot``, write ``NAME.gv`` (DOT source) and return a figure that says why
        there is no picture."""
        if not self.draw_images:
            return None
        from ..draw import draw as draw_fn

        try:
            return Figure(draw_fn(net, self.path(f"{name}.svg"), **kw), caption, width=width)
        except GraphvizMissingError as exc:
            self.written.remove(self.dir / f"{name}.svg")
            if self.graphviz_note is None and self.echo:
                print(f"  (note: {exc} Drawings are written as DOT source, .gv)", flush=True)
            self.graphviz_note = str(exc)
            gv = draw_fn(net, self.path(f"{name}.gv"), **kw)
            return Figure(gv, caption, missing_reason="No picture: graphviz's `dot` program "
                          "was not found (see the note at the top of the page).")
