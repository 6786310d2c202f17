"""Conditional families: ``p(node | parents)`` as torch modules returning Pyro distributions.

Built in: :class:`Tabular`, :class:`Logistic`, :class:`MLP` (discrete nodes) and
:class:`LinearGaussian`, :class:`MLPGaussian` (real nodes).  The neural autoregressive
families for images live in their own modules and are found by name
(:func:`family_from_spec`, :func:`get_family`).
"""
from __future__ import annotations

from .base import (Conditional, Family, available_families, context_size, encode_context,
                   family_from_spec, get_family, register_family)
from .gaussian import LinearGaussian, MLPGaussian
from .logistic import Logistic
from .mlp import MLP
from .tabular import Tabular

# short aliases accepted in specs
register_family("table", Tabular)
register_family("linear-gaussian", LinearGaussian)
register_family("lineargaussian", LinearGaussian)
register_family("gaussian", LinearGaussian)
register_family("mlp-gaussian", MLPGaussian)
register_family("mlpgaussian", MLPGaussian)

__all__ = ["Conditional", "Family", "Tabular", "Logistic", "MLP", "LinearGaussian",
           "MLPGaussian", "available_families", "context_size", "encode_context",
           "family_from_spec", "get_family", "register_family"]
