"""Safe, located YAML loading for hand-written scenario and experiment files.

:func:`load_yaml` returns a :class:`LocatedDoc`: the plain data (dicts, lists, str, int, float,
bool, None) plus the 1-based line and column of every value and mapping key, so that later
validation errors can say ``file:line:col: field.path: message``.

What is different from ``yaml.safe_load``:

* scalars follow the YAML 1.2 core schema: only ``true``/``false`` are booleans (``no``, ``on``,
  ``y`` stay text), ``8:30`` and ``2024-01-01`` stay text, ``010`` is ten, ``1e3`` is a float;
* tags (``!!python/...``, ``!foo``) are refused; only the core ``!!str``, ``!!int``, ``!!float``,
  ``!!bool``, ``!!null``, ``!!seq`` and ``!!map`` are accepted;
* duplicate keys and keys that are not text or integers are refused;
* anchors and aliases (and ``<<`` merge keys) work, but the document is capped in size (values read,
  checked while reading, and values once aliases are expanded) and nesting depth, and recursive
  aliases are refused;
* integers of more than 1000 digits are refused with a plain message;
* only a regular file of at most ``max_bytes`` is read, never under ``/proc``, ``/sys`` or ``/dev``
  (a directory or FIFO is refused by what it is, and a FIFO never blocks); a file named by another
  file is read only under a file policy (:mod:`servsim.scenario.files`);
* messages quote at most a short, sanitised piece of the text (:func:`~servsim.scenario.errors.quoted`);
* every failure — missing file, bad UTF-8, syntax error, limits — is a
  :class:`~servsim.scenario.errors.ScenarioError`, never a YAML traceback.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from servsim.scenario.errors import Problem, ScenarioError, closest, format_path, plain, quoted
from servsim.scenario.files import FilePolicy, FileRefused, read_bytes, refuse_pseudo

DocPath = tuple[str | int, ...]
Mark = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
SEQ, MAP = _TAG + "seq", _TAG + "map"
ALLOWED_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, SEQ, MAP})

SYNTAX, FILE, ALIASES, NESTING = "(syntax)", "(file)", "(aliases)", "(nesting)"
TOP_LEVEL = "(top level)"
MERGE_KEY = "<<"


@dataclass(frozen=True)
class YamlLimits:
    """Caps that keep a hostile or broken file from exhausting memory or the stack."""

    max_bytes: int = 10_000_000
    max_nodes: int = 100_000
    max_depth: int = 100


DEFAULT_LIMITS = YamlLimits()


@dataclass(frozen=True)
class LocatedDoc:
    """Loaded YAML data with the (line, column) of each value, keyed by its path in the data.

    A path is a tuple of mapping keys and sequence indices; ``()`` is the document root.
    ``locations`` holds the mark of each value, ``key_locations`` the mark of each mapping key.
    """

    data: Any
    file: str
    locations: Mapping[DocPath, Mark]
    key_locations: Mapping[DocPath, Mark] = field(default_factory=dict)

    def where(self, path: Iterable[object]) -> tuple[int | None, int | None]:
        """(line, column) of the value at ``path``, or of its longest prefix that exists."""
        return _longest_prefix(self.locations, tuple(path))

    def where_key(self, path: Iterable[object]) -> tuple[int | None, int | None]:
        """(line, column) of the mapping key at ``path``; falls back to :meth:`where`."""
        path = tuple(path)
        mark = self.key_locations.get(path) if _hashable(path) else None
        return mark if mark is not None else self.where(path)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _longest_prefix(marks: Mapping[DocPath, Mark], path: tuple[object, ...]) -> tuple[int | None, int | None]:
    for end in range(len(path), -1, -1):
        prefix = path[:end]
        if _hashable(prefix) and prefix in marks:
            return marks[prefix]  # type: ignore[index]
    return (None, None)


# --------------------------------------------------------------------------- scalars (YAML 1.2 core)

_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF_RE = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN_RE = re.compile(r"^\.(?:nan|NaN|NAN)$")


#: Most digits of a decimal integer (Python refuses to convert more than 4300).
MAX_INT_DIGITS = 1000


class NumberTooLong(ValueError):
    """An integer with more digits than any scenario value can use."""


def _to_int(text: str) -> int:
    if text.startswith(("0x", "0o")):
        return int(text[2:], 16 if text[1] == "x" else 8)
    if len(text) > MAX_INT_DIGITS:
        raise NumberTooLong(f"a whole number of {len(text.lstrip('+-'))} digits is too large "
                            f"(at most {MAX_INT_DIGITS} digits)")
    return int(text, 10)


def _to_float(text: str) -> float:
    if _INF_RE.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN_RE.match(text):
        return math.nan
    return float(text)


def scalar_value(tag: str, text: str) -> Any:
    """The Python value of a scalar with a core-schema tag; ValueError if ``text`` does not fit."""
    if tag == STR:
        return text
    if tag == NULL and _NULL_RE.match(text):
        return None
    if tag == BOOL and _BOOL_RE.match(text):
        return text.lower() == "true"
    if tag == INT and _INT_RE.match(text):
        return _to_int(text)
    if tag == FLOAT and (_FLOAT_RE.match(text) or _INF_RE.match(text) or _NAN_RE.match(text)):
        return _to_float(text)
    raise ValueError(f"{quoted(text)} is not a valid {_short_tag(tag)} value")


def _short_tag(tag: str) -> str:
    """A tag as messages show it: ``!!int`` for the core ones, any other shortened and defused."""
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else quoted(tag, 30)


def _construct_core_scalar(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    try:
        return scalar_value(node.tag, loader.construct_scalar(node))
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


class CoreSafeLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit typing and a nesting-depth guard.

    The implicit resolver table is built afresh for this class, so ``yaml.SafeLoader`` itself is
    left untouched.
    """

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    max_depth: int = DEFAULT_LIMITS.max_depth
    max_nodes: int = DEFAULT_LIMITS.max_nodes

    def __init__(self, stream: str, max_depth: int | None = None, max_nodes: int | None = None) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        if max_depth is not None:
            self.max_depth = max_depth
        if max_nodes is not None:
            self.max_nodes = max_nodes

    def compose_node(self, parent: Node | None, index: object) -> Node:
        """Compose as usual, but refuse nesting deeper than ``max_depth`` before recursing, and
        more than ``max_nodes`` values as soon as they are read (not after parsing a huge file)."""
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise _Refusal(NESTING, _depth_message(self.max_depth), _DEPTH_HINT, self.peek_event().start_mark)
            if not self.check_event(yaml.AliasEvent):
                self._nodes += 1
                if self._nodes > self.max_nodes:
                    raise _Refusal(FILE, f"the document has too many values (limit {self.max_nodes})",
                                   "split it up; scenario files never need this many", self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


CoreSafeLoader.add_implicit_resolver(NULL, _NULL_RE, ["~", "n", "N", ""])
CoreSafeLoader.add_implicit_resolver(BOOL, _BOOL_RE, list("tTfF"))
CoreSafeLoader.add_implicit_resolver(INT, _INT_RE, list("-+0123456789"))
CoreSafeLoader.add_implicit_resolver(FLOAT, _FLOAT_RE, list("-+.0123456789"))
CoreSafeLoader.add_implicit_resolver(FLOAT, _INF_RE, list("-+."))
CoreSafeLoader.add_implicit_resolver(FLOAT, _NAN_RE, ["."])
for _tag in (NULL, BOOL, INT, FLOAT):
    CoreSafeLoader.add_constructor(_tag, _construct_core_scalar)


# --------------------------------------------------------------------------- refusals


class _Refusal(Exception):
    """A fatal problem found while composing or sizing the document (converted at the boundary)."""

    def __init__(self, field_name: str, message: str, hint: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.field_name, self.message, self.hint, self.mark = field_name, message, hint, mark


_DEPTH_HINT = "flatten the structure; scenario files never need this much nesting"


def _depth_message(limit: int) -> str:
    return f"the document is nested too deeply (limit {limit} levels)"


def _mark(mark: yaml.Mark | None) -> tuple[int | None, int | None]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _problem(file: str, field_name: str, mark: yaml.Mark | None, message: str, hint: str = "") -> Problem:
    line, column = _mark(mark)
    return Problem(file, line, column, field_name, message, hint)


# --------------------------------------------------------------------------- public entry points


def load_yaml(
    path: str | Path,
    *,
    expected_keys: Iterable[str] | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
    policy: FilePolicy | None = None,
    name: str | None = None,
) -> LocatedDoc:
    """Load a YAML file whose top level must be a mapping; see the module docstring.

    Only a regular file is read (a directory, FIFO or device is refused by what it is, and a FIFO
    never blocks); with a ``policy`` (files named by other files), only one inside its roots.
    ``name`` is how messages name the file (default: ``path`` as given)."""
    name = str(path) if name is None else name
    raw = _read_bytes(Path(path), name, limits, policy)
    return load_yaml_text(_decode(raw, name), name, expected_keys=expected_keys, limits=limits)


def load_yaml_text(
    text: str,
    file: str = "<string>",
    *,
    expected_keys: Iterable[str] | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
) -> LocatedDoc:
    """Load YAML text (``file`` is only used in messages); see the module docstring."""
    size = len(text.encode("utf-8", "replace"))
    if size > limits.max_bytes:
        raise ScenarioError(Problem(file, None, None, FILE, _too_large(size, limits.max_bytes), "split it up"))
    node = _compose(text, file, limits)
    if node is None or (isinstance(node, ScalarNode) and node.tag == NULL):
        raise ScenarioError(_empty_problem(file, node, expected_keys))
    _check_size(node, file, limits)
    if expected_keys is not None and isinstance(node, MappingNode):
        keys = [k.value for k, _ in node.value if isinstance(k, ScalarNode)]
        if _foreign(keys, list(expected_keys)):  # before building: duplicate keys would be quoted
            raise ScenarioError(_foreign_problem(file, node, len(keys), expected_keys))
    doc = _Builder(file).build_document(node)
    if not isinstance(doc.data, dict):
        raise ScenarioError(_not_a_mapping(file, node, doc.data, expected_keys))
    return doc


# --------------------------------------------------------------------------- reading and decoding


def _read_bytes(path: Path, name: str, limits: YamlLimits, policy: FilePolicy | None) -> bytes:
    try:
        if policy is not None:
            real = policy.check(path)
        else:
            real = Path(os.path.realpath(path))
            refuse_pseudo(path, real)
        if not os.path.lexists(path):
            looked = f"looked for {plain(path.absolute())}"
            raise ScenarioError(Problem(name, None, None, FILE, "file not found", looked))
        return read_bytes(real, limits.max_bytes)
    except FileRefused as exc:
        hint = "split it up" if "too large" in str(exc) else ""
        raise ScenarioError(Problem(name, None, None, FILE, str(exc), hint)) from None


def _too_large(size: int | None, limit: int) -> str:
    actual = f"{size / 1e6:.1f} MB; " if size is not None else ""
    return f"the file is too large ({actual}limit {limit / 1e6:g} MB)"


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise ScenarioError(
            Problem(name, line, column, FILE, f"the file is not valid UTF-8 text (byte 0x{bad})", "save it as UTF-8")
        ) from None


# --------------------------------------------------------------------------- composing


def _compose(text: str, file: str, limits: YamlLimits) -> Node | None:
    """Parse ``text`` into a node graph (aliases shared), turning every YAML error into a Problem."""
    loader: CoreSafeLoader | None = None
    max_depth = limits.max_depth
    try:
        loader = CoreSafeLoader(text, max_depth=max_depth, max_nodes=limits.max_nodes)
        return loader.get_single_node()  # type: ignore[no-any-return]
    except _Refusal as exc:
        raise ScenarioError(_problem(file, exc.field_name, exc.mark, exc.message, exc.hint)) from None
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError(_syntax_problem(file, exc)) from None
    except yaml.reader.ReaderError as exc:
        raise ScenarioError(_reader_problem(file, text, exc)) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(Problem(file, None, None, SYNTAX, str(exc))) from None
    except RecursionError:
        raise ScenarioError(Problem(file, None, None, NESTING, _depth_message(max_depth), _DEPTH_HINT)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    hint = "check indentation and quoting near here"
    if exc.context and exc.problem:
        started = f" (line {exc.context_mark.line + 1})" if exc.context_mark is not None else ""
        hint = f"{exc.context}{started}; {hint}"
    return _problem(file, SYNTAX, mark, message, hint)


def _reader_problem(file: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    position = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return Problem(
        file, line, column, SYNTAX,
        f"special character U+{exc.character:04X} is not allowed", "remove it or save the file as plain text",
    )


# --------------------------------------------------------------------------- size and depth limits


def _check_size(root: Node, file: str, limits: YamlLimits) -> None:
    """Refuse recursive aliases and documents too big or too deep once aliases are expanded."""
    try:
        _Sizer(limits).measure(root)
    except _Refusal as exc:
        raise ScenarioError(_problem(file, exc.field_name, exc.mark, exc.message, exc.hint)) from None


class _Sizer:
    """Expanded node count and depth of a node graph, memoised on node identity (no expansion)."""

    def __init__(self, limits: YamlLimits) -> None:
        self.limits = limits
        self.done: dict[int, tuple[int, int]] = {}
        self.active: set[int] = set()

    def measure(self, node: Node) -> tuple[int, int]:
        """(node count, depth) of ``node`` with every alias expanded."""
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            raise _Refusal(
                ALIASES, "recursive alias: this value contains itself",
                "an alias may only refer to a finished value", node.start_mark,
            )
        self.active.add(key)
        result = self._measure_children(node)
        self.active.discard(key)
        self.done[key] = result
        return result

    def _measure_children(self, node: Node) -> tuple[int, int]:
        count, depth = 1, 0
        for child in _children(node):
            child_count, child_depth = self.measure(child)
            count += child_count
            depth = max(depth, child_depth)
            if count > self.limits.max_nodes:
                raise _Refusal(
                    ALIASES, f"too many nodes after expanding aliases (limit {self.limits.max_nodes})",
                    "use fewer or smaller aliases", node.start_mark,
                )
        if depth + 1 > self.limits.max_depth:
            raise _Refusal(NESTING, _depth_message(self.limits.max_depth), _DEPTH_HINT, node.start_mark)
        return count, depth + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# --------------------------------------------------------------------------- building the data


class _Builder:
    """Turns a checked node graph into plain data, recording marks and collecting problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.locations: dict[DocPath, Mark] = {}
        self.key_locations: dict[DocPath, Mark] = {}

    def build_document(self, root: Node) -> LocatedDoc:
        data = self.build(root, ())
        if self.problems:
            raise ScenarioError(dict.fromkeys(self.problems))
        return LocatedDoc(data, self.file, self.locations, self.key_locations)

    def refuse(self, path: DocPath, mark: yaml.Mark | None, message: str, hint: str = "") -> None:
        line, column = _mark(mark)
        self.problems.append(Problem(self.file, line, column, format_path(path), message, hint))

    def build(self, node: Node, path: DocPath) -> Any:
        self.locations[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in ALLOWED_TAGS:
            self.refuse(path, node.start_mark, f"tags are not allowed ({_short_tag(node.tag)})", _TAG_HINT)
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode) and node.tag == SEQ:
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode) and node.tag == MAP:
            return self._mapping(node, path)
        self.refuse(path, node.start_mark, f"{_short_tag(node.tag)} does not fit this value")
        return None

    def _scalar(self, node: ScalarNode, path: DocPath) -> Any:
        try:
            return scalar_value(node.tag, node.value)
        except NumberTooLong as exc:
            self.refuse(path, node.start_mark, str(exc), "use a smaller number")
            return None
        except ValueError as exc:
            self.refuse(path, node.start_mark, str(exc), "remove the tag or fix the value")
            return None

    def _mapping(self, node: MappingNode, path: DocPath) -> dict[str | int, Any]:
        result: dict[str | int, Any] = {}
        first_seen: dict[str | int, int] = {}
        for key_node, value_node in _explicit_pairs(node):
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first_seen:
                self._duplicate(key, key_node, first_seen[key], path)
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self._add(result, key, key_node, value_node, path)
        for key_node, value_node in self._merged_pairs(node, path):
            key = self._key(key_node, path)
            if key is not None and key not in result:
                self._add(result, key, key_node, value_node, path)
        return result

    def _add(
        self, result: dict[str | int, Any], key: str | int, key_node: Node, value_node: Node, path: DocPath
    ) -> None:
        self.key_locations[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        result[key] = self.build(value_node, (*path, key))

    def _duplicate(self, key: str | int, key_node: Node, first_line: int, path: DocPath) -> None:
        line = key_node.start_mark.line + 1
        self.refuse(
            (*path, key), key_node.start_mark,
            f"duplicate key {quoted(key)} (first at line {first_line}, again at line {line})",
            "each key may appear only once in a mapping; remove or rename one",
        )

    def _key(self, key_node: Node, path: DocPath) -> str | int | None:
        """The key's value if it is text or an integer; otherwise record a problem."""
        if isinstance(key_node, ScalarNode) and key_node.tag in (STR, INT):
            try:
                value = scalar_value(key_node.tag, key_node.value)
            except ValueError as exc:
                self.refuse(path, key_node.start_mark, str(exc))
                return None
            return value  # type: ignore[no-any-return]
        found = _describe_node(key_node)
        self.refuse(path, key_node.start_mark, f"a mapping key must be text, found {found}", _KEY_HINT)
        return None

    def _merged_pairs(self, node: MappingNode, path: DocPath) -> list[tuple[Node, Node]]:
        """Pairs brought in by ``<<: *anchor`` (or a list of anchors), earlier sources first."""
        pairs: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if not _is_merge_key(key_node):
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode) and source.tag == MAP:
                    pairs.extend(_explicit_pairs(source))
                    pairs.extend(self._merged_pairs(source, path))
                else:
                    self.refuse(
                        (*path, MERGE_KEY), source.start_mark,
                        "'<<' needs a mapping or a list of mappings", "e.g. '<<: *defaults'",
                    )
        return pairs


_TAG_HINT = "write plain values; quote a value to keep it as text, e.g. '08:30'"
_KEY_HINT = "put the key in quotes if it is meant as text"


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.style is None and node.value == MERGE_KEY


def _explicit_pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    return [(k, v) for k, v in node.value if not _is_merge_key(k)]


# --------------------------------------------------------------------------- describing what was found


def _describe_node(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    try:
        return _describe_value(scalar_value(node.tag, node.value))
    except ValueError:
        return quoted(node.value)


def _describe_value(value: object) -> str:
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {quoted(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = str(value)
    return f"the text {quoted(text)}"


def _keys_hint(expected_keys: Iterable[str] | None) -> str:
    keys = list(expected_keys or ())
    if not keys:
        return "expected a mapping of 'key: value' lines"
    return f"expected a mapping with keys such as {', '.join(keys)}"


def _empty_problem(file: str, node: Node | None, expected_keys: Iterable[str] | None) -> Problem:
    mark = node.start_mark if node is not None else None
    line, column = _mark(mark) if mark is not None else (None, None)
    return Problem(file, line, column, TOP_LEVEL, f"the file is empty; {_keys_hint(expected_keys)}")


def _foreign(keys: list[str], expected_keys: list[str]) -> bool:
    """No key is a field, nor close to one (a misspelt scenario still gets its "did you mean")."""
    return bool(keys) and not any(k in expected_keys or closest(k, expected_keys) for k in keys)


def _foreign_problem(file: str, node: Node, keys: int, expected_keys: Iterable[str]) -> Problem:
    """A mapping none of whose keys is a field: some other file (``/etc/passwd`` reads as one). One
    problem, quoting none of its keys: listing them would repeat the file line by line."""
    line, column = _mark(node.start_mark)
    return Problem(file, line, column, TOP_LEVEL,
                   ("its only top-level key is not" if keys == 1 else f"none of its {keys:,} top-level keys is")
                   + " a field of this kind of file, so it is not one (its keys are not repeated here)",
                   _keys_hint(expected_keys))


def _not_a_mapping(file: str, node: Node, data: object, expected_keys: Iterable[str] | None) -> Problem:
    line, column = _mark(node.start_mark)
    return Problem(
        file, line, column, TOP_LEVEL,
        f"the top level must be a mapping ('key: value' lines), found {_describe_value(data)}",
        _keys_hint(expected_keys),
    )
