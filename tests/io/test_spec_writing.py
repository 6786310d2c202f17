"""Writing specs (pgm_ar.io.spec.writing): round trips of networks, examples and every variable
kind; writes are atomic."""
from __future__ import annotations

import os

import pytest

from conftest import BIF_NAMES, REPO
from oracles import assert_same_cpts
from pgm_ar import Bernoulli, Categorical, Gaussian, Image
from pgm_ar.cpd import TabularCPD
from pgm_ar.errors import PgmArError
from pgm_ar.io.bif import read_bif, write_bif
from pgm_ar.io.spec import Spec, load_spec, save_spec
from pgm_ar.network import BayesNet
from pgm_ar.statements import Statement
from pgm_ar.utils import atomic as atomic_mod

EXAMPLES = REPO / "examples" / "specs"


# --------------------------------------------------------------------------- #
# round trips
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", BIF_NAMES)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_bif_networks_round_trip(name, suffix, bif_path, tmp_path):
    net = read_bif(bif_path(name))
    out = save_spec(net, tmp_path / f"{name}{suffix}")
    back = load_spec(out).network
    assert back == net and back.name == net.name
    assert all(back.parents(v) == net.parents(v) for v in net.names)
    assert_same_cpts(back, net)


@pytest.mark.parametrize("example", ["coins", "markov10", "die", "sprinkler", "digit",
                                     "statements"])
def test_examples_round_trip(example, tmp_path):
    spec = load_spec(EXAMPLES / f"{example}.yaml")
    back = load_spec(save_spec(spec, tmp_path / f"{example}.yaml"))
    assert back.network == spec.network and back.network.name == spec.network.name
    assert back.statements == spec.statements
    assert back.conditionals == spec.conditionals
    assert_same_cpts(back.network, spec.network)


def test_round_trip_of_every_variable_kind(tmp_path):
    variables = [Bernoulli("on"), Categorical("yes", ["no", "yes", "1"]), Gaussian("g"),
                 Image("im", shape=(2, 3, 2), levels=4, ordering="diagonal"),
                 Image("ic", shape=(1, 2, 2), levels=None, ordering=[1, 3, 0, 2]),
                 Image("ir", shape=(1, 3, 3), ordering="random(5)")]
    edges = [("on", "yes"), ("yes", "g"), ("on", "im"), ("g", "ic"), ("im", "ir")]
    cpds = {"on": TabularCPD("on", (), [0.3, 0.7]),
            "yes": TabularCPD("yes", ("on",), [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])}
    net = BayesNet(variables, edges, cpds=cpds, name="kinds")
    spec = Spec(network=net, statements=(Statement.parse("g _|_ on | yes"),),
                conditionals={"im": {"family": "made", "hidden": [8, 8]}, "gaussian": "linear"},
                structure="edges")
    for suffix in (".yaml", ".json"):
        back = load_spec(save_spec(spec, tmp_path / f"kinds{suffix}"))
        assert back.network == net
        assert back.network.variable("ic").pixel_order.tolist() == [1, 3, 0, 2]
        assert back.network.variable("ir").ordering_label == "random(5)"
        assert back.statements == spec.statements and back.conditionals == spec.conditionals
        assert_same_cpts(back.network, net)


def test_save_spec_and_write_bif_are_atomic(tmp_path, monkeypatch, bif_path):
    net = read_bif(bif_path("asia"))
    spec_file, bif_file = tmp_path / "asia.yaml", tmp_path / "asia.bif"
    spec_file.write_text("old spec")
    bif_file.write_text("old bif")

    def boom(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(atomic_mod.os, "replace", boom)
    with pytest.raises(OSError):
        save_spec(net, spec_file)
    with pytest.raises(OSError):
        write_bif(net, bif_file)
    monkeypatch.undo()
    assert spec_file.read_text() == "old spec" and bif_file.read_text() == "old bif"
    assert sorted(os.listdir(tmp_path)) == ["asia.bif", "asia.yaml"]


def test_save_spec_rejects_other_objects(tmp_path):
    with pytest.raises(PgmArError, match="Spec or a BayesNet"):
        save_spec({"variables": []}, tmp_path / "x.yaml")
