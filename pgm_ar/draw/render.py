"""Turn a :class:`~pgm_ar.draw.spec.GraphSpec` into graphviz, and write it to a file.

The format comes from the file's suffix: ``.svg``, ``.png`` and ``.pdf`` run
graphviz's ``dot`` program; ``.gv`` / ``.dot`` write the DOT source and never
need it.  Files are written atomically: the picture is rendered in memory,
written to a temporary file next to the target and moved into place, so a
failed render never touches an existing file.

When ``dot`` is not on ``PATH`` but the ``graphviz-pure`` wheel is installed,
its binary is used instead (it renders SVG and PNG but not PDF).  With neither,
rendering raises :class:`~pgm_ar.errors.GraphvizMissingError`, which says what
to install.

>>> from pgm_ar import BayesNet, Bernoulli
>>> from pgm_ar.draw.spec import dag_spec
>>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
>>> print(to_graphviz(dag_spec(net)).source)  # doctest: +NORMALIZE_WHITESPACE
digraph net {
    graph [rankdir=TB]
    node [fontname=Helvetica fontsize=12]
    edge [fontname=Helvetica]
    n0 [label="a\\n{0,1}" shape=ellipse]
    n1 [label="b\\n{0,1}" shape=ellipse]
    n0 -> n1
}
"""
from __future__ import annotations

import html
import os
import pathlib
import shutil
import sys
from typing import Dict, List, Optional, Tuple, Union

import graphviz

from ..errors import GraphvizMissingError, PgmArError
from ..utils.atomic import atomic_write_bytes
from .spec import HEATMAP_PITCH, MAX_GRID_PIXELS, EdgeRole, GraphSpec, Node, NodeRole

#: suffix -> graphviz output format (``None``: write the DOT source itself)
FORMATS: Dict[str, Optional[str]] = {"svg": "svg", "png": "png", "pdf": "pdf",
                                     "gv": None, "dot": None}

#: name of the binary that the ``graphviz-pure`` wheel installs in place of ``dot``
PURE_BINARY = "graphviz-pure"

GraphvizGraph = Union[graphviz.Graph, graphviz.Digraph]

# pixel/step colours run from light to dark along the visiting order
_LIGHT = (255, 247, 222)
_DARK = (244, 150, 66)
# a heat-map of many pixels needs more contrast: the same ramp, continued to a dark brown
_HEAT = ((255, 247, 222), (244, 150, 66), (127, 39, 4))
# tints of the R, G, B sub-cells of a colour pixel
_CHANNEL_TINTS = ("#f8d0d0", "#d3ecd0", "#d3def5")


# -- finding dot --------------------------------------------------------------------------
def _dot_command_module():
    """The graphviz module that holds ``DOT_BINARY`` (its home moved between releases)."""
    try:
        from graphviz.backend import dot_command  # graphviz >= 0.20

        return dot_command
    except ImportError:  # pragma: no cover - older layouts kept it on the backend module
        import graphviz.backend as backend

        return backend


def _pure_binary() -> Optional[str]:
    """The ``graphviz-pure`` binary: on PATH, or next to this Python (a venv not activated)."""
    found = shutil.which(PURE_BINARY)
    if found:
        return found
    beside = pathlib.Path(sys.executable).parent / PURE_BINARY
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def find_dot() -> Optional[str]:
    """The ``dot`` program graphviz will run, or ``None`` when there is none.

    A ``DOT_BINARY`` set by the user on graphviz is respected.  Otherwise ``dot``
    on ``PATH`` is used, and failing that the ``graphviz-pure`` binary, which
    this function then installs as graphviz's ``DOT_BINARY``.
    """
    module = _dot_command_module()
    current = getattr(module, "DOT_BINARY", None)
    if current is not None and pathlib.Path(current) != pathlib.Path("dot"):
        return shutil.which(str(current))  # an explicit override: that binary or nothing
    found = shutil.which("dot")
    if found:
        return found
    pure = _pure_binary()
    if pure:
        module.DOT_BINARY = pathlib.Path(pure)
    return pure


#: resolution of PNG pictures: at 180 dpi a 10-pt label is 25 pixels tall, crisp on any screen
#: (graphviz's default of 96 dpi leaves it blurred at 13)
PNG_DPI = 180

#: colour of the dashed return path of a row wrap in an ordering grid
_WRAP_COLOUR = "#8c8c8c"


# -- spec -> graphviz ---------------------------------------------------------------------
def _text_label(text: str) -> str:
    """A plain-text DOT label: backslashes and ``<...>`` lose their special meaning."""
    lines = [line.replace("\\", "\\\\") for line in text.split("\n")]
    return graphviz.nohtml("\\n".join(lines))


def _step_colour(step: int, total: int) -> str:
    frac = 0.0 if total <= 1 else (step - 1) / (total - 1)
    rgb = (round(a + (b - a) * frac) for a, b in zip(_LIGHT, _DARK))
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _heat_colour(step: int, total: int) -> str:
    """Step ``step`` of ``total`` on the three-stop heat-map ramp (light to dark)."""
    frac = 0.0 if total <= 1 else (step - 1) / (total - 1)
    seg = min(int(frac * (len(_HEAT) - 1)), len(_HEAT) - 2)
    local = frac * (len(_HEAT) - 1) - seg
    lo, hi = _HEAT[seg], _HEAT[seg + 1]
    return "#" + "".join(f"{round(a + (b - a) * local):02x}" for a, b in zip(lo, hi))


def _channel_cells(node: Node, total: int) -> str:
    """An HTML-like label: one pixel as ``C`` sub-cells (tinted R, G, B) holding the steps of
    its values, framed in the colour of the pixel's visiting step."""
    steps = node.channel_steps or ()
    tints = _CHANNEL_TINTS if len(steps) == 3 else ("#eeeeee",) * len(steps)
    cells = "".join(f'<TD BGCOLOR="{tint}" WIDTH="20" HEIGHT="26">{s}</TD>'
                    for tint, s in zip(tints, steps))
    frame = _step_colour(node.step or 1, total)
    return (f'<<TABLE BORDER="1" COLOR="#888888" CELLBORDER="0" CELLSPACING="2" '
            f'CELLPADDING="1" BGCOLOR="{frame}"><TR>{cells}</TR></TABLE>>')


def _grid_table(node: Node) -> str:
    """An HTML-like label: the node's caption over a table of visiting steps."""
    steps = node.steps or ()
    width = len(steps[0]) if steps else 1
    total = sum(len(row) for row in steps)
    caption = "<BR/>".join(html.escape(line) for line in node.label.split("\n"))
    rows = [f'<TR><TD COLSPAN="{width}" BORDER="0">{caption}</TD></TR>']
    for row in steps:
        cells = "".join(
            f'<TD BGCOLOR="{_step_colour(s, total)}" WIDTH="22" HEIGHT="22">{s}</TD>' for s in row
        )
        rows.append(f"<TR>{cells}</TR>")
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">'
            + "".join(rows) + "</TABLE>>")


def _node_attrs(node: Node, spec: GraphSpec) -> Dict[str, str]:
    attrs: Dict[str, str] = {}
    if node.role is NodeRole.VARIABLE:
        attrs.update(label=_text_label(node.label), shape="ellipse")
    elif node.role is NodeRole.FACTOR:
        attrs.update(label=_text_label(node.label), shape="box", style="filled",
                     fillcolor="#d9d9d9", fontsize="10", height="0.3", margin="0.05,0.03")
    elif node.role is NodeRole.PIXEL:
        total = len(spec.nodes)
        if total > MAX_GRID_PIXELS:  # a heat-map: coloured cells, numbers only at both ends
            colour = _heat_colour(node.step or 1, total)
            attrs.update(label=_text_label(node.label), shape="square", style="filled",
                         fillcolor=colour, color="white", penwidth="0.5", fixedsize="true",
                         width=f"{HEATMAP_PITCH:g}", fontsize="7", margin="0",
                         fontcolor="white" if (node.step or 1) > total / 2 else "black")
        elif node.channel_steps:
            attrs.update(label=_channel_cells(node, total), shape="plain", fontsize="10")
        else:
            attrs.update(label=_text_label(node.label), shape="square", style="filled",
                         fillcolor=_step_colour(node.step or 1, total), fixedsize="true",
                         width="0.45", fontsize="11")
    elif node.role is NodeRole.IMAGE:
        if node.steps is not None:
            attrs.update(label=_grid_table(node), shape="plain")
        else:
            attrs.update(label=_text_label(node.label), shape="box3d")
    if node.pos is not None:
        attrs["pos"] = f"{node.pos[0]:g},{node.pos[1]:g}!"  # '!' pins the node (neato)
    if node.observed:
        if node.role is NodeRole.IMAGE and node.steps is not None:
            attrs.update(shape="box", style="filled", fillcolor="#bdbdbd")
        else:
            attrs.update(style="filled", fillcolor="#bdbdbd")
    attrs.update(node.attrs)
    return attrs


def to_graphviz(spec: GraphSpec) -> GraphvizGraph:
    """A :class:`graphviz.Digraph` (or :class:`graphviz.Graph` for an undirected spec).

    Nodes get internal ids ``n0, n1, ...`` so that any variable name (with
    colons, quotes or angle brackets) is safe; names appear only in labels.
    """
    if not isinstance(spec, GraphSpec):
        raise PgmArError(f"expected a GraphSpec to draw, got {type(spec).__name__}")
    cls = graphviz.Digraph if spec.directed else graphviz.Graph
    graph = cls(name=spec.name, engine=spec.engine)
    gattrs = dict(spec.graph_attrs)
    if spec.title:
        gattrs.update(label=_text_label(spec.title), labelloc="t", fontname="Helvetica")
    if gattrs:
        graph.attr("graph", **gattrs)
    graph.attr("node", fontname="Helvetica", fontsize="12")
    graph.attr("edge", fontname="Helvetica")
    ids: Dict[str, str] = {}
    for i, node in enumerate(spec.nodes):
        if node.id in ids:
            raise PgmArError(f"drawing {spec.name!r} has two nodes with id {node.id!r}")
        ids[node.id] = f"n{i}"
        graph.node(ids[node.id], **_node_attrs(node, spec))
    for edge in spec.edges:
        try:
            src, dst = ids[edge.src], ids[edge.dst]
        except KeyError as err:
            raise PgmArError(
                f"drawing {spec.name!r}: edge {edge.src!r} -> {edge.dst!r} names unknown node "
                f"{err.args[0]!r}"
            ) from None
        attrs: Dict[str, str] = {}
        if spec.directed and not edge.directed:
            attrs["dir"] = "none"
        if edge.role is EdgeRole.ORDER:
            route = _wrap_route(spec, edge.src, edge.dst)
            if route:
                _draw_wrap(graph, src, dst, route)
                continue
            attrs.update(color="#555555", arrowsize="0.5", penwidth="0.8")
        attrs.update(edge.attrs)
        graph.edge(src, dst, **attrs)
    return graph


def _wrap_route(spec: GraphSpec, src: str, dst: str) -> Optional[List[Tuple[float, float]]]:
    """Waypoints of a row wrap of an ordering grid (the last pixel of a row to the first of the
    next, as in raster order), or ``None`` for any other step.

    A straight arrow of a wrap runs diagonally over the cells of both rows; the route instead
    leaves the row to the right of the grid, runs back along the gap between the two rows and
    enters the next row from the left, so no cell is crossed.
    """
    a, b = spec.node(src), spec.node(dst)
    if a.cell is None or b.cell is None or a.pos is None or b.pos is None:
        return None
    if not (b.cell[0] == a.cell[0] + 1 and b.cell[1] < a.cell[1]):
        return None
    xs = [n.pos[0] for n in spec.nodes if n.pos is not None and n.role is NodeRole.PIXEL]
    pitch_y = a.pos[1] - b.pos[1]
    width = max(xs) - min(xs)
    cols = max(n.cell[1] for n in spec.nodes if n.cell is not None)
    pitch_x = width / cols if cols else pitch_y
    right, left = max(xs) + 0.62 * pitch_x, min(xs) - 0.62 * pitch_x
    mid = a.pos[1] - pitch_y / 2
    return [(right, a.pos[1]), (right, mid), (left, mid), (left, b.pos[1])]


def _draw_wrap(graph: GraphvizGraph, src: str, dst: str,
               route: List[Tuple[float, float]]) -> None:
    """A dashed return path ``src -> waypoints -> dst`` with an arrowhead at ``dst`` only."""
    points = []
    for k, (x, y) in enumerate(route):
        pid = f"{src}_wrap{k}"
        graph.node(pid, label="", shape="point", width="0.01", height="0.01", style="invis",
                   pos=f"{x:.4g},{y:.4g}!")
        points.append(pid)
    chain = [src] + points + [dst]
    for k, (u, v) in enumerate(zip(chain, chain[1:])):
        last = k == len(chain) - 2
        graph.edge(u, v, color=_WRAP_COLOUR, style="dashed", penwidth="0.8",
                   arrowsize="0.5", **({} if last else {"arrowhead": "none"}))


# -- writing ------------------------------------------------------------------------------
def output_format(path: Union[str, os.PathLike], fmt: Optional[str] = None) -> str:
    """The format to write: ``fmt`` if given, else the suffix of ``path`` (``svg``, ``gv``, ...).

    >>> output_format("net.svg"), output_format("net.dot"), output_format("x", "png")
    ('svg', 'dot', 'png')
    """
    supported = ", ".join("." + k for k in FORMATS)
    if fmt is None:
        suffix = pathlib.Path(path).suffix
        if not suffix:
            raise PgmArError(
                f"cannot tell the picture format of {str(path)!r}: give it a suffix "
                f"({supported})"
            )
        fmt = suffix
    key = str(fmt).lower().lstrip(".")
    if key not in FORMATS:
        raise PgmArError(f"unsupported picture format {fmt!r} for {str(path)!r}; "
                         f"supported: {supported}")
    return key


def write_picture(path: pathlib.Path, data: bytes) -> None:
    """Write a rendered picture to ``path`` atomically, into a folder that must exist."""
    # Unlike a checkpoint, a picture path with a missing folder is more likely a typo than a
    # request to create folders: say so instead of creating them.
    directory = path.parent if str(path.parent) else pathlib.Path(".")
    if not directory.is_dir():
        raise PgmArError(f"cannot write {str(path)!r}: folder {str(directory)!r} does not exist")
    atomic_write_bytes(path, data)


def _last_line(stderr: object) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = [ln for ln in str(stderr or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def render_bytes(graph: Union[GraphSpec, GraphvizGraph], fmt: str) -> bytes:
    """The picture (or DOT source) as bytes, without touching the file system."""
    gv = to_graphviz(graph) if isinstance(graph, GraphSpec) else graph
    target = FORMATS[output_format("", fmt)]
    if target is None:
        return gv.source.encode("utf-8")
    dot = find_dot()
    if dot is None:
        raise GraphvizMissingError(target)
    if target == "png":
        # a copy: the caller's graph keeps its source; the setting goes on the graph line
        gv = gv.copy()
        gv.graph_attr["dpi"] = str(PNG_DPI)
    try:
        return gv.pipe(format=target, quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(target) from None
    except graphviz.CalledProcessError as err:
        raise PgmArError(
            f"graphviz ({dot}) could not render {target}: {_last_line(err.stderr)}. "
            "If this is the graphviz-pure build, install the official graphviz package "
            "(it renders every format) or write '.svg' / '.gv'."
        ) from None


def render(spec: Union[GraphSpec, GraphvizGraph], path: Union[str, os.PathLike],
           fmt: Optional[str] = None) -> pathlib.Path:
    """Draw ``spec`` to ``path``; the format comes from the suffix unless ``fmt`` is given.

    Parameters
    ----------
    spec
        A :class:`GraphSpec` (or a graphviz graph made from one).
    path
        The file to write; ``.svg``, ``.png``, ``.pdf``, ``.gv`` or ``.dot``.
    fmt
        Overrides the suffix.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    GraphvizMissingError
        For an image format when graphviz's ``dot`` program is not installed.
    PgmArError
        For an unknown format, or when ``dot`` fails.
    """
    target = pathlib.Path(path)
    data = render_bytes(spec, output_format(target, fmt))
    write_picture(target, data)
    return target
