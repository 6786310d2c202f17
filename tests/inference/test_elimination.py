"""Running elimination plans: factor products against plain numpy broadcasting, and the
rescaled rerun on evidence whose probability underflows float64."""
from __future__ import annotations

import math

import numpy as np
import torch

from pgm_ar import BayesNet, Bernoulli, TabularCPD
from pgm_ar import inference as inf
from pgm_ar.inference.elimination import multiply_out
from oracles import broadcast_product


def test_products_of_many_factors_equal_broadcasting():
    # 40 factors (more than one einsum takes) over 6 labels, some summed out; scaled or not
    rng = np.random.default_rng(0)
    cards = [2, 3, 2, 2, 3, 2]
    subs, arrays = [], []
    for _ in range(40):
        s = tuple(sorted(rng.choice(6, size=int(rng.integers(1, 4)), replace=False).tolist()))
        s = tuple(rng.permutation(s).tolist())
        subs.append(s)
        arrays.append(rng.random([cards[i] for i in s]) + 0.1)
    out = (4, 1)
    expected = broadcast_product(arrays, subs, out, 6)
    got, log_scale = multiply_out(arrays, subs, out)
    assert log_scale == 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    scaled, log_scale = multiply_out(arrays, subs, out, scaled=True)
    assert scaled.max() == 1.0
    np.testing.assert_allclose(scaled * math.exp(log_scale), expected, rtol=1e-10)


def test_underflowing_evidence_is_rescaled():
    # a root with 400 children all observed at an unlikely state: p(evidence) ~ 1e-800
    kids = [Bernoulli(f"c{i}") for i in range(400)]
    cpds = {"z": TabularCPD("z", (), [0.7, 0.3])}
    for k in kids:
        cpds[k.name] = TabularCPD(k.name, ("z",), [[0.99, 0.01], [0.98, 0.02]])
    net = BayesNet([Bernoulli("z")] + kids, [("z", k.name) for k in kids], cpds)
    tables = inf.tables_from_net(net)
    evidence = {k.name: 1 for k in kids}
    log_post = np.log([0.7, 0.3]) + 400 * np.log([0.01, 0.02])
    expected = np.exp(log_post - np.logaddexp.reduce(log_post))
    np.testing.assert_allclose(inf.query(net, tables, "z", evidence).numpy(), expected, atol=1e-12)
    assert math.isclose(inf.log_evidence(net, tables, evidence),
                        float(np.logaddexp.reduce(log_post)), rel_tol=1e-12)
    assert inf.map_query(net, tables, evidence=evidence) == {"z": 1}
    gen = torch.Generator().manual_seed(0)
    s = inf.posterior_sample(net, tables, 1000, evidence, generator=gen)
    assert torch.all(s["z"] == 1)  # p(z=0 | e) is about 1e-120
