"""PixelCNN (van den Oord et al. 2016): masked convolutions over a raster-ordered image.

Plain (``gated=False``)::

    h_0 = conv_A^{k0 x k0}(x) + U_0 ctx
    h_l = h_{l-1} + conv_B^{k x k}(relu(h_{l-1})) + U_l ctx        l = 1 .. layers

Mask ``A`` hides the pixel being predicted (and, for colour, its own and later channels), mask
``B`` lets each layer see the layer below at the same pixel.  Stacked square masks leave a
*blind spot*: pixels above and to the right that come before ``(i, j)`` yet no path reaches
(``pgm-ar draw SPEC --kind context`` shows it, computed from the gradient).

Gated (``gated=True``, van den Oord et al., "Conditional image generation with PixelCNN
decoders"): a *vertical* stack that sees only the rows above and a *horizontal* stack that sees
the current row to the left, joined by a 1x1 link from vertical to horizontal, with gated units
``tanh(a) * sigmoid(b)``; no blind spot::

    v_l = gate(conv^{(k//2+1) x k}(v_{l-1}) + U^v_l ctx)           (v_0 reads rows < i only)
    h_l = h_{l-1} + conv_B^{1x1}(gate(conv^{1 x (k//2+1)}(h_{l-1}) + link(v_l) + U^h_l ctx))

Sampling keeps every layer's map between pixels and computes each layer once at each pixel
(one kernel window, ``O(layers k^2 F^2)``), and the gated vertical stack once per row, so a
whole image costs about one forward pass instead of ``C H W`` of them.

Parameters (plain, binary, one colour channel, ``F`` channels, ``L`` layers, first kernel
``k0``, kernel ``k``; masked weights are stored and counted):
``F (k0^2 + 1) + L F (F k^2 + 1) + (F^2 + F) + (F + 1)``.

>>> from pgm_ar.variables import Image
>>> PixelCNN(channels=16, layers=2).build(Image("x", shape=(1, 8, 8)), []).num_parameters()
5729
>>> 16 * (49 + 1) + 2 * 16 * (16 * 9 + 1) + (16 * 16 + 16) + (16 + 1)
5729
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
from .masked_conv import MaskType, MaskedConv2d, Spatial, channel_groups, groups_of, \
    pointwise


def _gate(a: torch.Tensor) -> torch.Tensor:
    """``tanh(first half) * sigmoid(second half)`` along the channel dim (dim 1)."""
    x, y = a.chunk(2, dim=1)
    return torch.tanh(x) * torch.sigmoid(y)


class PixelCNNConditional(GridConditional):
    """The plain PixelCNN module for one image node (built by :class:`PixelCNN`)."""

    family_name = "PixelCNN"

    def __init__(self, variable: Variable, parents: Sequence[Variable], channels: int,
                 layers: int, kernel: int, first_kernel: int, seed: int) -> None:
        super().__init__(variable, parents, channels, seed)
        k0, k = self.checked_depth(layers, kernel, first_kernel)
        C, Fw = self.colours, self.feature_width
        g_in, g_f = channel_groups(C, C), channel_groups(Fw, C)
        self.first = MaskedConv2d(C, Fw, (k0, k0), MaskType.A, g_in, g_f, self._gen)
        self.ctx_first = self.context_bias(Fw)
        self.convs = nn.ModuleList(MaskedConv2d(Fw, Fw, (k, k), MaskType.B, g_f, g_f, self._gen)
                                   for _ in range(layers))
        self.ctx_layers = nn.ModuleList(self.context_bias(Fw) for _ in range(layers)) \
            if self.context_width else None
        self.make_head()

    def _ctx(self, l: int) -> Optional[nn.Linear]:
        return None if self.ctx_layers is None else self.ctx_layers[l]  # type: ignore[return-value]

    def feature_map(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        h = self.add_context(self.first(x_in), self.ctx_first, ctx)
        for l, conv in enumerate(self.convs):
            h = h + self.add_context(conv(torch.relu(h)), self._ctx(l), ctx)
        return h

    # sampling: the padded input map and the padded relu(h_l) maps are kept between pixels
    def input_padding(self):
        return self.first.padding

    def start_cache(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        ref = self.first.weight
        H, W = self.height, self.width
        maps = []
        for conv in self.convs:
            pl, pr, pt, pb = conv.padding
            maps.append(ref.new_zeros(n, self.feature_width, H + pt + pb, W + pl + pr))
        return {"relu": maps, "ctx": ctx,
                "w": [self.first.masked_weight()] + [c.masked_weight() for c in self.convs]}

    def features_at(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        ctx, w = cache["ctx"], cache["w"]
        h = self.add_context(self.first.at(cache["xp"], i, j, w[0]), self.ctx_first, ctx)
        for l, conv in enumerate(self.convs):
            pl, _, pt, _ = conv.padding
            cache["relu"][l][:, :, i + pt, j + pl] = torch.relu(h)
            h = h + self.add_context(conv.at(cache["relu"][l], i, j, w[l + 1]), self._ctx(l), ctx)
        return h

    def extra_repr(self) -> str:
        return super().extra_repr() + f", layers={len(self.convs)}, gated=False"


class GatedPixelCNNConditional(GridConditional):
    """The gated PixelCNN module (vertical and horizontal stacks, no blind spot)."""

    family_name = "PixelCNN"

    def __init__(self, variable: Variable, parents: Sequence[Variable], channels: int,
                 layers: int, kernel: int, first_kernel: int, seed: int) -> None:
        super().__init__(variable, parents, channels, seed)
        k0, k = self.checked_depth(layers, kernel, first_kernel)
        C, Fw, gen = self.colours, self.feature_width, self._gen
        g_in = channel_groups(C, C)
        g_gate = groups_of([Fw, Fw], C)            # gate units a_f, b_f share f's colour group
        r0, r = k0 // 2, k // 2
        # vertical: rows i - r .. i - 1 of the input (first layer), rows i - r .. i above that
        self.v_first = MaskedConv2d(C, 2 * Fw, (r0 + 1, k0), MaskType.B, g_in, g_gate, gen,
                                    centre=(r0, r0), spatial=Spatial.ABOVE)
        self.h_first = MaskedConv2d(C, 2 * Fw, (1, r0 + 1), MaskType.A, g_in, g_gate, gen,
                                    centre=(0, r0))
        self.link_first = pointwise(2 * Fw, 2 * Fw, MaskType.B, C, gen,
                                    in_groups=g_gate, out_groups=g_gate)
        self.link_first.mask.fill_(1.0)            # v never sees the current row: no mask needed
        self.v_convs = nn.ModuleList()
        self.h_convs = nn.ModuleList()
        self.links = nn.ModuleList()
        self.res = nn.ModuleList()
        g_f = channel_groups(Fw, C)
        for _ in range(layers):
            self.v_convs.append(MaskedConv2d(Fw, 2 * Fw, (r + 1, k), MaskType.B, g_f, g_gate, gen,
                                             centre=(r, r), spatial=Spatial.FULL))
            self.h_convs.append(MaskedConv2d(Fw, 2 * Fw, (1, r + 1), MaskType.B, g_f, g_gate, gen,
                                             centre=(0, r)))
            link = pointwise(2 * Fw, 2 * Fw, MaskType.B, C, gen, in_groups=g_gate,
                             out_groups=g_gate)
            link.mask.fill_(1.0)
            self.links.append(link)
            self.res.append(pointwise(Fw, Fw, MaskType.B, C, gen))
        self.ctx_v = nn.ModuleList(self.context_bias(2 * Fw) for _ in range(layers + 1)) \
            if self.context_width else None
        self.ctx_h = nn.ModuleList(self.context_bias(2 * Fw) for _ in range(layers + 1)) \
            if self.context_width else None
        self.make_head()

    def _cv(self, l: int):
        return None if self.ctx_v is None else self.ctx_v[l]

    def _ch(self, l: int):
        return None if self.ctx_h is None else self.ctx_h[l]

    def feature_map(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        va = self.add_context(self.v_first(x_in), self._cv(0), ctx)
        h = _gate(self.add_context(self.h_first(x_in) + self.link_first(va), self._ch(0), ctx))
        for l in range(len(self.v_convs)):
            va = self.add_context(self.v_convs[l](_gate(va)), self._cv(l + 1), ctx)
            ha = self.h_convs[l](h) + self.links[l](va)
            h = h + self.res[l](_gate(self.add_context(ha, self._ch(l + 1), ctx)))
        return h

    # sampling: the vertical stack of a whole row once per row (it reads only the rows above),
    # the horizontal stack one pixel at a time from the kept maps
    def start_cache(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        ref = self.h_first.weight
        H, W, Fw = self.height, self.width, self.feature_width
        L = len(self.v_convs)
        return {"ctx": ctx, "row": -1,
                # va[l]: the vertical pre-activations of layer l; v[l]: gate(va[l]), the input
                # of v_convs[l]; h[l]: the horizontal stream entering h_convs[l]
                "va": [ref.new_zeros(n, 2 * Fw, H, W) for _ in range(L + 1)],
                "v": [ref.new_zeros(n, Fw, H, W) for _ in range(L)],
                "h": [ref.new_zeros(n, Fw, H, W) for _ in range(L)]}

    def _ctx_vec(self, lins, l: int, ctx: Optional[torch.Tensor]):
        return 0.0 if lins is None or ctx is None else lins[l](ctx)

    def _ctx_row(self, l: int, ctx: Optional[torch.Tensor]):
        """The vertical context bias of layer ``l`` for a whole row, ``(n, 2F, 1)`` (or 0)."""
        return 0.0 if self.ctx_v is None or ctx is None else self.ctx_v[l](ctx)[..., None]

    @staticmethod
    def _rows(m: torch.Tensor, conv: MaskedConv2d, i: int) -> torch.Tensor:
        """``conv`` evaluated on row ``i`` only, ``(n, out, W)``, from the rows of ``m`` it reads."""
        kh, _ = conv.kernel
        left, right, top, _ = conv.padding
        lo, hi, H = i - top, i - top + kh, m.shape[2]
        slab = F.pad(m[:, :, max(lo, 0):min(hi, H)], (left, right, max(0, -lo), max(0, hi - H)))
        return F.conv2d(slab, conv.masked_weight(), conv.bias)[:, :, 0]

    def _vertical_row(self, cache: Dict[str, Any], i: int) -> None:
        ctx = cache["ctx"]
        va = self._rows(cache["x"], self.v_first, i) + self._ctx_row(0, ctx)
        cache["va"][0][:, :, i] = va
        for l, conv in enumerate(self.v_convs):
            cache["v"][l][:, :, i] = _gate(va)
            va = self._rows(cache["v"][l], conv, i) + self._ctx_row(l + 1, ctx)
            cache["va"][l + 1][:, :, i] = va
        cache["row"] = i

    def features_at(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        if cache["row"] != i:
            self._vertical_row(cache, i)
        ctx = cache["ctx"]
        a = self._h_at(cache["x"], self.h_first, i, j) + \
            self._link_at(self.link_first, cache["va"][0], i, j) + self._ctx_vec(self.ctx_h, 0, ctx)
        h = _gate(a)
        for l in range(len(self.v_convs)):
            cache["h"][l][:, :, i, j] = h
            a = self._h_at(cache["h"][l], self.h_convs[l], i, j) + \
                self._link_at(self.links[l], cache["va"][l + 1], i, j) + \
                self._ctx_vec(self.ctx_h, l + 1, ctx)
            h = h + _gate(a) @ self.res[l].masked_weight()[:, :, 0, 0].t() + self.res[l].bias
        return h

    @staticmethod
    def _h_at(m: torch.Tensor, conv: MaskedConv2d, i: int, j: int) -> torch.Tensor:
        """A ``1 x (r+1)`` horizontal conv at ``(i, j)``, reading columns ``j - r .. j`` of row i."""
        r = conv.kernel[1] - 1
        lo = j - r
        window = m[:, :, i, max(lo, 0):j + 1]
        w = conv.masked_weight()[:, :, 0, max(0, -lo):]
        return torch.einsum("ncw,ocw->no", window, w) + conv.bias

    @staticmethod
    def _link_at(conv: MaskedConv2d, va: torch.Tensor, i: int, j: int) -> torch.Tensor:
        return va[:, :, i, j] @ conv.masked_weight()[:, :, 0, 0].t() + conv.bias

    def extra_repr(self) -> str:
        return super().extra_repr() + f", layers={len(self.v_convs)}, gated=True"


@dataclass(frozen=True)
class PixelCNN(Family):
    """PixelCNN over a discrete raster-ordered image.

    ``PixelCNN(channels=64, layers=7, kernel=3, first_kernel=7, gated=False)``: ``channels``
    feature maps (split into R, G, B groups for colour images), ``layers`` masked layers after
    the first (mask A) one; ``gated=True`` for the gated variant with vertical and horizontal
    stacks (no blind spot).  Bernoulli outputs for 2 levels, a ``levels``-way softmax otherwise.
    """

    name: ClassVar[str] = "pixelcnn"
    channels: int = 64
    layers: int = 7
    kernel: int = 3
    first_kernel: int = 7
    gated: bool = False
    seed: int = 0

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_grid_image(variable, "PixelCNN")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> GridConditional:
        cls = GatedPixelCNNConditional if self.gated else PixelCNNConditional
        return cls(variable, parents, int(self.channels), int(self.layers), int(self.kernel),
                   int(self.first_kernel), int(self.seed))
