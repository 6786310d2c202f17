"""FVSBN: the fully visible sigmoid belief network, a logistic regression per pixel.

The pixel visited at step ``t`` has logits ``b_t + U_t ctx + sum_{j < t} W_{t j} x_j``: a linear
layer whose weight matrix is strictly lower-triangular in visiting order.  Only the ``D(D-1)/2``
lower-triangular weights are stored (packed), so the module's parameter count is the model's:
``D (D - 1) / 2 + D`` for binary pixels (``D (D - 1) / 2 * L^2 + D L`` with ``L > 2`` levels,
one-hot inputs and softmax outputs), plus ``D L K`` for a context of width ``K``.

>>> from pgm_ar.variables import Image
>>> FVSBN().build(Image("digit", shape=(1, 28, 28)), []).num_parameters()
307720
>>> 784 * 783 // 2 + 784
307720
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import torch
from torch import nn

from ..utils.seeding import torch_generator
from ..variables import Variable
from .autoregressive import AutoregressiveConditional, check_image, context_linear
from .base import Family


class FVSBNConditional(AutoregressiveConditional):
    """The FVSBN module for one image node (built by :class:`FVSBN`)."""

    family_name = "FVSBN"

    def __init__(self, variable: Variable, parents: Sequence[Variable], seed: int = 0) -> None:
        super().__init__(variable, parents)
        D, Li, Lo = self.num_values, self.in_width, self.out_width
        rows, cols = torch.tril_indices(D, D, offset=-1)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        gen = torch_generator(seed)
        self.weight = nn.Parameter(0.01 * torch.randn(rows.numel(), Lo, Li, generator=gen))
        self.bias = nn.Parameter(torch.zeros(D, Lo))
        self.U = context_linear(self.context_width, D * Lo, gen)

    def full_weight(self) -> torch.Tensor:
        """``(D, Lout, D, Lin)`` weights, zero on and above the diagonal (built functionally)."""
        D, Li, Lo = self.num_values, self.in_width, self.out_width
        w = self.weight.new_zeros(D, D, Lo, Li).index_put((self.rows, self.cols), self.weight)
        return w.permute(0, 2, 1, 3)

    def _base(self, ctx: Optional[torch.Tensor], n: int) -> torch.Tensor:
        base = self.bias.expand(n, -1, -1)
        if ctx is not None:
            base = base + self.U(ctx).reshape(n, self.num_values, self.out_width)  # type: ignore[misc]
        return base

    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        n, D = x_ord.shape
        x_in = self.encode_inputs(x_ord, self.weight.dtype).reshape(n, D * self.in_width)
        w = self.full_weight().reshape(D * self.out_width, D * self.in_width)
        out = (x_in @ w.t()).reshape(n, D, self.out_width) + self._base(ctx, n)
        return out.squeeze(-1) if self.levels == 2 else out

    # incremental form: the state holds every pixel's logits so far, O(D) per step
    def start(self, ctx: Optional[torch.Tensor], n: int):
        return {"logits": self._base(ctx, n).clone(), "w": self.full_weight()}

    def step(self, state, t: int) -> torch.Tensor:
        out = state["logits"][:, t]
        return out.squeeze(-1) if self.out_width == 1 else out

    def advance(self, state, t: int, value: torch.Tensor):
        enc = self.encode_value(value, state["logits"].dtype)       # (n, Lin)
        state["logits"] += torch.einsum("ni,doi->ndo", enc, state["w"][:, :, t])
        return state


@dataclass(frozen=True)
class FVSBN(Family):
    """Fully visible sigmoid belief network (masked linear), ``O(D^2)`` parameters."""

    name: ClassVar[str] = "fvsbn"
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_image(variable, "FVSBN", real=False)

    def build(self, variable: Variable, parents: Sequence[Variable]) -> FVSBNConditional:
        return FVSBNConditional(variable, parents, seed=self.seed)
