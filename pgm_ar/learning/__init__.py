"""Learning from data: testing declared independences, scoring and searching structures,
and Bayesian parameters.

* :mod:`~pgm_ar.learning.data` -- rows as an integer code matrix with fast joint counts.
* :mod:`~pgm_ar.learning.citests` -- conditional-independence tests (G, chi-square, Fisher z).
* :mod:`~pgm_ar.learning.check` -- declared and implied independences tested on data.
* :mod:`~pgm_ar.learning.pc` -- the PC algorithm (skeleton, v-structures, Meek's rules).
"""
from __future__ import annotations

from .check import CheckResult, check
from .citests import CITester, CITestResult, ci_test
from .data import DiscreteData, discrete_data
from .pc import PCResult, pc

__all__ = ["CITestResult", "CITester", "CheckResult", "DiscreteData", "PCResult", "check",
           "ci_test", "discrete_data", "pc"]
