"""Located input errors: ``file:line:col: field.path: message (hint)``, never a traceback.

Scenario and experiment files are written by hand, so every complaint about them is a
:class:`Problem` that names the file, the line and column, the dotted field path and, where we can
guess it, a hint ("did you mean 'rate'?"). A :class:`ScenarioError` carries one or more problems.

:func:`located_validation_error` turns a :class:`pydantic.ValidationError` raised while validating
the data of a :class:`~servsim.scenario.yamlio.LocatedDoc` into a :class:`ScenarioError`. Pydantic
locations (``loc``) mix keys that are in the document with names that are not (discriminator tags,
union member names, validator names); only the keys present in the document make up the field
path and the line/column.
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
_MAX_INPUT_REPR = 40
_MSG_PREFIXES = ("Value error, ", "Assertion failed, ")
_QUOTED = re.compile(r"'([^']*)'")

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, at a place in it."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str = ""

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
    """A scenario or experiment file cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        self.problems: list[Problem] = (
            [problems] if isinstance(problems, Problem) else list(problems)
        )
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


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
            text += f".{item}" if text else str(item)
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
    return Problem(doc.file, line, column, format_path(path), f"unknown field {key!r}", hint)


def _missing_problem(doc: LocatedDoc, key: object, parent: Loc, path: Loc) -> Problem:
    """A required key is absent: point at the mapping that should contain it."""
    line, column = doc.where(parent)
    return Problem(
        doc.file, line, column, format_path(path),
        f"required field {str(key)!r} is missing", f"add '{key}: ...' to this section",
    )


def _message(err: Mapping[str, Any]) -> str:
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
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else ""


def _ctx_hint(kind: str, ctx: Mapping[str, Any], value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        value = "a huge number"  # str() refuses ints beyond 4300 digits
    if kind == "union_tag_invalid":
        return _choice_hint(str(ctx.get("tag", value)), str(ctx.get("expected_tags", "")))
    if kind in {"literal_error", "enum"}:
        return _choice_hint(str(value), str(ctx.get("expected", "")))
    if kind == "union_tag_not_found":
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
