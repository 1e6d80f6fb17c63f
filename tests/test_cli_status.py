"""Every way a command can end has its own exit status and a message, never a traceback.

The statuses are declared once, in :mod:`servsim.status`; these tests drive the command as a user
would (file names with markup characters, a closed output pipe, a bug, a full disk) and check the
status and what is printed.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from servsim import status
from servsim.cli import app

TINY = textwrap.dedent("""\
    name: tiny
    horizon: {start: "00:00", end: "01:00", interval: 30min}
    channels:
      calls: {arrivals: {rate: 2/min}, entry: answer}
    pools:
      agents: {agents: 3, skills: {answer: 1.0}}
    steps:
      answer: {handle_time: {dist: exponential, mean: 1min}}
    """)

ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}


def _servsim(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "servsim.cli", *args], env=ENV, timeout=120, **kw)  # type: ignore[call-overload]


def test_the_statuses_are_distinct():
    codes = [status.OK, status.TASK_FAILED, status.BAD_INPUT, status.STOPPED, status.OUTPUT_FAILED, status.BUSY,
             status.UNSTABLE, status.INTERNAL_ERROR, status.INTERRUPTED, status.BROKEN_PIPE]
    assert len(set(codes)) == len(codes)
    assert list(status.MEANINGS) == codes  # one meaning each, in order


def test_every_status_is_documented_in_the_readme_and_in_help():
    """The README's Reliability table and ``servsim --help`` list every status, and nothing else."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and line[2:3].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == list(status.MEANINGS)
    res = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})
    epilog = res.output.split("Exit statuses", 1)[1]
    listed = [int(line.split()[0]) for line in epilog.splitlines() if line.strip()[:1].isdigit()]
    assert listed == list(status.MEANINGS)
    for code, meaning in status.MEANINGS.items():
        assert meaning in epilog, (code, meaning)


# ----------------------------------------------------------------------------- markup in file names

#: Pieces a hostile or unlucky file name is made of: rich markup, brackets, a closing tag.
_PIECES = st.sampled_from(["[", "]", "[/]", "[bold red]", "[/x]", "[link=x]", "a", "é", " ", "\\", "=", "x[/b]"])
_NAMES = st.lists(_PIECES, min_size=1, max_size=6).map("".join).filter(lambda n: n.strip() not in ("", ".", ".."))


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES)
def test_names_with_markup_are_shown_as_they_are(tmp_path: Path, name: str):
    """A scenario file and an --out folder whose names hold markup: the run succeeds and every
    message shows the names verbatim (``a[/b].yaml`` used to raise MarkupError after writing the
    tables; ``[bold red]x[/].yaml`` printed another name)."""
    folder = tmp_path / "case"
    folder.mkdir(exist_ok=True)
    scenario = folder / f"{name}.yaml"
    scenario.parent.mkdir(parents=True, exist_ok=True)  # a '/' in the name is a folder
    scenario.write_text(TINY, encoding="utf-8")
    out = folder / f"out {name}"
    res = CliRunner().invoke(app, ["run", str(scenario), "-n", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"tables written to {out}/" in " ".join(res.output.split()).replace(" /", "/") or \
        str(out) in res.output.replace("\n", "")
    assert (out / "run.json").is_file()

    broken = folder / f"{name}.bad.yaml"
    broken.write_text(TINY.replace("rate: 2/min", "rat: 2/min"), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(broken)])
    assert res.exit_code == status.BAD_INPUT
    assert f"{broken} is not a valid scenario" in res.output.replace("\n", "")


def test_a_newline_in_a_file_name_forges_no_message_line(tmp_path: Path):
    bad = tmp_path / "x\nerror: forged.yaml"
    bad.write_text(TINY.replace("rate: 2/min", "rat: 2/min"), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(bad)])
    assert res.exit_code == status.BAD_INPUT
    assert not any(line.startswith("error: forged") for line in res.stderr.splitlines()), res.stderr


# ----------------------------------------------------------------------------- a closed output pipe


@pytest.mark.parametrize("args", [["run", "-n", "1"], ["run", "-n", "1", "--json"], ["validate"]],
                         ids=["table", "json", "validate"])
def test_a_closed_output_pipe_exits_141_quietly(tmp_path: Path, args: list[str]):
    """``servsim run ... | head``: the reader went away. That is not a worker fault (status 1)."""
    f = tmp_path / "tiny.yaml"
    f.write_text(TINY, encoding="utf-8")
    read, write = os.pipe()
    os.close(read)
    try:
        res = _servsim(args[0], str(f), *args[1:], stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert res.returncode == status.BROKEN_PIPE, res.stderr.decode()
    assert b"Traceback" not in res.stderr and b"Exception ignored" not in res.stderr


# ----------------------------------------------------------------------------- bugs and disks


def test_a_bug_is_one_line_and_a_saved_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    f = tmp_path / "tiny.yaml"
    f.write_text(TINY, encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr("servsim.api.replicate", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    assert res.exit_code == status.INTERNAL_ERROR
    assert "Traceback" not in res.stderr
    assert "internal error, a bug in servsim: ZeroDivisionError: a planted bug" in " ".join(res.stderr.split())
    reports = list(tmp_path.glob("servsim-crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in res.stderr.replace("\n", "")
    text = reports[0].read_text()
    assert "Traceback" in text and "a planted bug" in text and "def broken" not in text

    monkeypatch.setenv("SERVSIM_DEBUG", "1")
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1"])
    assert isinstance(res.exception, ZeroDivisionError)  # developers get the traceback


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_has_its_own_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int):
    f = tmp_path / "tiny.yaml"
    f.write_text(TINY, encoding="utf-8")

    def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(tmp_path / "out" / "summary.parquet"))

    monkeypatch.setattr("pandas.DataFrame.to_parquet", no_room)
    res = CliRunner().invoke(app, ["run", str(f), "-n", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == status.OUTPUT_FAILED, res.stderr
    assert os.strerror(code) in res.stderr and "summary.parquet" in res.stderr


# ----------------------------------------------------------------------------- long text


def test_a_long_description_is_folded_not_echoed(tmp_path: Path):
    """A 100,000-character word in ``description`` took minutes to wrap; validate shows its start."""
    f = tmp_path / "long.yaml"
    f.write_text(TINY.replace("name: tiny", "name: tiny\ndescription: " + "x" * 100_000), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(f)], terminal_width=80)
    assert res.exit_code == 0, res.output
    assert res.output.count("x") < 1_000 and "99,600 more characters" in res.output


def test_emoji_codes_in_input_are_shown_as_written(tmp_path: Path):
    """rich turns ``:x:`` into an emoji; a quoted line of /etc/passwd must read as it is written."""
    f = tmp_path / "passwd.yaml"
    f.write_text(TINY + "root:x:0:0: 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(f)])
    assert res.exit_code == status.BAD_INPUT
    assert "root:x:0:0" in res.output and "❌" not in res.output
