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
* a **learning-rate schedule** (cosine, step or exponential, per epoch), gradient-norm
  clipping, and an optional **penalty** (e.g. a log prior, for MAP fitting);
* a **checkpoint every epoch** (``checkpoint_dir/checkpoint.pt``, written atomically and
  sealed with a checksum: model,
  optimizer, scheduler, the torch / numpy / python RNG states, epoch, best weights and
  validation NLL, history); ``resume=True`` continues exactly where the same run stopped (another
  model, data or settings are refused, each difference named) — on CPU the
  weights are bitwise those of an uninterrupted run;
* a **progress bar** (tqdm, nats/example; off when stderr is not a terminal) and a **log** of
  epoch, train NLL, validation NLL, learning rate and seconds as CSV and JSON;
* **reproducibility**: ``seed`` seeds torch, numpy and ``random`` at the start and derives
  the shuffling and transform generators of every epoch, so the same seed gives the same
  result on CPU (``seed=None``: fresh entropy, the seed drawn kept in the history);
* **several processes** (GPUs or machines) with ``DistributedDataParallel`` when launched by
  ``torchrun``: ``batch_size`` is the global batch, so the result does not depend on the
  number of processes; rank 0 writes checkpoints and logs (``docs/distributed.md``).

The package, one concept per module: ``config`` (:class:`TrainConfig`, every setting,
checked once), ``history`` (:class:`History`), ``data`` (sources, batches, shards),
``evaluation`` (:func:`evaluate`), ``checkpoint`` (checkpoints and RNG states),
``distributed`` (process groups, DDP), ``progress`` (the progress bar) and ``loop``
(:func:`fit`).

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

from ..utils.devices import resolve_device
from .checkpoint import CHECKPOINT_NAME
from .config import LRSchedule, OptimizerKind, TrainConfig
from .distributed import distributed_rank
from .evaluation import evaluate
from .history import History
from .loop import fit
from .progress import progress_bar

__all__ = ["fit", "evaluate", "History", "TrainConfig", "OptimizerKind", "LRSchedule",
           "resolve_device", "distributed_rank", "progress_bar", "CHECKPOINT_NAME"]
