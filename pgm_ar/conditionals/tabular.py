"""Tabular conditionals: a conditional probability table (CPT) per discrete node.

The table is stored as unconstrained logits of shape ``(*parent_cards, card)`` (parents in the
network's order); ``log_softmax`` over the last axis gives ``log p(x | parents)``.  Looking up
the rows of a batch is ``Vindex(table)[parent_1, parent_2, ...]``, which broadcasts the parents'
values, so it works unchanged when Pyro enumerates a latent parent (its value is then a
``(K, 1)`` tensor).

Free parameters: ``(card - 1) * prod(parent_cards)``.  The closed-form fit is the count ratio
(maximum likelihood) or, with a ``Dirichlet(prior)`` prior on each row, the posterior mode
``(n_k + prior - 1) / (n + card * (prior - 1))``.

>>> from pgm_ar import Bernoulli, Categorical
>>> cond = Tabular().build(Categorical("w", ["sun", "rain", "snow"]), [Bernoulli("c")])
>>> cond.num_parameters()
4
>>> import torch
>>> round(cond.fit_closed_form({"c": torch.tensor([0, 0, 1, 1])}, torch.tensor([0, 1, 2, 2])), 4)
-1.3863
>>> cond.probs()[0].tolist(), cond.probs()[1].tolist()
([0.5, 0.5, 0.0], [0.0, 0.0, 1.0])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Sequence

import numpy as np
import pyro.distributions as dist
import torch
from pyro.ops.indexing import Vindex
from torch import nn

from ..errors import PgmArError
from ..variables import Variable
from .base import Conditional, Family

#: the largest CPT (entries) a tabular node may have; beyond it use Logistic or MLP
MAX_TABLE_SIZE = 2 ** 24
#: logits of zero probabilities: finite (so gradients stay finite), and exp() of it is 0
ZERO_LOGIT = -1e4
#: with ``exact_zeros`` set, a log-probability below this is a zero (``-inf``): no
#: probability a float64 can hold is that small, and every held zero is about ZERO_LOGIT
ZERO_BELOW = ZERO_LOGIT / 2


class NormalizedCategorical(dist.Categorical):
    """A categorical given log-probabilities that are already normalised (rows of a
    ``log_softmax``): skips the per-row ``logsumexp`` that ``Categorical(logits=...)`` spends
    on every batch row, the largest cost of a tabular model's step."""

    def __init__(self, log_probs: torch.Tensor, validate_args: Optional[bool] = None) -> None:
        self.logits = log_probs
        self._param = log_probs
        self._num_events = log_probs.size(-1)
        torch.distributions.Distribution.__init__(self, log_probs.size()[:-1],
                                                  validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NormalizedCategorical, _instance)
        return super().expand(batch_shape, _instance=new)


class TabularConditional(Conditional):
    """A CPT over a discrete node with discrete parents (built by :class:`Tabular`)."""

    closed_form: ClassVar[bool] = True

    def __init__(self, variable: Variable, parents: Sequence[Variable],
                 prior: Optional[float] = None, dtype: Optional[torch.dtype] = None) -> None:
        super().__init__(variable, parents)
        card = int(variable.cardinality)  # type: ignore[arg-type]
        parent_cards = tuple(int(p.cardinality) for p in parents)  # type: ignore[arg-type]
        # plain attributes straight into __dict__ (see Conditional.__init__): same result,
        # without nn.Module.__setattr__'s type checks, once per node of every compile()
        self.__dict__.update(card=card, parent_cards=parent_cards, prior=prior,
                             # scoring sets this (``CompiledModel.log_prob``): held zeros
                             # then give ``-inf``, as the probabilities of :meth:`probs` do,
                             # instead of about ZERO_LOGIT
                             exact_zeros=False)
        # uniform start; fitting with latent variables re-initialises randomly (uniform is a saddle)
        # (``dtype``: the model's, so that compiling need not convert the table afterwards)
        self.register_parameter("logits", nn.Parameter(torch.zeros(parent_cards + (card,),
                                                                   dtype=dtype)))

    def num_parameters(self) -> int:
        return (self.card - 1) * int(np.prod(self.parent_cards, dtype=np.int64))

    def probs(self) -> torch.Tensor:
        """The CPT, ``(*parent_cards, card)``, in float64."""
        return torch.softmax(self.logits.detach().double(), dim=-1)

    def set_probs(self, probs) -> None:
        """Set the table from probabilities (rows over the last axis sum to one)."""
        p = probs.detach().double() if isinstance(probs, torch.Tensor) else \
            torch.tensor(np.asarray(probs, dtype=np.float64))
        target = self._parameters["logits"]
        if tuple(p.shape) != tuple(target.shape):
            raise PgmArError(f"CPT of {self.variable.name!r} must have shape "
                             f"{tuple(target.shape)}, got {tuple(p.shape)}")
        with torch.no_grad():
            if target.dtype == torch.float64 and p.device == target.device:
                # straight into the parameter: the same float64 numbers, no temporaries
                torch.log(p, out=target)
                target.clamp_min_(ZERO_LOGIT)
            else:
                target.copy_(torch.log(p).clamp_min(ZERO_LOGIT).to(target))

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        logp = torch.log_softmax(self.logits, dim=-1)
        if self.exact_zeros:
            logp = logp.masked_fill(logp < ZERO_BELOW, float("-inf"))
        if not self.parent_vars:
            if batch_size is not None:
                logp = logp.expand((batch_size, self.card))
            return NormalizedCategorical(logp)
        idx = []
        for v in self.parent_vars:
            if v.name not in parent_values:
                raise PgmArError(f"missing value for parent {v.name!r} of {self.variable.name!r}")
            idx.append(parent_values[v.name].long())
        return NormalizedCategorical(Vindex(logp)[tuple(idx)])

    def fit_closed_form(self, parent_values: Mapping[str, torch.Tensor],
                        values: torch.Tensor) -> float:
        flat = values.long().reshape(-1).cpu()
        mult = self.card
        for v, k in zip(reversed(self.parent_vars), reversed(self.parent_cards)):
            flat = flat + parent_values[v.name].long().reshape(-1).cpu() * mult
            mult *= k
        data_counts = torch.bincount(flat, minlength=mult).double().reshape(-1, self.card)
        counts = data_counts
        if self.prior is not None:
            counts = counts + (float(self.prior) - 1.0)
        totals = counts.sum(-1, keepdim=True)
        probs = torch.where(totals > 0, counts / totals.clamp_min(1e-300),
                            torch.full_like(counts, 1.0 / self.card))
        self.set_probs(probs.reshape(self.logits.shape))
        seen = data_counts > 0
        return float((data_counts[seen] * torch.log(probs[seen])).sum())

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.logits.normal_(0.0, 1.0)

    def log_prior(self) -> Optional[torch.Tensor]:
        if self.prior is None or self.prior == 1.0:
            return None
        # unnormalised Dirichlet(prior) log density of every row; its mode is the MAP table
        return (float(self.prior) - 1.0) * torch.log_softmax(self.logits, dim=-1).sum()


@dataclass(frozen=True)
class Tabular(Family):
    """A full CPT per discrete node: ``Tabular()`` (maximum likelihood) or ``Tabular(prior=a)``.

    ``prior`` is the concentration ``a >= 1`` of a symmetric Dirichlet prior on each row; the
    fit is then the posterior mode (``a = 2`` is add-one smoothing, ``a = 1`` is no prior).
    """

    name: ClassVar[str] = "tabular"
    exact: ClassVar[bool] = True
    prior: Optional[float] = None

    def __post_init__(self) -> None:
        if self.prior is not None:
            try:
                a = float(self.prior)
            except (TypeError, ValueError):
                raise PgmArError(f"Tabular prior must be a number >= 1, got {self.prior!r}")
            if not math.isfinite(a) or a < 1.0:
                raise PgmArError(
                    f"Tabular prior must be a Dirichlet concentration >= 1 (its mode is the "
                    f"fitted table; below 1 the mode is on the boundary), got {self.prior!r}")
            object.__setattr__(self, "prior", a)

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        if not variable.is_discrete_scalar:
            return f"a table needs a discrete scalar node; {variable.name!r} is {type(variable).__name__}"
        for p in parents:
            if not p.is_discrete_scalar:
                return (f"a table needs discrete parents; parent {p.name!r} is "
                        f"{type(p).__name__} (use Logistic or MLP)")
        size = self.parameter_count(variable, parents)
        if size > MAX_TABLE_SIZE:
            return (f"its CPT would have {size} entries (more than {MAX_TABLE_SIZE}); "
                    "use Logistic or MLP")
        return None

    def parameter_count(self, variable: Variable, parents: Sequence[Variable]) -> int:
        """Entries of the node's table (its logits), without building it: exact integers."""
        n = int(variable.cardinality)  # a plain loop: this runs for every node of a compile()
        for p in parents:
            n *= int(p.cardinality)
        return n

    def build(self, variable: Variable, parents: Sequence[Variable]) -> TabularConditional:
        reason = self.supports(variable, parents)
        if reason:
            raise PgmArError(f"variable {variable.name!r}: {reason}")
        return TabularConditional(variable, parents, self.prior)
