"""Structure scores against pgmpy, against a hand computation with math.lgamma, and the score
equivalence of BIC / BDeu over Markov-equivalent DAGs."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import pgm_ar
from pgm_ar.errors import DataError, PgmArError
from pgm_ar.learning.scores import (Score, bdeu_score, k2_score, log_likelihood_score,
                                    score_network)
from tests.learning.forward import forward_codes, to_frame
from tests.oracles import random_net


def _pgmpy_scores(df, state_names):
    pytest.importorskip("pgmpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.structure_score import AIC, BIC, K2, BDeu, LogLikelihood

        return {"bic": BIC(df, state_names=state_names), "aic": AIC(df, state_names=state_names),
                "k2": K2(df, state_names=state_names),
                "loglik": LogLikelihood(df, state_names=state_names),
                "bdeu": BDeu(df, equivalent_sample_size=10, state_names=state_names),
                "bdeu3": BDeu(df, equivalent_sample_size=3, state_names=state_names)}


@pytest.mark.parametrize("name,n", [("asia", 3000), ("alarm", 2000), ("insurance", 1500)])
def test_local_and_network_scores_equal_pgmpys(name, n):
    net = pgm_ar.example_network(name)
    data = forward_codes(net, n, seed=7)
    df = to_frame(data)
    state_names = {v: list(data.states[i]) for i, v in enumerate(data.names)}
    theirs = _pgmpy_scores(df, state_names)
    ours = {"bic": Score(data, "bic"), "aic": Score(data, "aic"), "k2": Score(data, "k2"),
            "loglik": Score(data, "loglik"), "bdeu": Score(data, "bdeu", ess=10),
            "bdeu3": Score(data, "bdeu", ess=3)}
    rng = np.random.default_rng(0)
    families = [(v, net.parents(v)) for v in net.names]
    # plus random parent sets (up to 3 parents, in random order) that the true net lacks
    for _ in range(15):
        child = str(rng.choice(net.names))
        others = [v for v in net.names if v != child]
        k = int(rng.integers(0, 4))
        families.append((child, tuple(rng.choice(others, size=k, replace=False))))
    for key in ours:
        for child, parents in families:
            expected = theirs[key].local_score(child, tuple(parents))
            if key == "k2":
                # pgmpy 1.1.2's K2 adds lgamma(r) for every parent configuration but subtracts
                # lgamma(N_j + r) only for those that occur, so each absent configuration adds
                # lgamma(r) (not 0, as in Cooper & Herskovits' formula); take it back out
                table, q = ours[key].family_counts(child, parents)
                absent = q - int((table.sum(axis=1) > 0).sum())
                expected -= absent * math.lgamma(data.cards[data.index(child)])
            if key.startswith("bdeu") and len(parents):
                # pgmpy 1.1.2's BDeu (with parents) drops a child state that never occurs from its
                # table yet subtracts lgamma(beta) for all q * r cells, so each occurring
                # configuration misses lgamma(beta) per absent state; add it back
                table, q = ours[key].family_counts(child, parents)
                seen = int((table.sum(axis=1) > 0).sum())
                r = table.shape[1]
                absent_states = r - int((table.sum(axis=0) > 0).sum())
                ess = ours[key].ess
                expected += seen * absent_states * math.lgamma(ess / (q * r))
            assert ours[key].local(child, parents) == pytest.approx(
                expected, rel=1e-9, abs=1e-9), (key, child)
        if key in ("bic", "aic", "loglik"):
            total = sum(theirs[key].local_score(v, tuple(net.parents(v))) for v in net.names)
            assert ours[key].network(net) == pytest.approx(total, rel=1e-9)


def test_bdeu_by_hand_on_a_tiny_table():
    # child with 3 states, one parent with 2 states: counts N[j, k]
    counts = np.array([[3, 0, 2], [1, 4, 0]])
    ess, q, r = 4.0, 2, 3
    a, b = ess / q, ess / (q * r)
    hand = 0.0
    for j in range(q):
        nj = sum(counts[j])
        hand += math.lgamma(a) - math.lgamma(nj + a)
        for k in range(r):
            hand += math.lgamma(counts[j][k] + b) - math.lgamma(b)
    assert bdeu_score(counts, ess) == pytest.approx(hand, abs=1e-12)
    # K2: every Dirichlet parameter 1, i.e. (r-1)! prod N_jk! / (N_j + r - 1)!
    k2 = sum(math.log(math.factorial(r - 1) * math.prod(math.factorial(int(x)) for x in row)
                      / math.factorial(int(sum(row)) + r - 1)) for row in counts)
    assert k2_score(counts) == pytest.approx(k2, abs=1e-12)
    ll = sum(x * math.log(x / sum(row)) for row in counts for x in row if x)
    assert log_likelihood_score(counts) == pytest.approx(ll, abs=1e-12)


def test_the_same_table_from_rows_and_the_sparse_path(monkeypatch):
    # the rows behind the tiny table above, scored through Score (dense and sparse counting)
    rows = {"p": [], "c": []}
    for j, row in enumerate([[3, 0, 2], [1, 4, 0]]):
        for k, times in enumerate(row):
            rows["p"] += [f"p{j}"] * times
            rows["c"] += [f"c{k}"] * times
    dense = Score(rows, "bdeu", ess=4.0).local("c", ["p"])
    import pgm_ar.learning.scores as scores

    monkeypatch.setattr(scores, "_DENSE_CELLS", 0)
    monkeypatch.setattr(scores, "_DENSE_PER_ROW", 0)
    sparse = Score(rows, "bdeu", ess=4.0)
    assert sparse.local("c", ["p"]) == pytest.approx(dense, abs=1e-12)
    assert sparse.local("c", ["p"]) == pytest.approx(bdeu_score([[3, 0, 2], [1, 4, 0]], 4.0))


def _covered_edges(parents):
    return [(x, y) for y, ps in parents.items() for x in ps if set(ps) - {x} == set(parents[x])]


def _skeleton_and_v(parents):
    skel = {frozenset((p, c)) for c, ps in parents.items() for p in ps}
    v = {(frozenset((a, b)), c) for c, ps in parents.items()
         for a, b in itertools.combinations(ps, 2)
         if frozenset((a, b)) not in skel}
    return skel, v


@pytest.mark.parametrize("seed", range(6))
def test_bic_and_bdeu_are_equal_on_markov_equivalent_dags_and_k2_is_not(seed):
    net = random_net(seed, n_nodes=6, max_parents=3, max_card=3)
    data = forward_codes(net, 400, seed=seed)
    parents = {v: set(net.parents(v)) for v in net.names}
    rng = np.random.default_rng(seed)
    scores = {m: Score(data, m, ess=5.0) for m in ("bic", "bdeu", "k2", "loglik")}
    base = {m: s.network(parents) for m, s in scores.items()}
    for _ in range(4):  # walk inside the equivalence class by reversing covered edges
        covered = _covered_edges(parents)
        if not covered:
            break
        x, y = covered[int(rng.integers(len(covered)))]
        parents[y].discard(x)
        parents[x].add(y)
        assert _skeleton_and_v(parents) == _skeleton_and_v({v: set(net.parents(v))
                                                            for v in net.names})
        for m in ("bic", "bdeu", "loglik"):
            assert scores[m].network(parents) == pytest.approx(base[m], rel=1e-10)
    # the control: reversing b -> c in a chain a -> b -> c (a, c not adjacent) makes the
    # v-structure a -> b <- c, another equivalence class; there BIC and BDeu must differ
    true = net_parents(net)
    skel = {frozenset((p, c)) for c, ps in true.items() for p in ps}
    for b, parents_b in true.items():
        for a in parents_b:
            for c in [v for v, ps in true.items() if b in ps]:
                if frozenset((a, c)) in skel or len(true[c]) != 1:
                    continue
                other = {v: set(ps) for v, ps in true.items()}
                other[c].discard(b)
                other[b].add(c)
                assert _skeleton_and_v(other) != _skeleton_and_v(true)
                for m in ("bic", "bdeu"):
                    assert scores[m].network(other) != pytest.approx(base[m], rel=1e-10)


def test_k2_is_not_score_equivalent():
    # the control for the property above: K2's uniform Dirichlet(1) is not a BDe prior, so
    # a -> b and b -> a (one equivalence class) score differently when the cards differ
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 300)
    b = (a + rng.integers(0, 2, 300)) % 2
    s = Score({"a": a, "b": b}, "k2")
    forward, backward = s.network([("a", "b")]), s.network([("b", "a")])
    assert abs(forward - backward) > 1e-3
    bdeu = Score({"a": a, "b": b}, "bdeu")
    assert bdeu.network([("a", "b")]) == pytest.approx(bdeu.network([("b", "a")]), rel=1e-12)


def net_parents(net):
    return {v: set(net.parents(v)) for v in net.names}


def test_score_network_encodes_with_the_networks_states_and_errors_are_named():
    net = pgm_ar.example_network("asia")
    data = forward_codes(net, 500, seed=2)
    df = to_frame(data)
    assert score_network(net, df, "bic") == pytest.approx(Score(data, "bic").network(net))
    with pytest.raises(PgmArError, match="unknown score 'bicc'"):
        Score(data, "bicc")
    with pytest.raises(PgmArError, match="equivalent sample size"):
        Score(data, "bdeu", ess=0)
    df.loc[3, "smoke"] = None
    with pytest.raises(DataError, match="smoke.*missing"):
        Score(df)
    with pytest.raises(DataError, match="'smok'"):
        Score(data).local("smok", [])
    with pytest.raises(DataError, match="'nope'"):
        Score(data).network([("nope", "smoke")])


def test_cache_is_keyed_by_the_parent_set_not_its_order():
    data = forward_codes(pgm_ar.example_network("asia"), 300, seed=3)
    s = Score(data, "bdeu")
    a = s.local("dysp", ["bronc", "either"])
    assert s.evaluations == 1
    assert s.local("dysp", ["either", "bronc"]) == a and s.evaluations == 1


def test_bitset_bincount_and_sparse_counts_agree(monkeypatch):
    import pgm_ar.learning.scores as scores

    net = pgm_ar.example_network("alarm")
    data = forward_codes(net, 5000, seed=1)
    s = Score(data, "bic")
    rng = np.random.default_rng(0)
    for _ in range(60):
        c = int(rng.integers(len(data.names)))
        k = int(rng.integers(0, 4))
        others = [i for i in range(len(data.names)) if i != c]
        ps = [int(x) for x in rng.choice(others, k, replace=False)]
        expected = data.counts([*ps, c]).reshape(-1, data.cards[c])  # DiscreteData's count
        bits, q = s.family_counts(c, ps)
        with monkeypatch.context() as m:
            m.setattr(scores, "_HAS_POPCOUNT", False)
            dense, _ = s.family_counts(c, ps)
            m.setattr(scores, "_DENSE_CELLS", 0)
            m.setattr(scores, "_DENSE_PER_ROW", 0)
            sparse, _ = s.family_counts(c, ps)
        np.testing.assert_array_equal(bits, expected)
        np.testing.assert_array_equal(dense, expected)
        occurring = expected[expected.sum(axis=1) > 0]
        assert sorted(map(tuple, sparse.tolist())) == sorted(map(tuple, occurring.tolist()))
        assert q == expected.shape[0]
