"""Gaussian conditionals for real nodes: linear-Gaussian and MLP-Gaussian.

* :class:`LinearGaussian`: ``x | parents ~ Normal(w . u + b, sigma)`` with one ``sigma`` per
  node (``u``: one-hot for discrete parents, the value for real ones).  Its closed-form fit is
  least squares, with ``sigma^2`` the mean squared residual (the maximum-likelihood estimate).
  A discrete parent makes the node a mixture component per parent state; a latent discrete
  parent fitted by enumeration gives a Gaussian mixture.
* :class:`MLPGaussian`: mean and log-scale from an MLP of the parents (heteroscedastic).

>>> from pgm_ar import Gaussian, Bernoulli
>>> LinearGaussian().build(Gaussian("y"), [Gaussian("a"), Bernoulli("b")]).num_parameters()
5
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Sequence, Tuple

import pyro.distributions as dist
import torch
from torch import nn

from ..errors import PgmArError
from ..variables import Gaussian, Variable
from .base import Conditional, Family, context_size, encode_context
from .mlp import check_hidden, make_mlp

#: smallest standard deviation a fit may reach (a constant column would otherwise give 0)
MIN_SCALE = 1e-6


def _check_real(variable: Variable, family: str) -> Optional[str]:
    if not isinstance(variable, Gaussian):
        return (f"{family} models a real (Gaussian) scalar node; {variable.name!r} is "
                f"{type(variable).__name__}" + (" (use Tabular, Logistic or MLP)"
                                                if variable.is_discrete else ""))
    return None


def _expand(t: torch.Tensor, batch_size: Optional[int]) -> torch.Tensor:
    return t if batch_size is None else t.expand((batch_size,))


class LinearGaussianConditional(Conditional):
    """``Normal(w . u + b, sigma)`` (built by :class:`LinearGaussian`)."""

    closed_form: ClassVar[bool] = True

    def __init__(self, variable: Variable, parents: Sequence[Variable]) -> None:
        super().__init__(variable, parents)
        self.width = context_size(parents)
        self.weight = nn.Parameter(torch.zeros(self.width))
        self.bias = nn.Parameter(torch.zeros(()))
        self.log_scale = nn.Parameter(torch.zeros(()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.width:
                self.weight.normal_(0.0, 1.0 / math.sqrt(self.width))
            self.bias.zero_()
            self.log_scale.zero_()

    def mean(self, parent_values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        u = encode_context(self.parent_vars, parent_values, dtype=self.weight.dtype)
        return self.bias if u is None else u @ self.weight + self.bias

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        loc = self.mean(parent_values)
        if not self.parent_vars:
            loc = _expand(loc, batch_size)
        scale = torch.exp(self.log_scale).expand(loc.shape)
        return dist.Normal(loc, scale)

    def fit_closed_form(self, parent_values: Mapping[str, torch.Tensor],
                        values: torch.Tensor) -> float:
        y = values.detach().double().reshape(-1).cpu()
        n = y.shape[0]
        if n == 0:
            raise PgmArError(f"no rows to fit {self.variable.name!r}")
        cols = [torch.ones(n, 1, dtype=torch.float64)]
        if self.width:
            cpu_vals = {k: v.detach().cpu() for k, v in parent_values.items()
                        if k in {p.name for p in self.parent_vars}}
            cols.insert(0, encode_context(self.parent_vars, cpu_vals, dtype=torch.float64))
        a = torch.cat(cols, dim=1)
        # gelsd: minimum-norm least squares, fine with the rank deficiency of one-hot + bias
        coef = torch.linalg.lstsq(a, y.unsqueeze(1), driver="gelsd").solution.squeeze(1)
        resid = y - a @ coef
        sigma = max(float(torch.sqrt(torch.mean(resid ** 2))), MIN_SCALE)
        with torch.no_grad():
            self.weight.copy_(coef[:-1].to(self.weight))
            self.bias.copy_(coef[-1].to(self.bias))
            self.log_scale.fill_(math.log(sigma))
        # sum of Normal log-densities at the fit: -n/2 (log(2 pi sigma^2)) - RSS / (2 sigma^2)
        rss = float(torch.sum(resid ** 2))
        return -0.5 * n * math.log(2 * math.pi * sigma ** 2) - rss / (2 * sigma ** 2)


class MLPGaussianConditional(Conditional):
    """Mean and log-scale of a real node from an MLP (built by :class:`MLPGaussian`)."""

    def __init__(self, variable: Variable, parents: Sequence[Variable],
                 hidden: Sequence[int]) -> None:
        super().__init__(variable, parents)
        self.width = context_size(parents)
        if self.width:
            self.net = make_mlp(self.width, hidden, 2)
            self.root = None
        else:
            self.net = None
            self.root = nn.Parameter(torch.zeros(2))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.root is not None:
            with torch.no_grad():
                self.root.zero_()

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        if self.net is None:
            out = self.root if batch_size is None else self.root.expand((batch_size, 2))
        else:
            u = encode_context(self.parent_vars, parent_values, dtype=self.net[0].weight.dtype)
            out = self.net(u)
        loc, raw = out[..., 0], out[..., 1]
        return dist.Normal(loc, torch.nn.functional.softplus(raw) + MIN_SCALE)


@dataclass(frozen=True)
class LinearGaussian(Family):
    """A real node as a linear function of its parents plus Gaussian noise."""

    name: ClassVar[str] = "linear_gaussian"
    exact: ClassVar[bool] = True

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return _check_real(variable, "LinearGaussian")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> LinearGaussianConditional:
        reason = self.supports(variable, parents)
        if reason:
            raise PgmArError(f"variable {variable.name!r}: {reason}")
        return LinearGaussianConditional(variable, parents)


@dataclass(frozen=True)
class MLPGaussian(Family):
    """A real node with mean and scale from an MLP of its parents: ``MLPGaussian(hidden=(64,))``."""

    name: ClassVar[str] = "mlp_gaussian"
    hidden: Tuple[int, ...] = (64,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", check_hidden(self.hidden, "MLPGaussian"))

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return _check_real(variable, "MLPGaussian")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> MLPGaussianConditional:
        reason = self.supports(variable, parents)
        if reason:
            raise PgmArError(f"variable {variable.name!r}: {reason}")
        return MLPGaussianConditional(variable, parents, self.hidden)
