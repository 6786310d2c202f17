"""Gibbs sampling: many parallel single-site chains, each variable redrawn from its Markov blanket.

A variable's full conditional given all others depends only on its Markov
blanket: ``p(v | rest) ∝ p(v | parents(v)) * prod_{c in children(v)} p(x_c | parents(c))``,
read straight from the CPT tables.  Each sweep redraws every non-evidence
variable in topological order, vectorised over ``num_chains`` independent
chains (one numpy gather per CPT, no loop over chains).

Only the targets, the evidence and their ancestors are sampled: every other
node is barren (it sums out of the posterior) and would only slow the chains.

* **Start.**  Chains start from likelihood-weighted forward samples resampled by
  their weights, so every chain starts in a state of positive probability
  consistent with the evidence (a zero-probability start could never be
  left).  When no proposal has positive weight the evidence is checked
  exactly where that is possible (:class:`~pgm_ar.errors.ImpossibleEvidenceError`)
  and otherwise reported as too unlikely to start from.
* **Estimate.**  The targets' marginals are Rao-Blackwellised: each kept sweep
  adds the target's full conditional (a whole distribution) rather than an
  indicator of its sampled state, which has a lower variance.
* **Diagnostics.**  The effective sample size treats the chains as
  independent batches: ``chains * (per-draw variance) / (variance of the chain
  means)``, the smallest over the targets' states.  Zeros in the CPTs can cut
  the state space into pieces a single-site sampler cannot cross; the result
  counts chains that never moved and a ``RuntimeWarning`` says so when
  chains are stuck in different states (the answer then depends on where the
  chains started).

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> r = gibbs_sampling(net, tables_from_net(net), "rain", {"wet": 1}, num_samples=20_000,
...                    generator=torch.Generator().manual_seed(0))
>>> [round(p, 2) for p in r.marginals["rain"].tolist()]  # exact: [0.3333, 0.6667]
[0.33, 0.67]
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ..errors import PgmArError
from ..network import BayesNet
from .estimates import ApproximateResult, no_support_error
from .inputs import Evidence, Tables, check_sample_count, checked_evidence, checked_tables
from .queries import target_indices
from .sampling import ancestral_values
from .structure import network_structure

__all__ = ["gibbs_sampling", "DEFAULT_CHAINS", "DEFAULT_BURN_IN"]

#: chains run side by side unless ``num_chains`` says otherwise (fewer for small samples)
DEFAULT_CHAINS = 1000
#: sweeps discarded at the start of every chain unless ``burn_in`` says otherwise
DEFAULT_BURN_IN = 100


def gibbs_sampling(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
                   evidence: Optional[Evidence] = None, num_samples: int = 100_000, *,
                   num_chains: Optional[int] = None, burn_in: Optional[int] = None,
                   thin: int = 1, generator: Optional[torch.Generator] = None
                   ) -> ApproximateResult:
    """Posterior marginals of ``target`` given ``evidence`` by Gibbs sampling.

    Parameters
    ----------
    net, tables
        A network of discrete scalar variables and its tables
        (``{name: tensor of shape (*parent_cards, card)}``).
    target
        A variable name or a list of names.
    evidence
        ``{name: state}`` (indices or state names).
    num_samples
        Kept draws in all, over all chains: each chain keeps
        ``ceil(num_samples / num_chains)`` sweeps.
    num_chains
        Parallel chains (default ``min(1000, max(1, num_samples // 20))``).
    burn_in
        Sweeps discarded at the start of each chain (default 100).
    thin
        Keep every ``thin``-th sweep after the burn-in.
    generator
        Source of all randomness (start states and draws); same seed, same result.

    Returns
    -------
    ApproximateResult
        ``marginals`` for every target, ``num_samples`` (draws actually
        kept), ``effective_sample_size``, ``stuck_chains``, and in ``extra``
        the chains, burn-in and thinning used.

    Raises
    ------
    PgmArError
        For unknown names or states, bad counts, or evidence no forward sample
        reached; :class:`~pgm_ar.errors.ImpossibleEvidenceError` for evidence of
        probability zero.
    """
    st = network_structure(net)
    targets, _ = target_indices(st, target)
    ev = checked_evidence(st, net, evidence)
    n = check_sample_count(num_samples)
    if n < 1:
        raise PgmArError("gibbs sampling needs num_samples >= 1")
    chains = _positive("num_chains", num_chains, min(DEFAULT_CHAINS, max(1, n // 20)))
    burn = _non_negative("burn_in", burn_in, DEFAULT_BURN_IN)
    thin = _positive("thin", thin, 1)
    kept = -(-n // chains)
    # the chains run in numpy on the CPU whatever the tables' device: their arrays are small
    # (one entry per chain), where torch's per-operation overhead would dominate
    tabs = [None if t is None else t.detach().cpu() for t in checked_tables(st, tables)]
    gdev = generator.device if generator is not None else torch.device("cpu")

    nodes = st.closure(list(targets) + list(ev))
    free = [v for v in nodes if v not in ev]
    chain = _Chains(st, tabs, nodes, free,
                    _start(net, st, tables, tabs, ev, chains, generator, evidence))
    want = [t for t in dict.fromkeys(targets) if t not in ev]
    acc = {t: np.zeros((chains, st.cards[t])) for t in want}
    acc_sq = {t: np.zeros((chains, st.cards[t])) for t in want}

    sweeps = burn + kept * thin
    for sweep in range(sweeps):
        keep = sweep >= burn and (sweep - burn) % thin == 0
        # 1 - u lies in (0, 1]: see _Chains.update
        u_all = 1.0 - torch.rand(len(free), chains, generator=generator, dtype=torch.float64,
                                 device=gdev).cpu().numpy()
        for k, v in enumerate(free):
            probs = chain.update(v, u_all[k])
            if keep and v in acc:
                acc[v] += probs
                acc_sq[v] += probs * probs
    cols, moved = chain.cols, chain.moved

    marginals: Dict[str, torch.Tensor] = {}
    for t in dict.fromkeys(targets):
        if t in ev:
            p = np.zeros(st.cards[t])
            p[ev[t]] = 1.0
        else:
            p = acc[t].sum(0) / (chains * kept)
        marginals[st.names[t]] = torch.from_numpy(p / p.sum())
    stuck = int((~moved).sum()) if free else 0
    if stuck and _chains_differ(cols, free):
        warnings.warn(
            f"gibbs sampling: {stuck} of {chains} chains never changed state, and the chains "
            "sit in different states: zeros in the CPTs can cut the state space into parts a "
            "single-site sampler cannot cross, so the answer depends on where chains started; "
            "use method='loopy_bp' or 'likelihood_weighting'", RuntimeWarning, stacklevel=2)
    return ApproximateResult(
        marginals, "gibbs", num_samples=chains * kept,
        effective_sample_size=_chain_ess(acc, acc_sq, chains, kept),
        stuck_chains=stuck,
        extra={"num_chains": chains, "burn_in": burn, "thin": thin})


# --------------------------------------------------------------------------- #
# pieces
# --------------------------------------------------------------------------- #
def _positive(name: str, value: Optional[int], default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PgmArError(f"gibbs sampling: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def _non_negative(name: str, value: Optional[int], default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise PgmArError(f"gibbs sampling: {name} must be an integer >= 0, got {value!r}")
    return int(value)


class _Chains:
    """The chains' current states and, per node, each chain's current CPT row.

    Rows are kept up to date as parents change (one add per child), so that a
    variable's update reads its Markov blanket's CPT entries with one gather
    per table and never recomputes a row from all the parents.
    """

    def __init__(self, st, tabs, nodes: Sequence[int], free: Sequence[int], cols: list) -> None:
        self.st, self.cols = st, cols
        chains = len(cols[nodes[0]]) if nodes else 0
        self.moved = np.zeros(chains, dtype=bool)
        self.tab = {v: tabs[v].detach().cpu().to(torch.float64).numpy().reshape(
            st.num_rows[v], st.cards[v]) for v in nodes}
        self.flat = {v: t.reshape(-1) for v, t in self.tab.items()}
        self.rows = {v: np.zeros(chains, dtype=np.int64) if not st.parents[v]
                     else st.parent_row(v, cols).astype(np.int64) for v in nodes}
        # per free variable: (child, stride of the variable in the child's rows, the offsets
        # of the child's flat entries for each state of the variable)
        self.kids: Dict[int, List[tuple]] = {v: [] for v in free}
        for c in nodes:
            for p, stride in zip(st.parents[c], st.strides[c]):
                if p in self.kids:
                    offsets = stride * st.cards[c] * np.arange(st.cards[p])
                    self.kids[p].append((c, stride, offsets))

    def update(self, v: int, u: np.ndarray) -> np.ndarray:
        """Redraw ``v`` in every chain from its full conditional, with ``u`` in ``(0, 1]``;
        returns the normalised conditional ``(chains, card)``.

        The draw is ``#{s: cdf[s] < u * total}``: a state of probability zero has the same
        cumulative value as the state before it, so it is never chosen, whatever ``u``.
        """
        old = self.cols[v]
        probs = self.tab[v][self.rows[v]]
        for c, stride, offsets in self.kids[v]:
            base = (self.rows[c] - stride * old) * self.tab[c].shape[1] + self.cols[c]
            probs *= self.flat[c][base[:, None] + offsets]
        cdf = np.cumsum(probs, axis=1)
        total = cdf[:, -1]
        if not total.all():  # a product of many small numbers underflowed: redo it in logs
            bad = total == 0
            probs[bad] = self._log_conditional(v, np.flatnonzero(bad))
            cdf[bad] = np.cumsum(probs[bad], axis=1)
            total = cdf[:, -1]
        new = (cdf < (u * total)[:, None]).sum(axis=1)
        step = new - old
        self.moved |= step != 0
        for c, stride, _ in self.kids[v]:
            self.rows[c] += stride * step
        self.cols[v] = new
        return probs / total[:, None]

    def _log_conditional(self, v: int, idx: np.ndarray) -> np.ndarray:
        """The conditional of ``v`` for the chains ``idx``, computed in logs and scaled so its
        largest entry is 1."""
        with np.errstate(divide="ignore"):
            lp = np.log(self.tab[v][self.rows[v][idx]])
            for c, stride, offsets in self.kids[v]:
                base = (self.rows[c][idx] - stride * self.cols[v][idx]) * self.tab[c].shape[1] \
                    + self.cols[c][idx]
                lp = lp + np.log(self.flat[c][base[:, None] + offsets])
        return np.exp(lp - lp.max(axis=1, keepdims=True))


def _start(net: BayesNet, st, tables: Tables, tabs, ev: Dict[int, int], chains: int,
           generator: Optional[torch.Generator], evidence) -> list:
    """Start states: likelihood-weighted forward samples resampled by weight (all of positive
    probability and consistent with the evidence), one column per variable index."""
    proposals = max(10 * chains, 10_000)
    fixed = {v: torch.full((proposals,), s, dtype=torch.long) for v, s in ev.items()}
    cols, logw = ancestral_values(st, tabs, proposals, generator, fixed, weights_for=sorted(ev))
    if logw is None:
        idx = torch.arange(chains) % proposals
    else:
        if torch.isneginf(logw).all():
            raise no_support_error(net, tables, evidence, "gibbs", proposals)
        gdev = generator.device if generator is not None else torch.device("cpu")
        idx = torch.multinomial(torch.softmax(logw, 0).to(gdev), chains, replacement=True,
                                generator=generator).cpu()
    return [c[idx].numpy().copy() for c in cols]


def _chains_differ(cols: list, free: Sequence[int]) -> bool:
    """Whether the chains are not all in the same state (over the sampled variables)."""
    return any(bool((cols[v] != cols[v][0]).any()) for v in free)


def _chain_ess(acc: Dict[int, np.ndarray], acc_sq: Dict[int, np.ndarray], chains: int,
               kept: int) -> Optional[float]:
    """Effective sample size from chain means: ``chains * var(draw) / var(chain mean)``, the
    smallest over every target state, capped at ``chains * kept``; ``None`` for one chain."""
    total = chains * kept
    if not acc:
        return float(total)
    if chains < 2:
        return None
    ess = float(total)
    for t in acc:
        mean = acc[t].sum(0) / total
        var_draw = acc_sq[t].sum(0) / total - mean * mean
        var_means = (acc[t] / kept).var(axis=0, ddof=1)
        for vd, vm in zip(var_draw, var_means):
            if vd <= 1e-15:
                continue  # a state whose conditional never varies tells nothing
            ess = min(ess, chains * vd / vm if vm > 0 else float(total))
    return float(ess)
