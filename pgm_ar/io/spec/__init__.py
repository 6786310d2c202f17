"""Spec files: a network declared in YAML or JSON.

A spec lists the variables, says how the edges arise (the chain rule, a Markov
order, independence statements, or explicit edges), and may carry CPTs and the
options of each variable's conditional family for the compile stage.  The full
format, with examples, is in ``docs/spec-format.md``.

>>> spec = load_spec_text('''
... name: wet_grass
... variables:
...   - {name: rain, type: bernoulli}
...   - {name: sprinkler, type: bernoulli}
...   - {name: wet, type: bernoulli}
... edges: ["rain -> wet", "sprinkler -> wet"]
... statements: ["rain _|_ sprinkler"]
... ''')
>>> spec.structure, spec.network.parents("wet")
('edges', ('rain', 'sprinkler'))
>>> [s.ascii() for s in spec.statements]
['rain _|_ sprinkler']

Every problem is a :class:`~pgm_ar.errors.SpecError` naming the file, the key
path (``variables[2].states``) and, where it can be found, the line.

The modules, in the order a file is read:

* :mod:`~pgm_ar.io.spec.reading` — text to data; key paths and line numbers; the
  :class:`~pgm_ar.io.spec.reading.Reader` whose errors point into the file;
* :mod:`~pgm_ar.io.spec.variables` — the ``variables`` list;
* :mod:`~pgm_ar.io.spec.structure` — ``statements`` and the edges;
* :mod:`~pgm_ar.io.spec.cpts` — the ``cpts`` (rows assembled as BIF's are,
  :mod:`pgm_ar.io.cpts`);
* :mod:`~pgm_ar.io.spec.document` — :class:`Spec` and the whole document
  (:func:`load_spec`, :func:`load_spec_text`);
* :mod:`~pgm_ar.io.spec.writing` — :func:`spec_to_dict`, :func:`save_spec`.
"""
from __future__ import annotations

from .cpts import CPT_KEYS
from .document import TOP_KEYS, PathLike, Spec, load_spec, load_spec_text
from .reading import KeyPath, render_key
from .structure import STRUCTURES
from .variables import TYPE_ALIASES, VARIABLE_KEYS
from .writing import dump_spec, save_spec, spec_to_dict

__all__ = ["CPT_KEYS", "KeyPath", "PathLike", "STRUCTURES", "Spec", "TOP_KEYS", "TYPE_ALIASES",
           "VARIABLE_KEYS", "dump_spec", "load_spec", "load_spec_text", "render_key", "save_spec",
           "spec_to_dict"]
