"""Pictures of image models: grids of images (samples, completions, data) as PNG files.

:func:`make_grid` tiles a batch of images into one array; :func:`save_grid` writes it with
matplotlib's Agg canvas (no display, no global pyplot state), atomically; :func:`save_class_grid`
samples a fitted model one row per state of the image's label (``label -> digit``: a row per
digit).  The format follows the file suffix (``.png``, ``.svg``, ``.pdf``).

Values are shown as grey (one channel) or as RGB (three channels, in the order R, G, B).
Pixel values ``0..L-1`` of an ``L``-level image are shown as ``v / (L - 1)`` when ``levels=L``
is given (0 black, ``L - 1`` white, whatever values a batch happens to hold); without it,
values in [0, 1] are shown as they are and other ranges are stretched to the batch's min..max.

>>> import torch
>>> grid = make_grid(torch.ones(5, 1, 2, 3), nrow=3, padding=1)
>>> grid.shape                      # 2 rows of 3 cells, each 2 x 3 with a 1-pixel border
(7, 13)
>>> float(grid[1, 1]), float(grid[0, 0])
(1.0, 0.5)
>>> make_grid(torch.tensor([[[[0, 1, 2, 3]]]]), levels=4, padding=0).tolist()
[[0.0, 0.3333333333333333, 0.6666666666666666, 1.0]]
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from .errors import PgmArError
from .utils.atomic import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .model import CompiledModel

__all__ = ["make_grid", "save_grid", "save_class_grid"]

PathLike = Union[str, Path]
#: grey value of the border between cells (ink is 1, background 0)
_BORDER = 0.5


def _as_array(images: Any, levels: Optional[int] = None) -> np.ndarray:
    """``(N, C, H, W)`` float array in [0, 1] from a tensor, an array or a list of images
    (values ``0..levels-1`` scaled by ``1 / (levels - 1)`` when ``levels`` is given)."""
    try:
        import torch

        if isinstance(images, (list, tuple)) and images and torch.is_tensor(images[0]):
            images = torch.stack([torch.as_tensor(x) for x in images])
        if torch.is_tensor(images):
            images = images.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency of the model side
        pass
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:  # (N, H, W): one channel
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise PgmArError(f"images must be a non-empty batch (N, C, H, W) with C = 1 or 3, got "
                         f"shape {x.shape}")
    if not np.isfinite(x).all():
        raise PgmArError("images hold non-finite values")
    lo, hi = float(x.min()), float(x.max())
    if levels is not None:
        if int(levels) < 2:
            raise PgmArError(f"levels must be >= 2, got {levels}")
        if lo < 0 or hi > levels - 1:
            raise PgmArError(f"values of a {levels}-level image must lie in 0..{levels - 1}, "
                             f"found {lo if lo < 0 else hi:g}")
        return x / (levels - 1)
    if lo < 0 or hi > 1:  # levels 0..k-1 or real values: scale to [0, 1] for display
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return x


def make_grid(images: Any, nrow: Optional[int] = None, padding: int = 1,
              levels: Optional[int] = None) -> np.ndarray:
    """Tile ``N`` images into one array, ``nrow`` images per row (default ``ceil(sqrt(N))``).

    Returns ``(rows * (H + p) + p, nrow * (W + p) + p)`` for grey images (``+ (3,)`` for RGB),
    values in [0, 1], borders grey (0.5).  Unused cells at the end stay border-grey.
    ``levels``: the images hold values ``0..levels-1`` (shown as ``v / (levels - 1)``).
    """
    x = _as_array(images, levels)
    n, c, h, w = x.shape
    ncol = int(nrow) if nrow is not None else int(math.ceil(math.sqrt(n)))
    if ncol < 1 or int(padding) < 0:
        raise PgmArError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow}, "
                         f"padding={padding}")
    p = int(padding)
    rows = int(math.ceil(n / ncol))
    grid = np.full((rows * (h + p) + p, ncol * (w + p) + p, c), _BORDER)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = p + r * (h + p), p + col * (w + p)
        grid[top:top + h, left:left + w] = x[i].transpose(1, 2, 0)
    return grid[..., 0] if c == 1 else grid


def save_grid(images: Any, path: PathLike, nrow: Optional[int] = None, *, padding: int = 1,
              row_labels: Optional[Sequence[str]] = None, title: Optional[str] = None,
              cell_pixels: int = 56, dpi: int = 100, levels: Optional[int] = None) -> Path:
    """Write ``images`` (``(N, C, H, W)``, ink 1 = white) as a grid picture, atomically.

    Parameters
    ----------
    images
        A tensor, an array or a list of ``(C, H, W)`` tensors (``C`` = 1: grey, 3: RGB);
        values in [0, 1], or ``0..levels-1`` with ``levels`` (other ranges are stretched).
    path
        Output file; the format follows the suffix (``.png`` by default).
    nrow
        Images per row (default ``ceil(sqrt(N))``).
    row_labels
        A label written left of each row (e.g. the digit of a class-conditional row).
    title
        A title above the grid.
    cell_pixels
        About how many screen pixels an image cell gets (small images are enlarged with
        nearest-neighbour pixels).
    levels
        The number of pixel values of a discrete image: value ``v`` is shown as
        ``v / (levels - 1)`` (so a batch of a 4-level image that never uses level 3 is not
        stretched).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    x = _as_array(images, levels)
    grid = make_grid(x, nrow, padding)
    h = x.shape[2]
    rows = (grid.shape[0] - padding) // (h + padding)
    if row_labels is not None and len(row_labels) != rows:
        raise PgmArError(f"{len(row_labels)} row labels for a grid of {rows} rows")
    scale = max(1, int(round(cell_pixels / max(h, 1))))
    left = 0.6 if row_labels is not None else 0.0
    top = 0.35 if title else 0.0
    width_in = grid.shape[1] * scale / dpi + left
    height_in = grid.shape[0] * scale / dpi + top
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / width_in, 0.0, 1 - left / width_in, 1 - top / height_in))
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
    ax.set_xticks([])
    if row_labels is not None:
        centres = [padding + r * (h + padding) + (h - 1) / 2 for r in range(rows)]
        ax.set_yticks(centres, [str(s) for s in row_labels])
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title, y=1 - 0.05 * top / height_in, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format=(path.suffix.lstrip(".") or "png"), dpi=dpi)
    return atomic_write_bytes(path, buf.getvalue())


def save_class_grid(model: "CompiledModel", path: PathLike, per_class: int = 8, *,
                    variable: Optional[str] = None, label: Optional[str] = None,
                    seed: Optional[int] = 0, title: Optional[str] = None) -> Path:
    """Samples of a fitted model's image, one row per state of its label, as a picture.

    Row ``s`` holds ``per_class`` samples of ``p(image | label = s)`` (exact: the label is
    clamped, and its ancestors, if any, are handled by :meth:`CompiledModel.sample`).  The
    label is the image's only discrete parent unless named; an image without one gives
    ``per_class`` rows of ``per_class`` unconditional samples.
    """
    name = model.image_name(variable)
    label = label if label is not None else model.label_name(name)
    levels = model.net.variable(name).levels
    import torch

    if per_class < 1:
        raise PgmArError(f"per_class must be >= 1, got {per_class}")
    if label is None:
        imgs = model.sample(per_class * per_class, seed=seed, as_tensors=True)[name]
        return save_grid(imgs, path, nrow=per_class, title=title, levels=levels)
    var = model.net.variable(label)
    if not var.is_discrete_scalar:
        raise PgmArError(f"label {label!r} is not a discrete variable")
    rows = []
    for i, state in enumerate(var.states):
        s = None if seed is None else int(seed) + i
        rows.append(model.sample(per_class, evidence={label: i}, seed=s, as_tensors=True)[name])
    return save_grid(torch.cat(rows), path, nrow=per_class, title=title, levels=levels,
                     row_labels=[f"{label}={state}" for state in var.states])
