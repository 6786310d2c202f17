"""The image commands end to end: ``pgm-ar fit/evaluate/sample/count`` on digit data."""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import torch

from conftest import REPO
from pgm_ar import training
from pgm_ar.cli import main
from pgm_ar.model import CompiledModel
from pgm_ar.datasets import load_embedded_digits

SPEC14 = REPO / "examples" / "specs" / "digit14_nade.yaml"
SPEC28 = REPO / "examples" / "specs" / "digit.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def spec_file(tmp_path, hidden=8, shape=(1, 14, 14), extra=""):
    path = tmp_path / f"digit_{hidden}_{shape[1]}.yaml"
    path.write_text(
        "name: d\nvariables:\n  - {name: label, type: categorical, states: 10}\n"
        f"  - {{name: digit, type: image, shape: {list(shape)}, levels: 2}}\n{extra}"
        "edges: [[label, digit]]\n"
        f"conditionals:\n  digit: {{family: nade, hidden: {hidden}}}\n")
    return path


def read_log(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fit_evaluate_and_sample_on_the_embedded_digits(tmp_path, capsys):
    run = tmp_path / "digits"
    assert main(["fit", str(SPEC14), "--data-dir", "embedded", "--out", str(run),
                 "--epochs", "2", "--max-train", "500", "--lr", "0.01", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "fitted 'digit14'" in out and "500 images" in out and "25,997 parameters" in out
    names = {p.name for p in run.iterdir()}
    assert {"model.pt", "fit_log.json", "train_log.csv", "train_log.json", "curves.png",
            "checkpoints", SPEC14.name} <= names
    assert (run / "checkpoints" / "checkpoint.pt").exists()
    assert (run / "curves.png").read_bytes()[:8] == PNG_MAGIC
    log = json.loads((run / "fit_log.json").read_text())
    assert log["train"] == 500 and log["valid"] == 500 and log["epochs_run"] == 2
    assert log["parameters"] == {"label": 9, "digit": 2 * 196 * 64 + 196 + 64 + 10 * 64}
    assert [int(r["epoch"]) for r in read_log(run / "train_log.csv")] == [1, 2]

    assert main(["evaluate", str(run), "--data-dir", "embedded", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    model = CompiledModel.load(run / "model.pt")
    x, y = load_embedded_digits("valid")
    marginal = -float(model.log_prob({"digit": x}).mean())       # label summed out
    joint = -float(model.log_prob({"digit": x, "label": y}).mean())
    assert res["n"] == 500
    assert abs(res["nll_nats"] - marginal) < 1e-6 and abs(res["nll_joint_nats"] - joint) < 1e-6
    assert abs(res["bits_per_dim"] - marginal / (196 * math.log(2))) < 1e-9
    assert abs(log["best_val_nll"] - joint) < 1e-3                # validation = this split
    assert main(["evaluate", str(run), "--data-dir", "embedded"]) == 0
    assert "bits/dim" in capsys.readouterr().out

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "-n", "30", "-o", str(grid), "--seed", "0"]) == 0
    assert "3 samples per label" in capsys.readouterr().out
    assert grid.read_bytes()[:8] == PNG_MAGIC
    for extra in (["--label", "3"], ["--evidence", "label=3"]):
        three = tmp_path / f"three{extra[0]}.png"
        assert main(["sample", str(run), "-n", "8", "-o", str(three), "--seed", "1", *extra]) == 0
        assert "given label=3" in capsys.readouterr().out
        assert three.read_bytes()[:8] == PNG_MAGIC
    assert main(["sample", str(run), "-n", "8", "-o", str(tmp_path / "s.csv")]) == 2
    assert "picture" in capsys.readouterr().err
    assert main(["sample", str(run), "-n", "8", "-o", str(grid)]) == 2
    assert "--force" in capsys.readouterr().err


def test_shape_and_network_mismatches_are_one_line_errors(tmp_path, capsys):
    assert main(["fit", str(SPEC28), "--data-dir", "embedded", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[1, 28, 28]" in err and "[1, 14, 14]" in err
    assert not (tmp_path / "r").exists()
    three = spec_file(tmp_path, extra="  - {name: other, type: bernoulli}\n")
    assert main(["fit", str(three), "--data-dir", "embedded", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'other'" in err
    assert main(["fit", str(spec_file(tmp_path, shape=(1, 28, 28))), "--data-dir",
                 str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "no such MNIST directory" in capsys.readouterr().err
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("label\n1\n")
    assert main(["fit", str(SPEC14), "--data", str(csv_file), "--out", str(tmp_path / "r")]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_counts_must_be_positive_and_say_which_option(tmp_path, capsys):
    run = str(tmp_path / "r")
    for argv, option in ((["fit", str(SPEC14), "--data-dir", "embedded", "--out", run,
                           "--epochs", "0"], "--epochs"),
                         (["fit", str(SPEC14), "--data-dir", "embedded", "--out", run,
                           "--batch-size", "-5"], "--batch-size"),
                         (["evaluate", run, "--data-dir", "embedded", "--batch-size", "0"],
                          "--batch-size"),
                         (["sample", run, "-n", "zero", "-o", "x.png"], "-n")):
        try:
            main(argv)
        except SystemExit as exc:  # argparse's usage error
            assert exc.code == 2
        else:
            raise AssertionError(f"{argv} was accepted")
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"argument {option}" in err and "positive integer" in err, err
    assert not (tmp_path / "r").exists()


def test_resume_continues_an_interrupted_run_bitwise(tmp_path, capsys, monkeypatch):
    spec = spec_file(tmp_path, hidden=8)
    args = ["--data-dir", "embedded", "--epochs", "4", "--max-train", "300", "--batch-size",
            "50", "--lr", "0.01", "--no-progress"]
    whole = tmp_path / "whole"
    assert main(["fit", str(spec), "--out", str(whole), *args]) == 0

    part = tmp_path / "part"
    original = training.History.to_csv

    def interrupt_after_epoch_2(self, path):  # the checkpoint of epoch 2 is already written
        if len(self.epoch) == 2:
            raise KeyboardInterrupt
        return original(self, path)

    monkeypatch.setattr(training.History, "to_csv", interrupt_after_epoch_2)
    assert main(["fit", str(spec), "--out", str(part), *args]) == 130
    monkeypatch.setattr(training.History, "to_csv", original)
    assert not (part / "model.pt").exists() and (part / "checkpoints" / "checkpoint.pt").exists()
    capsys.readouterr()
    assert main(["fit", str(spec), "--out", str(part), *args]) == 2      # no silent restart
    assert "--resume" in capsys.readouterr().err
    assert main(["fit", str(spec), "--out", str(part), "--resume", *args]) == 0
    a = CompiledModel.load(whole / "model.pt").state_dict()
    b = CompiledModel.load(part / "model.pt").state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows_whole, rows_part = read_log(whole / "train_log.csv"), read_log(part / "train_log.csv")
    assert [int(r["epoch"]) for r in rows_part] == [1, 2, 3, 4]
    assert [r["val_nll"] for r in rows_part] == [r["val_nll"] for r in rows_whole]
    assert json.loads((part / "fit_log.json").read_text())["resumed"] is True


def test_count_shows_module_parameters_in_closed_form(tmp_path, capsys):
    assert main(["count", str(SPEC14), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    D, H, K = 196, 64, 10
    assert data["compiled"]["per_variable"] == {"label": K - 1, "digit": 2 * D * H + D + H + K * H}
    assert data["compiled"]["total"] == K - 1 + 2 * D * H + D + H + K * H
    assert data["per_variable"]["label"] == 9 and data["per_variable"]["digit"] == 10 * 2 ** 196 - 10
    assert main(["count", str(SPEC14)]) == 0
    out = capsys.readouterr().out
    assert "nade(hidden=64)" in out and f"{2 * D * H + D + H + K * H:,}" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nvariables: [{name: a, type: bernoulli}]\nedges: []\n"
                   "conditionals: {a: {family: nade}}\n")
    assert main(["count", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'a'" in err and "NADE" in err


def test_count_without_neural_families_does_not_import_torch():
    code = ("import sys; from pgm_ar.cli import main; "
            f"rc = main(['count', {str(REPO / 'examples' / 'specs' / 'die.yaml')!r}]); "
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split()[-2:] == ["NO-TORCH", "0"]


def test_mnist_directory_fit_and_test_nll(tmp_path, capsys, mnist_dir):
    """The real MNIST files (when present; the test says why it skips otherwise)."""
    spec = spec_file(tmp_path, hidden=4, shape=(1, 28, 28))
    run = tmp_path / "mnist"
    assert main(["fit", str(spec), "--data-dir", str(mnist_dir), "--out", str(run), "--epochs",
                 "1", "--max-train", "200", "--lr", "0.01", "--no-progress"]) == 0
    log = json.loads((run / "fit_log.json").read_text())
    assert log["train"] == 200 and log["valid"] == 10_000 and "dynamic" in log["binarization"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data-dir", str(mnist_dir), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 10_000 and "seed 0" in res["data"]
    # an untrained-ish model is still far better than uniform pixels (784 ln 2 = 543 nats)
    assert 0 < res["nll_nats"] < 784 * math.log(2)
    assert abs(res["bits_per_dim"] - res["nll_nats"] / (784 * math.log(2))) < 1e-9
