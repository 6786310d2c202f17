"""Fitting a compiled model: closed form, stochastic variational inference, the training loop.

``fit(method="auto")`` picks the closed form (counts for tables, least squares for
linear-Gaussian nodes) when every node has one and the data is complete, SVI when a discrete
value is latent or missing (enumerated exactly by ``TraceEnum_ELBO``), and the shared training
loop (:func:`pgm_ar.training.fit`) when the network has an image.
"""
from __future__ import annotations

import math
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Union

import torch
from pyro.infer import Trace_ELBO, TraceEnum_ELBO, config_enumerate

from ..conditionals.tabular import TabularConditional
from ..errors import DataError, PgmArError
from ..tabular_data import EncodedData, encode
from .data import ENUM_BUDGET, ModelData
from .loop_data import loop_columns

if TYPE_CHECKING:  # the training loop is imported when it is used
    from ..training import History

__all__ = ["FitMethod", "FittingMixin", "parse_choice", "resolve_device"]


class FitMethod(str, Enum):
    """How :meth:`CompiledModel.fit` fits: closed form, stochastic variational inference, the
    shared training loop, or auto."""

    AUTO = "auto"
    COUNTS = "counts"
    SVI = "svi"
    #: minibatch maximum likelihood in :func:`pgm_ar.training.fit` (device, AMP, validation,
    #: early stopping, checkpoints, resume, logs): the default for networks with images
    TRAIN = "train"


def parse_choice(cls, value, what: str):
    """The member of the enum ``cls`` that ``value`` names (case-insensitive)."""
    try:
        return cls(value.value if isinstance(value, Enum) else str(value).lower())
    except ValueError:
        raise PgmArError(f"unknown {what} {value!r}; use one of {[m.value for m in cls]}") from None


def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PgmArError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PgmArError("device 'cuda' was asked for but no CUDA GPU is available")
    return dev


def _loop_log_prob(model: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``log_prob_fn`` of :func:`pgm_ar.training.fit`: the differentiable batch log-likelihood."""
    return model.batch_log_prob(batch)


def _empty_guide(*args: Any, **kwargs: Any) -> None:
    """The guide of maximum-likelihood fitting: no latent continuous sites to approximate."""


class FittingMixin:
    """Fitting (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    def log_prior(self) -> torch.Tensor:
        """Sum of the conditionals' log priors (MAP fitting); 0 without priors."""
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        for node in self.nodes:
            lp = node.log_prior()
            if lp is not None:
                total = total + lp
        return total

    def fit(self, data: ModelData, method: Union[str, FitMethod] = "auto", *,
            epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, lr_decay: float = 1.0,
            device: Union[str, torch.device] = "auto", seed: Optional[int] = 0,
            progress: bool = True, val: Optional[ModelData] = None,
            checkpoint_dir: Optional[Union[str, Path]] = None, resume: bool = False,
            transform: Optional[Any] = None, early_stopping_patience: Optional[int] = None,
            log_path: Optional[Union[str, Path]] = None, lr_schedule: Optional[str] = "cosine",
            amp: bool = True, max_grad_norm: Optional[float] = None
            ) -> Union[List[float], "History"]:
        """Fit the conditionals to ``data`` (maximum likelihood, or MAP with priors).

        Parameters
        ----------
        data
            A DataFrame or ``{name: values}``; for image networks ``{"digit":
            FloatTensor[N, C, H, W], "label": LongTensor[N]}``, or ``(images, labels)`` /
            ``images`` (see :meth:`image_data`).
        method
            ``"counts"``: the exact closed form (counts for tables, least squares for
            linear-Gaussian nodes), on complete data only.  ``"svi"``: gradient ascent on the
            log-likelihood of the Pyro program by stochastic variational inference with an
            empty guide (``Trace_ELBO``); when a discrete variable is latent or has missing
            values, ``TraceEnum_ELBO`` enumerates it, so the exact marginal likelihood is
            maximised.  ``"train"``: the shared training loop :func:`pgm_ar.training.fit` on
            complete data — the same objective as SVI with an empty guide (the mean
            log-likelihood of fully observed rows), with validation, early stopping,
            checkpoints, resume, logs and AMP on CUDA.  ``"auto"``: ``"train"`` when the
            network has an image variable, else counts when every node has a closed form and
            the data is complete, else SVI.
        epochs, batch_size, lr
            Passes over the data, rows per mini-batch, Adam's learning rate.  Defaults: 100,
            1024, 0.01 for SVI; 20, 100, 0.001 for ``"train"``.
        lr_decay
            SVI: the learning rate is multiplied by this after every epoch (1: constant); a
            decay lets mini-batch SVI settle on the optimum instead of hovering around it.
        device
            ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``; the model stays there.
        seed
            Seeds the initialisation of parameters not yet fitted and the mini-batch order
            (``"train"``: and the per-epoch ``transform`` generator).
        progress
            A progress bar (only when stderr is a terminal).
        val, checkpoint_dir, resume, transform, early_stopping_patience, log_path,
        lr_schedule, amp, max_grad_norm
            ``"train"`` only; passed to :func:`pgm_ar.training.fit`.  ``val`` is validation
            data in the form of ``data`` (already binarized); ``transform(batch, generator)``
            changes each training batch (a dict of tensors), e.g.
            ``DynamicBinarization("digit")`` for grey training images.

        Returns
        -------
        list of float, or History
            Counts / SVI: the loss per epoch, mean negative log-likelihood per row in nats
            (plus the prior's share; one entry for the closed form).  ``"train"``: the
            :class:`~pgm_ar.training.History` (train and validation NLL per epoch, best epoch).
        """
        method = parse_choice(FitMethod, method, "fit method")
        self.train()  # fitting is the one place the modules run in training mode
        try:
            return self._fit(data, method, epochs=epochs, batch_size=batch_size, lr=lr,
                             lr_decay=lr_decay, device=device, seed=seed, progress=progress,
                             val=val, checkpoint_dir=checkpoint_dir, resume=resume,
                             transform=transform, early_stopping_patience=early_stopping_patience,
                             log_path=log_path, lr_schedule=lr_schedule, amp=amp,
                             max_grad_norm=max_grad_norm)
        finally:
            self.eval()

    def _fit(self, data: ModelData, method: FitMethod, *, epochs, batch_size, lr, lr_decay,
             device, seed, progress, val, checkpoint_dir, resume, transform,
             early_stopping_patience, log_path, lr_schedule, amp, max_grad_norm):
        if method is FitMethod.AUTO and self.has_images:
            method = FitMethod.TRAIN
        loop_only = {"val": val is not None, "checkpoint_dir": checkpoint_dir is not None,
                     "resume": bool(resume), "transform": transform is not None,
                     "early_stopping_patience": early_stopping_patience is not None,
                     "log_path": log_path is not None}
        if method is FitMethod.TRAIN:
            return self._fit_loop(
                data, val=val, epochs=20 if epochs is None else epochs,
                batch_size=100 if batch_size is None else batch_size,
                lr=1e-3 if lr is None else lr, device=device, seed=seed, progress=progress,
                checkpoint_dir=checkpoint_dir, resume=resume, transform=transform,
                early_stopping_patience=early_stopping_patience, log_path=log_path,
                lr_schedule=lr_schedule, amp=amp, max_grad_norm=max_grad_norm)
        given = [k for k, v in loop_only.items() if v]
        if given:
            raise PgmArError(f"{', '.join(given)}: only with method='train' (the training "
                             f"loop), not with method={method.value!r}")
        epochs = 100 if epochs is None else epochs
        batch_size = 1024 if batch_size is None else batch_size
        lr = 0.01 if lr is None else lr
        enc = encode(self.net, data)
        if enc.n == 0:
            raise DataError("no rows to fit")
        closed = [n for n, m in zip(self.net.names, self.nodes) if not m.closed_form]
        if method is FitMethod.AUTO:
            method = FitMethod.COUNTS if not closed and not enc.has_missing else FitMethod.SVI
        if method is FitMethod.COUNTS:
            if closed:
                raise PgmArError(f"variable {closed[0]!r} ({self.families[closed[0]].name}) has "
                                 "no closed-form fit; use method='svi'")
            if enc.has_missing:
                col = (enc.latent + enc.missing_columns)[0]
                raise DataError("missing values: the closed-form fit needs complete data; use "
                                "method='svi' (it marginalises them)", column=col)
            return self._fit_closed_form(enc.to(self.device))
        return self._fit_svi(enc, epochs=epochs, batch_size=batch_size, lr=lr, lr_decay=lr_decay,
                             device=resolve_device(device), seed=seed, progress=progress)

    def _fit_closed_form(self, enc: EncodedData) -> List[float]:
        total: Optional[float] = 0.0
        for i, name in enumerate(self.net.names):
            node = self.nodes[i]
            ll = node.fit_closed_form({p: enc.values[p] for p in self._parents[name]},
                                      enc.values[name])
            total = None if (ll is None or total is None) else total + ll
            self.fitted[i] = True
        if total is None:
            total = float(self.log_prob(enc).sum())
        return [-total / enc.n - float(self.log_prior().detach()) / enc.n]

    def _fit_svi(self, enc: EncodedData, *, epochs: int, batch_size: int, lr: float,
                 lr_decay: float, device: torch.device, seed: Optional[int],
                 progress: bool) -> List[float]:
        if int(epochs) < 1 or int(batch_size) < 1 or not (float(lr) > 0) \
                or not (0 < float(lr_decay) <= 1):
            raise PgmArError(f"epochs and batch_size must be >= 1, lr > 0 and 0 < lr_decay <= 1, "
                             f"got epochs={epochs}, batch_size={batch_size}, lr={lr}, "
                             f"lr_decay={lr_decay}")
        self.to(device)
        enc = enc.to(device)
        enumerate_ = enc.has_missing
        if enumerate_ and self._enum_width(enc) > ENUM_BUDGET:
            raise PgmArError("too many latent or missing discrete variables to enumerate "
                             f"({self._enum_width(enc)} joint states per row)")
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(int(seed))
            for i, node in enumerate(self.nodes):
                if bool(self.fitted[i]):
                    continue
                if isinstance(node, TabularConditional) and not enumerate_:
                    node.set_probs(torch.full(tuple(node.logits.shape), 1.0 / node.card))
                else:  # random tables: with latent variables a uniform start is a saddle point
                    node.reset_parameters()
        gen = torch.Generator()
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        if enumerate_:
            elbo = TraceEnum_ELBO(max_plate_nesting=self.max_plate_nesting)
            program = config_enumerate(self.model)
        else:
            elbo = Trace_ELBO(max_plate_nesting=self.max_plate_nesting)
            program = self.model
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=float(lr))
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=float(lr_decay))
        n, bs = enc.n, min(int(batch_size), enc.n)
        history: List[float] = []
        bar = None
        if progress and sys.stderr.isatty():
            from tqdm.auto import tqdm

            bar = tqdm(total=int(epochs), desc="fit", unit="epoch", leave=False)
        try:
            for epoch in range(int(epochs)):
                perm = torch.randperm(n, generator=gen).to(device)
                total = 0.0
                for start in range(0, n, bs):
                    batch = enc.rows(perm[start:start + bs])
                    nll = elbo.differentiable_loss(program, _empty_guide, batch.values)
                    prior = self.log_prior()
                    # per-row objective: the prior is spread over the mini-batches of an epoch
                    loss = nll / batch.n - prior / n
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(nll.detach())
                sched.step()
                epoch_loss = total / n - float(self.log_prior().detach()) / n
                if not math.isfinite(epoch_loss):
                    raise PgmArError(f"the loss became {epoch_loss} at epoch {epoch + 1}; "
                                     "try a smaller learning rate")
                history.append(epoch_loss)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{epoch_loss:.4f}")
        finally:
            if bar is not None:
                bar.close()
        self.fitted.fill_(True)
        return history

    # ------------------------------------------------------------------ the training loop
    def _fit_loop(self, data: ModelData, *, val: Optional[ModelData], epochs: int, batch_size: int,
                  lr: float, device: Union[str, torch.device], seed: Optional[int],
                  progress: bool, checkpoint_dir, resume: bool, transform: Any,
                  early_stopping_patience: Optional[int], log_path, lr_schedule: Optional[str],
                  amp: bool, max_grad_norm: Optional[float]) -> "History":
        from ..training import fit as train_fit

        train = loop_columns(self, data, "training", raw_images=transform is not None)
        valid = loop_columns(self, val, "validation") if val is not None else None
        # parameters not yet fitted start from the seed, as for SVI: tables uniform, modules
        # re-initialised by their reset_parameters (e.g. NADE's context weights, which are
        # otherwise drawn from the global generator at compile time), so that a seed gives
        # the same run whenever the model was compiled
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0 if seed is None else int(seed))
            for i, node in enumerate(self.nodes):
                if bool(self.fitted[i]):
                    continue
                if isinstance(node, TabularConditional):
                    node.set_probs(torch.full(tuple(node.logits.shape), 1.0 / node.card))
                else:
                    node.reset_parameters()
        history = train_fit(
            self, train, valid, epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
            device=device, amp=amp, early_stopping_patience=early_stopping_patience,
            checkpoint_dir=checkpoint_dir, resume=resume, seed=0 if seed is None else int(seed),
            progress=progress, log_path=log_path, transform=transform,
            lr_schedule=lr_schedule, max_grad_norm=max_grad_norm, log_prob_fn=_loop_log_prob)
        self.fitted.fill_(True)
        return history

