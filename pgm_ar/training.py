"""The training loop shared by every neural family: maximum likelihood by minibatch gradient.

Any ``torch.nn.Module`` with a method ``log_prob(batch) -> Tensor[B]`` (log-likelihood in nats
of each example) can be fitted: a compiled model, one conditional, or a module of your own.
:func:`fit` minimises the mean negative log-likelihood (NLL) and takes care of the rest:

* **device** ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``; on CUDA, bf16
  autocast (``amp=True``) and pinned-memory transfers (or, for in-memory data that fits, the
  whole data set moved to the GPU once);
* **data** as a tensor, a ``TensorDataset``, a dict of tensors (batches are dicts), any
  ``Dataset`` or a ``DataLoader``; a per-batch ``transform(batch, generator)``, e.g.
  :class:`pgm_ar.datasets.DynamicBinarization` to re-binarize every epoch; datasets and
  samplers with ``set_epoch`` (``DistributedSampler``,
  :class:`pgm_ar.datasets.DynamicBinarizedDataset`) are told the epoch;
* **validation** NLL after every epoch, **early stopping** after ``early_stopping_patience``
  epochs without improvement, and the **best weights restored** at the end (the model returned
  is the one with the lowest validation NLL, not the last one);
* a **learning-rate schedule** (cosine or step, per epoch) and gradient-norm clipping;
* a **checkpoint every epoch** (``checkpoint_dir/checkpoint.pt``, written atomically: model,
  optimizer, scheduler, the torch / numpy / python RNG states, epoch, best weights and
  validation NLL, history); ``resume=True`` continues exactly where a run stopped — on CPU the
  weights are bitwise those of an uninterrupted run;
* a **progress bar** (tqdm, nats/example; a plain line every 15 s when stderr is not a
  terminal) and a **log** of
  epoch, train NLL, validation NLL, learning rate and seconds as CSV and JSON;
* **reproducibility**: ``seed`` seeds torch, numpy and ``random`` at the start and derives
  the shuffling and transform generators of every epoch, so the same seed gives the same
  result on CPU;
* **several processes** (GPUs or machines) with ``DistributedDataParallel`` when launched by
  ``torchrun``: ``batch_size`` is the global batch, so the result does not depend on the
  number of processes; rank 0 writes checkpoints and logs (``docs/distributed.md``).

>>> import torch
>>> class Coin(torch.nn.Module):  # independent Bernoulli pixels
...     def __init__(self, d):
...         super().__init__()
...         self.logits = torch.nn.Parameter(torch.zeros(d))
...     def log_prob(self, x):
...         return -torch.nn.functional.binary_cross_entropy_with_logits(
...             self.logits.expand_as(x), x, reduction="none").sum(-1)
>>> x = (torch.rand(200, 4, generator=torch.Generator().manual_seed(0)) < 0.3).float()
>>> history = fit(Coin(4), x, epochs=3, batch_size=50, lr=0.1, progress=False)
>>> history.epoch, len(history.train_nll), history.best_epoch is None
([1, 2, 3], 3, True)
>>> sorted(evaluate(Coin(4), x, device="cpu"))
['bits_per_dim', 'n', 'nll_nats']
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .errors import DataError, PgmArError
from .io.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["fit", "evaluate", "History", "OptimizerKind", "LRSchedule", "resolve_device",
           "distributed_rank", "CHECKPOINT_NAME"]

PathLike = Union[str, "Path"]
#: file name of the checkpoint inside ``checkpoint_dir``
CHECKPOINT_NAME = "checkpoint.pt"
_CHECKPOINT_VERSION = 1
# salts that separate the per-epoch random streams (shuffling, transform)
_SHUFFLE_STREAM, _TRANSFORM_STREAM = 0, 1


class OptimizerKind(str, Enum):
    """Optimizers :func:`fit` can build."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"  # with Nesterov momentum 0.9


class LRSchedule(str, Enum):
    """Learning-rate schedules, stepped once per epoch."""

    #: cosine annealing from ``lr`` to 0 over ``epochs``
    COSINE = "cosine"
    #: multiply by ``lr_gamma`` every ``lr_step_size`` epochs
    STEP = "step"


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """What a :func:`fit` run did, one entry per epoch (epochs count from 1).

    Attributes
    ----------
    epoch, train_nll, val_nll, lr, seconds
        Per epoch: its number, the mean training NLL (nats/example, averaged over the epoch's
        batches as they were trained), the validation NLL (``None`` without validation data),
        the learning rate used, and the wall time of the epoch including validation.
    best_epoch, best_val_nll
        The epoch with the lowest validation NLL and that NLL (``None`` without validation).
    stopped_early
        Whether early stopping ended the run.
    device
        The device trained on (this process's, in a distributed run).
    world_size
        The number of processes that trained together (1 unless distributed).
    """

    epoch: List[int] = field(default_factory=list)
    train_nll: List[float] = field(default_factory=list)
    val_nll: List[Optional[float]] = field(default_factory=list)
    lr: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    best_epoch: Optional[int] = None
    best_val_nll: Optional[float] = None
    stopped_early: bool = False
    device: str = "cpu"
    world_size: int = 1

    _COLUMNS = ("epoch", "train_nll", "val_nll", "lr", "seconds")

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "History":
        """The inverse of :meth:`to_dict`."""
        return cls(**{k: (list(v) if isinstance(v, list) else v) for k, v in data.items()})

    def to_csv(self, path: PathLike) -> Path:
        """Write one row per epoch (``epoch,train_nll,val_nll,lr,seconds``), atomically."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self._COLUMNS)
        for row in zip(*(getattr(self, c) for c in self._COLUMNS)):
            writer.writerow(["" if v is None else v for v in row])
        return atomic_write_text(path, buf.getvalue())

    def to_json(self, path: PathLike) -> Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    def plot(self, path: PathLike, title: Optional[str] = None) -> Path:
        """Training curves (NLL per epoch, train and validation; learning rate) as an image.

        The format follows the suffix (``.png``, ``.svg``, ``.pdf``); written atomically with
        matplotlib's Agg canvas (no display, no global pyplot state).
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        path = Path(path)
        fig = Figure(figsize=(8, 3.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax, ax_lr = fig.subplots(1, 2, width_ratios=(3, 2))
        ax.plot(self.epoch, self.train_nll, "o-", ms=3, label="train")
        if any(v is not None for v in self.val_nll):
            ax.plot(self.epoch, [math.nan if v is None else v for v in self.val_nll], "s-",
                    ms=3, label="validation")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="gray", ls=":", label=f"best (epoch {self.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("NLL (nats / example)")
        ax.legend()
        ax.grid(alpha=0.3)
        ax_lr.plot(self.epoch, self.lr, ".-")
        ax_lr.set_xlabel("epoch")
        ax_lr.set_ylabel("learning rate")
        ax_lr.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        buf = io.BytesIO()
        fig.savefig(buf, format=(path.suffix.lstrip(".") or "png"), dpi=120)
        return atomic_write_bytes(path, buf.getvalue())

    def _append(self, epoch: int, train: float, val: Optional[float], lr: float,
                seconds: float) -> None:
        self.epoch.append(epoch)
        self.train_nll.append(train)
        self.val_nll.append(val)
        self.lr.append(lr)
        self.seconds.append(seconds)


# --------------------------------------------------------------------------- devices
def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PgmArError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise PgmArError(f"device {device!r} requested but no CUDA GPU is available "
                             "(this torch build or machine has none); use device='cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise PgmArError(f"device {device!r}: only {torch.cuda.device_count()} GPU(s)")
    elif dev.type != "cpu":
        raise PgmArError(f"unsupported device {device!r}: use 'auto', 'cpu' or 'cuda'")
    return dev


# --------------------------------------------------------------------------- data
Batch = Any  # a Tensor, a dict of tensors, or a tuple of tensors


def _to_device(batch: Batch, device: torch.device, non_blocking: bool = False) -> Batch:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device, non_blocking) for v in batch)
    return batch


def _batch_len(batch: Batch) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, Mapping):
        return _batch_len(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_len(batch[0])
    raise DataError(f"cannot tell the batch size of a batch of type {type(batch).__name__}")


def _index(struct: Batch, idx: Any) -> Batch:
    if isinstance(struct, torch.Tensor):
        return struct[idx]
    if isinstance(struct, Mapping):
        return {k: v[idx] for k, v in struct.items()}
    return tuple(v[idx] for v in struct)


def _leaves(struct: Batch) -> List[torch.Tensor]:
    if isinstance(struct, torch.Tensor):
        return [struct]
    if isinstance(struct, Mapping):
        return list(struct.values())
    return list(struct)


class _Indexed(Dataset):
    """In-memory tensors indexed by a whole batch of indices at once (no per-item collation)."""

    def __init__(self, struct: Batch) -> None:
        self.struct = struct

    def __len__(self) -> int:
        return _batch_len(self.struct)

    def __getitem__(self, idx: torch.Tensor) -> Batch:
        return _index(self.struct, idx)


@dataclass
class _Source:
    """Data in one of three forms: in-memory tensors, a Dataset, or a DataLoader."""

    name: str
    tensors: Optional[Batch] = None
    dataset: Optional[Dataset] = None
    loader: Optional[DataLoader] = None

    @property
    def n(self) -> Optional[int]:
        if self.tensors is not None:
            return _batch_len(self.tensors)
        if self.dataset is not None:
            return len(self.dataset)  # type: ignore[arg-type]
        try:
            return len(self.loader.dataset)  # type: ignore[union-attr, arg-type]
        except TypeError:
            return None

    def set_epoch(self, epoch: int) -> None:
        owners = [self.dataset] if self.dataset is not None else []
        if self.loader is not None:
            owners += [self.loader.dataset, self.loader.sampler, self.loader.batch_sampler]
        for owner in owners:
            if owner is not None and callable(getattr(owner, "set_epoch", None)):
                owner.set_epoch(epoch)


def _as_source(data: Any, name: str) -> _Source:
    if isinstance(data, DataLoader):
        return _Source(name, loader=data)
    if isinstance(data, TensorDataset):
        tensors = data.tensors
        data = tensors[0] if len(tensors) == 1 else tuple(tensors)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        struct: Batch = data
    elif isinstance(data, Mapping):
        struct = {}
        for k, v in data.items():
            if isinstance(v, np.ndarray):
                v = torch.from_numpy(v)
            if not isinstance(v, torch.Tensor):
                raise DataError(f"{name} data: a dict of tensors is expected", column=str(k),
                                value=type(v).__name__)
            struct[k] = v
        if not struct:
            raise DataError(f"{name} data is an empty dict")
    elif isinstance(data, tuple) and data and all(isinstance(v, torch.Tensor) for v in data):
        struct = data
    elif isinstance(data, Dataset):
        if not hasattr(data, "__len__"):
            raise DataError(f"{name} data: an iterable-style Dataset needs a DataLoader")
        if len(data) == 0:  # type: ignore[arg-type]
            raise DataError(f"{name} data is empty")
        return _Source(name, dataset=data)
    else:
        raise DataError(f"{name} data of type {type(data).__name__}: give a Tensor, a "
                        "TensorDataset, a dict of tensors, a Dataset or a DataLoader")
    leaves = _leaves(struct)
    n = int(leaves[0].shape[0]) if leaves[0].dim() else 0
    for key, leaf in (struct.items() if isinstance(struct, Mapping) else enumerate(leaves)):
        if leaf.dim() == 0 or leaf.shape[0] != n:
            raise DataError(f"{name} data: every tensor needs the same first (batch) dimension; "
                            f"{n} rows in the first, {tuple(leaf.shape)} here", column=str(key))
    if n == 0:
        raise DataError(f"{name} data is empty")
    return _Source(name, tensors=struct)


def _stream_seed(seed: int, epoch: int, stream: int) -> int:
    # one reproducible generator seed per (run seed, epoch, purpose)
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + stream * 104_729) % (2**63)


def _nbytes(struct: Batch) -> int:
    return sum(t.element_size() * t.numel() for t in _leaves(struct))


class _Batches:
    """Iterates one epoch of batches on the device, the same batches whatever the path."""

    def __init__(self, source: _Source, batch_size: int, device: torch.device, *,
                 shuffle: bool, seed: int, num_workers: int, pin_memory: bool,
                 preload: bool) -> None:
        self.source, self.batch_size, self.device = source, batch_size, device
        self.shuffle, self.seed = shuffle, seed
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.preloaded: Optional[Batch] = None
        if preload and source.tensors is not None:
            self.preloaded = _to_device(source.tensors, device)

    def __len__(self) -> int:
        if self.source.loader is not None:
            try:
                return len(self.source.loader)
            except TypeError:
                return 0
        return -(-int(self.source.n) // self.batch_size)  # type: ignore[arg-type]

    def _order(self, epoch: int) -> torch.Tensor:
        n = int(self.source.n)  # type: ignore[arg-type]
        if not self.shuffle:
            return torch.arange(n)
        g = torch.Generator().manual_seed(_stream_seed(self.seed, epoch, _SHUFFLE_STREAM))
        return torch.randperm(n, generator=g)

    def epoch(self, epoch: int, part: Optional[tuple] = None) -> Iterator[Any]:
        """The batches of one epoch.  With ``part=(rank, world_size)`` each global batch is
        cut into ``world_size`` contiguous slices (as even as possible) and only slice
        ``rank`` is fetched: yields ``(slice or None when empty, global batch size)``."""
        src = self.source
        src.set_epoch(epoch)
        if src.loader is not None:
            for batch in src.loader:
                yield _to_device(batch, self.device, non_blocking=self.pin_memory)
            return
        chunks = list(self._order(epoch).split(self.batch_size))
        if part is None:
            yield from self._fetch(chunks)
            return
        rank, world = part
        sizes = [len(c) for c in chunks]
        chunks = [c[slice(*_part_bounds(len(c), rank, world))] for c in chunks]
        yield from zip(self._fetch(chunks), sizes)

    def _fetch(self, chunks: List[torch.Tensor]) -> Iterator[Optional[Batch]]:
        """The batch of every chunk of indices, ``None`` for an empty chunk."""
        src = self.source
        if self.preloaded is not None:
            for idx in chunks:
                yield _index(self.preloaded, idx.to(self.device)) if len(idx) else None
            return
        full = [c for c in chunks if len(c)]
        if src.tensors is not None:
            # batch_size=None: the sampler yields whole index batches, fetched in one go
            loader = DataLoader(_Indexed(src.tensors), sampler=full, batch_size=None,
                                num_workers=self.num_workers, pin_memory=self.pin_memory)
        else:
            loader = DataLoader(src.dataset, batch_sampler=[c.tolist() for c in full],
                                num_workers=self.num_workers, pin_memory=self.pin_memory)
        batches = iter(loader)
        for idx in chunks:
            yield (_to_device(next(batches), self.device, non_blocking=self.pin_memory)
                   if len(idx) else None)


def _part_bounds(n: int, rank: int, world: int) -> tuple:
    """``(start, stop)`` of part ``rank`` of ``n`` items cut into ``world`` contiguous parts
    as even as possible (the first ``n % world`` parts one longer, as ``torch.tensor_split``).

    >>> [_part_bounds(7, r, 3) for r in range(3)], _part_bounds(1, 1, 2)
    ([(0, 3), (3, 5), (5, 7)], (1, 1))
    """
    q, r = divmod(int(n), int(world))
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def _num_dims(batch: Batch) -> int:
    """Dimensions per example for bits/dim: all of a tensor, all of a dict, a tuple's first."""
    if isinstance(batch, torch.Tensor):
        return int(batch[0].numel()) if batch.dim() else 1
    if isinstance(batch, Mapping):
        return sum(_num_dims(v) for v in batch.values())
    return _num_dims(batch[0])


LogProbFn = Callable[[nn.Module, Batch], torch.Tensor]


def _log_prob(model: nn.Module, batch: Batch, n: int, where: str,
              log_prob_fn: Optional[LogProbFn] = None) -> torch.Tensor:
    if log_prob_fn is not None:
        out = log_prob_fn(model, batch)
    elif not callable(getattr(model, "log_prob", None)):
        raise PgmArError(f"{type(model).__name__} has no log_prob(batch) method; the "
                         "training loop needs one returning a Tensor[B] in nats (or pass "
                         "log_prob_fn)")
    else:
        out = model.log_prob(batch)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise PgmArError(f"{type(model).__name__}.log_prob returned {shape} for a batch of {n} "
                         f"({where}); it must return one log-likelihood per example, Tensor[{n}]")
    return out.float()


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int = 1000,
             device: Union[str, torch.device] = "auto", *, num_dims: Optional[int] = None,
             num_workers: int = 0, log_prob_fn: Optional[LogProbFn] = None) -> Dict[str, float]:
    """Mean negative log-likelihood of ``data`` under ``model`` (eval mode, float32).

    Parameters
    ----------
    model
        A module with ``log_prob(batch) -> Tensor[B]`` (nats).
    data
        A Tensor, TensorDataset, dict of tensors, Dataset or DataLoader.
    batch_size
        Examples per forward pass (ignored for a DataLoader).
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``; the model is moved there.
    num_dims
        Dimensions per example for bits/dim; default: every element of a tensor batch, of all
        tensors of a dict batch, or of the first tensor of a tuple batch (images, labels).
    num_workers
        DataLoader workers.
    log_prob_fn
        ``log_prob_fn(model, batch) -> Tensor[B]`` used instead of ``model.log_prob``.

    Returns
    -------
    dict
        ``nll_nats`` (mean per example), ``bits_per_dim`` (``nll / (num_dims ln 2)``) and
        ``n`` (examples).
    """
    _check_positive("batch_size", batch_size)
    dev = resolve_device(device)
    batches = _Batches(_as_source(data, "evaluation"), batch_size, dev, shuffle=False, seed=0,
                       num_workers=num_workers, pin_memory=dev.type == "cuda", preload=False)
    model.to(dev)
    return _evaluate(model, batches, num_dims, log_prob_fn)


@torch.no_grad()
def _evaluate(model: nn.Module, batches: "_Batches", num_dims: Optional[int],
              log_prob_fn: Optional[LogProbFn] = None) -> Dict[str, float]:
    total, n, dims = _nll_sums(model, batches, log_prob_fn)
    if n == 0:
        raise DataError("evaluation data is empty")
    dims = num_dims if num_dims is not None else dims
    nll = float(total) / n
    return {"nll_nats": nll, "bits_per_dim": nll / (int(dims) * math.log(2)), "n": n}


@torch.no_grad()
def _nll_sums(model: nn.Module, batches: "_Batches", log_prob_fn: Optional[LogProbFn] = None
              ) -> tuple:
    """``(summed NLL as a float64 tensor on the device, examples, dims per example)``."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=batches.device)
    n = 0
    dims: Optional[int] = None
    try:
        for batch in batches.epoch(0):
            b = _batch_len(batch)
            total -= _log_prob(model, batch, b, "evaluation", log_prob_fn).double().sum()
            n += b
            if dims is None:
                dims = _num_dims(batch)
    finally:
        model.train(was_training)
    return total, n, dims


# --------------------------------------------------------------------------- checkpoints
def _rng_state(device: torch.device) -> Dict[str, Any]:
    # numpy's and python's states as plain tensors / ints so the checkpoint loads with
    # torch.load(weights_only=True): no pickled objects, nothing executed on load
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(gauss)],
        "python": [int(version), list(internal), gauss_next],
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _cpu_state_dict(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _check_same_model(model: nn.Module, saved: Mapping[str, torch.Tensor], path: Path) -> None:
    current = model.state_dict()
    for key in sorted(set(current) | set(saved)):
        if key not in saved:
            raise PgmArError(f"{path}: the checkpoint is of a different model: it has no "
                             f"{key!r}; delete it or use another checkpoint_dir")
        if key not in current:
            raise PgmArError(f"{path}: the checkpoint is of a different model: it has "
                             f"{key!r}, which this model lacks; delete it or use another "
                             "checkpoint_dir")
        if tuple(saved[key].shape) != tuple(current[key].shape):
            raise PgmArError(f"{path}: the checkpoint is of a different model: {key!r} has "
                             f"shape {tuple(saved[key].shape)} there but "
                             f"{tuple(current[key].shape)} here; delete it or use another "
                             "checkpoint_dir")


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        need = "a non-negative" if allow_zero else "a positive"
        raise PgmArError(f"{name}={value!r}: must be {need} number")


def _enum(kind: type, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in kind)
        raise PgmArError(f"unknown {name} {value!r}: use one of {choices}") from None


# --------------------------------------------------------------------------- distributed
_LAUNCH_HINT = ("launch with `torchrun --nproc_per_node N ...` (it sets RANK, WORLD_SIZE, "
                "LOCAL_RANK, MASTER_ADDR and MASTER_PORT) or call "
                "torch.distributed.init_process_group() before fit")


def _env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _group_ready() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def distributed_rank() -> int:
    """This process's rank: that of the initialised process group, else ``RANK`` when
    launched by ``torchrun`` with ``WORLD_SIZE > 1``, else 0.  Code around :func:`fit` (e.g.
    the ``pgm-ar fit`` command) writes its outputs only where this is 0.

    >>> distributed_rank()  # a plain process
    0
    """
    if _group_ready():
        import torch.distributed as dist

        return int(dist.get_rank())
    if _env_world_size() > 1:
        return int(os.environ.get("RANK", "0"))
    return 0


class _Distributed:
    """The process group :func:`fit` trains in, and the few collectives it needs."""

    def __init__(self, created: bool) -> None:
        import torch.distributed as dist

        self.dist, self.created = dist, created
        self.rank, self.world = int(dist.get_rank()), int(dist.get_world_size())

    def all_sum(self, values: List[float], device: torch.device) -> List[float]:
        t = torch.tensor(values, dtype=torch.float64, device=device)
        self.dist.all_reduce(t)
        return t.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        return self.all_sum([1.0 if flag else 0.0], device)[0] > 0

    def gather(self, obj: Any) -> List[Any]:
        out: List[Any] = [None] * self.world
        self.dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        self.dist.barrier()

    def close(self) -> None:
        """Settle, then destroy the group if :func:`fit` created it.

        A gloo worker thread releases the tensors of a finished collective just after the
        caller's ``wait`` returns, and needs the GIL for it; a process that exits in that
        moment (e.g. a non-zero rank of ``pgm-ar fit``, right after ``fit``) aborts with
        "terminate called without an active exception".  So ``fit`` ends with a barrier
        (no Python tensors) and a short pause with the GIL released.
        """
        if _group_ready():
            try:
                self.dist.barrier()
            finally:
                time.sleep(0.05)
        if self.created and _group_ready():
            self.dist.destroy_process_group()


def _wants_distributed(distributed: Union[str, bool]) -> bool:
    if not (distributed is True or distributed is False or distributed == "auto"):
        raise PgmArError(f"distributed={distributed!r}: use 'auto', True or False")
    if distributed is False:
        return False
    import torch.distributed as dist

    if not dist.is_available():
        if distributed is True:
            raise PgmArError("distributed=True: this torch build has no torch.distributed")
        return False
    if _group_ready():
        return distributed is True or dist.get_world_size() > 1
    if distributed == "auto":
        return _env_world_size() > 1
    if "WORLD_SIZE" not in os.environ:
        raise PgmArError("distributed=True, but this process was not started by a launcher "
                         "(no WORLD_SIZE in the environment) and no process group is "
                         "initialised; " + _LAUNCH_HINT)
    return True


def _distributed_device(dev: torch.device) -> torch.device:
    """On CUDA, one GPU per process: ``cuda:LOCAL_RANK`` unless an index was given."""
    if dev.type != "cuda":
        return dev
    if dev.index is None:
        local = os.environ.get("LOCAL_RANK")
        if local is not None:
            index = int(local)
        else:
            import torch.distributed as dist

            index = int(dist.get_rank()) % torch.cuda.device_count() if _group_ready() else 0
        dev = resolve_device(f"cuda:{index}")
    torch.cuda.set_device(dev)
    return dev


#: process groups :func:`fit` created in this process (each gets its own store prefix)
_GROUPS_CREATED = 0


def _start_distributed(dev: torch.device) -> _Distributed:
    """Join the default process group, creating it (nccl on CUDA, gloo on CPU) if needed."""
    import torch.distributed as dist

    if _group_ready():
        if dist.get_backend() == "nccl" and dev.type != "cuda":
            raise PgmArError(f"distributed training on {dev}: the process group uses the nccl "
                             "backend, which needs CUDA; train with device='cuda' or make a "
                             "gloo process group")
        return _Distributed(created=False)
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if k not in os.environ]
    if missing:
        raise PgmArError(f"distributed training: {', '.join(missing)} not set in the "
                         "environment; " + _LAUNCH_HINT)
    global _GROUPS_CREATED
    _GROUPS_CREATED += 1
    try:
        store, rank, world = next(dist.rendezvous("env://"))
        # a fresh key prefix for every group fit creates: torch names a re-created default
        # group as the destroyed one, and under torchrun both share the launcher's store,
        # so without it a second fit in the same script could read stale addresses and hang
        store = dist.PrefixStore(f"pgm_ar.fit/{_GROUPS_CREATED}", store)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo",
                                store=store, rank=rank, world_size=world)
    except (RuntimeError, ValueError) as exc:
        raise PgmArError(f"distributed training: cannot initialise the process group "
                         f"({exc})") from None
    return _Distributed(created=True)


class _Scorer(nn.Module):
    """What DistributedDataParallel wraps: ``forward(batch)`` is the per-example
    log-likelihood of the model, so that DDP's gradient all-reduce runs in ``backward``.

    ``batch=None`` (this process's slice of the global batch is empty) gives an empty tensor
    still tied to every trainable parameter: its zero gradients take part in the all-reduce.
    """

    def __init__(self, model: nn.Module, log_prob_fn: Optional["LogProbFn"]) -> None:
        super().__init__()
        self.model = model
        self.log_prob_fn = log_prob_fn

    def forward(self, batch: Optional[Batch], n: int = 0, where: str = "training"
                ) -> torch.Tensor:
        if batch is None:
            anchor = sum(p.sum() for p in self.model.parameters() if p.requires_grad)
            return (anchor * 0.0).float().expand(0)  # type: ignore[union-attr]
        return _log_prob(self.model, batch, n, where, self.log_prob_fn)


def _shard(batch: Batch, rank: int, world: int) -> Optional[Batch]:
    """Slice ``rank`` of a global batch (``None`` when empty)."""
    start, stop = _part_bounds(_batch_len(batch), rank, world)
    return _index(batch, slice(start, stop)) if stop > start else None


def _shard_source(src: _Source, rank: int, world: int) -> Optional[_Source]:
    """Contiguous part ``rank`` of in-memory data or a Dataset (``None`` when empty)."""
    start, stop = _part_bounds(int(src.n), rank, world)  # type: ignore[arg-type]
    if stop <= start:
        return None
    if src.tensors is not None:
        return _Source(src.name, tensors=_index(src.tensors, slice(start, stop)))
    return _Source(src.name, dataset=torch.utils.data.Subset(src.dataset, range(start, stop)))


# --------------------------------------------------------------------------- fit
def fit(model: nn.Module, train: Any, val: Any = None, *, epochs: int = 10,
        batch_size: int = 100, lr: float = 1e-3,
        optimizer: Union[str, OptimizerKind] = OptimizerKind.ADAM, weight_decay: float = 0.0,
        lr_schedule: Union[str, LRSchedule, None] = LRSchedule.COSINE,
        lr_step_size: Optional[int] = None, lr_gamma: float = 0.1,
        device: Union[str, torch.device] = "auto", amp: bool = True,
        early_stopping_patience: Optional[int] = None, restore_best: bool = True,
        checkpoint_dir: Optional[PathLike] = None, resume: bool = False, seed: int = 0,
        progress: bool = True, log_path: Optional[PathLike] = None, num_workers: int = 0,
        pin_memory: Optional[bool] = None, preload: Optional[bool] = None,
        transform: Optional[Callable[[Batch, torch.Generator], Batch]] = None,
        max_grad_norm: Optional[float] = None, val_batch_size: Optional[int] = None,
        on_epoch_end: Optional[Callable[[int, History], Optional[bool]]] = None,
        log_prob_fn: Optional[LogProbFn] = None,
        distributed: Union[str, bool] = "auto") -> History:
    """Fit ``model`` by maximum likelihood: minimise the mean NLL of ``train``.

    Parameters
    ----------
    model
        A ``torch.nn.Module`` with ``log_prob(batch) -> Tensor[B]`` (nats per example).  It is
        moved to ``device`` and trained in place (``model.train()`` while training,
        ``model.eval()`` while validating).
    train, val
        A Tensor, a ``TensorDataset`` (one tensor: batches are tensors; several: tuples), a
        dict of tensors (batches are dicts), any map-style ``Dataset``, or a ``DataLoader``
        (used as given: its own batch size, shuffling, workers).  ``val`` is optional; without
        it there is no early stopping and the last weights are kept.
    epochs
        Total number of epochs (a resumed run counts the epochs already done).
    batch_size, lr, optimizer, weight_decay
        Minibatch size; learning rate; ``"adam"``, ``"adamw"`` or ``"sgd"`` (Nesterov momentum
        0.9); weight decay.
    lr_schedule, lr_step_size, lr_gamma
        ``"cosine"`` (to 0 over ``epochs``), ``"step"`` (times ``lr_gamma`` every
        ``lr_step_size`` epochs, default a third of ``epochs``) or ``None`` (constant).
    device, amp
        ``"auto"``, ``"cpu"`` or ``"cuda"``; bf16 autocast on CUDA when ``amp`` (validation is
        always float32).
    early_stopping_patience
        Stop after this many epochs without a lower validation NLL (``None``: never).
    restore_best
        With validation data, load the weights of the best epoch into ``model`` at the end.
    checkpoint_dir, resume
        Write ``checkpoint_dir/checkpoint.pt`` after every epoch (atomically).  With
        ``resume=True`` an existing checkpoint there is loaded and training continues from
        the epoch after it; the settings that shape the trajectory (optimizer, learning rate,
        schedule, batch size, seed; ``epochs`` when there is a schedule) must match, and the
        model must have the same parameters.  No checkpoint yet: a fresh start.
    seed
        Seeds torch, numpy and ``random`` at a fresh start (a resumed run restores their
        saved states instead) and the per-epoch shuffling and ``transform`` generators.
    progress
        Show progress: on a terminal a tqdm bar with the running nats/example; in logs and
        pipes a line per epoch, and one every 15 s within a long epoch.
    log_path
        Write ``<log_path>.csv`` and ``<log_path>.json`` (suffix replaced) after every epoch;
        default ``checkpoint_dir/log.csv`` and ``.json`` when there is a ``checkpoint_dir``.
    num_workers, pin_memory, preload
        DataLoader workers and pinned memory (default: on CUDA) for in-memory data or a
        Dataset; ``preload`` moves in-memory data to the device once and slices batches there
        (default: on when ``num_workers == 0`` and, on CUDA, the data takes under a quarter
        of the free GPU memory).  The batches are the same either way.
    transform
        ``transform(batch, generator) -> batch`` applied to each training batch on the device,
        with a generator seeded per epoch (e.g. :class:`pgm_ar.datasets.DynamicBinarization`).
    max_grad_norm
        Clip the gradient norm to this value (``None``: no clipping).
    val_batch_size
        Batch size for validation (default: ``batch_size``).
    on_epoch_end
        ``on_epoch_end(epoch, history)``, called after each epoch's checkpoint; return
        ``True`` to stop.
    log_prob_fn
        ``log_prob_fn(model, batch) -> Tensor[B]`` (nats, differentiable) used instead of
        ``model.log_prob``, for a module whose scoring method has another name or signature.
    distributed
        Train in several processes with PyTorch ``DistributedDataParallel`` (see
        ``docs/distributed.md``).  ``"auto"`` (default): when launched by ``torchrun`` with
        ``WORLD_SIZE > 1``, or when a process group of more than one process is already
        initialised; ``True``: always (an error without a launcher or a process group);
        ``False``: never.  ``fit`` creates the default process group when there is none
        (``nccl`` on CUDA, ``gloo`` on CPU) and destroys it at the end; a group the caller
        made is left alone.  On CUDA each process uses ``cuda:LOCAL_RANK``.

        ``batch_size`` stays the *global* batch size: every process draws the same shuffled
        global batch (and applies ``transform`` to all of it with the same generator), then
        trains on its contiguous slice; the loss is scaled so that DDP's gradient average is
        the gradient of the mean NLL of the global batch, even for unequal or empty slices.
        So the weights are those of a single-process run with the same seed, up to float
        rounding (unless the model draws random numbers itself, e.g. dropout).  Train and
        validation NLL are summed over the processes (each scores a part of ``val``), so
        every process takes the same early-stopping decision.  Only rank 0 writes the
        checkpoint, the logs and shows the progress bar; the checkpoint holds the plain
        model's ``state_dict``, so it resumes with any number of processes.  Every process
        loads it on ``resume`` (``checkpoint_dir`` must be on a shared file system across
        machines).  ``on_epoch_end`` runs in every process; if any returns ``True``, all
        stop.  Data must be tensors or a ``Dataset`` (not a ``DataLoader``), and every
        trainable parameter must take part in ``log_prob``.

    Returns
    -------
    History
        Per-epoch train / validation NLL, learning rate and seconds; the best epoch; the
        number of processes (``world_size``).

    Raises
    ------
    PgmArError
        Bad arguments (negative epochs, unknown optimizer or device, ``"cuda"`` without a GPU,
        a checkpoint of a different model or made with other settings, a diverged run;
        ``distributed=True`` without a launcher, a ``DataLoader`` in a distributed run).
    DataError
        Data in an unsupported form, or tensors of different lengths.
    """
    # ---- arguments
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise PgmArError(f"epochs={epochs!r}: must be a non-negative integer")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise PgmArError(f"batch_size={batch_size!r}: must be a positive integer")
    _check_positive("lr", lr)
    _check_positive("weight_decay", weight_decay, allow_zero=True)
    if max_grad_norm is not None:
        _check_positive("max_grad_norm", max_grad_norm)
    if early_stopping_patience is not None and (
            not isinstance(early_stopping_patience, int) or early_stopping_patience < 1):
        raise PgmArError(f"early_stopping_patience={early_stopping_patience!r}: must be a "
                         "positive integer or None")
    if early_stopping_patience is not None and val is None:
        raise PgmArError("early stopping needs validation data: pass val=...")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise PgmArError(f"num_workers={num_workers!r}: must be a non-negative integer")
    opt_kind = _enum(OptimizerKind, optimizer, "optimizer")
    schedule = None if lr_schedule is None else _enum(LRSchedule, lr_schedule, "lr_schedule")
    step_size = lr_step_size if lr_step_size is not None else max(1, epochs // 3)
    if schedule is LRSchedule.STEP:
        if not isinstance(step_size, int) or step_size < 1:
            raise PgmArError(f"lr_step_size={lr_step_size!r}: must be a positive integer")
        _check_positive("lr_gamma", lr_gamma)
    if resume and checkpoint_dir is None:
        raise PgmArError("resume=True needs the checkpoint_dir to resume from")
    if not isinstance(model, nn.Module) or (
            log_prob_fn is None and not callable(getattr(model, "log_prob", None))):
        raise PgmArError(f"{type(model).__name__} is not a torch.nn.Module with a "
                         "log_prob(batch) method (or pass log_prob_fn)")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise PgmArError(f"{type(model).__name__} has no trainable parameters")
    use_dist = _wants_distributed(distributed)
    dev = resolve_device(device)
    train_src = _as_source(train, "training")
    val_src = _as_source(val, "validation") if val is not None else None
    if use_dist:
        for src in (train_src, val_src):
            if src is not None and src.loader is not None:
                raise PgmArError(f"distributed training: the {src.name} data is a DataLoader, "
                                 "which fit cannot split between processes; pass the tensors "
                                 "or the Dataset instead (fit builds the same global batches "
                                 "on every process and gives each its slice)")
        dev = _distributed_device(dev)
    ddp_group = _start_distributed(dev) if use_dist else None
    try:
        return _fit(model, train_src, val_src, params, dev, ddp_group, epochs=epochs,
                    batch_size=batch_size, lr=lr, opt_kind=opt_kind,
                    weight_decay=weight_decay, schedule=schedule, step_size=step_size,
                    lr_gamma=lr_gamma, amp=amp, early_stopping_patience=early_stopping_patience,
                    restore_best=restore_best, checkpoint_dir=checkpoint_dir, resume=resume,
                    seed=seed, progress=progress, log_path=log_path, num_workers=num_workers,
                    pin_memory=pin_memory, preload=preload, transform=transform,
                    max_grad_norm=max_grad_norm, val_batch_size=val_batch_size,
                    on_epoch_end=on_epoch_end, log_prob_fn=log_prob_fn)
    finally:
        if ddp_group is not None:
            ddp_group.close()


def _fit(model: nn.Module, train_src: _Source, val_src: Optional[_Source],
         params: List[nn.Parameter], dev: torch.device, group: Optional[_Distributed], *,
         epochs: int, batch_size: int, lr: float, opt_kind: OptimizerKind, weight_decay: float,
         schedule: Optional[LRSchedule], step_size: Any, lr_gamma: float, amp: bool,
         early_stopping_patience: Optional[int], restore_best: bool,
         checkpoint_dir: Optional[PathLike], resume: bool, seed: int, progress: bool,
         log_path: Optional[PathLike], num_workers: int, pin_memory: Optional[bool],
         preload: Optional[bool], transform: Optional[Callable[[Batch, torch.Generator], Batch]],
         max_grad_norm: Optional[float], val_batch_size: Optional[int],
         on_epoch_end: Optional[Callable[[int, History], Optional[bool]]],
         log_prob_fn: Optional[LogProbFn]) -> History:
    """The body of :func:`fit`, arguments checked; ``group`` is the process group when
    distributed."""
    rank, world = (group.rank, group.world) if group is not None else (0, 1)
    main = rank == 0
    use_amp = bool(amp) and dev.type == "cuda" and torch.cuda.is_bf16_supported()
    pin = (dev.type == "cuda") if pin_memory is None else bool(pin_memory)
    if preload is None:
        preload = num_workers == 0 and train_src.tensors is not None
        if preload and dev.type == "cuda":
            free, _ = torch.cuda.mem_get_info(dev)
            preload = _nbytes(train_src.tensors) < free // 4
    config = {"optimizer": opt_kind.value, "lr": float(lr), "weight_decay": float(weight_decay),
              "lr_schedule": None if schedule is None else schedule.value,
              "batch_size": batch_size, "seed": int(seed),
              "lr_step_size": step_size if schedule is LRSchedule.STEP else None,
              "lr_gamma": float(lr_gamma) if schedule is LRSchedule.STEP else None,
              "epochs": epochs if schedule is not None else None}

    # ---- model, optimizer, schedule
    model.to(dev)
    if opt_kind is OptimizerKind.ADAM:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    elif opt_kind is OptimizerKind.ADAMW:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True,
                              weight_decay=weight_decay)
    if schedule is LRSchedule.COSINE:
        sched: Optional[torch.optim.lr_scheduler.LRScheduler] = \
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    elif schedule is LRSchedule.STEP:
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=lr_gamma)
    else:
        sched = None

    # ---- state: fresh or resumed
    history = History(device=str(dev), world_size=world)
    start_epoch = 0
    best_state: Optional[Dict[str, torch.Tensor]] = None
    bad_epochs = 0
    finished = False
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    found = bool(resume and ckpt_path is not None and ckpt_path.exists())
    if group is not None and resume:
        seen_by = group.all_sum([float(found)], dev)[0]
        if 0 < seen_by < world:
            raise PgmArError(f"{ckpt_path}: the checkpoint is visible to {int(seen_by)} of "
                             f"{world} processes; in a distributed run the checkpoint_dir must "
                             "be on a file system every process sees")
    if found:
        assert ckpt_path is not None
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # any unreadable file: say which, not a pickle traceback
            raise PgmArError(f"{ckpt_path}: cannot read the checkpoint ({exc})") from None
        if not isinstance(ckpt, dict) or ckpt.get("version") != _CHECKPOINT_VERSION:
            raise PgmArError(f"{ckpt_path}: not a pgm_ar training checkpoint")
        _check_same_model(model, ckpt["model"], ckpt_path)
        for key, value in config.items():
            if ckpt["config"].get(key) != value:
                raise PgmArError(f"{ckpt_path}: the checkpoint was made with {key}="
                                 f"{ckpt['config'].get(key)!r}, this run has {key}={value!r}; "
                                 "resume with the same settings or use another checkpoint_dir")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None:
            sched.load_state_dict(ckpt["scheduler"])
        history = History.from_dict(ckpt["history"])
        history.device, history.world_size = str(dev), world
        start_epoch = int(ckpt["epoch"])
        best_state = ckpt["best_model"]
        bad_epochs = int(ckpt["bad_epochs"])
        finished = bool(ckpt["finished"])
        per_rank = ckpt.get("rng_ranks")
        same_world = isinstance(per_rank, list) and len(per_rank) == world
        _set_rng_state(per_rank[rank] if same_world else ckpt["rng"], dev)
    else:
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)

    if log_path is not None:
        log_base: Optional[Path] = Path(log_path).with_suffix("")
    elif checkpoint_dir is not None:
        log_base = Path(checkpoint_dir) / "log"
    else:
        log_base = None

    train_batches = _Batches(train_src, batch_size, dev, shuffle=True, seed=seed,
                             num_workers=num_workers, pin_memory=pin and not preload,
                             preload=preload)
    val_batches = None
    if val_src is not None:
        # distributed: every process scores a contiguous part of the validation data
        part_src = val_src if group is None else _shard_source(val_src, rank, world)
        if part_src is not None:
            val_batches = _Batches(part_src, val_batch_size or batch_size, dev, shuffle=False,
                                   seed=0, num_workers=num_workers,
                                   pin_memory=pin and not preload, preload=preload)
    show = progress and main  # a bar on a terminal, progress lines in logs and pipes
    was_training = model.training
    scorer: Optional[nn.Module] = None
    if group is not None:
        # DDP broadcasts rank 0's weights and buffers now, and all-reduces (averages) the
        # gradients in every backward pass through it
        from torch.nn.parallel import DistributedDataParallel

        scorer = DistributedDataParallel(
            _Scorer(model, log_prob_fn),
            device_ids=[dev.index] if dev.type == "cuda" else None,
            output_device=dev.index if dev.type == "cuda" else None)

    # ---- epochs
    for epoch in range(start_epoch, epochs):
        if finished:
            break
        t0 = time.perf_counter()
        model.train()
        lr_now = opt.param_groups[0]["lr"]
        gen = None
        if transform is not None:
            gen = torch.Generator(device=dev).manual_seed(
                _stream_seed(seed, epoch, _TRANSFORM_STREAM))
        total = torch.zeros((), dtype=torch.float64, device=dev)
        seen = 0
        where = f"training epoch {epoch + 1}"
        bar = progress_bar(len(train_batches), f"epoch {epoch + 1}/{epochs}", show)
        if scorer is None:
            steps: Iterator[Any] = train_batches.epoch(epoch)
        elif transform is None:  # fetch only this process's slice of each global batch
            steps = train_batches.epoch(epoch, part=(rank, world))
        else:  # the transform sees the whole global batch, as in a single process
            steps = ((b, _batch_len(b)) for b in train_batches.epoch(epoch))
        for step, item in enumerate(steps):
            if scorer is None:
                batch = transform(item, gen) if transform is not None else item
                b = _batch_len(batch)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device_type=dev.type, dtype=torch.bfloat16,
                                    enabled=use_amp):
                    lp = _log_prob(model, batch, b, where, log_prob_fn)
                loss = -lp.mean()
            else:
                batch, n_global = item
                if transform is not None:
                    batch = _shard(transform(batch, gen), rank, world)
                b = 0 if batch is None else _batch_len(batch)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device_type=dev.type, dtype=torch.bfloat16,
                                    enabled=use_amp):
                    lp = scorer(batch, b, where)
                # DDP averages the gradients over the processes: scaled so, the average is
                # the gradient of the mean NLL over the global batch, even for unequal slices
                loss = -lp.sum() * (world / n_global)
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, max_grad_norm)
            opt.step()
            total -= lp.detach().double().sum()
            seen += b
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 and seen:
                    bar.set_postfix_str(f"{float(total) / seen:.3f} nats/ex")
        if bar is not None:
            bar.close()
        if group is not None:
            total_f, seen_f = group.all_sum([float(total), float(seen)], dev)
            total, seen = torch.tensor(total_f, dtype=torch.float64), int(seen_f)
        if seen == 0:
            raise DataError("training data gave no batches")
        train_nll = float(total) / seen
        if not math.isfinite(train_nll):
            raise PgmArError(f"training diverged in epoch {epoch + 1}: the NLL is {train_nll}; "
                             "lower the learning rate or set max_grad_norm")
        if sched is not None:
            sched.step()

        val_nll = None
        if val_src is not None:
            if group is None:
                val_nll = _evaluate(model, val_batches, None, log_prob_fn)["nll_nats"]
            else:
                v_total, v_n = 0.0, 0
                if val_batches is not None:
                    v_sum, v_n, _ = _nll_sums(model, val_batches, log_prob_fn)
                    v_total = float(v_sum)
                v_total, v_all = group.all_sum([v_total, float(v_n)], dev)
                val_nll = v_total / v_all
            if history.best_val_nll is None or val_nll < history.best_val_nll:
                history.best_val_nll, history.best_epoch = val_nll, epoch + 1
                best_state = _cpu_state_dict(model)
                bad_epochs = 0
            else:
                bad_epochs += 1
                if early_stopping_patience is not None and bad_epochs >= early_stopping_patience:
                    history.stopped_early = finished = True
        history._append(epoch + 1, train_nll, val_nll, lr_now, time.perf_counter() - t0)
        if show:
            from tqdm import tqdm

            vtext = "" if val_nll is None else f", val {val_nll:.3f}"
            tqdm.write(f"epoch {epoch + 1}/{epochs}: train {train_nll:.3f}{vtext} nats/example",
                       file=sys.stderr)

        if ckpt_path is not None:
            rng = _rng_state(dev)
            rng_ranks = group.gather(rng) if group is not None else None
            if main:
                state = {"version": _CHECKPOINT_VERSION, "epoch": epoch + 1,
                         "model": _cpu_state_dict(model), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict() if sched is not None else None,
                         "rng": rng, "best_model": best_state,
                         "bad_epochs": bad_epochs, "finished": finished,
                         "history": history.to_dict(), "config": config}
                if rng_ranks is not None:
                    state["rng_ranks"] = rng_ranks
                buf = io.BytesIO()
                torch.save(state, buf)
                atomic_write_bytes(ckpt_path, buf.getvalue())
        if log_base is not None and main:
            history.to_csv(log_base.with_suffix(".csv"))
            history.to_json(log_base.with_suffix(".json"))
        if group is not None:
            group.barrier()  # nobody runs ahead of the checkpoint of this epoch
        stop = on_epoch_end is not None and bool(on_epoch_end(epoch + 1, history))
        if group is not None:
            stop = group.any(stop, dev)  # one process asking to stop stops them all
        if stop:
            break

    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    model.train(was_training)
    return history


def progress_bar(total: int, desc: str, show: bool, unit: str = "batch"):
    """A transient tqdm bar on a terminal, a plain line every few seconds in logs and pipes
    (:func:`pgm_ar.utils.progress.progress`), or ``None`` when ``show`` is false."""
    from .utils.progress import progress

    return progress(total, desc, unit=unit, enabled=show)
