"""Change a scenario *as data* — the plain dict read from YAML — by dotted path.

An experiment option is a list of changes to a base scenario: set a value, scale a value, add agents
in some intervals, merge a patch. They work on the data *before* validation, so the changed scenario
goes through the same schema, checks and located messages as a hand-written one. Every function
here returns a new deep copy and never mutates its input.

Path syntax
-----------
* keys separated by dots: ``pools.tellers.agents``, ``channels.phone.arrivals.daily_volume``;
* list items by index: ``pools.tellers.schedule[3]`` or ``pools.tellers.schedule.3`` (0-based);
* a path that ends at a list names the whole list: ``pools.tellers.schedule``;
* a key that contains a dot, a bracket or starts/ends with a space goes in quotes inside brackets:
  ``pools["night.shift"].agents``.

A digit segment such as ``.3`` is a list index when the value there is a list, and a key otherwise
(the text key ``"3"`` or, failing that, the integer key ``3``).

Errors
------
Every mistake is a :class:`PathError` (a :class:`ValueError`) whose message starts with the path and
says what is wrong, e.g. ``pools.teller.agents: 'teller' not found under 'pools'; did you mean
'pools.tellers.agents'? valid: tellers, specialists``.

Type checks (:func:`set_path`)
------------------------------
A new value must be of the same kind as the value it replaces: number (int and float mix freely),
text, duration (``"3min"``), rate (``"9.5/min"``), clock time (``"08:30"``), boolean, list or
mapping. ``None`` (YAML ``null``) may replace anything, and anything may replace ``None``. Fields
the schema lets take two shapes (a step's ``next``: a name or a mapping; a skill: a number or a
mapping) need ``check_type=False`` or :func:`merge_patch` to switch shape.

Scaling (:func:`scale_path`)
----------------------------
Numbers, lists of numbers (element-wise), durations and rates (``"3min" * 1.5 -> "4.5min"``, the
unit text kept as written) can be scaled. Whole-number **counts** (``agents``, ``schedule``,
``days``, ``k``) stay whole: ``x * factor`` is rounded to the nearest integer, halves up (a headcount
of 5 scaled by 1.1 becomes 6); every other number keeps its fraction (a ``daily_volume`` of 1424
scaled by 1.1 is 1566.4).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from servsim.scenario.errors import closest, excerpt
from servsim.units import format_clock, parse_clock, parse_duration, parse_rate

#: One resolved step of a path: a mapping key (text, or an integer key) or a list index.
Key = str | int
Data = dict[str, Any]

PATH_HINT = "write keys separated by dots, e.g. 'pools.tellers.agents' or 'pools.tellers.schedule[3]'"
HORIZON_DEFAULTS: dict[str, str] = {"start": "00:00", "end": "24:00", "interval": "30min"}
_MAX_LISTED = 12
_EPS = 1e-9

_PART = re.compile(
    r"""\[\s*(?:(?P<index>[0-9]+)|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*\]|(?P<name>[^.\[\]"']+)""", re.ASCII
)
_PLAIN_KEY = re.compile(r"[^.\[\]\"'\s](?:[^.\[\]\"']*[^.\[\]\"'\s])?")
_DIGITS = re.compile(r"\d+", re.ASCII)
_LEADING_NUMBER = re.compile(r"^(\s*)([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)(.*)$",
                             re.DOTALL | re.ASCII)


class PathError(ValueError):
    """A path that does not fit the data, or a change that does not fit the value there.

    ``path`` is the path as given, ``detail`` what is wrong, ``suggestion`` the closest valid path
    (or None); ``str(error)`` is ``"<path>: <detail>"``.
    """

    def __init__(self, path: str, detail: str, suggestion: str | None = None) -> None:
        super().__init__(path, detail, suggestion)
        self.path = path
        self.detail = detail
        self.suggestion = suggestion

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


# --------------------------------------------------------------------------- path text


def parse_path(path: str) -> tuple[Key, ...]:
    """Split a path into its segments: ``'a.b[2]'`` -> ``('a', 'b', 2)``; see the module docstring."""
    if not isinstance(path, str) or not path.strip():
        raise PathError(repr(path), f"not a path; {PATH_HINT}")
    text = path.strip()
    tokens: list[Key] = []
    pos = 0
    while True:
        match = _PART.match(text, pos)
        if match is None:
            raise PathError(text, f"cannot read the path at character {pos + 1}; {PATH_HINT}")
        tokens.append(_token(match))
        pos = match.end()
        if pos == len(text):
            return tuple(tokens)
        if text[pos] == ".":
            pos += 1
        elif text[pos] != "[":
            raise PathError(text, f"cannot read the path at character {pos + 1}; {PATH_HINT}")


def _token(match: re.Match[str]) -> Key:
    if match["index"] is not None:
        return int(match["index"])
    for group in ("dq", "sq", "name"):
        if match[group] is not None:
            return match[group]
    raise AssertionError("unreachable: the pattern has no other groups")  # pragma: no cover


def join_path(keys: Sequence[Key]) -> str:
    """The path text of resolved keys: ``('pools', 'a.b', 'schedule', 3)`` -> ``pools["a.b"].schedule[3]``."""
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        elif _PLAIN_KEY.fullmatch(key):
            text += f".{key}" if text else key
        else:
            text += f"['{key}']" if '"' in key else f'["{key}"]'
    return text


def _where(keys: Sequence[Key]) -> str:
    """``"under 'pools.tellers'"`` or ``'at the top level'``."""
    return f"under {join_path(keys)!r}" if keys else "at the top level"


# --------------------------------------------------------------------------- resolving


def _as_index(token: Key) -> int | None:
    if isinstance(token, int):
        return token
    return int(token) if _DIGITS.fullmatch(token) else None


def _lookup(node: Any, token: Key) -> Key | None:
    """The key or index of ``node`` that ``token`` names, or None if there is none."""
    if isinstance(node, dict):
        if token in node:
            return token
        alternative: Key | None = str(token) if isinstance(token, int) else _as_index(token)
        return alternative if alternative is not None and alternative in node else None
    if isinstance(node, list):
        index = _as_index(token)
        return index if index is not None and index < len(node) else None
    return None


def _try_resolve(data: Any, tokens: Sequence[Key]) -> list[Key] | None:
    """Resolved keys for ``tokens``, or None if the data has no such path."""
    keys: list[Key] = []
    node = data
    for token in tokens:
        key = _lookup(node, token)
        if key is None:
            return None
        keys.append(key)
        node = node[key]
    return keys


def _resolve(data: Any, path: str, tokens: Sequence[Key]) -> list[Key]:
    """Resolved keys for ``tokens``; a :class:`PathError` naming the first missing segment if not."""
    keys: list[Key] = []
    node = data
    for token in tokens:
        key = _lookup(node, token)
        if key is None:
            raise _not_found(data, path, tokens, keys, node)
        keys.append(key)
        node = node[key]
    return keys


def _value_at(data: Any, keys: Sequence[Key]) -> Any:
    node = data
    for key in keys:
        node = node[key]
    return node


def _not_found(
    data: Any, path: str, tokens: Sequence[Key], keys: list[Key], node: Any, hint: str = ""
) -> PathError:
    """The error for ``tokens[len(keys)]`` missing from ``node`` (the value at ``keys``)."""
    token = tokens[len(keys)]
    where = _where(keys)
    if isinstance(node, dict):
        return _missing_key(data, path, tokens, keys, node, hint)
    if isinstance(node, list):
        valid = f"valid: 0..{len(node) - 1}" if node else "the list is empty"
        what = f"index {token} is out of range" if _as_index(token) is not None else f"{token!r} is not an index"
        return PathError(path, f"{what} {where}, a list of {len(node)} items; {valid}{hint}")
    return PathError(path, f"{token!r} not found: {join_path(keys)!r} is {describe(node)}, not a mapping or list")


def _missing_key(
    data: Any, path: str, tokens: Sequence[Key], keys: list[Key], node: dict[Any, Any], hint: str
) -> PathError:
    token = tokens[len(keys)]
    names = [str(k) for k in node]
    guess = closest(str(token), names)
    suggestion = _suggest(data, tokens, keys, node, guess) if guess is not None else None
    text = f"{token!r} not found {_where(keys)}"
    text += f"; did you mean {suggestion!r}?" if suggestion is not None else ";"
    text += f" valid: {_listing(names)}" if names else " it is empty"
    return PathError(path, text + hint, suggestion)


def _suggest(data: Any, tokens: Sequence[Key], keys: list[Key], node: dict[Any, Any], guess: str) -> str:
    """The corrected full path if it exists, else the path up to the corrected segment."""
    key = next(k for k in node if str(k) == guess)
    rest = tokens[len(keys) + 1:]
    tail = _try_resolve(node[key], rest)
    return join_path([*keys, key, *(tail if tail is not None else [])])


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(excerpt(n) for n in names[:_MAX_LISTED])
    return shown + (f", ... ({len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


# --------------------------------------------------------------------------- kinds of values


def unit_kind(text: str) -> str | None:
    """``'clock time'``, ``'rate'`` or ``'duration'`` if ``text`` parses as one, else None."""
    for kind, parse in (("clock time", parse_clock), ("rate", parse_rate), ("duration", parse_duration)):
        try:
            parse(text)
        except ValueError:
            continue
        return kind
    return None


def kind_of(value: Any) -> str:
    """The kind of a YAML value, as the type checks compare it (see the module docstring)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return unit_kind(value) or "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def describe(value: Any) -> str:
    """``'a number (1424)'``, ``"a rate ('9.5/min')"``, ``'a list'`` ... for messages."""
    kind = kind_of(value)
    if kind == "null":
        return "null"
    if kind in {"list", "mapping"}:
        return f"a {kind}"
    article = "an" if kind[0] in "aeiou" else "a"
    shown = repr(value) if not isinstance(value, bool) else str(value).lower()
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{'' if kind == 'text' else article + ' '}{kind} ({shown})"


def _compatible(old: Any, new: Any) -> bool:
    return old is None or new is None or kind_of(old) == kind_of(new)


def _check_type(path: str, old: Any, new: Any) -> None:
    if not _compatible(old, new):
        raise PathError(
            path, f"type mismatch: the value there is {describe(old)}, the new value is {describe(new)}"
        )
    if isinstance(old, list) and isinstance(new, list):
        _check_items(path, old, new)


def _check_items(path: str, old: list[Any], new: list[Any]) -> None:
    """Items of a new list must match the one kind the old list's items share (if they share one)."""
    kinds = {kind_of(v) for v in old}
    if len(kinds) != 1 or kinds & {"null", "list", "mapping"}:
        return
    model = old[0]
    for i, item in enumerate(new):
        if not _compatible(model, item):
            raise PathError(
                path, f"type mismatch at item {i}: items there are like {describe(model)}, got {describe(item)}"
            )


# --------------------------------------------------------------------------- get / set


def _copy(data: Mapping[str, Any]) -> Data:
    if not isinstance(data, Mapping):
        raise TypeError(f"scenario data must be a mapping, got {type(data).__name__}")
    return copy.deepcopy(dict(data))


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (a deep copy, so changing it cannot change ``data``)."""
    keys = _resolve(data, path, parse_path(path))
    return copy.deepcopy(_value_at(data, keys))


def canonical_path(data: Mapping[str, Any], path: str) -> str:
    """The one spelling of the field ``path`` names in ``data`` (``pools["a"].schedule.3`` ->
    ``pools.a.schedule[3]``), so that two spellings of one field can be told apart from two fields;
    a :class:`PathError` if there is no such field."""
    return join_path(_resolve(data, path, parse_path(path)))


def has_path(data: Mapping[str, Any], path: str) -> bool:
    """Whether ``path`` names a value in ``data``."""
    return _try_resolve(data, parse_path(path)) is not None


def set_path(
    data: Mapping[str, Any], path: str, value: Any, *, create: bool = False, check_type: bool = True
) -> Data:
    """A copy of ``data`` with ``value`` at ``path``.

    The parent of the leaf must exist. A missing leaf key is added only with ``create=True`` (lists
    do not grow by path: set the whole list). With ``check_type`` the new value must be of the kind
    of the old one (see the module docstring).
    """
    tokens = parse_path(path)
    out = _copy(data)
    parent_keys = _resolve(out, path, tokens[:-1])
    parent = _value_at(out, parent_keys)
    key = _lookup(parent, tokens[-1])
    if key is None and create and isinstance(parent, dict):
        parent[str(tokens[-1])] = copy.deepcopy(value)
        return out
    if key is None:
        hint = " (pass create=True to add a new key)" if isinstance(parent, dict) else ""
        raise _not_found(out, path, tokens, parent_keys, parent, hint)
    if check_type:
        _check_type(path, parent[key], value)
    parent[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------- scale


def scale_path(data: Mapping[str, Any], path: str, factor: float) -> Data:
    """A copy of ``data`` with the value at ``path`` multiplied by ``factor`` (>= 0).

    Numbers, lists of numbers or of durations/rates (element-wise), durations and rates; integers
    are rounded to the nearest whole number, halves up (see the module docstring).
    """
    _check_factor(path, factor)
    tokens = parse_path(path)
    out = _copy(data)
    keys = _resolve(out, path, tokens)
    parent = _value_at(out, keys[:-1])
    parent[keys[-1]] = _scaled(path, keys, parent[keys[-1]], float(factor))
    return out


def _check_factor(path: str, factor: float) -> None:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise PathError(path, f"the scale factor must be a number, got {factor!r}")
    if not math.isfinite(factor) or factor < 0:
        raise PathError(path, f"the scale factor must be finite and >= 0, got {factor!r}")


def _scaled(path: str, keys: Sequence[Key], value: Any, factor: float) -> Any:
    if isinstance(value, list):
        return [_scale_scalar(f"{path}[{i}]", item, factor, keys) for i, item in enumerate(value)]
    if isinstance(value, dict):
        leaves = [join_path([*keys, *sub]) for sub in _leaf_keys(value, ())]
        raise PathError(path, f"cannot scale a mapping; scale a value inside it: {_listing(leaves)}")
    return _scale_scalar(path, value, factor, keys)


#: Fields that count whole things (people, days, phases): scaled values are rounded to integers.
COUNT_FIELDS = frozenset({"agents", "schedule", "days", "k"})


def _scale_scalar(path: str, value: Any, factor: float, keys: Sequence[Key] = ()) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PathError(path, f"cannot scale {describe(value)}; only numbers, durations and rates")
    if isinstance(value, int) and _counts(keys):
        return round_half_up(value * factor)
    if isinstance(value, (int, float)):
        return value * factor
    return _scale_text(path, value, factor)


def _counts(keys: Sequence[Key]) -> bool:
    names = [k for k in keys if isinstance(k, str)]
    return bool(names) and names[-1] in COUNT_FIELDS


def round_half_up(x: float) -> int:
    """The nearest whole number, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _scale_text(path: str, text: str, factor: float) -> str:
    """``'9.5/min' * 1.1 -> '10.45/min'``: the number scaled, the unit text kept as written."""
    kind = unit_kind(text)
    match = _LEADING_NUMBER.match(text)
    if kind not in {"duration", "rate"} or match is None:
        raise PathError(
            path, f"cannot scale {describe(text)}; only numbers, durations ('3min') and rates ('9.5/min')"
        )
    return f"{match[1]}{format_number(float(match[2]) * factor)}{match[3]}"


def format_number(x: float) -> str:
    """Short text for a number (12 significant digits): ``10.450000000000001 -> '10.45'``, ``6.0 -> '6'``."""
    rounded = float(f"{x:.12g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return repr(rounded)


# --------------------------------------------------------------------------- add agents


def add_agents(
    data: Mapping[str, Any], pool: str, count: int, start: str | None = None, end: str | None = None
) -> Data:
    """A copy of ``data`` with ``count`` more agents in ``pool`` during ``[start, end)`` every day.

    ``start``/``end`` are clock times (default: the horizon's daily window). Every reporting interval
    that overlaps ``[start, end)`` gets ``count`` more in the pool's per-interval ``schedule``; a
    pool without a ``schedule`` gets one: ``agents`` moves into it (``agents: 5`` becomes ``[5, 5,
    ...]``), or it starts at zeros (a pool staffed by ``shifts``). Interval boundaries come from
    ``horizon.start``, ``horizon.end`` and ``horizon.interval`` (defaults 00:00, 24:00, 30min).
    A negative ``count`` removes agents; no interval may drop below zero.
    """
    pool_path = join_path(("pools", pool))
    if isinstance(count, bool) or not isinstance(count, int):
        raise PathError(pool_path, f"the number of agents to add must be a whole number, got {count!r}")
    out = _copy(data)
    entry = _value_at(out, _resolve(out, pool_path, ("pools", pool)))
    if not isinstance(entry, dict):
        raise PathError(pool_path, f"a pool must be a mapping, found {describe(entry)}")
    grid = interval_grid(out)
    first, stop = _interval_span(pool_path, grid, start, end)
    schedule = _schedule_of(pool_path, entry, grid)
    for i in range(first, stop):
        schedule[i] += count
        if schedule[i] < 0:
            raise PathError(pool_path, f"removing {-count} agents leaves {schedule[i]} in interval {i}")
    entry["schedule"] = schedule
    return out


def interval_grid(data: Mapping[str, Any]) -> tuple[float, float, int]:
    """``(start, interval, count)`` of the horizon's reporting intervals, in seconds."""
    horizon = data.get("horizon") or {}
    if not isinstance(horizon, dict):
        raise PathError("horizon", f"expected a mapping, found {describe(horizon)}")
    start = _horizon_value(horizon, "start", parse_clock)
    end = _horizon_value(horizon, "end", parse_clock)
    interval = _horizon_value(horizon, "interval", parse_duration)
    count = round((end - start) / interval) if interval > 0 else 0
    if count < 1 or abs(count * interval - (end - start)) > _EPS:
        raise PathError("horizon", "the interval must divide the daily window start..end into whole intervals")
    return start, interval, count


def _horizon_value(horizon: dict[str, Any], name: str, parse: Callable[[str], float]) -> float:
    try:
        return parse(horizon.get(name, HORIZON_DEFAULTS[name]))
    except ValueError as exc:
        raise PathError(f"horizon.{name}", str(exc)) from None


def _interval_span(
    path: str, grid: tuple[float, float, int], start: str | None, end: str | None
) -> tuple[int, int]:
    """``(first, stop)``: indices of the intervals that overlap ``[start, end)``."""
    origin, interval, count = grid
    close = origin + count * interval
    lo = origin if start is None else _clock(path, "start", start)
    hi = close if end is None else _clock(path, "end", end)
    if not origin <= lo < hi <= close:
        window = f"{format_clock(origin)}-{format_clock(close)}"
        span = f"[{format_clock(lo)}, {format_clock(hi)})"
        raise PathError(path, f"{span} must be a non-empty span inside the daily window {window}")
    return math.floor((lo - origin) / interval + _EPS), math.ceil((hi - origin) / interval - _EPS)


def _clock(path: str, name: str, text: str) -> float:
    try:
        return parse_clock(text)
    except ValueError as exc:
        raise PathError(path, f"{name}: {exc}") from None


def _schedule_of(path: str, entry: dict[str, Any], grid: tuple[float, float, int]) -> list[int]:
    """The pool's schedule as a list of ints, created from ``agents`` (moved) or zeros if absent."""
    count = grid[2]
    schedule = entry.get("schedule")
    if schedule is None:
        agents = entry.pop("agents", None)
        if agents is None:
            return [0] * count
        if isinstance(agents, bool) or not isinstance(agents, int):
            raise PathError(f"{path}.agents", f"expected a whole number, found {describe(agents)}")
        return [agents] * count
    if not isinstance(schedule, list) or len(schedule) != count:
        size = f"{len(schedule)} entries" if isinstance(schedule, list) else describe(schedule)
        raise PathError(f"{path}.schedule", f"has {size} but the horizon has {count} intervals")
    bad = [i for i, v in enumerate(schedule) if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        found = describe(schedule[bad[0]])
        raise PathError(f"{path}.schedule[{bad[0]}]", f"expected a whole number, found {found}")
    return list(schedule)


# --------------------------------------------------------------------------- merge patch


def merge_patch(data: Mapping[str, Any], patch: Mapping[str, Any]) -> Data:
    """A copy of ``data`` deep-merged with ``patch`` (JSON Merge Patch, RFC 7386).

    Mappings merge key by key; ``None`` (YAML ``null``) deletes a key; any other value — lists
    included — replaces what was there. New keys are added without checks: the schema validates the
    result.
    """
    if not isinstance(patch, Mapping):
        raise PathError("(patch)", f"a patch must be a mapping, found {describe(patch)}")
    return _merge(_copy(data), patch)


def _merge(target: dict[Any, Any], patch: Mapping[Any, Any]) -> dict[Any, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            current = target.get(key)
            target[key] = _merge(current if isinstance(current, dict) else {}, value)
        else:
            target[key] = copy.deepcopy(value)
    return target


# --------------------------------------------------------------------------- listing paths


def all_paths(data: Any) -> list[str]:
    """Every leaf path of ``data``, in document order (for suggestions and listings).

    A leaf is a scalar, an empty mapping, or a list of scalars (named as a whole list: ``schedule``,
    not ``schedule[0]``...); lists holding mappings or lists are listed item by item.
    """
    return [join_path(keys) for keys in _leaf_keys(data, ())]


def _leaf_keys(node: Any, keys: tuple[Key, ...]) -> Iterator[tuple[Key, ...]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaf_keys(value, (*keys, key))
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for index, value in enumerate(node):
            yield from _leaf_keys(value, (*keys, index))
    elif keys:
        yield keys
