"""Data for the loop: the forms accepted, their checks, and the shards of a global batch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from pgm_ar.errors import DataError
from pgm_ar.training.data import (Batches, as_source, batch_len, num_dims, part_bounds, shard,
                                  shard_source)


def _batches(data, **kw):
    args = dict(shuffle=True, seed=4, num_workers=0, pin_memory=False, preload=False)
    args.update(kw)
    return Batches(as_source(data, "training"), 7, torch.device("cpu"), **args)


def test_every_form_gives_the_same_batches():
    x = torch.arange(40.0).reshape(20, 2)
    ref = [b for b in _batches(x).epoch(1)]
    assert [len(b) for b in ref] == [7, 7, 6]
    assert torch.equal(torch.cat(ref).sort(0).values, x)  # a permutation of the rows
    for data in (x.numpy(), TensorDataset(x), torch.utils.data.Subset(x, range(20))):
        got = list(_batches(data).epoch(1))
        assert all(torch.equal(a, b) for a, b in zip(ref, got))
    preloaded = list(_batches(x, preload=True).epoch(1))
    assert all(torch.equal(a, b) for a, b in zip(ref, preloaded))
    assert not torch.equal(torch.cat(ref), torch.cat(list(_batches(x).epoch(2))))
    d = next(iter(_batches({"a": x, "b": x[:, 0].long()}).epoch(1)))
    assert torch.equal(d["a"][:, 0].long(), d["b"]) and batch_len(d) == 7 and num_dims(d) == 3


def test_forms_refused_name_the_problem():
    with pytest.raises(DataError, match="type list"):
        as_source([[0.0]], "training")
    with pytest.raises(DataError, match="validation data is empty"):
        as_source(torch.zeros(0, 3), "validation")
    with pytest.raises(DataError, match="empty dict"):
        as_source({}, "training")
    with pytest.raises(DataError, match="column 'b'.*a dict of tensors"):
        as_source({"a": torch.zeros(2), "b": [1, 2]}, "training")
    with pytest.raises(DataError, match=r"column 'b'.*same first \(batch\) dimension"):
        as_source({"a": torch.zeros(2), "b": np.zeros(3)}, "training")


def test_shards_cover_a_batch_in_order():
    batch = {"x": torch.arange(10)}
    parts = [shard(batch, r, 3) for r in range(3)]
    assert torch.equal(torch.cat([p["x"] for p in parts]), batch["x"])
    assert [len(p["x"]) for p in parts] == [4, 3, 3]
    assert shard(torch.arange(1), 1, 2) is None
    src = as_source(torch.arange(5.0).unsqueeze(1), "validation")
    assert shard_source(src, 5, 6) is None and shard_source(src, 0, 2).n == 3
    for n in range(9):
        for world in range(1, 5):
            bounds = [part_bounds(n, r, world) for r in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert max(b - a for a, b in bounds) - min(b - a for a, b in bounds) <= 1
