"""Every setting of a training run in one frozen, validated :class:`TrainConfig`.

:func:`~pgm_ar.training.fit` takes its settings as keywords (``fit(model, x, epochs=5)``) or
as a whole config (``fit(model, x, config=TrainConfig(epochs=5))``, keywords then override
fields).  The config is checked once, when it is made: a bad value is a
:class:`~pgm_ar.errors.PgmArError` naming the option, before any work starts.

>>> cfg = TrainConfig(epochs=6, lr_schedule="STEP", device="cpu")
>>> cfg.lr_schedule, cfg.lr_step_size, cfg.device
(<LRSchedule.STEP: 'step'>, 2, device(type='cpu'))
>>> cfg.replace(lr=0.5).lr
0.5
>>> TrainConfig(lr=0)
Traceback (most recent call last):
...
pgm_ar.errors.PgmArError: lr=0: must be a positive number
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Union

import torch

from ..errors import PgmArError
from ..utils.devices import DeviceLike, resolve_device
from ..utils.enums import parse_enum
from ..utils.suggest import did_you_mean

__all__ = ["TrainConfig", "OptimizerKind", "LRSchedule", "Batch", "LogProbFn", "PenaltyFn",
           "PathLike"]

PathLike = Union[str, Path]
#: a Tensor, a dict of tensors, or a tuple of tensors
Batch = Any
#: ``log_prob_fn(model, batch) -> Tensor[B]``: per-example log-likelihood in nats
LogProbFn = Callable[[torch.nn.Module, Batch], torch.Tensor]
#: ``penalty_fn() -> Tensor[]``: a log prior (or any reward) over the whole training set
PenaltyFn = Callable[[], torch.Tensor]


class OptimizerKind(str, Enum):
    """Optimizers :func:`~pgm_ar.training.fit` can build."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"  # with Nesterov momentum 0.9


class LRSchedule(str, Enum):
    """Learning-rate schedules, stepped once per epoch (``None``: a constant rate)."""

    #: cosine annealing from ``lr`` to 0 over ``epochs``
    COSINE = "cosine"
    #: multiply by ``lr_gamma`` every ``lr_step_size`` epochs
    STEP = "step"
    #: multiply by ``lr_gamma`` after every epoch
    EXPONENTIAL = "exponential"


#: words that mean "no schedule" (a constant learning rate)
_CONSTANT = ("none", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """The settings of one :func:`~pgm_ar.training.fit` run (see its docstring for each).

    Making one checks every value; enum options given as text (any case) become members,
    ``device`` becomes a :class:`torch.device` (``"auto"``: CUDA when available) and
    ``lr_step_size`` gets its default (a third of ``epochs``).
    """

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    optimizer: Union[str, OptimizerKind] = OptimizerKind.ADAM
    weight_decay: float = 0.0
    lr_schedule: Union[str, LRSchedule, None] = LRSchedule.COSINE
    lr_step_size: Optional[int] = None
    lr_gamma: float = 0.1
    device: DeviceLike = "auto"
    amp: bool = True
    early_stopping_patience: Optional[int] = None
    restore_best: bool = True
    checkpoint_dir: Optional[PathLike] = None
    resume: bool = False
    seed: Union[None, int, torch.Generator] = 0
    progress: bool = True
    log_path: Optional[PathLike] = None
    num_workers: int = 0
    pin_memory: Optional[bool] = None
    preload: Optional[bool] = None
    transform: Optional[Callable[[Batch, torch.Generator], Batch]] = None
    max_grad_norm: Optional[float] = None
    val_batch_size: Optional[int] = None
    on_epoch_end: Optional[Callable[..., Optional[bool]]] = None
    log_prob_fn: Optional[LogProbFn] = None
    penalty_fn: Optional[PenaltyFn] = None
    distributed: Union[str, bool] = "auto"

    def __post_init__(self) -> None:
        _check_count("epochs", self.epochs, minimum=0)
        _check_count("batch_size", self.batch_size)
        _check_positive("lr", self.lr)
        _check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if self.max_grad_norm is not None:
            _check_positive("max_grad_norm", self.max_grad_norm)
        for name in ("early_stopping_patience", "val_batch_size"):
            if getattr(self, name) is not None:
                _check_count(name, getattr(self, name), suffix=" or None")
        _check_count("num_workers", self.num_workers, minimum=0)
        for name in ("amp", "restore_best", "resume", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise PgmArError(f"{name}={getattr(self, name)!r}: must be True or False")
        for name in ("pin_memory", "preload"):
            if not any(getattr(self, name) is v for v in (None, True, False)):
                raise PgmArError(f"{name}={getattr(self, name)!r}: must be True, False or None")
        if not (self.distributed is True or self.distributed is False
                or self.distributed == "auto"):
            raise PgmArError(f"distributed={self.distributed!r}: use 'auto', True or False")
        seed = self.seed
        if not (seed is None or isinstance(seed, torch.Generator)
                or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool))):
            raise PgmArError(f"seed={seed!r}: must be an integer, a torch.Generator or None "
                             "(fresh randomness)")
        for name in ("transform", "on_epoch_end", "log_prob_fn", "penalty_fn"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise PgmArError(f"{name}={getattr(self, name)!r}: must be callable or None")
        if self.resume and self.checkpoint_dir is None:
            raise PgmArError("resume=True needs the checkpoint_dir to resume from")
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        set_(self, "optimizer", parse_enum(OptimizerKind, self.optimizer, "optimizer"))
        set_(self, "lr_schedule", _schedule(self.lr_schedule))
        set_(self, "device", resolve_device(self.device))
        if self.lr_step_size is None:
            set_(self, "lr_step_size", max(1, self.epochs // 3))
        if self.lr_schedule is LRSchedule.STEP:
            _check_count("lr_step_size", self.lr_step_size)
        if self.lr_schedule in (LRSchedule.STEP, LRSchedule.EXPONENTIAL):
            _check_positive("lr_gamma", self.lr_gamma)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **_known(changes))

    @classmethod
    def build(cls, config: Optional["TrainConfig"], settings: Mapping[str, Any]
              ) -> "TrainConfig":
        """``config`` with ``settings`` applied, or a config of ``settings`` alone."""
        if config is None:
            return cls(**_known(settings))
        if not isinstance(config, TrainConfig):
            raise PgmArError(f"config must be a TrainConfig, got {type(config).__name__}")
        return config.replace(**settings) if settings else config

    def trajectory(self, seed: Optional[int]) -> Dict[str, Any]:
        """The settings that shape the run's trajectory, which a resumed run must share
        (stored in the checkpoint; ``seed`` is the run's seed once drawn, ``None`` when a
        resumed run takes the checkpoint's)."""
        gamma_used = self.lr_schedule in (LRSchedule.STEP, LRSchedule.EXPONENTIAL)
        return {"optimizer": self.optimizer.value, "lr": float(self.lr),
                "weight_decay": float(self.weight_decay),
                "lr_schedule": None if self.lr_schedule is None else self.lr_schedule.value,
                "batch_size": self.batch_size, "seed": None if seed is None else int(seed),
                "lr_step_size": self.lr_step_size if self.lr_schedule is LRSchedule.STEP
                else None,
                "lr_gamma": float(self.lr_gamma) if gamma_used else None,
                "epochs": self.epochs if self.lr_schedule is not None else None}


def _known(settings: Mapping[str, Any]) -> Dict[str, Any]:
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in settings:
        if key not in fields:
            raise PgmArError(f"unknown training setting {key!r}{did_you_mean(key, fields)}")
    return dict(settings)


def _schedule(value: Any) -> Optional[LRSchedule]:
    if value is None or (isinstance(value, str) and value.strip().lower() in _CONSTANT):
        return None
    return parse_enum(LRSchedule, value, "lr_schedule")


def _check_count(name: str, value: Any, minimum: int = 1, suffix: str = "") -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise PgmArError(f"{name}={value!r}: must be {kind} integer{suffix}")


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        need = "a non-negative" if allow_zero else "a positive"
        raise PgmArError(f"{name}={value!r}: must be {need} number")
