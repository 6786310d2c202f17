"""Large samples stream to the CSV in chunks; samples held in memory and picture grids are
refused over their budgets with the numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pgm_ar
from pgm_ar import cli_model
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError
from pgm_ar.limits import limits_raised


def test_api_sample_over_budget_refused_before_drawing():
    m = pgm_ar.compile(pgm_ar.example_network("asia"))
    with pytest.raises(PgmArError, match=r"8000000000 values is over the limit max_sample_values"):
        m.sample(1_000_000_000)


def test_cli_sample_streams_in_chunks(tmp_path, monkeypatch, capsys):
    """Chunked output has every row, the first chunk equals the one-call sample with the same
    seed, and the whole file's frequencies match the exact marginals."""
    monkeypatch.setattr(cli_model, "SAMPLE_CHUNK_VALUES", 8 * 1000)  # 1000 rows per chunk
    out = tmp_path / "s.csv"
    with limits_raised(max_sample_values=8 * 1000):  # in-memory budget: one chunk only
        assert main(["sample", "asia", "-n", "20000", "-o", str(out), "--seed", "3"]) == 0
    assert "in 20 chunks" in capsys.readouterr().out
    df = pd.read_csv(out, dtype=str)
    assert len(df) == 20000 and list(df.columns)[0] == "asia"
    m = pgm_ar.compile(pgm_ar.example_network("asia"))
    first = m.sample(1000, seed=3).astype(str).reset_index(drop=True)
    assert df.iloc[:1000].reset_index(drop=True).equals(first)
    exact = m.query("smoke")["yes"]
    freq = float((df["smoke"] == "yes").mean())
    assert abs(freq - exact) < 4 * np.sqrt(exact * (1 - exact) / len(df))
    # the chunks differ (independent seeds), not one chunk repeated
    assert not df.iloc[:1000].reset_index(drop=True).equals(df.iloc[1000:2000].reset_index(drop=True))


def test_cli_sample_failure_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_model, "SAMPLE_CHUNK_VALUES", 8 * 100)
    calls = {"n": 0}
    # a file with all its CPTs is sampled from its tables (TablesModel), without compiling
    from pgm_ar.tables_model import TablesModel

    real = TablesModel.sample

    def failing(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise PgmArError("simulated failure in chunk 3")
        return real(self, *a, **k)

    monkeypatch.setattr(TablesModel, "sample", failing)
    out = tmp_path / "s.csv"
    out.write_text("old\n")
    assert main(["sample", "asia", "-n", "1000", "-o", str(out), "--force"]) == 2
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def test_png_output_of_tabular_model_refused(tmp_path, capsys):
    assert main(["sample", "asia", "-n", "5", "-o", str(tmp_path / "x.png")]) == 2
    assert "no image variables" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_contradictory_cli_evidence_is_an_error(capsys):
    assert main(["query", "asia", "--target", "dysp", "--evidence", "smoke=yes",
                 "smoke=no"]) == 2
    assert "contradictory evidence" in capsys.readouterr().err
    assert main(["query", "asia", "--target", "dysp", "--evidence", "smoke=yes",
                 "smoke=yes"]) == 0


def test_picture_grid_over_budget_refused(tmp_path, capsys):
    spec = tmp_path / "img.yaml"
    spec.write_text("variables: [{name: x, type: image, shape: [2, 2]}]\n"
                    "structure: independent\nconditionals: {x: fvsbn}\n")
    data = tmp_path / "imgs.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 2, (20, 2, 2, 1)).astype(np.uint8) * 255)
    run = tmp_path / "run"
    code = main(["fit", str(spec), "--images", str(data), "--out", str(run), "--epochs", "1",
                 "--no-progress"])
    if code != 0:
        pytest.fail(capsys.readouterr().err)
    capsys.readouterr()
    with limits_raised(max_grid_images=50):
        assert main(["sample", str(run), "-n", "100000", "-o", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "100000 pictures is over the limit max_grid_images = 50" in err
