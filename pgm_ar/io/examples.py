"""The classic example networks shipped with pgm_ar, loadable by name.

Eight small discrete Bayesian networks with their CPTs, as published in the bnlearn
Bayesian network repository (https://www.bnlearn.com/bnrepository/), stored as gzip BIF
files in ``pgm_ar/data/networks`` (about 12 KB together):

=========== ===================================================================
``asia``       lung cancer, tuberculosis and bronchitis (Lauritzen & Spiegelhalter, 1988)
``cancer``     pollution, smoking and lung cancer (Korb & Nicholson, 2010)
``earthquake`` burglary, earthquake and the alarm (Korb & Nicholson, 2010)
``survey``     travel habits (Scutari & Denis, 2014)
``sachs``      protein signalling (Sachs et al., 2005)
``child``      congenital heart disease in newborns (Spiegelhalter & Cowell, 1992)
``alarm``      patient monitoring in intensive care (Beinlich et al., 1989)
``insurance``  car insurance risk (Binder et al., 1997)
=========== ===================================================================

Every place that takes a network file also takes one of these names
(:func:`pgm_ar.io.load_any`, :func:`pgm_ar.io.load_network` and so every ``pgm-ar``
command); a file of the same name in the working directory wins.

>>> example_networks()[:3]
('asia', 'cancer', 'earthquake')
>>> net = example_network("asia")
>>> len(net), net.parents("either")
(8, ('lung', 'tub'))
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from ..errors import PgmArError
from ..utils.suggest import did_you_mean

__all__ = ["NETWORKS_DIR", "close_examples", "example_for_missing", "example_network",
           "example_networks", "example_path", "is_example_name"]

#: the folder of the shipped ``NAME.bif.gz`` files
NETWORKS_DIR = Path(__file__).resolve().parent.parent / "data" / "networks"

# small networks first, then medium ones, as the bnlearn repository groups them
_NAMES: Tuple[str, ...] = ("asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm",
                           "insurance")


def example_networks() -> Tuple[str, ...]:
    """The names of the shipped example networks, small ones first.

    >>> "alarm" in example_networks()
    True
    """
    return _NAMES


def _normalize(name: str) -> str:
    return str(name).strip().lower()


def is_example_name(name: object) -> bool:
    """Whether ``name`` (any case) names a shipped example network.

    >>> is_example_name("ALARM"), is_example_name("alarm.bif")
    (True, False)
    """
    return isinstance(name, str) and _normalize(name) in _NAMES


def close_examples(name: str) -> str:
    """`` (did you mean 'alarm'?)`` for a name close to an example's (in any case), else ``""``.

    >>> close_examples("ALRAM")
    " (did you mean 'alarm'?)"
    """
    return did_you_mean(_normalize(name), _NAMES)


def _unknown(name: str) -> PgmArError:
    return PgmArError(f"no example network named {name!r}{close_examples(name)}; the examples "
                      f"are: {', '.join(_NAMES)}")


def example_path(name: str) -> Path:
    """The shipped ``.bif.gz`` file of the example network ``name`` (any case).

    Raises
    ------
    PgmArError
        For an unknown name, listing the examples (and the closest names).
    """
    if not is_example_name(name):
        raise _unknown(name)
    path = NETWORKS_DIR / f"{_normalize(name)}.bif.gz"
    if not path.is_file():  # an installation that left out the package data
        raise PgmArError(f"the example network {name!r} is missing from this installation "
                         f"({path}); reinstall pgm_ar")
    return path


def example_network(name: str):
    """The example network ``name`` (a :class:`~pgm_ar.network.BayesNet` with its CPTs).

    Parameters
    ----------
    name
        One of :func:`example_networks` (any case).

    Raises
    ------
    PgmArError
        For an unknown name, listing the examples and suggesting the closest ones.

    >>> net = example_network("alarm")
    >>> len(net), len(net.edges)
    (37, 46)
    """
    from .bif import read_bif

    return read_bif(example_path(name))


def example_for_missing(path: object) -> Optional[str]:
    """The example name a missing file path probably meant (``alarm.bif.gz`` -> ``alarm``),
    for error messages; ``None`` when it names none."""
    name = Path(str(path)).name
    for suffix in (".gz", ".bif"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return _normalize(name) if is_example_name(name) else None
