"""The loop's columns: checked, compact, with missing values kept or refused."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, DataError, Gaussian, Image
from pgm_ar.model import compile
from pgm_ar.model.loop_data import loop_columns, marginalised


def model():
    net = BayesNet([Categorical("label", 3), Bernoulli("flag"), Gaussian("size"),
                    Image("digit", shape=(1, 2, 2))], [("label", "digit")])
    return compile(net, {"digit": {"family": "nade", "hidden": 3}})


def test_missing_values_are_kept_or_refused():
    m = model()
    x = torch.zeros(3, 1, 2, 2)
    data = {"label": [0, np.nan, 2], "size": [1.0, 2.0, 3.0], "digit": x}
    cols = loop_columns(m, data, "training", keep_missing=True)
    assert cols["label"].tolist() == [0, -1, 2] and "flag" not in cols  # flag: latent
    assert cols["digit"].dtype == torch.uint8 and cols["size"].dtype == m.dtype
    assert marginalised(m, cols) == ("label", "flag")
    with pytest.raises(DataError, match="'flag'.*missing column"):
        loop_columns(m, data, "training")
    with pytest.raises(DataError, match="'label'.*missing values"):
        loop_columns(m, dict(data, flag=[0, 1, 1]), "training")
    complete = loop_columns(m, dict(data, flag=[0, 1, 1], label=[0, 1, 2]), "training")
    assert marginalised(m, complete) == ()
    # grey images for a transform: only their shape is checked; the gaps are kept likewise
    raw = loop_columns(m, dict(data, digit=x + 0.5), "training", raw_images=True,
                       keep_missing=True)
    assert raw["digit"].dtype == torch.float32 and raw["label"].tolist() == [0, -1, 2]
    with pytest.raises(DataError, match="'label'.*missing values"):
        loop_columns(m, dict(data, flag=[0, 1, 1], digit=x + 0.5), "training", raw_images=True)
    with pytest.raises(DataError, match="'size'.*missing column"):
        loop_columns(m, {"digit": x}, "training", keep_missing=True)
