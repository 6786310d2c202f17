"""Every numbered example runs with ``--tiny`` and shows what it says it shows.

Each example is loaded from ``examples/NN_name.py`` and its ``main`` called with ``--tiny``
and ``--out`` in a temporary folder; its returned numbers are checked against independent
computations (brute-force counts, closed forms, the true network) where that is cheap.
"""
from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np

from conftest import REPO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXAMPLES = REPO / "examples"


def load_example(stem):
    spec = importlib.util.spec_from_file_location(f"example_{stem}", EXAMPLES / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(stem, tmp_path, *extra):
    out = tmp_path / stem
    res = load_example(stem).main(["--tiny", "--out", str(out), *extra])
    assert json.loads((out / "result.json").read_text()) == json.loads(json.dumps(res))
    return res, out


def test_examples_are_numbered_one_idea_each_with_tiny_and_out():
    stems = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    assert [s[:2] for s in stems] == [f"{i:02d}" for i in range(1, 11)]
    for stem in stems:
        text = (EXAMPLES / f"{stem}.py").read_text()
        assert "--tiny" in text and '"--out"' in text and "examples_output/" in text, stem
    assert "/examples_output/" in (REPO / ".gitignore").read_text().split()


def test_01_coins_and_dice(tmp_path, capsys):
    res, _ = run("01_coins_and_dice", tmp_path)
    assert res["coins_chain_rule"] == 2 ** 3 - 1 and res["coins_markov"] == 1 + 2 + 2
    assert res["dice_independent"] == 5 + 5 and res["chain_rule_error"] < 1e-15
    assert res["statements"] == {"x3 ⊥ x1 | x2": True, "x3 ⊥ x1": False}
    assert "35 free parameters" in capsys.readouterr().out


def test_02_counting(tmp_path, capsys):
    res, _ = run("02_counting", tmp_path)
    for n in (3, 10):
        counts = {k: int(v) for k, v in res[str(n)].items()}
        assert counts["chain rule"] == 2 ** n - 1 and counts["independent"] == n
        for k in (1, 2, 3):   # sum over nodes of 2^(number of parents)
            assert counts[f"Markov k={k}"] == sum(2 ** min(i, k) for i in range(n))
    assert res["declared"] == 1 + 2 + 4 + 2
    assert "Markov k=1" in capsys.readouterr().out


def test_03_independence_asia(tmp_path):
    from pgm_ar import example_network

    res, _ = run("03_independence_asia", tmp_path)
    net = example_network("asia")
    for v, blanket in res["markov_blankets"].items():   # parents, children, co-parents
        kids = set(net.children(v))
        expected = set(net.parents(v)) | kids | {p for c in kids for p in net.parents(c)}
        assert set(blanket) == expected - {v}
    assert res["answers"]["tub ⊥ smoke"] and not res["answers"]["tub ⊥ smoke | dysp"]
    t, td = res["p_tub_given_smoke"], res["p_tub_given_smoke_dysp"]
    assert abs(t["yes"] - t["no"]) < 1e-12 and abs(td["yes"] - td["no"]) > 1e-3


def test_04_alarm_fit_sample_query(tmp_path):
    res, out = run("04_alarm_fit_sample_query", tmp_path)
    assert res["rows"] == 2000 and (out / "alarm_rows.csv").read_text().count("\n") == 2001
    assert math.isfinite(res["ll_fitted"]) and res["ll_fitted"] < res["ll_true"] + 0.05
    assert res["ll_true"] - res["ll_fitted"] < 0.5
    for s, p in res["query_true"].items():
        assert abs(p - res["query_fitted"][s]) < 0.1


def test_05_mnist_nade(tmp_path, capsys):
    res = load_example("05_mnist_nade").main(["--tiny", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    D, H, K = 196, 32, 10
    assert res["parameters"] == 9 + 2 * D * H + D + H + K * H and "test NLL" in out
    assert res["n_test"] == 500 and 0 < res["nll_nats"] < res["nll_joint_nats"]
    assert abs(res["bits_per_dim"] - res["nll_nats"] / (D * math.log(2))) < 1e-12
    assert (tmp_path / "samples.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "curves.png").exists() and (tmp_path / "train_log.csv").exists()


def test_06_orderings_compared(tmp_path):
    res, _ = run("06_orderings_compared", tmp_path)
    assert set(res) == {"Markov k=1", "NADE"}
    for row in res.values():
        assert set(row) == {"raster", "random(0)"}
        # every model beats independent fair coins (196 log 2 nats) after one epoch
        assert all(0 < v < 196 * math.log(2) for v in row.values())


def test_07_class_conditional(tmp_path):
    res, out = run("07_class_conditional", tmp_path, "--per-class", "3")
    assert (out / "samples.png").read_bytes()[:8] == PNG_MAGIC
    assert len(res["recovered"]) == 10
    # fractions of the 3 samples per label (float32 means)
    assert all(abs(3 * r - round(3 * r)) < 1e-6 and 0 <= r <= 1 for r in res["recovered"])
    assert abs(res["mean_recovered"] - sum(res["recovered"]) / 10) < 1e-12


def test_08_anomaly_detection(tmp_path, capsys):
    mod = load_example("08_anomaly_detection")
    # the rank formula against a direct count of (anomaly, normal) pairs, ties counted half
    gen = np.random.default_rng(0)
    a, b = gen.integers(0, 5, 40).astype(float), gen.integers(1, 7, 30).astype(float)
    pairs = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
    assert abs(mod.auroc(a, b) - pairs) < 1e-12
    res = mod.main(["--tiny", "--out", str(tmp_path)])
    assert "AUROC" in capsys.readouterr().out
    assert res["noise"]["nade"] > 0.9 and res["inverted"]["nade"] > 0.9
    assert set(res) == {"noise", "flip03", "shuffled", "spliced", "inverted"}


def test_09_representation_learning(tmp_path, capsys):
    res = load_example("09_representation_learning").main(["--tiny", "--out", str(tmp_path)])
    assert "NADE features" in capsys.readouterr().out
    assert res["chance"] < 0.2
    assert res["nade_features"] > res["chance"] + 0.4 and res["raw_pixels"] > res["chance"] + 0.4


def test_10_pixelrnn_contexts(tmp_path, capsys):
    res, out = run("10_pixelrnn_contexts", tmp_path)
    r, c = res["pixel"]
    earlier = r * 10 + c                       # raster order on the 10x10 image
    ctx = res["contexts"]
    for name, counts in ctx.items():
        assert (out / f"context_{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert counts["depends"] + counts["blind"] + counts["out_of_reach"] == earlier, name
        assert counts["future_depends"] == 0, name
    assert ctx["diagbilstm"]["depends"] == earlier          # every earlier pixel
    assert ctx["pixelcnn"]["blind"] > 0 and ctx["gated_pixelcnn"]["blind"] == 0
    assert ctx["rowlstm"]["blind"] > 0                      # the triangle misses some
    assert 0 < res["gated_pixelcnn_nll"] < 196 * math.log(2)
    assert re.search(r"Diagonal BiLSTM context of x\[5, 5\]", capsys.readouterr().out)
