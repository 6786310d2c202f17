"""MADE: the masked autoencoder for distribution estimation (Germain et al. 2015).

An MLP over the ``D`` values (in visiting order) whose weights are multiplied by binary masks
so that output ``t`` only sees inputs before ``t``.  Masks come from per-unit *degrees*: input
``t`` has degree ``rank_t + 1`` (its 1-based position in the mask's ordering), hidden units
draw degrees in ``[min(previous degrees), D - 1]``, a hidden connection exists when
``deg_prev <= deg_cur`` and an output connection when ``deg_hidden < deg_out`` (strict).  The
masks are buffers applied functionally, ``F.linear(x, W * mask, b)``: the weights themselves
are never overwritten, so resampling masks loses nothing.

``num_masks = K`` fixes ``K`` mask sets (seeds ``seed .. seed + K - 1``).  Mask set 0 always
keeps the declared ordering; with ``natural_ordering=False`` the others also draw a random
ordering (order-agnostic training), with ``True`` they keep the declared ordering and differ
in connectivity only.  In training mode each call of the module (one training step) moves to
the next mask set, cyclically (:meth:`MADEConditional.next_mask` does it by hand).  In eval
mode with ``K > 1`` the distribution is the ensemble, an equal mixture of the ``K`` members:
``log p(x) = logsumexp_k log p_k(x) - log K``, i.e. probabilities are averaged, never logits.

A context from the parents is connected (unmasked) to every unit of the first hidden layer and
directly to every output, since the first value in an ordering has no hidden unit that may
reach it.
Parameters (binary pixels, one hidden layer of ``H``): ``2 D H + D + H``; in general
``sum of (fan_in + 1) * fan_out`` over the layers, with ``D L`` inputs and outputs for
``L > 2`` levels, plus ``K (H_1 + D L)`` for a context of width ``K``.

>>> from pgm_ar.variables import Image
>>> MADE(hidden=(500,)).build(Image("digit", shape=(1, 28, 28)), []).num_parameters()
785284
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import PgmArError
from ..utils.seeding import torch_generator
from ..variables import Variable
from .autoregressive import (context_linear, ApproximateCompletionWarning, AutoregressiveConditional,
                             AutoregressiveDistribution, observed_first, check_image)
from .base import Family


class MADEConditional(AutoregressiveConditional):
    """The MADE module for one image node (built by :class:`MADE`)."""

    family_name = "MADE"

    def __init__(self, variable: Variable, parents: Sequence[Variable],
                 hidden: Sequence[int], num_masks: int = 1, natural_ordering: bool = False,
                 seed: int = 0) -> None:
        super().__init__(variable, parents)
        hidden = tuple(int(h) for h in hidden)
        if not hidden or min(hidden) < 1:
            raise PgmArError(f"MADE: hidden must be a non-empty list of positive sizes, got {hidden}")
        if num_masks < 1:
            raise PgmArError(f"MADE: num_masks must be >= 1, got {num_masks}")
        self.hidden = hidden
        self.num_masks = int(num_masks)
        self.natural_ordering = bool(natural_ordering)
        self.seed = int(seed)
        self.ensemble = True  # eval-mode distributions average all members when K > 1
        D, Li, Lo = self.num_values, self.in_width, self.out_width
        sizes = [D * Li, *hidden, D * Lo]
        gen = torch_generator(seed)
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            lin = nn.Linear(fan_in, fan_out)
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-bound, bound, generator=gen)
            self.layers.append(lin)
        # the context feeds every first-layer unit and, directly, every output (the first
        # value in the ordering has no hidden unit allowed to reach it)
        self.ctx_layer = context_linear(self.context_width, hidden[0], gen)
        self.ctx_out = context_linear(self.context_width, D * Lo, gen)
        # all K degree sets are fixed by the seeds; the current masks are derived buffers
        ranks, hdegs = zip(*(self._degrees(m) for m in range(self.num_masks)))
        self.register_buffer("ranks", torch.stack(ranks))                      # (K, D)
        for li in range(len(hidden)):
            self.register_buffer(f"degrees{li}", torch.stack([h[li] for h in hdegs]))
        self.register_buffer("mask_index", torch.zeros((), dtype=torch.long))
        for li, lin in enumerate(self.layers):
            self.register_buffer(f"mask{li}", torch.ones_like(lin.weight))
        self._set_masks(0)

    # ------------------------------------------------------------------ masks
    def _degrees(self, m: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """(rank of each ordered position in mask ``m``'s ordering, hidden degrees per layer)."""
        D = self.num_values
        rng = np.random.default_rng(self.seed + m)
        if m == 0 or self.natural_ordering:
            rank = np.arange(D)
        else:
            rank = rng.permutation(D)
        prev = rank + 1
        degs = []
        for h in self.hidden:
            low = int(prev.min())
            high = max(low, D - 1)
            prev = rng.integers(low, high + 1, size=h)
            degs.append(torch.as_tensor(prev, dtype=torch.long))
        return torch.as_tensor(rank, dtype=torch.long), degs

    def masks_for(self, m: int) -> List[torch.Tensor]:
        """The layer masks of member ``m`` (``(fan_out, fan_in)`` each)."""
        Li, Lo = self.in_width, self.out_width
        deg_in = (self.ranks[m] + 1).repeat_interleave(Li)
        prev = deg_in
        masks = []
        for li in range(len(self.hidden)):
            cur = getattr(self, f"degrees{li}")[m]
            masks.append((cur[:, None] >= prev[None, :]).to(self.layers[li].weight.dtype))
            prev = cur
        deg_out = (self.ranks[m] + 1).repeat_interleave(Lo)
        masks.append((deg_out[:, None] > prev[None, :]).to(self.layers[-1].weight.dtype))
        return masks

    def _set_masks(self, m: int) -> None:
        for li, mask in enumerate(self.masks_for(m)):
            getattr(self, f"mask{li}").copy_(mask)
        self.mask_index.fill_(m)

    def next_mask(self) -> int:
        """Move to the next of the ``num_masks`` fixed mask sets (cyclically); returns its index."""
        m = (int(self.mask_index) + 1) % self.num_masks
        if self.num_masks > 1:  # one mask set stays as built: nothing to recompute
            self._set_masks(m)
        return m

    def current_masks(self) -> List[torch.Tensor]:
        return [getattr(self, f"mask{li}") for li in range(len(self.layers))]

    # ------------------------------------------------------------------ passes
    def _net(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor],
             masks: Sequence[torch.Tensor]) -> torch.Tensor:
        h = x_in
        for li, (lin, mask) in enumerate(zip(self.layers, masks)):
            h = F.linear(h, lin.weight * mask, lin.bias)
            if li == 0 and ctx is not None:
                h = h + self.ctx_layer(ctx)  # type: ignore[misc]
            if li < len(self.layers) - 1:
                h = torch.relu(h)
        if ctx is not None:
            h = h + self.ctx_out(ctx)  # type: ignore[misc]
        return h

    def member_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor],
                      masks: Sequence[torch.Tensor]) -> torch.Tensor:
        n, D = x_ord.shape
        x_in = self.encode_inputs(x_ord, self.layers[0].weight.dtype).reshape(n, D * self.in_width)
        out = self._net(x_in, ctx, masks).reshape(n, D, self.out_width)
        return out.squeeze(-1) if self.levels == 2 else out

    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """Logits of the current mask set (a single member)."""
        return self.member_params(x_ord, ctx, self.current_masks())

    def member_log_probs(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``log p_k(x)`` of every member, ``(K, N)``."""
        return torch.stack([
            self.pixel_log_prob(self.member_params(x_ord, ctx, self.masks_for(m)), x_ord).sum(-1)
            for m in range(self.num_masks)])

    # incremental form: the first layer's pre-activation is a running sum; upper layers and
    # only the output row of the visited value are recomputed
    def start(self, ctx: Optional[torch.Tensor], n: int):
        lin0 = self.layers[0]
        a = lin0.bias.expand(n, -1).clone()
        if ctx is not None:
            a = a + self.ctx_layer(ctx)  # type: ignore[misc]
        masks = self.current_masks()
        out_ctx = None if ctx is None else self.ctx_out(ctx)  # type: ignore[misc]
        return {"a": a, "w0": (lin0.weight * masks[0]), "masks": masks, "out_ctx": out_ctx}

    def step(self, state, t: int) -> torch.Tensor:
        h = torch.relu(state["a"])
        masks = state["masks"]
        for li in range(1, len(self.layers) - 1):
            h = torch.relu(F.linear(h, self.layers[li].weight * masks[li], self.layers[li].bias))
        last = self.layers[-1]
        Lo = self.out_width
        rows = slice(t * Lo, (t + 1) * Lo)
        out = F.linear(h, last.weight[rows] * masks[-1][rows], last.bias[rows])
        if state["out_ctx"] is not None:
            out = out + state["out_ctx"][:, rows]
        return out.squeeze(-1) if Lo == 1 else out

    def advance(self, state, t: int, value: torch.Tensor):
        Li = self.in_width
        cols = state["w0"][:, t * Li:(t + 1) * Li]                   # (H1, Li)
        state["a"] = state["a"] + self.encode_value(value, cols.dtype) @ cols.t()
        return state

    def step_positions(self):
        # visit positions in the current member's ordering: position p has rank ranks[m, p]
        return torch.argsort(self.ranks[int(self.mask_index)]).tolist()

    def forward(self, parent_values, batch_size=None) -> "MADEDistribution":
        if self.training and self.num_masks > 1:
            self.next_mask()
        base = super().forward(parent_values, batch_size)
        members = (list(range(self.num_masks)) if (not self.training and self.ensemble
                                                   and self.num_masks > 1)
                   else [int(self.mask_index)])
        return MADEDistribution(self, base.ctx, base.batch_shape, members)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", hidden={self.hidden}, num_masks={self.num_masks}, "
                f"natural_ordering={self.natural_ordering}")


class MADEDistribution(AutoregressiveDistribution):
    """A MADE member, or the equal mixture of several members (the ensemble)."""

    def __init__(self, model: MADEConditional, context, batch_shape, members: Sequence[int]):
        self.members = tuple(members)
        super().__init__(model, context, batch_shape)

    def _with_member(self, m: int):
        model: MADEConditional = self.model  # type: ignore[assignment]
        old = int(model.mask_index)
        if old != m:
            model._set_masks(m)
        return old

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if len(self.members) == 1:
            old = self._with_member(self.members[0])
            try:
                return super().log_prob(value)
            finally:
                self._with_member(old)
        x_ord, ctx, shape = self._prepare(value)
        lp = self.member_log_probs(x_ord, ctx)
        return (torch.logsumexp(lp, 0) - math.log(len(self.members))).reshape(shape)

    def member_log_probs(self, x_ord: torch.Tensor, ctx) -> torch.Tensor:
        model: MADEConditional = self.model  # type: ignore[assignment]
        return torch.stack([
            model.pixel_log_prob(model.member_params(x_ord, ctx, model.masks_for(m)), x_ord).sum(-1)
            for m in self.members])

    def _per_member(self, ctx, n: int, choose: torch.Tensor, run) -> torch.Tensor:
        out = None
        for j, m in enumerate(self.members):
            rows = (choose == j).nonzero().squeeze(-1)
            if rows.numel() == 0:
                continue
            old = self._with_member(m)
            try:
                part = run(rows, None if ctx is None else ctx[rows])
            finally:
                self._with_member(old)
            if out is None:
                out = part.new_zeros((n,) + part.shape[1:])
            out[rows] = part
        return out  # type: ignore[return-value]

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Mixture sampling: pick a member uniformly per draw, then ``D`` sequential steps in
        that member's ordering."""
        shape = torch.Size(sample_shape) + self.batch_shape
        n = int(math.prod(shape))
        ctx = self._flat_context(shape)
        choose = torch.randint(len(self.members), (n,))
        with torch.no_grad():
            x_ord = self._per_member(ctx, n, choose,
                                     lambda rows, c: self.model.run_sequential(c, rows.numel()))
        return self._finish(x_ord, shape)

    def complete(self, value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Inpainting with the ensemble: draw a member from its posterior given the observed
        pixels (exact when they precede the missing ones in every member's ordering), then
        complete with it.  See :meth:`AutoregressiveDistribution.complete`."""
        model: MADEConditional = self.model  # type: ignore[assignment]
        x_ord, ctx, shape = self._prepare(value)
        n = x_ord.shape[0]
        mask_t = torch.as_tensor(mask, dtype=torch.bool).expand(shape + self.event_shape)
        m_ord = model.to_ordered(mask_t.reshape((n,) + self.event_shape))
        exact = all(observed_first(m_ord, torch.argsort(model.ranks[m]).tolist())
                    for m in self.members)
        if not exact:
            warnings.warn(
                f"completing image {model.variable.name!r}: some observed pixels come after "
                "missing ones in a member's ordering, so the completion is approximate",
                ApproximateCompletionWarning, stacklevel=2)
        with torch.no_grad():
            # log p_k(observed): sum of the observed pixels' conditionals (exact when observed
            # pixels come first, since those conditionals then see observed pixels only)
            post = torch.stack([
                (model.pixel_log_prob(model.member_params(x_ord, ctx, model.masks_for(m)), x_ord)
                 * m_ord).sum(-1) for m in self.members], dim=1)           # (n, K)
            choose = torch.multinomial(torch.softmax(post, dim=1), 1).squeeze(-1)
            out = self._per_member(ctx, n, choose, lambda rows, c: model.run_sequential(
                c, rows.numel(), observed=x_ord[rows], observed_mask=m_ord[rows]))
        return self._finish(out, shape)


@dataclass(frozen=True)
class MADE(Family):
    """MADE over a discrete image: ``MADE(hidden=(500,), num_masks=1, natural_ordering=False)``."""

    name: ClassVar[str] = "made"
    hidden: Tuple[int, ...] = (500,)
    num_masks: int = 1
    natural_ordering: bool = False
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_image(variable, "MADE", real=False)

    def build(self, variable: Variable, parents: Sequence[Variable]) -> MADEConditional:
        return MADEConditional(variable, parents, self.hidden, self.num_masks,
                               self.natural_ordering, self.seed)
