"""The conditional contract: ``p(node | parents)`` as a torch module returning a Pyro distribution.

A :class:`Family` is a small frozen configuration (``Tabular()``, ``MLP(hidden=(64,))``,
``NADE(hidden=500)``) that a spec or a user names; ``family.build(variable, parents)`` makes the
:class:`Conditional` module for one node.  Calling that module with the parents' values returns
a Pyro distribution whose ``batch_shape`` is the batch and whose ``event_shape`` is the
variable's (``()`` for scalars, ``(C, H, W)`` for images).

Families register themselves by name when their class is defined (``Family.name``), so a spec
can say ``{"family": "nade", "hidden": 500}`` and :func:`family_from_spec` finds the class; a
name not yet registered is looked up by importing ``pgm_ar.conditionals.<name>``.

>>> family_from_spec({"family": "mlp", "hidden": [32, 16]})
MLP(hidden=(32, 16))
>>> family_from_spec("tabular")
Tabular(prior=None)
"""
from __future__ import annotations

from dataclasses import dataclass
import importlib
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Tuple, Type, Union

import torch
from torch import nn

from ..errors import PgmArError
from ..variables import Image, Variable


class Conditional(nn.Module):
    """``p(variable | parents)``.

    Parameters
    ----------
    variable
        The node this conditional is over.
    parents
        The node's parents, in the network's parent order.
    """

    def __init__(self, variable: Variable, parents: Sequence[Variable]) -> None:
        super().__init__()
        # plain attributes go straight into __dict__: nn.Module.__setattr__ checks each value
        # against Parameter, Module and Tensor first, which on a network of hundreds of
        # nodes is a measurable share of compile(); for a fresh module the result is the same
        self.__dict__["variable"] = variable
        self.__dict__["parent_vars"] = tuple(parents)

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        """The distribution of the node given ``parent_values`` (name -> batch-first tensor).

        ``batch_size`` is needed only for root nodes (no parents) to set the batch shape.
        """
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Trainable parameters of this conditional (free parameters for tables)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    #: whether :meth:`fit_closed_form` gives the exact maximum-likelihood (or MAP) fit
    closed_form: ClassVar[bool] = False

    def fit_closed_form(self, parent_values: Mapping[str, torch.Tensor],
                        values: torch.Tensor) -> Optional[float]:
        """Set the parameters to the exact optimum on complete data (counts, least squares).

        Returns the total log-likelihood of ``values`` under the fitted conditional when it
        comes for free with the fit (else ``None``).
        """
        raise PgmArError(f"{type(self).__name__} of {self.variable.name!r} has no closed-form fit")

    def reset_parameters(self) -> None:
        """Re-initialise every trainable parameter (from torch's global generator)."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def log_prior(self) -> Optional[torch.Tensor]:
        """Log prior density of the parameters (MAP fitting), or ``None`` for a flat prior."""
        return None


def context_size(parents: Sequence[Variable]) -> int:
    """Width of :func:`encode_context`'s output: one-hot width for discrete, 1 per real, pixels for images."""
    size = 0
    for v in parents:
        if isinstance(v, Image):
            size += v.num_pixels
        elif v.is_discrete:
            size += int(v.cardinality)  # type: ignore[arg-type]
        else:
            size += 1
    return size


def encode_context(parents: Sequence[Variable], values: Mapping[str, torch.Tensor],
                   dtype: torch.dtype = torch.float32) -> Optional[torch.Tensor]:
    """The parents' values as one ``(*batch, context_size)`` float tensor (``None`` without
    parents).

    Discrete parents are one-hot encoded (width ``card``), real parents enter as themselves
    and images as their flattened pixels (batch-first ``(N, C, H, W)``).  Scalar parents may
    have any broadcastable batch shapes: under Pyro's enumeration a latent parent's value has
    shape ``(K, 1, ..., 1)`` while an observed one has shape ``(N,)``, so the encodings are
    broadcast to a common batch shape before they are concatenated.
    """
    if not parents:
        return None
    parts = []
    for v in parents:
        if v.name not in values:
            raise PgmArError(f"missing value for parent {v.name!r}")
        x = values[v.name]
        if isinstance(v, Image):
            parts.append(x.reshape(x.shape[0], -1).to(dtype))
        elif v.is_discrete:
            parts.append(torch.nn.functional.one_hot(x.long(), int(v.cardinality)).to(dtype))
        else:
            parts.append(x.to(dtype).unsqueeze(-1))
    batch = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return torch.cat([p.expand(batch + p.shape[-1:]) for p in parts], dim=-1)


_REGISTRY: Dict[str, Type["Family"]] = {}


def register_family(name: str, cls: Type["Family"]) -> None:
    """Make ``cls`` the family called ``name`` (case-insensitive) in specs and ``compile``."""
    if not (isinstance(cls, type) and issubclass(cls, Family)):
        raise PgmArError(f"register_family({name!r}, ...): expected a Family subclass, got {cls!r}")
    _REGISTRY[str(name).lower()] = cls


def get_family(name: str) -> Type["Family"]:
    """The family class registered as ``name``; imports ``pgm_ar.conditionals.<name>`` if needed."""
    key = str(name).strip().lower()
    if key not in _REGISTRY and key.isidentifier():
        try:
            importlib.import_module(f"{__package__}.{key}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{key}":  # the module exists but its import failed
                raise
    if key not in _REGISTRY:
        raise PgmArError(f"unknown conditional family {name!r}; known families: "
                         f"{sorted(_REGISTRY)}")
    return _REGISTRY[key]


def available_families() -> Tuple[str, ...]:
    """Names of the families registered so far."""
    return tuple(sorted(_REGISTRY))


FamilySpec = Union["Family", str, Mapping[str, Any]]


def family_from_spec(spec: FamilySpec) -> "Family":
    """A :class:`Family` from an instance, a name (``"mlp"``) or a dict (``{"family": "mlp", ...}``)."""
    if isinstance(spec, Family):
        return spec
    if isinstance(spec, str):
        return get_family(spec)()
    if isinstance(spec, Mapping):
        opts = dict(spec)
        name = opts.pop("family", None)
        if name is None:
            raise PgmArError(f"a conditional spec needs a 'family' key, got {dict(spec)!r}")
        cls = get_family(str(name))
        try:
            return cls(**opts)
        except TypeError as exc:
            raise PgmArError(f"bad options for family {name!r}: {exc}") from None
    raise PgmArError(f"a conditional family must be a Family, a name or a dict, got {spec!r}")


@dataclass(frozen=True)
class Family:
    """Configuration of a conditional family; ``build`` makes the module for one node.

    Subclasses that set the class attribute ``name`` are registered under it when defined.
    """

    name: ClassVar[str] = "family"
    #: families whose modules are small enough to run in float64 (exact tables and sums)
    exact: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and isinstance(cls.__dict__["name"], str):
            _REGISTRY[cls.__dict__["name"].lower()] = cls

    def build(self, variable: Variable, parents: Sequence[Variable]) -> Conditional:
        raise NotImplementedError

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        """``None`` if this family can model ``variable`` given ``parents``, else the reason why not."""
        return None

    def options(self) -> Dict[str, object]:
        """The family's options as plain data (for specs and saved runs)."""
        from dataclasses import asdict

        return asdict(self)

    def to_spec(self) -> Dict[str, Any]:
        """``{"family": name, **options}`` with plain-data values (tuples as lists)."""
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options().items()}
        return {"family": self.name, **opts}
