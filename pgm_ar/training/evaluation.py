"""Scoring data under a model: the per-batch log-likelihood the loop trains on, and
:func:`evaluate` (mean NLL and bits per dimension) with the sums behind it."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from ..errors import DataError, PgmArError
from ..utils.devices import DeviceLike, resolve_device
from .config import Batch, LogProbFn
from .data import Batches, as_source, batch_len, num_dims

__all__ = ["evaluate", "score_batch", "nll_sums", "evaluate_batches"]


def score_batch(model: nn.Module, batch: Batch, n: int, where: str,
                log_prob_fn: Optional[LogProbFn] = None) -> torch.Tensor:
    """``Tensor[n]`` of per-example log-likelihoods (nats) of ``batch``, checked.

    float64 results stay float64 (exact models sum many small terms); anything else (e.g.
    bf16 under autocast) becomes float32.
    """
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
    return out if out.dtype == torch.float64 else out.float()


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int = 1000, device: DeviceLike = "auto",
             *, num_dims: Optional[int] = None, num_workers: int = 0,
             log_prob_fn: Optional[LogProbFn] = None) -> Dict[str, float]:
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

    Examples
    --------
    >>> class Fair(nn.Module):          # one fair coin per example
    ...     def log_prob(self, x):
    ...         return torch.full((len(x),), -math.log(2.0))
    >>> out = evaluate(Fair(), torch.zeros(10, 1), device="cpu")
    >>> round(out["nll_nats"], 4), round(out["bits_per_dim"], 6), out["n"]
    (0.6931, 1.0, 10)
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise PgmArError(f"batch_size={batch_size!r}: must be a positive integer")
    dev = resolve_device(device)
    batches = Batches(as_source(data, "evaluation"), batch_size, dev, shuffle=False, seed=0,
                      num_workers=num_workers, pin_memory=dev.type == "cuda", preload=False)
    model.to(dev)
    return evaluate_batches(model, batches, num_dims, log_prob_fn)


@torch.no_grad()
def evaluate_batches(model: nn.Module, batches: Batches, dims: Optional[int] = None,
                     log_prob_fn: Optional[LogProbFn] = None) -> Dict[str, float]:
    """:func:`evaluate` on batches already made."""
    total, n, seen_dims = nll_sums(model, batches, log_prob_fn)
    if n == 0:
        raise DataError("evaluation data is empty")
    dims = dims if dims is not None else seen_dims
    nll = float(total) / n
    return {"nll_nats": nll, "bits_per_dim": nll / (int(dims) * math.log(2)), "n": n}


@torch.no_grad()
def nll_sums(model: nn.Module, batches: Batches, log_prob_fn: Optional[LogProbFn] = None
             ) -> Tuple[torch.Tensor, int, Optional[int]]:
    """``(summed NLL as a float64 tensor on the device, examples, dims per example)``, in
    evaluation mode (the module's mode is restored after)."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=batches.device)
    n = 0
    dims: Optional[int] = None
    try:
        for batch in batches.epoch(0):
            b = batch_len(batch)
            total -= score_batch(model, batch, b, "evaluation", log_prob_fn).double().sum()
            n += b
            if dims is None:
                dims = num_dims(batch)
    finally:
        model.train(was_training)
    return total, n, dims
