"""A compiled model fitted with a Dirichlet prior: the posterior kept, its answers with intervals.

``model.fit(data, prior="bdeu")`` (:meth:`~pgm_ar.model.CompiledModel.fit`) comes here: the
data's counts and the prior's pseudo-counts make a
:class:`~pgm_ar.learning.priors.DirichletPosterior`, the model's tables are set to its mean or
mode, and the model keeps it (``model.parameter_posterior()``; saved with the model) for
``model.query(target, evidence, credible=0.9)``.

Any other fit (gradient, counts without a prior) drops a kept posterior: its tables no longer
come from it.
"""
from __future__ import annotations

import math
import time
from typing import Any, Dict, Mapping, Optional

import torch

from ..conditionals.tabular import TabularConditional
from ..errors import PgmArError
from ..training import History
from .credible import CREDIBLE_SAMPLES, check_credible, credible_query
from .priors import DirichletPosterior, check_estimate

__all__ = ["POSTERIOR_ATTR", "fit_with_prior", "model_posterior", "model_credible_query",
           "forget_posterior"]

#: the attribute under which a compiled model keeps its posterior
POSTERIOR_ATTR = "_parameter_posterior"


def fit_with_prior(model: Any, columns: Mapping[str, torch.Tensor], method: Any,
                   val: Any, transform: Any, loop_only: Dict[str, Any], *, prior: Any,
                   equivalent_sample_size: Optional[float], estimate: Optional[str]) -> History:
    """Fit ``model``'s tables to complete ``columns`` under a Dirichlet ``prior``; returns
    the closed form's one-entry :class:`~pgm_ar.training.History`.

    ``method`` must be ``auto`` or ``counts`` (the posterior is a closed form);
    ``loop_only`` holds the gradient-only settings the caller was given (refused here).
    """
    if prior is None:
        raise PgmArError("equivalent_sample_size and estimate go with prior= (e.g. "
                         "prior='bdeu'); without a prior the fit is maximum likelihood")
    kind = check_estimate("mean" if estimate is None else estimate)
    name = str(getattr(method, "value", method))
    if name not in ("auto", "counts"):
        raise PgmArError(f"prior=...: a Dirichlet posterior is the closed form of counts; use "
                         f"method='counts' (or 'auto'), not {name!r} (a gradient fit takes a "
                         "prior as Tabular(prior=a) families and gives only its mode)")
    given = [k for k, v in loop_only.items() if v not in (None, False)]
    if transform is not None:
        given.insert(0, "transform")
    if given:
        raise PgmArError(f"{', '.join(given)}: only with a gradient fit, not with prior=")
    for var_name, node in zip(model.net.names, model.nodes):
        if not isinstance(node, TabularConditional):
            raise PgmArError(f"prior=...: a Dirichlet prior is on CPTs; variable {var_name!r} "
                             f"has the {model.families[var_name].name} family (give it "
                             "'tabular', or fit without prior=)")
        if node.prior is not None:
            raise PgmArError(f"variable {var_name!r} already has a prior in its family "
                             f"(Tabular(prior={node.prior:g})); give the prior one way: "
                             "drop it from the family or fit without prior=")
    t0 = time.perf_counter()
    forget_posterior(model)
    post = DirichletPosterior.from_data(model.net, columns, prior, equivalent_sample_size, kind)
    tables = post.tables()
    for i, var_name in enumerate(model.net.names):
        model.nodes[i].set_probs(tables[var_name])
    model.fitted.fill_(True)
    setattr(model, POSTERIOR_ATTR, post)
    n = post.rows
    loglik = 0.0
    for var_name, counts in post.counts.items():
        seen = counts > 0
        loglik += float((counts[seen] * torch.log(tables[var_name][seen])).sum())
    val_nll = None if val is None else float(-model.log_prob(val).mean())
    history = History(device=str(model.device))
    history.append(1, train=-loglik / n if n else math.nan, val=val_nll, lr=None,
                   seconds=time.perf_counter() - t0, penalty=None)
    if val_nll is not None:
        history.best_epoch, history.best_val_nll = 1, val_nll
    return history


def forget_posterior(model: Any) -> None:
    """Drop the posterior a model keeps (its tables are about to change)."""
    if getattr(model, POSTERIOR_ATTR, None) is not None:
        setattr(model, POSTERIOR_ATTR, None)


def model_posterior(model: Any) -> DirichletPosterior:
    """The posterior ``model`` keeps, else a :class:`PgmArError` saying how to get one."""
    post = getattr(model, POSTERIOR_ATTR, None)
    if post is None:
        raise PgmArError("this model has no posterior over its CPTs: it was fitted without a "
                         "prior, by a gradient method, or given its tables; fit it with "
                         "model.fit(data, prior='bdeu') (or 'k2', or a number > 0), i.e. "
                         "'pgm-ar fit ... --prior bdeu', to get credible intervals")
    return post


def model_credible_query(model: Any, target: Any, evidence: Optional[Mapping[str, Any]],
                         credible: Any, seed: Any = 0, num_samples: int = CREDIBLE_SAMPLES):
    """``model.query(target, evidence, credible=...)``: the model's own answer as the point
    estimate, the interval from its posterior's CPT draws."""
    check_credible(credible)
    post = model_posterior(model)
    single = isinstance(target, str)
    point = model.query(target, evidence)
    estimate = {target: point} if single else point
    return credible_query(post, target, evidence, credible, num_samples=num_samples,
                          seed=seed, estimate=estimate)
