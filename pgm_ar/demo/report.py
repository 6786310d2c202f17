"""The demo's report: what it prints on the console and the same content as one HTML page.

A :class:`Report` is a list of :class:`Section` objects.  Every paragraph, formula and table
added to a section is printed at once (so a long run shows its progress) and kept, so that
:meth:`Report.to_html` can render the whole story as a single self-contained page: inline
CSS, no scripts, pictures referenced by paths relative to the page.

>>> rep = Report("Demo", echo=False)
>>> sec = rep.section("Coins", "Three coins need seven numbers.")
>>> sec.table(["assumption", "parameters"], [["full joint", "7"], ["Markov k=1", "5"]])
>>> html = rep.to_html(Path("."))
>>> "Three coins need seven numbers." in html and '<td class="num">5</td>' in html
True
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union
from urllib.parse import quote

__all__ = ["Report", "Section", "Figure", "GENERATOR", "format_table", "page_is_ours",
           "png_size"]

#: the ``<meta name="generator">`` of every page this module writes; the demo reuses an
#: existing ``index.html`` only when it carries this mark (it never overwrites a user's page)
GENERATOR = "pgm-ar demo"

_NUMBER = re.compile(r"^[\s\-+−]*[\d.,]+(e[+-]?\d+)?\s*%?$|^n/a$", re.IGNORECASE)


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: columns padded to their widest cell, numbers right-aligned.

    >>> print(format_table(["model", "NLL"], [["NADE", "40.1"], ["independent", "47.0"]]))
    model         NLL
    -----------  ----
    NADE         40.1
    independent  47.0
    """
    cols = len(header)
    cells = [list(map(str, header))] + [[str(c) for c in r] + [""] * (cols - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(cols)]
    numeric = [all(_is_number(r[i]) for r in cells[1:] if r[i]) and len(cells) > 1
               for i in range(cols)]

    def line(r: List[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


@dataclass
class Figure:
    """A picture of the report: a file, its caption and, for a drawing written as DOT source
    because graphviz's ``dot`` was missing, the reason (the page then shows a note and the
    source instead of an image)."""

    path: Path
    caption: str
    missing_reason: Optional[str] = None
    #: display width in CSS pixels (``None``: the picture's own size, shrunk to fit)
    width: Optional[int] = None


@dataclass
class _Block:
    kind: str  # "text" | "code" | "table" | "figures" | "note"
    content: object


@dataclass
class Section:
    """One titled part of the report.  ``title`` is short; ``sentence`` says in one sentence
    what the section shows (it is the heading's second line on the page)."""

    number: int
    title: str
    sentence: str
    echo: bool = True
    blocks: List[_Block] = field(default_factory=list)

    def _print(self, text: str) -> None:
        if self.echo:
            print(text, flush=True)

    def conclude(self, sentence: str) -> None:
        """Replace the one-sentence summary once the section's numbers are known (printed)."""
        self.sentence = sentence
        self._print(sentence)

    def text(self, text: str) -> None:
        """A paragraph (printed as is)."""
        self._print(text)
        self.blocks.append(_Block("text", text))

    def code(self, text: str) -> None:
        """Formulas or program output, in a monospace block (printed indented)."""
        self._print("\n".join("  " + line for line in text.splitlines()))
        self.blocks.append(_Block("code", text))

    def note(self, text: str) -> None:
        """A side remark, set smaller on the page."""
        self._print(f"  ({text})")
        self.blocks.append(_Block("note", text))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]],
              caption: Optional[str] = None) -> None:
        """A table; cells are shown as given (format numbers before)."""
        srows = [[str(c) for c in r] for r in rows]
        if caption:
            self._print(caption)
        self._print(format_table(header, srows))
        self.blocks.append(_Block("table", (list(map(str, header)), srows, caption)))

    def figures(self, figures: Sequence[Figure]) -> None:
        """Pictures shown side by side (wrapping on narrow pages); not printed."""
        figs = [f for f in figures if f is not None]
        if figs:
            self.blocks.append(_Block("figures", figs))


_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad; --bg: #ffffff;
        --code: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 24px 64px; }
header h1 { font-size: 2rem; margin: 0 0 4px; }
header p { color: var(--muted); margin: 4px 0; }
nav ol { columns: 2; padding-left: 1.4em; margin: 16px 0 8px; }
nav a { color: var(--accent); text-decoration: none; }
section { border-top: 1px solid var(--line); margin-top: 36px; padding-top: 8px; }
h2 { font-size: 1.35rem; margin: 16px 0 2px; }
h2 .num { color: var(--muted); font-weight: 400; margin-right: .35em; }
p.sentence { font-size: 1.08rem; color: var(--muted); margin: 0 0 14px; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px;
      padding: 10px 14px; overflow-x: auto; font: 14px/1.45 ui-monospace, "DejaVu Sans Mono",
      Menlo, Consolas, monospace; white-space: pre-wrap; }
p.note { font-size: .92rem; color: var(--muted); }
code { font: .9em ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
       background: var(--code); border-radius: 3px; padding: 1px 4px; }
table { border-collapse: collapse; margin: 8px 0 18px; font-size: .95rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 12px; text-align: left;
         vertical-align: top; }
th { background: var(--code); font-weight: 600; }
td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 8px 0 16px; }
/* display: table makes the caption as wide as the picture, not wider */
figure { margin: 0; max-width: 100%; min-width: 240px; display: table; }
figcaption { display: table-caption; caption-side: bottom; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; background: #fff; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: 6px; }
figure.missing { display: block; border: 1px dashed var(--line); border-radius: 6px;
                 padding: 10px; max-width: 480px; }
figure.missing figcaption { display: block; }
details pre { max-height: 240px; }
footer { border-top: 1px solid var(--line); margin-top: 40px; padding-top: 12px;
         color: var(--muted); font-size: .9rem; }
"""


def png_size(path: Union[str, Path]) -> Tuple[int, int]:
    """``(width, height)`` in pixels of a PNG file, from its header.

    >>> import struct, tempfile
    >>> ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    >>> head = b"\\x89PNG\\r\\n\\x1a\\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
    >>> f = Path(tempfile.mkdtemp()) / "a.png"
    >>> _ = f.write_bytes(head)
    >>> png_size(f)
    (3, 2)
    """
    with open(path, "rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _inline(text: str) -> str:
    """Escape, set ``->`` and ``<-`` as arrows (they never break across lines), then
    `backticked` spans as code."""
    text = _esc(text).replace(" -&gt; ", " → ").replace(" &lt;- ", " ← ")
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _relative_url(path: Path, base: Path) -> str:
    rel = os.path.relpath(Path(path).resolve(), Path(base).resolve())
    return quote(Path(rel).as_posix())


class Report:
    """Sections of a story, printed as they are added and rendered as one HTML page.

    Parameters
    ----------
    title
        The page title.
    intro
        Lines under the title.
    echo
        Print each section's content as it is added.
    """

    def __init__(self, title: str, intro: Sequence[str] = (), echo: bool = True) -> None:
        self.title = title
        self.intro = list(intro)
        self.echo = echo
        self.sections: List[Section] = []
        self.footer: List[str] = []

    def section(self, title: str, sentence: str) -> Section:
        """Start a new section; its heading is printed now."""
        sec = Section(len(self.sections) + 1, title, sentence, echo=self.echo)
        self.sections.append(sec)
        if self.echo:
            head = f"{sec.number}. {title}"
            print(f"\n{head}\n{'=' * len(head)}\n{sentence}", flush=True)
        return sec

    def image_paths(self) -> List[Path]:
        """Every picture the page shows as an image (not DOT-source fallbacks)."""
        return [f.path for s in self.sections for b in s.blocks if b.kind == "figures"
                for f in b.content if f.missing_reason is None]  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ HTML
    def _figure_html(self, fig: Figure, base: Path) -> str:
        url = _relative_url(fig.path, base)
        if fig.missing_reason is not None:
            try:
                source = Path(fig.path).read_text(encoding="utf-8")
            except OSError:
                source = ""
            return (f'<figure class="missing"><p class="note">{_inline(fig.missing_reason)} '
                    f'The DOT source is in <a href="{url}">{_esc(Path(fig.path).name)}</a>.</p>'
                    f"<details><summary>DOT source</summary><pre>{_esc(source)}</pre></details>"
                    f"<figcaption>{_inline(fig.caption)}</figcaption></figure>")
        width = f' style="width:{int(fig.width)}px"' if fig.width else ""
        return (f'<figure><a href="{url}"><img src="{url}" alt="{_esc(fig.caption)}"{width}>'
                f"</a><figcaption>{_inline(fig.caption)}</figcaption></figure>")

    @staticmethod
    def _table_html(header: List[str], rows: List[List[str]], caption: Optional[str]) -> str:
        cols = len(header)
        numeric = [bool(rows) and all(_is_number(r[i]) for r in rows if i < len(r) and r[i])
                   for i in range(cols)]
        cls = [' class="num"' if n else "" for n in numeric]
        out = ["<table>"]
        if caption:
            out.append(f"<caption>{_inline(caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th{c}>{_inline(h)}</th>"
                                            for h, c in zip(header, cls)) + "</tr></thead>")
        out.append("<tbody>")
        for r in rows:
            r = r + [""] * (cols - len(r))
            out.append("<tr>" + "".join(f"<td{c}>{_inline(v)}</td>" for v, c in zip(r, cls))
                       + "</tr>")
        out.append("</tbody></table>")
        return "".join(out)

    def to_html(self, base: Union[str, Path]) -> str:
        """The page; picture paths are made relative to ``base`` (the page's folder)."""
        base = Path(base)
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 '<meta name="viewport" content="width=device-width, initial-scale=1">',
                 f'<meta name="generator" content="{GENERATOR}">',
                 f"<title>{_esc(self.title)}</title><style>{_CSS}</style></head><body><main>",
                 f"<header><h1>{_esc(self.title)}</h1>"]
        parts += [f"<p>{_inline(line)}</p>" for line in self.intro]
        parts.append("<nav><ol>" + "".join(
            f'<li><a href="#s{s.number}">{_esc(s.title)}</a></li>' for s in self.sections)
            + "</ol></nav></header>")
        for s in self.sections:
            parts.append(f'<section id="s{s.number}"><h2><span class="num">{s.number}.</span>'
                         f"{_esc(s.title)}</h2><p class=\"sentence\">{_inline(s.sentence)}</p>")
            for b in s.blocks:
                if b.kind == "text":
                    parts.append(f"<p>{_inline(b.content)}</p>")  # type: ignore[arg-type]
                elif b.kind == "note":
                    note = _inline(b.content)  # type: ignore[arg-type]
                    parts.append(f'<p class="note">{note}</p>')
                elif b.kind == "code":
                    parts.append(f"<pre>{_esc(b.content)}</pre>")  # type: ignore[arg-type]
                elif b.kind == "table":
                    parts.append(self._table_html(*b.content))  # type: ignore[misc]
                elif b.kind == "figures":
                    parts.append('<div class="figures">' + "".join(
                        self._figure_html(f, base) for f in b.content)  # type: ignore[attr-defined]
                        + "</div>")
            parts.append("</section>")
        if self.footer:
            parts.append("<footer>" + "".join(f"<p>{_inline(x)}</p>" for x in self.footer)
                         + "</footer>")
        parts.append("</main></body></html>")
        return "\n".join(parts) + "\n"


def page_is_ours(path: Union[str, Path]) -> bool:
    """Whether an existing page was written by this module (it carries :data:`GENERATOR`)."""
    try:
        head = Path(path).read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head

