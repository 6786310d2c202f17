"""Several processes training together with ``DistributedDataParallel`` (``torchrun``).

:func:`wants_distributed` decides from the ``distributed`` setting and the environment,
:func:`start_distributed` joins (or creates) the default process group, :class:`ProcessGroup`
holds the few collectives the loop needs, and :class:`Scorer` is the module DDP wraps, so that
its gradient all-reduce runs in every backward pass.  See ``docs/distributed.md``.
"""
from __future__ import annotations

import os
import time
from typing import Any, List, Optional, Union

import torch
from torch import nn

from ..errors import PgmArError
from ..utils.devices import resolve_device
from .config import Batch, LogProbFn
from .evaluation import score_batch

__all__ = ["distributed_rank", "wants_distributed", "distributed_device", "start_distributed",
           "ProcessGroup", "Scorer"]

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
    launched by ``torchrun`` with ``WORLD_SIZE > 1``, else 0.  Code around
    :func:`~pgm_ar.training.fit` (e.g. the ``pgm-ar fit`` command) writes its outputs only
    where this is 0.

    >>> distributed_rank()  # a plain process
    0
    """
    if _group_ready():
        import torch.distributed as dist

        return int(dist.get_rank())
    if _env_world_size() > 1:
        return int(os.environ.get("RANK", "0"))
    return 0


class ProcessGroup:
    """The process group :func:`~pgm_ar.training.fit` trains in, and its collectives."""

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
        """Settle, then destroy the group if :func:`~pgm_ar.training.fit` created it.

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


def wants_distributed(distributed: Union[str, bool]) -> bool:
    """Whether to train in a process group (``distributed`` is ``"auto"``, True or False)."""
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


def distributed_device(dev: torch.device) -> torch.device:
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


#: process groups fit created in this process (each gets its own store prefix)
_GROUPS_CREATED = 0


def start_distributed(dev: torch.device) -> ProcessGroup:
    """Join the default process group, creating it (nccl on CUDA, gloo on CPU) if needed."""
    import torch.distributed as dist

    if _group_ready():
        if dist.get_backend() == "nccl" and dev.type != "cuda":
            raise PgmArError(f"distributed training on {dev}: the process group uses the nccl "
                             "backend, which needs CUDA; train with device='cuda' or make a "
                             "gloo process group")
        return ProcessGroup(created=False)
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
    return ProcessGroup(created=True)


class Scorer(nn.Module):
    """What DistributedDataParallel wraps: ``forward(batch)`` is the per-example
    log-likelihood of the model, so that DDP's gradient all-reduce runs in ``backward``.

    ``batch=None`` (this process's slice of the global batch is empty) gives an empty tensor
    still tied to every trainable parameter: its zero gradients take part in the all-reduce.
    """

    def __init__(self, model: nn.Module, log_prob_fn: Optional[LogProbFn]) -> None:
        super().__init__()
        self.model = model
        self.log_prob_fn = log_prob_fn

    def forward(self, batch: Optional[Batch], n: int = 0, where: str = "training"
                ) -> torch.Tensor:
        if batch is None:
            anchor = sum(p.sum() for p in self.model.parameters() if p.requires_grad)
            return (anchor * 0.0).float().expand(0)  # type: ignore[union-attr]
        return score_batch(self.model, batch, n, where, self.log_prob_fn)
