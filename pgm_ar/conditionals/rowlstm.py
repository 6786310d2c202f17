"""Row LSTM (van den Oord et al. 2016, "Pixel recurrent neural networks", section 3.1).

An LSTM that runs down the image one *row* at a time and computes a whole row at once: the
state of pixel ``(i, j)`` comes from the row above through a ``1 x k`` convolution of that
row's hidden states.  With ``r = k // 2``, ``F`` hidden units and ``L`` layers::

    u_0 = conv_A^{k0 x k0}(x) + U_0 ctx
    for l = 1 .. L, over the rows i = 0 .. H-1 with h_{l,-1} = c_{l,-1} = 0:
        [i, f, o, g]_{l,i} = K^is_l * u_{l-1}[row i] + K^ss_l * h_{l,i-1} + b_l + U_l ctx
        c_{l,i} = sigmoid(f) . c_{l,i-1} + sigmoid(i) . tanh(g)
        h_{l,i} = sigmoid(o) . tanh(c_{l,i})
    u_l = u_{l-1} + h_l                                        (residual connection)

and ``u_L`` goes to the output head.  ``K^is`` (input-to-state) is a masked ``1 x (r+1)``
convolution of the layer's input along row ``i``, reading columns ``j - r .. j`` (mask ``B``:
the centre only from earlier-or-equal colour groups; the columns right of ``j`` are the ones
the paper's ``1 x k`` mask drops, so they are not stored); the ``4F`` gate units are split
into colour groups so that every gate of unit ``h`` is in ``h``'s group.  ``K^ss``
(state-to-state) is an unmasked ``1 x k`` convolution of the previous row's hidden states
``h_{i-1}`` at columns ``j - r .. j + r``: the row above is entirely before row ``i``.

The context of a pixel is therefore a *triangle* above it that widens by ``r`` columns on
each side per row upward (plus the reach of the first kernel), and, in its own row, only the
few pixels to its left within the first kernel and the input-to-state kernels (``r0 + L r``
columns, ``r0 = k0 // 2``), not the whole row: pixels far to the upper right or left of a
pixel come before it in raster order yet are never seen (``pgm-ar draw SPEC --kind context``
shows the pattern, computed from the gradient).  The Diagonal BiLSTM sees all of them.

Sampling keeps the recurrent states: per layer the previous row's ``h`` and ``c`` and the
current row's, plus the current row's layer inputs.  When row ``i`` starts, the
state-to-state term of the whole row is one ``1 x k`` convolution of the previous row's
``h``; each pixel then costs the first layer at one position and, per layer, one
input-to-state window and one LSTM cell; when the row ends the current states become the
previous ones (a swap, no recomputation).  A whole image costs about one forward pass
(``C`` cheap evaluations per pixel for colour images) instead of ``C H W`` of them.

Parameters (binary, one colour channel, ``F`` hidden units, ``L`` layers, first kernel ``k0``,
row kernel ``k = 2 r + 1``; masked weights are stored and counted; no parents):
``F (k0^2 + 1) + L 4F (F (r + 1) + F k + 1) + (F^2 + F) + (F + 1)``.

>>> from pgm_ar.variables import Image
>>> RowLSTM(hidden=16, layers=2).build(Image("x", shape=(1, 8, 8)), []).num_parameters()
11457
>>> 16 * (49 + 1) + 2 * 4 * 16 * (16 * 2 + 16 * 3 + 1) + (16 * 16 + 16) + (16 + 1)
11457
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..variables import Variable
from .base import Family
from .grid import GridConditional, check_grid_image
from .masked_conv import MaskType, MaskedConv2d, channel_groups, groups_of, \
    seeded_uniform_

__all__ = ["RowLSTM", "RowLSTMConditional", "RowLSTMLayer"]


def _cell(z: torch.Tensor, c_prev: torch.Tensor):
    """The LSTM cell from the ``4F`` gate pre-activations ``[i, f, o, g]`` along dim 1."""
    hidden = c_prev.shape[1]
    s = torch.sigmoid(z[:, :3 * hidden])
    g = torch.tanh(z[:, 3 * hidden:])
    c = s[:, hidden:2 * hidden] * c_prev + s[:, :hidden] * g
    h = s[:, 2 * hidden:] * torch.tanh(c)
    return h, c


class RowLSTMLayer(nn.Module):
    """One Row LSTM layer: ``u -> u + h`` with ``h`` from the row-by-row recurrence.

    Parameters
    ----------
    hidden
        ``F``: width of the layer's input, its hidden state and its output.
    colours
        ``C``: colour groups of the channels.
    kernel
        ``k``: width of the state-to-state kernel; the input-to-state one reads ``k // 2 + 1``
        columns (the pixel and the ``k // 2`` ones to its left).
    gen
        Seeded generator for the initial weights.
    context
        The context bias of the gates (``None`` without parents).
    """

    def __init__(self, hidden: int, colours: int, kernel: int, gen: torch.Generator,
                 context: Optional[nn.Linear]) -> None:
        super().__init__()
        Fw, r = hidden, kernel // 2
        self.hidden, self.r = Fw, r
        self.input_to_state = MaskedConv2d(Fw, 4 * Fw, (1, r + 1), MaskType.B,
                                           channel_groups(Fw, colours),
                                           groups_of([Fw] * 4, colours), gen, centre=(0, r))
        # unmasked: it reads only the row above, which precedes every pixel of this row
        self.state_to_state = nn.Parameter(seeded_uniform_(torch.empty(4 * Fw, Fw, kernel),
                                                           Fw * kernel, gen))
        self.context = context

    def gate_bias(self, ctx: Optional[torch.Tensor]) -> Any:
        """``U ctx``, ``(N, 4F)``, or 0 without context."""
        return 0.0 if self.context is None or ctx is None else self.context(ctx)

    def forward(self, u: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``(N, F, H, W) -> (N, F, H, W)``: the whole map, teacher forcing."""
        N, Fw, H, W = u.shape
        bias = self.gate_bias(ctx)
        z_in = self.input_to_state(u)                  # (N, 4F, H, W): every row at once
        if torch.is_tensor(bias):
            z_in = z_in + bias[:, :, None, None]
        h = u.new_zeros(N, Fw, W)
        c = u.new_zeros(N, Fw, W)
        rows = []
        # unbind, not z_in[:, :, i]: the backward of H selects would write H full-size zero maps
        for i, z in enumerate(z_in.unbind(2)):
            if i > 0:  # h_{-1} = 0: nothing to add on the first row
                z = z + F.conv1d(h, self.state_to_state, padding=self.r)
            h, c = _cell(z, c)
            rows.append(h)
        return u + torch.stack(rows, dim=2)

    def extra_repr(self) -> str:
        return f"hidden={self.hidden}, kernel={2 * self.r + 1}"


class RowLSTMConditional(GridConditional):
    """The Row LSTM module for one image node (built by :class:`RowLSTM`)."""

    family_name = "Row LSTM"

    def __init__(self, variable: Variable, parents: Sequence[Variable], hidden: int,
                 layers: int, kernel: int, first_kernel: int, seed: int) -> None:
        super().__init__(variable, parents, hidden, seed)
        k0, k = self.checked_depth(layers, kernel, first_kernel)
        C, Fw = self.colours, self.feature_width
        self.first = MaskedConv2d(C, Fw, (k0, k0), MaskType.A, channel_groups(C, C),
                                  channel_groups(Fw, C), self._gen)
        self.ctx_first = self.context_bias(Fw)
        self.rows = nn.ModuleList()
        for _ in range(layers):
            ctx = self.context_bias(4 * Fw)
            self.rows.append(RowLSTMLayer(Fw, C, k, self._gen, ctx))
        self.make_head()

    def feature_map(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        u = self.add_context(self.first(x_in), self.ctx_first, ctx)
        for layer in self.rows:
            u = layer(u, ctx)
        return u

    # ---------------------------------------------------------------- cached sampling
    def input_padding(self):
        return self.first.padding

    def start_cache(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        ref = self.first.weight
        Fw, W = self.feature_width, self.width
        new = lambda *shape: ref.new_zeros(n, *shape)  # noqa: E731
        layers = []
        for layer in self.rows:
            r = layer.r
            layers.append({
                # h of the previous / current row, padded by r on both sides for K^ss
                "h_prev": new(Fw, W + 2 * r), "h_cur": new(Fw, W + 2 * r),
                "c_prev": new(Fw, W), "c_cur": new(Fw, W),
                # the current row's layer inputs, padded by r on the left for K^is
                "u": new(Fw, W + r),
                # K^ss h_{i-1} + b + U ctx for the whole current row
                "ss": new(4 * Fw, W),
                "w_is": layer.input_to_state.masked_weight()[:, :, 0, :],
                "bias": layer.gate_bias(ctx),
            })
        return {"ctx": ctx, "row": -1, "layers": layers, "w_first": self.first.masked_weight()}

    def _start_row(self, cache: Dict[str, Any], i: int) -> None:
        """Row ``i`` begins: the finished row's states become the previous row's (a swap),
        and the state-to-state term of the whole new row is computed once."""
        for layer, st in zip(self.rows, cache["layers"]):
            st["h_prev"], st["h_cur"] = st["h_cur"], st["h_prev"]
            st["c_prev"], st["c_cur"] = st["c_cur"], st["c_prev"]
            st["ss"] = F.conv1d(st["h_prev"], layer.state_to_state) \
                + layer.input_to_state.bias[:, None] \
                + (st["bias"][:, :, None] if torch.is_tensor(st["bias"]) else 0.0)
        cache["row"] = i

    def features_at(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        # called once per colour channel of the pixel: everything at (i, j) is recomputed and
        # overwritten, never folded in twice, so the last call leaves the pixel's final states
        if cache["row"] != i:
            self._start_row(cache, i)
        u = self.add_context(self.first.at(cache["xp"], i, j, cache["w_first"]),
                             self.ctx_first, cache["ctx"])
        for layer, st in zip(self.rows, cache["layers"]):
            r = layer.r
            st["u"][:, :, r + j] = u
            z = torch.einsum("nfk,ofk->no", st["u"][:, :, j:j + r + 1], st["w_is"]) \
                + st["ss"][:, :, j]
            h, c = _cell(z, st["c_prev"][:, :, j])
            st["c_cur"][:, :, j] = c
            st["h_cur"][:, :, r + j] = h
            u = u + h
        return u

    def extra_repr(self) -> str:
        return super().extra_repr() + f", layers={len(self.rows)}"


@dataclass(frozen=True)
class RowLSTM(Family):
    """Row LSTM over a discrete raster-ordered image.

    ``RowLSTM(hidden=32, layers=2, kernel=3, first_kernel=7)``: a mask-A ``first_kernel``
    square convolution to ``hidden`` feature maps (split into R, G, B groups for colour
    images), then ``layers`` residual Row LSTM layers of ``hidden`` units whose state
    reads the row above through a ``1 x kernel`` convolution.  Bernoulli outputs for 2
    levels, a ``levels``-way softmax otherwise.  A spec says
    ``{"family": "rowlstm", "hidden": 32, "layers": 2}``.
    """

    name: ClassVar[str] = "rowlstm"
    hidden: int = 32
    layers: int = 2
    kernel: int = 3
    first_kernel: int = 7
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_grid_image(variable, "Row LSTM")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> RowLSTMConditional:
        return RowLSTMConditional(variable, parents, int(self.hidden), int(self.layers),
                                  int(self.kernel), int(self.first_kernel), int(self.seed))
