"""Checkpoints of a training run: written atomically, sealed with a checksum, read back
safely, checked against the run.

A checkpoint (``checkpoint_dir/checkpoint.pt``) holds the model, optimizer and scheduler
states, the torch / numpy / python RNG states (per process in a distributed run), the epoch,
the best weights and early-stopping count, the history and the run's identity (the settings
that shape the trajectory, the model's description and the data's fingerprint, see
:mod:`.identity`).  Everything is plain tensors and numbers, so it loads with
``torch.load(weights_only=True)``: nothing is executed on load.

The file is sealed like a model file (:mod:`pgm_ar.utils.sealed`): the line
``PGM_AR CHECKPOINT``, a JSON header with the payload's length and SHA-256, the payload.  A
truncated or changed file is refused with its name before anything is unpickled; a
checkpoint written before checksums (a bare ``torch.save`` archive) loads with a warning.
"""
from __future__ import annotations

import io
import random
import warnings
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import torch
from torch import nn

from ..errors import PgmArError
from ..utils.atomic import atomic_write_bytes
from ..utils.files import read_input_bytes
from ..utils.sealed import seal, unseal
from .identity import differences

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint", "read_checkpoint",
           "rng_state", "set_rng_state", "cpu_state_dict", "check_same_model"]

#: file name of the checkpoint inside ``checkpoint_dir``
CHECKPOINT_NAME = "checkpoint.pt"
#: 2: sealed with a checksum, with the run's identity; 1: a bare archive, trajectory only
CHECKPOINT_VERSION = 2
#: the first line and the header's format tag of a sealed checkpoint
MAGIC = b"PGM_AR CHECKPOINT\n"
FILE_FORMAT = "pgm_ar.checkpoint/2"
#: what a checkpoint must hold, with the type of each entry
_KEYS = {"epoch": int, "model": dict, "optimizer": dict, "history": dict, "config": dict,
         "bad_epochs": int, "finished": bool, "rng": dict}
_REMEDY = ("restore it from a copy, or start the run afresh (without resume, or with "
           "--force instead of --resume)")


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to ``path``, sealed with the SHA-256 of its
    payload, atomically (the old checkpoint stays whole until the new one is complete)."""
    buf = io.BytesIO()
    torch.save({"version": CHECKPOINT_VERSION, **state}, buf)
    return atomic_write_bytes(path, seal(MAGIC, FILE_FORMAT, buf.getvalue()))


def read_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """The checkpoint at ``path`` as a dict, its checksum verified (an old checkpoint without
    one loads with a warning); a damaged file is a :class:`PgmArError` naming it."""
    path = Path(path)
    raw = read_input_bytes(path, "a checkpoint")
    payload = unseal(raw, MAGIC, FILE_FORMAT, path, "checkpoint", _REMEDY)
    if payload is None:
        if raw[:4] != b"PK\x03\x04":
            raise PgmArError(f"{path}: cannot read the checkpoint (it does not start with "
                             f"{MAGIC.strip().decode()!r}; not a pgm_ar training checkpoint)")
        warnings.warn(f"{path}: a checkpoint without a checksum (written by an older pgm_ar): "
                      "its integrity and the run it belongs to cannot be fully verified",
                      UserWarning, stacklevel=4)
        payload = raw
    try:
        ckpt = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file: say which, not a pickle traceback
        raise PgmArError(f"{path}: cannot read the checkpoint ({type(exc).__name__}); "
                         f"{_REMEDY}") from None
    if not isinstance(ckpt, dict) or ckpt.get("version") not in (1, CHECKPOINT_VERSION):
        raise PgmArError(f"{path}: not a pgm_ar training checkpoint")
    for key, kind in _KEYS.items():
        if not isinstance(ckpt.get(key), kind):
            raise PgmArError(f"{path}: damaged checkpoint: {key!r} is "
                             f"{type(ckpt.get(key)).__name__}, not {kind.__name__}; {_REMEDY}")
    return ckpt


def load_checkpoint(path: Path, model: nn.Module, trajectory: Mapping[str, Any],
                    identity: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The checkpoint at ``path``, checked: an intact pgm_ar checkpoint (its checksum), of a
    model with ``model``'s parameters, made by the same run: the same ``trajectory`` settings
    (a ``None`` seed in ``trajectory`` accepts the checkpoint's) and the same ``identity``
    (model description, data fingerprints; see :mod:`.identity`).  Every difference is named
    in one :class:`PgmArError`, with the checkpoint's value and this run's."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    check_same_model(model, ckpt["model"], path)
    saved = dict(ckpt["config"])
    now = dict(trajectory)
    if now.get("seed") is None:
        saved.pop("seed", None)
        now.pop("seed", None)
    diffs = differences(saved, now)
    if identity is not None and isinstance(ckpt.get("identity"), dict):
        diffs += differences(ckpt["identity"], identity)
    if diffs:
        raise PgmArError(f"{path}: cannot resume: the checkpoint was made by another run ("
                         + "; ".join(diffs) + "); resume with the same settings and data, or "
                         "start afresh (another checkpoint_dir or --out, or --force without "
                         "--resume)")
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
