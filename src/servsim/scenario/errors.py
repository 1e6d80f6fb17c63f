"""Located input errors: ``file:line:col: field.path: message (hint)``, never a traceback.

Scenario and experiment files are written by hand, so every complaint about them is a
:class:`Problem` that names the file, the line and column, the dotted field path and, where we can
guess it, a hint ("did you mean 'rate'?"). A :class:`ScenarioError` carries one or more problems.

:func:`located_validation_error` turns a :class:`pydantic.ValidationError` raised while validating
the data of a :class:`~servsim.scenario.yamlio.LocatedDoc` into a :class:`ScenarioError`. Pydantic
locations (``loc``) mix keys that are in the document with names that are not (discriminator tags,
union member names, validator names); only the keys present in the document make up the field
path and the line/column.

Input files may be anything a path points at, so nothing of their content reaches a message
unchecked: :func:`quoted` is the one way a message shows a piece of input (a key, a value, a column
name, a line) — at most ``QUOTE_LIMIT`` characters, control characters escaped, rich-markup tags
defused — and every :class:`Problem` escapes control characters in all its parts, so a newline in a
file name or a key can never forge another problem line. A :class:`ScenarioError` lists at most
``MAX_PROBLEMS`` problems, then one line saying how many more there are.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union

import pydantic

if TYPE_CHECKING:
    from servsim.scenario.yamlio import LocatedDoc

TOP_LEVEL = "(top level)"
MORE = "(more)"
#: Most characters of input (file content, a key, a value) quoted in one place of a message.
QUOTE_LIMIT = 40
#: Longest key shown in a field path (a name is at most 64 characters).
_KEY_LIMIT = 64
#: Most problems listed for one error; the rest are counted in one last line.
MAX_PROBLEMS = 20
#: Longest message or hint of a problem.
MAX_TEXT = 1000
_MSG_PREFIXES = ("Value error, ", "Assertion failed, ")
_QUOTED = re.compile(r"'([^']*)'")

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

# Characters that move the cursor, end a line or change how a terminal draws what follows: C0 and
# C1 controls, DEL, Unicode line/paragraph separators and the bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What rich would read as a markup tag: '[' then a letter, '#', '/' or '@' ... ']'.
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-zA-Z#/@][^\[\]]*\])")


def plain(text: object) -> str:
    """``text`` on one line: every control character written as an escape (``\\n``, ``\\x1b``,
    ``\\u2028``), so that it shows what was there and can neither end the line nor drive a terminal."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), repr(m.group())[1:-1]), str(text))


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A piece of input as a message quotes it: in quotes, on one line, at most ``limit`` characters
    of it (then ``...``), rich-markup tags defused (``[bold]`` -> ``\\[bold]``).

    The one helper for every key, value, column name or line of a file that a message repeats."""
    if not isinstance(value, str):
        return excerpt(_plain_repr(value), limit)
    return _defused(plain(repr(value[:limit]))) + ("..." if len(value) > limit else "")


def excerpt(text: object, limit: int = QUOTE_LIMIT) -> str:
    """Like :func:`quoted`, without the quotes: for text shown as a list (``columns are a, b``)."""
    text = str(text)
    return _defused(plain(text[:limit])) + ("..." if len(text) > limit else "")


def _defused(text: str) -> str:
    return _MARKUP_TAG.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)


def _plain_repr(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a number of more than 38 digits"  # repr() refuses ints beyond 4300 digits
    try:
        return repr(value)
    except Exception:  # pragma: no cover - defensive: a value whose repr fails
        return f"a {type(value).__name__}"


def _bounded(text: str) -> str:
    """A message part on one line and at most ``MAX_TEXT`` characters."""
    text = plain(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, at a place in it."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str = ""

    def __post_init__(self) -> None:
        # every part on one line, so a newline in a file name or a key cannot forge a problem line
        object.__setattr__(self, "file", plain(self.file))
        object.__setattr__(self, "field", plain(self.field)[:MAX_TEXT])
        object.__setattr__(self, "message", _bounded(self.message))
        object.__setattr__(self, "hint", _bounded(self.hint))

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        parts = [p for p in (place, self.field) if p]
        text = ": ".join([*parts, self.message])
        return f"{text} ({self.hint})" if self.hint else text


class ScenarioError(Exception):
    """A scenario or experiment file cannot be used; ``problems`` says where and why.

    At most ``MAX_PROBLEMS`` problems are kept, and then one more that counts the rest and points
    at the first of them: a broken file of thousands of lines gives a readable list.
    """

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        listed = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems: list[Problem] = _capped(listed)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def _capped(problems: list[Problem]) -> list[Problem]:
    """The first ``MAX_PROBLEMS`` problems and one line counting the rest (kept when re-wrapped)."""
    counted = [p for p in problems if p.field != MORE]
    markers = [p for p in problems if p.field == MORE]
    extra = max(0, len(counted) - MAX_PROBLEMS) + sum(_more_count(p) for p in markers)
    if not extra:
        return counted
    first = counted[MAX_PROBLEMS] if len(counted) > MAX_PROBLEMS else markers[0]
    more = Problem(first.file, first.line, None, MORE, f"... and {extra} more problem{'s' if extra != 1 else ''}",
                   "fix the ones above first")
    return [*counted[:MAX_PROBLEMS], more]


def _more_count(problem: Problem) -> int:
    match = re.search(r"and (\d+) more", problem.message, re.ASCII)
    return int(match.group(1)) if match else 0


#: The same error, for code that reads experiment files rather than scenarios.
InputError = ScenarioError


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``name`` (typo correction), or None if none is close."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return matches[0] if matches else None


def format_path(path: Sequence[object]) -> str:
    """``('pools', 0, 'skills')`` -> ``'pools[0].skills'``; the empty path is ``'(top level)'``."""
    text = ""
    for item in path:
        if isinstance(item, int) and not isinstance(item, bool):
            text += f"[{item}]"
        else:
            key = excerpt(item, _KEY_LIMIT)  # a key is input too: a hostile one is shortened
            text += f".{key}" if text else key
    return text or TOP_LEVEL


def validate_doc(
    doc: LocatedDoc, model: type[ModelT], context: dict[str, Any] | None = None
) -> ModelT:
    """Validate ``doc.data`` as ``model``; validation errors become a located ScenarioError."""
    try:
        return model.model_validate(doc.data, context=context)
    except pydantic.ValidationError as exc:
        raise located_validation_error(exc, doc, model) from None


def located_validation_error(
    exc: pydantic.ValidationError, doc: LocatedDoc, model: type[pydantic.BaseModel]
) -> ScenarioError:
    """Convert every error of ``exc`` into a located :class:`Problem`. Never raises itself."""
    try:
        errors = exc.errors(include_url=False)
    except Exception:  # pragma: no cover - defensive: a broken error object
        return ScenarioError(Problem(doc.file, None, None, TOP_LEVEL, str(exc)))
    return ScenarioError([_safe_problem(err, doc, model) for err in errors])


# --------------------------------------------------------------------------- one pydantic error


def _safe_problem(err: Mapping[str, Any], doc: LocatedDoc, model: type[pydantic.BaseModel]) -> Problem:
    """:func:`_problem`, or a plain unlocated problem if anything about ``err`` is unexpected."""
    try:
        return _problem(err, doc, model)
    except Exception:
        loc = err.get("loc", ()) if isinstance(err, Mapping) else ()
        field = ".".join(str(x) for x in loc) if isinstance(loc, (tuple, list)) else TOP_LEVEL
        message = str(err.get("msg", "invalid value")) if isinstance(err, Mapping) else str(err)
        return Problem(getattr(doc, "file", "<input>"), None, None, field or TOP_LEVEL, message)


def _problem(err: Mapping[str, Any], doc: LocatedDoc, model: type[pydantic.BaseModel]) -> Problem:
    loc: Loc = tuple(err.get("loc") or ())
    kind = str(err.get("type", ""))
    steps = list(_walk(doc.data, loc))
    path: Loc = tuple(item for item, found in steps if found and isinstance(item, (str, int)))
    last_found = bool(steps) and steps[-1][1]
    if kind == "extra_forbidden" and loc:
        return _extra_problem(doc, model, loc, path if last_found else (*path, loc[-1]))
    if kind == "missing" and loc:
        return _missing_problem(doc, loc[-1], path, path if last_found else (*path, loc[-1]))
    misspelt = _misspelt_tag(err) if last_found else None
    if misspelt is not None:
        # a misspelt kind key (``dsit`` for ``dist``): located at the key, as any unknown field
        key, tag = misspelt
        line, column = doc.where_key((*path, key))
        return Problem(doc.file, line, column, format_path((*path, key)), _message(err),
                       f"valid fields: {tag} (which kind this is), then that kind's own")
    line, column = doc.where(path)
    hint = _ctx_hint(kind, err.get("ctx") or {}, err.get("input"))
    return Problem(doc.file, line, column, format_path(path), _message(err), hint)


def _extra_problem(doc: LocatedDoc, model: type[pydantic.BaseModel], loc: Loc, path: Loc) -> Problem:
    """An unknown key: point at the key itself and suggest the closest valid field."""
    key = str(loc[-1])
    line, column = doc.where_key(path)
    valid = allowed_fields(model, doc.data, loc[:-1])
    guess = closest(key, valid)
    listing = f"valid fields: {', '.join(valid)}" if valid else "remove it"
    hint = (f"did you mean {guess!r}? " if guess else "") + listing
    return Problem(doc.file, line, column, format_path(path), f"unknown field {quoted(key)}", hint)


def _missing_problem(doc: LocatedDoc, key: object, parent: Loc, path: Loc) -> Problem:
    """A required key is absent: point at the mapping that should contain it."""
    line, column = doc.where(parent)
    return Problem(
        doc.file, line, column, format_path(path),
        f"required field {quoted(str(key))} is missing", f"add '{plain(key)}: ...' to this section",
    )


def _misspelt_tag(err: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key as written, tag) when a mapping lacks its discriminator but has a key close to it
    (``DIST`` or ``dsit`` for ``dist``)."""
    tag = str((err.get("ctx") or {}).get("discriminator", "")).strip("'\"")
    value = err.get("input")
    if err.get("type") != "union_tag_not_found" or not tag or not isinstance(value, Mapping):
        return None
    keys = [str(k) for k in value]
    near = next((k for k in keys if k.lower() == tag.lower()), None) or closest(tag, keys)
    return (near, tag) if near is not None else None


def _message(err: Mapping[str, Any]) -> str:
    if err.get("type") == "union_tag_invalid":  # pydantic's text repeats the tag in full
        ctx = err.get("ctx") or {}
        return f"unknown {ctx.get('discriminator', 'kind')} {quoted(ctx.get('tag', err.get('input')))}"
    misspelt = _misspelt_tag(err)
    if misspelt is not None:
        return f"unknown field {quoted(misspelt[0])} (did you mean {misspelt[1]!r}?)"
    if err.get("type") == "union_tag_not_found":
        return f"no {(err.get('ctx') or {}).get('discriminator', 'kind')} entry"
    msg = str(err.get("msg", "invalid value"))
    for prefix in _MSG_PREFIXES:
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    value = err.get("input")
    shown = _short_repr(value)
    if shown and shown not in msg and not (isinstance(value, str) and value and value in msg):
        msg += f", got {shown}"
    return msg


def _short_repr(value: object) -> str:
    if value is None or not isinstance(value, (str, int, float, bool)):
        return ""
    if isinstance(value, int) and value.bit_length() > 128:
        return ""  # too long to show (and repr() refuses ints beyond 4300 digits)
    shown = quoted(value)
    return "" if shown.endswith("...") else shown  # a long value is not worth repeating


def _ctx_hint(kind: str, ctx: Mapping[str, Any], value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        value = "a huge number"  # str() refuses ints beyond 4300 digits
    if kind == "union_tag_invalid":
        return _choice_hint(str(ctx.get("tag", value)), str(ctx.get("expected_tags", "")))
    if kind in {"literal_error", "enum"}:
        return _choice_hint(str(value), str(ctx.get("expected", "")))
    if kind == "union_tag_not_found":
        if isinstance(value, Mapping) and _misspelt_tag({"type": kind, "ctx": ctx, "input": value}):
            return ""  # the message already names the fix
        return f"add a {ctx.get('discriminator', 'kind')} entry that says which kind this is"
    return ""


def _choice_hint(given: str, expected: str) -> str:
    choices = _QUOTED.findall(expected)
    guess = closest(given, choices) if choices else None
    listing = ", ".join(choices) if choices else expected
    return (f"did you mean {guess!r}? " if guess else "") + (f"expected one of: {listing}" if listing else "")


# --------------------------------------------------------------------------- loc -> document path


def _present(node: object, item: object) -> tuple[bool, object]:
    """Whether ``item`` is a key/index of ``node`` in the data, and the value there."""
    if isinstance(node, Mapping):
        try:
            return (item in node, node.get(item))
        except TypeError:
            return (False, None)
    if isinstance(node, list) and isinstance(item, int) and not isinstance(item, bool):
        return (0 <= item < len(node), node[item] if 0 <= item < len(node) else None)
    return (False, None)


def _walk(data: object, loc: Iterable[object]) -> Iterator[tuple[object, bool]]:
    """Yield ``(item, present)`` for each loc item, following the data where it is present."""
    node = data
    for item in loc:
        found, value = _present(node, item)
        if found:
            node = value
        yield item, found


# --------------------------------------------------------------------------- valid field names


def allowed_fields(model: type[pydantic.BaseModel], data: object, loc: Iterable[object]) -> list[str]:
    """Field names (aliases if set) valid in the mapping at ``loc``; [] if it cannot be told."""
    try:
        candidates: list[Any] = [model]
        for item, found in _walk(data, loc):
            candidates = _advance(candidates, item, found)
        return _field_names(_expand_all(candidates))
    except Exception:
        return []


def _advance(candidates: list[Any], item: object, found: bool) -> list[Any]:
    expanded = _expand_all(candidates)
    if found:
        return [nxt for c in expanded for nxt in _step(c, item)]
    narrowed = [c for c in expanded if _is_labelled(c, item)]
    return narrowed or expanded


def _expand_all(candidates: Iterable[Any]) -> list[Any]:
    return [t for c in candidates for t in _expand(c)]


def _expand(tp: Any) -> list[Any]:
    """Unwrap Annotated, type aliases, Optional and unions into plain member types."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _expand(typing.get_args(tp)[0])
    if origin is Union or isinstance(tp, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _expand(arg)]
    alias_value = getattr(tp, "__value__", None)
    if alias_value is not None and type(tp).__name__ == "TypeAliasType":
        return _expand(alias_value)
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _field_key(name: str, info: Any) -> str:
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    return alias or name


def _step(tp: Any, item: object) -> list[Any]:
    """The type(s) of ``tp[item]``; [] if ``tp`` has no such member."""
    if _is_model(tp):
        fields = tp.model_fields.items()
        return [info.annotation for name, info in fields if item in (name, _field_key(name, info))]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is None or not isinstance(origin, type):
        return []
    if issubclass(origin, Mapping) and len(args) == 2:
        return [args[1]]
    if issubclass(origin, tuple) and args and isinstance(item, int):
        if len(args) == 2 and args[1] is Ellipsis:
            return [args[0]]
        return [args[item]] if 0 <= item < len(args) else []
    if issubclass(origin, (Sequence, set, frozenset)) and args and isinstance(item, int):
        return [args[0]]
    return []


def _is_labelled(tp: Any, label: object) -> bool:
    """Whether a union member is the one pydantic names ``label`` (class name or tag value)."""
    if getattr(tp, "__name__", None) == label:
        return True
    return _is_model(tp) and any(
        label in _literal_values(info.annotation) for info in tp.model_fields.values()
    )


def _literal_values(annotation: Any) -> set[object]:
    """Values (and their str forms, as used in pydantic tags) of Literal members of a type."""
    values: set[object] = set()
    for member in _expand(annotation):
        if typing.get_origin(member) is Literal:
            for value in typing.get_args(member):
                values.update((value, str(value)))
    return values


def _field_names(candidates: Iterable[Any]) -> list[str]:
    names: dict[str, None] = {}
    for tp in candidates:
        if _is_model(tp):
            for name, info in tp.model_fields.items():
                names.setdefault(_field_key(name, info), None)
    return list(names)
