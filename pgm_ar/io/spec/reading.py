"""Reading a spec's text: YAML or JSON to plain data, and errors that point into the file.

:func:`parse_text` turns the text into Python data (YAML 1.2 booleans: ``yes`` and
``no`` stay text).  A place in that data is a key path, ``("variables", 2,
"states")``, written :func:`render_key` style (``variables[2].states``); :func:`line_of`
finds the line it starts on.  A :class:`Reader` walks the data: it holds the file's
name and text, and its accessors check a value's type and raise a
:class:`~pgm_ar.errors.SpecError` naming the file, the key path and the line.

Duplicate keys in a mapping are read as the YAML and JSON libraries read them: the
last one wins.

>>> text = "variables: [a, b]\\n"
>>> r = Reader(parse_text(text, "yaml", "s.yaml"), "s.yaml", text)
>>> r.mapping(r.data, (), "a spec")["variables"]
['a', 'b']
>>> print(r.error("bad", ("variables", 1)))
s.yaml, line 1, at variables[1]: bad
"""
from __future__ import annotations

import json
import re
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from ...errors import PgmArError, SpecError
from ...utils.suggest import did_you_mean
from ...limits import check as check_limit, get_limits

__all__ = ["KeyPath", "Reader", "line_of", "parse_text", "render_key", "type_name"]

KeyPath = Tuple[Union[str, int], ...]


# --------------------------------------------------------------------------- #
# text to data
# --------------------------------------------------------------------------- #
class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that reads ``yes``/``no``/``on``/``off`` as text (YAML 1.2).

    YAML 1.1 turns the state names ``[yes, no]`` into booleans; only ``true`` and
    ``false`` are booleans here.
    """


    def construct_mapping(self, node, deep=False):
        # A key given twice would silently keep the last value; refuse it with its line.
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            "while reading a mapping", node.start_mark,
                            f"key {key_node.value!r} given twice (first at line "
                            f"{seen[key_node.value] + 1})", key_node.start_mark)
                    seen[key_node.value] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_text(text: str, fmt: str, source: str) -> Any:
    """The data of a spec's ``text`` in format ``fmt`` (``"yaml"``, ``"yml"`` or ``"json"``).

    Raises
    ------
    SpecError
        For a syntax error, naming ``source`` and the line.
    PgmArError
        For an unknown format.
    """
    fmt = fmt.lower()
    check_limit("max_file_bytes", len(text), f"{source}")
    max_line = get_limits().max_token_chars
    # One pass over line lengths (a regex with a bounded repeat would be quadratic here).
    # YAML only: JSON written by programs (a saved model's network) is one long line.
    if fmt != "json" and len(text) > max_line:
        start = 0
        while start <= len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            if end - start > max_line:
                try:
                    check_limit("max_token_chars", end - start, "one line of the file")
                except PgmArError as exc:
                    raise SpecError(str(exc), path=source,
                                    line=text.count("\n", 0, start) + 1) from None
            start = end + 1
    try:
        if fmt == "json":
            return _parse_json(text, source)
        if fmt in ("yaml", "yml"):
            return _parse_yaml(text, source)
    except RecursionError:
        raise SpecError("nested too deeply to read (lists or mappings inside each other "
                        "hundreds of levels deep); flatten the document", path=source) from None
    raise PgmArError(f"unknown spec format {fmt!r}: use 'yaml' or 'json'")


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SpecError(f"JSON syntax error: {exc.msg} (column {exc.colno})", path=source,
                        line=exc.lineno) from None
    except _DuplicateKey as exc:
        # JSON is YAML: the YAML reader finds the line of the second key.
        try:
            _parse_yaml(text, source)
        except SpecError as yexc:
            if yexc.line is not None:
                raise SpecError(f"key {exc.args[0]!r} given twice", path=source,
                                line=yexc.line) from None
        raise SpecError(f"key {exc.args[0]!r} given twice", path=source) from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_SpecLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise SpecError(f"YAML syntax error: {problem}", path=source,
                        line=mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", path=source) from None


# --------------------------------------------------------------------------- #
# key paths and line numbers
# --------------------------------------------------------------------------- #
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def render_key(path: KeyPath) -> str:
    """``("variables", 2, "states")`` -> ``variables[2].states``.

    >>> render_key(("cpts", "wet", "rows", "rain=1, sprinkler=0"))
    'cpts.wet.rows["rain=1, sprinkler=0"]'
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += json.dumps(part, ensure_ascii=False).join("[]")
    return out


def line_of(text: Optional[str], path: KeyPath) -> Optional[int]:
    """1-based line of the node at ``path`` (the key's line for a mapping entry).

    Composes the text again, which is cheap and happens only on an error.  When
    the path leaves the document, the line of the deepest node reached is given.
    JSON is YAML here, so this works for both.

    >>> line_of("a: 1\\nb:\\n  - x\\n  - y\\n", ("b", 1))
    4
    """
    if not text:
        return None
    try:
        node = yaml.compose(text, Loader=_SpecLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def type_name(value: Any) -> str:
    """What a value is, in words, for "expected X, got Y" messages.

    >>> type_name([1]), type_name(None), type_name(2.5)
    ('a list', 'nothing (null)', 'float 2.5')
    """
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


# --------------------------------------------------------------------------- #
# walking the data
# --------------------------------------------------------------------------- #
class Reader:
    """A spec's data with its origin: typed accessors whose errors point into the file.

    Parameters
    ----------
    data
        The parsed document (:func:`parse_text`).
    source
        The file name (or ``<string>``) for messages.
    text
        The text, to find line numbers (``None``: messages without lines).

    Attributes
    ----------
    names
        The declared variable names, once the variables are read; names used
        elsewhere in the file are checked against them.
    """

    def __init__(self, data: Any, source: str, text: Optional[str]) -> None:
        self.data = data
        self.source = source
        self.text = text
        self.names: List[str] = []

    def error(self, message: str, path: KeyPath) -> SpecError:
        """A :class:`SpecError` at ``path`` (to raise)."""
        return SpecError(message, path=self.source, line=line_of(self.text, path),
                         key=render_key(path) if path else None)

    def check_keys(self, d: Mapping, allowed: Sequence[str], path: KeyPath,
                   where: str = "") -> None:
        """Every key of ``d`` is one of ``allowed``; ``where`` follows the key in the message
        (``" for a variable"``)."""
        for key in d:
            if key not in allowed:
                raise self.error(f"unknown key {key!r}{where}{did_you_mean(key, allowed)}; "
                                 f"the keys are {', '.join(allowed)}", path + (str(key),))

    def mapping(self, value: Any, path: KeyPath, what: str) -> Mapping:
        """``value`` when it is a mapping; ``what`` names it in the error."""
        if not isinstance(value, Mapping):
            raise self.error(f"{what} must be a mapping, got {type_name(value)}", path)
        return value

    def name_at(self, value: Any, path: KeyPath, what: str = "a variable name") -> str:
        """A name (text or a number), stripped."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.error(f"expected {what}, got {type_name(value)}", path)
        return str(value).strip()

    def known(self, value: Any, path: KeyPath, where: str) -> str:
        """A declared variable's name; ``where`` says where it was used."""
        name = self.name_at(value, path)
        self.check_known(name, path, where)
        return name

    def check_known(self, name: str, path: KeyPath, where: str) -> None:
        """``name`` is a declared variable; ``where`` says where it was used."""
        if name not in self.names:
            raise self.error(f"unknown variable {name!r} in {where}"
                             f"{did_you_mean(name, self.names)}", path)

    def name_list(self, value: Any, path: KeyPath, where: str) -> List[str]:
        """Declared variables' names: one name or a list of them."""
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [self.known(value, path, where)]
        if not isinstance(value, list):
            raise self.error(f"expected a list of variable names, got {type_name(value)}", path)
        return [self.known(v, path + (i,), where) for i, v in enumerate(value)]

    def raw_names(self, value: Any, path: KeyPath) -> List[str]:
        """Names not yet checked against the declared ones: one name or a list of them."""
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [str(value)]
        if not isinstance(value, list):
            raise self.error(f"expected a list of variable names, got {type_name(value)}", path)
        return [self.name_at(v, path + (i,)) for i, v in enumerate(value)]
