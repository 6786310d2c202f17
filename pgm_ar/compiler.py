"""Compile a :class:`~pgm_ar.network.BayesNet` to a Pyro model, fit it, and use it.

:func:`compile` gives every node a conditional family (:mod:`pgm_ar.conditionals`) and returns
a :class:`CompiledModel`, a ``PyroModule`` whose :meth:`~CompiledModel.model` is the Pyro
program: one ``pyro.sample`` site per variable, in topological order, inside
``pyro.plate("data")``.  Everything Pyro offers works on it (``pyro.render_model``,
``poutine.trace``, ``TraceEnum_ELBO``, ``infer_discrete``); around it the model offers
:meth:`~CompiledModel.fit`, :meth:`~CompiledModel.log_prob`, :meth:`~CompiledModel.sample`,
:meth:`~CompiledModel.query`, :meth:`~CompiledModel.map_query`,
:meth:`~CompiledModel.impute`, :meth:`~CompiledModel.to_bayesnet` and save / load.

Networks whose variables are all discrete scalars use the exact, vectorised routines of
:mod:`pgm_ar.inference` on their CPTs (for non-tabular families, the CPT obtained by evaluating
the conditional on every parent configuration).

>>> import pandas as pd
>>> from pgm_ar import BayesNet, Bernoulli, compile
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")])
>>> model = compile(net)
>>> rows = pd.DataFrame({"rain": [0, 0, 0, 1], "wet": [0, 0, 1, 1]})
>>> history = model.fit(rows)                      # counts: all tabular, fully observed
>>> {state: round(p, 4) for state, p in model.query("rain", evidence={"wet": "1"}).items()}
{'0': 0.5, '1': 0.5}
>>> [round(x, 4) for x in model.log_prob(rows).tolist()]
[-0.6931, -0.6931, -1.3863, -1.3863]
"""
from __future__ import annotations

import io as _io
import math
import os
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO, TraceEnum_ELBO, config_enumerate, infer_discrete
from pyro.nn import PyroModule
from torch import nn

from . import inference
from .conditionals import Family, LinearGaussian, Logistic, Tabular, family_from_spec
from .conditionals.base import Conditional
from .conditionals.tabular import MAX_TABLE_SIZE, TabularConditional
from .cpd import TabularCPD
from .errors import DataError, PgmArError, UnknownVariableError, InferenceTooLargeError
from .network import BayesNet
from .tabular_data import (EncodedData, _columns, _encode_discrete, _encode_real, decode,
                           encode, parse_evidence)
from .variables import Gaussian, Image, Kind, Variable

if TYPE_CHECKING:  # the training loop is imported when it is used
    from .training import History

Data = Union["Any", Mapping[str, Any], EncodedData]

#: log-factor that rules out an enumerated value disagreeing with an observed one
_IMPOSSIBLE = -1e30
#: the most entries an exact marginalisation over missing values may hold per chunk of rows
_ENUM_BUDGET = 2 ** 24
#: with image variables: the most pixel values (rows x enumerated states x pixels) per chunk
_IMAGE_ENUM_BUDGET = 2 ** 22
#: rows scored per pass by log_prob / features when the network has images
_IMAGE_BATCH = 1024
#: file format tag of :meth:`CompiledModel.save`
FORMAT = "pgm_ar.model/1"


class FitMethod(str, Enum):
    """How :meth:`CompiledModel.fit` fits: closed form, stochastic variational inference, the
    shared training loop, or auto."""

    AUTO = "auto"
    COUNTS = "counts"
    SVI = "svi"
    #: minibatch maximum likelihood in :func:`pgm_ar.training.fit` (device, AMP, validation,
    #: early stopping, checkpoints, resume, logs): the default for networks with images
    TRAIN = "train"


class ImputeMode(str, Enum):
    MAP = "map"
    SAMPLE = "sample"


def _enum(cls, value, what: str):
    try:
        return cls(value.value if isinstance(value, Enum) else str(value).lower())
    except ValueError:
        raise PgmArError(f"unknown {what} {value!r}; use one of {[m.value for m in cls]}") from None


def _scalar_discrete(v: Variable) -> bool:
    return v.is_discrete and v.num_pixels == 1


def _discrete_image(v: Variable) -> bool:
    return isinstance(v, Image) and v.levels is not None


# --------------------------------------------------------------------------- #
# choosing families
# --------------------------------------------------------------------------- #
def _kind_key(key: Any) -> Optional[Kind]:
    if isinstance(key, Kind):
        return key
    if isinstance(key, type) and issubclass(key, Variable) and isinstance(key.kind, Kind):
        return key.kind
    if isinstance(key, str):
        try:
            return Kind(key.lower())
        except ValueError:
            return None
    return None


def default_family(net: BayesNet, name: str) -> Family:
    """Tabular for discrete nodes with discrete parents, logistic for discrete nodes with real
    parents, linear-Gaussian for real nodes.

    Images have no default: the family and its size (NADE's hidden units, MADE's layers) set
    the model's cost and quality, so they are asked for explicitly, and the error says how.
    """
    var = net.variable(name)
    parents = [net.variable(p) for p in net.parents(name)]
    if isinstance(var, Image):
        example = "{'family': 'rnade', 'hidden': 100}" if var.levels is None else \
            "{'family': 'nade', 'hidden': 500}"
        raise PgmArError(
            f"image variable {var.name!r} needs a neural autoregressive family (nade, made, "
            f"fvsbn, ark, pixelcnn, rowlstm, diagbilstm; rnade for real pixels), e.g. conditionals={{{var.name!r}: {example}}} "
            "or, in a spec, 'conditionals:' with that mapping")
    if isinstance(var, Gaussian):
        return LinearGaussian()
    if all(_scalar_discrete(p) for p in parents) and Tabular().supports(var, parents) is None:
        return Tabular()
    return Logistic()


def resolve_families(net: BayesNet, conditionals: Optional[Mapping[Any, Any]] = None
                     ) -> Dict[str, Family]:
    """The family of every node: by variable name, else by kind (``"gaussian"``, ``Kind.IMAGE``,
    ``Bernoulli``), else the default.  Raises :class:`PgmArError` naming the variable whose
    family cannot model it."""
    by_name: Dict[str, Family] = {}
    by_kind: Dict[Kind, Family] = {}
    for key, spec in (conditionals or {}).items():
        if isinstance(key, str) and key in net:
            by_name[key] = family_from_spec(spec)
            continue
        kind = _kind_key(key)
        if kind is None:
            raise UnknownVariableError(str(key), net.names, where="conditionals")
        by_kind[kind] = family_from_spec(spec)
    out: Dict[str, Family] = {}
    for var in net.variables:
        fam = by_name.get(var.name) or by_kind.get(var.kind) or default_family(net, var.name)
        parents = [net.variable(p) for p in net.parents(var.name)]
        reason = fam.supports(var, parents)
        if reason:
            raise PgmArError(f"variable {var.name!r}: family {fam.name!r} cannot model it: {reason}")
        out[var.name] = fam
    return out


def compile(net: BayesNet, conditionals: Optional[Mapping[Any, Any]] = None) -> "CompiledModel":
    """Compile ``net`` to a :class:`CompiledModel`.

    Parameters
    ----------
    net
        The network.  CPTs it carries (e.g. read from BIF) become the parameters of its
        tabular nodes, so ``compile(read_bif(path))`` is a ready model.
    conditionals
        ``{variable name or kind: family}``; a family is a :class:`~pgm_ar.conditionals.Family`
        (``Tabular(prior=2)``, ``MLP(hidden=(64,))``), a name (``"logistic"``) or a dict
        (``{"family": "mlp", "hidden": [64]}``).  Kinds are ``"bernoulli"``,
        ``"categorical"``, ``"gaussian"``, ``"image"`` (or :class:`~pgm_ar.variables.Kind`).

    Raises
    ------
    PgmArError
        For an unknown variable, an unknown family, or a family that cannot model its node.
    """
    if not isinstance(net, BayesNet):
        raise PgmArError(f"compile expects a BayesNet, got {type(net).__name__}")
    return CompiledModel(net, resolve_families(net, conditionals))


# --------------------------------------------------------------------------- #
# networks as plain data (for save / load)
# --------------------------------------------------------------------------- #
def network_to_dict(net: BayesNet) -> Dict[str, Any]:
    """Variables and edges as plain data, in the spec format (CPTs are kept by the model's
    parameters, so they are left out)."""
    from .io.spec import spec_to_dict

    return spec_to_dict(BayesNet(net.variables, net.edges, name=net.name))


def network_from_dict(d: Mapping[str, Any]) -> BayesNet:
    import json

    from .io.spec import load_spec_text

    return load_spec_text(json.dumps(d), fmt="json", source="saved model").network


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    try:
        from .io.atomic import atomic_write_bytes  # type: ignore[import-not-found]
    except ImportError:
        atomic_write_bytes = None
    if atomic_write_bytes is not None:
        atomic_write_bytes(path, payload)
        return
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PgmArError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PgmArError("device 'cuda' was asked for but no CUDA GPU is available")
    return dev


def _loop_log_prob(model: "CompiledModel", batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``log_prob_fn`` of :func:`pgm_ar.training.fit`: the differentiable batch log-likelihood."""
    return model._batch_log_prob(batch)


def _empty_guide(*args: Any, **kwargs: Any) -> None:
    """The guide of maximum-likelihood fitting: no latent continuous sites to approximate."""


# --------------------------------------------------------------------------- #
# the compiled model
# --------------------------------------------------------------------------- #
class CompiledModel(PyroModule):
    """A Bayesian network with one conditional module per node, as a Pyro program.

    Build it with :func:`compile`.  Attributes: ``net`` (the network), ``families``
    (``{name: Family}``), and :meth:`conditional` (the module of one node).
    """

    def __init__(self, net: BayesNet, families: Mapping[str, Family]) -> None:
        super().__init__()
        self.net = net
        self.families = dict(families)
        self._index = {n: i for i, n in enumerate(net.names)}
        self._topo = net.topological_order()
        self._parents = {n: net.parents(n) for n in net.names}
        mods = []
        for name in net.names:
            parents = [net.variable(p) for p in self._parents[name]]
            mods.append(self.families[name].build(net.variable(name), parents))
        # index keys: variable names may hold characters a ModuleDict key may not
        self.nodes = nn.ModuleList(mods)
        # small exact families run in float64: tables and sums then match exact inference
        self.exact = all(type(f).exact for f in self.families.values())
        self.to(torch.float64 if self.exact else torch.float32)
        # which nodes hold fitted (or given) parameters; the others are re-initialised by a
        # seeded fit, and tables start random for latent models (uniform CPTs are a saddle)
        self.register_buffer("fitted", torch.zeros(len(net.names), dtype=torch.bool))
        for name, cpd in net.cpds.items():
            node = self.nodes[self._index[name]]
            if isinstance(node, TabularConditional):
                node.set_probs(cpd.probs)
                self.fitted[self._index[name]] = True
        self.all_discrete = all(_scalar_discrete(v) for v in net.variables)
        self.all_tabular = all(isinstance(m, TabularConditional) for m in mods)
        self.image_names: Tuple[str, ...] = tuple(v.name for v in net.variables
                                                  if isinstance(v, Image))

    # ------------------------------------------------------------------ basics
    def conditional(self, name: str) -> Conditional:
        """The module of node ``name``."""
        if name not in self._index:
            raise UnknownVariableError(name, self.net.names)
        return self.nodes[self._index[name]]  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        return self.fitted.device

    @property
    def dtype(self) -> torch.dtype:
        return torch.float64 if self.exact else torch.float32

    @property
    def has_images(self) -> bool:
        """Whether the network has an :class:`~pgm_ar.variables.Image` variable."""
        return bool(self.image_names)

    @property
    def num_image_values(self) -> int:
        """Pixel values of all image variables together (the ``dims`` of bits per dimension)."""
        return sum(int(self.net.variable(n).num_pixels) for n in self.image_names)

    def _image_name(self, variable: Optional[str] = None) -> str:
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
        name = self._image_name(variable)
        cands = [p for p in self._parents[name] if _scalar_discrete(self.net.variable(p))]
        return cands[0] if len(cands) == 1 else None

    def image_data(self, images: Any, labels: Any = None,
                   variable: Optional[str] = None) -> Dict[str, torch.Tensor]:
        """``{image: images, label: labels}``: data in the form :meth:`fit`, :meth:`log_prob` etc.
        take, from an ``(images, labels)`` pair.

        ``images`` is ``[N, C, H, W]`` (any array); ``labels`` (optional) go to the image's
        only discrete parent, or else to the network's only other variable.
        """
        name = self._image_name(variable)
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

    def _as_mapping(self, data: Any) -> Any:
        """``(images, labels)`` and bare image arrays -> ``{name: values}``; others unchanged."""
        if isinstance(data, (torch.Tensor, np.ndarray)) and self.has_images:
            return self.image_data(data)
        if isinstance(data, (tuple, list)) and len(data) == 2 and self.has_images and \
                all(isinstance(v, (torch.Tensor, np.ndarray)) for v in data):
            return self.image_data(*data)
        return data

    def num_parameters(self) -> Dict[str, int]:
        """Trainable parameters per variable (free parameters for tables)."""
        return {n: self.nodes[i].num_parameters() for i, n in enumerate(self.net.names)}

    def __repr__(self) -> str:
        fams = ", ".join(sorted({f.name for f in self.families.values()}))
        return (f"CompiledModel({self.net.name!r}, {len(self.net)} variables, "
                f"families: {fams}, {sum(self.num_parameters().values())} parameters)")

    # ------------------------------------------------------------------ the Pyro program
    def model(self, data: Optional[Union[Mapping[str, torch.Tensor], EncodedData]] = None,
              num_samples: Optional[int] = None) -> Dict[str, torch.Tensor]:
        """The Pyro program: one ``pyro.sample`` site per variable inside ``pyro.plate("data")``.

        Parameters
        ----------
        data
            ``{name: tensor}`` (batch-first; discrete values as state indices, ``-1`` where
            missing) or an :class:`~pgm_ar.tabular_data.EncodedData`.  A variable in the data
            is observed; one that is absent is sampled (latent).  A discrete column with
            missing entries is a latent site whose value is tied to the observation where
            there is one (a log-factor ``{name}__observed``), so enumeration marginalises
            exactly the missing entries.
        num_samples
            The plate size when ``data`` is ``None`` (default 1).
        """
        values = data.values if isinstance(data, EncodedData) else dict(data or {})
        if values:
            n = int(next(iter(values.values())).shape[0])
        else:
            n = 1 if num_samples is None else int(num_samples)
        drawn: Dict[str, torch.Tensor] = {}
        with pyro.plate("data", n):
            for name in self._topo:
                node = self.nodes[self._index[name]]
                var = node.variable
                d = node({p: drawn[p] for p in self._parents[name]}, batch_size=n)
                obs = values.get(name)
                if obs is None:
                    drawn[name] = pyro.sample(name, d)
                    continue
                if var.is_discrete and var.num_pixels == 1:
                    obs = obs.long()
                    missing = obs < 0
                    if bool(missing.any()):
                        x = pyro.sample(name, d)
                        zero = torch.zeros((), dtype=self.dtype, device=obs.device)
                        ok = torch.where(x == obs, zero, zero + _IMPOSSIBLE)
                        pyro.factor(f"{name}__observed", torch.where(missing, zero, ok))
                        drawn[name] = x
                        continue
                elif var.is_discrete:
                    obs = obs.long()
                else:
                    obs = obs.to(self.dtype)
                drawn[name] = pyro.sample(name, d, obs=obs)
        return drawn

    forward = model

    # ------------------------------------------------------------------ tables
    def tables(self) -> Dict[str, torch.Tensor]:
        """Every node's CPT, ``(*parent_cards, card)`` float64 on the CPU (all-discrete nets).

        Non-tabular conditionals are evaluated on every parent configuration.
        """
        if not self.all_discrete:
            bad = next(v.name for v in self.net.variables if not _scalar_discrete(v))
            raise PgmArError(f"variable {bad!r} is not a discrete scalar: the network has no CPTs")
        out = {}
        with torch.no_grad():
            for i, name in enumerate(self.net.names):
                node = self.nodes[i]
                if isinstance(node, TabularConditional):
                    out[name] = node.probs().cpu()
                    continue
                pvars = node.parent_vars
                cards = [int(p.cardinality) for p in pvars]
                card = int(node.variable.cardinality)
                size = int(np.prod(cards + [card], dtype=object))
                if size > MAX_TABLE_SIZE:
                    raise PgmArError(f"the CPT of {name!r} would have {size} entries "
                                     f"(limit {MAX_TABLE_SIZE})")
                if pvars:
                    grid = torch.cartesian_prod(*[torch.arange(k, device=self.device)
                                                  for k in cards]).reshape(-1, len(cards))
                    d = node({p.name: grid[:, j] for j, p in enumerate(pvars)})
                    probs = d.probs.double().reshape(tuple(cards) + (card,))
                else:
                    probs = node({}, batch_size=1).probs.double().reshape(card)
                out[name] = probs.cpu()
        return out

    def to_bayesnet(self) -> BayesNet:
        """The network with the fitted CPTs attached (so ``write_bif`` writes it)."""
        cpds = {name: TabularCPD(name, self._parents[name], t.numpy())
                for name, t in self.tables().items()}
        return self.net.with_cpds(cpds)

    # ------------------------------------------------------------------ scoring
    def _encode(self, data: Data) -> EncodedData:
        return encode(self.net, self._as_mapping(data)).to(self.device)

    def log_prob(self, data: Data, batch_size: Optional[int] = None) -> torch.Tensor:
        """Per-row log-likelihood in nats, ``float64[N]`` (on the CPU).

        Complete rows are scored in one vectorised pass per node (``batch_size`` rows at a
        time: default 65536, or 1024 when the network has images).  Missing discrete values
        (and latent variables) are marginalised exactly by Pyro's enumeration: for
        ``label -> digit``, ``log_prob({"digit": x})`` is ``log sum_y p(y) p(x | y)``.
        """
        if batch_size is None:
            batch_size = _IMAGE_BATCH if self.has_images else 65536
        enc = self._encode(data)
        with torch.no_grad():
            if enc.has_missing:
                return self._log_prob_enum(enc)
            if self.all_tabular:
                tabs = {k: v.to(self.device) for k, v in self.tables().items()}
                return inference.log_prob(self.net, tabs, enc.values).cpu()
            parts = []
            for start in range(0, enc.n, batch_size):
                parts.append(self._log_prob_complete(enc.rows(slice(start, start + batch_size))))
            if not parts:
                return torch.zeros(0, dtype=torch.float64)
            return torch.cat(parts).cpu()

    def _log_prob_complete(self, enc: EncodedData) -> torch.Tensor:
        total = torch.zeros(enc.n, dtype=torch.float64, device=self.device)
        for name in self._topo:
            node = self.nodes[self._index[name]]
            d = node({p: enc.values[p] for p in self._parents[name]}, batch_size=enc.n)
            x = enc.values[name]
            x = x.long() if node.variable.is_discrete else x.to(self.dtype)
            total = total + d.log_prob(x).double()
        return total

    def _enum_width(self, enc: EncodedData) -> int:
        width = 1
        for name in set(enc.latent) | set(enc.missing_columns):
            width *= int(self.net.variable(name).cardinality)  # type: ignore[arg-type]
        return width

    def _enum_chunk(self, width: int) -> int:
        """Rows per enumeration pass for ``width`` enumerated joint states per row."""
        chunk = max(1, _ENUM_BUDGET // width)
        if self.has_images:  # every enumerated state runs the image model on every row
            chunk = max(1, min(chunk, _IMAGE_ENUM_BUDGET // (width * self.num_image_values)))
        return chunk

    def _log_prob_enum(self, enc: EncodedData) -> torch.Tensor:
        width = self._enum_width(enc)
        if width > _ENUM_BUDGET:
            raise PgmArError(
                f"marginalising the missing values exactly would enumerate {width} joint "
                f"states per row (limit {_ENUM_BUDGET}): too many latent or missing variables")
        chunk = self._enum_chunk(width)
        parts = []
        for start in range(0, enc.n, chunk):
            part = enc.rows(slice(start, start + chunk))
            enum_model = poutine.enum(config_enumerate(self.model), first_available_dim=-2)
            tr = poutine.trace(enum_model).get_trace(part.values)
            tr.compute_log_prob()
            total = None
            for site in tr.nodes.values():
                if site["type"] == "sample" and "log_prob" in site:
                    lp = site["log_prob"].double()
                    total = lp if total is None else total + lp
            total = total.reshape((-1,) + total.shape[-1:]) if total.dim() > 1 else total[None]
            total = total.expand(total.shape[0], part.n)
            parts.append(torch.logsumexp(total, dim=0))
        return torch.cat(parts).cpu()

    # ------------------------------------------------------------------ fitting
    def log_prior(self) -> torch.Tensor:
        """Sum of the conditionals' log priors (MAP fitting); 0 without priors."""
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        for node in self.nodes:
            lp = node.log_prior()
            if lp is not None:
                total = total + lp
        return total

    def fit(self, data: Data, method: Union[str, FitMethod] = "auto", *,
            epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, lr_decay: float = 1.0,
            device: Union[str, torch.device] = "auto", seed: Optional[int] = 0,
            progress: bool = True, val: Optional[Data] = None,
            checkpoint_dir: Optional[Union[str, Path]] = None, resume: bool = False,
            transform: Optional[Any] = None, early_stopping_patience: Optional[int] = None,
            log_path: Optional[Union[str, Path]] = None, lr_schedule: Optional[str] = "cosine",
            amp: bool = True, max_grad_norm: Optional[float] = None
            ) -> Union[List[float], "History"]:
        """Fit the conditionals to ``data`` (maximum likelihood, or MAP with priors).

        Parameters
        ----------
        data
            A DataFrame or ``{name: values}``; for image networks ``{"digit":
            FloatTensor[N, C, H, W], "label": LongTensor[N]}``, or ``(images, labels)`` /
            ``images`` (see :meth:`image_data`).
        method
            ``"counts"``: the exact closed form (counts for tables, least squares for
            linear-Gaussian nodes), on complete data only.  ``"svi"``: gradient ascent on the
            log-likelihood of the Pyro program by stochastic variational inference with an
            empty guide (``Trace_ELBO``); when a discrete variable is latent or has missing
            values, ``TraceEnum_ELBO`` enumerates it, so the exact marginal likelihood is
            maximised.  ``"train"``: the shared training loop :func:`pgm_ar.training.fit` on
            complete data — the same objective as SVI with an empty guide (the mean
            log-likelihood of fully observed rows), with validation, early stopping,
            checkpoints, resume, logs and AMP on CUDA.  ``"auto"``: ``"train"`` when the
            network has an image variable, else counts when every node has a closed form and
            the data is complete, else SVI.
        epochs, batch_size, lr
            Passes over the data, rows per mini-batch, Adam's learning rate.  Defaults: 100,
            1024, 0.01 for SVI; 20, 100, 0.001 for ``"train"``.
        lr_decay
            SVI: the learning rate is multiplied by this after every epoch (1: constant); a
            decay lets mini-batch SVI settle on the optimum instead of hovering around it.
        device
            ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``; the model stays there.
        seed
            Seeds the initialisation of parameters not yet fitted and the mini-batch order
            (``"train"``: and the per-epoch ``transform`` generator).
        progress
            A progress bar (only when stderr is a terminal).
        val, checkpoint_dir, resume, transform, early_stopping_patience, log_path,
        lr_schedule, amp, max_grad_norm
            ``"train"`` only; passed to :func:`pgm_ar.training.fit`.  ``val`` is validation
            data in the form of ``data`` (already binarized); ``transform(batch, generator)``
            changes each training batch (a dict of tensors), e.g.
            ``DynamicBinarization("digit")`` for grey training images.

        Returns
        -------
        list of float, or History
            Counts / SVI: the loss per epoch, mean negative log-likelihood per row in nats
            (plus the prior's share; one entry for the closed form).  ``"train"``: the
            :class:`~pgm_ar.training.History` (train and validation NLL per epoch, best epoch).
        """
        method = _enum(FitMethod, method, "fit method")
        if method is FitMethod.AUTO and self.has_images:
            method = FitMethod.TRAIN
        loop_only = {"val": val is not None, "checkpoint_dir": checkpoint_dir is not None,
                     "resume": bool(resume), "transform": transform is not None,
                     "early_stopping_patience": early_stopping_patience is not None,
                     "log_path": log_path is not None}
        if method is FitMethod.TRAIN:
            return self._fit_loop(
                data, val=val, epochs=20 if epochs is None else epochs,
                batch_size=100 if batch_size is None else batch_size,
                lr=1e-3 if lr is None else lr, device=device, seed=seed, progress=progress,
                checkpoint_dir=checkpoint_dir, resume=resume, transform=transform,
                early_stopping_patience=early_stopping_patience, log_path=log_path,
                lr_schedule=lr_schedule, amp=amp, max_grad_norm=max_grad_norm)
        given = [k for k, v in loop_only.items() if v]
        if given:
            raise PgmArError(f"{', '.join(given)}: only with method='train' (the training "
                             f"loop), not with method={method.value!r}")
        epochs = 100 if epochs is None else epochs
        batch_size = 1024 if batch_size is None else batch_size
        lr = 0.01 if lr is None else lr
        enc = encode(self.net, data)
        if enc.n == 0:
            raise DataError("no rows to fit")
        closed = [n for n, m in zip(self.net.names, self.nodes) if not m.closed_form]
        if method is FitMethod.AUTO:
            method = FitMethod.COUNTS if not closed and not enc.has_missing else FitMethod.SVI
        if method is FitMethod.COUNTS:
            if closed:
                raise PgmArError(f"variable {closed[0]!r} ({self.families[closed[0]].name}) has "
                                 "no closed-form fit; use method='svi'")
            if enc.has_missing:
                col = (enc.latent + enc.missing_columns)[0]
                raise DataError("missing values: the closed-form fit needs complete data; use "
                                "method='svi' (it marginalises them)", column=col)
            return self._fit_closed_form(enc.to(self.device))
        return self._fit_svi(enc, epochs=epochs, batch_size=batch_size, lr=lr, lr_decay=lr_decay,
                             device=resolve_device(device), seed=seed, progress=progress)

    def _fit_closed_form(self, enc: EncodedData) -> List[float]:
        total: Optional[float] = 0.0
        for i, name in enumerate(self.net.names):
            node = self.nodes[i]
            ll = node.fit_closed_form({p: enc.values[p] for p in self._parents[name]},
                                      enc.values[name])
            total = None if (ll is None or total is None) else total + ll
            self.fitted[i] = True
        if total is None:
            total = float(self.log_prob(enc).sum())
        return [-total / enc.n - float(self.log_prior().detach()) / enc.n]

    def _fit_svi(self, enc: EncodedData, *, epochs: int, batch_size: int, lr: float,
                 lr_decay: float, device: torch.device, seed: Optional[int],
                 progress: bool) -> List[float]:
        if int(epochs) < 1 or int(batch_size) < 1 or not (float(lr) > 0) \
                or not (0 < float(lr_decay) <= 1):
            raise PgmArError(f"epochs and batch_size must be >= 1, lr > 0 and 0 < lr_decay <= 1, "
                             f"got epochs={epochs}, batch_size={batch_size}, lr={lr}, "
                             f"lr_decay={lr_decay}")
        self.to(device)
        enc = enc.to(device)
        enumerate_ = enc.has_missing
        if enumerate_ and self._enum_width(enc) > _ENUM_BUDGET:
            raise PgmArError("too many latent or missing discrete variables to enumerate "
                             f"({self._enum_width(enc)} joint states per row)")
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(int(seed))
            for i, node in enumerate(self.nodes):
                if bool(self.fitted[i]):
                    continue
                if isinstance(node, TabularConditional) and not enumerate_:
                    node.set_probs(torch.full(tuple(node.logits.shape), 1.0 / node.card))
                else:  # random tables: with latent variables a uniform start is a saddle point
                    node.reset_parameters()
        gen = torch.Generator()
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        if enumerate_:
            elbo = TraceEnum_ELBO(max_plate_nesting=1)
            program = config_enumerate(self.model)
        else:
            elbo = Trace_ELBO(max_plate_nesting=1)
            program = self.model
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=float(lr))
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=float(lr_decay))
        n, bs = enc.n, min(int(batch_size), enc.n)
        history: List[float] = []
        bar = None
        if progress and sys.stderr.isatty():
            from tqdm.auto import tqdm

            bar = tqdm(total=int(epochs), desc="fit", unit="epoch", leave=False)
        try:
            for epoch in range(int(epochs)):
                perm = torch.randperm(n, generator=gen).to(device)
                total = 0.0
                for start in range(0, n, bs):
                    batch = enc.rows(perm[start:start + bs])
                    nll = elbo.differentiable_loss(program, _empty_guide, batch.values)
                    prior = self.log_prior()
                    # per-row objective: the prior is spread over the mini-batches of an epoch
                    loss = nll / batch.n - prior / n
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(nll.detach())
                sched.step()
                epoch_loss = total / n - float(self.log_prior().detach()) / n
                if not math.isfinite(epoch_loss):
                    raise PgmArError(f"the loss became {epoch_loss} at epoch {epoch + 1}; "
                                     "try a smaller learning rate")
                history.append(epoch_loss)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{epoch_loss:.4f}")
        finally:
            if bar is not None:
                bar.close()
        self.fitted.fill_(True)
        return history

    # ------------------------------------------------------------------ the training loop
    def _batch_log_prob(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Differentiable log-likelihood of complete rows, ``Tensor[B]`` on the model's device
        in its dtype: the objective of :meth:`fit` with ``method="train"`` (the same as the
        Pyro program's log-joint with every site observed)."""
        n = int(next(iter(values.values())).shape[0])
        total: Optional[torch.Tensor] = None
        for name in self._topo:
            node = self.nodes[self._index[name]]
            var = node.variable
            d = node({p: values[p] for p in self._parents[name]}, batch_size=n)
            x = values[name]
            if _scalar_discrete(var):
                x = x.long()
            elif not _discrete_image(var):
                x = x.to(self.dtype)
            # discrete images go as they are (uint8 or float 0/1): the family encodes them
            lp = d.log_prob(x)
            total = lp if total is None else total + lp
        assert total is not None  # a network has at least one variable
        return total

    def _loop_values(self, data: Data, what: str, raw_images: bool = False
                     ) -> Dict[str, torch.Tensor]:
        """Complete, checked columns as CPU tensors for the training loop.

        Discrete images are kept compactly (``uint8``).  With ``raw_images`` image columns are
        only shape-checked, since a transform (e.g. dynamic binarization of grey levels)
        turns them into pixel values batch by batch.
        """
        data = self._as_mapping(data)
        if isinstance(data, EncodedData):
            data = data.values
        if not raw_images:
            try:
                enc = encode(self.net, data, allow_latent=False)
            except DataError as exc:
                raise DataError(f"{what} data: {exc}") from None
            if enc.has_missing:
                raise DataError(f"{what} data: missing values; the training loop needs complete "
                                "rows (method='svi' marginalises missing discrete values)",
                                column=enc.missing_columns[0])
            values = dict(enc.values)
        else:
            cols = _columns(data)
            values = {}
            for key in cols:
                if key not in self.net:
                    raise DataError(f"{what} data: unknown column; it is not a variable of the "
                                    "network", column=key)
            for var in self.net.variables:
                if var.name not in cols:
                    raise DataError(f"{what} data: missing column (the training loop needs "
                                    "every variable)", column=var.name)
                col = cols[var.name]
                if isinstance(var, Image):
                    x = col if torch.is_tensor(col) else torch.as_tensor(np.asarray(col))
                    if x.dim() < 1 or (len(x) and x[0].numel() != var.num_pixels):
                        raise DataError(f"{what} data: each image must have {var.num_pixels} "
                                        f"values (shape {tuple(var.shape)}), got shape "
                                        f"{tuple(x.shape[1:])}", column=var.name)
                    values[var.name] = x.reshape((x.shape[0],) + tuple(var.shape))
                elif var.is_discrete:
                    values[var.name] = _encode_discrete(var, col)
                    if bool((values[var.name] < 0).any()):
                        raise DataError(f"{what} data: missing values; the training loop needs "
                                        "complete rows", column=var.name)
                else:
                    values[var.name] = _encode_real(var, col)
            sizes = {k: int(v.shape[0]) for k, v in values.items()}
            if len(set(sizes.values())) > 1:
                raise DataError(f"{what} data: columns have different numbers of rows: {sizes}")
        out: Dict[str, torch.Tensor] = {}
        for name, x in values.items():
            var = self.net.variable(name)
            x = x.detach().cpu()
            if _discrete_image(var):
                if not raw_images and var.levels <= 256:  # type: ignore[attr-defined]
                    x = x.to(torch.uint8)  # 8x smaller than the encoded int64; cast per batch
            elif not var.is_discrete:
                x = x.to(self.dtype)
            out[name] = x
        if not out or next(iter(out.values())).shape[0] == 0:
            raise DataError(f"{what} data has no rows")
        return out

    def _fit_loop(self, data: Data, *, val: Optional[Data], epochs: int, batch_size: int,
                  lr: float, device: Union[str, torch.device], seed: Optional[int],
                  progress: bool, checkpoint_dir, resume: bool, transform: Any,
                  early_stopping_patience: Optional[int], log_path, lr_schedule: Optional[str],
                  amp: bool, max_grad_norm: Optional[float]) -> "History":
        from .training import fit as train_fit

        train = self._loop_values(data, "training", raw_images=transform is not None)
        valid = self._loop_values(val, "validation") if val is not None else None
        # parameters not yet fitted start from the seed, as for SVI: tables uniform, modules
        # re-initialised by their reset_parameters (e.g. NADE's context weights, which are
        # otherwise drawn from the global generator at compile time), so that a seed gives
        # the same run whenever the model was compiled
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0 if seed is None else int(seed))
            for i, node in enumerate(self.nodes):
                if bool(self.fitted[i]):
                    continue
                if isinstance(node, TabularConditional):
                    node.set_probs(torch.full(tuple(node.logits.shape), 1.0 / node.card))
                else:
                    node.reset_parameters()
        history = train_fit(
            self, train, valid, epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
            device=device, amp=amp, early_stopping_patience=early_stopping_patience,
            checkpoint_dir=checkpoint_dir, resume=resume, seed=0 if seed is None else int(seed),
            progress=progress, log_path=log_path, transform=transform,
            lr_schedule=lr_schedule, max_grad_norm=max_grad_norm, log_prob_fn=_loop_log_prob)
        self.fitted.fill_(True)
        return history

    # ------------------------------------------------------------------ imputation
    def impute(self, data: Data, mode: Union[str, ImputeMode] = "map",
               seed: Optional[int] = None, batch_size: int = 65536):
        """Fill missing discrete values (and latent variables) with their per-row joint MAP
        assignment (``mode="map"``) or a posterior sample (``"sample"``), via Pyro's
        ``infer_discrete``.  Returns a DataFrame with state names."""
        mode = _enum(ImputeMode, mode, "impute mode")
        enc = self._encode(data)
        if not enc.has_missing:
            return decode(self.net, enc.values)
        fill = list(enc.latent) + list(enc.missing_columns)
        chunk = max(1, min(batch_size, self._enum_chunk(max(1, self._enum_width(enc)))))
        temperature = 0 if mode is ImputeMode.MAP else 1
        out = {k: v.clone() for k, v in enc.values.items()}
        got: Dict[str, List[torch.Tensor]] = {name: [] for name in fill}
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(int(seed))
            with torch.no_grad():
                for start in range(0, enc.n, chunk):
                    part = enc.rows(slice(start, start + chunk))
                    program = infer_discrete(config_enumerate(self.model), first_available_dim=-2,
                                             temperature=temperature)
                    tr = poutine.trace(program).get_trace(part.values)
                    for name in fill:
                        got[name].append(tr.nodes[name]["value"].reshape(-1).expand(part.n))
        for name in fill:
            x = torch.cat(got[name]).long()
            if name in out:
                out[name] = torch.where(out[name] < 0, x, out[name])
            else:
                out[name] = x
        ordered = {n: out[n] for n in self.net.names if n in out}
        return decode(self.net, ordered)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, evidence: Optional[Mapping[str, Any]] = None,
               seed: Optional[int] = None, num_proposals: Optional[int] = None,
               as_tensors: bool = False):
        """``n`` rows as a pandas DataFrame (state names for discrete variables; for an image
        variable, a column holding one ``(C, H, W)`` tensor per row).

        With ``as_tensors=True`` the result is ``{name: tensor}`` instead: images stacked as
        ``(n, C, H, W)``, discrete values as state indices (the way :meth:`log_prob` takes
        them); ``torch.stack(list(df["digit"]))`` gives the same images from the DataFrame.

        Without evidence: ancestral sampling, vectorised per node.  With evidence:

        * all-discrete networks: exact posterior samples (variable elimination, then
          backward sampling); if the network is too densely connected for that, likelihood
          weighting as below;
        * evidence whose ancestors are all evidence too: clamped ancestral sampling (exact);
        * otherwise likelihood weighting: ``num_proposals`` (default ``max(10 n, 10000)``)
          weighted ancestral samples are resampled to ``n`` rows; the effective sample size is
          in ``df.attrs["ess"]`` and a warning is given when it is below ``n``.

        ``df.attrs["method"]`` says which was used.
        """
        n = inference.check_sample_count(n)
        ev = parse_evidence(self.net, evidence)
        gen = torch.Generator()
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        method, ess = "forward", None
        if self.all_discrete:
            tables = self.tables()
            if not ev:
                vals = inference.forward_sample(self.net, tables, n, generator=gen)
            else:
                try:
                    vals = inference.posterior_sample(self.net, tables, n, ev, generator=gen)
                    method = "exact"
                except InferenceTooLargeError:
                    vals, ess = self._weighted_resample(n, ev, gen, num_proposals, tables)
                    method = "likelihood_weighting"
        else:
            if not ev or self._clamp_is_exact(ev):
                vals, _ = self._ancestral(n, ev, gen, seed)
                method = "forward" if not ev else "clamped"
            else:
                vals, ess = self._weighted_resample(n, ev, gen, num_proposals, None, seed)
                method = "likelihood_weighting"
        if as_tensors:
            return {k: v.detach().cpu() for k, v in vals.items()}
        df = decode(self.net, vals)
        df.attrs["method"] = method
        if ess is not None:
            df.attrs["ess"] = ess
        return df

    def _clamp_is_exact(self, ev: Mapping[str, Any]) -> bool:
        return all(self.net.ancestors(e) <= set(ev) for e in ev)

    def _ancestral(self, n: int, ev: Mapping[str, Any], gen: torch.Generator,
                   seed: Optional[int]) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        """Ancestral samples with evidence clamped, and each row's log weight (sum of the
        evidence's log-likelihoods)."""
        vals: Dict[str, torch.Tensor] = {}
        logw = torch.zeros(n, dtype=torch.float64, device=self.device)
        # distributions draw from torch's global generator: seed a forked copy of it
        torch_seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(torch_seed)
            with torch.no_grad():
                for name in self._topo:
                    node = self.nodes[self._index[name]]
                    d = node({p: vals[p] for p in self._parents[name]}, batch_size=n)
                    if name in ev:
                        var = node.variable
                        x = torch.full((n,), ev[name], device=self.device,
                                       dtype=torch.long if var.is_discrete else self.dtype)
                        logw = logw + d.log_prob(x).double()
                        vals[name] = x
                    else:
                        vals[name] = d.sample()
        return {k: vals[k] for k in self.net.names}, logw

    def _weighted_resample(self, n: int, ev: Mapping[str, Any], gen: torch.Generator,
                           num_proposals: Optional[int], tables=None,
                           seed: Optional[int] = None) -> Tuple[Dict[str, torch.Tensor], float]:
        m = int(num_proposals) if num_proposals is not None else max(10 * n, 10_000)
        if tables is not None:
            vals, logw, ess = inference.likelihood_weighting(self.net, tables, m, ev,
                                                             generator=gen)
        else:
            vals, logw = self._ancestral(m, ev, gen, seed)
            if torch.isneginf(logw).all():
                raise PgmArError(f"every sample has zero weight: evidence {dict(ev)} is "
                                 "impossible or too unlikely for likelihood weighting")
            ess = float(torch.exp(2 * torch.logsumexp(logw, 0) - torch.logsumexp(2 * logw, 0)))
        w = torch.softmax(logw.double().cpu(), 0)
        idx = torch.multinomial(w, n, replacement=True, generator=gen) if n else \
            torch.zeros(0, dtype=torch.long)
        if ess < n:
            warnings.warn(f"likelihood weighting: effective sample size {ess:.1f} from {m} "
                          f"proposals is below the {n} rows asked for; rows repeat "
                          "(raise num_proposals)", RuntimeWarning, stacklevel=3)
        return {k: v.cpu()[idx] for k, v in vals.items()}, ess

    # ------------------------------------------------------------------ images
    def bits_per_dim(self, data: Data, batch_size: Optional[int] = None) -> torch.Tensor:
        """``-log2 p(row) / D`` per row, ``D`` the pixel values of the image variables.

        ``p(row)`` is :meth:`log_prob`'s: give the images alone to sum a discrete label out
        (the density of the images, comparable to unconditional models), or with their
        labels for the joint.
        """
        if not self.has_images:
            raise PgmArError("bits per dimension is defined for networks with image variables; "
                             "use log_prob")
        return -self.log_prob(data, batch_size) / (self.num_image_values * math.log(2.0))

    def anomaly_score(self, data: Data, batch_size: Optional[int] = None) -> torch.Tensor:
        """Negative log-likelihood per row in nats (higher: less like the training data).

        Rows without their label are scored by ``p(image)`` with the label summed out.
        """
        return -self.log_prob(data, batch_size)

    def _image_inputs(self, data: Data, name: str, what: str
                      ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        enc = self._encode(data)
        missing = [p for p in self._parents[name] if p not in enc.values
                   or (enc.values[p].dim() == 1 and not enc.values[p].dtype.is_floating_point
                       and bool((enc.values[p] < 0).any()))]
        if missing:
            raise DataError(f"{what} of image {name!r} needs the values of its parents; they are "
                            "missing from the data", column=missing[0])
        return enc.values[name], {p: enc.values[p] for p in self._parents[name]}

    def features(self, data: Data, variable: Optional[str] = None,
                 batch_size: int = _IMAGE_BATCH) -> torch.Tensor:
        """Hidden representation of each row's image, ``float32[N, H]`` on the CPU.

        For NADE (and RNADE), ``act(c + U ctx + sum_j W_j x_j)``: the hidden state after all
        pixels, with the context of the image's parents (so ``data`` needs them).  Fit an
        image without parents to get features that do not see a label.
        """
        name = self._image_name(variable)
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

    def complete(self, data: Data, mask: Any, variable: Optional[str] = None,
                 seed: Optional[int] = None) -> torch.Tensor:
        """Inpainting: keep each image's pixels where ``mask`` is true, sample the others.

        ``mask`` is ``(C, H, W)`` (the same for every row) or ``(N, C, H, W)``.  The sample is
        from ``p(missing | observed, parents)`` exactly when every observed pixel precedes
        every missing one in the image's ordering (e.g. the top rows under raster order);
        otherwise an :class:`~pgm_ar.conditionals.autoregressive.ApproximateCompletionWarning`
        says the completion is approximate.  Returns ``(N, C, H, W)`` on the CPU.
        """
        name = self._image_name(variable)
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
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            if seed is not None:
                torch.manual_seed(int(seed))
            with torch.no_grad():
                out = node(parents, batch_size=int(x.shape[0])).complete(x, m)
        for w in got:  # re-issue at the caller's line, not inside the family
            warnings.warn(w.message, w.category, stacklevel=2)
        return out.cpu()

    # ------------------------------------------------------------------ queries
    def query(self, target: Union[str, Sequence[str]], evidence: Optional[Mapping[str, Any]] = None,
              num_samples: int = 100_000, seed: Optional[int] = 0):
        """Posterior marginal ``p(target | evidence)`` as ``{state: probability}``.

        Exact (variable elimination) for all-discrete networks; with real variables, an
        estimate by likelihood weighting from ``num_samples`` samples (warns when the
        effective sample size is small).  A list of targets gives ``{target: {state: p}}``.
        Evidence values are state names or indices (numbers for real variables).
        """
        single = isinstance(target, str)
        targets = [target] if single else list(target)
        for t in targets:
            var = self.net.variable(t)
            if not _scalar_discrete(var):
                raise PgmArError(f"query target {t!r} is not discrete; use sample(...) for "
                                 "real or image variables")
        ev = parse_evidence(self.net, evidence)
        if self.all_discrete:
            res = inference.query(self.net, self.tables(), targets, ev)
            out = {t: dict(zip(self.net.variable(t).states, (float(p) for p in res[t])))
                   for t in targets}
        else:
            gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
            if gen is None:
                gen = torch.Generator()
                gen.seed()
            vals, logw = self._ancestral(int(num_samples), ev, gen, seed)
            if torch.isneginf(logw).all():
                raise PgmArError(f"every sample has zero weight: evidence {dict(ev)} is "
                                 "impossible or too unlikely for likelihood weighting")
            w = torch.softmax(logw.cpu(), 0)
            ess = float(1.0 / (w ** 2).sum())
            if ev and ess < 1000:
                warnings.warn(f"likelihood weighting: effective sample size {ess:.1f}; the "
                              "answer is a rough estimate (raise num_samples)", RuntimeWarning,
                              stacklevel=2)
            out = {}
            for t in targets:
                var = self.net.variable(t)
                probs = torch.zeros(int(var.cardinality), dtype=torch.float64)
                probs.index_add_(0, vals[t].cpu().long(), w)
                out[t] = dict(zip(var.states, probs.tolist()))
        return out[targets[0]] if single else out

    def map_query(self, targets: Optional[Union[str, Sequence[str]]] = None,
                  evidence: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
        """The most probable states ``{name: state}``: of all non-evidence variables (MPE) when
        ``targets`` is ``None``, else of the targets with the others summed out (exact;
        all-discrete networks)."""
        if not self.all_discrete:
            raise PgmArError("map_query needs a network of discrete variables only")
        ev = parse_evidence(self.net, evidence)
        tl = [targets] if isinstance(targets, str) else targets
        res = inference.map_query(self.net, self.tables(), tl, ev)
        return {k: self.net.variable(k).states[v] for k, v in res.items()}

    # ------------------------------------------------------------------ persistence
    def save(self, path: Union[str, Path]) -> Path:
        """Write the network, the families and the weights to ``path`` (atomically)."""
        path = Path(path)
        payload = {
            "format": FORMAT,
            "network": network_to_dict(self.net),
            "families": {name: fam.to_spec() for name, fam in self.families.items()},
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
        }
        buf = _io.BytesIO()
        torch.save(payload, buf)
        _atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Union[str, Path], device: Union[str, torch.device] = "cpu"
             ) -> "CompiledModel":
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
        model = compile(net, payload["families"])
        try:
            model.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:
            raise PgmArError(f"{path}: weights do not match the saved network: {exc}") from None
        return model.to(resolve_device(device))


def load_model(path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> CompiledModel:
    """Load a model written by :meth:`CompiledModel.save`."""
    return CompiledModel.load(path, device)
