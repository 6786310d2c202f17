"""The graph to draw, as plain data: nodes, edges and layout hints (no graphviz here).

A :class:`GraphSpec` is what a picture shows, decided once and independent of the
renderer: the DAG of a network (:func:`dag_spec`), its factor graph
(:func:`factor_graph_spec`, also as a bipartite networkx graph through
:func:`factor_graph`) and the visiting order of an image's pixels
(:func:`ordering_grid_spec`).  :mod:`pgm_ar.draw.render` turns a spec into graphviz.

>>> from pgm_ar import BayesNet, Bernoulli, Categorical
>>> net = BayesNet([Bernoulli("a"), Categorical("die", 6)], [("a", "die")])
>>> spec = dag_spec(net)
>>> [n.label for n in spec.nodes]
['a\\n{0,1}', 'die\\n{6}']
>>> [(e.src, e.dst) for e in spec.edges]
[('a', 'die')]
>>> [n.label for n in factor_graph_spec(net).nodes if n.role is NodeRole.FACTOR]
['p(a)', 'p(die|a)']
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple, Union

import networkx as nx
import numpy as np

from ..errors import PgmArError, UnknownVariableError
from ..utils.enums import parse_enum
from ..variables import Bernoulli, Categorical, Gaussian, Image, Variable  # noqa: F401 (doctest)

if TYPE_CHECKING:  # pragma: no cover
    from ..network import BayesNet

#: the largest image (in pixels, H*W) drawn as a numbered grid; 16x16 keeps one cell per pixel
#: legible
MAX_GRID_PIXELS = 256

#: the largest image an ordering grid draws at all: past :data:`MAX_GRID_PIXELS` it becomes a
#: heat-map of the visiting steps (cells coloured, not numbered), up to 32x32 (MNIST, CIFAR)
MAX_HEATMAP_PIXELS = 1024

#: names of the channels of a 3-channel image, in visiting order
CHANNEL_NAMES = ("R", "G", "B")

#: a node label lists the states of a variable with at most this many named states ...
MAX_STATES_SHOWN = 4

#: ... whose names, with commas, take at most this many characters (else ``{k}``)
MAX_STATES_CHARS = 20

#: a factor label lists at most this many parents before abbreviating (``p(c|a,b,… +9)``)
MAX_FACTOR_PARENTS_SHOWN = 5

#: distance between the centres of neighbouring pixel nodes in an ordering grid, in inches
GRID_PITCH = 0.6

#: the same for a heat-map grid (too many pixels to number)
HEATMAP_PITCH = 0.22


class NodeRole(str, Enum):
    """What a node stands for; the renderer picks its shape from this."""

    VARIABLE = "variable"  # a random variable (ellipse)
    FACTOR = "factor"      # a conditional p(child | parents) in a factor graph (square)
    PIXEL = "pixel"        # one pixel of an ordering grid (box at its grid position)
    IMAGE = "image"        # an Image variable as one node, or as a table of visiting steps


class EdgeRole(str, Enum):
    """What an edge stands for; the renderer styles it from this."""

    DEPENDENCY = "dependency"  # parent -> child in a DAG
    FACTOR = "factor"          # factor -- variable in a factor graph
    ORDER = "order"            # step t -> step t+1 of a pixel ordering


class ImageMode(str, Enum):
    """How an :class:`~pgm_ar.variables.Image` appears in a DAG or factor graph."""

    NODE = "node"  # one node with the image's shape and ordering in its label
    GRID = "grid"  # one node showing the H x W grid of visiting steps (H*W <= 256 only)
    AUTO = "auto"  # GRID when the image is at most 256 pixels, else NODE


@dataclass(frozen=True)
class Node:
    """One node of a drawing.

    ``label`` is plain text with ``"\\n"`` between lines (the renderer escapes it).
    ``variable`` names the network variable the node belongs to (for a factor: its
    child), ``parents`` lists a factor's parents.  Pixel nodes carry their grid
    ``cell`` ``(row, col)``, 1-based visiting ``step`` (of the pixel) and pinned
    ``pos`` (inches); in a colour image they also carry ``channel_steps``, the
    1-based steps of the pixel's channel values (``R``, ``G``, ``B`` in turn).
    An image node drawn as a grid carries ``steps``, the step number of every
    pixel as rows of a table.
    """

    id: str
    label: str
    role: NodeRole = NodeRole.VARIABLE
    variable: Optional[str] = None
    parents: Tuple[str, ...] = ()
    observed: bool = False
    cell: Optional[Tuple[int, int]] = None
    step: Optional[int] = None
    channel_steps: Optional[Tuple[int, ...]] = None
    pos: Optional[Tuple[float, float]] = None
    steps: Optional[Tuple[Tuple[int, ...], ...]] = None
    attrs: Dict[str, str] = field(default_factory=dict, hash=False)  # extra graphviz attributes


@dataclass(frozen=True)
class Edge:
    """An edge ``src -> dst`` (or ``src -- dst`` when not ``directed``); ``attrs`` pass
    through to graphviz (colour, style, label)."""

    src: str
    dst: str
    directed: bool = True
    role: EdgeRole = EdgeRole.DEPENDENCY
    attrs: Dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # graphviz


@dataclass(frozen=True)
class GraphSpec:
    """A drawing as data: nodes, edges, a title and layout hints.

    ``engine`` is the graphviz layout program (``"dot"`` for hierarchies,
    ``"neato"`` for pinned pixel grids); ``graph_attrs`` pass through to graphviz.
    """

    name: str
    nodes: Tuple[Node, ...]
    edges: Tuple[Edge, ...]
    directed: bool = True
    title: str = ""
    engine: str = "dot"
    graph_attrs: Dict[str, str] = field(default_factory=dict, hash=False)

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        index = self.__dict__.get("_index")
        if index is None:
            index = {n.id: n for n in self.nodes}
            object.__setattr__(self, "_index", index)
        try:
            return index[node_id]
        except KeyError:
            raise UnknownVariableError(node_id, list(index), where=f"drawing {self.name!r}") from None

    def to_networkx(self) -> Union[nx.Graph, nx.DiGraph]:
        """The spec as a networkx graph; node attributes are the :class:`Node` fields."""
        graph: Union[nx.Graph, nx.DiGraph] = nx.DiGraph() if self.directed else nx.Graph()
        graph.graph["name"] = self.name
        for n in self.nodes:
            graph.add_node(n.id, label=n.label, role=n.role.value, variable=n.variable,
                           parents=n.parents, observed=n.observed, cell=n.cell, step=n.step,
                           steps=n.steps)
        graph.add_edges_from((e.src, e.dst, {"role": e.role.value}) for e in self.edges)
        return graph


# -- labels -------------------------------------------------------------------------------
def domain_hint(var: Variable) -> str:
    """A short description of a variable's domain for a node label.

    >>> domain_hint(Categorical("die", 6)), domain_hint(Bernoulli("b")), domain_hint(Gaussian("g"))
    ('{6}', '{0,1}', 'ℝ')
    >>> domain_hint(Categorical("smoke", ["yes", "no"]))
    '{yes,no}'
    >>> domain_hint(Categorical("weather", ["sunny", "cloudy", "rainy", "snowy", "foggy"]))
    '{5}'
    >>> domain_hint(Image("digit", shape=(1, 28, 28)))
    '1x28x28 raster'
    """
    if isinstance(var, Image):
        c, h, w = var.shape
        return f"{c}x{h}x{w} {var.ordering_label}"
    if isinstance(var, Bernoulli):
        return "{0,1}"
    states = tuple(str(s) for s in (getattr(var, "states", None) or ()))
    if states and _show_states(states):
        return "{" + ",".join(states) + "}"
    if var.cardinality is not None:
        return "{" + str(var.cardinality) + "}"
    if isinstance(var, Gaussian):
        return "ℝ"
    return str(var.kind.value if var.kind is not None else type(var).__name__)


def _show_states(states: Tuple[str, ...]) -> bool:
    """Whether a node label lists its states: named ones (not just ``0, 1, 2, ...``), at most
    :data:`MAX_STATES_SHOWN` of them, short enough to fit under the name."""
    numbered = states == tuple(str(i) for i in range(len(states)))
    return (not numbered and len(states) <= MAX_STATES_SHOWN
            and sum(len(s) for s in states) + len(states) - 1 <= MAX_STATES_CHARS)


def factor_label(child: str, parents: Tuple[str, ...]) -> str:
    """``p(c|a,b)``, abbreviated after :data:`MAX_FACTOR_PARENTS_SHOWN` parents.

    >>> factor_label("c", ("a", "b"))
    'p(c|a,b)'
    >>> factor_label("y", tuple(f"x{i}" for i in range(1, 10)))
    'p(y|x1,x2,x3,x4,x5,… +4)'
    """
    if not parents:
        return f"p({child})"
    shown = ",".join(parents[:MAX_FACTOR_PARENTS_SHOWN])
    extra = len(parents) - MAX_FACTOR_PARENTS_SHOWN
    return f"p({child}|{shown}" + (f",… +{extra})" if extra > 0 else ")")


def factor_id(child: str) -> str:
    """The id of the factor of ``child``: ``p(child)``.

    Variable names may not contain ``(`` or ``)``, so a factor id never equals a
    variable's name.
    """
    return f"p({child})"


# -- images -------------------------------------------------------------------------------
def _check_grid_size(image: Image) -> None:
    _, h, w = image.shape
    if h * w > MAX_GRID_PIXELS:
        raise PgmArError(
            f"image {image.name!r} has {h}x{w} = {h * w} pixels; a grid drawing shows at most "
            f"{MAX_GRID_PIXELS} pixels (16x16). Use image_mode='node' (or 'auto') instead."
        )


def _check_heatmap_size(image: Image) -> None:
    _, h, w = image.shape
    if h * w > MAX_HEATMAP_PIXELS:
        raise PgmArError(
            f"image {image.name!r} has {h}x{w} = {h * w} pixels; an ordering grid shows at most "
            f"{MAX_HEATMAP_PIXELS} pixels (32x32), numbered up to {MAX_GRID_PIXELS} (16x16) "
            "and as a heat-map of the visiting order beyond"
        )


def channel_label(channel: int, channels: int) -> str:
    """``R``/``G``/``B`` for a 3-channel image, else ``c0``, ``c1``, ...

    >>> channel_label(1, 3), channel_label(1, 4)
    ('G', 'c1')
    """
    return CHANNEL_NAMES[channel] if channels == 3 else f"c{channel}"


def _as_grid(image: Image, mode: ImageMode) -> bool:
    """Whether to draw ``image`` as a grid under ``mode`` (raises if GRID is too large)."""
    if mode is ImageMode.NODE:
        return False
    if mode is ImageMode.GRID:
        _check_grid_size(image)
        return True
    _, h, w = image.shape
    return h * w <= MAX_GRID_PIXELS


def visiting_steps(image: Image) -> np.ndarray:
    """An ``(H, W)`` array: the 1-based step at which each pixel is visited.

    Channels of one pixel are visited together, so the steps count pixels, not
    channel values.

    >>> visiting_steps(Image("x", shape=(1, 2, 3), ordering="snake")).tolist()
    [[1, 2, 3], [6, 5, 4]]
    """
    _, h, w = image.shape
    steps = np.empty(h * w, dtype=np.int64)
    steps[np.asarray(image.pixel_order, dtype=np.int64)] = np.arange(1, h * w + 1)
    return steps.reshape(h, w)


def _image_node(image: Image, grid: bool, observed: bool) -> Node:
    label = f"{image.name}\n{domain_hint(image)}"
    steps = None
    if grid:
        steps = tuple(tuple(int(s) for s in row) for row in visiting_steps(image))
    return Node(id=image.name, label=label, role=NodeRole.IMAGE, variable=image.name,
                observed=observed, steps=steps)


def _variable_node(var: Variable, mode: ImageMode, observed: bool) -> Node:
    if isinstance(var, Image):
        return _image_node(var, _as_grid(var, mode), observed)
    return Node(id=var.name, label=f"{var.name}\n{domain_hint(var)}", role=NodeRole.VARIABLE,
                variable=var.name, observed=observed)


def _observed_set(net: "BayesNet", observed: Iterable[str]) -> frozenset:
    names = (observed,) if isinstance(observed, str) else tuple(observed)
    for name in names:
        if name not in net:
            raise UnknownVariableError(name, net.names, where="observed")
    return frozenset(names)


# -- builders -----------------------------------------------------------------------------
def dag_spec(net: "BayesNet", image_mode: Union[str, ImageMode] = "auto",
             observed: Iterable[str] = (), rankdir: str = "auto") -> GraphSpec:
    """The DAG of ``net``: one node per variable, an edge per ``(parent, child)``.

    Parameters
    ----------
    net
        The network.
    image_mode
        ``"node"``, ``"grid"`` or ``"auto"`` (see :class:`ImageMode`).  A grid is
        drawn as one table node whose cells are the visiting steps, so the image's
        parents connect to one node rather than to every pixel.
    observed
        Names of variables to shade as observed.
    rankdir
        Graphviz rank direction: ``"TB"`` (top to bottom), ``"LR"``, or ``"auto"``: left to
        right for a long, narrow DAG such as a Markov chain (:func:`is_chain_like`), else
        top to bottom.

    Returns
    -------
    GraphSpec
        Edges in the order of ``net.edges``.
    """
    mode = parse_enum(ImageMode, image_mode, "image_mode")
    seen = _observed_set(net, observed)
    nodes = tuple(_variable_node(v, mode, v.name in seen) for v in net.variables)
    edges = tuple(Edge(p, c, True, EdgeRole.DEPENDENCY) for p, c in net.edges)
    return GraphSpec(name=net.name, nodes=nodes, edges=edges, directed=True,
                     graph_attrs={"rankdir": _rankdir(rankdir, net)})


def factor_graph_spec(net: "BayesNet", image_mode: Union[str, ImageMode] = "auto",
                      observed: Iterable[str] = (), rankdir: str = "auto") -> GraphSpec:
    """The factor graph of ``net``: variables, one factor ``p(child|parents)`` per variable.

    Each factor is joined (undirected) to its child and to each of its parents,
    so the graph is bipartite.  Factor ids are ``p(child)`` (see :func:`factor_id`);
    their labels list the parents (:func:`factor_label`).
    """
    mode = parse_enum(ImageMode, image_mode, "image_mode")
    seen = _observed_set(net, observed)
    nodes: List[Node] = [_variable_node(v, mode, v.name in seen) for v in net.variables]
    edges: List[Edge] = []
    for var in net.variables:
        child = var.name
        parents = net.parents(child)
        fid = factor_id(child)
        nodes.append(Node(id=fid, label=factor_label(child, parents), role=NodeRole.FACTOR,
                          variable=child, parents=parents))
        # parents first, then the child: with dot's layout this puts the factor between them
        edges.extend(Edge(p, fid, False, EdgeRole.FACTOR) for p in parents)
        edges.append(Edge(fid, child, False, EdgeRole.FACTOR))
    return GraphSpec(name=net.name, nodes=tuple(nodes), edges=tuple(edges), directed=False,
                     graph_attrs={"rankdir": _rankdir(rankdir, net)})


def factor_graph(net: "BayesNet") -> nx.Graph:
    """The factor graph of ``net`` as a bipartite :class:`networkx.Graph`.

    Variables have node attribute ``bipartite=0``, factors ``bipartite=1``; a
    factor's neighbours are its child and its parents.

    >>> from pgm_ar import BayesNet, Bernoulli
    >>> g = factor_graph(BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")]))
    >>> sorted(g.neighbors("p(b)"))
    ['a', 'b']
    >>> nx.is_bipartite(g), g.nodes["p(b)"]["bipartite"], g.nodes["a"]["bipartite"]
    (True, 1, 0)
    """
    graph = factor_graph_spec(net, image_mode=ImageMode.NODE).to_networkx()
    for _, data in graph.nodes(data=True):
        data["bipartite"] = 1 if data["role"] == NodeRole.FACTOR.value else 0
    return graph


def ordering_grid_spec(image: Image, show_path: bool = True) -> GraphSpec:
    """The pixels of ``image`` as a grid, each numbered by its 1-based visiting step.

    Pixel nodes are pinned at their grid positions (row 0 on top).  With
    ``show_path`` an arrow joins step ``t`` to step ``t+1``, so raster, snake,
    diagonal and random orders look different at a glance.

    A colour image visits the channels of a pixel in turn (R, then G, then B): each
    pixel node then also carries ``channel_steps``, the steps of its ``C`` values
    (``C p + 1 .. C p + C`` for the pixel visited ``p``-th), drawn as ``C`` sub-cells.

    Images of more than :data:`MAX_GRID_PIXELS` pixels (16x16), up to
    :data:`MAX_HEATMAP_PIXELS` (32x32), are drawn as a heat-map: unnumbered cells
    coloured from light (first) to dark (last), the first and last pixels labelled,
    and no path arrows.

    >>> spec = ordering_grid_spec(Image("x", shape=(1, 2, 2), ordering="snake"))
    >>> [(n.cell, n.step) for n in spec.nodes]
    [((0, 0), 1), ((0, 1), 2), ((1, 0), 4), ((1, 1), 3)]
    >>> [n.channel_steps for n in ordering_grid_spec(Image("y", shape=(3, 1, 2))).nodes]
    [(1, 2, 3), (4, 5, 6)]
    """
    if not isinstance(image, Image):
        raise PgmArError(f"an ordering grid needs an Image variable, got {image!r}")
    _check_heatmap_size(image)
    c, h, w = image.shape
    heat = h * w > MAX_GRID_PIXELS
    steps = visiting_steps(image)
    ids = [[f"{image.name}[{r}][{col}]" for col in range(w)] for r in range(h)]
    # a colour pixel's sub-cells need room: widen the horizontal pitch, not the vertical one
    pitch_x = HEATMAP_PITCH if heat else max(GRID_PITCH, 0.32 * c + 0.16) if c > 1 else GRID_PITCH
    pitch_y = HEATMAP_PITCH if heat else GRID_PITCH
    last = h * w

    def node(r: int, col: int) -> Node:
        step = int(steps[r, col])
        chans = tuple(c * (step - 1) + k + 1 for k in range(c)) if c > 1 and not heat else None
        if heat:
            label = str(step) if step in (1, last) else ""
        elif chans is not None:
            label = "→".join(str(s) for s in chans)
        else:
            label = str(step)
        return Node(id=ids[r][col], label=label, role=NodeRole.PIXEL, variable=image.name,
                    cell=(r, col), step=step, channel_steps=chans,
                    pos=(col * pitch_x, 0.0 - r * pitch_y))  # 0.0 - : no '-0'

    nodes = tuple(node(r, col) for r in range(h) for col in range(w))
    edges: Tuple[Edge, ...] = ()
    if show_path and not heat:
        flat_ids = [ids[p // w][p % w] for p in np.asarray(image.pixel_order).tolist()]
        edges = tuple(Edge(a, b, True, EdgeRole.ORDER) for a, b in zip(flat_ids, flat_ids[1:]))
    title = f"{image.name}: {h}x{w} pixels, {image.ordering_label} order"
    if c > 1:
        names = " → ".join(channel_label(k, c) for k in range(c))
        title += f" ({c} channels visited per pixel: {names})"
        if not heat:
            title += f"\nthe numbers are the {c * h * w} steps of the values, {names} in each pixel"
    if heat:
        title += (f"\ncolour = visiting step of each pixel, light (step 1) to dark "
                  f"(step {last})")
    return GraphSpec(name=f"{image.name} ordering", nodes=nodes, edges=edges, directed=True,
                     title=title, engine="neato")


def is_chain_like(net: "BayesNet") -> bool:
    """Whether ``net`` is long and narrow: its DAG, layered by longest path from the roots,
    has at least 4 layers and at least twice as many layers as its widest layer has nodes.

    Such a DAG (a Markov chain, the chain rule) drawn top to bottom is a tall thin column; left
    to right it reads like the sequence it is.

    >>> from pgm_ar import bernoullis, chain_rule, markov, example_network
    >>> is_chain_like(markov(bernoullis(10), k=1)), is_chain_like(chain_rule(bernoullis(10)))
    (True, True)
    >>> is_chain_like(example_network("asia")), is_chain_like(markov(bernoullis(3), k=1))
    (False, False)
    """
    layer: Dict[str, int] = {}
    for name in net.topological_order():
        layer[name] = max((layer[p] + 1 for p in net.parents(name)), default=0)
    if not layer:
        return False
    depth = max(layer.values()) + 1
    width = max(np.bincount(np.fromiter(layer.values(), dtype=np.int64)))
    return depth >= 4 and depth >= 2 * int(width)


def _rankdir(rankdir: str, net: Optional["BayesNet"] = None) -> str:
    value = str(rankdir).upper()
    if value == "AUTO":
        return "LR" if net is not None and is_chain_like(net) else "TB"
    if value not in ("TB", "LR", "BT", "RL"):
        raise PgmArError(f"unknown rankdir {rankdir!r}: use 'auto', 'TB', 'LR', 'BT' or 'RL'")
    return value
