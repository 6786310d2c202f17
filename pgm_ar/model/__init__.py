"""Compile a :class:`~pgm_ar.network.BayesNet` to a Pyro model, fit it, and use it.

The package, one concept per module: ``families`` (which conditional each node gets),
``program`` (:class:`CompiledModel` and its Pyro program), ``scoring``, ``fitting`` (with
``loop_data`` and ``fit_checks``), ``sampling``, ``images``, ``queries``, ``persistence``, ``modes`` (answers do
not depend on train/eval mode) and ``data`` (the data forms the methods take).

:func:`compile` gives every node a conditional family (:mod:`pgm_ar.conditionals`) and returns
a :class:`CompiledModel`, a ``PyroModule`` whose :meth:`~CompiledModel.model` is the Pyro
program: one ``pyro.sample`` site per variable, in topological order, inside
the model's own plate.  Everything Pyro offers works on it (``pyro.render_model``,
``poutine.trace``, ``TraceEnum_ELBO``, ``infer_discrete``); around it the model offers
:meth:`~CompiledModel.fit`, :meth:`~CompiledModel.log_prob`, :meth:`~CompiledModel.sample`,
:meth:`~CompiledModel.query`, :meth:`~CompiledModel.map_query`,
:meth:`~CompiledModel.impute`, :meth:`~CompiledModel.to_bayesnet` and save / load.

Networks whose variables are all discrete scalars use the exact, vectorised routines of
:mod:`pgm_ar.inference` on their CPTs (for non-tabular families, the CPT obtained by evaluating
the conditional on every parent configuration).

>>> import pandas as pd
>>> from pgm_ar import BayesNet, Bernoulli, compile
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")])
>>> model = compile(net)
>>> rows = pd.DataFrame({"rain": [0, 0, 0, 1], "wet": [0, 0, 1, 1]})
>>> history = model.fit(rows)                      # counts: all tabular, fully observed
>>> {state: round(p, 4) for state, p in model.query("rain", evidence={"wet": "1"}).items()}
{'0': 0.5, '1': 0.5}
>>> [round(x, 4) for x in model.log_prob(rows).tolist()]
[-0.6931, -0.6931, -1.3863, -1.3863]
"""
from __future__ import annotations

from .data import ModelData
from .families import default_family, resolve_families
from .fitting import FitMethod
from .persistence import FORMAT, load_model
from .program import CompiledModel, compile
from .sampling import ImputeMode

__all__ = ["compile", "CompiledModel", "load_model", "FitMethod", "ImputeMode", "ModelData",
           "default_family", "resolve_families", "FORMAT"]
