"""Learning from data: testing declared independences, scoring and searching structures,
and Bayesian parameters.

* :mod:`~pgm_ar.learning.data` -- rows as an integer code matrix with fast joint counts;
* :mod:`~pgm_ar.learning.citests` -- conditional-independence tests (G, chi-square, Fisher z);
* :mod:`~pgm_ar.learning.check` -- declared and implied independences tested on data;
* :mod:`~pgm_ar.learning.pc` -- the PC algorithm (skeleton, v-structures, Meek's rules);
* :mod:`~pgm_ar.learning.scores` -- decomposable structure scores (log-likelihood, BIC, AIC,
  BDeu, K2) with a cache of local scores;
* :mod:`~pgm_ar.learning.knowledge` -- required / forbidden edges, tiers, declared statements;
* :mod:`~pgm_ar.learning.hill_climb` -- hill climbing with a tabu list and random restarts;
* :mod:`~pgm_ar.learning.count_fit` -- CPTs from counts, with an optional pseudo-count;
* :mod:`~pgm_ar.learning.compare` -- a declared structure against the chain rule, Markov-k,
  independent and learned ones, with held-out log-likelihood;
* :mod:`~pgm_ar.learning.structure_diff` -- edges agreeing, added, reversed or missing against
  a declared DAG, SHD, and a drawing that marks them;
* :mod:`~pgm_ar.learning.priors` -- Dirichlet priors (BDeu, K2, any ``alpha > 0``) on CPT
  rows and the posterior they give with counts;
* :mod:`~pgm_ar.learning.credible` -- credible intervals on query answers from posterior
  draws of the CPTs;
* :mod:`~pgm_ar.learning.posterior_fit` -- a compiled model fitted with a prior.
"""
from __future__ import annotations

from .check import CheckResult, check
from .citests import CITester, CITestResult, ci_test
from .compare import Comparison, compare_structures
from .count_fit import fit_cpts_by_counts
from .credible import Credible, credible_query
from .data import DiscreteData, discrete_data
from .hill_climb import SearchResult, hill_climb
from .knowledge import Knowledge
from .pc import PCResult, pc
from .priors import DirichletPosterior, count_tables, dirichlet_prior
from .scores import Score, score_network
from .structure_diff import diff_edges, draw_learned, shd

__all__ = ["CITestResult", "CITester", "CheckResult", "Comparison", "Credible",
           "DirichletPosterior", "DiscreteData", "Knowledge", "PCResult", "Score",
           "SearchResult", "check", "ci_test", "compare_structures", "count_tables",
           "credible_query", "diff_edges", "dirichlet_prior", "discrete_data", "draw_learned",
           "fit_cpts_by_counts", "hill_climb", "pc", "score_network", "shd"]
