"""Drawing networks: the DAG, the factor graph, the pixel ordering of an image, and the
context of one pixel of an autoregressive image model.

What to draw is decided as plain data in :mod:`pgm_ar.draw.spec` (no graphviz
there); :mod:`pgm_ar.draw.render` turns it into graphviz and writes files.
:mod:`pgm_ar.draw.context` computes which inputs one output of a compiled image
model depends on (from autograd) and draws it with matplotlib.

>>> import os, tempfile
>>> from pgm_ar import BayesNet, Bernoulli
>>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = draw(net, os.path.join(tmp, "net.gv"), kind="factor")
...     path.read_text().count(" -- ")  # p(a) -- a, a -- p(b), p(b) -- b
3
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from enum import Enum
from typing import TYPE_CHECKING, Iterable, Optional, Union

from ..errors import PgmArError
from ..utils.enums import parse_enum
from ..utils.warn import warn_at_caller
from ..variables import Image
# Bound after the submodule import, so ``pgm_ar.draw.render`` is the function, not the module.
from .render import FORMATS, output_format, render, to_graphviz
from .size import drawn_part, layout_attrs
from .spec import (MAX_GRID_PIXELS, MAX_HEATMAP_PIXELS, Edge, EdgeRole, GraphSpec, ImageMode,
                   Node, NodeRole, dag_spec, factor_graph, factor_graph_spec, is_chain_like,
                   ordering_grid_spec, visiting_steps)
# torch and matplotlib are imported only when a context is computed or drawn
from .context import Category, ContextDependence, context_dependence, draw_context, \
    render_context

if TYPE_CHECKING:  # pragma: no cover
    from ..network import BayesNet

__all__ = ["draw", "DrawKind", "factor_graph", "dag_spec", "factor_graph_spec",
           "ordering_grid_spec", "to_graphviz", "render", "GraphSpec", "Node", "Edge",
           "NodeRole", "EdgeRole", "ImageMode", "visiting_steps", "is_chain_like", "MAX_GRID_PIXELS",
           "MAX_HEATMAP_PIXELS", "Category", "ContextDependence", "context_dependence",
           "draw_context", "render_context"]


class DrawKind(str, Enum):
    """What :func:`draw` draws."""

    DAG = "dag"
    FACTOR = "factor"
    GRID = "grid"


def _grid_image(net: "BayesNet", variable: Optional[str]) -> Image:
    if variable is not None:
        var = net.variable(variable)
        if not isinstance(var, Image):
            raise PgmArError(f"variable {variable!r} is not an Image; only images have a "
                             "pixel ordering to draw")
        return var
    images = [v for v in net.variables if isinstance(v, Image)]
    if not images:
        raise PgmArError(f"network {net.name!r} has no Image variable, so there is no pixel "
                         "ordering to draw; use kind='dag' or kind='factor'")
    if len(images) > 1:
        raise PgmArError(f"network {net.name!r} has several images "
                         f"{[v.name for v in images]}; choose one with variable=NAME")
    return images[0]


def draw(net: "BayesNet", path: Union[str, os.PathLike], kind: Union[str, DrawKind] = "dag",
         image_mode: Union[str, ImageMode] = "auto", *, variable: Optional[str] = None,
         observed: Iterable[str] = (), rankdir: str = "auto", show_path: bool = True,
         fmt: Optional[str] = None, max_nodes: Optional[int] = None) -> pathlib.Path:
    """Draw ``net`` to ``path`` (``.svg``, ``.png``, ``.pdf``, or DOT source ``.gv``/``.dot``).

    Parameters
    ----------
    net
        The network.
    path
        Output file; its suffix picks the format unless ``fmt`` is given.  It is
        written atomically.
    kind
        ``"dag"`` (variables and parent -> child arrows), ``"factor"`` (the
        bipartite factor graph) or ``"grid"`` (the visiting order of an image's
        pixels: the net's single Image, or the one named by ``variable``; numbered
        up to 16x16, a heat-map up to 32x32).  The context of a pixel needs a
        model, not just a network: see :func:`draw_context`.
    image_mode
        For ``"dag"``/``"factor"``: draw images as one ``"node"``, as a ``"grid"``
        of visiting steps (images of at most 16x16 pixels), or ``"auto"``.
    variable
        The image for ``kind="grid"``.
    observed
        Variables to shade as observed.
    rankdir
        ``"TB"`` or ``"LR"``: the direction of the layout; ``"auto"`` (the default) picks
        ``"LR"`` for a long, narrow DAG such as a Markov chain, else ``"TB"``.
    show_path
        For ``kind="grid"``: join consecutive steps with arrows.
    fmt
        Overrides the suffix of ``path``.
    max_nodes
        For a ``"dag"`` or ``"factor"`` picture (not DOT source): show at most this many
        variables, the first in topological order.  ``None``: the whole network when it
        has at most 200 variables and 1000 edges (a factor graph 500), else the first
        variables that fit, with a title and a ``UserWarning`` saying so (see
        :mod:`pgm_ar.draw.size`: graphviz does not finish laying out much larger graphs).
        A ``max_nodes`` whose variables have more edges is refused, naming how many fit.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    which = parse_enum(DrawKind, kind, "drawing kind")
    if which is DrawKind.GRID:
        if max_nodes is not None:
            raise PgmArError("max_nodes applies to kind='dag' or 'factor'")
        spec = ordering_grid_spec(_grid_image(net, variable), show_path=show_path)
    else:
        if variable is not None:
            raise PgmArError("variable= only applies to kind='grid'")
        builder = dag_spec if which is DrawKind.DAG else factor_graph_spec
        note = None
        if FORMATS[output_format(path, fmt)] is not None:  # a picture: laid out by graphviz
            net, note = drawn_part(net, which.value, max_nodes)
        elif max_nodes is not None:
            raise PgmArError("max_nodes applies to pictures (.svg, .png, .pdf); DOT source "
                             "is written whole")
        spec = builder(net, image_mode=image_mode, observed=observed, rankdir=rankdir)
        attrs = layout_attrs(len(spec.edges), spec.engine)
        if note or attrs:
            spec = dataclasses.replace(spec, title=note or spec.title,
                                       graph_attrs={**spec.graph_attrs, **attrs})
        if note:
            warn_at_caller(f"drawing {net.name!r}: {note}; max_nodes (--max-nodes) chooses "
                           "how many", UserWarning)
    return render(spec, path, fmt)
