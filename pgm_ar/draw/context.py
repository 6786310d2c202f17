"""Which inputs one output of an autoregressive image model depends on, computed and drawn.

An autoregressive conditional predicts the value visited at step ``t`` from the values before
it. *Which* of those it actually reads depends on the family: NADE and FVSBN read every earlier
value, MADE those its random degrees connect; a plain PixelCNN's stacked square masks leave a
*blind spot* above and to the right of the pixel, earlier in raster order yet reached by no
path; the gated PixelCNN's vertical and horizontal stacks close it. :func:`context_dependence`
measures this instead of assuming it: it differentiates the output's parameters (logits, or a
real family's mixture parameters) for one (pixel, channel) with respect to every input, on a
batch of random images, and records ``max |gradient|`` over the batch. An input with a non-zero
gradient for some image is one the output *depends* on; a batch of random images (32 by default)
makes it very unlikely that a real dependence hides behind ReLU dead zones or saturated units
for all of them at once.

Every input then falls in one :class:`Category`: the target itself, an earlier input it
depends on, an earlier input it does not see, or a later one (the future, which an
autoregressive family never sees; a later input with a non-zero gradient would be a broken
model and gets its own category so the picture shows it).  Unseen earlier inputs are split by
where they lie: inside the bounding box (rows x columns) of the pixels the output does see,
they are a *blind spot*, a hole in the context (PixelCNN's triangle up and to the right);
outside it they are merely *out of reach*, beyond the receptive field of a network of that
depth (the top rows of a large image for a convolutional family).  Both are "earlier and not
seen"; :meth:`ContextDependence.unseen` gives them together.  :func:`render_context`
draws one panel per colour channel with matplotlib, :func:`draw_context` does both, and
``pgm-ar draw SPEC --kind context --pixel I,J`` calls it on a spec (seeded initial weights) or
on a run directory made by ``pgm-ar fit`` (the trained model).

The computation is generic over
:class:`~pgm_ar.conditionals.autoregressive.AutoregressiveConditional`: it runs
``ordered_params`` on inputs in visiting order and maps the gradients back to image layout with
``from_ordered``, so every family (FVSBN, AR-k, NADE, MADE, RNADE, PixelCNN, Row LSTM,
Diagonal BiLSTM) works without code of its own.  Families that one-hot encode categorical
inputs (``encode_inputs``) are differentiated with respect to that encoding; tabular AR-k,
whose logits are looked up by configuration and have no gradient, is probed by changing each
input in turn.

>>> from pgm_ar.variables import Image
>>> from pgm_ar.conditionals.nade import NADE
>>> cond = NADE(hidden=8).build(Image("x", shape=(1, 2, 3), ordering="snake"), [])
>>> dep = context_dependence(cond, (1, 1), images=4)
>>> dep.categories[0].tolist()          # snake: steps 1 2 3 / 6 5 4; (1, 1) is step 5
[[1, 1, 1], [4, 0, 1]]
>>> [Category(k).label for k in (0, 1, 4)]
['target', 'depends', 'future']
"""
from __future__ import annotations

import io
import math
import os
import pathlib
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, \
    Union

import numpy as np

from ..errors import PgmArError
from ..utils.seeding import SeedLike, torch_random_state
from ..variables import Image

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..conditionals.autoregressive import AutoregressiveConditional

__all__ = ["Category", "ContextDependence", "context_dependence", "render_context",
           "draw_context", "context_figure", "context_format", "autoregressive_conditional",
           "channel_index", "parse_pixel", "CONTEXT_FORMATS", "DEFAULT_IMAGES"]

#: picture formats of a context drawing (matplotlib writes them; graphviz's DOT does not apply)
CONTEXT_FORMATS = ("png", "svg", "pdf")

#: random input images whose gradients are maxed over
DEFAULT_IMAGES = 32

#: names of the colour channels of a 3-channel image
RGB = ("R", "G", "B")


class Category(IntEnum):
    """What an input is to the output of one (pixel, channel)."""

    TARGET = 0          #: the value being predicted
    DEPENDS = 1         #: earlier in the ordering, and the output's gradient is non-zero
    BLIND = 2           #: earlier, unseen, inside the extent of the seen inputs: the blind spot
    OUT_OF_REACH = 3    #: earlier, unseen, outside that extent: beyond the receptive field
    FUTURE = 4          #: later in the ordering (never seen)
    FUTURE_DEPENDS = 5  #: later in the ordering *and* seen: the model is not autoregressive

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Category.TARGET: "target", Category.DEPENDS: "depends",
           Category.BLIND: "blind spot", Category.OUT_OF_REACH: "out of reach",
           Category.FUTURE: "future",
           Category.FUTURE_DEPENDS: "future, seen (not autoregressive!)"}


@dataclass(frozen=True, eq=False)
class ContextDependence:
    """The dependence of one output on every input, in image layout ``(C, H, W)``.

    Unpacks as ``gradient, categories = context_dependence(...)``.

    Attributes
    ----------
    gradient
        ``max |d output / d input|`` over the random images, ``(C, H, W)`` float.
    categories
        ``(C, H, W)`` :class:`Category` codes (int8).
    steps
        ``(C, H, W)`` 0-based visiting step of every input.
    pixel, channel, step
        The target: its ``(row, column)``, channel and visiting step.
    family, variable, ordering
        The family's name (e.g. ``"Gated PixelCNN"``), the image's name and its ordering label.
    images
        How many random images the gradients were maxed over.
    method
        ``"gradient"`` (autograd), or ``"change"`` for a family whose outputs are not
        differentiable in its inputs (see :func:`context_dependence`).
    """

    gradient: np.ndarray
    categories: np.ndarray
    steps: np.ndarray
    pixel: Tuple[int, int]
    channel: int
    step: int
    family: str
    variable: str
    ordering: str
    images: int
    method: str = "gradient"

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.gradient, self.categories))

    @property
    def shape(self) -> Tuple[int, int, int]:
        return tuple(self.categories.shape)  # type: ignore[return-value]

    def count(self, category: Category) -> int:
        """How many inputs fall in ``category``."""
        return int((self.categories == int(category)).sum())

    def mask(self, category: Category) -> np.ndarray:
        """``(C, H, W)`` booleans: the inputs in ``category``."""
        return self.categories == int(category)

    def unseen(self) -> np.ndarray:
        """``(C, H, W)`` booleans: the earlier inputs the output does not see (blind spot and
        out of reach together)."""
        return self.mask(Category.BLIND) | self.mask(Category.OUT_OF_REACH)

    def channel_name(self, c: Optional[int] = None) -> str:
        """``R``/``G``/``B`` for a 3-channel image, else the channel's index."""
        c = self.channel if c is None else c
        return RGB[c] if self.shape[0] == 3 else str(c)

    def describe(self) -> str:
        """One line: family, image, target and the counts of each category."""
        i, j = self.pixel
        where = f"{self.variable}[{i}, {j}]"
        if self.shape[0] > 1:
            where += f" channel {self.channel_name()}"
        parts = [f"{self.count(Category.DEPENDS)} earlier inputs seen",
                 f"{self.count(Category.BLIND)} unseen in a blind spot",
                 f"{self.count(Category.OUT_OF_REACH)} unseen out of reach"]
        if self.count(Category.FUTURE_DEPENDS):
            parts.append(f"{self.count(Category.FUTURE_DEPENDS)} LATER ones seen")
        return f"{self.family} context of {where} (step {self.step + 1}): " + ", ".join(parts)


# -- finding the conditional ------------------------------------------------------------------
def _family_label(cond: Any) -> str:
    """``"PixelCNN"``, ``"Gated PixelCNN"``, ``"NADE"``: the family name, with the variant
    prefix of the module's class (``GatedPixelCNNConditional``) when it has one."""
    base = str(getattr(cond, "family_name", type(cond).__name__))
    cls = re.sub(r"Conditional$", "", type(cond).__name__)
    if cls.lower() != base.lower() and cls.lower().endswith(base.lower()):
        prefix = cls[: len(cls) - len(base)]
        return f"{prefix} {base}"
    return base


def autoregressive_conditional(model: Any, variable: Optional[str] = None
                               ) -> "AutoregressiveConditional":
    """The autoregressive conditional of an image: ``model`` itself, or a compiled model's node.

    Parameters
    ----------
    model
        An :class:`~pgm_ar.conditionals.autoregressive.AutoregressiveConditional`, or a
        :class:`~pgm_ar.model.CompiledModel` with an image node.
    variable
        The image's name, needed when the model has several images.

    Raises
    ------
    PgmArError
        When there is no image, several and none named, or the image's family is not
        autoregressive.
    """
    from ..conditionals.autoregressive import AutoregressiveConditional

    if isinstance(model, AutoregressiveConditional):
        if variable is not None and variable != model.variable.name:
            raise PgmArError(f"the conditional models image {model.variable.name!r}, "
                             f"not {variable!r}")
        return model
    net = getattr(model, "net", None)
    if net is None or not hasattr(model, "conditional"):
        raise PgmArError(f"expected an autoregressive conditional or a compiled model, got "
                         f"{type(model).__name__}")
    images = [v.name for v in net.variables if isinstance(v, Image)]
    if variable is None:
        if not images:
            raise PgmArError(f"network {net.name!r} has no image variable, so there is no "
                             "autoregressive context to draw")
        if len(images) > 1:
            raise PgmArError(f"network {net.name!r} has several images {images}; choose one "
                             "with variable=NAME (--variable NAME)")
        variable = images[0]
    elif variable not in images:
        raise PgmArError(f"variable {variable!r} is not an image of network {net.name!r} "
                         f"(images: {images})")
    cond = model.conditional(variable)
    if not isinstance(cond, AutoregressiveConditional):
        fam = getattr(getattr(model, "families", {}).get(variable), "name", type(cond).__name__)
        raise PgmArError(f"image {variable!r} is modelled by family {fam!r}, which has no "
                         "autoregressive conditional; use nade, made, fvsbn, ark, rnade or "
                         "pixelcnn")
    return cond


# -- parsing the target -----------------------------------------------------------------------
def parse_pixel(text: Union[str, Sequence[int]]) -> Tuple[int, int]:
    """``"I,J"`` (or a pair) -> ``(I, J)``.

    >>> parse_pixel("3,4"), parse_pixel((0, 2))
    ((3, 4), (0, 2))
    """
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    else:
        parts = list(text)
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), int(parts[1])
    except (TypeError, ValueError):
        raise PgmArError(f"a pixel is written I,J (row, column), e.g. 3,4; got {text!r}") from None


def channel_index(channel: Union[int, str], colours: int, name: str = "the image") -> int:
    """A channel number from an index or, for 3-channel images, ``R``/``G``/``B``.

    >>> channel_index("G", 3), channel_index(0, 1)
    (1, 0)
    """
    text = str(channel).strip()
    valid = f"0..{colours - 1}" + (" or R, G, B" if colours == 3 else "")
    if colours == 3 and text.upper() in RGB:
        return RGB.index(text.upper())
    try:
        c = int(text)
    except ValueError:
        raise PgmArError(f"channel {channel!r} of {name}: use {valid}") from None
    if not 0 <= c < colours:
        raise PgmArError(f"channel {c} is out of range: {name} has {colours} channel"
                         f"{'s' if colours > 1 else ''} ({valid})")
    return c


def _check_pixel(pixel: Sequence[int], shape: Tuple[int, int, int], name: str) -> Tuple[int, int]:
    _, H, W = shape
    i, j = parse_pixel(pixel)
    if not (0 <= i < H and 0 <= j < W):
        raise PgmArError(f"pixel ({i}, {j}) is outside the {H}x{W} image {name!r}: rows "
                         f"0..{H - 1}, columns 0..{W - 1}")
    return i, j


# -- the computation --------------------------------------------------------------------------
def _random_values(var: Any, n: int, gen: "torch.Generator", dtype: "torch.dtype"
                   ) -> "torch.Tensor":
    """``n`` random values of a variable: uniform levels (discrete), standard normal (real)."""
    import torch

    shape = (n,) + (tuple(var.shape) if isinstance(var, Image) else ())
    if var.is_discrete:
        card = var.levels if isinstance(var, Image) else var.cardinality
        return torch.randint(int(card), shape, generator=gen).to(dtype)
    return torch.randn(shape, generator=gen, dtype=dtype)


def _parent_values(cond: Any, n: int, given: Optional[Mapping[str, Any]],
                   gen: "torch.Generator", dtype: "torch.dtype") -> Dict[str, "torch.Tensor"]:
    """Values for the image's parents: the ``given`` ones, else state 0 / 0.0 for scalars and
    random images for image parents (an image parent varies like the inputs do)."""
    import torch

    given = dict(given or {})
    unknown = set(given) - {p.name for p in cond.parent_vars}
    if unknown:
        raise PgmArError(f"{sorted(unknown)} are not parents of image {cond.variable.name!r} "
                         f"(its parents: {[p.name for p in cond.parent_vars]})")
    out: Dict[str, torch.Tensor] = {}
    for p in cond.parent_vars:
        if p.name in given:
            v = torch.as_tensor(given[p.name])
            one = 3 if isinstance(p, Image) else 0        # dims of one value
            if v.dim() == one:
                v = v.expand((n,) + tuple(v.shape))
            elif v.dim() != one + 1 or v.shape[0] != n:
                raise PgmArError(f"parent {p.name!r}: give one value or {n} values, got shape "
                                 f"{tuple(v.shape)}")
            card = p.cardinality if not isinstance(p, Image) else p.levels
            if card is not None and bool(((v < 0) | (v >= card) | (v != v.round())).any()):
                raise PgmArError(f"parent {p.name!r}: values must be state indices 0..{card - 1}")
            out[p.name] = v
        elif isinstance(p, Image):
            out[p.name] = _random_values(p, n, gen, dtype)
        elif p.is_discrete:
            out[p.name] = torch.zeros(n, dtype=torch.long)
        else:
            out[p.name] = torch.zeros(n, dtype=dtype)
    return out


def _inside_extent(seen: np.ndarray, target: Tuple[int, int]) -> np.ndarray:
    """``(C, H, W)`` booleans: pixels inside the bounding box of the seen pixels (any channel)
    and the target pixel."""
    rows, cols = np.nonzero(seen.any(axis=0))
    rows = np.append(rows, target[0])
    cols = np.append(cols, target[1])
    C, H, W = seen.shape
    r = np.arange(H)[:, None]
    k = np.arange(W)[None, :]
    box = (r >= rows.min()) & (r <= rows.max()) & (k >= cols.min()) & (k <= cols.max())
    return np.broadcast_to(box, (C, H, W))


def _by_gradient(cond: Any, x_ord: "torch.Tensor", ctx: Optional["torch.Tensor"], t: int,
                 gen: "torch.Generator") -> Optional["torch.Tensor"]:
    """``max |d output_t / d input|`` over the images, ``(D,)`` in visiting order; ``None``
    when no input has a differentiable path to the output."""
    import torch

    n, D = x_ord.shape
    leaves: List[torch.Tensor] = []
    original = cond.encode_inputs

    def encode_as_leaf(values: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        # a one-hot encoding has no gradient path back to the level indices; make it a leaf
        # so that the gradient with respect to each of its entries can be read
        enc = original(values.detach(), dtype).detach().requires_grad_(True)
        leaves.append(enc)
        return enc

    if cond.in_width > 1:
        cond.encode_inputs = encode_as_leaf  # an instance attribute, removed below
    try:
        with torch.enable_grad():
            x_in = x_ord.detach().clone().requires_grad_(True)
            out = cond.ordered_params(x_in, ctx)[:, t].reshape(n, -1)
            if not out.requires_grad:
                return None
            # a vector output (levels, mixture parameters) folded with random weights per image,
            # so that no dependence cancels in the sum
            weights = torch.randn(out.shape, generator=gen, dtype=out.dtype).to(out.device) \
                if out.shape[1] > 1 else torch.ones_like(out)
            grads = torch.autograd.grad((out * weights).sum(), [x_in] + leaves,
                                        allow_unused=True)
    finally:
        if "encode_inputs" in cond.__dict__:
            del cond.encode_inputs
    if all(g is None for g in grads):
        return None
    total = torch.zeros(n, D, dtype=torch.float64)
    for g in grads:
        if g is not None:
            total += g.detach().abs().reshape(n, D, -1).sum(-1).to("cpu", torch.float64)
    return total.amax(0)


def _by_change(cond: Any, x_ord: "torch.Tensor", ctx: Optional["torch.Tensor"], t: int,
               gen: "torch.Generator") -> "torch.Tensor":
    """``max |change of output_t|`` when one input at a time takes another value (another level,
    or a normal step for real pixels), ``(D,)``: one pass per input."""
    import torch

    n, D = x_ord.shape
    levels = cond.levels
    with torch.no_grad():
        base = cond.ordered_params(x_ord, ctx)[:, t].reshape(n, -1)
        out = torch.zeros(D, dtype=torch.float64)
        for s in range(D):
            moved = x_ord.clone()
            if levels is None:
                moved[:, s] += torch.randn(n, generator=gen, dtype=moved.dtype).to(moved.device)
            else:  # a different level in every image
                shift = torch.randint(1, int(levels), (n,), generator=gen).to(moved)
                moved[:, s] = (moved[:, s] + shift) % int(levels)
            diff = cond.ordered_params(moved, ctx)[:, t].reshape(n, -1) - base
            out[s] = float(diff.abs().max())
    return out


@torch_random_state("seed")
def context_dependence(model: Any, pixel: Union[str, Sequence[int]],
                       channel: Union[int, str] = 0, *, variable: Optional[str] = None,
                       images: int = DEFAULT_IMAGES, seed: SeedLike = 0,
                       parents: Optional[Mapping[str, Any]] = None) -> ContextDependence:
    """Which inputs the output for ``(pixel, channel)`` depends on, from autograd.

    Parameters
    ----------
    model
        An autoregressive conditional, or a compiled model with an image node (see
        :func:`autoregressive_conditional`).
    pixel
        ``(row, column)`` of the target (or ``"I,J"``).
    channel
        The target's colour channel: an index, or ``R``/``G``/``B`` for 3 channels.
    variable
        The image, when the model has several.
    images
        Random input images (uniform levels; standard normal for real pixels) whose absolute
        gradients are maxed over.
    seed
        Seed of the random images (and of the random weights that fold a vector of logits
        into one number): an integer, a ``torch.Generator``, or ``None`` for fresh entropy
        (:mod:`pgm_ar.utils.seeding`).
    parents
        Values of the image's parents (one value, or one per image); by default state 0 of a
        discrete parent, 0.0 of a real one and random images for an image parent.

    Returns
    -------
    ContextDependence
        Gradients and :class:`Category` codes, ``(C, H, W)`` each.

    Notes
    -----
    The output of step ``t`` is ``ordered_params(x_ord, ctx)[:, t]``; when it is a vector
    (categorical logits, mixture parameters) it is folded into one number with random Gaussian
    weights per image, so that no dependence cancels. Inputs that a family one-hot encodes
    (``encode_inputs``) are differentiated through that encoding, and the gradients of all of an
    input's entries are added. A family whose output has no differentiable path from its inputs
    (tabular AR-k looks its logits up by the configuration of the previous values) is probed
    instead by giving each input in turn another value in every image and recording ``max
    |change of the output|`` (``method="change"``, one pass per input). The module is put in
    eval mode for the computation (MADE then keeps its current mask set) and restored
    afterwards; its weights are not changed.
    """
    import torch

    cond = autoregressive_conditional(model, variable)
    name = cond.variable.name
    shape = tuple(int(s) for s in cond.image_shape)
    C, H, W = shape
    i, j = _check_pixel(pixel, shape, name)  # type: ignore[arg-type]
    c = channel_index(channel, C, f"image {name!r}")
    if int(images) < 1:
        raise PgmArError(f"images must be >= 1, got {images}")
    n, D = int(images), cond.num_values
    ref = next(iter(cond.parameters()), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    device = ref.device if ref is not None else torch.device("cpu")
    gen = seed  # a torch.Generator: see the decorator

    x = _random_values(cond.variable, n, gen, dtype)                    # (n, C, H, W)
    values = _parent_values(cond, n, parents, gen, dtype)
    flat = c * H * W + i * W + j
    t = int(cond.step_of[flat])

    was_training = cond.training
    cond.eval()
    try:
        x_ord = cond.to_ordered(x.to(device))
        ctx = cond.context({k: v.to(device) for k, v in values.items()})
        magnitude = _by_gradient(cond, x_ord, ctx, t, gen)
        method = "gradient"
        if magnitude is None:  # no differentiable path from the inputs (a lookup table)
            magnitude = _by_change(cond, x_ord, ctx, t, gen)
            method = "change"
    finally:
        cond.train(was_training)

    to_image = lambda v: cond.from_ordered(v[None].to(cond.step_of.device))[0].cpu().numpy()
    grad_img = to_image(magnitude)
    steps = to_image(torch.arange(D))
    seen = grad_img > 0
    earlier = steps < t
    cats = np.where(earlier, np.where(seen, Category.DEPENDS, Category.OUT_OF_REACH),
                    np.where(seen, Category.FUTURE_DEPENDS, Category.FUTURE)).astype(np.int8)
    cats[(earlier & ~seen) & _inside_extent(seen & earlier, (i, j))] = Category.BLIND
    cats[c, i, j] = Category.TARGET
    return ContextDependence(gradient=grad_img, categories=cats, steps=steps.astype(np.int64),
                             pixel=(i, j), channel=c, step=t, family=_family_label(cond),
                             variable=name, ordering=str(cond.variable.ordering_label),
                             images=n, method=method)


# -- the picture ------------------------------------------------------------------------------
#: cell colours (RGB in [0, 1]); "depends" runs from _SEEN_LIGHT (weakest) to _SEEN_DARK
_TARGET = (0.84, 0.10, 0.11)
_SEEN_LIGHT = (0.78, 0.86, 0.94)
_SEEN_DARK = (0.03, 0.27, 0.58)
_BLIND = (1.00, 0.68, 0.10)
_OUT_OF_REACH = (0.99, 0.90, 0.74)
_FUTURE = (0.86, 0.86, 0.86)
_VIOLATION = (0.80, 0.00, 0.80)
_FILLS = {Category.TARGET: _TARGET, Category.BLIND: _BLIND,
          Category.OUT_OF_REACH: _OUT_OF_REACH, Category.FUTURE: _FUTURE,
          Category.FUTURE_DEPENDS: _VIOLATION}

#: the weakest dependence shade covers this many decades below the strongest gradient
_DECADES = 4.0


def _cell_colours(dep: ContextDependence) -> np.ndarray:
    """``(C, H, W, 3)`` RGB: categories, dependencies shaded by log relative gradient."""
    cats, grad = dep.categories, dep.gradient
    out = np.empty(cats.shape + (3,))
    seen = cats == Category.DEPENDS
    top = float(grad[seen].max()) if seen.any() else 1.0
    with np.errstate(divide="ignore"):
        rel = np.log10(np.where(seen, grad, top) / top)               # <= 0
    frac = np.clip(1.0 + rel / _DECADES, 0.0, 1.0)[..., None]          # 0 weakest, 1 strongest
    light, dark = np.array(_SEEN_LIGHT), np.array(_SEEN_DARK)
    out[:] = light + (dark - light) * frac
    for cat, colour in _FILLS.items():
        out[cats == cat] = colour
    return out


def context_format(path: Union[str, os.PathLike], fmt: Optional[str] = None) -> str:
    """The picture format of a context drawing (``png``, ``svg`` or ``pdf``) from ``fmt`` or
    the suffix of ``path``; a :class:`PgmArError` for any other.

    >>> context_format("ctx.SVG")
    'svg'
    """
    path = pathlib.Path(path)
    key = (fmt if fmt is not None else path.suffix).lower().lstrip(".")
    if key not in CONTEXT_FORMATS:
        shown = repr(fmt) if fmt is not None else (repr(path.suffix) if path.suffix else "none")
        raise PgmArError(f"unsupported picture format {shown} for the context drawing "
                         f"{str(path)!r}; use " + ", ".join("." + f for f in CONTEXT_FORMATS))
    return key


def _legend_handles(dep: ContextDependence) -> list:
    from matplotlib.patches import Patch

    n = dep.count
    handles = [Patch(facecolor=_TARGET, edgecolor="black", label="target"),
               Patch(facecolor=_SEEN_DARK,
                     label=f"depends on ({n(Category.DEPENDS)}; darker = larger gradient)"),
               Patch(facecolor=_BLIND,
                     label=f"earlier, not seen: blind spot ({n(Category.BLIND)})"),
               Patch(facecolor=_FUTURE, label=f"later: the future ({n(Category.FUTURE)})")]
    if n(Category.OUT_OF_REACH):  # only where the receptive field ends inside the image
        handles.insert(3, Patch(facecolor=_OUT_OF_REACH, edgecolor="#bbbbbb",
                                label="earlier, beyond the receptive field "
                                      f"({n(Category.OUT_OF_REACH)})"))
    if n(Category.FUTURE_DEPENDS):
        handles.append(Patch(facecolor=_VIOLATION, label="later but seen: NOT autoregressive "
                                                         f"({n(Category.FUTURE_DEPENDS)})"))
    return handles


def context_figure(dep: ContextDependence, *, title: Optional[str] = None,
                   show_steps: Optional[bool] = None, dpi: int = 120) -> Any:
    """The picture of ``dep`` as a matplotlib ``Figure`` (no pyplot state); see
    :func:`render_context` for what it shows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    C, H, W = dep.shape
    colours = _cell_colours(dep)
    big = max(H, W)
    if show_steps is None:
        show_steps = big <= 12
    # cells about 0.42 inch on small images, shrinking so that a 28x28 panel stays ~4.6 inches
    cell = min(0.42, 4.6 / big)
    panel_w, panel_h = W * cell, H * cell
    gap, margin = 0.45, 0.45
    handles = _legend_handles(dep)
    title_h, label_h, axis_h = 0.95, (0.3 if C > 1 else 0.08), 0.45
    legend_h = 0.2 + 0.2 * math.ceil(len(handles) / 2)
    fig_w = max(C * panel_w + (C - 1) * gap + 2 * margin, 7.4)
    fig_h = title_h + label_h + panel_h + axis_h + legend_h
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    left0 = (fig_w - (C * panel_w + (C - 1) * gap)) / 2
    i, j = dep.pixel
    small = cell < 0.25
    tick_every = 1 if big <= 12 else (2 if big <= 20 else 4)
    for ch in range(C):
        x0 = left0 + ch * (panel_w + gap)
        ax = fig.add_axes((x0 / fig_w, (legend_h + axis_h) / fig_h, panel_w / fig_w,
                           panel_h / fig_h))
        ax.imshow(colours[ch], interpolation="nearest", aspect="equal",
                  extent=(-0.5, W - 0.5, H - 0.5, -0.5))
        # white lines between the cells: minor ticks on the cell borders
        ax.set_xticks(np.arange(-0.5, W, 1.0), minor=True)
        ax.set_yticks(np.arange(-0.5, H, 1.0), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.4 if small else 0.9)
        ax.tick_params(which="both", length=0, labelsize=7 if small else 8, pad=2)
        ax.set_xticks(np.arange(0, W, tick_every))
        ax.set_yticks(np.arange(0, H, tick_every))
        ax.set_xlabel("column", fontsize=8, labelpad=2)
        if ch == 0:
            ax.set_ylabel("row", fontsize=8, labelpad=2)
        for spine in ax.spines.values():
            spine.set_edgecolor("#555555")
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black",
                               linewidth=1.0 if small else 1.8, zorder=3))
        if C > 1:
            ax.set_title(f"channel {dep.channel_name(ch)}", fontsize=10, pad=4)
        if show_steps:
            size = max(5.5, min(9.0, cell * 20))
            for r in range(H):
                for col in range(W):
                    cat = dep.categories[ch, r, col]
                    dark = cat == Category.TARGET or (
                        cat == Category.DEPENDS and colours[ch, r, col].sum() < 1.6)
                    ax.text(col, r, str(int(dep.steps[ch, r, col]) + 1), ha="center",
                            va="center", fontsize=size, color="white" if dark else "#333333")

    where = f"{dep.variable}[{i}, {j}]" + (f" channel {dep.channel_name()}" if C > 1 else "")
    head = title or f"{dep.family}: what the output for {where} depends on"
    sub1 = (f"pixel (row {i}, column {j}) of a {C}x{H}x{W} image in {dep.ordering} order; "
            f"the target is step {dep.step + 1} of {C * H * W}")
    sub2 = (f"seen = non-zero gradient of the target's logits w.r.t. the input, for some of "
            f"{dep.images} random images")
    fig.text(0.5, 1 - 0.25 / fig_h, head, ha="center", va="center", fontsize=12,
             fontweight="bold")
    for k, line in enumerate((sub1, sub2)):
        fig.text(0.5, 1 - (0.52 + 0.2 * k) / fig_h, line, ha="center", va="center",
                 fontsize=8.5, color="#333333")
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8.5,
               frameon=False, bbox_to_anchor=(0.5, 0.05 / fig_h), handlelength=1.4,
               columnspacing=1.8)
    return fig


def render_context(dep: ContextDependence, path: Union[str, os.PathLike], *,
                   fmt: Optional[str] = None, title: Optional[str] = None,
                   show_steps: Optional[bool] = None, dpi: int = 120) -> pathlib.Path:
    """Draw ``dep`` as a grid per colour channel and write it to ``path``, atomically.

    Parameters
    ----------
    dep
        The result of :func:`context_dependence`.
    path
        ``.png``, ``.svg`` or ``.pdf`` (or any name with ``fmt``).  The folder must exist.
    fmt
        Overrides the suffix of ``path``.
    title
        Replaces the first title line (family, image and target).
    show_steps
        Write each input's 1-based visiting step in its cell (default: images up to 12x12).
    dpi
        Resolution of a PNG.

    Returns
    -------
    pathlib.Path
        The written file.

    Notes
    -----
    Cells: the target in red; inputs the output depends on in blue, darker for a larger
    gradient (log scale over four decades, relative to the largest); earlier inputs it does
    not see in amber (the blind spot) or pale amber (beyond the receptive field); later inputs
    (the future) in grey.  The target's pixel is outlined in every channel's panel.
    """
    from .render import write_picture

    path = pathlib.Path(path)
    key = context_format(path, fmt)
    from matplotlib import rc_context

    fig = context_figure(dep, title=title, show_steps=show_steps, dpi=dpi)
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # SVG text stays text (searchable, smaller)
        fig.savefig(buf, format=key, dpi=dpi)
    write_picture(path, buf.getvalue())
    return path


def draw_context(model: Any, path: Union[str, os.PathLike], pixel: Union[str, Sequence[int]],
                 channel: Union[int, str] = 0, *, variable: Optional[str] = None,
                 images: int = DEFAULT_IMAGES, seed: SeedLike = 0,
                 parents: Optional[Mapping[str, Any]] = None, fmt: Optional[str] = None
                 ) -> Tuple[pathlib.Path, ContextDependence]:
    """:func:`context_dependence` then :func:`render_context`; returns the file and the result.

    The picture format is checked before anything is computed.
    """
    context_format(pathlib.Path(path), fmt)
    dep = context_dependence(model, pixel, channel, variable=variable, images=images,
                             seed=seed, parents=parents)
    return render_context(dep, path, fmt=fmt), dep
