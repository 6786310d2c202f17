"""Exact inference and sampling for discrete Bayesian networks with tabular CPTs.

Every function here is a pure function of a :class:`~pgm_ar.network.BayesNet`
(its graph) and a mapping ``tables`` from variable name to a float tensor of
shape ``(*parent_cards, card)`` whose parent axes follow ``net.parents(name)``
(the layout of :class:`~pgm_ar.cpd.TabularCPD`; :func:`tables_from_net` builds
it from a net's CPTs).  Values are integer state indices ``0 .. card-1``.

* :func:`forward_sample` -- ancestral sampling, vectorised over rows.
* :func:`log_prob` -- the joint log-probability of complete rows (nats).
* :func:`query` -- posterior marginals by variable elimination.
* :func:`batched_query` -- the posterior of one target for every row of a data set with
  missing values, rows contracted together.
* :func:`log_evidence` -- ``log p(evidence)``.
* :func:`calibrate` -- a junction tree calibrated once on the evidence: every variable's
  posterior, ``log p(evidence)`` and the MPE from one pass (a :class:`Calibration`);
  :func:`exact_posteriors` picks between it and an elimination per target.
* :func:`map_query` -- the most probable explanation (MPE) or a marginal MAP.
* :func:`posterior_sample` -- exact samples from ``p(x | evidence)``.
* :func:`likelihood_weighting` -- weighted samples and their effective size
  (:func:`effective_sample_size`).
* :func:`fit_counts` -- maximum-likelihood CPTs from complete data.
* :func:`approximate_query` -- approximate marginals by ``"likelihood_weighting"``,
  ``"gibbs"`` (:func:`gibbs_sampling`) or ``"loopy_bp"``
  (:func:`loopy_belief_propagation`), for networks too dense for :func:`query`;
  each returns an :class:`ApproximateResult` with its diagnostics.

The modules, in the order a query flows through them:

* :mod:`~pgm_ar.inference.structure` -- the network's integer view, cached per net;
* :mod:`~pgm_ar.inference.inputs` -- tables, data and evidence, checked;
* :mod:`~pgm_ar.inference.plan` -- pruning, elimination order and the einsum
  steps, planned once per (network, kind of query, variables) and cached; its
  ``MAX_FACTOR_SIZE`` bounds the largest factor variable elimination may build;
* :mod:`~pgm_ar.inference.elimination` -- running a plan in float64 numpy,
  rescaled when it underflows;
* :mod:`~pgm_ar.inference.relevance` -- which CPTs a posterior needs (Bayes-ball);
* :mod:`~pgm_ar.inference.queries` -- marginals, ``log p(evidence)``, MPE and MAP;
* :mod:`~pgm_ar.inference.junction_tree` -- the junction tree, cached per network, and its
  calibration: all marginals at once;
* :mod:`~pgm_ar.inference.batched` -- one target's posterior for many rows at once;
* :mod:`~pgm_ar.inference.sampling` -- forward, likelihood-weighted and exact
  posterior sampling;
* :mod:`~pgm_ar.inference.complete_data` -- scoring and counting complete rows;
* :mod:`~pgm_ar.inference.approximate` -- approximate queries by name, on
  :mod:`~pgm_ar.inference.gibbs` and :mod:`~pgm_ar.inference.loopy_bp`, answered as
  :mod:`~pgm_ar.inference.estimates`.

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> tables = tables_from_net(net)
>>> [round(p, 4) for p in query(net, tables, "rain", {"wet": 1}).tolist()]
[0.3333, 0.6667]
>>> map_query(net, tables, evidence={"wet": 1})
{'rain': 1}
>>> rows = forward_sample(net, tables, 5, generator=torch.Generator().manual_seed(0))
>>> sorted(rows), rows["wet"].shape
(['rain', 'wet'], torch.Size([5]))
"""
from __future__ import annotations

from .approximate import (APPROXIMATE_METHODS, QUERY_METHODS, approximate_answer,
                          approximate_query, check_method)
from .batched import batched_query, posterior_frame
from .complete_data import fit_counts, log_prob
from .estimates import ApproximateResult
from .gibbs import gibbs_sampling
from .inputs import Evidence, Tables, check_sample_count, tables_from_net
from .junction_tree import Calibration, calibrate, exact_posteriors
from .loopy_bp import loopy_belief_propagation
from .queries import log_evidence, map_query, query
from .sampling import (discrete_sample, effective_sample_size, forward_sample,
                       likelihood_weighting, posterior_sample, resample_weighted)
from .structure import NetStructure, network_structure

__all__ = ["tables_from_net", "forward_sample", "log_prob", "query", "batched_query",
           "posterior_frame", "log_evidence", "calibrate", "Calibration", "exact_posteriors",
           "map_query", "posterior_sample", "likelihood_weighting", "effective_sample_size",
           "discrete_sample", "resample_weighted",
           "fit_counts", "check_sample_count", "network_structure", "NetStructure",
           "Tables", "Evidence", "approximate_query", "approximate_answer", "check_method",
           "gibbs_sampling", "loopy_belief_propagation", "ApproximateResult", "QUERY_METHODS",
           "APPROXIMATE_METHODS"]
