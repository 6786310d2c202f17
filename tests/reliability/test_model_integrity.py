"""Model files prove their integrity: a changed byte, a non-finite weight, a missing or mistyped
key or a crafted archive is refused with a PgmArError; old files without a checksum load with a
warning."""
from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile

import pytest
import torch

import pgm_ar
from pgm_ar.errors import PgmArError
from pgm_ar.limits import limits_raised
from pgm_ar.model.persistence import FORMAT, MAGIC, encode_model_file


@pytest.fixture(scope="module")
def asia_file(tmp_path_factory):
    m = pgm_ar.compile(pgm_ar.example_network("asia"))
    path = tmp_path_factory.mktemp("m") / "model.pt"
    m.save(path)
    return m, path


def _same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return (a.net.names == b.net.names and a.net.edges == b.net.edges
            and {k: f.to_spec() for k, f in a.families.items()}
            == {k: f.to_spec() for k, f in b.families.items()}
            and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa))


@pytest.mark.parametrize("mask", [0xFF, 0x01])
def test_no_single_byte_change_loads_with_other_numbers(asia_file, monkeypatch, mask):
    """Every byte of a saved asia changed in turn: each load is refused or gives the same
    model.  The file's bytes are handed to the loader in memory (the same path as from disk,
    thousands of times without thousands of disk writes)."""
    from pgm_ar.model import persistence

    model, path = asia_file
    raw = path.read_bytes()
    current = {"bytes": raw}
    monkeypatch.setattr(persistence, "read_input_bytes", lambda p, what="": current["bytes"])
    target = path
    loaded = refused = 0
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= mask
        current["bytes"] = bytes(damaged)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a flip into "old format" must not load quietly
                other = pgm_ar.load_model(target)
        except (PgmArError, UserWarning):
            refused += 1
            continue
        loaded += 1
        assert _same(model, other), f"byte {i} ^ {mask:#x} loaded with changed numbers"
    assert refused + loaded == len(raw) and refused > 0.99 * len(raw)


def test_checksum_mismatch_names_it(asia_file, tmp_path):
    _, path = asia_file
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0x20
    bad = tmp_path / "m.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(PgmArError, match="SHA-256 of the payload"):
        pgm_ar.load_model(bad)
    bad.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(PgmArError, match="truncated or appended"):
        pgm_ar.load_model(bad)


def _rewrite(path, tmp_path, edit):
    """The file at ``path`` with its payload dict edited and a valid checksum (as a crafted
    file would have)."""
    raw = path.read_bytes()
    payload_bytes = raw[raw.index(b"\n", len(MAGIC)) + 1:]
    payload = torch.load(io.BytesIO(payload_bytes), weights_only=True)
    edit(payload)
    buf = io.BytesIO()
    torch.save(payload, buf)
    out = tmp_path / "crafted.pt"
    out.write_bytes(encode_model_file(buf.getvalue()))
    return out


def test_non_finite_weight_refused_with_its_name(asia_file, tmp_path):
    _, path = asia_file

    def poison(p):
        key = next(k for k, v in p["state_dict"].items() if v.is_floating_point())
        p["state_dict"][key] = p["state_dict"][key].clone()
        p["state_dict"][key].view(-1)[0] = float("nan")

    bad = _rewrite(path, tmp_path, poison)
    key = next(k for k, v in pgm_ar.load_model(path).state_dict().items()
               if v.is_floating_point())
    with pytest.raises(PgmArError, match=rf"weight '{key}' holds 1 non-finite"):
        pgm_ar.load_model(bad)


@pytest.mark.parametrize("edit, match", [
    (lambda p: p.pop("network"), "'network' is missing"),
    (lambda p: p.update(families=[1, 2]), "'families' must be a mapping"),
    (lambda p: p.update(state_dict={"x": 3}), "not a tensor"),
    (lambda p: p.update(network={"variables": 5}), "saved network is not valid"),
    (lambda p: p.update(families={"asia": {"family": "nope"}}), "families are not valid"),
    (lambda p: p["state_dict"].popitem(), "missing"),
    (lambda p: p["state_dict"].update({k: torch.zeros(3) for k in list(p["state_dict"])[:1]}),
     "has shape"),
])
def test_missing_or_mistyped_keys_refused(asia_file, tmp_path, edit, match):
    _, path = asia_file
    with pytest.raises(PgmArError, match=match):
        pgm_ar.load_model(_rewrite(path, tmp_path, edit))


def test_crafted_archive_sizes_checked_before_reading(tmp_path):
    """A tiny archive whose entry expands to megabytes (or declares more than the budget) is
    refused from its directory, before torch reads it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data/0", b"\0" * 5_000_000)
    crafted = tmp_path / "model.pt"
    crafted.write_bytes(encode_model_file(buf.getvalue()))
    assert crafted.stat().st_size < 10_000
    with pytest.raises(PgmArError, match="compressed"):
        pgm_ar.load_model(crafted)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data/0", b"\0" * 5_000_000)
    crafted.write_bytes(encode_model_file(buf.getvalue()))
    with limits_raised(max_file_bytes=4_000_000):
        with pytest.raises(PgmArError, match="max_file_bytes"):
            pgm_ar.load_model(crafted)


def test_old_files_without_checksum_load_with_a_warning(asia_file, tmp_path):
    model, path = asia_file
    raw = path.read_bytes()
    old = tmp_path / "old.pt"
    old.write_bytes(raw[raw.index(b"\n", len(MAGIC)) + 1:])  # the bare torch.save archive
    with pytest.warns(UserWarning, match="without a checksum"):
        again = pgm_ar.load_model(old)
    assert _same(model, again)
    again.save(old)
    assert old.read_bytes().startswith(MAGIC)


def test_file_starts_with_magic_and_header(asia_file):
    _, path = asia_file
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    end = raw.index(b"\n", len(MAGIC))
    header = json.loads(raw[len(MAGIC):end])
    payload = raw[end + 1:]
    assert header["payload_bytes"] == len(payload)
    assert header["sha256"] == hashlib.sha256(payload).hexdigest()
    assert torch.load(io.BytesIO(payload), weights_only=True)["format"] == FORMAT


def test_save_to_a_directory_or_through_a_file_refused(asia_file, tmp_path):
    model, _ = asia_file
    with pytest.raises(PgmArError, match="is a directory"):
        model.save(tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(PgmArError, match="is a file, not a directory"):
        model.save(tmp_path / "f" / "sub" / "model.pt")
