"""The model commands end to end: fit, evaluate, sample and query on a shipped network."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pgm_ar.cli import main
from pgm_ar.model import CompiledModel, compile
from pgm_ar.io import read_bif
from oracles import joint_by_state_names

REPO = Path(__file__).resolve().parents[1]


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
    assert log["warnings"] == []
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
    # two epochs are not enough: said on stderr in one line each, and kept in the log
    err = capsys.readouterr().err
    assert "pgm-ar: warning: the fit is far from converged" in err
    assert log["warnings"] and all(w in err for w in log["warnings"])


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


# --------------------------------------------------------------------------- no fit needed
def brute_posterior(net, target, evidence):
    names, joint = joint_by_state_names(net)
    t = names.index(target)
    out = {s: 0.0 for s in net.variable(target).states}
    for assignment, p in joint.items():
        if all(assignment[names.index(k)] == v for k, v in evidence.items()):
            out[assignment[t]] += p
    z = sum(out.values())
    return {s: p / z for s, p in out.items()}


def test_query_sample_evaluate_take_an_example_name_without_a_fit(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    from pgm_ar.io.examples import example_network

    asia = example_network("asia")
    evidence = {"smoke": "yes", "dysp": "yes"}
    assert main(["query", "asia", "--target", "lung", "--evidence", "smoke=yes", "dysp=yes",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["marginals"]["lung"]
    for state, p in brute_posterior(asia, "lung", evidence).items():
        assert abs(res[state] - p) < 1e-12

    out = tmp_path / "given.csv"
    assert main(["sample", "asia", "-n", "3000", "-o", str(out), "--evidence", "dysp=yes",
                 "--seed", "0"]) == 0
    assert "3000 rows" in capsys.readouterr().out
    df = pd.read_csv(out, dtype=str)
    assert len(df) == 3000 and (df["dysp"] == "yes").all()
    p = brute_posterior(asia, "bronc", {"dysp": "yes"})["yes"]
    freq = float((df["bronc"] == "yes").mean())
    assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / 3000)  # exact sampling: within 4 sigma

    assert main(["evaluate", "asia", "--data", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    names, joint = joint_by_state_names(asia)
    expected = sum(np.log(joint[tuple(row[n] for n in names)]) for _, row in df.iterrows())
    assert res["rows"] == 3000 and abs(res["total_log_likelihood"] - expected) < 1e-6


def test_query_takes_files_with_cpts_and_refuses_those_without(tmp_path, capsys):
    from pgm_ar.io import example_path, load_spec

    spec = REPO / "examples" / "specs" / "sprinkler.yaml"  # a spec with every CPT
    assert main(["query", str(spec), "--target", "rain", "--evidence", "wet=wet",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["marginals"]["rain"]
    expect = brute_posterior(load_spec(spec).network, "rain", {"wet": "wet"})
    assert all(abs(res[s] - p) < 1e-12 for s, p in expect.items())
    bif = tmp_path / "alarm.bif.gz"  # a BIF file given by path
    bif.write_bytes(example_path("alarm").read_bytes())
    assert main(["query", str(bif), "--target", "HYPOVOLEMIA", "--json"]) == 0
    alarm = read_bif(bif)
    prior = alarm.cpd("HYPOVOLEMIA").probs  # a root: its marginal is its CPT
    res = json.loads(capsys.readouterr().out)["marginals"]["HYPOVOLEMIA"]
    assert alarm.parents("HYPOVOLEMIA") == ()
    assert np.allclose([res[s] for s in alarm.variable("HYPOVOLEMIA").states], prior, atol=1e-12)

    coins = REPO / "examples" / "specs" / "coins.yaml"  # structure only, no CPTs
    for argv in (["query", str(coins), "--target", "c1"],
                 ["sample", str(coins), "-n", "3", "-o", str(tmp_path / "s.csv")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "pgm-ar fit" in err and "coins.yaml" in err
    assert not (tmp_path / "s.csv").exists()
    assert main(["query", "alrm", "--target", "HR"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'alarm'" in err and "no such run directory" in err


def test_model_command_errors_name_options(tmp_path, capsys):
    spec = tmp_path / "lg.yaml"
    spec.write_text("variables: [a, b]\nedges: [[a, b]]\nconditionals: {b: logistic}\n")
    csv = tmp_path / "ab.csv"
    csv.write_text("a,b\n0,1\n1,1\n")
    assert main(["fit", str(spec), "--data", str(csv), "--out", str(tmp_path / "r"),
                 "--method", "counts"]) == 2
    err = capsys.readouterr().err
    assert "use --method svi" in err and "method=" not in err
    with pytest.raises(SystemExit):  # a usage error from argparse, naming the option
        main(["fit", str(spec), "--data", str(csv), "--out", str(tmp_path / "r"), "--lr", "-1"])
    assert "--lr" in capsys.readouterr().err
    empty = tmp_path / "mnist"
    empty.mkdir()
    assert main(["fit", str(REPO / "examples" / "specs" / "digit.yaml"), "--data-dir", str(empty),
                 "--out", str(tmp_path / "r28")]) == 2
    err = capsys.readouterr().err
    assert f"download_mnist('{empty}')" in err and "download=True" not in err
    assert not (tmp_path / "r28").exists()
