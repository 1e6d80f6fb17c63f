"""Tests for safe, located YAML loading and located validation errors."""

from __future__ import annotations

import math
import os
import pickle
import time
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pydantic
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from servsim.scenario.errors import (
    InputError,
    Problem,
    ScenarioError,
    closest,
    format_path,
    located_validation_error,
    validate_doc,
)
from servsim.scenario.yamlio import CoreSafeLoader, LocatedDoc, YamlLimits, load_yaml, load_yaml_text


def problems_of(text: str, **kwargs: Any) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_yaml_text(text, "t.yaml", **kwargs)
    return info.value.problems


def only_problem(text: str, **kwargs: Any) -> Problem:
    problems = problems_of(text, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------- Problem / ScenarioError


def test_problem_str_full_and_partial() -> None:
    assert str(Problem("a.yaml", 3, 7, "x.y", "bad", "try z")) == "a.yaml:3:7: x.y: bad (try z)"
    assert str(Problem("a.yaml", None, None, "(file)", "file not found")) == "a.yaml: (file): file not found"
    assert str(Problem("a.yaml", 4, None, "x", "bad")) == "a.yaml:4: x: bad"


def test_scenario_error_lists_problems_one_per_line_and_pickles() -> None:
    err = ScenarioError([Problem("f", 1, 1, "a", "m1"), Problem("f", 2, 1, "b", "m2", "h")])
    assert str(err) == "f:1:1: a: m1\nf:2:1: b: m2 (h)"
    assert InputError is ScenarioError
    copy = pickle.loads(pickle.dumps(err))
    assert copy.problems == err.problems
    assert ScenarioError(Problem("f", None, None, "a", "m")).problems == [Problem("f", None, None, "a", "m")]


def test_closest_and_format_path() -> None:
    assert closest("rat", ["rate", "rates", "trace"]) == "rate"
    assert closest("zzz", ["rate"]) is None
    assert format_path(("pools", 0, "skills")) == "pools[0].skills"
    assert format_path(()) == "(top level)"


# --------------------------------------------------------------------------- scalar typing (YAML 1.2 core)


def test_clock_times_stay_text() -> None:
    data = load_yaml_text("a: 8:30\nb: 08:30\nc: 23:59:30\n").data
    assert data == {"a": "8:30", "b": "08:30", "c": "23:59:30"}


@pytest.mark.parametrize("word", ["no", "yes", "on", "off", "y", "n", "No", "YES"])
def test_yaml11_booleans_stay_text(word: str) -> None:
    assert load_yaml_text(f"v: {word}").data["v"] == word


def test_core_booleans_and_nulls() -> None:
    data = load_yaml_text("a: true\nb: False\nc: TRUE\nd: ~\ne: null\nf: NULL\ng:\n").data
    assert data == {"a": True, "b": False, "c": True, "d": None, "e": None, "f": None, "g": None}
    assert data["a"] is True


def test_dates_stay_text_and_ints_are_decimal() -> None:
    data = load_yaml_text("d: 2024-01-01\ni: 010\nj: +5\nk: 0x1F\nl: 0o17\nm: 1_000\n").data
    assert data == {"d": "2024-01-01", "i": 10, "j": 5, "k": 31, "l": 15, "m": "1_000"}
    assert type(data["i"]) is int


def test_floats_including_non_finite() -> None:
    data = load_yaml_text("a: .inf\nb: -.Inf\nc: .nan\nd: 1e999\ne: 1e3\nf: 2.5\ng: .5\nh: 3.\n").data
    assert data["a"] == math.inf and data["b"] == -math.inf
    assert math.isnan(data["c"])
    assert data["d"] == math.inf
    assert data["e"] == 1000.0 and isinstance(data["e"], float)
    assert (data["f"], data["g"], data["h"]) == (2.5, 0.5, 3.0)


def test_quoted_values_stay_text() -> None:
    assert load_yaml_text("a: '12'\nb: \"true\"\nc: '~'\n").data == {"a": "12", "b": "true", "c": "~"}


def test_safe_loader_global_table_untouched() -> None:
    assert yaml.safe_load("a: 8:30\nb: no") == {"a": 510, "b": False}
    assert CoreSafeLoader.yaml_implicit_resolvers is not yaml.SafeLoader.yaml_implicit_resolvers
    assert yaml.load("a: 8:30\nb: 010\nc: no", Loader=CoreSafeLoader) == {"a": "8:30", "b": 10, "c": "no"}


def test_explicit_core_tags_are_allowed_and_checked() -> None:
    assert load_yaml_text("a: !!str 12\nb: !!int '12'\nc: !!float 3\n").data == {"a": "12", "b": 12, "c": 3.0}
    problem = only_problem("a: 1\nb: !!int twelve\n")
    assert (problem.line, problem.column, problem.field) == (2, 4, "b")
    assert "!!int" in problem.message


# --------------------------------------------------------------------------- tags


def test_python_tag_is_refused_and_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    text = 'name: x\nrun: !!python/object/apply:os.system ["echo hi"]\n'
    problem = only_problem(text)
    assert calls == []
    assert "tags are not allowed" in problem.message
    assert "python/object/apply:os.system" in problem.message
    assert (problem.line, problem.field) == (2, "run")


def test_python_tag_at_top_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    problem = only_problem('!!python/object/apply:os.system ["echo hi"]')
    assert calls == [] and "tags are not allowed" in problem.message


def test_custom_tags_all_reported() -> None:
    problems = problems_of("a: !foo x\nb:\n  c: !bar {d: 1}\n")
    assert [(p.line, p.field) for p in problems] == [(1, "a"), (3, "b.c")]
    assert all("tags are not allowed" in p.message for p in problems)


# --------------------------------------------------------------------------- aliases and limits


BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{k}: &{k} [{', '.join(['*' + prev] * 9)}]"
            for prev, k in zip("abcdefgh", "bcdefghi")
        ),
    ]
)


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.perf_counter()
    problem = only_problem(BILLION_LAUGHS)
    assert time.perf_counter() - start < 2.0
    assert "too many nodes after expanding aliases (limit 100000)" in problem.message
    assert problem.line is not None and 2 <= problem.line <= 9


def test_small_aliases_are_expanded_into_independent_copies() -> None:
    doc = load_yaml_text("base: &b {x: 1}\nuse: *b\n")
    assert doc.data == {"base": {"x": 1}, "use": {"x": 1}}
    assert doc.data["use"] is not doc.data["base"]
    assert doc.where(("use", "x")) == (1, 14)


def test_node_limit_is_configurable() -> None:
    problem = only_problem("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", limits=YamlLimits(max_nodes=10))
    assert "limit 10" in problem.message


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a\n  b: *a\n"])
def test_recursive_alias_is_refused(text: str) -> None:
    problem = only_problem(text)
    assert "recursive alias" in problem.message and problem.line == 1


def test_merge_keys_explicit_keys_win() -> None:
    doc = load_yaml_text("defaults: &d {x: 1, y: 2}\nitem:\n  <<: *d\n  y: 3\n")
    assert doc.data["item"] == {"x": 1, "y": 3}
    assert doc.where(("item", "x"))[0] == 1


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    problem = only_problem("a: " + "[" * 5000 + "]" * 5000)
    assert "nested too deeply (limit 100" in problem.message


def test_deep_nesting_through_aliases_is_refused() -> None:
    inner = "[" * 40 + "]" * 40
    text = f"a: &a {inner}\nb: &b [{'[' * 40}*a{']' * 40}]\nc: [[[[[[[[[[[[[[[[[[[[[[[[*b]]]]]]]]]]]]]]]]]]]]]]]]\n"
    assert "nested too deeply" in only_problem(text).message


def test_file_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_yaml(path, limits=YamlLimits(max_bytes=1000))
    assert "too large" in str(info.value) and info.value.problems[0].field == "(file)"
    assert "too large" in only_problem("a: " + "x" * 2000, limits=YamlLimits(max_bytes=1000)).message


# --------------------------------------------------------------------------- keys


def test_duplicate_keys_refused_with_both_lines() -> None:
    problem = only_problem("name: a\nhorizon:\n  days: 1\n  start: 8:00\n  days: 2\n")
    assert (problem.line, problem.column, problem.field) == (5, 3, "horizon.days")
    assert "duplicate key 'days'" in problem.message
    assert "line 3" in problem.message and "line 5" in problem.message


def test_non_text_keys_refused() -> None:
    problems = problems_of("? [1, 2]\n: x\ntrue: 1\n~: 2\n3: fine\n")
    assert [p.line for p in problems] == [1, 3, 4]
    assert all("mapping key must be text" in p.message for p in problems)


def test_integer_keys_are_kept() -> None:
    assert load_yaml_text("3: x\n'4': y\n").data == {3: "x", "4": "y"}


# --------------------------------------------------------------------------- syntax, empty, top level


def test_syntax_error_has_line_and_column() -> None:
    problem = only_problem("name: x\nchannels:\n  phone: [1, 2\n  email: 3\n")
    assert problem.field == "(syntax)"
    assert problem.line == 4 and problem.column is not None
    assert "indentation" in problem.hint
    assert "Traceback" not in str(problem)


def test_tab_indentation_is_a_syntax_error() -> None:
    problem = only_problem("a:\n\tb: 1\n")
    assert (problem.line, problem.column, problem.field) == (2, 1, "(syntax)")


def test_undefined_alias_and_multiple_documents() -> None:
    assert "undefined alias" in only_problem("a: *nope\n").message
    assert only_problem("a: 1\n---\nb: 2\n").line == 2


def test_control_character_is_located() -> None:
    problem = only_problem("a: 1\nb: x\x07\n")
    assert (problem.line, problem.column) == (2, 5)


@pytest.mark.parametrize("text", ["", "   \n", "# just a comment\n# another\n", "---\n"])
def test_empty_file(text: str) -> None:
    problem = only_problem(text, expected_keys=["name", "channels"])
    assert problem.message.startswith("the file is empty")
    assert "name, channels" in problem.message


@pytest.mark.parametrize(("text", "found"), [("- 1\n- 2\n", "a list"), ("hello\n", "'hello'"), ("42\n", "42")])
def test_top_level_must_be_a_mapping(text: str, found: str) -> None:
    problem = only_problem(text)
    assert problem.field == "(top level)" and found in problem.message


# --------------------------------------------------------------------------- files


def test_load_yaml_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("\ufeffname: x\nstart: 8:30\n", encoding="utf-8")
    doc = load_yaml(path)
    assert doc.data == {"name": "x", "start": "8:30"} and doc.file == str(path)
    assert doc.where(("start",)) == (2, 8)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml(tmp_path / "nope.yaml")
    problem = info.value.problems[0]
    assert (problem.field, problem.message) == ("(file)", "file not found")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml(tmp_path)
    assert info.value.problems[0].field == "(file)"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\ncity: M\xfcnchen\n")
    with pytest.raises(ScenarioError) as info:
        load_yaml(path)
    problem = info.value.problems[0]
    assert "UTF-8" in problem.message and (problem.line, problem.column) == (2, 8)


# --------------------------------------------------------------------------- locations

NESTED = """\
name: demo
pools:
  - name: day
    skills:
      triage: 1.0
      billing:
        speed: 0.8
  - name: night
    shifts: [{start: "22:00", end: "06:00"}]
"""


def test_locations_of_nested_values() -> None:
    doc = load_yaml_text(NESTED, "n.yaml")
    assert doc.where(()) == (1, 1)
    assert doc.where(("pools",)) == (3, 3)
    assert doc.where(("pools", 0, "skills", "triage")) == (5, 15)
    assert doc.where(("pools", 0, "skills", "billing", "speed")) == (7, 16)
    assert doc.where(("pools", 1, "name")) == (8, 11)
    assert doc.where(("pools", 1, "shifts", 0, "end")) == (9, 36)
    assert doc.where_key(("pools", 0, "skills", "billing")) == (6, 7)


def test_where_falls_back_to_longest_prefix() -> None:
    doc = load_yaml_text(NESTED)
    assert doc.where(("pools", 0, "skills", "nope", "deeper")) == doc.where(("pools", 0, "skills"))
    assert doc.where(("nope",)) == (1, 1)
    assert doc.where_key(("pools", 5)) == doc.where(("pools",))
    assert LocatedDoc({}, "f", {}).where(("a",)) == (None, None)


# --------------------------------------------------------------------------- located validation errors


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Constant(_Strict):
    kind: Literal["constant"]
    rate: float


class Piecewise(_Strict):
    kind: Literal["piecewise"]
    rates: list[float]


class Shift(_Strict):
    start: str
    agents: int = Field(ge=0)


class Channel(_Strict):
    arrivals: Annotated[Union[Constant, Piecewise], Field(discriminator="kind")]
    shifts: list[Shift] = []
    mode: Literal["inbound", "outbound"] = "inbound"
    max_wait: float | None = Field(default=None, alias="maxWait")

    @field_validator("mode")
    @classmethod
    def _no_outbound(cls, value: str) -> str:
        if value == "outbound":
            raise ValueError("outbound channels are not supported yet")
        return value


class Model(_Strict):
    name: str
    channels: dict[str, Channel]
    fallback: Union[Constant, int] = 0


def validation_problems(text: str) -> dict[str, Problem]:
    doc = load_yaml_text(text, "m.yaml")
    with pytest.raises(ScenarioError) as info:
        validate_doc(doc, Model)
    return {p.field: p for p in info.value.problems}


def test_misspelled_key_in_tagged_union_gets_did_you_mean() -> None:
    problems = validation_problems(
        "name: x\nchannels:\n  phone:\n    arrivals:\n      kind: constant\n      rat: 5\n"
    )
    extra = problems["channels.phone.arrivals.rat"]
    assert (extra.file, extra.line, extra.column) == ("m.yaml", 6, 7)
    assert extra.hint.startswith("did you mean 'rate'?")
    assert "valid fields: kind, rate" in extra.hint and "rates" not in extra.hint
    missing = problems["channels.phone.arrivals.rate"]
    assert missing.line == 5 and "'rate'" in missing.message and "missing" in missing.message
    assert str(extra).startswith("m.yaml:6:7: channels.phone.arrivals.rat: unknown field 'rat' (did you mean")


def test_errors_in_list_items_and_value_errors() -> None:
    problems = validation_problems(
        "name: x\nchannels:\n  phone:\n    arrivals: {kind: piecewise, rates: [1]}\n"
        "    shifts:\n      - start: '08:00'\n        agents: -1\n      - start: '09:00'\n        agnets: 2\n"
        "    mode: outbound\n"
    )
    ge = problems["channels.phone.shifts[0].agents"]
    assert (ge.line, ge.column) == (7, 17) and "-1" in ge.message
    assert problems["channels.phone.shifts[1].agnets"].hint.startswith("did you mean 'agents'?")
    assert problems["channels.phone.shifts[1].agents"].line == 8
    mode = problems["channels.phone.mode"]
    assert mode.line == 10 and mode.message == "outbound channels are not supported yet"


def test_bad_tag_and_literal_get_suggestions() -> None:
    problems = validation_problems(
        "name: x\nchannels:\n  email:\n    arrivals: {kind: piecewize}\n    mode: inbund\n"
        "  chat:\n    arrivals: {rate: 1}\n"
    )
    assert problems["channels.email.arrivals"].hint.startswith("did you mean 'piecewise'?")
    assert problems["channels.email.mode"].hint.startswith("did you mean 'inbound'?")
    assert problems["channels.email.mode"].line == 5
    assert "kind" in problems["channels.chat.arrivals"].hint


def test_aliases_and_untagged_unions_in_field_walk() -> None:
    problems = validation_problems(
        "name: x\nchannels:\n  phone:\n    arrivals: {kind: constant, rate: 1}\n    max_wiat: 3\n"
        "fallback: {kind: constant, rte: 1}\nnmae: y\n"
    )
    assert "did you mean 'maxWait'?" in problems["channels.phone.max_wiat"].hint
    assert problems["fallback.rte"].hint.startswith("did you mean 'rate'?")
    assert problems["nmae"].hint == "did you mean 'name'? valid fields: name, channels, fallback"
    assert (problems["nmae"].line, problems["nmae"].column) == (7, 1)


def test_missing_top_level_field() -> None:
    problems = validation_problems("channels: {}\n")
    assert problems["name"].line == 1 and "required" in problems["name"].message


def test_real_validation_error_with_odd_loc_is_located() -> None:
    doc = load_yaml_text(NESTED, "n.yaml")
    exc = pydantic.ValidationError.from_exception_data(
        "Model",
        [{"type": "extra_forbidden", "loc": ("function-after[x()]", "pools", 0, "[key]", 99, "zz"), "input": 1}],
    )
    problem = located_validation_error(exc, doc, Model).problems[0]
    assert (problem.field, problem.line) == ("pools[0].zz", 3)


def test_never_raises_on_odd_locs() -> None:
    doc = load_yaml_text(NESTED, "n.yaml")
    odd_errors: list[dict[str, Any]] = [
        {"type": "missing", "loc": (), "msg": "Field required"},
        {"type": "value_error", "loc": ("pools", 7, ("a", ["b"])), "msg": "Value error, boom", "input": object()},
        {"type": "union_tag_invalid", "loc": ("pools",), "msg": "bad", "ctx": {}},
        {"type": "weird", "loc": ("name", "x", "y"), "msg": "odd", "input": "x" * 100},
        {"type": "extra_forbidden", "loc": ("pools", 0, "skills", "billing", "sped"), "msg": "Extra"},
        {"loc": None},
    ]
    result = located_validation_error(_FakeValidationError(odd_errors), doc, Model)  # type: ignore[arg-type]
    assert len(result.problems) == len(odd_errors)
    assert result.problems[0].field == "(top level)"
    assert result.problems[1].message == "boom" and result.problems[1].field == "pools"
    assert result.problems[3].field == "name" and "xxxx" not in result.problems[3].message
    assert result.problems[4].field == "pools[0].skills.billing.sped"
    assert str(result)


class _FakeValidationError:
    """Stands in for a ValidationError whose errors() has hand-made, odd locs."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self._errors = errors

    def errors(self, include_url: bool = True) -> list[dict[str, Any]]:
        return self._errors


def test_validation_error_on_non_mapping_data() -> None:
    doc = LocatedDoc(["not", "a", "mapping"], "x.yaml", {(): (1, 1)})
    with pytest.raises(pydantic.ValidationError) as info:
        Model.model_validate(doc.data)
    err = located_validation_error(info.value, doc, Model)
    assert err.problems[0].field == "(top level)" and err.problems[0].line == 1
