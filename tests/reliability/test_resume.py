"""Resume only the same run, from a checkpoint that proves its integrity.

A checkpoint records the run (trajectory settings, the model's network and families, the
data's fingerprint, the transform); resuming with anything different is refused with every
difference named, and nothing the user had is changed.  A truncated or changed checkpoint is
refused with its name, never unpickled into a torch traceback.
"""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
import torch
from torch import nn

import pgm_ar
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError
from pgm_ar.training import CHECKPOINT_NAME, fit
from pgm_ar.training.checkpoint import read_checkpoint


def _files(root):
    """Every file under ``root`` with the SHA-256 of its bytes (what the user has)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _spec(tmp_path, name, ordering="raster", activation="sigmoid"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "name: d\nvariables:\n  - {name: label, type: categorical, states: 10}\n"
        f"  - {{name: digit, type: image, shape: [1, 14, 14], levels: 2, "
        f"ordering: {ordering}}}\n"
        "edges: [[label, digit]]\n"
        f"conditionals:\n  digit: {{family: nade, hidden: 4, activation: {activation}}}\n")
    return path


ARGS = ["--data-dir", "embedded", "--epochs", "1", "--batch-size", "50", "--lr", "0.01",
        "--no-progress"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A fitted 14x14 digit run with its checkpoint (one epoch on 100 images)."""
    tmp = tmp_path_factory.mktemp("run")
    run = tmp / "run"
    assert main(["fit", str(_spec(tmp, "base")), "--out", str(run), "--max-train", "100",
                 *ARGS]) == 0
    assert (run / "checkpoints" / CHECKPOINT_NAME).exists()
    return tmp, run


@pytest.mark.parametrize("change, spec_kw, max_train, expected", [
    ("ordering", {"ordering": "snake"}, "100",
     ["network.digit.ordering: raster in the checkpoint, snake in this run"]),
    ("activation and data", {"activation": "relu"}, "50",
     ["families.digit.activation: sigmoid in the checkpoint, relu in this run",
      "training data.examples: 100 in the checkpoint, 50 in this run"]),
])
def test_cli_resume_refuses_another_run_naming_each_difference(image_run, capsys, change,
                                                               spec_kw, max_train, expected):
    tmp, run = image_run
    spec = _spec(tmp, f"changed_{change.split()[0]}", **spec_kw)
    before = _files(run)
    capsys.readouterr()
    code = main(["fit", str(spec), "--out", str(run), "--resume", "--max-train", max_train,
                 *ARGS])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot resume" in err
    for text in expected:
        assert text in err
    assert _files(run) == before  # the run, its checkpoint and model untouched


def test_cli_resume_with_other_settings_names_them(image_run, capsys):
    tmp, run = image_run
    spec = _spec(tmp, "same")
    before = _files(run)
    capsys.readouterr()
    args = [a if a != "0.01" else "0.02" for a in ARGS]
    code = main(["fit", str(spec), "--out", str(run), "--resume", "--max-train", "100",
                 "--seed", "7", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert "lr: 0.01 in the checkpoint, 0.02 in this run" in err
    assert "seed: 0 in the checkpoint, 7 in this run" in err
    assert _files(run) == before


@pytest.mark.filterwarnings("ignore::pgm_ar.errors.FitWarning")
def test_api_resume_refuses_other_data_or_network(tmp_path):
    net = pgm_ar.example_network("asia")
    rows = pgm_ar.compile(net).sample(120, seed=1)
    kw = dict(method="svi", epochs=1, batch_size=60, progress=False, device="cpu",
              checkpoint_dir=tmp_path)
    pgm_ar.compile(net).fit(rows, **kw)
    ckpt = read_checkpoint(tmp_path / CHECKPOINT_NAME)
    # the recorded fingerprint is the data's: examples and a SHA-256 that an independent
    # re-encoding of other rows does not give
    assert ckpt["identity"]["training data"]["examples"] == 120
    other = rows.copy()
    other.loc[0, "smoke"] = "no" if other.loc[0, "smoke"] == "yes" else "yes"
    with pytest.raises(PgmArError, match=r"training data\.sha256: \w+ in the checkpoint, "
                                         r"\w+ in this run"):
        pgm_ar.compile(net).fit(other, resume=True, **kw)
    # the same CPT shapes, another structure: the network difference is named
    swapped = pgm_ar.BayesNet(net.variables, [(a, b) if (a, b) != ("asia", "tub")
                                              else ("smoke", "tub") for a, b in net.edges])
    with pytest.raises(PgmArError, match=r"network\.tub\.parents: \['asia'\] in the "
                                         r"checkpoint, \['smoke'\] in this run"):
        pgm_ar.compile(swapped).fit(rows, resume=True, **kw)
    # the same run resumes (and goes on from epoch 1)
    h = pgm_ar.compile(net).fit(rows, resume=True, **{**kw, "epochs": 2})
    assert h.epoch == [1, 2]


class _Tiny(nn.Module):
    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 4), act, nn.Linear(4, 1))

    def log_prob(self, x):
        return -(self.net(x).squeeze(-1) - x.sum(-1)) ** 2


def test_generic_module_described_by_its_layers(tmp_path):
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    kw = dict(epochs=1, batch_size=20, device="cpu", progress=False, checkpoint_dir=tmp_path)
    fit(_Tiny(nn.Tanh()), x, **kw)
    with pytest.raises(PgmArError, match=r"model\.module: .*Tanh.* in the checkpoint, "
                                         r".*ReLU.* in this run"):
        fit(_Tiny(nn.ReLU()), x, resume=True, **kw)


@pytest.fixture()
def checkpoint(tmp_path):
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    kw = dict(epochs=1, batch_size=20, device="cpu", progress=False, checkpoint_dir=tmp_path,
              lr_schedule=None)  # constant: the number of epochs may grow on resume
    fit(_Tiny(nn.Tanh()), x, **kw)
    return tmp_path / CHECKPOINT_NAME, x, kw


def test_truncated_or_flipped_checkpoint_refused_by_name(checkpoint):
    path, x, kw = checkpoint
    good = path.read_bytes()
    reference = read_checkpoint(path)["model"]
    header_end = good.index(b"\n", len(b"PGM_AR CHECKPOINT\n")) + 1
    # a byte flipped anywhere in the payload (evenly spread positions), or the file cut short
    positions = range(header_end, len(good), max(1, (len(good) - header_end) // 40))
    for pos in positions:
        bad = bytearray(good)
        bad[pos] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(PgmArError, match=rf"{path.name}: damaged checkpoint: SHA-256"):
            fit(_Tiny(nn.Tanh()), x, resume=True, **kw)
        assert path.read_bytes() == bytes(bad)  # the refused file is left as it was
    for cut in (len(good) - 1, len(good) // 2, header_end, 10):
        path.write_bytes(good[:cut])
        with pytest.raises(PgmArError, match=rf"{path.name}: damaged checkpoint"):
            read_checkpoint(path)
    path.write_bytes(good)  # intact again: it reads back with the same weights
    again = read_checkpoint(path)["model"]
    assert all(torch.equal(again[k], reference[k]) for k in reference)


def test_old_checkpoint_without_checksum_loads_with_a_warning(checkpoint):
    path, x, kw = checkpoint
    raw = path.read_bytes()
    payload = raw[raw.index(b"\n", len(b"PGM_AR CHECKPOINT\n")) + 1:]
    assert zipfile.is_zipfile(io.BytesIO(payload))
    path.write_bytes(payload)  # a bare torch.save archive, as older versions wrote
    with pytest.warns(UserWarning, match="without a checksum"):
        h = fit(_Tiny(nn.Tanh()), x, resume=True, **{**kw, "epochs": 2})
    assert h.epoch == [1, 2]
    assert path.read_bytes().startswith(b"PGM_AR CHECKPOINT\n")  # rewritten sealed


def test_checkpoint_with_missing_keys_is_named(checkpoint):
    path, x, kw = checkpoint
    from pgm_ar.training.checkpoint import save_checkpoint

    state = read_checkpoint(path)
    del state["optimizer"]
    save_checkpoint(path, state)
    with pytest.raises(PgmArError, match="'optimizer' is NoneType, not dict"):
        fit(_Tiny(nn.Tanh()), x, resume=True, **kw)


def test_cli_resume_from_a_damaged_checkpoint_changes_nothing(image_run, capsys):
    tmp, run = image_run
    ckpt = run / "checkpoints" / CHECKPOINT_NAME
    good = ckpt.read_bytes()
    bad = bytearray(good)
    bad[len(good) // 2] ^= 0x40
    ckpt.write_bytes(bytes(bad))
    try:
        before = _files(run)
        capsys.readouterr()
        code = main(["fit", str(_spec(tmp, "base2")), "--out", str(run), "--resume",
                     "--max-train", "100", *ARGS])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert f"{ckpt.name}: damaged checkpoint: SHA-256" in err and "Traceback" not in err
        assert _files(run) == before  # the damaged file too: the user's to inspect
    finally:
        ckpt.write_bytes(good)
