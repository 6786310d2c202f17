"""Image networks: naming the image and its label, image data, features and inpainting.

A network with an :class:`~pgm_ar.variables.Image` variable takes its images as
``[N, C, H, W]`` tensors (with the label, if any, as another column, or as an ``(images,
labels)`` pair); :meth:`features` gives a per-image representation from the image's
conditional and :meth:`complete` fills in the pixels outside a mask, pixel by pixel in the
image's ordering.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from ..errors import DataError, PgmArError
from ..utils.seeding import forked_global_rng
from ..variables import Image
from .data import IMAGE_BATCH, ModelData
from .modes import in_eval_mode

__all__ = ["ImageMixin"]


class ImageMixin:
    """Image helpers (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    @property
    def has_images(self) -> bool:
        """Whether the network has an :class:`~pgm_ar.variables.Image` variable."""
        return bool(self.image_names)

    @property
    def num_image_values(self) -> int:
        """Pixel values of all image variables together (the ``dims`` of bits per dimension)."""
        return sum(int(self.net.variable(n).num_pixels) for n in self.image_names)

    def image_name(self, variable: Optional[str] = None) -> str:
        """``variable`` checked to be an image, or the network's only image variable."""
        if variable is not None:
            if not isinstance(self.net.variable(variable), Image):
                raise PgmArError(f"variable {variable!r} is not an image")
            return variable
        if len(self.image_names) != 1:
            raise PgmArError("the network has no image variable" if not self.image_names else
                             f"the network has several image variables {list(self.image_names)}; "
                             "name one with variable=...")
        return self.image_names[0]

    def label_name(self, variable: Optional[str] = None) -> Optional[str]:
        """The image's label: its only discrete scalar parent (``None`` if it has none or
        several)."""
        name = self.image_name(variable)
        cands = [p for p in self._parents[name] if self.net.variable(p).is_discrete_scalar]
        return cands[0] if len(cands) == 1 else None

    def image_data(self, images: Any, labels: Any = None,
                   variable: Optional[str] = None) -> Dict[str, torch.Tensor]:
        """``{image: images, label: labels}``: data in the form :meth:`fit`, :meth:`log_prob` etc.
        take, from an ``(images, labels)`` pair.

        ``images`` is ``[N, C, H, W]`` (any array); ``labels`` (optional) go to the image's
        only discrete parent, or else to the network's only other variable.
        """
        name = self.image_name(variable)
        out = {name: images if torch.is_tensor(images) else torch.as_tensor(np.asarray(images))}
        if labels is not None:
            label = self.label_name(name)
            if label is None:
                others = [v.name for v in self.net.variables if v.name != name]
                if len(others) != 1:
                    raise PgmArError(f"cannot tell which variable the labels are for: image "
                                     f"{name!r} has no single discrete parent and the network "
                                     f"has {len(others)} other variables; pass a dict instead")
                label = others[0]
            out[label] = labels if torch.is_tensor(labels) else \
                torch.as_tensor(np.asarray(labels))
        return out

    def as_mapping(self, data: Any) -> Any:
        """``(images, labels)`` and bare image arrays as ``{name: values}``; other data as it is."""
        if isinstance(data, (torch.Tensor, np.ndarray)) and self.has_images:
            return self.image_data(data)
        if isinstance(data, (tuple, list)) and len(data) == 2 and self.has_images and \
                all(isinstance(v, (torch.Tensor, np.ndarray)) for v in data):
            return self.image_data(*data)
        return data


    def _image_inputs(self, data: ModelData, name: str, what: str
                      ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        enc = self.encode_data(data)
        missing = [p for p in self._parents[name] if p not in enc.values
                   or (enc.values[p].dim() == 1 and not enc.values[p].dtype.is_floating_point
                       and bool((enc.values[p] < 0).any()))]
        if missing:
            raise DataError(f"{what} of image {name!r} needs the values of its parents; they are "
                            "missing from the data", column=missing[0])
        return enc.values[name], {p: enc.values[p] for p in self._parents[name]}

    @in_eval_mode
    def features(self, data: ModelData, variable: Optional[str] = None,
                 batch_size: int = IMAGE_BATCH) -> torch.Tensor:
        """Hidden representation of each row's image, ``float32[N, H]`` on the CPU.

        For NADE (and RNADE), ``act(c + U ctx + sum_j W_j x_j)``: the hidden state after all
        pixels, with the context of the image's parents (so ``data`` needs them).  Fit an
        image without parents to get features that do not see a label.
        """
        name = self.image_name(variable)
        node = self.conditional(name)
        if not callable(getattr(node, "features", None)):
            raise PgmArError(f"image {name!r}: family {self.families[name].name!r} has no "
                             "hidden representation (NADE and RNADE have one)")
        x, parents = self._image_inputs(data, name, "features")
        parts = []
        with torch.no_grad():
            for start in range(0, int(x.shape[0]), int(batch_size)):
                sl = slice(start, start + int(batch_size))
                d = node({p: v[sl] for p, v in parents.items()}, batch_size=int(x[sl].shape[0]))
                parts.append(d.features(x[sl]).float().cpu())
        return torch.cat(parts) if parts else torch.zeros(0, getattr(node, "hidden", 0))

    @in_eval_mode
    def complete(self, data: ModelData, mask: Any, variable: Optional[str] = None,
                 seed: Optional[int] = None) -> torch.Tensor:
        """Inpainting: keep each image's pixels where ``mask`` is true, sample the others.

        ``mask`` is ``(C, H, W)`` (the same for every row) or ``(N, C, H, W)``.  The sample is
        from ``p(missing | observed, parents)`` exactly when every observed pixel precedes
        every missing one in the image's ordering (e.g. the top rows under raster order);
        otherwise an :class:`~pgm_ar.conditionals.autoregressive.ApproximateCompletionWarning`
        says the completion is approximate.  Returns ``(N, C, H, W)`` on the CPU.
        """
        name = self.image_name(variable)
        node = self.conditional(name)
        x, parents = self._image_inputs(data, name, "completing")
        shape = tuple(self.net.variable(name).shape)
        m = mask if torch.is_tensor(mask) else torch.as_tensor(np.asarray(mask))
        m = m.to(device=x.device, dtype=torch.bool)
        if tuple(m.shape) == shape:
            m = m.expand(x.shape)
        elif tuple(m.shape) != tuple(x.shape):
            raise PgmArError(f"mask of shape {tuple(m.shape)}: expected {shape} or "
                             f"{tuple(x.shape)} for image {name!r}")
        with forked_global_rng(seed, self.device), warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            with torch.no_grad():
                out = node(parents, batch_size=int(x.shape[0])).complete(x, m)
        for w in got:  # re-issue at the caller's line, not inside the family
            warnings.warn(w.message, w.category, stacklevel=2)
        return out.cpu()


