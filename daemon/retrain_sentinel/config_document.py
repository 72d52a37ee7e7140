"""The config file as a YAML document: parsed and checked in bounded time and memory, before validation.

A config is a file someone typed, or something pretending to be one: a "billion laughs" of aliases, a
merge-key bomb, a self-referencing alias, a 1,000-deep nesting, a non-text key, a tag PyYAML's
constructors choke on. Each would hang, exhaust memory or crash with a traceback long before
pydantic saw the document, so this module parses with a bounded loader (``parse_yaml``) and walks
the result once without expanding aliases (``check_document``); every refusal is a ``ConfigError``
naming the path. ``settings`` validates what passes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from retrain_sentinel.errors import ConfigError, format_location
from retrain_sentinel.store.settings import control_characters

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "YAML_LOADERS",
    "check_document",
    "collector_paused",
    "parse_yaml",
]

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""A config with 250,000 watches is about 10 MB; a larger file is a mistake (or an attack)."""
MAX_VALUES = 4_000_000
"""Values (mappings, lists, scalars) in the document, each use of an alias counted as a copy."""
MAX_DEPTH = 40
"""Nesting, in keys and list items: ``models[x].policy`` nested 18 ``all``/``any`` levels deep."""

def check_document(raw: dict[str, Any], labels: list[str | None]) -> None:
    """Refuse, naming the path, a document the rest of loading could not handle in bounded time and
    memory: one holding a non-text key or a key with control characters (``1: 2`` at the top would
    be a ``TypeError``; a line break in a key would split an error line), nesting deeper than
    ``MAX_DEPTH``, referring to itself (``models: &x [*x]``), or holding more than ``MAX_VALUES``
    values with its aliases expanded.

    PyYAML gives an alias the very object its anchor made, so the document is a graph; the walk
    visits each object once (an explicit stack: no recursion limit to reach) and adds a shared
    object's size where it is used again, without expanding it. A billion laughs costs its few
    dozen objects and is refused by its size.
    """
    names: dict[tuple[Any, ...], Any] = {("models",): labels}

    def refuse(parts: tuple[Any, ...], message: str) -> ConfigError:
        return ConfigError([(format_location(parts, list_names=names) or "the config", message)])

    measured: dict[int, tuple[int, int]] = {}  # per object: its values (aliases expanded), depth below it
    on_path = {id(raw)}  # the objects being walked: meeting one again is a cycle
    stack = [_Frame(raw, ())]
    while stack:
        frame = stack[-1]
        entry = next(frame.items, None)
        if entry is None:  # done with this object: pass its counts up
            stack.pop()
            on_path.discard(id(frame.node))
            measured[id(frame.node)] = (frame.values, frame.below)
            if stack:
                stack[-1].add(frame.values, frame.below)
            elif frame.values > MAX_VALUES:
                raise refuse((), f"holds more than {MAX_VALUES:,} values (lists, mappings and scalars)")
            continue
        key, child = entry
        if isinstance(frame.node, dict) and (problem := _key_problem(key)):
            raise refuse((*frame.path, _key_text(key)) if problem == _NOT_TEXT else frame.path, problem)
        path = (*frame.path, key)
        if len(path) + measured.get(id(child), (0, 0))[1] > MAX_DEPTH:
            raise refuse(path, f"nested more than {MAX_DEPTH} levels deep")
        if not isinstance(child, dict | list):
            frame.add(1, 0)
        elif id(child) in on_path:
            raise refuse(path, "an alias refers to a mapping or list that contains it")
        elif id(child) in measured:  # an alias: count what it stands for
            frame.add(*measured[id(child)])
            if frame.values > MAX_VALUES:
                raise refuse(path, f"aliases expand the config to more than {MAX_VALUES:,} values")
        else:
            on_path.add(id(child))
            stack.append(_Frame(child, path))


class _Frame:
    """One mapping or list on ``check_document``'s stack, with what was counted inside it so far."""

    __slots__ = ("below", "items", "node", "path", "values")

    def __init__(self, node: dict[Any, Any] | list[Any], path: tuple[Any, ...]) -> None:
        self.node = node
        self.path = path
        self.items: Iterator[tuple[Any, Any]] = iter(node.items() if isinstance(node, dict) else enumerate(node))
        self.values = 1
        self.below = 0

    def add(self, values: int, below: int) -> None:
        """Count a child holding ``values`` values that reach ``below`` levels below it."""
        self.values += values
        self.below = max(self.below, below + 1)


_NOT_TEXT = "a key must be text: quote it"


def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return _NOT_TEXT
    if control_characters(key):
        return "a key holds a control or format character"
    return None


def _key_text(key: Any) -> str:
    """A non-text key as YAML wrote it, for the path of the error about it."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    text = str(key)
    return text if text.isprintable() and len(text) <= 40 else f"<a {type(key).__name__} key>"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a config is loaded.

    Loading allocates an object per YAML node, then a model per section, and none of them is garbage
    until loading ends; the collector, triggered every few hundred allocations, walks that growing
    heap again and again. Measured on 250,000 watches (tests/benchmarks/config_bench.py): the YAML
    alone took 16.4 CPU s with it and 4.8 s without. Reference counting still frees everything
    acyclic; the collector runs again when loading ends, as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
#: PyYAML's constructors for these tags assume text of the form its resolver gives them, true when
#: the resolver chose the tag but not when the file wrote it: ``!!int ""``, ``!!bool x`` and
#: ``!!timestamp x`` raised IndexError, KeyError and AttributeError. So an explicitly tagged scalar
#: is checked for what each constructor relies on (and otherwise converted exactly as PyYAML does).
_SCALAR_CHECKS: dict[str, Callable[[str], bool]] = {
    "tag:yaml.org,2002:int": lambda text: bool(text.replace("_", "").lstrip("+-")),
    "tag:yaml.org,2002:float": lambda text: bool(text.replace("_", "")),
    "tag:yaml.org,2002:bool": lambda text: text.lower() in SafeConstructor.bool_values,
    "tag:yaml.org,2002:timestamp": lambda text: SafeConstructor.timestamp_regexp.match(text) is not None,
}
_PYTHON_NESTING = 200


class _ConfigConstructor:
    """PyYAML's safe constructor with merge keys (``<<: *defaults``) bounded, and strings made fast.

    A merge copies a mapping's entries into another while the document is constructed, before
    ``check_document`` can count anything: a mapping of many keys merged into many mappings is a
    billion laughs without an alias left to count. So the entries merges add are counted as they
    are added (at most ``MAX_VALUES``), and merges nest at most ``MAX_DEPTH`` deep (PyYAML flattens
    them recursively).

    A plain string, most of a config, is its node's value: taken directly instead of through the
    constructor's dispatch, which is what PyYAML's own string constructor returns, 25 % faster.
    """

    _merged = 0
    _merge_depth = 0

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.__class__ is yaml.ScalarNode:
            if node.tag == _STR_TAG:
                return node.value
            check = _SCALAR_CHECKS.get(node.tag)
            if check is not None and not check(node.value):
                raise ConstructorError(None, None, f"not a valid !!{node.tag.rsplit(':', 1)[-1]}", node.start_mark)
        return super().construct_object(node, deep)  # type: ignore[misc]

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        merges = any(key.tag == _MERGE_TAG for key, _ in node.value)
        self._merge_depth += 1
        try:
            if merges and self._merge_depth > MAX_DEPTH:
                raise ConstructorError(None, None, f"merge keys nest more than {MAX_DEPTH} deep", node.start_mark)
            super().flatten_mapping(node)  # type: ignore[misc]
        finally:
            self._merge_depth -= 1
        if merges:
            self._merged += len(node.value)
            if self._merged > MAX_VALUES:
                raise ConstructorError(
                    None, None, f"merge keys (<<) add more than {MAX_VALUES:,} entries", node.start_mark
                )


class _PythonLoader(_ConfigConstructor, yaml.SafeLoader):
    """PyYAML's pure-Python loader. Its composer recurses once per level, so nesting is bounded here
    well before Python's recursion limit, as libyaml bounds its own."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > _PYTHON_NESTING:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {_PYTHON_NESTING} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _LibyamlLoader(_ConfigConstructor, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser and composer (it refuses nesting past 1,000 levels itself) with PyYAML's safe
    constructor: 250,000 watches in 6 CPU seconds, where the pure-Python loader takes 43."""


YAML_LOADERS: dict[str, type[yaml.SafeLoader]] = {"python": _PythonLoader}
if hasattr(yaml, "CSafeLoader"):
    YAML_LOADERS["libyaml"] = _LibyamlLoader


def parse_yaml(text: str, *, where: str, loader: str | None = None) -> Any:
    """The YAML document in ``text``, or a ``ConfigError`` at ``where`` (the file) saying why not.

    ``loader`` names one of ``YAML_LOADERS`` (default: libyaml's when PyYAML has it).
    """
    chosen = YAML_LOADERS[loader or ("libyaml" if "libyaml" in YAML_LOADERS else "python")]
    try:
        return yaml.load(text, Loader=chosen)  # noqa: S506 - both loaders are SafeLoaders
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        problem = f"character #x{exc.character:04x} is not allowed" if isinstance(exc.character, int) else exc.reason
        raise ConfigError([(where, f"invalid YAML at line {line}, column {column}: {problem}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        found = text[mark.index] if mark is not None and 0 <= mark.index < len(text) else ""
        raise ConfigError([(where, f"invalid YAML at {at}: {_plain(problem, found)}")]) from None
    except ValueError as exc:  # a scalar the constructor cannot convert: 2024-02-30, an int of 5,000 digits
        raise ConfigError([(where, f"invalid YAML: a value cannot be read ({str(exc).split(':', 1)[0]})")]) from None


#: PyYAML's and libyaml's words for the mistakes people make, and what to do about each; a problem
#: not listed keeps the parser's words. Each says what to change, never quoting the line (a value).
_PLAIN: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("mapping values are not allowed",),
        "a `key:` where a value was expected: indent it like the keys around it, or quote a value holding `: `",
    ),
    (
        ("expected <block end>", "expected '-' indicator", "did not find expected key", "expected <block mapping"),
        "this line's indentation does not line up with the lines above it",
    ),
    (("expected ',' or ']'",), "a `[` list is not closed with `]` (or an item lacks its comma)"),
    (("expected ',' or '}'",), "a `{` mapping is not closed with `}` (or an entry lacks its comma)"),
    (("unexpected end of stream",), "the file ends inside a quoted value: a quote is not closed"),
    (("undefined alias",), "an alias `*name` refers to no anchor `&name` above it"),
    (("unknown escape character",), "an unknown `\\` escape in a double-quoted value: use single quotes"),
    (("cannot start any token",), "a value cannot start with this character: quote the value"),
)


def _plain(problem: str, found: str) -> str:
    """A YAML parser's problem in plain words; ``found`` is the character where it stopped."""
    if found == "\t":
        return "a tab: indent with spaces"
    for fragments, words in _PLAIN:
        if any(fragment in problem for fragment in fragments):
            return words
    return problem
