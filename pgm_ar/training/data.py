"""Data for the training loop: sources in any form, batches on the device, shards per process.

A source is data in one of three forms (:class:`Source`): in-memory tensors (a tensor, a dict
of tensors or a tuple of tensors, batched by slicing), a map-style ``Dataset`` (batched by a
``DataLoader`` over index batches) or a ``DataLoader`` (used as given).  :class:`Batches` gives
one epoch of batches on the device, the same batches whatever the path (preloaded on the
device, through workers, or from a Dataset), shuffled by a generator seeded per (run seed,
epoch).  In a distributed run every process draws the same global batch and keeps its
contiguous slice (:func:`part_bounds`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ..errors import DataError
from .config import Batch

__all__ = ["Source", "Batches", "as_source", "batch_len", "to_device", "index_batch",
           "num_dims", "nbytes", "part_bounds", "shard", "shard_source", "stream_seed",
           "SHUFFLE_STREAM", "TRANSFORM_STREAM"]

# salts that separate the per-epoch random streams (shuffling, transform)
SHUFFLE_STREAM, TRANSFORM_STREAM = 0, 1


def stream_seed(seed: int, epoch: int, stream: int) -> int:
    """One reproducible generator seed per (run seed, epoch, purpose)."""
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + stream * 104_729) % (2**63)


# --------------------------------------------------------------------------- batch structure
def to_device(batch: Batch, device: torch.device, non_blocking: bool = False) -> Batch:
    """Every tensor of ``batch`` (a tensor, dict, list or tuple) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def batch_len(batch: Batch) -> int:
    """Examples in ``batch`` (the first dimension of its first tensor)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, Mapping):
        return batch_len(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return batch_len(batch[0])
    raise DataError(f"cannot tell the batch size of a batch of type {type(batch).__name__}")


def index_batch(struct: Batch, idx: Any) -> Batch:
    """The examples at ``idx`` of every tensor of ``struct``."""
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


def nbytes(struct: Batch) -> int:
    """Bytes held by the tensors of ``struct``."""
    return sum(t.element_size() * t.numel() for t in _leaves(struct))


def num_dims(batch: Batch) -> int:
    """Dimensions per example for bits/dim: all of a tensor, all of a dict, a tuple's first."""
    if isinstance(batch, torch.Tensor):
        return int(batch[0].numel()) if batch.dim() else 1
    if isinstance(batch, Mapping):
        return sum(num_dims(v) for v in batch.values())
    return num_dims(batch[0])


# --------------------------------------------------------------------------- sources
class _Indexed(Dataset):
    """In-memory tensors indexed by a whole batch of indices at once (no per-item collation)."""

    def __init__(self, struct: Batch) -> None:
        self.struct = struct

    def __len__(self) -> int:
        return batch_len(self.struct)

    def __getitem__(self, idx: torch.Tensor) -> Batch:
        return index_batch(self.struct, idx)


@dataclass
class Source:
    """Data in one of three forms: in-memory tensors, a Dataset, or a DataLoader."""

    name: str
    tensors: Optional[Batch] = None
    dataset: Optional[Dataset] = None
    loader: Optional[DataLoader] = None

    @property
    def n(self) -> Optional[int]:
        """Examples, ``None`` for a loader of unknown length."""
        if self.tensors is not None:
            return batch_len(self.tensors)
        if self.dataset is not None:
            return len(self.dataset)  # type: ignore[arg-type]
        try:
            return len(self.loader.dataset)  # type: ignore[union-attr, arg-type]
        except TypeError:
            return None

    def set_epoch(self, epoch: int) -> None:
        """Tell the epoch to the datasets and samplers that want it (``set_epoch``)."""
        owners = [self.dataset] if self.dataset is not None else []
        if self.loader is not None:
            owners += [self.loader.dataset, self.loader.sampler, self.loader.batch_sampler]
        for owner in owners:
            if owner is not None and callable(getattr(owner, "set_epoch", None)):
                owner.set_epoch(epoch)


def as_source(data: Any, name: str) -> Source:
    """``data`` (a tensor or array, a ``TensorDataset``, a dict or tuple of tensors, a
    ``Dataset`` or a ``DataLoader``) as a :class:`Source`, checked."""
    if isinstance(data, DataLoader):
        return Source(name, loader=data)
    if isinstance(data, TensorDataset):
        tensors = data.tensors
        data = tensors[0] if len(tensors) == 1 else tuple(tensors)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        struct: Batch = data
    elif isinstance(data, Mapping):
        struct = _tensor_dict(data, name)
    elif isinstance(data, tuple) and data and all(isinstance(v, torch.Tensor) for v in data):
        struct = data
    elif isinstance(data, Dataset):
        if not hasattr(data, "__len__"):
            raise DataError(f"{name} data: an iterable-style Dataset needs a DataLoader")
        if len(data) == 0:  # type: ignore[arg-type]
            raise DataError(f"{name} data is empty")
        return Source(name, dataset=data)
    else:
        raise DataError(f"{name} data of type {type(data).__name__}: give a Tensor, a "
                        "TensorDataset, a dict of tensors, a Dataset or a DataLoader")
    _check_lengths(struct, name)
    return Source(name, tensors=struct)


def _tensor_dict(data: Mapping[Any, Any], name: str) -> dict:
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
    return struct


def _check_lengths(struct: Batch, name: str) -> None:
    leaves = _leaves(struct)
    n = int(leaves[0].shape[0]) if leaves[0].dim() else 0
    for key, leaf in (struct.items() if isinstance(struct, Mapping) else enumerate(leaves)):
        if leaf.dim() == 0 or leaf.shape[0] != n:
            raise DataError(f"{name} data: every tensor needs the same first (batch) dimension; "
                            f"{n} rows in the first, {tuple(leaf.shape)} here", column=str(key))
    if n == 0:
        raise DataError(f"{name} data is empty")


# --------------------------------------------------------------------------- batches
class Batches:
    """Iterates one epoch of batches on the device, the same batches whatever the path."""

    def __init__(self, source: Source, batch_size: int, device: torch.device, *,
                 shuffle: bool, seed: int, num_workers: int, pin_memory: bool,
                 preload: bool) -> None:
        self.source, self.batch_size, self.device = source, batch_size, device
        self.shuffle, self.seed = shuffle, seed
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.preloaded: Optional[Batch] = None
        if preload and source.tensors is not None:
            self.preloaded = to_device(source.tensors, device)

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
        g = torch.Generator().manual_seed(stream_seed(self.seed, epoch, SHUFFLE_STREAM))
        return torch.randperm(n, generator=g)

    def epoch(self, epoch: int, part: Optional[Tuple[int, int]] = None) -> Iterator[Any]:
        """The batches of one epoch.  With ``part=(rank, world_size)`` each global batch is
        cut into ``world_size`` contiguous slices (as even as possible) and only slice
        ``rank`` is fetched: yields ``(slice or None when empty, global batch size)``."""
        src = self.source
        src.set_epoch(epoch)
        if src.loader is not None:
            for batch in src.loader:
                yield to_device(batch, self.device, non_blocking=self.pin_memory)
            return
        chunks = list(self._order(epoch).split(self.batch_size))
        if part is None:
            yield from self._fetch(chunks)
            return
        rank, world = part
        sizes = [len(c) for c in chunks]
        chunks = [c[slice(*part_bounds(len(c), rank, world))] for c in chunks]
        yield from zip(self._fetch(chunks), sizes)

    def _fetch(self, chunks: List[torch.Tensor]) -> Iterator[Optional[Batch]]:
        """The batch of every chunk of indices, ``None`` for an empty chunk."""
        src = self.source
        if self.preloaded is not None:
            for idx in chunks:
                yield index_batch(self.preloaded, idx.to(self.device)) if len(idx) else None
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
            yield (to_device(next(batches), self.device, non_blocking=self.pin_memory)
                   if len(idx) else None)


# --------------------------------------------------------------------------- shards
def part_bounds(n: int, rank: int, world: int) -> Tuple[int, int]:
    """``(start, stop)`` of part ``rank`` of ``n`` items cut into ``world`` contiguous parts
    as even as possible (the first ``n % world`` parts one longer, as ``torch.tensor_split``).

    >>> [part_bounds(7, r, 3) for r in range(3)], part_bounds(1, 1, 2)
    ([(0, 3), (3, 5), (5, 7)], (1, 1))
    """
    q, r = divmod(int(n), int(world))
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def shard(batch: Batch, rank: int, world: int) -> Optional[Batch]:
    """Slice ``rank`` of a global batch (``None`` when empty)."""
    start, stop = part_bounds(batch_len(batch), rank, world)
    return index_batch(batch, slice(start, stop)) if stop > start else None


def shard_source(src: Source, rank: int, world: int) -> Optional[Source]:
    """Contiguous part ``rank`` of in-memory data or a Dataset (``None`` when empty)."""
    start, stop = part_bounds(int(src.n), rank, world)  # type: ignore[arg-type]
    if stop <= start:
        return None
    if src.tensors is not None:
        return Source(src.name, tensors=index_batch(src.tensors, slice(start, stop)))
    return Source(src.name, dataset=torch.utils.data.Subset(src.dataset, range(start, stop)))
