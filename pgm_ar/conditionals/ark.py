"""AR-k: each pixel depends on the ``k`` pixels visited just before it (a Markov chain of
order ``k`` along the ordering).

* Binary pixels and ``k <= tabular_max_k``: a table of logits per pixel, one row per
  configuration of its (up to ``k``) predecessors.  The pixel at step ``t`` has
  ``2^min(t, k)`` rows; the rows are stored packed, so the parameter count is the Markov
  model's ``sum_t 2^min(t, k)`` (1567 for ``k = 1``, ``D = 784``).
* Otherwise: a logistic regression on the one-hot (for ``levels > 2``) values of the ``k``
  predecessors: ``D k L^2 + D L`` weights (``L = 1`` input / output width for binary pixels);
  the first ``k`` pixels have fewer predecessors and their missing inputs are zero.

A context adds ``U_t ctx`` to every pixel's logits (``D L K`` parameters).

>>> from pgm_ar.variables import Image
>>> ARk(k=1).build(Image("digit", shape=(1, 28, 28)), []).num_parameters()
1567
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import torch
from torch import nn

from ..errors import PgmArError
from ..utils.seeding import torch_generator
from ..variables import Variable
from .autoregressive import AutoregressiveConditional, check_image, context_linear
from .base import Family


class ARkConditional(AutoregressiveConditional):
    """The AR-k module for one image node (built by :class:`ARk`)."""

    family_name = "ARk"

    def __init__(self, variable: Variable, parents: Sequence[Variable], k: int,
                 tabular_max_k: int = 12, seed: int = 0) -> None:
        super().__init__(variable, parents)
        if k < 0:
            raise PgmArError(f"ARk: k must be >= 0, got {k}")
        D = self.num_values
        self.k = int(min(k, D - 1))
        self.tabular = self.levels == 2 and self.k <= tabular_max_k
        Lo, Li = self.out_width, self.in_width
        gen = torch_generator(seed)
        if self.tabular:
            sizes = [2 ** min(t, self.k) for t in range(D)]
            offsets = torch.tensor([0] + sizes[:-1]).cumsum(0)
            self.register_buffer("offsets", offsets, persistent=False)
            self.register_buffer("powers", 2 ** torch.arange(self.k), persistent=False)
            self.table = nn.Parameter(0.01 * torch.randn(sum(sizes), generator=gen))
        else:
            self.weight = nn.Parameter(0.01 * torch.randn(D, self.k, Lo, Li, generator=gen))
            self.bias = nn.Parameter(torch.zeros(D, Lo))
        self.U = context_linear(self.context_width, D * Lo, gen)

    def _window(self, x_in: torch.Tensor) -> torch.Tensor:
        """``(n, D, Lin)`` -> ``(n, D, k, Lin)``: entry ``[:, t, j]`` is step ``t - 1 - j`` (zero
        before the first step)."""
        n, D, Li = x_in.shape
        padded = torch.cat([x_in.new_zeros(n, self.k, Li), x_in], dim=1)
        win = padded.unfold(1, self.k, 1)[:, :D]            # (n, D, Li, k): steps t-k .. t-1
        return win.flip(-1).permute(0, 1, 3, 2)

    def _ctx_term(self, ctx: Optional[torch.Tensor], n: int) -> Optional[torch.Tensor]:
        if ctx is None:
            return None
        return self.U(ctx).reshape(n, self.num_values, self.out_width)  # type: ignore[misc]

    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        n, D = x_ord.shape
        dtype = self.table.dtype if self.tabular else self.weight.dtype
        x_in = self.encode_inputs(x_ord, dtype)
        if self.k == 0:
            win = x_in.new_zeros(n, D, 0, x_in.shape[-1])
        else:
            win = self._window(x_in)
        if self.tabular:
            code = (win[..., 0].round().long() * self.powers).sum(-1)        # (n, D)
            out = self.table[self.offsets + code].unsqueeze(-1)
        else:
            out = torch.einsum("ntji,tjoi->nto", win, self.weight) + self.bias
        extra = self._ctx_term(ctx, n)
        if extra is not None:
            out = out + extra
        return out.squeeze(-1) if self.levels == 2 else out

    # incremental form: the state keeps the values so far (only the last k are read)
    def start(self, ctx: Optional[torch.Tensor], n: int):
        p = next(self.parameters())
        return {"x": torch.zeros(n, self.num_values, self.in_width, dtype=p.dtype, device=p.device),
                "ctx": self._ctx_term(ctx, n)}

    def step(self, state, t: int) -> torch.Tensor:
        x_in = state["x"]
        kk = min(t, self.k)
        prev = x_in[:, t - kk:t].flip(1)                   # (n, kk, Lin), most recent first
        if self.tabular:
            code = (prev[..., 0].round().long() * self.powers[:kk]).sum(-1)
            out = self.table[self.offsets[t] + code].unsqueeze(-1)
        else:
            out = torch.einsum("nji,joi->no", prev, self.weight[t, :kk]) + self.bias[t]
        if state["ctx"] is not None:
            out = out + state["ctx"][:, t]
        return out.squeeze(-1) if self.out_width == 1 else out

    def advance(self, state, t: int, value: torch.Tensor):
        state["x"][:, t] = self.encode_value(value, state["x"].dtype)
        return state


@dataclass(frozen=True)
class ARk(Family):
    """Markov model of order ``k`` along the ordering: ``ARk(k=1)``.

    Tabular for binary pixels when ``k <= tabular_max_k``, logistic otherwise.
    """

    name: ClassVar[str] = "ark"
    k: int = 1
    tabular_max_k: int = 12
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_image(variable, "ARk", real=False)

    def build(self, variable: Variable, parents: Sequence[Variable]) -> ARkConditional:
        return ARkConditional(variable, parents, self.k, self.tabular_max_k, self.seed)
