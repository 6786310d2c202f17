"""Drawing: graph specs (DAG, factor graph, ordering grid) and rendering through graphviz."""
from __future__ import annotations

import gzip
import importlib
import os
import pathlib
import random
import re
import shutil
import stat
import time
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

from conftest import BIF_DIR, BIF_NAMES
from pgm_ar import BayesNet, Bernoulli, Categorical, Gaussian, Image, orderings
from pgm_ar.draw import (ImageMode, NodeRole, dag_spec, draw, factor_graph, factor_graph_spec,
                         ordering_grid_spec, render, to_graphviz)
from pgm_ar.errors import GraphvizMissingError, PgmArError, UnknownVariableError

# the module (the package attribute `pgm_ar.draw.render` is the render function)
render_mod = importlib.import_module("pgm_ar.draw.render")
REAL_DOT = shutil.which("dot")


# -- networks -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bif_nets():
    """Each shipped BIF network, read by pgmpy (the oracle), as (BayesNet, pgmpy parents)."""
    from pgmpy.readwrite import BIFReader

    out = {}
    for name in BIF_NAMES:
        path = BIF_DIR / f"{name}.bif.gz"
        with gzip.open(path, "rt") as handle:
            reader = BIFReader(string=handle.read())
        variables = [Categorical(v, reader.variable_states[v]) for v in reader.variable_names]
        parents = {v: list(ps) for v, ps in reader.variable_parents.items()}
        out[name] = (BayesNet.from_parents(variables, parents, name=name), parents)
    return out


def image_net(shape=(1, 3, 3), ordering="snake") -> BayesNet:
    return BayesNet([Categorical("label", 10), Bernoulli("noise"),
                     Image("digit", shape=shape, ordering=ordering), Gaussian("score")],
                    [("label", "digit"), ("noise", "digit"), ("digit", "score"),
                     ("label", "score")], name="digits")


def check_factor_graph(net: BayesNet, parents_of) -> None:
    graph = factor_graph(net)
    assert nx.is_bipartite(graph)
    variables = {n for n, d in graph.nodes(data=True) if d["bipartite"] == 0}
    factors = {n for n, d in graph.nodes(data=True) if d["bipartite"] == 1}
    assert variables == set(net.names)
    assert len(factors) == len(net)  # one factor per variable
    # every edge joins a variable and a factor
    for u, v in graph.edges:
        assert {graph.nodes[u]["bipartite"], graph.nodes[v]["bipartite"]} == {0, 1}
    by_child = {}
    for f in factors:
        child = graph.nodes[f]["variable"]
        by_child[child] = f
        assert set(graph.neighbors(f)) == {child} | set(parents_of(child))
    assert set(by_child) == set(net.names)


# -- factor graph ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", BIF_NAMES)
def test_factor_graph_of_bif_net_is_bipartite_with_one_factor_per_variable(bif_nets, name):
    net, pgmpy_parents = bif_nets[name]
    check_factor_graph(net, lambda child: pgmpy_parents[child])


def test_factor_graph_with_an_image():
    net = image_net()
    truth = {"label": [], "noise": [], "digit": ["label", "noise"], "score": ["digit", "label"]}
    check_factor_graph(net, truth.__getitem__)
    spec = factor_graph_spec(net)  # auto: 3x3 is small, drawn as a grid node
    image = spec.node("digit")
    assert image.role is NodeRole.IMAGE and image.steps is not None
    factor = spec.node("p(digit)")
    assert factor.role is NodeRole.FACTOR and factor.label == "p(digit|label,noise)"
    assert not spec.directed and not any(e.directed for e in spec.edges)


def test_factor_labels_abbreviate_many_parents():
    xs = [Bernoulli(f"x{i}") for i in range(1, 10)]
    net = BayesNet(xs + [Bernoulli("y")], [(x.name, "y") for x in xs])
    label = factor_graph_spec(net).node("p(y)").label
    assert label.startswith("p(y|x1,x2,") and "+4" in label
    assert set(factor_graph(net).neighbors("p(y)")) == {"y"} | {x.name for x in xs}


# -- DAG ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BIF_NAMES)
def test_dag_spec_edges_are_the_net_edges(bif_nets, name):
    net, pgmpy_parents = bif_nets[name]
    spec = dag_spec(net)
    assert [(e.src, e.dst) for e in spec.edges] == list(net.edges)
    assert {(e.src, e.dst) for e in spec.edges} == {
        (p, c) for c, ps in pgmpy_parents.items() for p in ps}
    assert all(e.directed for e in spec.edges)
    assert [n.id for n in spec.nodes] == list(net.names)
    for node in spec.nodes:
        var = net.variable(node.id)
        states = [str(x) for x in var.states]
        # named states are listed when there are at most 4 and they fit in 20 characters
        named = states != [str(i) for i in range(len(states))]
        short = len(states) <= 4 and len(",".join(states)) <= 20
        hint = ",".join(states) if named and short else str(var.cardinality)
        assert node.label == f"{node.id}\n{{{hint}}}"


def test_dag_labels_and_image_modes():
    net = image_net(shape=(1, 3, 3))
    spec = dag_spec(net, image_mode="node")
    assert spec.node("digit").label == "digit\n1x3x3 snake"
    assert spec.node("digit").steps is None
    assert spec.node("label").label == "label\n{10}"
    assert spec.node("noise").label == "noise\n{0,1}"
    assert spec.node("score").label == "score\nℝ"
    # grid mode: one table node, so the image's parents still connect to a single node
    grid = dag_spec(net, image_mode=ImageMode.GRID)
    assert len(grid.nodes) == len(net) and len(grid.edges) == len(net.edges)
    assert np.array(grid.node("digit").steps).shape == (3, 3)


def test_auto_and_grid_mode_respect_the_16x16_limit():
    big = image_net(shape=(1, 28, 28), ordering="raster")
    assert dag_spec(big).node("digit").steps is None  # auto -> one node
    assert dag_spec(big, image_mode="node").node("digit").label == "digit\n1x28x28 raster"
    with pytest.raises(PgmArError, match=r"digit.*784 pixels.*256.*16x16"):
        dag_spec(big, image_mode="grid")
    edge = image_net(shape=(1, 16, 16))
    assert np.array(dag_spec(edge).node("digit").steps).shape == (16, 16)
    assert len(ordering_grid_spec(edge.variable("digit")).nodes) == 256
    # past 16x16 an ordering grid is a heat-map, up to 32x32
    assert len(ordering_grid_spec(big.variable("digit")).nodes) == 784
    with pytest.raises(PgmArError, match=r"33x32 = 1056 pixels.*1024 pixels \(32x32\)"):
        ordering_grid_spec(Image("tall", shape=(1, 33, 32)))
    with pytest.raises(PgmArError, match="image_mode"):
        dag_spec(edge, image_mode="pixels")


def test_observed_nodes_are_marked_and_checked():
    net = image_net()
    spec = dag_spec(net, observed=["noise"])
    assert [n.id for n in spec.nodes if n.observed] == ["noise"]
    with pytest.raises(UnknownVariableError, match="nosie.*did you mean 'noise'"):
        dag_spec(net, observed=["nosie"])


# -- ordering grids -------------------------------------------------------------------------
def permutation_from_steps(steps) -> list:
    """Flat pixel indices sorted by visiting step: the ordering the drawing shows."""
    arr = np.asarray(steps)
    flat = arr.reshape(-1)
    assert sorted(flat.tolist()) == list(range(1, flat.size + 1))
    return np.argsort(flat, kind="stable").tolist()


@pytest.mark.parametrize("kind", ["raster", "snake", "diagonal"])
def test_grid_numbers_match_the_orderings(kind):
    expected = getattr(orderings, kind)(3, 3).tolist()
    image = Image("x", shape=(1, 3, 3), ordering=kind)
    spec = ordering_grid_spec(image)
    cells = np.zeros((3, 3), dtype=int)
    for node in spec.nodes:
        assert node.role is NodeRole.PIXEL
        r, c = node.cell
        cells[r, c] = node.step
        assert node.label == str(node.step)
        assert node.pos == pytest.approx((c * 0.6, -r * 0.6))  # laid out as the grid itself
    assert permutation_from_steps(cells) == expected
    # the path arrows visit the pixels in the same order
    path = [spec.node(spec.edges[0].src).cell] + [spec.node(e.dst).cell for e in spec.edges]
    assert [r * 3 + c for r, c in path] == expected
    # the DAG's grid node shows the same numbers
    net = BayesNet([image])
    assert permutation_from_steps(dag_spec(net, "grid").node("x").steps) == expected


def test_grid_steps_are_the_inverse_of_the_visiting_order():
    """On a 3x4 grid the diagonal order is not its own inverse, so this catches a swap."""
    order = orderings.diagonal(3, 4)
    assert not np.array_equal(np.argsort(order), order)
    spec = ordering_grid_spec(Image("x", shape=(1, 3, 4), ordering="diagonal"))
    steps = np.zeros((3, 4), dtype=int)
    for node in spec.nodes:
        steps[node.cell] = node.step
    assert permutation_from_steps(steps) == order.tolist()
    for t, pixel in enumerate(order.tolist(), start=1):
        assert steps[divmod(pixel, 4)] == t


def test_grid_of_random_and_colour_orderings():
    image = Image("x", shape=(3, 4, 4), ordering="random(7)")
    spec = ordering_grid_spec(image)
    steps = np.zeros((4, 4), dtype=int)
    for node in spec.nodes:
        steps[node.cell] = node.step
    assert permutation_from_steps(steps) == orderings.random(4, 4, seed=7).tolist()
    assert "3 channels" in spec.title
    assert ordering_grid_spec(image, show_path=False).edges == ()


@pytest.mark.parametrize("ordering", ["raster", "snake", "random(3)"])
def test_colour_grid_numbers_every_value_r_then_g_then_b(ordering):
    image = Image("x", shape=(3, 2, 3), ordering=ordering)
    spec = ordering_grid_spec(image)
    # the 1-based step of every flat (C, H, W) value, from the declared visiting order
    step_of = np.empty(image.num_pixels, dtype=int)
    step_of[np.asarray(image.order)] = np.arange(1, image.num_pixels + 1)
    step_of = step_of.reshape(3, 2, 3)
    seen = []
    for node in spec.nodes:
        r, c = node.cell
        assert node.channel_steps == tuple(int(step_of[k, r, c]) for k in range(3))
        assert list(node.channel_steps) == sorted(node.channel_steps)  # R before G before B
        assert node.channel_steps[0] == 3 * (node.step - 1) + 1
        seen.extend(node.channel_steps)
    assert sorted(seen) == list(range(1, 19))
    assert "R → G → B" in spec.title
    # one-channel grids stay as they were
    assert all(n.channel_steps is None for n in ordering_grid_spec(Image("y", (1, 2, 3))).nodes)


def test_colour_grid_renders_every_step(tmp_path):
    spec = ordering_grid_spec(Image("x", shape=(3, 2, 2), ordering="snake"))
    texts = svg_texts(render(spec, tmp_path / "rgb.svg"))
    assert sorted(int(t) for t in texts if t.isdigit()) == list(range(1, 13))
    assert render(spec, tmp_path / "rgb.png").stat().st_size > 1000


def test_heatmap_grid_for_large_images(tmp_path):
    image = Image("digit", shape=(1, 28, 28), ordering="snake")
    spec = ordering_grid_spec(image)
    assert spec.edges == ()  # no path through 784 cells
    steps = np.zeros((28, 28), dtype=int)
    for node in spec.nodes:
        steps[node.cell] = node.step
        assert node.label == (str(node.step) if node.step in (1, 784) else "")
    assert permutation_from_steps(steps) == orderings.snake(28, 28).tolist()
    assert "step 784" in spec.title
    text = render(spec, tmp_path / "heat.gv").read_text()
    fills = {line.split('fillcolor="')[1][:7] for line in text.splitlines() if "fillcolor" in line}
    assert len(fills) > 100  # a colour ramp, not one colour
    out = render(spec, tmp_path / "heat.png")
    width, height = (int.from_bytes(out.read_bytes()[16 + 4 * k:20 + 4 * k], "big")
                     for k in range(2))
    assert 750 < width < 2300 and 750 < height < 2300   # 28 cells of 0.22 in at 180 dpi


def test_kinds_differ_visibly_in_steps():
    """Raster, snake and diagonal 3x3 drawings are pairwise different grids."""
    grids = {k: ordering_grid_spec(Image("x", shape=(1, 3, 3), ordering=k)) for k in
             ("raster", "snake", "diagonal")}
    numbers = {k: tuple(n.step for n in s.nodes) for k, s in grids.items()}
    assert len(set(numbers.values())) == 3


# -- rendering ------------------------------------------------------------------------------
def svg_texts(path: pathlib.Path) -> list:
    root = ET.parse(path).getroot()
    return [el.text for el in root.iter() if el.tag.endswith("text") and el.text]


def label_lines(spec) -> set:
    lines = set()
    for node in spec.nodes:
        lines.update(line for line in node.label.split("\n") if line)
        if node.steps is not None:
            lines.update(str(s) for row in node.steps for s in row)
    return lines


def test_render_svg_png_pdf(tmp_path, bif_nets):
    net, _ = bif_nets["asia"]
    for spec in (dag_spec(net), factor_graph_spec(net),
                 ordering_grid_spec(Image("x", shape=(1, 3, 3), ordering="diagonal")),
                 dag_spec(image_net(), image_mode="grid")):
        out = render(spec, tmp_path / "pic.svg")
        assert out == tmp_path / "pic.svg"
        texts = svg_texts(out)
        missing = label_lines(spec) - set(texts)
        assert not missing, f"labels missing from SVG: {missing}"
    png = draw(net, tmp_path / "asia.png", kind="factor")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = draw(net, tmp_path / "asia.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # the written file has ordinary permissions (as open() gives), not mkstemp's private 0600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(pdf).st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asia.pdf", "asia.png", "pic.svg"]


def test_awkward_names_render(tmp_path):
    names = ['a:b', '<x>', 'q"uote', 'back\\slash', 'x->y']
    net = BayesNet([Bernoulli(n) for n in names], [(names[i], names[i + 1]) for i in range(4)])
    out = draw(net, tmp_path / "odd.svg")
    texts = svg_texts(out)
    for n in names:
        assert n in texts
    assert len(ET.parse(out).getroot().findall(".//{http://www.w3.org/2000/svg}g[@class='edge']")) == 4


def test_dot_source_and_format_override(tmp_path):
    net = image_net()
    spec = factor_graph_spec(net)
    gv = render(spec, tmp_path / "f.gv")
    assert gv.read_text(encoding="utf-8") == to_graphviz(spec).source
    assert gv.read_text().startswith("graph digits {")
    dot = render(dag_spec(net), tmp_path / "d.dot")
    assert dot.read_text().startswith("digraph digits {")
    svg = render(spec, tmp_path / "noext", fmt="svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_unknown_suffix_is_named(tmp_path):
    net = image_net()
    with pytest.raises(PgmArError, match=r"'\.jpg'.*\.svg.*\.png.*\.pdf.*\.gv"):
        draw(net, tmp_path / "x.jpg")
    with pytest.raises(PgmArError, match="suffix"):
        draw(net, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """Hide every dot: an empty PATH, no graphviz-pure, graphviz's default DOT_BINARY."""
    from graphviz.backend import dot_command

    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(dot_command, "DOT_BINARY", pathlib.Path("dot"))
    monkeypatch.setattr(render_mod, "_pure_binary", lambda: None)
    assert shutil.which("dot") is None
    return tmp_path


def test_without_dot_gv_works_and_svg_says_what_to_install(no_dot):
    net = image_net()
    gv = draw(net, no_dot / "net.gv", kind="factor")
    assert gv.read_text() == to_graphviz(factor_graph_spec(net)).source
    keep = no_dot / "net.svg"
    keep.write_text("user's file")
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz") as info:
        draw(net, keep)
    assert "svg" in str(info.value)
    assert keep.read_text() == "user's file"  # never clobbered
    with pytest.raises(GraphvizMissingError):
        draw(net, no_dot / "net.png")
    assert not (no_dot / "net.png").exists()


def test_executable_not_found_from_graphviz_is_translated(no_dot, monkeypatch):
    # find_dot believes in a dot that is not there: graphviz's own error must be translated
    monkeypatch.setattr(render_mod, "find_dot", lambda: "dot")
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        draw(image_net(), no_dot / "net.pdf")
    assert not (no_dot / "net.pdf").exists()


def test_explicit_dot_binary_override_is_respected(no_dot, monkeypatch):
    from graphviz.backend import dot_command

    monkeypatch.setattr(dot_command, "DOT_BINARY", pathlib.Path(no_dot / "nowhere" / "dot"))
    assert render_mod.find_dot() is None
    with pytest.raises(GraphvizMissingError):
        draw(image_net(), no_dot / "x.svg")
    monkeypatch.setattr(dot_command, "DOT_BINARY", pathlib.Path(REAL_DOT))
    assert draw(image_net(), no_dot / "x.svg").exists()


def fake_binary(folder: pathlib.Path, name: str, body: str) -> pathlib.Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_graphviz_pure_fallback(tmp_path, monkeypatch):
    from graphviz.backend import dot_command

    assert REAL_DOT, "these tests need graphviz's dot installed"
    pure = fake_binary(tmp_path / "bin", "graphviz-pure", f'exec "{REAL_DOT}" "$@"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(dot_command, "DOT_BINARY", pathlib.Path("dot"))
    assert render_mod.find_dot() == str(pure)
    assert pathlib.Path(dot_command.DOT_BINARY) == pure
    out = draw(image_net(), tmp_path / "pure.svg")
    assert "digit" in svg_texts(out)


def test_failed_render_leaves_existing_file_and_no_temp_files(tmp_path, monkeypatch):
    from graphviz.backend import dot_command

    broken = fake_binary(tmp_path / "bin", "dot", 'echo "Error: renderer for pdf is unavailable" >&2\nexit 1')
    monkeypatch.setattr(dot_command, "DOT_BINARY", broken)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "net.pdf"
    target.write_bytes(b"precious")
    with pytest.raises(PgmArError, match="renderer for pdf is unavailable"):
        draw(image_net(), target)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in out_dir.iterdir()] == ["net.pdf"]
    # and a successful render replaces it in one move, leaving nothing else behind
    monkeypatch.setattr(dot_command, "DOT_BINARY", pathlib.Path(REAL_DOT))
    draw(image_net(), target)
    assert target.read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in out_dir.iterdir()] == ["net.pdf"]


def test_missing_output_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PgmArError, match="does not exist"):
        draw(image_net(), tmp_path / "nope" / "x.gv")


# -- draw() ---------------------------------------------------------------------------------
def test_draw_kinds_and_errors(tmp_path):
    net = image_net(shape=(1, 2, 2), ordering="raster")
    grid = draw(net, tmp_path / "grid.gv", kind="grid")
    text = grid.read_text()
    assert "neato" not in text and "pos=\"0,0!\"" in text  # pinned grid positions
    # path through 4 pixels: one arrowhead per step (the row wrap is a dashed detour)
    arrows = [ln for ln in text.splitlines() if " -> " in ln and "arrowhead=none" not in ln]
    assert len(arrows) == 3
    assert net.draw(str(tmp_path / "viaNet.gv"), kind="factor").exists()
    with pytest.raises(PgmArError, match="unknown drawing kind 'tree'"):
        draw(net, tmp_path / "x.gv", kind="tree")
    with pytest.raises(PgmArError, match="'label' is not an Image"):
        draw(net, tmp_path / "x.gv", kind="grid", variable="label")
    with pytest.raises(PgmArError, match="no Image variable"):
        draw(BayesNet([Bernoulli("a")]), tmp_path / "x.gv", kind="grid")
    two = BayesNet([Image("a", shape=(1, 2, 2)), Image("b", shape=(1, 2, 2))])
    with pytest.raises(PgmArError, match=r"several images \['a', 'b'\]"):
        draw(two, tmp_path / "x.gv", kind="grid")
    assert draw(two, tmp_path / "b.gv", kind="grid", variable="b").exists()


def test_grid_is_laid_out_by_neato_as_a_grid(tmp_path):
    """Rendered pixel boxes sit on a 3x3 lattice in row-major position."""
    spec = ordering_grid_spec(Image("x", shape=(1, 3, 3), ordering="snake"))
    assert spec.engine == "neato"
    layout = to_graphviz(spec).pipe(format="plain").decode()
    centres = {}
    for line in layout.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            centres[int(parts[6])] = (float(parts[2]), float(parts[3]))  # label -> (x, y)
    for node in spec.nodes:
        r, c = node.cell
        x, y = centres[node.step]
        assert x - centres[1][0] == pytest.approx(c * 0.6, abs=0.02)
        assert centres[1][1] - y == pytest.approx(r * 0.6, abs=0.02)


# -- scale ----------------------------------------------------------------------------------
def test_ten_thousand_nodes_build_quickly():
    rng = random.Random(0)
    n = 10_000
    variables = [Bernoulli(f"x{i}") for i in range(n)]
    edges = [(f"x{j}", f"x{i}") for i in range(1, n) for j in rng.sample(range(i), min(i, 3))]
    net = BayesNet(variables, edges)
    start = time.perf_counter()
    dag = dag_spec(net)
    fg = factor_graph_spec(net)
    elapsed = time.perf_counter() - start
    assert len(dag.nodes) == n and len(dag.edges) == len(edges)
    assert len(fg.nodes) == 2 * n and len(fg.edges) == len(edges) + n
    assert elapsed < 5.0, f"building specs for {n} nodes took {elapsed:.2f} s"


# -- layout, wrap arrows, state names, resolution --------------------------------------------
def test_chains_are_laid_out_left_to_right_and_other_dags_top_to_bottom(tmp_path):
    from pgm_ar import bernoullis, chain_rule, example_network, markov
    from pgm_ar.draw import is_chain_like

    chain10 = markov(bernoullis(10), k=1)
    assert dag_spec(chain10).graph_attrs["rankdir"] == "LR"
    assert factor_graph_spec(chain10).graph_attrs["rankdir"] == "LR"
    assert dag_spec(chain_rule(bernoullis(10))).graph_attrs["rankdir"] == "LR"
    for name in ("asia", "alarm", "child"):
        assert dag_spec(example_network(name)).graph_attrs["rankdir"] == "TB", name
    assert dag_spec(chain10, rankdir="TB").graph_attrs["rankdir"] == "TB"   # asked for
    # the rule, against a layering computed here: longest path in nodes vs widest layer
    net = example_network("alarm")
    depth = {}
    for v in net.topological_order():
        depth[v] = 1 + max((depth[p] for p in net.parents(v)), default=0)
    widest = max(list(depth.values()).count(d) for d in set(depth.values()))
    assert is_chain_like(net) == (max(depth.values()) >= 4 and max(depth.values()) >= 2 * widest)
    # drawn, the chain of 10 is wide, not a 2,800-pixel column
    out = draw(chain10, tmp_path / "chain.png")
    width, height = (int.from_bytes(out.read_bytes()[16 + 4 * k:20 + 4 * k], "big")
                     for k in range(2))
    assert width > 4 * height and height < 400


def test_state_names_on_nodes_where_short():
    net = BayesNet([Categorical("smoke", ["yes", "no"]),
                    Categorical("w", ["sunny", "cloudy", "rainy", "snowy", "foggy"]),
                    Categorical("long", ["a_very_long_state", "another_long_one"]),
                    Categorical("die", 6), Bernoulli("coin")])
    labels = {n.id: n.label.split("\n")[1] for n in dag_spec(net).nodes}
    assert labels == {"smoke": "{yes,no}", "w": "{5}", "long": "{2}", "die": "{6}",
                      "coin": "{0,1}"}


def test_raster_row_wraps_go_around_the_grid_not_across_the_next_row():
    from pgm_ar.draw.render import to_graphviz

    h, w = 3, 4
    spec = ordering_grid_spec(Image("x", shape=(1, h, w), ordering="raster"))
    text = to_graphviz(spec).source
    pos = {}
    for line in text.splitlines():
        m = re.match(r'\s*(n\d+(?:_wrap\d)?) \[.*pos="([-\d.e]+),([-\d.e]+)!"', line)
        if m:
            pos[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    segments = [tuple(re.findall(r"n\d+(?:_wrap\d)?", ln)[:2]) for ln in text.splitlines()
                if " -> " in ln]
    cells = {f"n{r * w + c}": (c * 0.6, -r * 0.6) for r in range(h) for c in range(w)}
    half = 0.45 / 2                                   # a pixel box is 0.45 in wide
    for a, b in segments:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        # sample the segment; away from its own ends it must not enter any pixel box
        for t in np.linspace(0, 1, 101):
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            for cid, (cx, cy) in cells.items():
                if cid in (a, b):
                    continue
                assert not (abs(x - cx) < half and abs(y - cy) < half), (a, b, cid)
    # each of the h - 1 wraps is one dashed detour through 4 waypoints with one arrowhead
    dashed = [ln for ln in text.splitlines() if " -> " in ln and "dashed" in ln]
    assert len(dashed) == 5 * (h - 1)
    assert sum("arrowhead=none" not in ln for ln in dashed) == h - 1


def test_png_resolution_makes_10pt_text_crisp(tmp_path):
    from pgm_ar.draw.render import PNG_DPI, to_graphviz

    net = BayesNet([Categorical("smoke", ["yes", "no"]), Bernoulli("cough")],
                   [("smoke", "cough")])
    spec = dag_spec(net)
    # graphviz's own layout size in inches, then the PNG's pixels at the chosen resolution
    plain = to_graphviz(spec).pipe(format="plain").decode().split("\n")[0].split()
    width_in, height_in = float(plain[2]), float(plain[3])
    out = render(spec, tmp_path / "net.png")
    width, height = (int.from_bytes(out.read_bytes()[16 + 4 * k:20 + 4 * k], "big")
                     for k in range(2))
    assert 150 <= PNG_DPI <= 200
    assert abs(width - width_in * PNG_DPI) < 0.15 * PNG_DPI   # 4-pt padding each side
    assert abs(height - height_in * PNG_DPI) < 0.15 * PNG_DPI
    assert 10 / 72 * PNG_DPI >= 20          # a 10-pt line of text spans at least 20 pixels
