"""The compiled model: one conditional module per node, and the Pyro program that runs them.

:func:`compile` builds a :class:`CompiledModel`, a ``PyroModule`` whose :meth:`~CompiledModel.model`
is a Pyro program: one ``pyro.sample`` site per variable, in topological order, inside a plate
over the rows.  It is meant to be composed like any Pyro model:

* every trainable parameter reaches Pyro's param store when the program runs (the conditional
  modules are registered with ``pyro.module`` under the model's name), so ``SVI`` with a guide
  of your own trains them;
* the plate's name is unique per model (``plate_name``, default ``"<network>_rows"`` with a
  number when several models of one network exist) and its dim is ``plate_dim`` (default
  ``-1``), so two models run in one program, and the model runs inside your own plates
  placed to its left (``pyro.plate(..., dim=-2)`` with the default);
* under ``pyro.condition`` / ``Predictive`` / ``infer_discrete`` with no ``data`` argument, the
  number of rows is read from the values conditioned on, so a conditioned model needs no size.

What the model does with data (scoring, fitting, sampling, images, queries, files) lives in
the sibling modules and comes in as mixins; this module holds the construction, the basics and
the program.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import pyro
import torch
from pyro.nn import PyroModule
from pyro.poutine.condition_messenger import ConditionMessenger
from pyro.poutine.runtime import _PYRO_STACK
from torch import nn

from ..conditionals import Family
from ..conditionals.base import Conditional
from ..conditionals.tabular import MAX_TABLE_SIZE, ZERO_LOGIT, Tabular, TabularConditional
from ..limits import check as check_limit
from ..cpd import TabularCPD
from ..errors import PgmArError, UnknownVariableError
from ..network import BayesNet
from ..tabular_data import EncodedData
from ..variables import Image
from .data import IMPOSSIBLE
from .families import resolve_families
from .fitting import FittingMixin
from .images import ImageMixin
from .modes import in_eval_mode
from .persistence import PersistenceMixin
from .queries import QueryMixin
from .sampling import SamplingMixin
from .scoring import ScoringMixin

__all__ = ["CompiledModel", "compile"]

#: how many models of each network name exist, for unique default plate names
_PLATES_PER_NAME: Dict[str, "itertools.count[int]"] = {}


def _default_plate_name(net: BayesNet) -> str:
    base = f"{net.name or 'network'}_rows"
    k = next(_PLATES_PER_NAME.setdefault(base, itertools.count(1)))
    return base if k == 1 else f"{base}_{k}"


def compile(net: BayesNet, conditionals: Optional[Mapping[Any, Any]] = None, *,
            plate_name: Optional[str] = None, plate_dim: int = -1) -> "CompiledModel":
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
    plate_name, plate_dim
        Name and dim of the Pyro plate over the rows (see the module docstring).

    Raises
    ------
    PgmArError
        For an unknown variable, an unknown family, or a family that cannot model its node.
    """
    if not isinstance(net, BayesNet):
        raise PgmArError(f"compile expects a BayesNet, got {type(net).__name__}")
    families = None if conditionals else _all_tables(net)
    if families is None:
        families = resolve_families(net, conditionals)
    return CompiledModel(net, families, plate_name=plate_name, plate_dim=plate_dim)


#: the default family of a discrete node with discrete parents (a frozen dataclass: shared)
_TABLE = Tabular()


def _all_tables(net: BayesNet) -> Optional[Dict[str, Family]]:
    """``resolve_families(net)`` when every node gets the default table (an all-discrete net
    whose CPTs all fit :data:`MAX_TABLE_SIZE`), from cardinalities alone; ``None`` otherwise
    (the caller then resolves node by node).  This is what a network read from a BIF file
    compiles to, and resolving each node (a family object and a support check apiece) was a
    measurable share of compiling a network of hundreds of nodes."""
    cells = _table_cells(net)
    if cells is None or any(n > MAX_TABLE_SIZE for n in cells.values()):
        return None
    return {name: _TABLE for name in cells}


def _table_cells(net: BayesNet) -> Optional[Dict[str, int]]:
    """``{name: entries of its CPT}`` (its states times its parents' joint states) for a
    network of discrete scalar variables, ``None`` for any other network."""
    cards: Dict[str, int] = {}
    for v in net.variables:
        if v.cardinality is None or not v.is_discrete_scalar:
            return None
        cards[v.name] = int(v.cardinality)
    out: Dict[str, int] = {}
    for name, card in cards.items():
        for p in net.parents(name):
            card *= cards[p]
        out[name] = card
    return out


class CompiledModel(ScoringMixin, FittingMixin, SamplingMixin, ImageMixin, QueryMixin,
                    PersistenceMixin, PyroModule):
    """A Bayesian network with one conditional module per node, as a Pyro program.

    Build it with :func:`compile`.  Attributes: ``net`` (the network), ``families``
    (``{name: Family}``), ``plate_name`` / ``plate_dim`` (the Pyro plate over the rows), and
    :meth:`conditional` (the module of one node).
    """

    def __init__(self, net: BayesNet, families: Mapping[str, Family], *,
                 plate_name: Optional[str] = None, plate_dim: int = -1) -> None:
        super().__init__()
        if not isinstance(plate_dim, int) or plate_dim > -1:
            raise PgmArError(f"plate_dim must be a negative int (-1 is the rightmost batch "
                             f"dim), got {plate_dim!r}")
        self.net = net
        self.families = dict(families)
        self.plate_name = str(plate_name) if plate_name else _default_plate_name(net)
        self.plate_dim = plate_dim
        names = net.names  # a tuple built on each read
        self._index = {n: i for i, n in enumerate(names)}
        self.__dict__["_names"] = names
        self._topo = net.topological_order()
        self._parents = {n: net.parents(n) for n in net.names}
        # small exact families run in float64: tables and sums then match exact inference
        self.exact = all(type(f).exact for f in self.families.values())
        dtype = torch.float64 if self.exact else torch.float32
        # every node a plain table: the modules are built when something first needs them
        # (see _LazyModules); queries read the CPTs straight from the network until then
        lazy = all(type(f) is Tabular for f in self.families.values())
        self.register_buffer("fitted", torch.zeros(len(net.names), dtype=torch.bool))
        self.image_names: Tuple[str, ...] = tuple(v.name for v in net.variables
                                                  if isinstance(v, Image))
        if lazy:
            _check_table_budget(_table_cells(net))
            # which nodes hold fitted (or given) parameters; the others are re-initialised by
            # a seeded fit, and tables start random for latent models (uniform CPTs are a saddle)
            cpds = net.cpds
            self.__dict__["_given_cpds"] = cpds
            given = [self._index[name] for name in cpds]
            self.fitted[given] = True  # one indexed write, not one per node
            self.all_discrete = self.all_tabular = True
            self.training = False
            self.__dict__["_lazy_tables"] = self._given_table
            # what the table view reports as its version while the tables are the network's:
            # a plain object, so that caches keyed by it do not keep the model alive
            self.__dict__["_tables_token"] = object()
            pending = _LazyModules(self._build_nodes)
            dict.update(pending, self._modules)
            self.__dict__["_modules"] = pending
            return
        mods = self._make_nodes(dtype)
        # index keys: variable names may hold characters a ModuleDict key may not
        self.nodes = nn.ModuleList(mods)
        _to_dtype(self, mods, dtype)
        given = []
        for name, cpd in net.cpds.items():
            node = mods[self._index[name]]
            if isinstance(node, TabularConditional):
                node.set_probs(cpd.probs)
                given.append(self._index[name])
        # which nodes hold fitted (or given) parameters (see above)
        self.fitted[given] = True
        self.all_discrete = all(v.is_discrete_scalar for v in net.variables)
        self.all_tabular = all(isinstance(m, TabularConditional) for m in mods)
        # answers never depend on the mode; fitting switches to training mode itself
        _eval_mode(self, mods)

    def _make_nodes(self, dtype: torch.dtype) -> list:
        net = self.net
        mods = []
        for name in net.names:
            parents = [net.variable(p) for p in self._parents[name]]
            mods.append(_build_within_budget(self.families[name], net.variable(name), parents,
                                             dtype))
        return mods

    def _build_nodes(self) -> None:
        """Build the node modules of a model compiled lazily (all tables), set them from the
        network's CPTs and put them where ``self.nodes`` reads them.  Run once, by
        :class:`_LazyModules`, when anything first reads the model's sub-modules."""
        mods = self._make_nodes(torch.float64)
        for name, cpd in self.__dict__["_given_cpds"].items():
            mods[self._index[name]].set_probs(cpd.probs)
        nodes = nn.ModuleList(mods)
        for m in mods:
            m.__dict__["training"] = False
        nodes.training = False
        dict.__setitem__(self.__dict__["_modules"], "nodes", nodes)
        # from now on queries read the tables from the modules (see _TableView)
        self.__dict__.pop("_lazy_tables", None)
        self.__dict__.pop("_tables_token", None)

    def _given_table(self, i: int) -> torch.Tensor:
        """Node ``i``'s CPT before the modules exist: the network's (rows normalised by
        :class:`~pgm_ar.cpd.TabularCPD`), uniform where it has none -- what the built table's
        ``probs()`` gives, up to rounding of ``softmax(log p)``."""
        name = self.__dict__["_names"][i]
        small = self.__dict__.get("_small_tables")
        if small is None:
            small = self.__dict__["_small_tables"] = _small_tables(self.__dict__["_given_cpds"])
        hit = small.get(name)
        if hit is not None:
            flat, start, shape = hit
            return flat[start:start + math.prod(shape)].view(shape)
        cpd = self.__dict__["_given_cpds"].get(name)
        if cpd is None:
            parents = self._parents[name]
            shape = tuple(int(self.net.variable(p).cardinality) for p in parents)
            card = int(self.net.variable(name).cardinality)
            return torch.full(shape + (card,), 1.0 / card, dtype=torch.float64)
        # the numbers the built table gives (float64 logits, zeros clamped, then a softmax),
        # to the last bit: answers do not move when the modules are built
        logits = torch.log(torch.from_numpy(np.array(cpd.probs, dtype=np.float64)))
        return torch.softmax(logits.clamp_min_(ZERO_LOGIT), dim=-1)

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
    def max_plate_nesting(self) -> int:
        """The ``max_plate_nesting`` an ELBO needs for this model alone (``-plate_dim``)."""
        return -self.plate_dim

    def num_parameters(self) -> Dict[str, int]:
        """Trainable parameters per variable (free parameters for tables)."""
        if "_lazy_tables" in self.__dict__:  # tables not built yet: count them, build nothing
            cells = _table_cells(self.net)
            return {v.name: cells[v.name] // v.cardinality * (v.cardinality - 1)
                    for v in self.net.variables}
        return {n: self.nodes[i].num_parameters() for i, n in enumerate(self.net.names)}

    def __repr__(self) -> str:
        fams = ", ".join(sorted({f.name for f in self.families.values()}))
        return (f"CompiledModel({self.net.name!r}, {len(self.net)} variables, "
                f"families: {fams}, {sum(self.num_parameters().values())} parameters)")

    # ------------------------------------------------------------------ the Pyro program
    def model(self, data: Optional[Union[Mapping[str, torch.Tensor], EncodedData]] = None,
              num_samples: Optional[int] = None) -> Dict[str, torch.Tensor]:
        """The Pyro program: one ``pyro.sample`` site per variable inside the model's plate.

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
            The plate size when ``data`` is ``None``; without it, the size of the values a
            ``pyro.condition`` handler holds for the model's sites, else 1.
        """
        values = data.values if isinstance(data, EncodedData) else dict(data or {})
        n = self._plate_size(values, num_samples)
        pyro.module(self.plate_name, self.nodes)  # the parameters reach Pyro's param store
        drawn: Dict[str, torch.Tensor] = {}
        with pyro.plate(self.plate_name, n, dim=self.plate_dim):
            for name in self._topo:
                node = self.nodes[self._index[name]]
                parents = {p: drawn[p] for p in self._parents[name]}
                # roots get one row and the plate broadcasts them to its size, at its dim
                d = node(parents, batch_size=1 if not parents else None)
                drawn[name] = self._site(name, node, d, values.get(name))
        return drawn

    forward = model

    def _rows_at_plate(self, x: torch.Tensor, event_dims: int) -> torch.Tensor:
        """Batch-first values ``(n, *event)`` with the rows moved to the plate's dim."""
        extra = -self.plate_dim - 1
        if extra == 0:
            return x
        shape = (x.shape[0],) + (1,) * extra + tuple(x.shape[1:])
        return x.reshape(shape) if event_dims >= 0 else x

    def _site(self, name: str, node: nn.Module, d: Any, obs: Optional[torch.Tensor]):
        var = node.variable
        event_dims = len(getattr(d, "event_shape", ()))
        if obs is None:
            return pyro.sample(name, d)
        obs = self._rows_at_plate(obs, event_dims)
        if var.is_discrete_scalar:
            obs = obs.long()
            missing = obs < 0
            if bool(missing.any()):
                x = pyro.sample(name, d)
                zero = torch.zeros((), dtype=self.dtype, device=obs.device)
                ok = torch.where(x == obs, zero, zero + IMPOSSIBLE)
                pyro.factor(f"{name}__observed", torch.where(missing, zero, ok))
                return x
        elif var.is_discrete:
            obs = obs.long()
        else:
            obs = obs.to(self.dtype)
        return pyro.sample(name, d, obs=obs)

    def _plate_size(self, values: Mapping[str, torch.Tensor], num_samples: Optional[int]) -> int:
        if values:
            return int(next(iter(values.values())).shape[0])
        if num_samples is not None:
            return int(num_samples)
        conditioned = self._conditioned_rows()
        return 1 if conditioned is None else conditioned

    def _conditioned_rows(self) -> Optional[int]:
        """Rows of the values that ``pyro.condition`` handlers around this call hold for the
        model's sites (how ``infer_discrete`` / ``Predictive`` on a conditioned model learn the
        plate size).  Pyro has no public accessor for the handler stack; this reads it."""
        for frame in _PYRO_STACK:
            if not isinstance(frame, ConditionMessenger):
                continue
            for name in self.net.names:
                value = _conditioned_value(frame.data, name)
                if value is None or not torch.is_tensor(value):
                    continue
                var = self.net.variable(name)
                event_dims = 3 if isinstance(var, Image) else 0
                dim = value.dim() - event_dims + self.plate_dim
                if dim >= 0:
                    return int(value.shape[dim])
        return None

    # ------------------------------------------------------------------ tables
    @in_eval_mode
    def tables(self) -> Dict[str, torch.Tensor]:
        """Every node's CPT, ``(*parent_cards, card)`` float64 on the CPU (all-discrete nets).

        Non-tabular conditionals are evaluated on every parent configuration.
        """
        if not self.all_discrete:
            bad = next(v.name for v in self.net.variables if not v.is_discrete_scalar)
            raise PgmArError(f"variable {bad!r} is not a discrete scalar: the network has no CPTs")
        with torch.no_grad():
            return {name: self._table(self.nodes[i]).cpu()
                    for i, name in enumerate(self.net.names)}

    def _table(self, node: nn.Module) -> torch.Tensor:
        if isinstance(node, TabularConditional):
            return node.probs()
        pvars = node.parent_vars
        cards = [int(p.cardinality) for p in pvars]
        card = int(node.variable.cardinality)
        size = int(np.prod(cards + [card], dtype=object))
        check_limit("max_factor_cells", size, f"the CPT of {node.variable.name!r}",
                    "query a model with fewer parent states or use sampling")
        if size > MAX_TABLE_SIZE:
            raise PgmArError(f"the CPT of {node.variable.name!r} would have {size} entries "
                             f"(limit {MAX_TABLE_SIZE})")
        if not pvars:
            return node({}, batch_size=1).probs.double().reshape(card)
        # Evaluate the conditional on the parent configurations a chunk at a time: the
        # family's own work per row (one-hot inputs, hidden units) is many times the table's
        # size, so one batch of every configuration could take gigabytes for a table of MBs.
        n_configs = size // card
        width = sum(cards) + card + 64
        chunk = max(1, min(n_configs, _TABLE_CHUNK_CELLS // width))
        out = torch.empty((n_configs, card), dtype=torch.float64)
        strides = [int(np.prod(cards[j + 1:], dtype=object)) for j in range(len(cards))]
        for start in range(0, n_configs, chunk):
            flat = torch.arange(start, min(start + chunk, n_configs), device=self.device)
            cols = {p.name: (flat // strides[j]) % cards[j] for j, p in enumerate(pvars)}
            out[start:start + len(flat)] = node(cols).probs.double().reshape(len(flat), card).cpu()
        return out.reshape(tuple(cards) + (card,)).to(self.device)

    def to_bayesnet(self) -> BayesNet:
        """The network with the fitted CPTs attached (so ``write_bif`` writes it)."""
        cpds = {name: TabularCPD(name, self._parents[name], t.numpy())
                for name, t in self.tables().items()}
        return self.net.with_cpds(cpds)


#: CPTs of at most this many entries are converted to the compiled numbers all at once
_SMALL_TABLE_CELLS = 1 << 12


def _small_tables(cpds: Mapping[str, TabularCPD]) -> Dict[str, tuple]:
    """The small CPTs as a compiled table holds them (``softmax(log p)``, zeros clamped),
    computed in one ``log``/``softmax`` per cardinality over all their rows: torch's softmax
    treats each row alone, so the numbers are those of one table at a time, to the last bit,
    for one call instead of hundreds (PIGS: 441 tables).  ``{name: (flat result, offset,
    shape)}``; a view is cut on each read."""
    groups: Dict[int, list] = {}
    for name, cpd in cpds.items():
        if cpd.probs.size <= _SMALL_TABLE_CELLS:
            groups.setdefault(cpd.probs.shape[-1], []).append(name)
    out: Dict[str, tuple] = {}
    for card, names in groups.items():
        flat = np.concatenate([cpds[n].probs.reshape(-1) for n in names])
        rows = torch.log(torch.from_numpy(flat).view(-1, card)).clamp_min_(ZERO_LOGIT)
        result = torch.softmax(rows, dim=-1).view(-1)
        start = 0
        for n in names:
            shape = cpds[n].probs.shape
            out[n] = (result, start, shape)
            start += cpds[n].probs.size
    return out


class _LazyModules(dict):
    """A model's ``_modules`` whose ``"nodes"`` entry is built on first use.

    Compiling a network of hundreds of tables built one ``nn.Module`` and one parameter per
    node, most of ``compile()``'s time, and a model that only answers queries never reads
    them (queries read the CPTs).  So for an all-table model the node list is made the
    first time anything reads the sub-modules: ``model.nodes``, ``parameters()``,
    ``state_dict()``, ``to()``, ``train()``, fitting, sampling, scoring, pickling.  Every
    read of this dict goes through :meth:`_ready` first; a membership test for ``"nodes"``
    is answered without building (it will be there), which is what ``nn.Module.__setattr__``
    asks on every plain attribute set.
    """

    __slots__ = ("_build",)

    def __init__(self, build: Callable[[], None]) -> None:
        super().__init__()
        self._build: Optional[Callable[[], None]] = build

    def _ready(self) -> None:
        build = self._build
        if build is not None:
            self._build = None
            build()

    def __contains__(self, key: object) -> bool:
        if self._build is not None and key == "nodes":
            return True
        return dict.__contains__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        if self._build is not None and key == "nodes":
            self._ready()
        return dict.get(self, key, default)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # pickled and copied as the plain dict it stands for (the builder is a bound method)
        self._ready()
        return (dict, (dict(dict.items(self)),))


def _lazy_method(name: str) -> Callable:
    base = getattr(dict, name)

    def method(self: _LazyModules, *args: Any, **kwargs: Any) -> Any:
        self._ready()
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in ("__getitem__", "__iter__", "__len__", "__setitem__", "__delitem__", "__repr__",
              "__eq__", "__ne__", "__reversed__", "__or__", "keys", "values", "items", "pop",
              "popitem", "setdefault", "update", "copy", "clear"):
    setattr(_LazyModules, _name, _lazy_method(_name))
del _name


def _check_table_budget(cells: Mapping[str, int]) -> None:
    """The ``max_parameters`` check that building each table makes, done on the CPTs' sizes
    (:func:`_table_cells`) before anything is built (a lazily compiled model builds its
    tables later, so the refusal must come now, from ``compile``)."""
    if cells:
        worst = max(cells, key=cells.__getitem__)
        check_limit("max_parameters", cells[worst],
                    f"the Tabular conditional of {worst!r}", "choose fewer hidden units or layers")


def _to_dtype(model: nn.Module, mods: list, dtype: torch.dtype) -> None:
    """``model.to(dtype)`` for a freshly built model, with its bare tables done directly.

    ``Module.to`` walks every module through ``_apply``, a cost per node that shows on
    networks of hundreds of nodes; a :class:`TabularConditional` holds one parameter and no
    submodule, so setting that parameter's ``data`` (what ``_apply`` does) is the same.
    """
    for m in mods:
        if type(m) is TabularConditional and not m._modules and not m._buffers:
            p = m._parameters["logits"]
            if p.dtype != dtype:
                p.data = p.data.to(dtype)
        else:
            m.to(dtype)
    for name, b in list(model._buffers.items()):  # none yet; kept in step with Module.to
        if b is not None and b.is_floating_point():
            model._buffers[name] = b.to(dtype)


def _eval_mode(model: nn.Module, mods: list) -> None:
    """``model.eval()``, setting the flag of bare tables directly (see :func:`_to_dtype`)."""
    for m in mods:
        if type(m) is TabularConditional and not m._modules:
            m.__dict__["training"] = False
        else:
            m.eval()
    for name, child in model._modules.items():  # the node list (and any other child)
        if name == "nodes":
            child.training = False
        elif child is not None:
            child.eval()
    model.training = False


def _build_within_budget(family: Family, variable: Any, parents: list,
                         dtype: Optional[torch.dtype] = None) -> nn.Module:
    """``family.build(variable, parents)``, refused before any weight exists when its parameter
    count is over ``max_parameters`` (``hidden: 100000000`` would take gigabytes).  A table
    is made in ``dtype`` directly (other families are converted by the caller)."""
    counter = getattr(family, "parameter_count", None)  # a family that knows it: no build
    try:
        if counter is not None and family.supports(variable, parents) is None:
            count = int(counter(variable, parents))
            check_limit("max_parameters", count,
                        f"the {type(family).__name__} conditional of {variable.name!r}",
                        "choose fewer hidden units or layers")
            if type(family) is Tabular:  # supported, just checked: build() would check again
                return TabularConditional(variable, parents, family.prior, dtype=dtype)
            return family.build(variable, parents)
        # the meta device gives every tensor a shape and no storage: the count is free
        with torch.device("meta"):
            planned = family.build(variable, parents)
        count = sum(int(p.numel()) for p in planned.parameters())
        count += sum(int(b.numel()) for b in planned.buffers())
    except PgmArError:
        raise
    except Exception:  # a family that cannot be planned on meta is built (and counted) for real
        count = None
    if count is not None:
        check_limit("max_parameters", count,
                    f"the {type(family).__name__} conditional of {variable.name!r}",
                    "choose fewer hidden units or layers")
    return family.build(variable, parents)


#: table entries' worth of work evaluated per chunk when tabulating a non-tabular family
_TABLE_CHUNK_CELLS = 1 << 22


def _conditioned_value(data: Any, name: str) -> Optional[torch.Tensor]:
    """The value a condition handler's ``data`` (a dict or a trace) holds for site ``name``."""
    if isinstance(data, Mapping):
        return data.get(name)
    nodes = getattr(data, "nodes", None)
    if nodes is not None and name in nodes:
        return nodes[name].get("value")
    return None
