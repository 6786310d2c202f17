"""What defines a training run, so that only the same run resumes from its checkpoint.

A checkpoint records the run's *identity*: the trajectory settings (optimizer, learning rate,
schedule, batch size, seed, ...), the model's description (for a compiled model its network
and every family with its settings: ordering, activation, hidden sizes, ...; for another
module its ``repr``), a fingerprint of the training and validation data (number of examples
and SHA-256 of the tensors) and the transform.  Resuming compares the recorded identity with
the new run's and refuses when anything differs, naming each difference with both values.

>>> differences({"lr": 0.01, "model": {"act": "relu"}}, {"lr": 0.1, "model": {"act": "elu"}})
['lr: 0.01 in the checkpoint, 0.1 in this run', 'model.act: relu in the checkpoint, elu in this run']
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List, Mapping, Optional

import torch
from torch import nn

from .data import Source

__all__ = ["run_identity", "data_fingerprint", "differences"]

#: at most this many differences are listed in one message (then "and N more")
MAX_LISTED = 12


def _hash_tensor(h: "hashlib._Hash", t: torch.Tensor) -> None:
    t = t.detach()
    h.update(f"{tuple(t.shape)}|{t.dtype}|".encode())
    flat = t.to("cpu").contiguous().reshape(-1)
    # the raw bytes, whatever the dtype (numpy has no bfloat16)
    h.update(flat.view(torch.uint8).numpy() if flat.numel() else b"")


def data_fingerprint(source: Optional[Source]) -> Optional[Dict[str, Any]]:
    """``{"examples": N, "sha256": HEX}`` of in-memory data (every tensor's shape, dtype and
    bytes); a Dataset or DataLoader gives its length and type only; ``None``: no data."""
    if source is None:
        return None
    if source.tensors is None:
        what = source.dataset if source.dataset is not None else source.loader
        return {"examples": source.n, "type": type(what).__name__}
    h = hashlib.sha256()
    tensors = source.tensors
    if isinstance(tensors, torch.Tensor):
        _hash_tensor(h, tensors)
    elif isinstance(tensors, Mapping):
        for key in sorted(tensors):
            h.update(f"{key}|".encode())
            _hash_tensor(h, tensors[key])
    else:  # a tuple of tensors
        for t in tensors:
            _hash_tensor(h, t)
    return {"examples": source.n, "sha256": h.hexdigest()}


def _described(obj: Any) -> Optional[str]:
    """A callable's description: its ``repr`` when that says more than an address."""
    if obj is None:
        return None
    text = repr(obj)
    return type(obj).__qualname__ if " at 0x" in text else text


def run_identity(model: nn.Module, train: Source, val: Optional[Source],
                 transform: Any) -> Dict[str, Any]:
    """The model, data and transform parts of a run's identity (plain data).

    A model with a ``run_identity()`` method describes itself (a compiled model: its network
    and families); any other module by its ``repr`` (layers and activations)."""
    own = getattr(model, "run_identity", None)
    described = own() if callable(own) else {"module": repr(model)}
    identity = {"model": described, "training data": data_fingerprint(train),
                "validation data": data_fingerprint(val), "transform": _described(transform)}
    # plain JSON data (tuples become lists), so the saved and the new identity compare alike
    return json.loads(json.dumps(identity, default=str))


def _flat(value: Any, prefix: str, out: Dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            _flat(sub, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def _show(value: Any) -> str:
    text = str(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def _shown_pair(a: Any, b: Any):
    """Both values for a message: long or multi-line texts (a module's ``repr``) as the line
    where they first differ, so that one line shows what changed."""
    if not (isinstance(a, str) and isinstance(b, str)) or (
            "\n" not in a + b and len(a) <= 80 and len(b) <= 80):
        return _show(a), _show(b)
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))

    def line_at(text: str) -> str:
        start = text.rfind("\n", 0, first) + 1
        end = text.find("\n", first)
        return _show("..." + text[start:end if end >= 0 else len(text)].strip() + "...")
    return line_at(a), line_at(b)


def differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> List[str]:
    """Each setting (a dotted path into nested mappings) whose value differs, as
    ``"name: old in the checkpoint, new in this run"``; missing on one side shows as
    ``absent``.  At most :data:`MAX_LISTED` are listed, then how many more."""
    old, new = {}, {}
    _flat(saved, "", old)
    _flat(now, "", new)
    keys = list(old) + [k for k in new if k not in old]
    absent = object()
    out = []
    for key in keys:
        a, b = old.get(key, absent), new.get(key, absent)
        if a != b:
            shown_a, shown_b = _shown_pair("absent" if a is absent else a,
                                           "absent" if b is absent else b)
            out.append(f"{key}: {shown_a} in the checkpoint, {shown_b} in this run")
    if len(out) > MAX_LISTED:
        out = out[:MAX_LISTED] + [f"and {len(out) - MAX_LISTED} more"]
    return out
