"""Learning from data: testing declared independences, scoring and searching structures,
and Bayesian parameters.

* :mod:`~pgm_ar.learning.data` -- rows as an integer code matrix with fast joint counts;
* :mod:`~pgm_ar.learning.priors` -- Dirichlet priors (BDeu, K2, any ``alpha > 0``) on CPT
  rows and the posterior they give with counts;
* :mod:`~pgm_ar.learning.credible` -- credible intervals on query answers from posterior
  draws of the CPTs;
* :mod:`~pgm_ar.learning.posterior_fit` -- a compiled model fitted with a prior.
"""
from __future__ import annotations

from .credible import Credible, credible_query
from .data import DiscreteData, discrete_data
from .priors import DirichletPosterior, count_tables, dirichlet_prior

__all__ = [
    "Credible",
    "DirichletPosterior",
    "DiscreteData",
    "count_tables",
    "credible_query",
    "dirichlet_prior",
    "discrete_data",
]
