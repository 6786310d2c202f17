"""``pgm-ar query MODEL --data rows.csv --target T``: one posterior per row, written as a CSV
(atomically, never over an existing file without --force), checked against brute-force
enumeration of asia's joint; impossible rows are an error naming the file's line."""
from __future__ import annotations

import itertools

import pandas as pd
import pytest

from pgm_ar.cli import main
from pgm_ar.io.examples import example_network


def brute_posterior(net, target, evidence):
    """p(target | evidence) by summing asia's joint, one assignment at a time."""
    names = net.names
    totals = dict.fromkeys(net.variable(target).states, 0.0)
    for states in itertools.product(*[net.variable(n).states for n in names]):
        row = dict(zip(names, states))
        if any(row[k] != v for k, v in evidence.items()):
            continue
        p = 1.0
        for n in names:
            idx = tuple(net.variable(q).states.index(row[q]) for q in net.parents(n))
            p *= float(net.cpd(n).probs[idx + (net.variable(n).states.index(row[n]),)])
        totals[row[target]] += p
    z = sum(totals.values())
    return {s: p / z for s, p in totals.items()}


ROWS = "smoke,dysp,xray,lung\nyes,,,\n,yes,no,yes\n,,,\nno,yes,yes,no\n"


def test_posteriors_per_row_to_a_csv(tmp_path, capsys):
    asia = example_network("asia")
    data = tmp_path / "rows.csv"
    data.write_text(ROWS)
    out = tmp_path / "post.csv"
    assert main(["query", "asia", "--data", str(data), "--target", "lung", "-o", str(out)]) == 0
    assert "4 rows" in capsys.readouterr().out
    got = pd.read_csv(out)
    assert list(got.columns) == list(asia.variable("lung").states)
    rows = pd.read_csv(data, dtype=str, keep_default_na=False)
    for (_, row), (_, post) in zip(rows.iterrows(), got.iterrows()):
        ev = {k: v for k, v in row.items() if v and k != "lung"}  # the target's column ignored
        for state, p in brute_posterior(asia, "lung", ev).items():
            assert post[state] == pytest.approx(p, abs=1e-12)
    # an existing output is kept unless --force
    before = out.read_text()
    assert main(["query", "asia", "--data", str(data), "--target", "tub", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == before
    assert main(["query", "asia", "--data", str(data), "--target", "tub", "-o", str(out),
                 "--force"]) == 0
    assert list(pd.read_csv(out).columns) == list(asia.variable("tub").states)
    # without -o: the CSV on standard output
    capsys.readouterr()
    assert main(["query", "asia", "--data", str(data), "--target", "lung"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(asia.variable("lung").states)


def test_impossible_rows_and_misuse_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "rows.csv"
    data.write_text("tub,either\nyes,yes\nyes,no\n")  # line 3: tub=yes forces either=yes
    assert main(["query", "asia", "--data", str(data), "--target", "lung"]) == 2
    err = capsys.readouterr().err
    assert "probability zero" in err and "line 3" in err and "tub" in err
    assert main(["query", "asia", "--data", str(data)]) == 2
    assert "exactly one --target" in capsys.readouterr().err
    assert main(["query", "asia", "--data", str(data), "--target", "lung", "--map"]) == 2
    assert "--map" in capsys.readouterr().err
    assert main(["query", "asia", "--target", "lung", "-o", str(tmp_path / "x.csv")]) == 2
    assert "--data" in capsys.readouterr().err
