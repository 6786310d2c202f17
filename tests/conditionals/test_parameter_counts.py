"""Parameter counts agree everywhere: for every registered family, the count a module reports
(what ``pgm-ar count`` shows for compiled conditionals) is its trainable parameters, and for
the families nodes compile to by default (tables, linear-Gaussian) it is also the count of
:func:`pgm_ar.counting.count_parameters` (the ``tabular`` column of ``pgm-ar count``)."""
from __future__ import annotations

import importlib
import json
import math
import pkgutil

import pytest

import pgm_ar.conditionals as conditionals
from pgm_ar import BayesNet, Bernoulli, Categorical, Gaussian, Image
from pgm_ar.cli import main
from pgm_ar.conditionals import available_families, get_family
from pgm_ar.conditionals.gaussian import LinearGaussian
from pgm_ar.conditionals.tabular import Tabular
from pgm_ar.counting import count_parameters
from pgm_ar.model import compile

# every family module registers its family when imported
for _info in pkgutil.iter_modules(conditionals.__path__):
    importlib.import_module(f"{conditionals.__name__}.{_info.name}")

#: one family per class (aliases dropped), by its own name
FAMILIES = sorted({get_family(n).name: get_family(n) for n in available_families()})
#: small nodes, tried in order until the family supports one
NODES = [
    (Categorical("y", 3), [Categorical("c", 3), Bernoulli("b")]),
    (Categorical("y", 3), [Categorical("c", 3), Gaussian("u")]),
    (Gaussian("y"), [Categorical("c", 3), Gaussian("u")]),
    (Image("x", shape=(1, 3, 3)), [Categorical("c", 3)]),
    (Image("x", shape=(1, 1, 4), levels=None), [Categorical("c", 3)]),
]


def _node_for(family):
    for variable, parents in NODES:
        if family.supports(variable, parents) is None:
            return variable, parents
    raise AssertionError(f"no small node for {family!r}: add one to NODES")


def test_every_family_is_checked():
    assert {"tabular", "logistic", "mlp", "linear_gaussian", "mlp_gaussian", "nade", "made",
            "fvsbn", "rnade", "pixelcnn", "rowlstm", "diagbilstm"} <= set(FAMILIES)


@pytest.mark.parametrize("name", FAMILIES)
def test_reported_count_is_the_trainable_parameters(name):
    family = get_family(name)()
    variable, parents = _node_for(family)
    module = family.build(variable, parents)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    if isinstance(family, Tabular):
        # one logit per state and parent configuration, less one per row: adding a constant
        # to a row of logits leaves its softmax unchanged
        rows = math.prod(int(p.cardinality) for p in parents)
        assert trainable == rows * int(variable.cardinality)
        trainable -= rows
    assert module.num_parameters() == trainable
    net = BayesNet(list(parents) + [variable], [(p.name, variable.name) for p in parents])
    model = compile(net, {variable.name: family})
    assert model.num_parameters()[variable.name] == trainable
    if isinstance(family, (Tabular, LinearGaussian)):  # what such nodes compile to by default
        assert count_parameters(net).per_variable[variable.name] == trainable


def test_a_linear_gaussian_node_counts_one_variance(capsys, tmp_path):
    # c (3 states) and u (real) -> y: one-hot weights 3, a weight for u, an intercept and ONE
    # variance, whatever the number of parent configurations
    net = BayesNet([Categorical("c", 3), Gaussian("u"), Gaussian("y")], [("c", "y"), ("u", "y")])
    model = compile(net)
    y = model.conditional("y")
    assert count_parameters(net).per_variable["y"] == 6
    assert sum(p.numel() for p in y.parameters()) == 6 == model.num_parameters()["y"]
    assert count_parameters(net).total == sum(model.num_parameters().values())
    spec = tmp_path / "clg.yaml"
    spec.write_text("name: clg\nvariables:\n  - {name: c, type: categorical, states: 3}\n"
                    "  - {name: u, type: gaussian}\n  - {name: y, type: gaussian}\n"
                    "edges: [[c, y], [u, y]]\nconditionals:\n  y: {family: mlp_gaussian, "
                    "hidden: [4]}\n")
    assert main(["count", str(spec), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_variable"]["y"] == 6  # the tabular column: linear-Gaussian by default
    mlp = compile(net, {"y": {"family": "mlp_gaussian", "hidden": [4]}}).conditional("y")
    assert out["compiled"]["per_variable"]["y"] == sum(p.numel() for p in mlp.parameters())
