"""compare_structures against independent computations: the compiled model's log_prob, a
direct count formula, a by-hand k-fold with pandas, and pgm_ar's parameter counts."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import pgm_ar
from pgm_ar.errors import PgmArError
from pgm_ar.learning import fit_cpts_by_counts
from pgm_ar.learning.compare import compare_structures, kfold_indices
from pgm_ar.learning.scores import Score
from tests.learning.forward import forward_codes, to_frame


@pytest.fixture(scope="module")
def asia_rows():
    net = pgm_ar.example_network("asia")
    return net, to_frame(forward_codes(net, 3000, seed=21))


@pytest.mark.parametrize("n,k,seed", [(10, 3, 0), (101, 5, 1), (7, 7, 2), (1000, 10, 3)])
def test_kfold_splits_cover_every_row_once(n, k, seed):
    parts = kfold_indices(n, k, seed)
    assert len(parts) == k
    every = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(every, np.arange(n))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert [p.tolist() for p in kfold_indices(n, k, seed)] == [p.tolist() for p in parts]


def test_loglik_matches_the_compiled_models_log_prob(asia_rows):
    net, df = asia_rows
    table = compare_structures(net, df, folds=3, learned=False)
    row = table.row("declared")
    model = pgm_ar.compile(net)
    model.fit(df, method="counts")  # the compiled model's own maximum-likelihood fit
    expected = float(model.log_prob(df).sum())
    # and the same through this package's count fit
    assert float(pgm_ar.compile(fit_cpts_by_counts(net, df)).log_prob(df).sum()) == \
        pytest.approx(expected, rel=1e-12)
    assert row.loglik == pytest.approx(expected, rel=1e-9)
    assert row.parameters == pgm_ar.count_parameters(net).total
    assert row.bic == pytest.approx(expected - 0.5 * math.log(len(df)) * row.parameters, rel=1e-9)
    assert row.bdeu == pytest.approx(Score(df, "bdeu", net=net).network(net), rel=1e-9)


def _freq_loglik(df, cols):
    counts = df.groupby(list(cols)).size().to_numpy(dtype=float)
    return float(np.sum(counts * np.log(counts / len(df))))


def test_chain_rule_and_independent_by_direct_count_formulas(asia_rows):
    net, df = asia_rows
    table = compare_structures(net, df, folds=4, learned=False, markov_k=(1, 2))
    # chain rule: the full joint's empirical log-likelihood sum_x N_x log(N_x / n)
    assert table.row("chain rule").loglik == pytest.approx(_freq_loglik(df, net.names), rel=1e-9)
    assert table.row("chain rule").parameters == 2 ** 8 - 1
    indep = sum(_freq_loglik(df, [v]) for v in net.names)
    assert table.row("independent").loglik == pytest.approx(indep, rel=1e-9)
    # Markov-1 over the declared order: sum_i [LL(x_{i-1}, x_i) - LL(x_{i-1})]
    names = list(net.names)
    m1 = _freq_loglik(df, names[:1]) + sum(_freq_loglik(df, names[i - 1:i + 1])
                                           - _freq_loglik(df, names[i - 1:i])
                                           for i in range(1, len(names)))
    assert table.row("Markov k=1").loglik == pytest.approx(m1, rel=1e-9)
    assert table.row("Markov k=2").parameters == pgm_ar.count_parameters(
        pgm_ar.markov(net.variables, k=2)).total
    # in-sample, the chain rule is the best and independence the worst
    assert table.row("chain rule").loglik >= table.row("declared").loglik >= indep


def test_heldout_by_hand_with_pandas(asia_rows):
    net, df = asia_rows
    folds, a = 4, 0.5
    table = compare_structures(net, df, folds=folds, seed=3, pseudo_count=a, learned=False)
    total = 0.0
    for part in kfold_indices(len(df), folds, seed=3):
        test = df.iloc[part]
        train = df.drop(df.index[part])
        for v in net.names:
            ps = list(net.parents(v))
            states = net.variable(v).states
            r = len(states)
            joint = train.groupby(ps + [v]).size() if ps else train.groupby(v).size()
            marg = train.groupby(ps).size() if ps else None
            keys = [tuple(t) for t in test[ps + [v]].itertuples(index=False)]
            for key in keys:
                n_jk = joint.get(key if ps else key[0], 0)
                n_j = (marg.get(key[:-1] if len(ps) > 1 else key[0], 0) if ps else len(train))
                total += math.log((n_jk + a) / (n_j + a * r))
    row = table.row("declared")
    assert row.heldout == pytest.approx(total, rel=1e-9)
    assert row.heldout_per_row == pytest.approx(total / len(df), rel=1e-9)
    assert "0.5 added to every cell" in table.smoothing


def test_too_large_chain_rule_says_so_with_its_size(asia_rows):
    net, df = asia_rows
    with pgm_ar.limits_raised(max_table_cells=100):
        table = compare_structures(net, df, folds=2, learned=False)
    chain = table.row("chain rule")
    assert chain.loglik is None and chain.heldout is None
    assert "too large" in chain.note and "256 cells" in chain.note
    assert chain.parameters == 255
    assert table.row("declared").loglik is not None
    assert "too large" in str(table)


def test_learned_row_table_frame_and_json(asia_rows):
    net, df = asia_rows
    table = compare_structures(net, df, folds=3)
    learned = table.row("hill climbing")
    assert learned.bic >= table.row("independent").bic
    assert learned.bic == pytest.approx(
        Score(df, "bic", net=net).network(
            pgm_ar.learning.hill_climb(df, net=net, fit=False).net), rel=1e-9)
    frame = table.to_frame()
    assert list(frame.index) == [r.label for r in table.rows]
    assert frame.loc["independent", "edges"] == 0
    data = json.loads(table.to_json())
    assert data["structures"][0]["label"].startswith("declared")
    assert "smoothing" in data and data["folds"] == 3
    text = str(table)
    assert "held-out (3-fold)" in text and "declared (asia)" in text


def test_data_order_and_errors(asia_rows):
    net, df = asia_rows
    rev = df[list(reversed(df.columns))]
    t = compare_structures(net, rev, folds=2, order="data", learned=False)
    assert t.order == list(reversed(net.names))
    with pytest.raises(PgmArError, match="pseudo-count"):
        compare_structures(net, df, pseudo_count=0)
    with pytest.raises(PgmArError, match="no column for 'dysp'"):
        compare_structures(net, df.drop(columns=["dysp"]))
    with pytest.raises(PgmArError, match="at least 2 folds"):
        compare_structures(net, df, folds=1)
    with pytest.raises(PgmArError, match="unknown order"):
        compare_structures(net, df, order="random")
