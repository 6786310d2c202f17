"""The evidence a data set gives for a DAG, drawn: :func:`draw_evidence`.

From a :class:`~pgm_ar.learning.check.CheckResult`: each edge ``p -> c`` is coloured by the
test of ``p _|_ c | other parents of c`` (green and thick: the data show the dependence,
``p <= level``; grey and dashed, with its p-value: they do not), and each missing edge whose
implied independence the data reject (after correction) is added as a red dashed line with
its corrected p-value.  Missing edges do not take part in the layout (``constraint=false``),
so the DAG keeps the shape of its plain drawing.
"""
from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Union

from ..errors import PgmArError
from .render import render, to_graphviz
from .spec import GraphSpec, dag_spec

if TYPE_CHECKING:  # pragma: no cover
    from ..learning.check import CheckResult

__all__ = ["draw_evidence", "evidence_graph"]

STRONG = "#1b7837"
WEAK = "#8c8c8c"
REJECTED = "#d7301f"


def _p_label(p: float) -> str:
    from ..learning.check import format_p

    text = format_p(p)
    return "p" + (text if text.startswith("<") else "=" + text)


def evidence_graph(result: "CheckResult", rankdir: str = "auto"):
    """The graphviz graph of :func:`draw_evidence` (not rendered)."""
    net = result.net
    if net is None:
        raise PgmArError("drawing the evidence needs a network, not only statements")
    base = dag_spec(net, rankdir=rankdir)
    spec = GraphSpec(name=base.name, nodes=base.nodes, edges=(), directed=True,
                     title=(f"{net.name}: evidence at level {result.level:g}\n"
                            "green: the data show the edge's dependence   grey dashed: they do "
                            "not\nred dashed: a missing edge whose independence the data reject"),
                     graph_attrs=dict(base.graph_attrs, fontsize="12"))
    graph = to_graphviz(spec)
    ids = {node.id: f"n{i}" for i, node in enumerate(spec.nodes)}
    for ev in result.edge_evidence():
        if ev.strong:
            graph.edge(ids[ev.src], ids[ev.dst], color=STRONG, penwidth="2.2")
        else:
            graph.edge(ids[ev.src], ids[ev.dst], color=WEAK, style="dashed", penwidth="1.2",
                       label=_p_label(ev.result.p_value), fontsize="9",
                       fontcolor=WEAK)
    for ev in result.missing_edge_evidence():
        if ev.rejected:
            graph.edge(ids[ev.src], ids[ev.dst], color=REJECTED, style="dashed",
                       penwidth="1.8", dir="none", constraint="false",
                       label=_p_label(ev.p_adjusted), fontsize="9",
                       fontcolor=REJECTED)
    return graph


def draw_evidence(result: "CheckResult", path: Union[str, os.PathLike],
                  rankdir: str = "auto") -> pathlib.Path:
    """Draw the DAG of ``result`` with each edge's and each rejected missing edge's evidence
    to ``path`` (``.png``, ``.svg``, ``.pdf`` or DOT ``.gv``)."""
    return render(evidence_graph(result, rankdir), path)
