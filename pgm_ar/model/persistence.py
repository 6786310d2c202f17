"""Saving and loading compiled models.

A model file (``torch.save`` of plain data, read back with ``weights_only=True`` so a crafted
file cannot run code) holds the network in the spec format, each node's family as plain data
and the weights.  Loading rebuilds the model from the first two and loads the third.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch

from ..errors import PgmArError
from ..utils.atomic import atomic_write_bytes
from ..network import BayesNet
from .families import resolve_families
from ..utils.devices import resolve_device

__all__ = ["FORMAT", "PersistenceMixin", "load_model", "network_to_dict", "network_from_dict"]

#: file format tag of :meth:`PersistenceMixin.save`
FORMAT = "pgm_ar.model/1"


def network_to_dict(net: BayesNet) -> Dict[str, Any]:
    """Variables and edges as plain data, in the spec format (CPTs are kept by the model's
    parameters, so they are left out)."""
    from ..io.spec import spec_to_dict

    return spec_to_dict(BayesNet(net.variables, net.edges, name=net.name))


def network_from_dict(d: Mapping[str, Any]) -> BayesNet:
    """The network of :func:`network_to_dict`'s data."""
    from ..io.spec import load_spec_text

    return load_spec_text(json.dumps(d), fmt="json", source="saved model").network


class PersistenceMixin:
    """Save / load (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    def save(self, path: Union[str, Path]) -> Path:
        """Write the network, the families and the weights to ``path`` (atomically)."""
        path = Path(path)
        payload = {
            "format": FORMAT,
            "network": network_to_dict(self.net),
            "families": {name: fam.to_spec() for name, fam in self.families.items()},
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
        }
        buf = io.BytesIO()
        torch.save(payload, buf)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
        """A model written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise PgmArError(f"{path}: no such model file")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which, not a deep traceback
            raise PgmArError(f"{path}: not a saved pgm_ar model ({type(exc).__name__})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise PgmArError(f"{path}: not a saved pgm_ar model (format {FORMAT})")
        net = network_from_dict(payload["network"])
        model = cls(net, resolve_families(net, payload["families"]))
        try:
            model.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:
            raise PgmArError(f"{path}: weights do not match the saved network: {exc}") from None
        return model.to(resolve_device(device))


def load_model(path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
    """Load a model written by :meth:`CompiledModel.save`."""
    from .program import CompiledModel

    return CompiledModel.load(path, device)
