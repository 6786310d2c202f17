"""The training loop: :func:`fit` minimises the mean negative log-likelihood by minibatch
gradient, with validation, early stopping, schedules, checkpoints, resume and DDP.

The loop is a :class:`_Run` whose methods each do one thing: start (fresh or resumed), one
training step, one epoch, validation, bookkeeping of the best weights, the checkpoint and
logs.  The settings are one :class:`~pgm_ar.training.config.TrainConfig`.
"""
from __future__ import annotations

import math
import numbers
import random
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from ..errors import DataError, FitWarning, PgmArError
from ..utils.seeding import torch_generator
from ..utils.warn import warn_at_caller
from .checkpoint import (CHECKPOINT_NAME, cpu_state_dict, load_checkpoint, rng_state,
                         save_checkpoint, set_rng_state)
from .config import LRSchedule, OptimizerKind, TrainConfig
from .data import (TRANSFORM_STREAM, Batches, Source, as_source, batch_len, nbytes, shard,
                   shard_source, stream_seed)
from .distributed import (ProcessGroup, Scorer, distributed_device, start_distributed,
                          wants_distributed)
from .evaluation import evaluate_batches, nll_sums, score_batch
from .history import History
from .identity import run_identity
from .progress import progress_bar

__all__ = ["fit", "run_seed", "make_optimizer", "make_scheduler", "EXPLODE"]

#: a loss "explodes" (a FitWarning naming the epoch) when an epoch's mean rises above the
#: start (the first batch's NLL before any step, or the first epoch's mean, the lower) by more
#: than EXPLODE times the start's size (at least one nat): far beyond minibatch noise
EXPLODE = 10.0


def fit(model: nn.Module, train: Any, val: Any = None, *,
        config: Optional[TrainConfig] = None, **settings: Any) -> History:
    """Fit ``model`` by maximum likelihood: minimise the mean NLL of ``train``.

    The settings come as keywords (below) or as ``config=TrainConfig(...)``; keywords given
    with a config override its fields.  Each is checked before any work starts.

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
    config
        A :class:`~pgm_ar.training.TrainConfig` holding the settings below.

    Other Parameters
    ----------------
    epochs : int
        Total number of epochs (a resumed run counts the epochs already done).  Default 10.
    batch_size, lr, optimizer, weight_decay : int, float, str, float
        Minibatch size (100); learning rate (0.001); ``"adam"`` (default), ``"adamw"`` or
        ``"sgd"`` (Nesterov momentum 0.9); weight decay (0).
    lr_schedule, lr_step_size, lr_gamma : str or None, int, float
        ``"cosine"`` (default: to 0 over ``epochs``), ``"step"`` (times ``lr_gamma`` every
        ``lr_step_size`` epochs, default a third of ``epochs``), ``"exponential"`` (times
        ``lr_gamma`` after every epoch) or ``None`` (constant).
    device, amp : str or torch.device, bool
        ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; bf16 autocast on CUDA
        when ``amp`` (default; validation is always in full precision).
    early_stopping_patience : int or None
        Stop after this many epochs without a lower validation NLL (``None``: never).
    restore_best : bool
        With validation data, load the weights of the best epoch into ``model`` at the end.
    checkpoint_dir, resume : path or None, bool
        Write ``checkpoint_dir/checkpoint.pt`` after every epoch (atomically, sealed with a
        SHA-256 checksum).  With ``resume=True`` an existing checkpoint there is verified and
        loaded and training continues from the epoch after it.  Only the same run resumes:
        the settings that shape the trajectory (optimizer, learning rate, weight decay,
        schedule, batch size, seed; ``epochs`` when there is a schedule), the model's
        description (a compiled model's network and families with their settings, another
        module's ``repr``), the data (examples and SHA-256 of in-memory tensors) and the
        transform must match, and the model must have the same parameters; otherwise one
        error names every difference (see :mod:`pgm_ar.training.identity`).  No checkpoint
        yet: a fresh start.
    seed : int or None
        An integer (default 0): the same seed gives the same run on CPU.  ``None``: fresh
        entropy (the seed drawn is kept in :attr:`History.seed`, and a resumed run takes the
        checkpoint's).  A ``torch.Generator``: a seed drawn from it.  The seed seeds torch,
        numpy and ``random`` at a fresh start (a resumed run restores their saved states
        instead) and the per-epoch shuffling and ``transform`` generators.
    progress : bool
        Show a tqdm bar with the running nats/example (only when stderr is a terminal).
    log_path : path or None
        Write ``<log_path>.csv`` and ``<log_path>.json`` (suffix replaced) after every epoch;
        default ``checkpoint_dir/log.csv`` and ``.json`` when there is a ``checkpoint_dir``.
    num_workers, pin_memory, preload : int, bool, bool or None
        DataLoader workers and pinned memory (default: on CUDA) for in-memory data or a
        Dataset; ``preload`` moves in-memory data to the device once and slices batches there
        (default: on when ``num_workers == 0`` and, on CUDA, the data takes under a quarter
        of the free GPU memory).  The batches are the same either way.
    transform : callable or None
        ``transform(batch, generator) -> batch`` applied to each training batch on the device,
        with a generator seeded per epoch (e.g. :class:`pgm_ar.datasets.DynamicBinarization`).
    max_grad_norm : float or None
        Clip the gradient norm to this value (``None``: no clipping).
    val_batch_size : int or None
        Batch size for validation (default: ``batch_size``).
    on_epoch_end : callable or None
        ``on_epoch_end(epoch, history)``, called after each epoch's checkpoint; return
        ``True`` to stop.
    log_prob_fn : callable or None
        ``log_prob_fn(model, batch) -> Tensor[B]`` (nats, differentiable) used instead of
        ``model.log_prob``, for a module whose scoring method has another name or signature.
    penalty_fn : callable or None
        ``penalty_fn() -> Tensor[]``, e.g. the log prior of the parameters (MAP fitting): the
        objective of each step is then ``mean NLL of the batch - penalty / N`` (``N`` the
        training examples), so an epoch's steps add up to the penalised likelihood of the
        data.  :attr:`History.penalty` records ``penalty / N`` after each epoch.
    distributed : str or bool
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
        number of processes (``world_size``); the seed.

    Raises
    ------
    PgmArError
        Bad arguments (an unknown setting, negative epochs, unknown optimizer or device,
        ``"cuda"`` without a GPU, a checkpoint of a different model or made with other
        settings, a diverged run; ``distributed=True`` without a launcher, a ``DataLoader``
        in a distributed run).
    DataError
        Data in an unsupported form, or tensors of different lengths.
    """
    cfg = TrainConfig.build(config, settings)
    if cfg.early_stopping_patience is not None and val is None:
        raise PgmArError("early stopping needs validation data: pass val=...")
    if not isinstance(model, nn.Module) or (
            cfg.log_prob_fn is None and not callable(getattr(model, "log_prob", None))):
        raise PgmArError(f"{type(model).__name__} is not a torch.nn.Module with a "
                         "log_prob(batch) method (or pass log_prob_fn)")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise PgmArError(f"{type(model).__name__} has no trainable parameters")
    for p in params:  # torch's optimizers fail with a deep RuntimeError on such a step size
        if p.is_floating_point() and cfg.lr > torch.finfo(p.dtype).max:
            raise PgmArError(f"lr={cfg.lr:g} is over the largest {p.dtype} number "
                             f"({torch.finfo(p.dtype).max:g}) of the model's parameters")
    use_dist = wants_distributed(cfg.distributed)
    dev = cfg.device
    train_src = as_source(train, "training")
    val_src = as_source(val, "validation") if val is not None else None
    if cfg.penalty_fn is not None and train_src.n is None:
        raise PgmArError("penalty_fn needs the number of training examples, which this "
                         "DataLoader does not tell (its dataset has no length)")
    if use_dist:
        for src in (train_src, val_src):
            if src is not None and src.loader is not None:
                raise PgmArError(f"distributed training: the {src.name} data is a DataLoader, "
                                 "which fit cannot split between processes; pass the tensors "
                                 "or the Dataset instead (fit builds the same global batches "
                                 "on every process and gives each its slice)")
        dev = distributed_device(dev)
    group = start_distributed(dev) if use_dist else None
    try:
        return _Run(model, cfg, params, dev, group, train_src, val_src).run()
    finally:
        if group is not None:
            group.close()


def run_seed(seed: Any) -> int:
    """The integer seed of a run: ``seed`` itself, one drawn from a generator, or (``None``)
    one drawn from fresh entropy."""
    if seed is None or isinstance(seed, torch.Generator):
        gen = torch_generator(seed)
        return int(torch.randint(0, 2 ** 62, (1,), generator=gen, device=gen.device))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise PgmArError(f"seed={seed!r}: must be an integer, a torch.Generator or None "
                         "(fresh randomness)")
    return int(seed)


def make_optimizer(params: List[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``cfg`` names, over ``params``."""
    if cfg.optimizer is OptimizerKind.ADAM:
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer is OptimizerKind.ADAMW:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True,
                           weight_decay=cfg.weight_decay)


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig
                   ) -> Optional[torch.optim.lr_scheduler.LRScheduler]:
    """The per-epoch learning-rate schedule ``cfg`` names (``None``: constant)."""
    sched = torch.optim.lr_scheduler
    if cfg.lr_schedule is LRSchedule.COSINE:
        return sched.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs))
    if cfg.lr_schedule is LRSchedule.STEP:
        return sched.StepLR(opt, step_size=cfg.lr_step_size, gamma=cfg.lr_gamma)
    if cfg.lr_schedule is LRSchedule.EXPONENTIAL:
        return sched.ExponentialLR(opt, gamma=cfg.lr_gamma)
    return None


class _Run:
    """One call of :func:`fit`, arguments checked; ``group`` is the process group when
    distributed."""

    def __init__(self, model: nn.Module, cfg: TrainConfig, params: List[nn.Parameter],
                 dev: torch.device, group: Optional[ProcessGroup], train_src: Source,
                 val_src: Optional[Source]) -> None:
        self.model, self.cfg, self.params, self.dev, self.group = model, cfg, params, dev, group
        self.rank, self.world = (group.rank, group.world) if group is not None else (0, 1)
        self.main = self.rank == 0
        self.use_amp = cfg.amp and dev.type == "cuda" and torch.cuda.is_bf16_supported()
        self.n_train = train_src.n
        model.to(dev)
        self.opt = make_optimizer(params, cfg)
        self.sched = make_scheduler(self.opt, cfg)
        # the state a checkpoint keeps, besides the modules and the RNGs
        self.history = History(device=str(dev), world_size=self.world)
        self.start_epoch, self.bad_epochs, self.finished = 0, 0, False
        self.warned_divergence = False
        self.start_nll: Optional[float] = None  # NLL per example of the first batch
        self.best_state: Optional[Dict[str, torch.Tensor]] = None
        self.ckpt_path = (Path(cfg.checkpoint_dir) / CHECKPOINT_NAME
                          if cfg.checkpoint_dir is not None else None)
        # what defines the run besides its trajectory settings, kept in the checkpoint so that
        # only the same run resumes from it (hashing the data only when there is a checkpoint)
        self.identity = (run_identity(model, train_src, val_src, cfg.transform)
                         if self.ckpt_path is not None else None)
        self.seed = self._start()
        self.history.seed = self.seed
        if cfg.log_path is not None:
            self.log_base: Optional[Path] = Path(cfg.log_path).with_suffix("")
        elif cfg.checkpoint_dir is not None:
            self.log_base = Path(cfg.checkpoint_dir) / "log"
        else:
            self.log_base = None
        self.has_val = val_src is not None
        self.train_batches, self.val_batches = self._batches(train_src, val_src)
        self.show = cfg.progress and self.main  # a bar on a terminal, lines in logs and pipes
        self.scorer: Optional[nn.Module] = self._ddp() if group is not None else None

    # ------------------------------------------------------------------ set-up
    def _start(self) -> int:
        """Resume from the checkpoint when asked and there is one, else seed the RNGs;
        returns the run's seed."""
        cfg, path = self.cfg, self.ckpt_path
        found = bool(cfg.resume and path is not None and path.exists())
        if self.group is not None and cfg.resume:
            seen_by = self.group.all_sum([float(found)], self.dev)[0]
            if 0 < seen_by < self.world:
                raise PgmArError(f"{path}: the checkpoint is visible to {int(seen_by)} of "
                                 f"{self.world} processes; in a distributed run the "
                                 "checkpoint_dir must be on a file system every process sees")
        if not found:
            seed = run_seed(cfg.seed)
            torch.manual_seed(seed)
            np.random.seed(seed % 2**32)
            random.seed(seed)
            return seed
        assert path is not None
        given = None if cfg.seed is None else run_seed(cfg.seed)
        ckpt = load_checkpoint(path, self.model, cfg.trajectory(given), self.identity)
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(ckpt["scheduler"])
        self.history = History.from_dict(ckpt["history"])
        self.history.device, self.history.world_size = str(self.dev), self.world
        self.start_epoch = int(ckpt["epoch"])
        self.best_state = ckpt["best_model"]
        self.bad_epochs = int(ckpt["bad_epochs"])
        self.finished = bool(ckpt["finished"])
        per_rank = ckpt.get("rng_ranks")
        same_world = isinstance(per_rank, list) and len(per_rank) == self.world
        set_rng_state(per_rank[self.rank] if same_world else ckpt["rng"], self.dev)
        return int(ckpt["config"]["seed"])

    def _batches(self, train_src: Source, val_src: Optional[Source]
                 ) -> Tuple[Batches, Optional[Batches]]:
        cfg, dev = self.cfg, self.dev
        pin = (dev.type == "cuda") if cfg.pin_memory is None else bool(cfg.pin_memory)
        preload = cfg.preload
        if preload is None:
            preload = cfg.num_workers == 0 and train_src.tensors is not None
            if preload and dev.type == "cuda":
                free, _ = torch.cuda.mem_get_info(dev)
                preload = nbytes(train_src.tensors) < free // 4
        train = Batches(train_src, cfg.batch_size, dev, shuffle=True, seed=self.seed,
                        num_workers=cfg.num_workers, pin_memory=pin and not preload,
                        preload=preload)
        if val_src is None:
            return train, None
        # distributed: every process scores a contiguous part of the validation data
        part = val_src if self.group is None else shard_source(val_src, self.rank, self.world)
        if part is None:
            return train, None
        val = Batches(part, cfg.val_batch_size or cfg.batch_size, dev, shuffle=False, seed=0,
                      num_workers=cfg.num_workers, pin_memory=pin and not preload,
                      preload=preload)
        return train, val

    def _ddp(self) -> nn.Module:
        # DDP broadcasts rank 0's weights and buffers now, and all-reduces (averages) the
        # gradients in every backward pass through it
        from torch.nn.parallel import DistributedDataParallel

        cuda = self.dev.type == "cuda"
        return DistributedDataParallel(Scorer(self.model, self.cfg.log_prob_fn),
                                       device_ids=[self.dev.index] if cuda else None,
                                       output_device=self.dev.index if cuda else None)

    # ------------------------------------------------------------------ the loop
    def run(self) -> History:
        was_training = self.model.training
        for epoch in range(self.start_epoch, self.cfg.epochs):
            if self.finished:
                break
            if self._epoch(epoch):
                break
        if self.cfg.restore_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.model.train(was_training)
        return self.history

    def _epoch(self, epoch: int) -> bool:
        """Train, validate and record one epoch; whether to stop."""
        t0 = time.perf_counter()
        self.model.train()
        lr_now = self.opt.param_groups[0]["lr"]
        train_nll = self._train_epoch(epoch)
        if self.sched is not None:
            self.sched.step()
        penalty = self._penalty()
        val_nll = self._validate(epoch) if self.has_val else None
        self.history.append(epoch + 1, train_nll, val_nll, lr_now, time.perf_counter() - t0,
                            penalty)
        if self.show:
            from tqdm import tqdm

            vtext = "" if val_nll is None else f", val {val_nll:.3f}"
            tqdm.write(f"epoch {epoch + 1}/{self.cfg.epochs}: train {train_nll:.3f}{vtext} "
                       "nats/example", file=sys.stderr)
        self._save(epoch)
        stop = self.cfg.on_epoch_end is not None and bool(
            self.cfg.on_epoch_end(epoch + 1, self.history))
        if self.group is not None:
            stop = self.group.any(stop, self.dev)  # one process asking to stop stops them all
        return stop

    def _steps(self, epoch: int) -> Iterator[Any]:
        if self.scorer is None:
            return self.train_batches.epoch(epoch)
        if self.cfg.transform is None:  # fetch only this process's slice of each global batch
            return self.train_batches.epoch(epoch, part=(self.rank, self.world))
        # the transform sees the whole global batch, as in a single process
        return ((b, batch_len(b)) for b in self.train_batches.epoch(epoch))

    def _train_epoch(self, epoch: int) -> float:
        """One pass over the training data; the mean NLL of its batches as trained."""
        gen = None
        if self.cfg.transform is not None:
            gen = torch.Generator(device=self.dev).manual_seed(
                stream_seed(self.seed, epoch, TRANSFORM_STREAM))
        total = torch.zeros((), dtype=torch.float64, device=self.dev)
        seen = 0
        where = f"training epoch {epoch + 1}"
        bar = progress_bar(len(self.train_batches), f"epoch {epoch + 1}/{self.cfg.epochs}",
                           self.show)
        for step, item in enumerate(self._steps(epoch)):
            nll_sum, b = self._step(item, gen, where)
            if self.start_nll is None and b:
                self.start_nll = float(nll_sum) / b  # scored before the first step
            total += nll_sum
            seen += b
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 and seen:
                    bar.set_postfix_str(f"{float(total) / seen:.3f} nats/ex")
        if bar is not None:
            bar.close()
        if self.group is not None:
            total_f, seen_f = self.group.all_sum([float(total), float(seen)], self.dev)
            total, seen = torch.tensor(total_f, dtype=torch.float64), int(seen_f)
        if seen == 0:
            raise DataError("training data gave no batches")
        train_nll = float(total) / seen
        self._check_divergence(epoch, train_nll)
        return train_nll

    def _check_divergence(self, epoch: int, train_nll: float) -> None:
        """Stop (non-finite loss or weights) or warn (a loss exploding against the first
        epoch's) with the epoch and the numbers."""
        lr = self.opt.param_groups[0]["lr"]
        advice = (f"lower the learning rate (lr={lr:g}) or set max_grad_norm; the model's "
                  "weights are those of the diverged step")
        if not math.isfinite(train_nll):
            raise PgmArError(f"training diverged in epoch {epoch + 1}: the mean training NLL "
                             f"is {train_nll} nats per example; {advice}")
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                if p.is_floating_point() and not bool(torch.isfinite(p).all()):
                    raise PgmArError(f"training diverged in epoch {epoch + 1}: parameter "
                                     f"{name!r} holds non-finite values (NaN or infinite) "
                                     f"although the mean training NLL was {train_nll:.6g}; "
                                     f"{advice}")
        # the start: the first batch's NLL (before any step) or the first epoch's
        starts = [(v, what) for v, what in (
            (self.start_nll, "on the first batch"),
            (self.history.train_nll[0] if self.history.train_nll else None, "in epoch 1"))
            if v is not None and math.isfinite(v)]
        if not starts or self.warned_divergence or not self.main:
            return
        first, when = min(starts)
        if train_nll > first + EXPLODE * max(abs(first), 1.0):
            self.warned_divergence = True
            warn_at_caller(f"training diverged in epoch {epoch + 1}: the mean training NLL "
                           f"rose to {train_nll:.6g} nats per example from {first:.6g} {when}; "
                           f"lower the learning rate (lr={lr:g}) or set max_grad_norm",
                           FitWarning)

    def _step(self, item: Any, gen: Optional[torch.Generator], where: str
              ) -> Tuple[torch.Tensor, int]:
        """One gradient step; the batch's summed NLL (float64, detached) and its size."""
        cfg = self.cfg
        autocast = torch.autocast(device_type=self.dev.type, dtype=torch.bfloat16,
                                  enabled=self.use_amp)
        if self.scorer is None:
            batch = cfg.transform(item, gen) if cfg.transform is not None else item
            b = batch_len(batch)
            self.opt.zero_grad(set_to_none=True)
            with autocast:
                lp = score_batch(self.model, batch, b, where, cfg.log_prob_fn)
            loss = -lp.mean()
        else:
            batch, n_global = item
            if cfg.transform is not None:
                batch = shard(cfg.transform(batch, gen), self.rank, self.world)
            b = 0 if batch is None else batch_len(batch)
            self.opt.zero_grad(set_to_none=True)
            with autocast:
                lp = self.scorer(batch, b, where)
            # DDP averages the gradients over the processes: scaled so, the average is
            # the gradient of the mean NLL over the global batch, even for unequal slices
            loss = -lp.sum() * (self.world / n_global)
        if cfg.penalty_fn is not None:
            # the same on every process, so DDP's average leaves it as it is
            loss = loss - cfg.penalty_fn() / self.n_train
        loss.backward()
        if cfg.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.opt.step()
        return -lp.detach().double().sum(), b

    def _penalty(self) -> Optional[float]:
        """The penalty per training example after the epoch (``None`` without one)."""
        if self.cfg.penalty_fn is None:
            return None
        with torch.no_grad():
            return float(self.cfg.penalty_fn()) / int(self.n_train)  # type: ignore[arg-type]

    def _validate(self, epoch: int) -> float:
        """The validation NLL (summed over the processes); tracks the best weights and
        early stopping."""
        log_prob_fn = self.cfg.log_prob_fn
        if self.group is None:
            val_nll = evaluate_batches(self.model, self.val_batches, None,
                                       log_prob_fn)["nll_nats"]
        else:
            v_total, v_n = 0.0, 0
            if self.val_batches is not None:
                v_sum, v_n, _ = nll_sums(self.model, self.val_batches, log_prob_fn)
                v_total = float(v_sum)
            v_total, v_all = self.group.all_sum([v_total, float(v_n)], self.dev)
            val_nll = v_total / v_all
        history = self.history
        if history.best_val_nll is None or val_nll < history.best_val_nll:
            history.best_val_nll, history.best_epoch = val_nll, epoch + 1
            self.best_state = cpu_state_dict(self.model)
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            patience = self.cfg.early_stopping_patience
            if patience is not None and self.bad_epochs >= patience:
                history.stopped_early = self.finished = True
        return val_nll

    def _save(self, epoch: int) -> None:
        """The checkpoint and the logs of the epoch just done (rank 0 writes them)."""
        if self.ckpt_path is not None:
            rng = rng_state(self.dev)
            rng_ranks = self.group.gather(rng) if self.group is not None else None
            if self.main:
                state = {"epoch": epoch + 1, "model": cpu_state_dict(self.model),
                         "optimizer": self.opt.state_dict(),
                         "scheduler": self.sched.state_dict() if self.sched is not None
                         else None,
                         "rng": rng, "best_model": self.best_state,
                         "bad_epochs": self.bad_epochs, "finished": self.finished,
                         "history": self.history.to_dict(),
                         "config": self.cfg.trajectory(self.seed),
                         "identity": self.identity}
                if rng_ranks is not None:
                    state["rng_ranks"] = rng_ranks
                save_checkpoint(self.ckpt_path, state)
        if self.log_base is not None and self.main:
            self.history.to_csv(self.log_base.with_suffix(".csv"))
            self.history.to_json(self.log_base.with_suffix(".json"))
        if self.group is not None:
            self.group.barrier()  # nobody runs ahead of the checkpoint of this epoch
