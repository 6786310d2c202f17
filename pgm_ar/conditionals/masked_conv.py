"""Masked convolutions for raster-ordered images, with R -> G -> B channel groups.

The convolutional and recurrent image families (PixelCNN, Row LSTM, Diagonal BiLSTM) visit
pixels in raster order and, inside a pixel, the colour channels in turn (R, then G, then B).
A layer's output at pixel ``(i, j)`` may therefore depend on

* every input position strictly before ``(i, j)`` in raster order inside the kernel, and
* at ``(i, j)`` itself, only inputs of an *earlier* colour group (mask ``A``, the first layer,
  which must not see the value it predicts) or of an earlier-or-equal group (mask ``B``, every
  later layer, whose inputs already obey the rule).

Feature channels are split into ``C`` contiguous groups (:func:`channel_groups`): with
``C = 3`` the first third of the channels belongs to R, the next to G, the last to B.  With one
colour channel mask ``A`` simply excludes the centre and mask ``B`` includes it.

Masks are buffers applied functionally (``F.conv2d(x, weight * mask)``); the weights are never
overwritten.  :meth:`MaskedConv2d.at` evaluates the convolution at one position from a padded
input map, which is how sampling computes each layer once per pixel instead of once per image.

>>> import torch
>>> m = causal_mask(3, 3, 1, 1, "A", channel_groups(1, 1), channel_groups(1, 1))
>>> m[0, 0].int().tolist()
[[1, 1, 1], [1, 0, 0], [0, 0, 0]]
>>> m = causal_mask(1, 1, 0, 0, "B", channel_groups(3, 3), channel_groups(3, 3))
>>> m[:, :, 0, 0].int().tolist()   # G sees R and G, B sees all three
[[1, 0, 0], [1, 1, 0], [1, 1, 1]]
"""
from __future__ import annotations

import math
from enum import Enum
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import PgmArError

__all__ = ["MaskType", "Spatial", "channel_groups", "causal_mask", "MaskedConv2d", "seeded_uniform_",
           "pointwise", "check_kernel", "groups_of"]


class MaskType(str, Enum):
    """``A`` excludes the centre's own and later colour groups; ``B`` includes its own."""

    A = "A"
    B = "B"


def channel_groups(n_channels: int, colours: int) -> torch.Tensor:
    """Colour group of each of ``n_channels`` channels: contiguous blocks of (nearly) equal size.

    >>> channel_groups(6, 3).tolist()
    [0, 0, 1, 1, 2, 2]
    """
    if n_channels < colours:
        raise PgmArError(f"{n_channels} feature channels cannot be split into {colours} colour "
                         "groups: use at least one channel per colour")
    return torch.arange(n_channels) * colours // n_channels


class Spatial(str, Enum):
    """Which kernel positions a masked convolution keeps (before the channel rule at the centre).

    ``causal``: positions before the centre in raster order, and the centre under the channel
    rule; ``above``: only the rows above the centre's row (a vertical stack's first layer);
    ``full``: every position (a layer whose input already excludes the current row).
    """

    CAUSAL = "causal"
    ABOVE = "above"
    FULL = "full"


def causal_mask(kh: int, kw: int, centre_row: int, centre_col: int, kind: Union[str, MaskType],
                out_groups: torch.Tensor, in_groups: torch.Tensor,
                spatial: Union[str, Spatial] = Spatial.CAUSAL) -> torch.Tensor:
    """The ``(out, in, kh, kw)`` 0/1 mask of a causal convolution.

    Kernel position ``(r, c)`` reads the input at offset ``(r - centre_row, c - centre_col)``
    from the output position.  Positions before the centre in raster order are kept, positions
    after it dropped; the centre keeps the pairs whose groups are ordered as ``kind`` says.
    ``spatial`` chooses another pattern (:class:`Spatial`).
    """
    kind = MaskType(kind)
    spatial = Spatial(spatial)
    r = torch.arange(kh)[:, None]
    c = torch.arange(kw)[None, :]
    n_out, n_in = len(out_groups), len(in_groups)
    if spatial is Spatial.FULL:
        return torch.ones(n_out, n_in, kh, kw)
    if spatial is Spatial.ABOVE:
        before = (r < centre_row).expand(kh, kw)
        centre = torch.zeros(kh, kw, dtype=torch.bool)
    else:
        before = (r < centre_row) | ((r == centre_row) & (c < centre_col))
        centre = (r == centre_row) & (c == centre_col)
    og, ig = out_groups[:, None], in_groups[None, :]
    allowed = (og > ig) if kind is MaskType.A else (og >= ig)            # (out, in)
    mask = before[None, None] | (centre[None, None] & allowed[:, :, None, None])
    return mask.to(torch.float32)


def seeded_uniform_(tensor: torch.Tensor, fan_in: int, gen: torch.Generator) -> torch.Tensor:
    """Fill ``tensor`` with ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` from ``gen`` (torch's default
    layer init, but from the family's seeded generator so that equal seeds build equal modules)."""
    bound = 1.0 / math.sqrt(max(1, fan_in))
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=gen)


class MaskedConv2d(nn.Module):
    """A 2-D convolution whose kernel is multiplied by a causal mask on every call.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts; ``in_groups`` / ``out_groups`` give each channel's colour group.
    kernel
        ``(kh, kw)``; the output at ``(i, j)`` reads rows ``i - centre_row .. i - centre_row + kh - 1``.
    centre
        ``(centre_row, centre_col)`` inside the kernel (default: the kernel's middle).
    kind
        Mask ``A`` or ``B`` (see :func:`causal_mask`).
    spatial
        The kernel positions kept (:class:`Spatial`).
    gen
        Seeded generator for the initial weights.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: Tuple[int, int],
                 kind: Union[str, MaskType], in_groups: torch.Tensor, out_groups: torch.Tensor,
                 gen: torch.Generator, centre: Optional[Tuple[int, int]] = None,
                 spatial: Union[str, Spatial] = Spatial.CAUSAL, bias: bool = True) -> None:
        super().__init__()
        kh, kw = int(kernel[0]), int(kernel[1])
        cr, cc = centre if centre is not None else (kh // 2, kw // 2)
        self.kernel = (kh, kw)
        self.centre = (int(cr), int(cc))
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        seeded_uniform_(self.weight, in_channels * kh * kw, gen)
        self.bias = nn.Parameter(seeded_uniform_(torch.empty(out_channels),
                                                 in_channels * kh * kw, gen)) if bias else None
        self.register_buffer("mask", causal_mask(kh, kw, cr, cc, kind, out_groups, in_groups,
                                                 spatial), persistent=False)

    @property
    def padding(self) -> Tuple[int, int, int, int]:
        """``(left, right, top, bottom)`` zero padding that keeps the map's size (``F.pad`` order)."""
        kh, kw = self.kernel
        cr, cc = self.centre
        return (cc, kw - 1 - cc, cr, kh - 1 - cr)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask.to(self.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.padding), self.masked_weight(), self.bias)

    def at(self, x_padded: torch.Tensor, i: int, j: int,
           weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The output ``(N, out)`` at position ``(i, j)`` from the input map padded by
        :attr:`padding` (so the kernel's window starts at ``(i, j)`` of the padded map)."""
        kh, kw = self.kernel
        w = self.masked_weight() if weight is None else weight
        patch = x_padded[:, :, i:i + kh, j:j + kw]
        out = torch.einsum("nchw,ochw->no", patch, w)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        o, i, kh, kw = self.weight.shape
        return f"{i}, {o}, kernel=({kh}, {kw}), centre={self.centre}"


def pointwise(in_channels: int, out_channels: int, kind: Union[str, MaskType], colours: int,
              gen: torch.Generator, in_groups: Optional[torch.Tensor] = None,
              out_groups: Optional[torch.Tensor] = None) -> MaskedConv2d:
    """A masked 1x1 convolution between feature maps split into ``colours`` groups."""
    ig = channel_groups(in_channels, colours) if in_groups is None else in_groups
    og = channel_groups(out_channels, colours) if out_groups is None else out_groups
    return MaskedConv2d(in_channels, out_channels, (1, 1), kind, ig, og, gen)


def check_kernel(size: int, what: str) -> int:
    """A positive odd kernel size, or a :class:`PgmArError` naming the option."""
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise PgmArError(f"{what} must be a positive odd kernel size, got {size}")
    return size


def groups_of(sizes: Sequence[int], colours: int) -> torch.Tensor:
    """Groups of a concatenation of blocks that are each split into ``colours`` groups
    (the gates of an LSTM or a gated unit: every gate of unit ``h`` is in ``h``'s group)."""
    return torch.cat([channel_groups(int(s), colours) for s in sizes])
