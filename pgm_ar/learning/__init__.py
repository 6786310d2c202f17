"""Learning from data: testing declared independences, scoring and searching structures,
and Bayesian parameters.

* :mod:`~pgm_ar.learning.data` -- rows as an integer code matrix with fast joint counts.
* :mod:`~pgm_ar.learning.scores` -- decomposable structure scores (log-likelihood, BIC, AIC,
  BDeu, K2) with a cache of local scores.
* :mod:`~pgm_ar.learning.knowledge` -- required / forbidden edges, tiers, declared statements.
* :mod:`~pgm_ar.learning.hill_climb` -- hill climbing with a tabu list and random restarts.
* :mod:`~pgm_ar.learning.count_fit` -- CPTs from counts, with an optional pseudo-count.
* :mod:`~pgm_ar.learning.compare` -- a declared structure against the chain rule, Markov-k,
  independent and learned ones, with held-out log-likelihood.
"""
from __future__ import annotations

from .compare import Comparison, compare_structures
from .count_fit import fit_cpts_by_counts
from .data import DiscreteData, discrete_data
from .hill_climb import SearchResult, hill_climb
from .knowledge import Knowledge
from .scores import Score, score_network

__all__ = ["Comparison", "DiscreteData", "Knowledge", "Score", "SearchResult", "compare_structures",
           "discrete_data", "fit_cpts_by_counts", "hill_climb", "score_network"]
