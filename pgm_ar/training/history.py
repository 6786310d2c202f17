"""What a training run did, epoch by epoch: :class:`History`, with CSV, JSON and a plot.

>>> h = History()
>>> h.append(1, train=2.5, val=None, lr=0.01, seconds=0.1, penalty=0.25)
>>> h.loss, History.from_dict(h.to_dict()) == h
([2.25], True)
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from ..utils.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["History"]

PathLike = Union[str, Path]


@dataclass
class History:
    """What a fit did, one entry per epoch (epochs count from 1).

    Attributes
    ----------
    epoch, train_nll, val_nll, lr, seconds
        Per epoch: its number, the mean training NLL (nats/example, averaged over the epoch's
        batches as they were trained), the validation NLL (``None`` without validation data),
        the learning rate used (``None`` for a closed-form fit), and the wall time of the
        epoch including validation.
    penalty
        Per epoch, the penalty (e.g. a log prior) per training example after the epoch, which
        the objective subtracts from the NLL (``None`` without one); see :attr:`loss`.
    best_epoch, best_val_nll
        The epoch with the lowest validation NLL and that NLL (``None`` without validation).
    stopped_early
        Whether early stopping ended the run.
    device
        The device trained on (this process's, in a distributed run).
    world_size
        The number of processes that trained together (1 unless distributed).
    seed
        The run's seed (drawn from fresh entropy when ``seed=None`` was asked for), so that
        a run can be repeated.
    """

    epoch: List[int] = field(default_factory=list)
    train_nll: List[float] = field(default_factory=list)
    val_nll: List[Optional[float]] = field(default_factory=list)
    lr: List[Optional[float]] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    penalty: List[Optional[float]] = field(default_factory=list)
    best_epoch: Optional[int] = None
    best_val_nll: Optional[float] = None
    stopped_early: bool = False
    device: str = "cpu"
    world_size: int = 1
    seed: Optional[int] = None

    _COLUMNS = ("epoch", "train_nll", "val_nll", "lr", "seconds")

    def __len__(self) -> int:
        """The number of epochs recorded."""
        return len(self.epoch)

    @property
    def loss(self) -> List[float]:
        """The objective per epoch: ``train_nll - penalty`` (nats/example; the NLL itself
        without a penalty)."""
        return [nll - (p or 0.0) for nll, p in zip(self.train_nll, self._penalties())]

    def _penalties(self) -> List[Optional[float]]:
        # histories saved before the penalty column existed have none
        return self.penalty if len(self.penalty) == len(self.epoch) else [None] * len(self.epoch)

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "History":
        """The inverse of :meth:`to_dict`."""
        return cls(**{k: (list(v) if isinstance(v, list) else v) for k, v in data.items()})

    def to_csv(self, path: PathLike) -> Path:
        """Write one row per epoch (``epoch,train_nll,val_nll,lr,seconds``, and ``penalty``
        when there is one), atomically."""
        columns = list(self._COLUMNS)
        rows = [getattr(self, c) for c in columns]
        if any(p is not None for p in self._penalties()):
            columns.append("penalty")
            rows.append(self._penalties())
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*rows):
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
            ax.plot(self.epoch, _nan_for_none(self.val_nll), "s-", ms=3, label="validation")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="gray", ls=":", label=f"best (epoch {self.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("NLL (nats / example)")
        ax.legend()
        ax.grid(alpha=0.3)
        ax_lr.plot(self.epoch, _nan_for_none(self.lr), ".-")
        ax_lr.set_xlabel("epoch")
        ax_lr.set_ylabel("learning rate")
        ax_lr.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        buf = io.BytesIO()
        fig.savefig(buf, format=(path.suffix.lstrip(".") or "png"), dpi=120)
        return atomic_write_bytes(path, buf.getvalue())

    def append(self, epoch: int, train: float, val: Optional[float], lr: Optional[float],
               seconds: float, penalty: Optional[float] = None) -> None:
        """Record one epoch."""
        if len(self.penalty) != len(self.epoch):  # an old history: align the column first
            self.penalty = [None] * len(self.epoch)
        self.epoch.append(epoch)
        self.train_nll.append(train)
        self.val_nll.append(val)
        self.lr.append(lr)
        self.seconds.append(seconds)
        self.penalty.append(penalty)


def _nan_for_none(values: List[Optional[float]]) -> List[float]:
    return [math.nan if v is None else v for v in values]
