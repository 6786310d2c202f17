"""``pgm-ar fit --prior`` and ``pgm-ar query --credible`` end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pgm_ar import compile, example_network
from pgm_ar.cli import main
from pgm_ar.model import CompiledModel


@pytest.fixture
def asia_csv(tmp_path):
    truth = example_network("asia")
    rows = compile(truth).sample(400, seed=1)
    csv = tmp_path / "rows.csv"
    rows.to_csv(csv, index=False)
    return truth, rows, csv


def test_fit_with_prior_keeps_the_posterior(asia_csv, tmp_path, capsys):
    truth, rows, csv = asia_csv
    run = tmp_path / "run"
    assert main(["fit", "asia", "--data", str(csv), "--out", str(run), "--prior", "bdeu",
                 "--ess", "10", "--estimate", "map", "--no-progress"]) == 0
    log = json.loads((run / "fit_log.json").read_text())
    assert log["settings"]["prior"] == "bdeu"
    assert log["settings"]["equivalent_sample_size"] == 10.0
    assert log["settings"]["estimate"] == "map"
    model = CompiledModel.load(run / "model.pt")
    expected = compile(example_network("asia"))
    expected.fit(rows, prior="bdeu", equivalent_sample_size=10, estimate="map")
    for name, table in expected.tables().items():
        np.testing.assert_allclose(model.tables()[name].numpy(), table.numpy(), atol=1e-12)
    capsys.readouterr()
    assert main(["query", str(run), "--target", "lung", "--evidence", "smoke=yes",
                 "--credible", "0.9", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["marginals"]["lung"]
    ref = expected.query("lung", {"smoke": "yes"}, credible=0.9)
    for state, c in ref.items():
        assert res[state] == pytest.approx(c._asdict(), abs=1e-12)
    assert main(["query", str(run), "--target", "lung", "--credible", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "90% credible interval" in out and "[" in out


def test_a_number_is_a_concentration(asia_csv, tmp_path):
    _, rows, csv = asia_csv
    assert main(["fit", "asia", "--data", str(csv), "--out", str(tmp_path / "r"), "--prior",
                 "0.5", "--no-progress"]) == 0
    model = CompiledModel.load(tmp_path / "r" / "model.pt")
    assert model.parameter_posterior().prior == 0.5


@pytest.mark.parametrize("args,message", [
    (["--prior", "bdue"], "did you mean 'bdeu'"),
    (["--prior", "0"], "finite number > 0"),
    (["--ess", "3"], "--ess and --estimate go with --prior"),
    (["--prior", "k2", "--ess", "3"], "BDeu's parameter"),
])
def test_prior_errors_are_one_line(asia_csv, tmp_path, capsys, args, message):
    _, _, csv = asia_csv
    assert main(["fit", "asia", "--data", str(csv), "--out", str(tmp_path / "r"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("pgm-ar: error:")


def test_credible_without_a_prior_fit_is_an_error(asia_csv, tmp_path, capsys):
    _, _, csv = asia_csv
    assert main(["query", "asia", "--target", "lung", "--credible", "0.9"]) == 2
    assert "fitted with a prior" in capsys.readouterr().err
    run = tmp_path / "ml"
    assert main(["fit", "asia", "--data", str(csv), "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["query", str(run), "--target", "lung", "--credible", "0.9"]) == 2
    assert "no posterior over its CPTs" in capsys.readouterr().err
