"""Learning from data: testing declared independences, scoring and searching structures,
and Bayesian parameters.

* :mod:`~pgm_ar.learning.data` -- rows as an integer code matrix with fast joint counts.
"""
from __future__ import annotations

from .data import DiscreteData, discrete_data

__all__ = ["DiscreteData", "discrete_data"]
