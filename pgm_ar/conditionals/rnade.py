"""RNADE: NADE for real-valued vectors, a mixture of Gaussians per conditional
(Uria, Murray & Larochelle 2013).

The hidden state is NADE's running pre-activation (``a_{t+1} = a_t + W_t x_t``, shared
weights), and each step's head gives ``C`` mixture logits, means and log standard deviations:
``p(x_t | x_<t) = sum_c pi_tc N(x_t; mu_tc, sigma_tc)``.  Parameters: ``W`` (D x H), ``c``
(H), heads ``V`` (D x H x 3C) and ``b`` (D x 3C): ``D H + H + 3 C D (H + 1)``, plus ``K H`` for a
context of width ``K``.  Log-densities are in nats of the continuous density, so bits per
dimension are only comparable between models of the same (e.g. dequantised) data.

>>> from pgm_ar.variables import Image
>>> RNADE(hidden=20, components=5).build(Image("v", shape=(1, 1, 8), levels=None), []).num_parameters()
2700
>>> 8 * 20 + 20 + 3 * 5 * 8 * (20 + 1)
2700
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import torch

from ..errors import PgmArError
from ..utils.enums import parse_enum
from ..variables import Variable
from .autoregressive import check_image
from .base import Family
from .nade import Activation, NADEConditional

_LOG_SIGMA_MIN, _LOG_SIGMA_MAX = -7.0, 7.0


class RNADEConditional(NADEConditional):
    """The RNADE module for one real-valued image / vector node (built by :class:`RNADE`)."""

    family_name = "RNADE"
    real_valued = True

    def __init__(self, variable: Variable, parents: Sequence[Variable], hidden: int,
                 components: int, activation: Activation, block: int = 16, seed: int = 0) -> None:
        if components < 1:
            raise PgmArError(f"RNADE: components must be >= 1, got {components}")
        self.components = int(components)
        super().__init__(variable, parents, hidden, activation, out_width=3 * components,
                         block=block, seed=seed)
        with torch.no_grad():  # spread the initial means so the components differ
            C = self.components
            self.b[:, C:2 * C] = torch.linspace(-1.0, 1.0, C) if C > 1 else 0.0

    def split(self, out: torch.Tensor):
        """Head outputs ``(..., 3C)`` -> (log mixture weights, means, log std devs)."""
        C = self.components
        logw = torch.log_softmax(out[..., :C], dim=-1)
        mu = out[..., C:2 * C]
        log_sigma = out[..., 2 * C:].clamp(_LOG_SIGMA_MIN, _LOG_SIGMA_MAX)
        return logw, mu, log_sigma

    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        return self.raw_outputs(x_ord, ctx)                  # (N, D, 3C)

    def pixel_log_prob(self, params: torch.Tensor, x_ord: torch.Tensor) -> torch.Tensor:
        logw, mu, log_sigma = self.split(params)
        z = (x_ord.to(params.dtype).unsqueeze(-1) - mu) * torch.exp(-log_sigma)
        comp = -0.5 * z * z - log_sigma - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(logw + comp, dim=-1)

    def step(self, state: torch.Tensor, t: int) -> torch.Tensor:
        return super().step(state, t)                        # (n, 3C)

    def sample_step(self, params: torch.Tensor) -> torch.Tensor:
        logw, mu, log_sigma = self.split(params)
        comp = torch.multinomial(logw.exp(), 1)               # (n, 1)
        m = mu.gather(-1, comp).squeeze(-1)
        s = log_sigma.gather(-1, comp).squeeze(-1).exp()
        return m + s * torch.randn_like(m)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", components={self.components}"


@dataclass(frozen=True)
class RNADE(Family):
    """RNADE over a real-valued image or vector: ``RNADE(hidden=100, components=10)``."""

    name: ClassVar[str] = "rnade"
    hidden: int = 100
    components: int = 10
    activation: str = "relu"
    block: int = 16
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_image(variable, "RNADE", real=True)

    def build(self, variable: Variable, parents: Sequence[Variable]) -> RNADEConditional:
        act = parse_enum(Activation, self.activation, "RNADE activation")
        return RNADEConditional(variable, parents, self.hidden, self.components, act,
                                block=self.block, seed=self.seed)
