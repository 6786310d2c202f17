"""Shared machinery of the autoregressive families (FVSBN, AR-k, NADE, MADE, RNADE).

An :class:`~pgm_ar.variables.Image` with ``D = C*H*W`` values is modelled by the chain rule in
its declared visiting order ``order`` (``order[t]`` is the flat ``(C, H, W)`` index visited at
step ``t``)::

    p(x | ctx) = prod_t p(x[order[t]] | x[order[0]], ..., x[order[t-1]], ctx)

Every family works internally in *ordered* coordinates: ``x_ord[:, t] = x_flat[:, order[t]]``,
so "earlier in the ordering" is simply "smaller column index" and masks are plain triangular
ones.  A family subclasses :class:`AutoregressiveConditional` and supplies

* ``ordered_params(x_ord, ctx)``: the parameters of all ``D`` conditionals in one vectorised
  pass (teacher forcing): logits ``(N, D)`` for binary pixels, ``(N, D, levels)`` for
  categorical ones, family-specific for real ones;
* ``start(ctx, n)``, ``step(state, t)`` and ``advance(state, t, value)``: the incremental form
  used by sampling and inpainting, which keeps state between steps (NADE keeps its running
  pre-activation) instead of recomputing the whole pass per pixel.

Calling the module with the parents' values returns an :class:`AutoregressiveDistribution`, a
Pyro ``TorchDistribution`` whose ``event_shape`` is the image shape ``(C, H, W)`` (a vector
variable is an ``Image`` of shape ``(1, 1, D)``) and whose ``batch_shape`` is the batch.

>>> import torch
>>> from pgm_ar.variables import Image
>>> from pgm_ar.conditionals.nade import NADE
>>> img = Image("x", shape=(1, 2, 2))
>>> cond = NADE(hidden=3).build(img, [])
>>> d = cond({}, batch_size=5)
>>> d.batch_shape, d.event_shape
(torch.Size([5]), torch.Size([1, 2, 2]))
>>> d.sample().shape
torch.Size([5, 1, 2, 2])
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints

from ..errors import PgmArError
from ..variables import Image, Variable
from .base import Conditional, context_size, encode_context


def context_linear(in_width: int, out_width: int, gen: torch.Generator,
                   bias: bool = False) -> "Optional[torch.nn.Linear]":
    """A linear map from the parents' context, initialised from the family's seeded ``gen``
    (torch's default init would draw from the global generator, so two builds with the same
    seed would differ); ``None`` when there is no context."""
    if not in_width:
        return None
    lin = torch.nn.Linear(in_width, out_width, bias=bias)
    bound = 1.0 / math.sqrt(in_width)
    with torch.no_grad():
        lin.weight.uniform_(-bound, bound, generator=gen)
        if bias:
            lin.bias.uniform_(-bound, bound, generator=gen)
    return lin


class ApproximateCompletionWarning(UserWarning):
    """Inpainting conditioned on observed pixels that come *after* missing ones in the ordering.

    Autoregressive sampling can only condition exactly on pixels visited before the ones it
    fills in; observed pixels later in the ordering are clamped but do not influence the
    earlier missing ones, so the completion is not a sample of the exact conditional.
    """


def check_image(variable: Variable, family: str, real: Optional[bool] = None) -> Optional[str]:
    """``None`` if ``family`` can model ``variable``, else the reason.

    ``real=True`` requires continuous pixels, ``real=False`` discrete ones, ``None`` either.
    """
    if not isinstance(variable, Image):
        return (f"{family} models an Image (or a vector declared as Image(shape=(1, 1, D))); "
                f"{variable.name!r} is a {type(variable).__name__}")
    if real is True and variable.levels is not None:
        return (f"{family} models real-valued pixels (levels=None); image {variable.name!r} has "
                f"{variable.levels} levels")
    if real is False and variable.levels is None:
        return (f"{family} models discrete pixels; image {variable.name!r} is real-valued "
                "(levels=None): use RNADE")
    return None


class AutoregressiveConditional(Conditional):
    """Base module of the autoregressive families over an :class:`Image` node.

    Attributes
    ----------
    num_values
        ``D = C * H * W``.
    levels
        Values per pixel (2 binary, ``k`` categorical) or ``None`` for real pixels.
    in_width, out_width
        Width of one pixel's input encoding (1 for binary/real values, ``levels`` one-hot for
        categorical) and of its output logits (1 for binary, ``levels`` for categorical).
    context_width
        Width of the parents' encoded context (0 without parents).
    """

    family_name = "autoregressive"
    real_valued: Optional[bool] = False

    def __init__(self, variable: Variable, parents: Sequence[Variable]) -> None:
        reason = check_image(variable, self.family_name, self.real_valued)
        if reason:
            raise PgmArError(reason)
        super().__init__(variable, parents)
        assert isinstance(variable, Image)  # narrowed by check_image
        self.image_shape: Tuple[int, int, int] = tuple(variable.shape)  # type: ignore[assignment]
        self.num_values = int(variable.num_pixels)
        self.levels = variable.levels
        order = torch.as_tensor(variable.order, dtype=torch.long)
        self.register_buffer("order", order, persistent=False)
        # inverse permutation: step at which each flat index is visited
        self.register_buffer("step_of", torch.argsort(order), persistent=False)
        self.in_width = 1 if self.levels in (None, 2) else int(self.levels)
        self.out_width = 1 if self.levels in (None, 2) else int(self.levels)
        self.context_width = context_size(self.parent_vars)

    # ----------------------------------------------------------------- layout helpers
    def to_ordered(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` (or ``(N, D)``) -> ``(N, D)`` in visiting order."""
        return x.reshape(x.shape[0], self.num_values)[:, self.order]

    def from_ordered(self, x_ord: torch.Tensor) -> torch.Tensor:
        """``(N, D, ...)`` in visiting order -> ``(N, C, H, W, ...)`` in image layout."""
        flat = x_ord[:, self.step_of]
        return flat.reshape((x_ord.shape[0],) + self.image_shape + tuple(x_ord.shape[2:]))

    def encode_inputs(self, x_ord: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Pixel values ``(N, D)`` -> input encoding ``(N, D, in_width)``."""
        if self.in_width == 1:
            return x_ord.to(dtype).unsqueeze(-1)
        return torch.nn.functional.one_hot(x_ord.long(), self.in_width).to(dtype)

    def encode_value(self, value: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One step's values ``(N,)`` -> ``(N, in_width)``."""
        if self.in_width == 1:
            return value.to(dtype).unsqueeze(-1)
        return torch.nn.functional.one_hot(value.long(), self.in_width).to(dtype)

    def context(self, parent_values: Mapping[str, torch.Tensor]) -> Optional[torch.Tensor]:
        if not self.parent_vars:
            return None
        dtype = next(iter(self.parameters())).dtype if any(True for _ in self.parameters()) \
            else torch.float32
        return encode_context(self.parent_vars, parent_values, dtype=dtype)

    # ------------------------------------------------------------- family interface
    def ordered_params(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """Parameters of all ``D`` conditionals given ``x_ord`` (teacher forcing), one pass."""
        raise NotImplementedError

    def start(self, ctx: Optional[torch.Tensor], n: int) -> Any:
        """Incremental state before any pixel is known (``ctx`` is ``(n, Cctx)`` or ``None``)."""
        raise NotImplementedError

    def step(self, state: Any, t: int) -> torch.Tensor:
        """Parameters of the conditional of step ``t`` (``(n,)`` or ``(n, levels)``)."""
        raise NotImplementedError

    def advance(self, state: Any, t: int, value: torch.Tensor) -> Any:
        """Fold in the value ``(n,)`` of step ``t``; returns the new state."""
        raise NotImplementedError

    # -------------------------------------------------- per-pixel likelihood / sampling
    def pixel_log_prob(self, params: torch.Tensor, x_ord: torch.Tensor) -> torch.Tensor:
        """``log p(x_t | ...)`` per pixel, ``(N, D)``, from ``ordered_params``' output."""
        if self.levels == 2:
            # logits all the way: BCE-with-logits is the stable log-likelihood
            return -torch.nn.functional.binary_cross_entropy_with_logits(
                params, x_ord.to(params.dtype), reduction="none")
        if self.levels is not None:
            logp = torch.log_softmax(params, dim=-1)
            return logp.gather(-1, x_ord.long().unsqueeze(-1)).squeeze(-1)
        raise NotImplementedError

    def ordered_log_prob(self, x_ord: torch.Tensor, ctx: Optional[torch.Tensor]) -> torch.Tensor:
        """``log p(x)`` per example, ``(N,)``."""
        return self.pixel_log_prob(self.ordered_params(x_ord, ctx), x_ord).sum(-1)

    def sample_step(self, params: torch.Tensor) -> torch.Tensor:
        """Draw one step's values ``(n,)`` (float) from its parameters."""
        if self.levels == 2:
            return torch.bernoulli(torch.sigmoid(params))
        if self.levels is not None:
            return torch.multinomial(torch.softmax(params, dim=-1), 1).squeeze(-1).to(params.dtype)
        raise NotImplementedError

    def value_dtype(self) -> torch.dtype:
        """Sample dtype: the parameters' float dtype for binary (like Bernoulli) and real
        pixels, long for categorical ones."""
        if self.levels is not None and self.levels > 2:
            return torch.long
        ref = next(iter(self.parameters()), None)
        return ref.dtype if ref is not None else torch.float32

    def step_positions(self) -> Iterable[int]:
        """Order in which sampling visits the ordered positions (identity for the declared one)."""
        return range(self.num_values)

    def run_sequential(self, ctx: Optional[torch.Tensor], n: int,
                       observed: Optional[torch.Tensor] = None,
                       observed_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D sequential steps with state kept between them; returns ``(n, D)`` ordered values.

        With ``observed`` / ``observed_mask`` (``(n, D)`` ordered), observed values are clamped.
        """
        D = self.num_values
        dtype = torch.float32
        ref = next(iter(self.parameters()), None)
        device = ref.device if ref is not None else torch.device("cpu")
        if ref is not None:
            dtype = ref.dtype
        out = torch.zeros(n, D, dtype=dtype, device=device)
        state = self.start(ctx, n)
        for t in self.step_positions():
            if observed_mask is not None and bool(observed_mask[:, t].all()):
                value = observed[:, t].to(dtype)  # type: ignore[index]
            else:
                value = self.sample_step(self.step(state, t))
                if observed_mask is not None:
                    value = torch.where(observed_mask[:, t], observed[:, t].to(dtype), value)  # type: ignore[index]
            out[:, t] = value
            state = self.advance(state, t, value)
        return out

    def run_naive(self, ctx: Optional[torch.Tensor], n: int) -> torch.Tensor:
        """Sampling by recomputing the whole one-pass :meth:`ordered_params` before every step.

        ``D`` full passes instead of :meth:`run_sequential`'s cached steps: the reference that
        cached sampling is tested against (same random numbers, same draws) and benchmarked
        against.  Returns ``(n, D)`` ordered values.
        """
        ref = next(iter(self.parameters()), None)
        dtype = ref.dtype if ref is not None else torch.float32
        device = ref.device if ref is not None else torch.device("cpu")
        out = torch.zeros(n, self.num_values, dtype=dtype, device=device)
        with torch.no_grad():
            for t in self.step_positions():
                out[:, t] = self.sample_step(self.ordered_params(out, ctx)[:, t])
        return out

    # ---------------------------------------------------------------- the contract
    def forward(self, parent_values: Mapping[str, torch.Tensor],
                batch_size: Optional[int] = None) -> "AutoregressiveDistribution":
        ctx = self.context(parent_values)
        if ctx is not None:
            batch_shape = torch.Size(ctx.shape[:-1])
        elif batch_size is not None:
            batch_shape = torch.Size([int(batch_size)])
        else:
            batch_shape = torch.Size()
        return AutoregressiveDistribution(self, ctx, batch_shape)

    def extra_repr(self) -> str:
        return f"variable={self.variable.name!r}, D={self.num_values}, levels={self.levels}"


def _support(levels: Optional[int]) -> constraints.Constraint:
    if levels is None:
        base = constraints.real
    elif levels == 2:
        base = constraints.boolean
    else:
        base = constraints.integer_interval(0, levels - 1)
    return constraints.independent(base, 3)


class AutoregressiveDistribution(TorchDistribution):
    """``p(image | context)`` of an autoregressive family, as a Pyro distribution.

    ``event_shape`` is the image shape ``(C, H, W)``; ``batch_shape`` follows the context (or
    ``batch_size`` for a root node).  Samples are float 0/1 for binary pixels (as
    ``Bernoulli``), integer levels (long) for categorical ones and floats for real ones.
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, model: AutoregressiveConditional, context: Optional[torch.Tensor],
                 batch_shape: torch.Size, validate_args: Optional[bool] = None) -> None:
        self.model = model
        self.ctx = context
        super().__init__(torch.Size(batch_shape), torch.Size(model.image_shape),
                         validate_args=False)

    # ------------------------------------------------------------------ plumbing
    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        return _support(self.model.levels)

    def expand(self, batch_shape, _instance=None):  # noqa: D102 (Pyro's contract)
        batch_shape = torch.Size(batch_shape)
        ctx = None
        if self.ctx is not None:
            ctx = self.ctx.expand(batch_shape + self.ctx.shape[-1:])
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.ctx = ctx
        TorchDistribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        return new

    def _flat_context(self, shape: torch.Size) -> Optional[torch.Tensor]:
        if self.ctx is None:
            return None
        ctx = self.ctx.expand(shape + self.ctx.shape[-1:])
        return ctx.reshape(-1, ctx.shape[-1])

    def _prepare(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Size]:
        """Broadcast ``x`` against the batch; return ordered ``(N, D)`` values, context, shape."""
        ev = tuple(self.event_shape)
        if not torch.is_tensor(x):
            x = torch.as_tensor(x)
        if tuple(x.shape[x.dim() - len(ev):]) != ev or x.dim() < len(ev):
            raise PgmArError(
                f"image {self.model.variable.name!r}: expected values of shape (..., "
                f"{', '.join(map(str, ev))}), got {tuple(x.shape)}")
        shape = torch.broadcast_shapes(x.shape[:x.dim() - len(ev)], self.batch_shape)
        x = x.expand(shape + self.event_shape)
        n = int(math.prod(shape))
        x_ord = self.model.to_ordered(x.reshape((n,) + self.event_shape))
        return x_ord, self._flat_context(shape), shape

    # ------------------------------------------------------------------ density
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` in nats, one vectorised pass; shape ``broadcast(sample, batch)``."""
        x_ord, ctx, shape = self._prepare(value)
        return self.model.ordered_log_prob(x_ord, ctx).reshape(shape)

    def log_prob_bits_per_dim(self, value: torch.Tensor) -> torch.Tensor:
        """``-log2 p(x) / D``: negative log-likelihood in bits per pixel value."""
        return -self.log_prob(value) / (self.model.num_values * math.log(2.0))

    def pixel_log_probs(self, value: torch.Tensor) -> torch.Tensor:
        """``log p(x_i | x_<i)`` per pixel, in image layout ``shape + (C, H, W)``."""
        x_ord, ctx, shape = self._prepare(value)
        lp = self.model.pixel_log_prob(self.model.ordered_params(x_ord, ctx), x_ord)
        return self.model.from_ordered(lp).reshape(shape + self.event_shape)

    def conditional_logits(self, value: torch.Tensor) -> torch.Tensor:
        """Each pixel's conditional logits given the pixels before it in ``value``.

        Image layout: ``shape + (C, H, W)`` for binary pixels, ``+ (levels,)`` for categorical
        ones.  ``sigmoid`` of the binary ones is :meth:`conditional_probs`.
        """
        if self.model.levels is None:
            raise PgmArError(f"image {self.model.variable.name!r} is real-valued: no logits")
        x_ord, ctx, shape = self._prepare(value)
        params = self.model.ordered_params(x_ord, ctx)
        return self.model.from_ordered(params).reshape(shape + self.event_shape
                                                       + tuple(params.shape[2:]))

    def conditional_probs(self, value: torch.Tensor) -> torch.Tensor:
        """``p(x_i = 1 | x_<i)`` (binary) or the level probabilities (categorical) per pixel."""
        logits = self.conditional_logits(value)
        return torch.sigmoid(logits) if self.model.levels == 2 else torch.softmax(logits, -1)

    # ------------------------------------------------------------------ sampling
    def _finish(self, x_ord: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        img = self.model.from_ordered(x_ord).to(self.model.value_dtype())
        return img.reshape(shape + self.event_shape)

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Draw ``sample_shape + batch_shape`` images in ``D`` sequential steps."""
        shape = torch.Size(sample_shape) + self.batch_shape
        n = int(math.prod(shape))
        with torch.no_grad():
            x_ord = self.model.run_sequential(self._flat_context(shape), n)
        return self._finish(x_ord, shape)

    def complete(self, value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Inpainting: keep the pixels where ``mask`` is true and sample the others.

        Exact (a sample of ``p(missing | observed)``) when every observed pixel precedes
        every missing one in the ordering; otherwise the observed pixels after a missing one
        cannot influence it, and an :class:`ApproximateCompletionWarning` says so.
        """
        x_ord, ctx, shape = self._prepare(value)
        mask_t = torch.as_tensor(mask, dtype=torch.bool, device=x_ord.device)
        mask_t = mask_t.expand(shape + self.event_shape) if mask_t.dim() >= len(self.event_shape) \
            else mask_t
        m_ord = self.model.to_ordered(mask_t.reshape((x_ord.shape[0],) + self.event_shape))
        if not observed_first(m_ord, self.model.step_positions()):
            warnings.warn(
                f"completing image {self.model.variable.name!r}: some observed pixels come after "
                "missing ones in the ordering, so they cannot inform the missing pixels and the "
                "completion is approximate (exact only when the observed pixels precede the "
                "missing ones)", ApproximateCompletionWarning, stacklevel=2)
        with torch.no_grad():
            out = self.model.run_sequential(ctx, x_ord.shape[0], observed=x_ord, observed_mask=m_ord)
        return self._finish(out, shape)

    # ------------------------------------------------------------------ extras
    def features(self, value: torch.Tensor) -> torch.Tensor:
        """Hidden representation of ``value`` (families with a hidden layer: NADE, RNADE)."""
        feat = getattr(self.model, "features", None)
        if feat is None:
            raise PgmArError(f"{self.model.family_name} has no hidden representation")
        x_ord, ctx, shape = self._prepare(value)
        out = feat(x_ord, ctx)
        return out.reshape(shape + out.shape[-1:])


def observed_first(m_ord: torch.Tensor, positions: Iterable[int]) -> bool:
    """True when, in the visiting order ``positions``, no observed value follows a missing one."""
    pos = torch.as_tensor(list(positions), dtype=torch.long, device=m_ord.device)
    m = m_ord[:, pos]
    missing_seen = torch.cumsum((~m).long(), dim=1) > 0
    return not bool((missing_seen & m).any())
