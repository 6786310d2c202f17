"""NADE: the neural autoregressive distribution estimator (Larochelle & Murray 2011).

For the pixel visited at step ``t`` (ordered coordinates, see :mod:`.autoregressive`)::

    a_t = c + U ctx + sum_{j < t} W_j x_j          (running pre-activation, a_0 = c + U ctx)
    h_t = act(a_t)
    logits_t = V_t h_t + b_t                       (Bernoulli logit, or softmax logits)

``a_{t+1} = a_t + W_t x_t``, so all ``D`` conditionals cost ``O(D H)`` per example.
:func:`nade_outputs` computes them with a fused kernel (a custom autograd function) that walks
the pixels in blocks, keeps only one ``(block, N, H)`` slab of activations alive, and recomputes
it in the backward pass, so the ``(N, D, H)`` tensor of all pre-activations is never stored.
Sampling keeps ``a`` and costs ``D`` sequential ``O(H)`` steps per sample.

Parameters (binary pixels, no context): ``W`` (D x H), ``V`` (D x H), ``b`` (D), ``c`` (H):
``2 D H + D + H``.  With ``L > 2`` levels the input is one-hot and the output a softmax:
``2 D L H + D L + H``.  A context of width ``K`` adds ``K H`` (``U``).

>>> from pgm_ar.variables import Image
>>> NADE(hidden=500).build(Image("digit", shape=(1, 28, 28)), []).num_parameters()
785284
>>> 2 * 784 * 500 + 784 + 500
785284
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Optional, Sequence

import torch
from torch import nn

from ..errors import PgmArError
from ..utils.enums import parse_enum
from ..utils.seeding import torch_generator
from ..variables import Variable
from .autoregressive import AutoregressiveConditional, check_image, context_linear
from .base import Family


class Activation(str, Enum):
    SIGMOID = "sigmoid"
    TANH = "tanh"
    RELU = "relu"


def _act(a: torch.Tensor, kind: Activation) -> torch.Tensor:
    if kind is Activation.SIGMOID:
        return torch.sigmoid(a)
    if kind is Activation.TANH:
        return torch.tanh(a)
    return torch.relu(a)


def _act_(a: torch.Tensor, kind: Activation) -> torch.Tensor:
    """In-place activation (the pre-activation slab is recomputed when needed again)."""
    if kind is Activation.SIGMOID:
        return a.sigmoid_()
    if kind is Activation.TANH:
        return a.tanh_()
    return a.relu_()


def _act_grad_(h: torch.Tensor, kind: Activation) -> torch.Tensor:
    """``act'(a)`` from ``h = act(a)``, overwriting ``h``."""
    if kind is Activation.SIGMOID:
        return h.addcmul_(h, h, value=-1.0)  # h (1 - h)
    if kind is Activation.TANH:
        return h.mul_(h).neg_().add_(1.0)  # 1 - h^2
    return (h > 0).to(h.dtype)


class _RunningNade(torch.autograd.Function):
    """All NADE output heads in one blocked pass, O(D H) time, O(block N H) extra memory.

    Inputs are in step-major layout: ``x`` (D, N, Lin), ``W`` (D, Lin, H), ``c`` (N, H),
    ``V`` (D, H, Lout), ``b`` (D, Lout); the output is (D, N, Lout).  Work buffers are
    allocated once per call and written with ``out=``: fresh large allocations cost page
    faults that were measured to double the time of the elementwise steps.
    """

    @staticmethod
    def _block_preact(xs, Ws, A, s, e, rows, nxt):
        """Pre-activations of steps ``s..e-1`` into ``rows[:e-s]`` (views of one buffer)
        starting from ``A``; the running sum after the block goes to ``nxt`` (when given).
        ``xs``, ``Ws`` are the per-step views of ``x`` and ``W`` (unbound once per call)."""
        k = e - s
        rows[0].copy_(A)
        lin = xs[0].shape[-1]
        for i in range(1, k + (nxt is not None)):
            dst = rows[i] if i < k else nxt
            if lin == 1:
                torch.addcmul(rows[i - 1], xs[s + i - 1], Ws[s + i - 1], out=dst)
            else:
                torch.addmm(rows[i - 1], xs[s + i - 1], Ws[s + i - 1], out=dst)

    @staticmethod
    def forward(ctx, x, W, c, V, b, activation: Activation, block: int):  # type: ignore[override]
        D, N, _ = x.shape
        H = W.shape[-1]
        Lout = V.shape[-1]
        nblocks = -(-D // block)
        opts = dict(dtype=W.dtype, device=W.device)
        out = torch.empty(D, N, Lout, **opts)
        buf = torch.empty(min(block, D), N, H, **opts)
        tmp = torch.empty_like(buf)
        starts = torch.empty(nblocks + 1, N, H, **opts)
        starts[0].copy_(c)
        xs, Ws, rows = x.unbind(0), W.unbind(0), buf.unbind(0)
        for bi in range(nblocks):
            s, e = bi * block, min((bi + 1) * block, D)
            _RunningNade._block_preact(xs, Ws, starts[bi], s, e, rows, starts[bi + 1])
            h = _act_(buf[:e - s], activation)
            if Lout == 1:
                # (k, N, H) * (k, 1, H) summed over H: faster than a batched mat-vec here
                t = torch.mul(h, V[s:e, :, 0].unsqueeze(1), out=tmp[:e - s])
                torch.sum(t, dim=-1, out=out[s:e, :, 0])
            else:
                torch.bmm(h, V[s:e], out=out[s:e])
        out += b.unsqueeze(1)
        ctx.save_for_backward(x, W, V, starts)
        ctx.activation, ctx.block = activation, block
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):  # type: ignore[override]
        x, W, V, starts = ctx.saved_tensors
        activation, block = ctx.activation, ctx.block
        D, N, Lin = x.shape
        Lout = V.shape[-1]
        need_x = ctx.needs_input_grad[0]
        g = g.contiguous()
        gW = torch.empty_like(W)
        gV = torch.empty_like(V)
        gx = torch.empty_like(x) if need_x else None
        buf = torch.empty_like(starts[0]).expand(min(block, D), -1, -1).contiguous()
        tmp = torch.empty_like(buf)
        sbuf = torch.empty_like(buf)
        R = torch.zeros_like(starts[0])  # sum of da over the steps after the current one
        xs, Ws, rows, srows = x.unbind(0), W.unbind(0), buf.unbind(0), sbuf.unbind(0)
        for bi in range(starts.shape[0] - 2, -1, -1):
            s, e = bi * block, min((bi + 1) * block, D)
            k = e - s
            _RunningNade._block_preact(xs, Ws, starts[bi], s, e, rows, None)
            h = _act_(buf[:k], activation)
            gb = g[s:e]                                        # (k, N, Lout)
            if Lout == 1:
                torch.bmm(gb.transpose(1, 2), h, out=gV[s:e].transpose(1, 2))
                dh = torch.mul(gb, V[s:e, :, 0].unsqueeze(1), out=tmp[:k])
            else:
                torch.bmm(h.transpose(1, 2), gb, out=gV[s:e])
                dh = torch.bmm(gb, V[s:e].transpose(1, 2), out=tmp[:k])
            da = dh.mul_(_act_grad_(h, activation))
            # S_t = sum_{i > t} da_i: a reverse running sum, carried across blocks in R
            S = sbuf[:k]
            dars = da.unbind(0)
            srows[k - 1].copy_(R)
            for i in range(k - 2, -1, -1):
                torch.add(srows[i + 1], dars[i + 1], out=srows[i])
            R = torch.add(srows[0], dars[0])
            xb = x[s:e]                                        # (k, N, Lin)
            torch.bmm(xb.transpose(1, 2), S, out=gW[s:e])
            if need_x:
                if Lin == 1:
                    t = torch.mul(S, W[s:e, 0].unsqueeze(1), out=tmp[:k])
                    torch.sum(t, dim=-1, out=gx[s:e, :, 0])  # type: ignore[index]
                else:
                    torch.bmm(S, W[s:e].transpose(1, 2), out=gx[s:e])  # type: ignore[index]
        return gx, gW, R, gV, g.sum(1), None, None


def nade_outputs(x_in: torch.Tensor, W: torch.Tensor, c: torch.Tensor, V: torch.Tensor,
                 b: torch.Tensor, activation: Activation = Activation.SIGMOID,
                 block: int = 16, impl: str = "auto") -> torch.Tensor:
    """Output heads of all NADE steps: ``V_t act(c + sum_{j<t} W_j x_j) + b_t``.

    Parameters
    ----------
    x_in
        ``(N, D, Lin)`` encoded inputs in visiting order.
    W, c, V, b
        ``(D, Lin, H)``, ``(N, H)`` (bias plus context term), ``(D, H, Lout)``, ``(D, Lout)``.
    impl
        ``"fused"``: blocked custom-autograd kernel (the CPU default; ``O(block N H)`` memory);
        ``"cumsum"``: materialise all ``(N, D, H)`` pre-activations with an exclusive cumsum
        (the CUDA default, where memory bandwidth is plentiful and launches are costly).

    Returns
    -------
    ``(N, D, Lout)``.
    """
    if impl == "auto":
        impl = "cumsum" if x_in.is_cuda else "fused"
    if impl == "cumsum":
        contrib = torch.einsum("ndl,dlh->ndh", x_in, W)
        a = torch.cumsum(contrib, dim=1) - contrib + c.unsqueeze(1)
        return torch.einsum("ndh,dho->ndo", _act(a, activation), V) + b
    if impl != "fused":
        raise PgmArError(f"unknown NADE implementation {impl!r}: use 'fused' or 'cumsum'")
    dtype = W.dtype
    out = _RunningNade.apply(x_in.to(dtype).transpose(0, 1).contiguous(), W.contiguous(),
                             c.to(dtype).contiguous(), V.contiguous(), b, activation, int(block))
    return out.transpose(0, 1)


class NADEConditional(AutoregressiveConditional):
    """The NADE module for one image node (built by :class:`NADE`)."""

    family_name = "NADE"
    real_valued = False

    def __init__(self, variable: Variable, parents: Sequence[Variable], hidden: int,
                 activation: Activation, out_width: Optional[int] = None, block: int = 16,
                 seed: int = 0) -> None:
        super().__init__(variable, parents)
        if hidden < 1:
            raise PgmArError(f"{self.family_name}: hidden must be >= 1, got {hidden}")
        self.hidden = int(hidden)
        self.activation = parse_enum(Activation, activation, "NADE activation")
        self.block = int(block)
        self.impl = "auto"
        if out_width is not None:
            self.out_width = int(out_width)
        D, H = self.num_values, self.hidden
        gen = torch_generator(seed)
        self.W = nn.Parameter(torch.randn(D, self.in_width, H, generator=gen) / math.sqrt(D))
        self.c = nn.Parameter(torch.zeros(H))
        self.V = nn.Parameter(torch.randn(D, H, self.out_width, generator=gen) / math.sqrt(H))
        self.b = nn.Parameter(torch.zeros(D, self.out_width))
        self.U = context_linear(self.context_width, H, gen)

    def hidden_bias(self, ctx: Optional[torch.Tensor], n: int) -> torch.Tensor:
        """``c + U ctx`` as ``(n, H)``."""
        if ctx is None:
            return self.c.expand(n, self.hidden)
        return self.c + self.U(ctx)  # type: ignore[misc]

    def raw_outputs(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``(N, D, out_width)`` head outputs for all steps in one pass."""
        x_in = self.encode_inputs(x_ord, self.W.dtype)
        return nade_outputs(x_in, self.W, self.hidden_bias(ctx, x_ord.shape[0]), self.V, self.b,
                            self.activation, self.block, self.impl)

    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        out = self.raw_outputs(x_ord, ctx)
        return out.squeeze(-1) if self.levels == 2 else out

    # incremental form: the state is the running pre-activation a (n, H)
    def start(self, ctx: Optional[torch.Tensor], n: int) -> torch.Tensor:
        return self.hidden_bias(ctx, n).clone()

    def step(self, state: torch.Tensor, t: int) -> torch.Tensor:
        out = torch.addmm(self.b[t], _act(state, self.activation), self.V[t])
        return out.squeeze(-1) if self.out_width == 1 else out

    def advance(self, state: torch.Tensor, t: int, value: torch.Tensor) -> torch.Tensor:
        if self.in_width == 1:
            return state.addcmul_(value.to(state.dtype).unsqueeze(-1), self.W[t, 0])
        return state.addmm_(self.encode_value(value, state.dtype), self.W[t])

    def run_sequential(self, ctx, n, observed=None, observed_mask=None):
        if observed_mask is not None or self.levels != 2 or type(self) is not NADEConditional:
            return super().run_sequential(ctx, n, observed, observed_mask)
        # binary sampling, tight loop: x_t = [logit_t > logit(u_t)] is a Bernoulli(sigmoid(logit_t))
        # draw without a sigmoid per step; the state is the running pre-activation a
        D = self.num_values
        a = self.start(ctx, n)
        u = torch.rand(D, n, dtype=a.dtype, device=a.device)
        thresh = torch.log(u) - torch.log1p(-u)
        out = torch.empty(D, n, dtype=a.dtype, device=a.device)
        h = torch.empty_like(a)
        logit = torch.empty(n, dtype=a.dtype, device=a.device)
        V, b, W = self.V[:, :, 0], self.b[:, 0], self.W[:, 0]
        act = self.activation
        for t in range(D):
            h = _act(a, act) if act is not Activation.SIGMOID else torch.sigmoid(a, out=h)
            torch.addmv(b[t], h, V[t], out=logit)
            torch.gt(logit, thresh[t], out=out[t])
            a.addcmul_(out[t].unsqueeze(-1), W[t])
        return out.t()

    def features(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``act(c + U ctx + sum_j W_j x_j)``: the hidden state after all ``D`` pixels.

        This is the representation the model would use for a next pixel; it summarises the
        whole image with the shared weights (``(N, H)``), one matrix product.
        """
        x_in = self.encode_inputs(x_ord, self.W.dtype)
        a = self.hidden_bias(ctx, x_ord.shape[0]) + torch.einsum("ndl,dlh->nh", x_in, self.W)
        return _act(a, self.activation)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", hidden={self.hidden}, activation={self.activation.value}"


@dataclass(frozen=True)
class NADE(Family):
    """NADE over a discrete image: ``NADE(hidden=500, activation="sigmoid")``.

    Bernoulli outputs (logits) for binary pixels, a softmax for ``levels > 2``; a context from
    the parents enters the hidden pre-activation (``c + U ctx``).
    """

    name: ClassVar[str] = "nade"
    hidden: int = 500
    activation: str = "sigmoid"
    block: int = 16
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_image(variable, "NADE", real=False)

    def build(self, variable: Variable, parents: Sequence[Variable]) -> NADEConditional:
        act = parse_enum(Activation, self.activation, "NADE activation")
        return NADEConditional(variable, parents, self.hidden, act, block=self.block,
                               seed=self.seed)
