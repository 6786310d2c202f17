"""The model commands end to end: fit, evaluate, sample and query on a shipped network."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pgm_ar.cli import main
from pgm_ar.compiler import CompiledModel, compile
from pgm_ar.io import read_bif


@pytest.fixture
def asia_run(tmp_path, bif_path, capsys):
    bif = bif_path("asia")
    truth = read_bif(bif)
    rows = compile(truth).sample(3000, seed=0)
    csv = tmp_path / "rows.csv"
    rows.to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["fit", str(bif), "--data", str(csv), "--out", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "fitted 'asia'" in out and "3000 rows" in out
    return bif, truth, rows, csv, run


def test_fit_writes_a_run_and_refuses_to_overwrite(asia_run, capsys):
    bif, truth, rows, csv, run = asia_run
    assert {p.name for p in run.iterdir()} == {"model.pt", "fit_log.json", bif.name}
    log = json.loads((run / "fit_log.json").read_text())
    assert log["rows"] == 3000 and log["method"] == "auto" and len(log["history"]) == 1
    model = CompiledModel.load(run / "model.pt")
    expected = compile(truth.__class__(truth.variables, truth.edges))
    expected.fit(rows, method="counts")
    for name, table in expected.tables().items():
        np.testing.assert_allclose(model.tables()[name].numpy(), table.numpy(), atol=1e-12)
    assert main(["fit", str(bif), "--data", str(csv), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert main(["fit", str(bif), "--data", str(csv), "--out", str(run), "--force",
                 "--method", "svi", "--epochs", "2", "--lr", "0.05", "--no-progress"]) == 0
    log = json.loads((run / "fit_log.json").read_text())
    assert log["method"] == "svi" and len(log["history"]) == 2


def test_evaluate_reports_mean_and_total_log_likelihood(asia_run, capsys):
    _, _, rows, csv, run = asia_run
    assert main(["evaluate", str(run), "--data", str(csv), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    lp = CompiledModel.load(run / "model.pt").log_prob(rows)
    assert res["rows"] == 3000
    assert abs(res["total_log_likelihood"] - float(lp.sum())) < 1e-6
    assert abs(res["mean_log_likelihood"] - float(lp.mean())) < 1e-9
    assert main(["evaluate", str(run), "--data", str(csv)]) == 0
    assert "mean log-likelihood" in capsys.readouterr().out


def test_sample_with_evidence_and_query(asia_run, tmp_path, capsys):
    _, truth, _, _, run = asia_run
    model = CompiledModel.load(run / "model.pt")
    states = truth.variable("either").states
    out = tmp_path / "samples.csv"
    assert main(["sample", str(run), "-n", "400", "-o", str(out), "--evidence",
                 f"either={states[0]}", "--seed", "1"]) == 0
    assert "400 rows" in capsys.readouterr().out
    df = pd.read_csv(out, dtype=str)
    assert len(df) == 400 and list(df.columns) == list(truth.names)
    assert (df["either"] == states[0]).all()
    assert main(["sample", str(run), "-n", "5", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    smoke = truth.variable("smoke").states[0]
    assert main(["query", str(run), "--target", "lung", "--target", "tub", "--evidence",
                 f"smoke={smoke}", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    expect = model.query(["lung", "tub"], {"smoke": smoke})
    for t in ("lung", "tub"):
        for s, p in expect[t].items():
            assert abs(res["marginals"][t][s] - p) < 1e-12
    assert main(["query", str(run), "--target", "lung"]) == 0
    assert "p(lung)" in capsys.readouterr().out
    assert main(["query", str(run), "--map", "--evidence", f"smoke={smoke}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["map"] == model.map_query(evidence={"smoke": smoke})


def test_cli_errors_are_one_line(asia_run, tmp_path, capsys):
    bif, _, rows, _, run = asia_run
    assert main(["query", str(run), "--target", "lung", "--evidence", "smoke=often"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no state 'often'" in err and len(err.splitlines()) == 1
    assert main(["query", str(run), "--target", "lung", "--evidence", "smoke"]) == 2
    assert "name=state" in capsys.readouterr().err
    bad = rows.head(6).astype(str)  # sample() gives categorical columns
    bad.loc[3, "dysp"] = "maybe"
    csv = tmp_path / "bad.csv"
    bad.to_csv(csv, index=False)
    assert main(["evaluate", str(run), "--data", str(csv)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'dysp'" in err and "'maybe'" in err and "line 5" in err and len(err.splitlines()) == 1
    assert main(["evaluate", str(tmp_path / "nowhere"), "--data", str(csv)]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main(["fit", str(bif), "--data", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "r2")]) == 2
    assert "no such data file" in capsys.readouterr().err
