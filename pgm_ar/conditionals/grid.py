"""The shared base of the image families that see the pixel grid: PixelCNN, Row LSTM, Diagonal BiLSTM.

These families work on the image *as an image* (``(N, C, H, W)`` maps, convolutions and
recurrences over rows or diagonals) instead of a flat vector, so they need the raster ordering,
with the colour channels of a pixel in turn (R -> G -> B)::

    p(x) = prod_{i, j} p(x_ij,R | x_<ij) p(x_ij,G | x_<ij, x_ij,R) p(x_ij,B | x_<ij, x_ij,R, x_ij,G)

A family subclasses :class:`GridConditional` and supplies

* ``feature_map(x_in, ctx)``: ``(N, F)`` features at every pixel, ``(N, F, H, W)``, computed in one
  pass (teacher forcing), where feature group ``c`` (see :mod:`.masked_conv`) at pixel ``(i, j)``
  depends only on pixels before ``(i, j)`` and on the channels before ``c`` at ``(i, j)``;
* ``start_cache(ctx, n)`` and ``features_at(cache, i, j)``: the same features at one pixel during
  sampling, from state the family keeps between pixels (cached layer maps, recurrent states), so
  no finished pixel is ever recomputed.

The base turns features into logits with a masked 1x1 head (ReLU, 1x1 mask B, ReLU, 1x1 mask B
to ``C * levels`` logits, one Bernoulli logit per channel for binary images), maps between image
layout and the visiting order of :class:`~.autoregressive.AutoregressiveConditional`, and gives
sampling, inpainting and a naive sampler (one full pass per value, for tests and benchmarks).

Inputs enter as scaled values ``2 x / (levels - 1) - 1`` (one map per colour channel), as in
PixelCNN, rather than one-hot, so 256-level images cost one input map per channel.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ..errors import PgmArError
from ..utils.seeding import torch_generator
from ..variables import Variable
from .autoregressive import AutoregressiveConditional, check_image, context_linear
from .masked_conv import MaskType, channel_groups, check_kernel, pointwise

__all__ = ["GridConditional", "OutputHead", "check_grid_image"]


def check_grid_image(variable: Variable, family: str) -> Optional[str]:
    """``None`` if ``family`` can model ``variable`` (a discrete image in raster order), else why not."""
    reason = check_image(variable, family, real=False)
    if reason is not None:
        return reason
    order = variable.pixel_order  # type: ignore[attr-defined]
    if not bool((order == range(len(order))).all()):
        return (f"{family} needs the raster ordering (its layers see the rows above and the "
                f"pixels to the left); image {variable.name!r} is declared with ordering "
                f"{variable.ordering_label!r}: declare ordering: raster")  # type: ignore[attr-defined]
    return None


class OutputHead(nn.Module):
    """ReLU, masked 1x1 (B), ReLU, masked 1x1 (B) to ``colours * out_width`` logits per pixel.

    Output channel ``c * out_width + k`` is logit ``k`` of colour channel ``c``: it sees feature
    groups ``<= c`` at its own pixel, which themselves never see channel ``c`` of that pixel.
    """

    def __init__(self, features: int, colours: int, out_width: int, gen: torch.Generator) -> None:
        super().__init__()
        self.hidden = pointwise(features, features, MaskType.B, colours, gen)
        self.out = pointwise(features, colours * out_width, MaskType.B, colours, gen,
                             out_groups=channel_groups(colours * out_width, colours))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(torch.relu(feats))))

    def at(self, feat: torch.Tensor) -> torch.Tensor:
        """The head at one pixel: ``(N, F)`` features -> ``(N, colours * out_width)`` logits."""
        h = torch.relu(feat) @ self.hidden.masked_weight()[:, :, 0, 0].t() + self.hidden.bias
        return torch.relu(h) @ self.out.masked_weight()[:, :, 0, 0].t() + self.out.bias


class GridConditional(AutoregressiveConditional):
    """Base module of the families over raster-ordered images (see the module docstring).

    Attributes
    ----------
    colours, height, width
        ``C, H, W`` of the image.
    feature_width
        Width ``F`` of the feature maps handed to the output head (not ``features``: that
        is the hidden representation :meth:`features` of the autoregressive contract).
    """

    family_name = "grid"

    def __init__(self, variable: Variable, parents: Sequence[Variable], features: int,
                 seed: int = 0) -> None:
        super().__init__(variable, parents)
        reason = check_grid_image(variable, self.family_name)
        if reason is not None:
            raise PgmArError(reason)
        self.colours, self.height, self.width = (int(s) for s in self.image_shape)
        if features < self.colours:
            raise PgmArError(f"{self.family_name}: {features} hidden channels cannot be split "
                             f"into {self.colours} colour groups (image {variable.name!r}); use "
                             f"at least {self.colours}")
        self.feature_width = int(features)
        # every sub-module draws its initial weights from this generator, in construction order
        self._gen = torch_generator(int(seed))

    def checked_depth(self, layers: int, kernel: int, first_kernel: int) -> Tuple[int, int]:
        """``(first_kernel, kernel)`` checked to be positive odd sizes, and ``layers >= 0``;
        a :class:`PgmArError` naming the family and the option otherwise."""
        if layers < 0:
            raise PgmArError(f"{self.family_name}: layers must be >= 0, got {layers}")
        return (check_kernel(first_kernel, f"{self.family_name} first_kernel"),
                check_kernel(kernel, f"{self.family_name} kernel"))

    def make_head(self) -> None:
        """Build the output head (call at the end of the subclass's ``__init__``)."""
        self.head = OutputHead(self.feature_width, self.colours, self.out_width, self._gen)

    def context_bias(self, width: int) -> Optional[nn.Linear]:
        """A seeded linear map from the parents' context to a per-channel bias (or ``None``)."""
        return context_linear(self.context_width, width, self._gen)

    @staticmethod
    def add_context(x: torch.Tensor, lin: Optional[nn.Linear],
                    ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``x + lin(ctx)`` broadcast over the pixels of a map ``(N, K, H, W)`` or a vector ``(N, K)``."""
        if lin is None or ctx is None:
            return x
        b = lin(ctx)
        return x + (b[:, :, None, None] if x.dim() == 4 else b)

    # ------------------------------------------------------------------ layouts
    def encode_image(self, x_img: torch.Tensor) -> torch.Tensor:
        """Pixel values ``(N, C, H, W)`` -> scaled inputs in ``[-1, 1]`` of the parameters' dtype."""
        dtype = self.head.out.weight.dtype
        return x_img.to(dtype) * (2.0 / (self.levels - 1)) - 1.0  # type: ignore[operator]

    def image_from_ordered(self, x_ord: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` in visiting order (pixel-major, channel-fastest) -> ``(N, C, H, W)``."""
        n = x_ord.shape[0]
        C, H, W = self.colours, self.height, self.width
        return x_ord.reshape(n, H * W, C).transpose(1, 2).reshape(n, C, H, W)

    def logits_to_ordered(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, C * out, H, W)`` -> ``(N, D)`` (binary) or ``(N, D, levels)`` in visiting order."""
        n = logits.shape[0]
        C, O = self.colours, self.out_width
        out = logits.reshape(n, C, O, self.height * self.width).permute(0, 3, 1, 2)
        out = out.reshape(n, self.num_values, O)
        return out.squeeze(-1) if self.levels == 2 else out

    # ------------------------------------------------------------- family interface
    def feature_map(self, x_in: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``(N, F, H, W)`` features of every pixel from the scaled inputs, in one pass."""
        raise NotImplementedError

    def start_cache(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        """Per-family sampling state before any pixel is known (the base adds ``"x"``)."""
        raise NotImplementedError

    def features_at(self, cache: Dict[str, Any], i: int, j: int) -> torch.Tensor:
        """``(n, F)`` features of pixel ``(i, j)`` given every value before it in ``cache["x"]``
        (scaled inputs ``(n, C, H, W)``, zero where not yet drawn).

        Called in raster order, once per channel step of the pixel (and once after its last
        value when that step was skipped), so it must overwrite what it keeps for ``(i, j)``,
        never fold it in twice."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the passes
    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        x_in = self.encode_image(self.image_from_ordered(x_ord))
        return self.logits_to_ordered(self.head(self.feature_map(x_in, ctx)))

    def features(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """A representation of the whole image: the last feature map averaged over pixels, ``(N, F)``."""
        x_in = self.encode_image(self.image_from_ordered(x_ord))
        return self.feature_map(x_in, ctx).mean(dim=(2, 3))

    # incremental form: step t is channel c of pixel p = (i, j); the features of a pixel are
    # computed once, when its first channel is due, and reused for its other channels (their
    # feature groups are recomputed only for the channels drawn since)
    def input_padding(self) -> Tuple[int, int, int, int]:
        """Zero padding ``(left, right, top, bottom)`` kept around the sampled inputs: the cache
        then holds ``"xp"``, the padded map, and ``"x"``, a view of its interior."""
        return (0, 0, 0, 0)

    def start(self, ctx: Optional[torch.Tensor], n: int) -> Dict[str, Any]:
        ref = self.head.out.weight
        cache = self.start_cache(ctx, n)
        left, right, top, bottom = self.input_padding()
        H, W = self.height, self.width
        xp = torch.zeros(n, self.colours, H + top + bottom, W + left + right, dtype=ref.dtype,
                         device=ref.device)
        cache["xp"] = xp
        cache["x"] = xp[:, :, top:top + H, left:left + W]
        return cache

    def step(self, state: Dict[str, Any], t: int) -> torch.Tensor:
        state["computed_at"] = t
        p, c = divmod(t, self.colours)
        i, j = divmod(p, self.width)
        logits = self.head.at(self.features_at(state, i, j))
        O = self.out_width
        out = logits[:, c * O:(c + 1) * O]
        return out.squeeze(-1) if O == 1 else out

    def advance(self, state: Dict[str, Any], t: int, value: torch.Tensor) -> Dict[str, Any]:
        p, c = divmod(t, self.colours)
        i, j = divmod(p, self.width)
        x = state["x"]
        x[:, c, i, j] = value.to(x.dtype) * (2.0 / (self.levels - 1)) - 1.0  # type: ignore[operator]
        if c == self.colours - 1 and state.get("computed_at") != t:
            # the pixel's last step was skipped (its value was observed for the whole batch
            # when completing an image), so the family's cached state of this pixel was never
            # computed from its final values; later pixels read it
            self.features_at(state, i, j)
        return state

    def extra_repr(self) -> str:
        return super().extra_repr() + f", features={self.feature_width}"

