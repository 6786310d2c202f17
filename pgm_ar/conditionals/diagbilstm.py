"""Diagonal BiLSTM (PixelRNN, van den Oord et al. 2016, section 3.2) over a raster-ordered image.

A masked ``k0 x k0`` convolution (mask ``A``) maps the ``C`` input channels to ``F = hidden``
feature maps; ``layers`` Diagonal BiLSTM layers follow, each with a residual connection::

    u_0 = conv_A^{k0 x k0}(x) + U_0 ctx
    u_l = u_{l-1} + h^>_l + shift_down(h^<_l)                          l = 1 .. layers

The left-to-right LSTM ``h^>`` runs along the image's diagonals: the map is *skewed* (row ``i``
moved right by ``i``, ``(H, W) -> (H, W + H - 1)``) so that each diagonal is a column, and an
LSTM walks over the columns.  In unskewed coordinates its cell at ``(i, j)`` reads the layer
input there and the states of the two cells before it on the previous diagonal::

    a_ij = K^is u_ij + K^ss_0 h_{i-1,j} + K^ss_1 h_{i,j-1} + b + V ctx     (4F gates i, f, o, g)
    c_ij = sigmoid(f) * c_{i,j-1} + sigmoid(i) * tanh(g)
    h_ij = sigmoid(o) * tanh(c_ij)

``K^is`` is a masked 1x1 convolution (mask ``B``: the four gates of unit ``h`` sit in ``h``'s
colour group), ``K^ss`` a ``2 x 1`` convolution over the previous column of the skewed map;
states outside the image (the skew's padding) are held at zero.  ``h^>_ij`` thus sees every
input above and to the left of ``(i, j)``.

The right-to-left LSTM ``h^<`` is the same computation with its own weights on the
horizontally mirrored map (mirror, skew, run, unskew, mirror back): its cell at ``(i, j)`` reads
``(i - 1, j)`` and ``(i, j + 1)``, so it sees the rest of row ``i`` -- the future.  Shifting it
down one row (row 0 gets zeros) before adding it makes ``h^<`` at ``(i, j)`` see rows above
only.  Since its output is used a row lower, ``h^<`` may also read the pixel values of its own
row, and in the first layer it does, through an unmasked 1x1 term ``K^x x_ij`` (``C -> 4F``):
the last pixel of a row, ``(i - 1, W - 1)``, is in no masked layer input of row ``i - 1`` (they
see only what precedes them), so without ``K^x`` a pixel ``(i, j)`` with
``j < W - 1 - k0 // 2`` would never see it.  With it every pixel sees every pixel before it
(no blind spot), in ``W + H - 1`` sequential steps per layer.

The features handed to the output head (see :mod:`.grid`) are ``u_layers``.  Unlike the paper's
models, the layers keep ``F`` channels throughout (no ``2h -> h -> 2h`` 1x1 convolutions around
the LSTM); the paper's best binarized-MNIST model has 7 layers of ``h = 16``, the default here is
a smaller ``hidden=16, layers=2`` that trains on a CPU.

Sampling keeps, for every layer, the layer input and the states of both directions: each pixel
costs one cell step of ``h^>`` per layer, and when a row is finished ``h^<`` runs along it from
right to left once (row ``i`` needs ``h^<`` only from row ``i - 1``), so a whole image costs
about one forward pass instead of ``C H W`` of them.

Parameters (binary, one colour channel, ``F`` hidden, ``L`` layers, first kernel ``k0``, no
context; masked weights are stored and counted): first layer ``F (k0^2 + 1)``, per layer and
direction ``K^is`` ``4F^2 + 4F`` and ``K^ss`` ``8F^2``, ``K^x`` ``4F``, head
``(F^2 + F) + (F + 1)``: ``F (k0^2 + 1) + L (24 F^2 + 8 F) + 4 F + (F^2 + F) + (F + 1)``.

>>> from pgm_ar.variables import Image
>>> DiagonalBiLSTM(hidden=16, layers=2).build(Image("x", shape=(1, 8, 8)), []).num_parameters()
13697
>>> 16 * (49 + 1) + 2 * (24 * 16 ** 2 + 8 * 16) + 4 * 16 + (16 * 16 + 16) + (16 + 1)
13697
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import PgmArError
from ..variables import Variable
from .base import Family
from .grid import GridConditional, check_grid_image
from .masked_conv import MaskType, MaskedConv2d, channel_groups, check_kernel, groups_of, \
    pointwise, seeded_uniform_

__all__ = ["DiagonalBiLSTM", "DiagonalBiLSTMConditional", "DiagonalLSTM", "skew", "unskew",
           "mirror", "shift_down", "lstm_cell"]


# ---------------------------------------------------------------------- map geometry
def skew(m: torch.Tensor) -> torch.Tensor:
    """``(N, K, H, W) -> (N, K, H, W + H - 1)``: row ``i`` moved right by ``i``, zeros elsewhere.

    >>> skew(torch.arange(1., 5.).reshape(1, 1, 2, 2))[0, 0].tolist()
    [[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]]
    """
    n, k, h, w = m.shape
    # rows padded to W + H and read back with stride W + H - 1: each row lands one further right
    flat = F.pad(m, (0, h)).reshape(n, k, h * (w + h))[..., :h * (w + h - 1)]
    return flat.reshape(n, k, h, w + h - 1)


def unskew(s: torch.Tensor, width: int) -> torch.Tensor:
    """The inverse of :func:`skew`: ``(N, K, H, W + H - 1) -> (N, K, H, W)``."""
    n, k, h, length = s.shape
    flat = F.pad(s.reshape(n, k, h * length), (0, h))
    return flat.reshape(n, k, h, length + 1)[..., :width]


def mirror(m: torch.Tensor) -> torch.Tensor:
    """Mirror a map left-right (the right-to-left direction runs on the mirrored map)."""
    return m.flip(3)


def shift_down(m: torch.Tensor) -> torch.Tensor:
    """Move a map down one row, zeros in row 0: the right-to-left output at ``(i, j)`` then
    comes from row ``i - 1`` only, which precedes ``(i, j)`` entirely."""
    return F.pad(m, (0, 0, 1, 0))[:, :, :m.shape[2]]


def lstm_cell(a: torch.Tensor, c_prev: torch.Tensor, dim: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """One LSTM update from the pre-activations ``a`` (gates ``i, f, o, g`` stacked along
    ``dim``, ``F`` channels each) and the previous cell ``c_prev``; returns ``(h, c)``."""
    i, f, o, g = a.chunk(4, dim=dim)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


# ---------------------------------------------------------------------- layers
class DiagonalLSTM(nn.Module):
    """The weights of one direction of a Diagonal BiLSTM layer (``F`` units).

    ``input_to_state``: masked 1x1 convolution ``F -> 4F`` (mask ``B``); ``state_to_state``:
    ``(4F, F, 2)``, tap 0 reads the cell above, tap 1 the previous cell in the row (in the
    direction of travel); ``ctx``: the context bias on the gates (or ``None``).
    """

    def __init__(self, hidden: int, colours: int, context: Optional[nn.Linear],
                 gen: torch.Generator) -> None:
        super().__init__()
        f = hidden
        self.input_to_state = pointwise(f, 4 * f, MaskType.B, colours, gen,
                                        in_groups=channel_groups(f, colours),
                                        out_groups=groups_of([f] * 4, colours))
        # the previous diagonal's states all belong to earlier pixels: no mask
        self.state_to_state = nn.Parameter(seeded_uniform_(torch.empty(4 * f, f, 2), 2 * f, gen))
        self.ctx = context

    def gate_bias(self, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``b + V ctx``: ``(4F,)`` without a context, ``(N, 4F)`` with one."""
        b = self.input_to_state.bias
        return b if self.ctx is None or ctx is None else b + self.ctx(ctx)


class DiagonalBiLSTMLayer(nn.Module):
    """``u + h^> + shift_down(h^<)`` for a layer input ``u`` (see the module docstring)."""

    def __init__(self, hidden: int, colours: int, contexts: Sequence[Optional[nn.Linear]],
                 gen: torch.Generator, image_channels: int = 0) -> None:
        super().__init__()
        self.hidden = hidden
        self.l2r = DiagonalLSTM(hidden, colours, contexts[0], gen)
        self.r2l = DiagonalLSTM(hidden, colours, contexts[1], gen)
        # K^x: the scaled pixel values of the cell's own position into the right-to-left gates
        # (first layer only); no mask, since that direction's output is used one row below
        self.image_to_state = nn.Parameter(seeded_uniform_(
            torch.empty(4 * hidden, image_channels), image_channels, gen)) \
            if image_channels else None

    def forward(self, u: torch.Tensor, ctx: Optional[torch.Tensor],
                x_in: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The layer's output from its input ``u`` ``(N, F, H, W)``; the first layer also
        takes the scaled image ``x_in`` ``(N, C, H, W)``."""
        n, f, height, width = u.shape
        # both directions at once: channels [0, F) run on u, [F, 2F) on its mirror image
        w_is = torch.cat([self.l2r.input_to_state.masked_weight(),
                          self.r2l.input_to_state.masked_weight()])         # (8F, F, 1, 1)
        bias = torch.cat([self.l2r.gate_bias(ctx), self.r2l.gate_bias(ctx)], dim=-1)
        a_in = F.conv2d(torch.cat([u, mirror(u)], dim=1), w_is, groups=2)  # (N, 8F, H, W)
        a_in = a_in + (bias[:, :, None, None] if bias.dim() == 2 else bias[:, None, None])
        if self.image_to_state is not None:
            a_x = F.conv2d(mirror(x_in), self.image_to_state[:, :, None, None])
            a_in = torch.cat([a_in[:, :4 * f], a_in[:, 4 * f:] + a_x], dim=1)
        # skewed, one (N, 2, 4F, H) slab per column; unbind (not indexing) keeps the backward
        # pass linear in the number of columns
        columns = skew(a_in).view(n, 2, 4 * f, height, -1).unbind(dim=4)
        # per direction [tap 0 | tap 1]: (2, 4F, 2F), applied to [h of row i - 1 | h of row i]
        w_ss = torch.stack([torch.cat([d.state_to_state[:, :, 0], d.state_to_state[:, :, 1]], 1)
                            for d in (self.l2r, self.r2l)])
        h = u.new_zeros(n, 2, f, height)
        c = u.new_zeros(n, 2, f, height)
        hs = []
        for k, a_col in enumerate(columns):
            # column k holds rows lo..hi of the image; the skew's padding (the other rows)
            # carries zero state, as the per-pixel recurrence assumes, and is not computed
            lo, hi = max(0, k - width + 1), min(k, height - 1) + 1
            above = F.pad(h[..., :hi - 1], (1, 0)) if lo == 0 else h[..., lo - 1:hi - 1]
            a = a_col[..., lo:hi] + w_ss @ torch.cat([above, h[..., lo:hi]], dim=2)
            h, c = lstm_cell(a, c[..., lo:hi], dim=2)
            h, c = F.pad(h, (lo, height - hi)), F.pad(c, (lo, height - hi))
            hs.append(h)
        hs = unskew(torch.stack(hs, dim=4).view(n, 2 * f, height, -1), width)  # (N, 2F, H, W)
        return u + hs[:, :f] + shift_down(mirror(hs[:, f:]))


# ---------------------------------------------------------------------- the conditional
class DiagonalBiLSTMConditional(GridConditional):
    """The Diagonal BiLSTM module for one image node (built by :class:`DiagonalBiLSTM`)."""

    family_name = "Diagonal BiLSTM"

    def __init__(self, variable: Variable, parents: Sequence[Variable], hidden: int,
                 layers: int, first_kernel: int, seed: int) -> None:
        super().__init__(variable, parents, hidden, seed)
        k0 = check_kernel(first_kernel, "Diagonal BiLSTM first_kernel")
        C, Fw = self.colours, self.feature_width
        self.first = MaskedConv2d(C, Fw, (k0, k0), MaskType.A, channel_groups(C, C),
                                  channel_groups(Fw, C), self._gen)
        self.ctx_first = self.context_bias(Fw)
        self.layers = nn.ModuleList(
            DiagonalBiLSTMLayer(Fw, C, [self.context_bias(4 * Fw), self.context_bias(4 * Fw)],
                                self._gen, image_channels=C if l == 0 else 0)
            for l in range(layers))
        self.make_head()

    def feature_map(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        u = self.add_context(self.first(x_in), self.ctx_first, ctx)
        for layer in self.layers:
            u = layer(u, ctx, x_in)
        return u

    # ------------------------------------------------------------------ sampling
    # Per layer l the cache holds the layer input u[l] (the previous layer's output) and the
    # states of both directions in maps padded by one row above and one column on the side the
    # direction comes from, so the cells outside the image read zeros:
    #   hl, cl: (n, F, H + 1, W + 1), pixel (i, j) at [i + 1, j + 1] (left-to-right)
    #   hr, cr: (n, F, H + 1, W + 1), pixel (i, j) at [i + 1, j]     (right-to-left)
    # "done" counts the pixels whose entries are final; "r2l_rows" the rows h^< has run along;
    # "known" the values drawn or clamped so far (set by advance).
    def input_padding(self):
        return self.first.padding

    def start_cache(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        ref = self.first.weight
        H, W, Fw = self.height, self.width, self.feature_width
        L = len(self.layers)

        def maps(pad: int) -> list:
            return [ref.new_zeros(n, Fw, H + pad, W + pad) for _ in range(L)]

        weights = []
        for layer in self.layers:
            per_dir = []
            for d in (layer.l2r, layer.r2l):
                w_is = d.input_to_state.masked_weight()[:, :, 0, 0]
                ss = d.state_to_state
                bias = d.gate_bias(ctx)
                per_dir.append({
                    # [u, h above, h before] @ w_cat: the whole pre-activation in one product
                    "cat": torch.cat([w_is, ss[:, :, 0], ss[:, :, 1]], dim=1).t(),
                    "is": w_is, "above": ss[:, :, 0], "before": ss[:, :, 1],
                    "bias": bias.expand(n, -1)})
            weights.append(per_dir)
        # MaskedConv2d.at adds its own bias; the context part is added in _pixel
        return {"w_first": self.first.masked_weight(),
                "ctx_first": None if self.ctx_first is None or ctx is None else self.ctx_first(ctx),
                "weights": weights,
                "u": maps(0), "hl": maps(1), "cl": maps(1), "hr": maps(1), "cr": maps(1),
                "done": 0, "r2l_rows": 0, "known": 0}

    def advance(self, state: Dict[str, Any], t: int, value: torch.Tensor) -> Dict[str, Any]:
        state = super().advance(state, t, value)
        state["known"] = t + 1
        return state

    def _r2l_row(self, cache: Dict[str, Any], i: int) -> None:
        """Run every layer's right-to-left LSTM along the finished row ``i``."""
        for l in range(len(self.layers)):
            w = cache["weights"][l][1]
            hr, cr = cache["hr"][l], cache["cr"][l]
            # the input and the cells above for the whole row at once, then right to left
            a_row = torch.einsum("nfw,gf->ngw", cache["u"][l][:, :, i], w["is"]) + \
                torch.einsum("nfw,gf->ngw", hr[:, :, i, :self.width], w["above"]) + \
                w["bias"][:, :, None]
            if l == 0:                                   # K^x: the row's own pixel values
                a_row = a_row + torch.einsum("ncw,gc->ngw", cache["x"][:, :, i],
                                             self.layers[0].image_to_state)
            for j in range(self.width - 1, -1, -1):
                a = a_row[:, :, j] + hr[:, :, i + 1, j + 1] @ w["before"].t()
                h, c = lstm_cell(a, cr[:, :, i + 1, j + 1], dim=1)
                hr[:, :, i + 1, j], cr[:, :, i + 1, j] = h, c

    def _pixel(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        """Compute (or recompute) every layer's entries at ``(i, j)``; returns the features."""
        while cache["r2l_rows"] < i:                     # rows above are final by now
            self._r2l_row(cache, cache["r2l_rows"])
            cache["r2l_rows"] += 1
        u = self.first.at(cache["xp"], i, j, cache["w_first"])
        if cache["ctx_first"] is not None:
            u = u + cache["ctx_first"]
        for l in range(len(self.layers)):
            cache["u"][l][:, :, i, j] = u
            w = cache["weights"][l][0]
            hl, cl = cache["hl"][l], cache["cl"][l]
            a = torch.cat([u, hl[:, :, i, j + 1], hl[:, :, i + 1, j]], dim=1) @ w["cat"] + w["bias"]
            h, c = lstm_cell(a, cl[:, :, i + 1, j], dim=1)
            hl[:, :, i + 1, j + 1], cl[:, :, i + 1, j + 1] = h, c
            u = u + h + cache["hr"][l][:, :, i, j]       # h^< of (i - 1, j): row 0 of hr is zero
        return u

    def features_at(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        p = i * self.width + j
        # pixels whose every value was clamped (inpainting) were skipped by step(): catch up;
        # all their values are known, so their entries are final
        while cache["done"] < p:
            q = cache["done"]
            self._pixel(cache, *divmod(q, self.width))
            cache["done"] = q + 1
        feats = self._pixel(cache, i, j)
        # no feature at (i, j) depends on its last channel: once every other channel is known
        # the entries are final and are not computed again
        if cache["known"] >= p * self.colours + self.colours - 1:
            cache["done"] = p + 1
        return feats

    def extra_repr(self) -> str:
        return super().extra_repr() + f", layers={len(self.layers)}"


def _positive_int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise PgmArError(f"diagbilstm option {option!r} must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class DiagonalBiLSTM(Family):
    """Diagonal BiLSTM (PixelRNN) over a discrete raster-ordered image.

    ``DiagonalBiLSTM(hidden=16, layers=2, first_kernel=7)``: a ``first_kernel`` square masked
    convolution to ``hidden`` feature maps (split into R, G, B groups for colour images), then
    ``layers`` residual Diagonal BiLSTM layers of ``hidden`` units per direction.  Every pixel
    sees every pixel before it.  Bernoulli outputs for 2 levels, a ``levels``-way softmax
    otherwise.  Spec: ``{"family": "diagbilstm", "hidden": 16, "layers": 2}``.
    """

    name: ClassVar[str] = "diagbilstm"
    hidden: int = 16
    layers: int = 2
    first_kernel: int = 7
    seed: int = 0

    def __post_init__(self) -> None:
        _positive_int(self.hidden, "hidden")
        _positive_int(self.layers, "layers")
        if isinstance(self.first_kernel, bool) or not isinstance(self.first_kernel, numbers.Integral):
            raise PgmArError(f"diagbilstm option 'first_kernel' must be a positive odd integer, "
                             f"got {self.first_kernel!r}")
        check_kernel(self.first_kernel, "diagbilstm option 'first_kernel'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise PgmArError(f"diagbilstm option 'seed' must be an integer, got {self.seed!r}")

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_grid_image(variable, "Diagonal BiLSTM")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> GridConditional:
        return DiagonalBiLSTMConditional(variable, parents, int(self.hidden), int(self.layers),
                                         int(self.first_kernel), int(self.seed))
