"""Saving and loading compiled models.

A model file holds the network in the spec format, each node's family as plain data and the
weights (``torch.save`` of plain data, read back with ``weights_only=True`` so a crafted file
cannot run code).  Loading rebuilds the model from the first two and loads the third.  A model
fitted with a Dirichlet prior also keeps its posterior (counts and pseudo-counts, key
``"dirichlet"``; :mod:`pgm_ar.learning.priors`), checked against the network when loaded.

The file proves its integrity: it starts with the line ``PGM_AR MODEL``, then one JSON line
``{"format": ..., "payload_bytes": N, "sha256": HEX}``, then the ``N`` bytes of the payload.
Loading checks, in this order and before building anything: the file is a regular file within
``max_file_bytes``; the header; the payload's length and SHA-256 (a changed byte anywhere is
refused, never loaded with other numbers); the sizes the payload's archive declares; every key
and its type; the network and families (within the budgets of :mod:`pgm_ar.limits`); each
tensor's name, shape and finiteness (a NaN or infinite weight is refused with its name).

Files written before checksums existed (a bare ``torch.save`` archive) still load, with a
:class:`UserWarning` saying their integrity cannot be verified; saving them again adds one.
"""
from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import torch

from ..errors import PgmArError
from ..limits import check as check_limit
from ..utils.files import read_input_bytes
from ..utils.atomic import atomic_write_bytes
from ..utils.sealed import seal, unseal
from ..network import BayesNet
from .families import resolve_families
from ..learning.posterior_fit import POSTERIOR_ATTR
from ..learning.priors import DirichletPosterior
from ..utils.devices import resolve_device

__all__ = ["FORMAT", "FILE_FORMAT", "MAGIC", "PersistenceMixin", "load_model",
           "network_to_dict", "network_from_dict", "read_model_payload"]

#: format tag of the payload (the dict inside the file)
FORMAT = "pgm_ar.model/1"
#: format tag of the file's header line (a payload with its checksum)
FILE_FORMAT = "pgm_ar.model-file/2"
#: the first line of every model file written with a checksum
MAGIC = b"PGM_AR MODEL\n"


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
        """Write the network, the families and the weights to ``path`` (atomically), with a
        SHA-256 checksum of the payload that :meth:`load` verifies."""
        path = Path(path)
        if path.is_dir():
            raise PgmArError(f"{path}: is a directory; give a file name such as "
                             f"{path / 'model.pt'}")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise PgmArError(f"{path}: {parent} is a file, not a directory")
                break
        payload = {
            "format": FORMAT,
            "network": network_to_dict(self.net),
            "families": {name: fam.to_spec() for name, fam in self.families.items()},
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
        }
        posterior = getattr(self, POSTERIOR_ATTR, None)
        if posterior is not None:  # a fit with a prior: its counts and pseudo-counts
            payload["dirichlet"] = posterior.to_payload()
        buf = io.BytesIO()
        torch.save(payload, buf)
        atomic_write_bytes(path, encode_model_file(buf.getvalue()))
        return path

    @classmethod
    def load(cls, path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
        """A model written by :meth:`save`; refused (:class:`PgmArError` naming the file and
        what is wrong) when the file is damaged, inconsistent, over a budget or holds
        non-finite weights."""
        path = Path(path)
        payload = read_model_payload(path)
        where = f"{path}"
        try:
            net = network_from_dict(payload["network"])
        except PgmArError as exc:
            raise PgmArError(f"{where}: the saved network is not valid: {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
            raise PgmArError(f"{where}: the saved network is not valid "
                             f"({type(exc).__name__}: {exc})") from None
        try:
            model = cls(net, resolve_families(net, payload["families"]))
        except PgmArError as exc:
            raise PgmArError(f"{where}: the saved families are not valid: {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise PgmArError(f"{where}: the saved families are not valid "
                             f"({type(exc).__name__}: {exc})") from None
        state = payload["state_dict"]
        expected = model.state_dict()
        missing = [k for k in expected if k not in state]
        extra = [k for k in state if k not in expected]
        if missing or extra:
            raise PgmArError(f"{where}: weights do not match the saved network (missing "
                             f"{missing[:5]}, unexpected {extra[:5]})")
        for key, ref in expected.items():
            t = state[key]
            if tuple(t.shape) != tuple(ref.shape):
                raise PgmArError(f"{where}: weight {key!r} has shape {tuple(t.shape)}; the saved "
                                 f"network needs {tuple(ref.shape)}")
            if t.dtype != ref.dtype and not (t.is_floating_point() and ref.is_floating_point()):
                raise PgmArError(f"{where}: weight {key!r} is {t.dtype}; expected {ref.dtype}")
        model.load_state_dict(state)
        if "dirichlet" in payload:
            setattr(model, POSTERIOR_ATTR,
                    DirichletPosterior.from_payload(net, payload["dirichlet"], where))
        return model.to(resolve_device(device))


def encode_model_file(payload: bytes) -> bytes:
    """The bytes of a model file: magic line, header line with the payload's SHA-256, payload."""
    return seal(MAGIC, FILE_FORMAT, payload)


def _verified_payload_bytes(path: Path, raw: bytes) -> bytes:
    """The payload of a model file's bytes after its header and checksum are verified."""
    payload = unseal(raw, MAGIC, FILE_FORMAT, path, "model file",
                     "restore it from a copy or fit again")
    if payload is not None:
        return payload
    if raw[:4] == b"PK\x03\x04":
        warnings.warn(f"{path}: a model file without a checksum (written by an older "
                      "pgm_ar): its integrity cannot be verified; load and save it again to "
                      "add one", UserWarning, stacklevel=4)
        return raw
    raise PgmArError(f"{path}: not a saved pgm_ar model (it does not start with "
                     f"{MAGIC.strip().decode()!r})")


def _check_archive_sizes(path: Path, payload: bytes) -> None:
    """The sizes the payload's archive declares, checked before torch reads (and allocates)
    any of them: a few KB of crafted archive must not expand to gigabytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise PgmArError(f"{path}: not a saved pgm_ar model ({exc})") from None
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise PgmArError(f"{path}: not a saved pgm_ar model (entry {info.filename!r} is "
                             "compressed; torch.save stores entries uncompressed)")
        total += info.file_size
    check_limit("max_file_bytes", total, f"{path}: the tensors the model file declares")


def read_model_payload(path: Union[str, Path]) -> Dict[str, Any]:
    """The verified payload dict of a model file (see the module docstring for the checks)."""
    path = Path(path)
    try:
        raw = read_input_bytes(path, "a model file")
    except PgmArError as exc:
        msg = str(exc)
        if msg.endswith("no such file"):
            msg = f"{path}: no such model file"
        raise PgmArError(msg) from None
    payload_bytes = _verified_payload_bytes(path, raw)
    _check_archive_sizes(path, payload_bytes)
    try:
        payload = torch.load(io.BytesIO(payload_bytes), map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, not a deep traceback
        raise PgmArError(f"{path}: not a saved pgm_ar model ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PgmArError(f"{path}: not a saved pgm_ar model (format {FORMAT})")
    for key, kind, what in (("network", dict, "a mapping"), ("families", dict, "a mapping"),
                            ("state_dict", dict, "a mapping of tensors")):
        if key not in payload:
            raise PgmArError(f"{path}: damaged model file: key {key!r} is missing")
        if not isinstance(payload[key], kind):
            raise PgmArError(f"{path}: damaged model file: {key!r} must be {what}, got "
                             f"{type(payload[key]).__name__}")
    total = 0
    for name, t in payload["state_dict"].items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise PgmArError(f"{path}: damaged model file: state_dict entry {name!r} is "
                             f"{type(t).__name__}, not a tensor")
        total += t.numel()
        if t.is_floating_point() or t.is_complex():
            bad = ~torch.isfinite(t)
            if bool(bad.any()):
                raise PgmArError(f"{path}: weight {name!r} holds {int(bad.sum())} non-finite "
                                 f"value(s) (NaN or infinite) of {t.numel()}; the model "
                                 "diverged or the file is damaged: fit again")
    check_limit("max_parameters", total, f"{path}: the weights")
    return payload


def load_model(path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
    """Load a model written by :meth:`CompiledModel.save`."""
    from .program import CompiledModel

    return CompiledModel.load(path, device)
