"""pgm_ar: declare random variables and independence assumptions, derive the Bayesian
network, count and test it, draw it, and compile it to a Pyro model.

Names are imported lazily (PEP 562) so that structure-only work (``pgm-ar count``,
factorizations, d-separation) never pays for importing torch and Pyro.

>>> import pgm_ar
>>> net = pgm_ar.markov(pgm_ar.bernoullis(4), k=1)
>>> pgm_ar.count_parameters(net).total
7
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "PgmArError": "errors", "CycleError": "errors", "UnknownVariableError": "errors",
    "DuplicateVariableError": "errors", "StatementError": "errors", "SpecError": "errors",
    "SpecCycleError": "errors", "DataError": "errors", "InferenceTooLargeError": "errors",
    "GraphvizMissingError": "errors", "FitWarning": "errors",
    "ImpossibleEvidenceError": "errors",
    # declaring
    "Variable": "variables", "Bernoulli": "variables", "Categorical": "variables",
    "Gaussian": "variables", "Image": "variables", "bernoullis": "variables",
    "TabularCPD": "cpd", "BayesNet": "network", "Statement": "statements",
    "chain_rule": "assumptions", "markov": "assumptions", "independent": "assumptions",
    "from_independencies": "assumptions", "check_statements": "assumptions",
    # analysing
    "Factorization": "factorization", "count_parameters": "counting",
    "compare_parameter_counts": "counting", "Independence": "independence",
    # drawing and files
    "draw": "draw", "factor_graph": "draw",
    "read_bif": "io.bif", "write_bif": "io.bif", "load_spec": "io.spec", "save_spec": "io.spec",
    "load_network": "io", "load_any": "io", "Spec": "io.spec",
    "example_network": "io.examples", "example_networks": "io.examples",
    # data
    "load_mnist": "datasets", "load_embedded_digits": "datasets", "binarize": "datasets",
    "History": "training",
    # models
    "compile": "model", "CompiledModel": "model", "load_model": "model",
    "register_family": "conditionals.base",
    "Tabular": "conditionals", "Logistic": "conditionals", "MLP": "conditionals",
    "LinearGaussian": "conditionals", "MLPGaussian": "conditionals",
    "NADE": "conditionals.nade", "MADE": "conditionals.made", "RNADE": "conditionals.rnade",
    "FVSBN": "conditionals.fvsbn", "ARk": "conditionals.ark",
    "save_grid": "imaging", "save_class_grid": "imaging",
    # learning
    "check": "learning.check",
    # budgets
    "Limits": "limits", "get_limits": "limits", "set_limits": "limits",
    "limits_raised": "limits",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pgm_ar' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: later look-ups skip this function
    return value


def __dir__() -> list:
    return __all__
