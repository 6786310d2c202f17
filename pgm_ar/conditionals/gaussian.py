"""Gaussian conditionals for real nodes: linear-Gaussian and MLP-Gaussian.

* :class:`LinearGaussian`: ``x | parents ~ Normal(w . u + b, sigma)`` with one ``sigma`` per
  node (``u``: one-hot for discrete parents, the value for real ones).  Its closed-form fit is
  least squares, with ``sigma^2`` the mean squared residual (the maximum-likelihood estimate).
  A discrete parent makes the node a mixture component per parent state; a latent discrete
  parent fitted by enumeration gives a Gaussian mixture.
* :class:`MLPGaussian`: mean and log-scale from an MLP of the parents (heteroscedastic).

**Data units.**  Gradient fitting works badly on data far from unit scale (a latent class
over values near 1000 "converges" to hundreds of nats per row).  So both conditionals hold
fixed (non-trained) *units*: a shift and a scale for the node's own values and for each input
column (real parents; one-hot and pixel columns keep 0 and 1).  The parameters act on
standardised values, ``x' = (x - shift) / scale``, and the distribution returned is in the
user's units (``Normal(shift + scale * loc', scale * sigma')``), so log-densities, samples
and means are those of the data as given.  :meth:`~pgm_ar.model.CompiledModel.fit` sets the
units from the training data before a gradient fit of a node not fitted yet; afterwards
:meth:`LinearGaussianConditional.fold_units` maps the parameters back into the user's units
exactly (it is linear) and resets the units to identity, so a fitted linear-Gaussian node's
``weight``, ``bias`` and ``log_scale`` read in the data's units.  An MLP-Gaussian node keeps
its units (its softplus scale does not fold exactly); its smallest scale is
``scale * MIN_SCALE``.  Files saved before units existed load with identity units.

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
from ..variables import Gaussian, Image, Variable
from .base import Conditional, Family, context_size, encode_context
from .mlp import check_hidden, make_mlp

#: smallest standard deviation a fit may reach (a constant column would otherwise give 0)
MIN_SCALE = 1e-6
#: (shift, scale) of values already in their units
IDENTITY = (0.0, 1.0)


def _check_real(variable: Variable, family: str) -> Optional[str]:
    if not isinstance(variable, Gaussian):
        return (f"{family} models a real (Gaussian) scalar node; {variable.name!r} is "
                f"{type(variable).__name__}" + (" (use Tabular, Logistic or MLP)"
                                                if variable.is_discrete else ""))
    return None


def _expand(t: torch.Tensor, batch_size: Optional[int]) -> torch.Tensor:
    return t if batch_size is None else t.expand((batch_size,))


class _DataUnits(Conditional):
    """The fixed units of a Gaussian conditional (see the module docstring): buffers
    ``out_units`` = ``[shift, scale]`` of the node's values, ``in_shift`` / ``in_scale`` of
    each column of the encoded parents."""

    _UNIT_BUFFERS = ("out_units", "in_shift", "in_scale")

    def _init_units(self, width: int) -> None:
        self.register_buffer("out_units", torch.tensor(IDENTITY))
        self.register_buffer("in_shift", torch.zeros(width))
        self.register_buffer("in_scale", torch.ones(width))

    def set_units(self, own: Tuple[float, float] = IDENTITY,
                  parents: Optional[Mapping[str, Tuple[float, float]]] = None) -> None:
        """Set the units: ``own`` ``(shift, scale)`` of the node's values and, per real
        parent name, that parent's (others keep identity).  Scales must be positive."""
        parents = dict(parents or {})
        shifts, scales = [], []
        for v in self.parent_vars:
            if isinstance(v, Image):
                n = v.num_pixels
            elif v.is_discrete:
                n = int(v.cardinality)  # type: ignore[arg-type]
            else:
                n = 1
            shift, scale = parents.get(v.name, IDENTITY) if n == 1 and not v.is_discrete \
                else IDENTITY
            shifts += [float(shift)] * n
            scales += [float(scale)] * n
        for scale in [own[1]] + scales:
            if not (math.isfinite(scale) and scale > 0):
                raise PgmArError(f"units of {self.variable.name!r}: scales must be positive "
                                 f"and finite, got {scale!r}")
        with torch.no_grad():
            self.out_units.copy_(torch.tensor([float(own[0]), float(own[1])]))
            self.in_shift.copy_(torch.tensor(shifts, dtype=torch.float64))
            self.in_scale.copy_(torch.tensor(scales, dtype=torch.float64))

    def _inputs(self, parent_values: Mapping[str, torch.Tensor],
                dtype: torch.dtype) -> Optional[torch.Tensor]:
        """The encoded parents in standardised units (exactly ``u`` with identity units)."""
        u = encode_context(self.parent_vars, parent_values, dtype=dtype)
        return None if u is None else (u - self.in_shift) / self.in_scale

    def _normal(self, loc: torch.Tensor, scale: torch.Tensor) -> dist.Normal:
        """The distribution in the user's units of standardised ``loc`` and ``scale``."""
        shift, unit = self.out_units[0], self.out_units[1]
        return dist.Normal(shift + unit * loc, unit * scale)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # models saved before units existed load with identity units
        defaults = {"out_units": torch.tensor(IDENTITY), "in_shift": torch.zeros(self.width),
                    "in_scale": torch.ones(self.width)}
        for name, value in defaults.items():
            state_dict.setdefault(prefix + name, value.to(getattr(self, name)))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class LinearGaussianConditional(_DataUnits):
    """``Normal(w . u + b, sigma)`` (built by :class:`LinearGaussian`)."""

    closed_form: ClassVar[bool] = True

    def __init__(self, variable: Variable, parents: Sequence[Variable]) -> None:
        super().__init__(variable, parents)
        self.width = context_size(parents)
        self.weight = nn.Parameter(torch.zeros(self.width))
        self.bias = nn.Parameter(torch.zeros(()))
        self.log_scale = nn.Parameter(torch.zeros(()))
        self._init_units(self.width)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.width:
                self.weight.normal_(0.0, 1.0 / math.sqrt(self.width))
            self.bias.zero_()
            self.log_scale.zero_()

    def _standardised_mean(self, parent_values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        u = self._inputs(parent_values, self.weight.dtype)
        return self.bias if u is None else u @ self.weight + self.bias

    def mean(self, parent_values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``E[x | parents]`` in the data's units."""
        return self.out_units[0] + self.out_units[1] * self._standardised_mean(parent_values)

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        loc = self._standardised_mean(parent_values)
        if not self.parent_vars:
            loc = _expand(loc, batch_size)
        return self._normal(loc, torch.exp(self.log_scale).expand(loc.shape))

    def fold_units(self) -> None:
        """Map the parameters into the data's units exactly and reset the units to identity
        (the distribution does not change): ``w_j <- scale * w_j / scale_j``, ``b <- shift +
        scale * (b - sum_j w_j shift_j / scale_j)``, ``log_scale <- log_scale + log(scale)``."""
        with torch.no_grad():
            shift, unit = self.out_units[0], self.out_units[1]
            w = self.weight / self.in_scale
            self.bias.copy_(shift + unit * (self.bias - (w * self.in_shift).sum()))
            self.weight.copy_(unit * w)
            self.log_scale.add_(torch.log(unit))
            self.set_units()

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
            self.set_units()  # the least-squares parameters are in the data's units
            self.weight.copy_(coef[:-1].to(self.weight))
            self.bias.copy_(coef[-1].to(self.bias))
            self.log_scale.fill_(math.log(sigma))
        # sum of Normal log-densities at the fit: -n/2 (log(2 pi sigma^2)) - RSS / (2 sigma^2)
        rss = float(torch.sum(resid ** 2))
        return -0.5 * n * math.log(2 * math.pi * sigma ** 2) - rss / (2 * sigma ** 2)


class MLPGaussianConditional(_DataUnits):
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
        self._init_units(self.width)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.root is not None:
            with torch.no_grad():
                self.root.zero_()

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        if self.net is None:
            out = self.root if batch_size is None else self.root.expand((batch_size, 2))
        else:
            out = self.net(self._inputs(parent_values, self.net[0].weight.dtype))
        loc, raw = out[..., 0], out[..., 1]
        return self._normal(loc, torch.nn.functional.softplus(raw) + MIN_SCALE)


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
