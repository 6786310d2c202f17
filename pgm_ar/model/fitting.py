"""Fitting a compiled model: the closed form, or the one training loop.

There are two ways to fit, and :meth:`FittingMixin.fit` picks between them:

* the **closed form** (``method="counts"``): count ratios for tables (with a Dirichlet prior,
  its mode), least squares for linear-Gaussian nodes; complete data only;
* the **training loop** (:func:`pgm_ar.training.fit`) for everything else, with its device,
  progress bar, seed, validation, early stopping, checkpoints and resume.  Its objective is
  the exact log-likelihood of each row: :meth:`~pgm_ar.model.CompiledModel.batch_log_prob` for
  complete rows, :meth:`~pgm_ar.model.CompiledModel.enumerated_log_prob` when a discrete value
  is latent or missing (Pyro's enumeration sums it out; this is exactly minus the
  ``TraceEnum_ELBO`` loss of an empty guide, so it *is* stochastic variational inference with
  nothing left to approximate), and the log prior of the parameters as the loop's penalty
  (MAP).  ``method="svi"`` and ``method="train"`` both run it and differ only in their
  defaults (epochs, batch size, learning rate, schedule).

Before a gradient fit starts, nodes not yet fitted are initialised from the seed (tables
uniform, or random when values are summed out, since uniform tables are then a saddle point),
Gaussian nodes get the data's units (see :mod:`pgm_ar.conditionals.gaussian`), and given CPT
rows with zeros are floored (a zero probability has no gradient).  After it, a
:class:`~pgm_ar.errors.FitWarning` reports a fit far from converged or worse than independent
marginals (:mod:`.fit_checks`).
"""
from __future__ import annotations

import math
import time
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch

from ..conditionals.tabular import TabularConditional
from ..errors import DataError, FitWarning, PgmArError
from ..tabular_data import EncodedData
from ..training import History, LRSchedule, TrainConfig, evaluate
from ..training import fit as train_fit
from ..training.loop import run_seed
from ..utils.enums import parse_enum
from ..utils.seeding import forked_global_rng
from ..learning.posterior_fit import fit_with_prior, forget_posterior, model_posterior
from ..learning.priors import DirichletPosterior
from .data import ENUM_BUDGET, ModelData
from .fit_checks import check_baseline, check_loss, independent_baseline, worse_than
from .loop_data import loop_columns, marginalised

__all__ = ["FitMethod", "FittingMixin", "ZERO_FLOOR", "ZERO_MIX"]


class FitMethod(str, Enum):
    """How :meth:`CompiledModel.fit` fits: closed form, the training loop with SVI's or
    with neural defaults, or auto."""

    AUTO = "auto"
    COUNTS = "counts"
    SVI = "svi"
    #: minibatch maximum likelihood in :func:`pgm_ar.training.fit` with the defaults of
    #: neural families: the default for networks with images
    TRAIN = "train"


#: (epochs, batch_size, lr) by default, per loop method
_DEFAULTS = {FitMethod.SVI: (100, 1024, 0.01), FitMethod.TRAIN: (20, 100, 1e-3)}
#: given CPT rows with an entry below ZERO_FLOOR start a gradient fit mixed with ZERO_MIX of
#: the uniform distribution (a zero probability is a logit of -inf: no gradient ever moves it)
ZERO_FLOOR, ZERO_MIX = 1e-6, 1e-3
#: settings of gradient fits only
_LOOP_ONLY = ("checkpoint_dir", "resume", "early_stopping_patience", "log_path")


def _batch_log_prob(model: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return model.batch_log_prob(batch)


def _enumerated_log_prob(model: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return model.enumerated_log_prob(batch)


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

    def parameter_posterior(self) -> DirichletPosterior:
        """The Dirichlet posterior over the CPTs of a fit with ``prior=`` (its mean, mode
        and seeded samples of whole CPT sets); a :class:`PgmArError` for a model fitted
        otherwise."""
        return model_posterior(self)

    def run_identity(self) -> Dict[str, Any]:
        """What this model is, for a training checkpoint (resume refuses a checkpoint of a
        model described otherwise, naming each difference): every variable with its type,
        states or shape and parents, and every family with its settings (ordering,
        activation, hidden sizes, prior, ...)."""
        from .persistence import network_to_dict

        variables = {v["name"]: {**{k: x for k, x in v.items() if k != "name"},
                                 "parents": list(self._parents[v["name"]])}
                     for v in network_to_dict(self.net)["variables"]}
        return {"network": variables,
                "families": {name: fam.to_spec() for name, fam in self.families.items()}}

    def fit(self, data: ModelData, method: Union[str, FitMethod] = "auto", *,
            epochs: Optional[int] = None, batch_size: Optional[int] = None,
            lr: Optional[float] = None, lr_decay: float = 1.0,
            lr_schedule: Optional[str] = "auto", device: Union[str, torch.device] = "auto",
            seed: Optional[int] = 0, progress: bool = True, val: Optional[ModelData] = None,
            checkpoint_dir: Optional[Union[str, Path]] = None, resume: bool = False,
            transform: Optional[Any] = None, early_stopping_patience: Optional[int] = None,
            log_path: Optional[Union[str, Path]] = None, amp: bool = True,
            max_grad_norm: Optional[float] = None, prior: Optional[Any] = None,
            equivalent_sample_size: Optional[float] = None,
            estimate: Optional[str] = None) -> History:
        """Fit the conditionals to ``data`` (maximum likelihood, or MAP with priors).

        Parameters
        ----------
        data
            A DataFrame or ``{name: values}``; for image networks ``{"digit":
            FloatTensor[N, C, H, W], "label": LongTensor[N]}``, or ``(images, labels)`` /
            ``images`` (see :meth:`image_data`).  A discrete variable absent from the data is
            latent and a missing discrete value (``NaN``, ``None``) is unknown: both are
            summed out exactly.  Real and image variables must be observed.
        method
            ``"counts"``: the exact closed form (counts for tables, least squares for
            linear-Gaussian nodes), on complete data only.  ``"svi"`` and ``"train"``: the
            shared training loop :func:`pgm_ar.training.fit` maximising the exact (marginal)
            log-likelihood of the rows, i.e. SVI with an empty guide, by Adam on minibatches;
            they differ only in their defaults.  ``"auto"``: counts when every node has a
            closed form and the data is complete and the network has no image, else the
            loop (``"train"``'s defaults with images, ``"svi"``'s without).
        epochs, batch_size, lr
            Passes over the data, rows per minibatch, Adam's learning rate.  Defaults: 100,
            1024, 0.01 for ``"svi"``; 20, 100, 0.001 for ``"train"``.
        lr_schedule, lr_decay
            The loop's schedule: ``"cosine"``, ``"step"``, ``"exponential"`` or ``None``
            (constant).  ``"auto"`` (default): cosine for ``"train"``, constant for
            ``"svi"`` — or, whenever ``lr_decay`` is not 1, exponential: the learning rate is
            multiplied by ``lr_decay`` after every epoch (a decay lets minibatch SVI settle on
            the optimum instead of hovering around it).
        device
            ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``; the model stays there.
        seed
            An integer: the same seed gives the same fit (the initialisation of parameters
            not yet fitted, the minibatch order, the ``transform``'s generator).  ``None``:
            fresh entropy (the seed drawn is kept in the :class:`History`).
        progress
            A progress bar (only when stderr is a terminal).
        val
            Validation data in the form of ``data``: its NLL after every epoch (for counts,
            once), the best epoch's weights kept.
        checkpoint_dir, resume, transform, early_stopping_patience, log_path, amp, max_grad_norm
            Gradient fits only; passed to :func:`pgm_ar.training.fit`.
            ``transform(batch, generator)`` changes each training batch (a dict of tensors),
            e.g. ``DynamicBinarization("digit")`` for grey training images.
        prior, equivalent_sample_size, estimate
            A Dirichlet prior on every CPT row (all-tabular networks, complete data, the
            closed form): ``"bdeu"`` (with ``equivalent_sample_size``, default 1), ``"k2"``,
            a number ``> 0``, or ``{variable: prior or array of pseudo-counts}``.  The tables
            are set to the posterior ``estimate``, ``"mean"`` (default) or ``"map"``, and the
            model keeps the posterior (:meth:`parameter_posterior`, saved with the model)
            for ``query(..., credible=0.9)``.  See :mod:`pgm_ar.learning.priors`.

        Returns
        -------
        History
            Per epoch: the mean training NLL per row in nats (``train_nll``), the prior's
            share (``penalty``, with priors), the objective ``loss = train_nll - penalty``,
            validation NLL, learning rate and seconds.  The closed form gives one entry.

        Warns
        -----
        FitWarning
            When the loss was still falling fast at the end, rose, or ends worse than
            independent marginals of the same columns (with the numbers).

        Notes
        -----
        A gradient fit starts nodes not fitted yet from the seed; gives linear-Gaussian and
        MLP-Gaussian nodes not fitted yet the training data's units (mean and standard
        deviation of their own and their real parents' columns), so that the optimisation
        works on standardised values while every result stays in the data's units (a
        linear-Gaussian node's parameters are mapped back exactly at the end); and mixes
        given CPT rows holding a probability below ``ZERO_FLOOR`` (1e-6) with ``ZERO_MIX``
        (0.1%) of the uniform distribution, since a zero probability can never be moved by a
        gradient.
        """
        method = parse_enum(FitMethod, method, "fit method")
        forget_posterior(self)  # a kept posterior no longer describes the tables after a fit
        self.train()  # fitting is the one place the modules run in training mode
        try:
            return self._fit(data, method, val, transform, dict(
                prior=prior, equivalent_sample_size=equivalent_sample_size, estimate=estimate,
                epochs=epochs, batch_size=batch_size, lr=lr, lr_decay=lr_decay,
                lr_schedule=lr_schedule, device=device, seed=seed, progress=progress,
                checkpoint_dir=checkpoint_dir, resume=resume,
                early_stopping_patience=early_stopping_patience, log_path=log_path, amp=amp,
                max_grad_norm=max_grad_norm))
        finally:
            self.eval()

    # ------------------------------------------------------------------ which fit
    def _fit(self, data: ModelData, method: FitMethod, val: Optional[ModelData],
             transform: Any, opts: Dict[str, Any]) -> History:
        train = loop_columns(self, data, "training", raw_images=transform is not None,
                             keep_missing=True)
        _check_observed(train)
        bayes = {k: opts.pop(k) for k in ("prior", "equivalent_sample_size", "estimate")}
        if any(v is not None for v in bayes.values()):  # a Dirichlet posterior (closed form)
            return fit_with_prior(self, train, method, val, transform,
                                  {k: opts.get(k) for k in _LOOP_ONLY}, **bayes)
        hidden = marginalised(self, train)
        open_form = [n for n, m in zip(self.net.names, self.nodes) if not m.closed_form]
        if method is FitMethod.AUTO:
            if self.has_images:
                method = FitMethod.TRAIN
            else:
                method = FitMethod.COUNTS if not open_form and not hidden else FitMethod.SVI
        if method is not FitMethod.COUNTS:
            return self._fit_loop(train, method, val, transform, opts)
        given = [k for k in _LOOP_ONLY if opts.get(k) not in (None, False)]
        if transform is not None:
            given.insert(0, "transform")
        if given:
            raise PgmArError(f"{', '.join(given)}: only with a gradient fit (method='svi' or "
                             "'train'), not with method='counts'")
        if open_form:
            raise PgmArError(f"variable {open_form[0]!r} ({self.families[open_form[0]].name}) "
                             "has no closed-form fit; use method='svi'")
        if hidden:
            raise DataError("missing values: the closed-form fit needs complete data; use "
                            "method='svi' (it marginalises them)", column=hidden[0])
        return self._fit_closed_form(train, val)

    # ------------------------------------------------------------------ closed form
    def _fit_closed_form(self, columns: Dict[str, torch.Tensor],
                         val: Optional[ModelData]) -> History:
        t0 = time.perf_counter()
        n = int(next(iter(columns.values())).shape[0])
        enc = EncodedData(columns, n).to(self.device)
        total: Optional[float] = 0.0
        for i, name in enumerate(self.net.names):
            node = self.nodes[i]
            ll = node.fit_closed_form({p: enc.values[p] for p in self._parents[name]},
                                      enc.values[name])
            total = None if (ll is None or total is None) else total + ll
            self.fitted[i] = True
        if total is None:
            total = float(self.log_prob(enc).sum())
        penalty = None
        if any(node.log_prior() is not None for node in self.nodes):
            penalty = float(self.log_prior().detach()) / n
        val_nll = None if val is None else float(-self.log_prob(val).mean())
        history = History(device=str(self.device))
        history.append(1, train=-total / n, val=val_nll, lr=None,
                       seconds=time.perf_counter() - t0, penalty=penalty)
        if val_nll is not None:
            history.best_epoch, history.best_val_nll = 1, val_nll
        return history

    # ------------------------------------------------------------------ the training loop
    def _fit_loop(self, train: Dict[str, torch.Tensor], method: FitMethod,
                  val: Optional[ModelData], transform: Any, opts: Dict[str, Any]) -> History:
        valid = None
        if val is not None:
            valid = loop_columns(self, val, "validation", keep_missing=True)
        hidden = set(marginalised(self, train))
        if valid is not None:
            hidden |= set(marginalised(self, valid))
        self._check_enumerable(hidden)
        # one seed for the whole fit (initialisation and loop); None draws it from fresh
        # entropy, and the History keeps it, so that the fit can be repeated
        seed = run_seed(opts["seed"])
        has_prior = any(node.log_prior() is not None for node in self.nodes)
        # every setting is checked here, before the model is touched
        config = TrainConfig(
            seed=seed, transform=transform,
            log_prob_fn=_enumerated_log_prob if hidden else _batch_log_prob,
            penalty_fn=self.log_prior if has_prior else None,
            **self._loop_settings(method, opts))
        self._start_gradient_fit(train, seed, random_tables=bool(marginalised(self, train)))
        history = train_fit(self, train, valid, config=config)
        for node in self.nodes:
            fold = getattr(node, "fold_units", None)
            if callable(fold):
                fold()  # parameters back in the data's units, exactly
        self.fitted.fill_(True)
        if history.epoch:
            check_loss(history.loss, stopped_early=history.stopped_early)
            self._check_against_baseline(history, train, transform, config.batch_size)
        return history

    def _check_against_baseline(self, history: History, train: Dict[str, torch.Tensor],
                                transform: Any, batch_size: int) -> None:
        """Warn when the fitted model is worse than independent marginals on its training
        rows.  The epoch's mean NLL is measured while training; only when it looks worse is
        the fitted model scored exactly (one pass, no gradient)."""
        baseline = None if transform is not None else independent_baseline(self, train)
        if not worse_than(baseline, history.train_nll[-1]):
            return
        fn = _enumerated_log_prob if marginalised(self, train) else _batch_log_prob
        final = evaluate(self, train, batch_size=batch_size,
                         device=self.device, log_prob_fn=fn)["nll_nats"]
        check_baseline(final, baseline)

    def _loop_settings(self, method: FitMethod, opts: Dict[str, Any]) -> Dict[str, Any]:
        """The training loop's settings from :meth:`fit`'s arguments and ``method``'s
        defaults."""
        epochs, batch_size, lr = _DEFAULTS[method]
        decay = opts["lr_decay"]
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) \
                or not 0 < decay <= 1:
            raise PgmArError(f"lr_decay={decay!r}: must be a number in (0, 1] (1: no decay)")
        schedule = opts["lr_schedule"]
        if isinstance(schedule, str) and schedule.strip().lower() == "auto":
            schedule = ("exponential" if decay != 1 else
                        "cosine" if method is FitMethod.TRAIN else None)
        elif decay != 1 and not (isinstance(schedule, (str, LRSchedule)) and str(
                getattr(schedule, "value", schedule)).strip().lower() == "exponential"):
            raise PgmArError(f"lr_decay={decay!r} is the factor of the exponential schedule; "
                             f"it does not go with lr_schedule={schedule!r} (use 'auto' or "
                             "'exponential')")
        pick = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
        out = {k: (pick[k] if opts[k] is None else opts[k]) for k in pick}
        out.update(lr_schedule=schedule, lr_gamma=decay if decay != 1 else 0.1,
                   **{k: opts[k] for k in ("device", "progress", "checkpoint_dir", "resume",
                                           "early_stopping_patience", "log_path", "amp",
                                           "max_grad_norm")})
        return out

    def _check_enumerable(self, hidden: set) -> None:
        width = math.prod(int(self.net.variable(n).cardinality) for n in hidden)
        if width > ENUM_BUDGET:
            raise PgmArError(f"too many latent or missing discrete variables to enumerate "
                             f"({width} joint states per row, limit {ENUM_BUDGET}): "
                             f"{', '.join(sorted(hidden))}")

    def _start_gradient_fit(self, train: Mapping[str, torch.Tensor], seed: int,
                            random_tables: bool) -> None:
        """Initialise the nodes not fitted yet from ``seed``, give Gaussian nodes not fitted
        yet the data's units, and floor zeros of given tables."""
        # the modules' reset_parameters draw from torch's global generator: seed a private
        # copy of it, leaving the caller's stream alone
        with forked_global_rng(seed, device=self.device), torch.no_grad():
            for i, node in enumerate(self.nodes):
                if bool(self.fitted[i]):
                    continue
                if isinstance(node, TabularConditional) and not random_tables:
                    node.set_probs(torch.full(tuple(node.logits.shape), 1.0 / node.card))
                else:  # random tables: with hidden values a uniform start is a saddle point
                    node.reset_parameters()
        units = _column_units(train)
        for i, node in enumerate(self.nodes):
            if isinstance(node, TabularConditional) and bool(self.fitted[i]):
                _floor_zeros(node)
            elif not bool(self.fitted[i]) and callable(getattr(node, "set_units", None)):
                name = node.variable.name
                node.set_units(units.get(name, (0.0, 1.0)),
                               {p: units[p] for p in self._parents[name] if p in units})


def _check_observed(columns: Mapping[str, torch.Tensor]) -> None:
    """Refuse data with no observed value at all (a fit would keep its start and report
    success); warn about columns given but wholly missing (fitted as latent, summed out)."""
    empty = [name for name, x in columns.items()
             if x.dim() == 1 and not x.dtype.is_floating_point and bool((x < 0).all())]
    n = int(next(iter(columns.values())).shape[0])
    if empty and len(empty) == len(columns):
        raise DataError(f"training data: every value is missing ({n} rows) in the columns "
                        f"{', '.join(empty)}; there is nothing to fit")
    if empty:
        from ..utils.warn import warn_at_caller

        warn_at_caller(f"training data: the column{'s' if len(empty) > 1 else ''} "
                       f"{', '.join(empty)} {'have' if len(empty) > 1 else 'has'} no observed "
                       f"value in any of the {n} rows: fitted as latent (summed out); drop "
                       f"{'them' if len(empty) > 1 else 'it'} to say so, or check the data",
                       FitWarning)


def _column_units(columns: Mapping[str, torch.Tensor]) -> Dict[str, Tuple[float, float]]:
    """``(mean, standard deviation)`` of every real (floating, one value per row) column; a
    constant column gets scale 1."""
    out = {}
    for name, x in columns.items():
        if x.dim() == 1 and x.dtype.is_floating_point:
            x = x.double()
            sd = float(x.std(unbiased=False)) if len(x) > 1 else 0.0
            out[name] = (float(x.mean()), sd if sd > 0 and math.isfinite(sd) else 1.0)
    return out


def _floor_zeros(node: TabularConditional) -> None:
    probs = node.probs()
    rows = probs.min(-1, keepdim=True).values < ZERO_FLOOR
    if bool(rows.any()):
        mixed = (1 - ZERO_MIX) * probs + ZERO_MIX / node.card
        node.set_probs(torch.where(rows, mixed, probs))

