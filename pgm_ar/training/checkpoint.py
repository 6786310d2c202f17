"""Checkpoints of a training run: written atomically, read back safely, checked against the run.

A checkpoint (``checkpoint_dir/checkpoint.pt``) holds the model, optimizer and scheduler
states, the torch / numpy / python RNG states (per process in a distributed run), the epoch,
the best weights and early-stopping count, the history and the settings that shape the
trajectory.  Everything is plain tensors and numbers, so it loads with
``torch.load(weights_only=True)``: nothing is executed on load.
"""
from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any, Dict, Mapping

import numpy as np
import torch
from torch import nn

from ..errors import PgmArError
from ..utils.atomic import atomic_write_bytes

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint",
           "rng_state", "set_rng_state", "cpu_state_dict", "check_same_model"]

#: file name of the checkpoint inside ``checkpoint_dir``
CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to ``path``, atomically."""
    buf = io.BytesIO()
    torch.save({"version": CHECKPOINT_VERSION, **state}, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, model: nn.Module, trajectory: Mapping[str, Any]
                    ) -> Dict[str, Any]:
    """The checkpoint at ``path``, checked: a pgm_ar checkpoint, of a model with ``model``'s
    parameters, made with the same ``trajectory`` settings (a ``None`` seed in
    ``trajectory`` accepts the checkpoint's)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file: say which, not a pickle traceback
        raise PgmArError(f"{path}: cannot read the checkpoint ({exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION:
        raise PgmArError(f"{path}: not a pgm_ar training checkpoint")
    check_same_model(model, ckpt["model"], path)
    for key, value in trajectory.items():
        saved = ckpt["config"].get(key)
        if key == "seed" and value is None:
            continue
        if saved != value:
            raise PgmArError(f"{path}: the checkpoint was made with {key}={saved!r}, this run "
                             f"has {key}={value!r}; resume with the same settings or use "
                             "another checkpoint_dir")
    return ckpt


def rng_state(device: torch.device) -> Dict[str, Any]:
    """The torch (and CUDA), numpy and python RNG states as plain tensors and numbers."""
    # numpy's and python's states as plain tensors / ints so the checkpoint loads with
    # torch.load(weights_only=True): no pickled objects, nothing executed on load
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(gauss)],
        "python": [int(version), list(internal), gauss_next],
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def cpu_state_dict(model: nn.Module) -> Dict[str, torch.Tensor]:
    """A copy of ``model``'s state on the CPU (not aliasing the live tensors)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def check_same_model(model: nn.Module, saved: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse weights of another model: a key missing on either side or another shape."""
    current = model.state_dict()
    for key in sorted(set(current) | set(saved)):
        if key not in saved:
            raise PgmArError(f"{path}: the checkpoint is of a different model: it has no "
                             f"{key!r}; delete it or use another checkpoint_dir")
        if key not in current:
            raise PgmArError(f"{path}: the checkpoint is of a different model: it has "
                             f"{key!r}, which this model lacks; delete it or use another "
                             "checkpoint_dir")
        if tuple(saved[key].shape) != tuple(current[key].shape):
            raise PgmArError(f"{path}: the checkpoint is of a different model: {key!r} has "
                             f"shape {tuple(saved[key].shape)} there but "
                             f"{tuple(current[key].shape)} here; delete it or use another "
                             "checkpoint_dir")
