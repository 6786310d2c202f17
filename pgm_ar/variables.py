"""Random-variable kinds: Bernoulli, Categorical, Gaussian and Image.

A variable has a name, a kind and a domain.  Discrete variables have named
states; data values are integer indices ``0 .. k-1`` into ``states``.

>>> Categorical("die", 6).cardinality
6
>>> Categorical("weather", ["sun", "rain"]).states
('sun', 'rain')
>>> Image("digit", shape=(1, 28, 28)).num_pixels
784
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .errors import PgmArError
from .limits import check as check_limit
from .orderings import OrderingSpec, expand_channels, make_ordering


class Kind(str, Enum):
    BERNOULLI = "bernoulli"
    CATEGORICAL = "categorical"
    GAUSSIAN = "gaussian"
    IMAGE = "image"


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise PgmArError(f"a variable name must be a non-empty string, got {name!r}")
    if any(ch in name for ch in ",|()\n"):
        raise PgmArError(f"variable name {name!r} may not contain ',', '|', '(' , ')' or newlines")
    return name


@dataclass(frozen=True)
class Variable:
    """Base of all variable kinds (use the subclasses)."""

    name: str

    kind = None  # type: Kind

    @property
    def is_discrete(self) -> bool:
        return self.cardinality is not None

    @property
    def cardinality(self) -> Optional[int]:
        """Number of states, or ``None`` for a continuous variable."""
        return None

    @property
    def is_discrete_scalar(self) -> bool:
        """Whether this is one discrete value (Bernoulli or Categorical): a variable that can
        have a CPT, be enumerated, or be a latent column.

        An image is never one, not even a one-pixel image: it has no :attr:`cardinality` and
        compiles to an autoregressive distribution over its pixels.

        >>> Categorical("die", 6).is_discrete_scalar, Gaussian("h").is_discrete_scalar
        (True, False)
        >>> Image("x", shape=(1, 1, 1)).is_discrete_scalar
        False
        """
        return self.cardinality is not None

    @property
    def states(self) -> Optional[Tuple[str, ...]]:
        return None

    @property
    def num_pixels(self) -> int:
        """How many scalar variables this one stands for (1 except for images)."""
        return 1

    def state_index(self, value: object) -> int:
        """Index of a state given by name or by integer index."""
        states = self.states
        if states is None:
            raise PgmArError(f"variable {self.name!r} is continuous and has no states")
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if 0 <= int(value) < len(states):
                return int(value)
        elif isinstance(value, bool):
            return int(value)
        text = str(value)
        if text in states:
            return states.index(text)
        raise PgmArError(
            f"variable {self.name!r} has no state {value!r}; its states are {list(states)}"
        )


@dataclass(frozen=True)
class Bernoulli(Variable):
    """A binary variable with states ``0`` and ``1`` (named ``"0"`` and ``"1"``)."""

    kind = Kind.BERNOULLI

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def cardinality(self) -> int:
        return 2

    @property
    def states(self) -> Tuple[str, ...]:
        return ("0", "1")


@dataclass(frozen=True, init=False)
class Categorical(Variable):
    """A discrete variable with ``k`` named states (or ``k`` states named ``0..k-1``)."""

    state_names: Tuple[str, ...] = field(default=())
    kind = Kind.CATEGORICAL

    def __init__(self, name: str, states: Union[int, Sequence[object]]) -> None:
        _check_name(name)
        if isinstance(states, (int, np.integer)) and not isinstance(states, bool):
            if states < 2:
                raise PgmArError(f"variable {name!r} needs at least 2 states, got {states}")
            check_limit("max_states", int(states), f"variable {name!r}",
                        "use fewer states or a continuous (gaussian) variable")
            names = tuple(str(i) for i in range(int(states)))
        else:
            try:
                names = tuple(str(s) for s in states)  # type: ignore[union-attr]
                check_limit("max_states", len(names), f"variable {name!r}")
            except TypeError:
                raise PgmArError(f"states of {name!r} must be a count or a list, got {states!r}")
            if len(names) < 2:
                raise PgmArError(f"variable {name!r} needs at least 2 states, got {list(names)}")
            if len(set(names)) != len(names):
                dup = next(s for s in names if names.count(s) > 1)
                raise PgmArError(f"variable {name!r} lists state {dup!r} twice")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "state_names", names)

    @property
    def cardinality(self) -> int:
        return len(self.state_names)

    @property
    def states(self) -> Tuple[str, ...]:
        return self.state_names

    def __repr__(self) -> str:
        return f"Categorical({self.name!r}, {list(self.state_names)!r})"


@dataclass(frozen=True)
class Gaussian(Variable):
    """A real-valued variable."""

    kind = Kind.GAUSSIAN

    def __post_init__(self) -> None:
        _check_name(self.name)


@dataclass(frozen=True, init=False, eq=False)
class Image(Variable):
    """A grouped variable of ``C x H x W`` pixels under an ordering.

    ``levels`` is the number of discrete values per pixel (2 for binary images),
    or ``None`` for continuous pixels.  An image counts, factorizes and draws as
    its pixels but compiles to one sample site with an autoregressive
    distribution.
    """

    shape: Tuple[int, int, int] = (1, 1, 1)
    levels: Optional[int] = 2
    ordering_label: str = "raster"
    pixel_order: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    kind = Kind.IMAGE

    def __init__(self, name: str, shape: Sequence[int] = (1, 28, 28), levels: Optional[int] = 2,
                 ordering: OrderingSpec = "raster") -> None:
        _check_name(name)
        try:
            if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in shape):
                raise TypeError  # 1.5 must not become 1
            shape_t = tuple(int(s) for s in shape)
        except (TypeError, ValueError, OverflowError):
            raise PgmArError(f"image {name!r}: shape must be (C, H, W) of positive ints, "
                             f"got {shape!r}") from None
        if len(shape_t) == 2:
            shape_t = (1,) + shape_t
        if len(shape_t) != 3 or min(shape_t) < 1:
            raise PgmArError(f"image {name!r}: shape must be (C, H, W) of positive ints, got {shape}")
        # Python ints never overflow, so the product is exact even for 2**63 sides.
        check_limit("max_image_values", shape_t[0] * shape_t[1] * shape_t[2],
                    f"image {name!r} of shape {shape_t}", "use a smaller image or crop it")
        if levels is not None and (isinstance(levels, bool)
                                   or not isinstance(levels, (int, np.integer)) or levels < 2):
            raise PgmArError(f"image {name!r}: levels must be an integer >= 2 or None, got "
                             f"{levels!r}")
        if levels is not None:
            check_limit("max_states", int(levels), f"image {name!r}: levels per pixel")
        label, order = make_ordering(ordering, shape_t[1], shape_t[2])
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "shape", shape_t)
        object.__setattr__(self, "levels", None if levels is None else int(levels))
        object.__setattr__(self, "ordering_label", label)
        object.__setattr__(self, "pixel_order", order)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Image) and self.name == other.name and self.shape == other.shape
                and self.levels == other.levels
                and np.array_equal(self.pixel_order, other.pixel_order))

    def __hash__(self) -> int:
        return hash((self.name, self.shape, self.levels, self.pixel_order.tobytes()))

    def __repr__(self) -> str:
        return (f"Image({self.name!r}, shape={self.shape}, levels={self.levels}, "
                f"ordering={self.ordering_label!r})")

    @property
    def num_pixels(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def is_discrete(self) -> bool:
        """True when the pixels take ``levels`` discrete values (binary or categorical).

        The image as a whole still has no :attr:`cardinality`: its ``levels ** C*H*W`` joint
        states are never enumerated; each pixel has :attr:`pixel_cardinality` states.
        """
        return self.levels is not None

    @property
    def pixel_cardinality(self) -> Optional[int]:
        return self.levels

    @property
    def order(self) -> np.ndarray:
        """Visiting order over the flat ``C*H*W`` values (channels of a pixel in turn)."""
        return expand_channels(self.pixel_order, self.shape[0])

    def pixel_name(self, flat_index: int) -> str:
        c, h, w = self.shape
        ch, rest = divmod(int(flat_index), h * w)
        r, col = divmod(rest, w)
        return f"{self.name}[{ch}][{r}][{col}]" if c > 1 else f"{self.name}[{r}][{col}]"

    def pixels(self) -> list:
        """The pixel variables in visiting order (Bernoulli, Categorical or Gaussian)."""
        out = []
        for idx in self.order:
            pname = self.pixel_name(int(idx))
            if self.levels is None:
                out.append(Gaussian(pname))
            elif self.levels == 2:
                out.append(Bernoulli(pname))
            else:
                out.append(Categorical(pname, self.levels))
        return out


def bernoullis(n: int, prefix: str = "x") -> list:
    """``n`` binary variables named ``x1 .. xn``.

    >>> [v.name for v in bernoullis(3)]
    ['x1', 'x2', 'x3']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PgmArError(f"need a positive number of variables, got n={n!r}")
    check_limit("max_variables", int(n), "bernoullis(n)")
    return [Bernoulli(f"{prefix}{i}") for i in range(1, n + 1)]
