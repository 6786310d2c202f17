"""The conditional contract: ``p(node | parents)`` as a torch module returning a Pyro distribution.

A :class:`Family` is a small frozen configuration (``Tabular()``, ``MLP(hidden=(64,))``,
``NADE(hidden=500)``) that a spec or a user names; ``family.build(variable, parents)`` makes the
:class:`Conditional` module for one node.  Calling that module with the parents' values returns
a Pyro distribution whose ``batch_shape`` is the batch and whose ``event_shape`` is the
variable's (``()`` for scalars, ``(C, H, W)`` for images).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Dict, Mapping, Optional, Sequence, Tuple

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
        self.variable = variable
        self.parent_vars: Tuple[Variable, ...] = tuple(parents)

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        """The distribution of the node given ``parent_values`` (name -> batch-first tensor).

        ``batch_size`` is needed only for root nodes (no parents) to set the batch shape.
        """
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Trainable parameters of this conditional (free parameters for tables)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


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
    """Concatenate the parents' values as a ``(B, context_size)`` float tensor.

    Discrete parents are one-hot encoded, real parents enter as themselves and images
    as their flattened pixels.  Returns ``None`` when there are no parents.
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
            parts.append(x.reshape(-1, 1).to(dtype))
    return torch.cat(parts, dim=-1)


@dataclass(frozen=True)
class Family:
    """Configuration of a conditional family; ``build`` makes the module for one node."""

    name: ClassVar[str] = "family"

    def build(self, variable: Variable, parents: Sequence[Variable]) -> Conditional:
        raise NotImplementedError

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        """``None`` if this family can model ``variable`` given ``parents``, else the reason why not."""
        return None

    def options(self) -> Dict[str, object]:
        """The family's options as plain data (for specs and saved runs)."""
        from dataclasses import asdict

        return asdict(self)
