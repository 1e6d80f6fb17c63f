"""Hypothesis strategies for scenario files: valid by construction, mutated by one field, or corrupted.

``scenario_dicts()`` builds plain data (what ``yaml.safe_load`` would return) for scenarios that the
README documents as valid: every name referred to exists, lists have one value per interval,
shares and routing sum to 1, every step can reach ``exit``, and the expected volume stays within
``limits.max_contacts``. Runs stay small (a few hundred contacts, a few hours), so each simulation
takes milliseconds. ``mutations()`` changes one thing in such a dict; ``text_edits()`` corrupts the
YAML text itself. ``dump()`` writes YAML in one of several styles (block, flow, mixed).
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

# Names that are valid but easy to mangle: YAML 1.1 booleans, null, dots, dashes, spaces, digits.
NAMES = ["answer", "wrap-up", "back office", "step.2", "no", "yes", "on", "off", "null", "True",
         "_x", "a1", "Identify", "follow_up", "x y z", "q-9", "07h", "a.b.c"]
CHANNEL_KINDS = ["voice", "chat", "email", "walk_in", "self_service"]
#: Unit spellings accepted for durations (units.TIME_UNITS) and the seconds they stand for.
SECOND_UNITS = ["s", "sec", "secs", "second", "seconds"]
MINUTE_UNITS = ["min", "mins", "minute", "minutes", "m"]
HOUR_UNITS = ["h", "hr", "hrs", "hour", "hours"]

#: Upper bound on the expected number of arrivals of a generated scenario (all channels, all days).
VOLUME_BUDGET = 400.0


# --------------------------------------------------------------------------- units as written


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Strategies are built once and reused (building one is far slower than drawing from it).
_SECOND_UNITS, _MINUTE_UNITS, _HOUR_UNITS = (st.sampled_from(u) for u in (SECOND_UNITS, MINUTE_UNITS, HOUR_UNITS))
_UNIT_SIZES = st.sampled_from([("s", 1.0), ("min", 60.0), (" sec", 1.0), ("h", 3600.0)])


def exact_duration(draw: st.DrawFn, seconds: int) -> str:
    """A whole number of seconds written exactly, in a unit chosen at random."""
    forms = [f"{seconds}{draw(_SECOND_UNITS)}", f"{seconds} s"]
    if seconds % 60 == 0:
        forms.append(f"{seconds // 60}{draw(_MINUTE_UNITS)}")
    if seconds % 3600 == 0:
        forms.append(f"{seconds // 3600}{draw(_HOUR_UNITS)}")
    if seconds % 1800 == 0:
        forms.append(f"{seconds / 3600:g}h")
    return forms[draw(st.integers(0, len(forms) - 1))]


@functools.lru_cache(maxsize=None)
def duration(low_s: float, high_s: float) -> st.SearchStrategy[str]:
    """A duration between low_s and high_s seconds, written with some unit."""

    @st.composite
    def _d(draw: st.DrawFn) -> str:
        v = draw(st.floats(low_s, high_s, allow_nan=False, allow_infinity=False))
        unit, size = draw(_UNIT_SIZES)
        return f"{v / size:.6g}{unit}"

    return _d()


def rate_text(per_second: float, unit: str) -> str:
    size = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}[unit]
    value = per_second * size
    return f"{value:.6g}/{unit}" if unit != "h" else f"{value:.6g} per hour"


@functools.lru_cache(maxsize=None)
def fractions(n: int) -> st.SearchStrategy[list[float]]:
    """n non-negative shares summing to 1 (as YAML floats), some of them 0; at least one positive."""
    return st.lists(st.integers(0, 5), min_size=n, max_size=n).filter(lambda w: sum(w) > 0).map(
        lambda w: [x / sum(w) for x in w])


# --------------------------------------------------------------------------- distributions


@functools.lru_cache(maxsize=None)
def distributions(mean_low: float = 5.0, mean_high: float = 240.0) -> st.SearchStrategy[dict[str, Any]]:
    """Every documented distribution family, with means between mean_low and mean_high seconds."""
    mean = duration(mean_low, mean_high)
    cv = st.floats(0.1, 2.5)
    return st.one_of(
        st.fixed_dictionaries({"dist": st.just("exponential"), "mean": mean}),
        st.fixed_dictionaries({"dist": st.just("deterministic"), "value": duration(0.0, mean_high)}),
        st.tuples(st.floats(0, mean_high), st.floats(0, mean_high)).map(
            lambda t: {"dist": "uniform", "low": f"{min(t):.6g}s", "high": f"{max(t):.6g}s"}),
        st.tuples(st.floats(0, mean_high), st.floats(0, 1), st.floats(1, mean_high)).map(
            lambda t: {"dist": "triangular", "low": f"{t[0] / 2:.6g}s", "mode": f"{t[0] / 2 + t[1] * t[2]:.6g}s",
                       "high": f"{t[0] / 2 + t[2]:.6g}s"}),
        st.fixed_dictionaries({"dist": st.just("lognormal"), "mean": mean, "cv": cv}),
        st.fixed_dictionaries({"dist": st.just("lognormal"), "median": mean, "sigma": st.floats(0, 1.5)}),
        st.fixed_dictionaries({"dist": st.just("gamma"), "mean": mean, "cv": cv}),
        st.fixed_dictionaries({"dist": st.just("gamma"), "shape": st.floats(0.3, 20), "scale": duration(1, 60)}),
        st.fixed_dictionaries({"dist": st.just("weibull"), "mean": mean, "cv": st.floats(0.2, 2.5)}),
        st.fixed_dictionaries({"dist": st.just("weibull"), "shape": st.floats(0.5, 5), "scale": mean}),
        st.fixed_dictionaries({"dist": st.just("erlang"), "k": st.integers(1, 20), "mean": mean}),
        st.fixed_dictionaries({"dist": st.just("empirical"),
                               "values": st.lists(duration(0, mean_high), min_size=1, max_size=6)}),
    )


# --------------------------------------------------------------------------- a whole scenario


@dataclass(frozen=True)
class Shape:
    """The clock of a generated scenario, needed to size per-interval lists."""

    start_min: int
    interval_min: int
    n_intervals: int
    days: int

    @property
    def window_s(self) -> float:
        return self.interval_min * self.n_intervals * 60.0


@st.composite
def horizons(draw: st.DrawFn) -> tuple[dict[str, Any], Shape]:
    interval_min = draw(st.sampled_from([15, 30, 60]))
    n = draw(st.integers(1, 6))
    window = interval_min * n
    start = draw(st.integers(0, (1440 - window) // interval_min)) * interval_min
    days = draw(st.integers(1, 2))
    h: dict[str, Any] = {"start": clock(start), "end": clock(start + window),
                         "interval": exact_duration(draw, interval_min * 60)}
    if days > 1 or draw(st.booleans()):
        h["days"] = days
    if draw(st.integers(0, 4)) == 0:
        h["warmup"] = exact_duration(draw, draw(st.integers(0, window // 2)) * 60)
    return h, Shape(start, interval_min, n, days)


def _routing(draw: st.DrawFn, i: int, steps: list[str]) -> Any:
    """``next`` of step i: exit, a later step, or probabilities (rework loops allowed, exit >= 0.3)."""
    kind = draw(st.integers(0, 3))
    later = steps[i + 1:]
    if kind == 0:
        return "exit"
    if kind == 1 and later:
        return draw(st.sampled_from(later))
    if kind == 2:
        return None  # omitted: exit
    targets = draw(st.lists(st.sampled_from(steps), max_size=2, unique=True))
    weights = [draw(st.integers(1, 3)) for _ in targets]
    exit_w = draw(st.integers(max(1, math.ceil(0.45 * sum(weights))), 10))
    total = exit_w + sum(weights)
    out = {t: w / total for t, w in zip(targets, weights)}
    out["exit"] = exit_w / total
    return out


def _headcount(draw: st.DrawFn, shape: Shape) -> dict[str, Any]:
    heads = st.integers(0, 5) if draw(st.integers(0, 9)) else st.just(0)
    form = draw(st.integers(0, 2))
    if form == 0:
        return {"agents": draw(heads)}
    if form == 1:
        return {"schedule": [draw(heads) for _ in range(shape.n_intervals)]}
    shifts = []
    for _ in range(draw(st.integers(1, 2))):
        a = draw(st.integers(0, shape.n_intervals - 1))
        b = draw(st.integers(a + 1, shape.n_intervals))
        s0, s1 = shape.start_min + a * shape.interval_min, shape.start_min + b * shape.interval_min
        shift: dict[str, Any] = {"start": clock(s0), "end": clock(s1), "agents": draw(st.integers(1, 5))}
        if s1 - s0 >= 30 and draw(st.booleans()):
            length = draw(st.integers(5, (s1 - s0) // 2))
            shift["breaks"] = [{"start": clock(s0), "end": clock(s1), "length": f"{length}min"}]
        shifts.append(shift)
    out: dict[str, Any] = {"shifts": shifts}
    if draw(st.booleans()):
        out["agents"] = draw(heads)
    return out


@st.composite
def scenario_dicts(draw: st.DrawFn, mechanisms: bool = True) -> dict[str, Any]:
    """A valid scenario as plain data. ``mechanisms``: also bots, vendors, retrials, balking, ..."""
    horizon, shape = draw(horizons())
    steps = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    n_steps = len(steps)

    # --- steps
    step_defs: dict[str, Any] = {}
    for i, name in enumerate(steps):
        d: dict[str, Any] = {"handle_time": draw(distributions())}
        if draw(st.booleans()):
            d["stage"] = draw(st.sampled_from(["front", "back"]))
        nxt = _routing(draw, i, steps)
        if nxt is not None:
            d["next"] = nxt
        step_defs[name] = d

    # --- segments
    segments: dict[str, Any] | None = None
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(["vip", "regular", "no", "Gold", "b-2"]), min_size=1, max_size=3,
                              unique=True))
        shares = draw(fractions(len(names)))
        segments = {}
        for g, share in zip(names, shares):
            seg: dict[str, Any] = {"share": share}
            if draw(st.booleans()):
                seg["priority"] = draw(st.integers(-3, 3))
            if draw(st.integers(0, 3)) == 0:
                seg["patience"] = draw(distributions(20, 600))
            segments[g] = seg

    # --- pools of people
    pool_names = draw(st.lists(st.sampled_from(["agents", "tellers", "team-b", "no", "back office"]),
                               min_size=1, max_size=3, unique=True))
    pools: dict[str, Any] = {}
    owners = {s: draw(st.sampled_from(pool_names)) for s in steps}
    for p in pool_names:
        pool = _headcount(draw, shape)
        mine = [s for s in steps if owners[s] == p]
        extra = draw(st.lists(st.sampled_from(steps), max_size=2, unique=True))
        skills: dict[str, Any] = {}
        for s in dict.fromkeys(mine + extra):
            if draw(st.booleans()):
                skills[s] = draw(st.floats(0.5, 2.0))
            else:
                skills[s] = {"proficiency": draw(st.floats(0.5, 2.0)), "priority": draw(st.integers(-2, 2))}
        if not skills:  # a pool must serve something
            skills[steps[0]] = 1.0
        pool["skills"] = skills
        if draw(st.booleans()):
            pool["priority"] = draw(st.integers(-2, 2))
        if draw(st.booleans()):
            pool["cost_per_hour"] = draw(st.floats(0, 80))
        if mechanisms and draw(st.integers(0, 3)) == 0:
            pool["concurrency"] = draw(st.integers(1, 3))
            pool["concurrency_slowdown"] = draw(st.floats(0, 0.5))
        if mechanisms and draw(st.integers(0, 3)) == 0:
            pool["shrinkage"] = draw(st.floats(0, 0.5))
        if mechanisms and draw(st.integers(0, 3)) == 0:
            pool["resolution"] = draw(st.floats(0.5, 1.0))
        pools[p] = pool

    # --- bots and vendors on some steps
    if mechanisms and draw(st.integers(0, 2)) == 0:
        at = draw(st.integers(0, n_steps - 1))
        auto: dict[str, Any] = {"bots": "rpa", "handle_time": draw(distributions(1, 60))}
        if draw(st.booleans()):
            auto["level"] = draw(st.floats(0, 1))
        which = draw(st.integers(0, 2))
        if which == 1:
            auto["exception_rate"] = draw(st.floats(0, 1))
        elif which == 2:
            auto["containment"] = draw(st.floats(0, 1))
        if at + 1 < n_steps and draw(st.booleans()):
            auto["exceptions_to"] = draw(st.sampled_from(steps[at + 1:]))
        step_defs[steps[at]]["automation"] = auto
        bots: dict[str, Any] = {"kind": "bots", "agents": draw(st.one_of(st.integers(1, 3), st.just("unlimited")))}
        if draw(st.booleans()):
            bots["licence_cost"] = draw(st.floats(0, 500))
            bots["cost_per_transaction"] = draw(st.floats(0, 1))
        pools["rpa"] = bots
    if mechanisms and draw(st.integers(0, 2)) == 0:
        at = draw(st.integers(0, n_steps - 1))
        rule: dict[str, Any] = {"to": "partner"}
        cond = draw(st.integers(0, 3))
        if cond == 0:
            rule["share"] = draw(st.floats(0.05, 1))
        elif cond == 1:
            rule["queue_over"] = draw(st.integers(0, 5))
        elif cond == 2:
            rule["wait_over"] = draw(duration(0, 120))
        else:
            rule["expected_wait_over"] = draw(duration(0, 120))
        if segments and draw(st.booleans()):
            rule["segments"] = draw(st.lists(st.sampled_from(list(segments)), min_size=1, unique=True))
        if draw(st.integers(0, 3)) == 0:
            a = draw(st.integers(0, 1439))
            rule["between"] = [clock(a), clock(draw(st.integers(a + 1, 1440)))]
        step_defs[steps[at]]["outsource"] = rule
        vendor: dict[str, Any] = {"kind": "vendor", "agents": draw(st.one_of(st.integers(1, 4), st.just("unlimited")))}
        if draw(st.booleans()):
            vendor["price_per_contact"] = draw(st.floats(0, 10))
            vendor["handle_time_factor"] = draw(st.floats(0.5, 2))
        pools["partner"] = vendor

    # --- channels
    ch_names = draw(st.lists(st.sampled_from(["calls", "chat", "email", "web", "on", "walk-ins"]), min_size=1,
                             max_size=3, unique=True))
    channels: dict[str, Any] = {}
    budget = VOLUME_BUDGET / len(ch_names)
    for c in ch_names:
        kind = draw(st.sampled_from(CHANNEL_KINDS))
        factors = [draw(st.floats(0, 1.5)) for _ in range(shape.days)] if draw(st.integers(0, 3)) == 0 else None
        days_weight = sum(factors) if factors is not None else shape.days
        # the most arrivals per second this channel may have and stay inside the budget
        top = min(budget / (shape.window_s * max(days_weight, 1e-9)), 1.0)
        form = draw(st.integers(0, 2))
        arrivals: dict[str, Any]
        if form == 0:
            arrivals = {"rate": rate_text(draw(st.floats(0, 1)) * top, draw(st.sampled_from(["s", "min", "h", "d"])))}
        elif form == 1:
            arrivals = {"rates": [rate_text(draw(st.floats(0, 1)) * top, "h") for _ in range(shape.n_intervals)]}
        else:
            volume = draw(st.floats(0, 1)) * top * shape.window_s
            arrivals = {"daily_volume": round(volume, 3), "shares": draw(fractions(shape.n_intervals))}
        if factors is not None:
            arrivals["day_factors"] = factors
        ch: dict[str, Any] = {"arrivals": arrivals, "entry": draw(st.sampled_from(steps))}
        if draw(st.booleans()):
            ch["kind"] = kind
        else:
            kind = "voice"
        synchronous = kind != "email"
        if synchronous and draw(st.booleans()):
            ch["patience"] = draw(distributions(10, 600))
        if segments and draw(st.integers(0, 2)) == 0:
            ch["segments"] = dict(zip(segments, draw(fractions(len(segments)))))
        if mechanisms and draw(st.integers(0, 4)) == 0:
            ch["service_level"] = {"threshold": draw(duration(0, 3600)), "goal": draw(st.floats(0, 1))}
        if mechanisms and synchronous and draw(st.integers(0, 3)) == 0:
            ch["retrial"] = {"probability": draw(st.floats(0, 1)), "delay": draw(distributions(10, 600)),
                             "max_attempts": draw(st.integers(2, 3))}
        if mechanisms and synchronous and draw(st.integers(0, 3)) == 0:
            ch["balking"] = {"queue": draw(st.integers(0, 10)), "probability": draw(st.floats(0, 1))}
        if mechanisms and draw(st.integers(0, 4)) == 0:
            ch["repeats"] = {"probability": draw(st.floats(0, 1)), "delay": draw(distributions(10, 600)),
                             "max_attempts": draw(st.integers(2, 3))}
        channels[c] = ch

    out: dict[str, Any] = {"name": draw(st.sampled_from(["fuzz", "no", "Fuzzed — scénario ☎", "a [b] c", "x: y"]))}
    if draw(st.booleans()):
        out["description"] = draw(st.text(st.characters(codec="utf-8"), max_size=30))
    out["horizon"] = horizon
    out["channels"] = channels
    if segments is not None:
        out["segments"] = segments
    out["pools"] = pools
    out["steps"] = step_defs
    if draw(st.booleans()):
        out["targets"] = {"service_level": {"threshold": draw(duration(0, 300)), "goal": draw(st.floats(0, 1))},
                          "abandonment_max": draw(st.floats(0, 1))}
    if draw(st.integers(0, 2)) == 0:
        shape_name = draw(st.sampled_from(["linear", "logistic"]))
        sat: dict[str, Any] = {"shape": shape_name, "satisfied_at": draw(st.floats(0, 1))}
        if shape_name == "linear":
            sat["full_until"] = "10s"
            sat["zero_at"] = draw(duration(11, 900))
        else:
            sat["midpoint"] = draw(duration(0, 600))
            sat["steepness_per_min"] = draw(st.floats(0.1, 5))
        sat["channel_weight"] = {c: draw(st.floats(0.2, 2)) for c in ch_names[:1]}
        out["economics"] = {"currency": draw(st.sampled_from(["EUR", "USD", "CHF"])),
                            "penalties": {"per_abandoned": draw(st.floats(0, 5)),
                                          "per_interval_missing_target": draw(st.floats(0, 50))},
                            "satisfaction": sat}
    limits: dict[str, Any] = {}
    unlimited = any(p.get("agents") == "unlimited" for p in out["pools"].values())
    if draw(st.integers(0, 2)) == 0 and not unlimited:
        # an unlimited pool holds all its work at once: a small ceiling is refused as a file error
        limits["max_in_system"] = draw(st.integers(1, 60))
    if draw(st.integers(0, 3)) == 0:
        # at least the expected volume (else the file is refused), but retrials can pass it
        limits["max_contacts"] = draw(st.integers(int(VOLUME_BUDGET) + 1, 2000))
    if limits:
        out["limits"] = limits
    return out


# --------------------------------------------------------------------------- writing YAML


@st.composite
def dump(draw: st.DrawFn, data: Any) -> str:
    """``data`` as YAML text in a random but faithful style."""
    return yaml.safe_dump(
        data, sort_keys=draw(st.booleans()), allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, None, True])),
        width=draw(st.sampled_from([60, 120, 10**6])), indent=draw(st.sampled_from([2, 4])),
    )


# --------------------------------------------------------------------------- one mutation


Path = tuple[Any, ...]


def paths(data: Any, prefix: Path = ()) -> list[Path]:
    """Every path into ``data`` (mapping keys and list indices), parents before children."""
    out: list[Path] = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths(v, (*prefix, i))
    return out


def get(data: Any, path: Path) -> Any:
    for p in path:
        data = data[p]
    return data


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: Path
    value: Any = None
    key: str = ""

    def apply(self, data: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(data)
        parent = get(out, self.path[:-1])
        last = self.path[-1]
        if self.kind == "delete":
            del parent[last]
        elif self.kind == "typo_key":
            parent[self.key] = parent.pop(last)
        elif self.kind == "add_key":
            get(out, self.path)[self.key] = self.value
        else:
            parent[last] = self.value
        return out


#: Values of the wrong type for (almost) any field.
WRONG_TYPE = [True, False, [1, 2], {"x": 1}, "☃ junk", -7, 2.5, None, "", [], {}]
#: Values with a wrong or missing unit, or out of range.
BAD_UNITS = ["5 parsecs", "5", "5/fortnight", "-5min", "-1/h", "25:61", "1e999s", "10001d", "5min5s", "1,5min",
             "∞", "0x10min", "5 min ago", "NaN s", "inf/h", "-0s", "1e-400s",
             # digits other than 0-9 (Python's int() and float() read them)
             "٣min", "３s", "١٠/min", "०८:३०", "0８:30", "1_000s"]
NONFINITE = [math.nan, math.inf, -math.inf, 1e308, -1e308, 10**30, -(10**30), 1e-320]


def _typo(key: str, draw: st.DrawFn) -> str:
    """A misspelling of ``key``: a letter dropped, doubled or swapped, or a case change."""
    i = draw(st.integers(0, max(0, len(key) - 1)))
    kind = draw(st.integers(0, 3))
    if kind == 0 and len(key) > 1:
        return key[:i] + key[i + 1:]
    if kind == 1:
        return key[:i] + key[i] + key[i:]
    if kind == 2 and len(key) > 1 and i + 1 < len(key):
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    return key.upper() if key != key.upper() else key + "s"


MUTATION_KINDS = ["wrong_type", "non_finite", "bad_unit", "delete", "typo_key", "add_key"]
#: Keys a scenario cannot do without where they appear (none of them is one of :data:`NAMES`):
#: deleting one must be refused, naming it.
REQUIRED_KEYS = frozenset({"name", "channels", "pools", "steps", "arrivals", "entry", "dist"})


@st.composite
def mutations(draw: st.DrawFn, data: dict[str, Any], kind: str | None = None) -> Mutation:
    """One mutation of ``data``: wrong type, bad unit, non-finite or huge number, a misspelt or unknown
    key, a deleted key (``kind``: one of :data:`MUTATION_KINDS`, else drawn). Half of the deletions
    take a required key (:data:`REQUIRED_KEYS`): most keys are optional, and deleting one is valid,
    so a deletion drawn among all keys is refused only by luck — and which keys the derandomised
    draws hit moves with any change to servsim's source (Hypothesis also draws values among the
    literals of the modules under test)."""
    if kind is None:
        kind = draw(st.sampled_from(MUTATION_KINDS))
    fits = {
        "wrong_type": lambda p: True, "non_finite": lambda p: True,
        "bad_unit": lambda p: isinstance(get(data, p), str),
        "delete": lambda p: isinstance(get(data, p[:-1]), dict),
        "typo_key": lambda p: isinstance(get(data, p[:-1]), dict),
        "add_key": lambda p: isinstance(get(data, p), dict),
    }[kind]
    candidates = [p for p in paths(data) if fits(p)]
    if kind == "delete":
        required = [p for p in candidates if str(p[-1]) in REQUIRED_KEYS]
        if required and draw(st.booleans()):
            candidates = required
    path = draw(st.sampled_from(candidates))
    parent = get(data, path[:-1])
    if kind == "wrong_type":
        return Mutation(kind, path, draw(st.sampled_from(WRONG_TYPE)))
    if kind == "non_finite":
        return Mutation(kind, path, draw(st.sampled_from(NONFINITE)))
    if kind == "bad_unit":
        return Mutation(kind, path, draw(st.sampled_from(BAD_UNITS)))
    if kind == "delete":
        return Mutation(kind, path)
    if kind == "typo_key":
        typo = _typo(str(path[-1]), draw)
        if typo in parent:
            return Mutation("delete", path)
        return Mutation(kind, path, key=typo)
    key = draw(st.sampled_from(["colour", "rat", "agent", "handle", "unknown_field", "nxt", "priorty"]))
    if key in get(data, path):
        return Mutation("delete", (*path, key))
    return Mutation(kind, path, value=draw(st.sampled_from([1, "x", [1], {"a": 1}])), key=key)


# --------------------------------------------------------------------------- corrupting the text


JUNK = ["\t", ":", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "*undefined ", "!!python/object:os.system ", "!x ",
        "\x00", "\ufeff", "'", '"', "#", "%", "\r", "\x85", "\u2028", "|", ">", "? ", "<<: ", ",", "@", "`",
        "\x1b[31m", "\udcff", "\U0001F4A3", " " * 3, "\n", "\n\n---\n", "\n...\n", "~", "&a [*a]"]


@st.composite
def text_edits(draw: st.DrawFn, text: str) -> str:
    """``text`` with one corruption: junk inserted, a span deleted, a line duplicated, moved or
    re-indented, or the text truncated."""
    kind = draw(st.integers(0, 5))
    lines = text.splitlines(keepends=True)
    if kind == 0:
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.sampled_from(JUNK)) + text[at:]
    if kind == 1:
        a = draw(st.integers(0, len(text)))
        b = draw(st.integers(a, min(len(text), a + 20)))
        return text[:a] + text[b:]
    if kind == 2 and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if kind == 3 and len(lines) > 1:
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines)
    if kind == 4 and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from(["\t", " ", "   ", ""])) + lines[i].lstrip(" ")
        return "".join(lines)
    return text[: draw(st.integers(0, len(text)))]


# --------------------------------------------------------------------------- arbitrary documents


yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=20), st.sampled_from(["8:30", "no", "1e3", "0x1F", "0o17", ".inf", "~", "5min", "9.5/min"]),
)
yaml_documents = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(["name", "channels", "pools", "steps", "horizon", "rate"]),
                                  st.text(st.characters(codec="utf-8"), max_size=8)), children, max_size=5),
    ),
    max_leaves=40,
)


# --------------------------------------------------------------------------- hostile file contents and paths


#: Pieces of what a path may point at instead of the file servsim expects: someone's password file,
#: rich markup, terminal escapes, NULs, line ends of every kind, quotes, YAML and CSV syntax.
HOSTILE_PIECES = ["root:x:0:0:root:/root:/bin/bash", "daemon:*:20228:0:99999:7:::", "[bold]", "[/]", "[red]x[/red]",
                  "[link=file:///etc/passwd]x[/link]", "\x00", "\n", "\r\n", "\r", "\x1b[2J", "\x1b]0;title\x07",
                  "\u2028", "\x85", "'", '"', ",", ", ", ":", ": ", "- ", "{", "}", "#", "\t", "time", "h", "30",
                  "08:00", "name: x", "%", "&a ", "*a", "!!python/object ", "\ufeff", "٣", "３"]
_LONG_RUN = st.text(st.sampled_from("abcxyz0123456789:/._-[]"), min_size=81, max_size=300)


@st.composite
def file_contents(draw: st.DrawFn) -> str:
    """Text as a hostile or unlucky file holds it: hostile pieces, long runs without a break (longer
    than any message may quote) and arbitrary text, in any order."""
    parts = draw(st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), _LONG_RUN, st.text(max_size=40)),
                          min_size=1, max_size=25))
    return "".join(parts)


#: Path parts for names of files a scenario refers to, relative to a folder ``scen`` laid out by the
#: test: ``sub/`` (inside), ``link-in`` (a link to ``sub``), ``link-out`` (a link to the outside folder),
#: ``pipe.csv`` (a FIFO), ``dir.csv`` (a folder), ``good.csv`` (a valid trace, inside and outside).
PATH_PARTS = ["..", ".", "sub", "link-in", "link-out", "outside", "scen", "dir.csv", ""]
PATH_ENDS = ["good.csv", "pipe.csv", "dir.csv", "link-file.csv", "missing.csv", "environ", "null", "zero", "passwd"]
PATH_PREFIXES = ["", "", "", "/proc/self/", "/dev/", "/etc/", "/sys/", "SCEN/", "OUTSIDE/", "/dev/fd/"]


@st.composite
def hostile_paths(draw: st.DrawFn) -> str:
    """A path as a scenario may write it: ``..`` climbs, links in and out, absolute paths into
    ``/proc``, ``/dev``, ``/sys`` and ``/etc`` (``SCEN``/``OUTSIDE`` are replaced by the test)."""
    parts = draw(st.lists(st.sampled_from(PATH_PARTS), max_size=4))
    return draw(st.sampled_from(PATH_PREFIXES)) + "/".join([*parts, draw(st.sampled_from(PATH_ENDS))])
