"""Exit statuses of the ``servsim`` command, and the errors that lead to them.

Scripts tell outcomes apart by the status alone, so each has one meaning:

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success
1     a task (replication, option, sweep cell) kept killing its worker process
2     bad input: a scenario, experiment or sweep file, an option, a file servsim may not read
3     stopped by a run limit: a bound on contacts in system, contacts, events or visits was
      reached (an unstable system usually reaches ``max_in_system``; the message names the
      limit and how to raise it)
4     output could not be written: disk full, read-only, a folder that is a file or a link
5     the output folder is in use by another live servsim process (the message names it)
6     ``servsim run`` finished and wrote every output, but the system is unstable: offered
      load at or above capacity where abandonment does not hold the queue, so queues grow for
      as long as the run lasts and the KPIs depend on the horizon, not on a steady state
70    internal error: a bug in servsim; the message says where the details were saved
130   interrupted (Ctrl-C or SIGTERM): finished tasks stay stored
141   the reader of the output went away (``servsim run ... | head``): nothing is lost
====  =====================================================================================

Status 3 wins over 6 when both apply. ``compare`` and ``sweep`` never exit 6: an option or a cell
over capacity is one of the study's results (its load is in the results), not an outcome of the
command. :data:`MEANINGS` holds one short line per status, for messages and ``servsim --help``.

Every status but 70 comes with a message that says what happened, without a traceback.
"""

from __future__ import annotations

from pathlib import Path

OK = 0
TASK_FAILED = 1
BAD_INPUT = 2
STOPPED = 3
OUTPUT_FAILED = 4
BUSY = 5
UNSTABLE = 6
INTERNAL_ERROR = 70
INTERRUPTED = 130
BROKEN_PIPE = 141

#: One short line per status, in order (``servsim --help`` lists them; run's last line quotes one).
MEANINGS: dict[int, str] = {
    OK: "success",
    TASK_FAILED: "a task kept killing its worker process",
    BAD_INPUT: "bad input (file, option, or a file servsim may not read)",
    STOPPED: "a replication was stopped by a run limit",
    OUTPUT_FAILED: "output could not be written",
    BUSY: "the output folder is in use by another servsim process",
    UNSTABLE: "finished, but the system is unstable (load beyond capacity)",
    INTERNAL_ERROR: "internal error (a bug in servsim)",
    INTERRUPTED: "interrupted",
    BROKEN_PIPE: "the reader of the output went away",
}


class OutputError(Exception):
    """Results could not be written to ``path``: ``reason`` says why in a few words
    ("no space left on device", "read-only file system", "is a symbolic link", ...).

    Raised instead of a bare :class:`OSError` wherever servsim writes results, so the command
    exits with :data:`OUTPUT_FAILED` and a message naming the path; tasks finished before the
    failure stay stored."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(str(path), reason)
        self.path, self.reason = Path(path), reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"


class BusyError(Exception):
    """Another live servsim process (``pid``) is writing to ``folder``; two drivers on one store
    would delete each other's unfinished work, so the second one refuses to start."""

    def __init__(self, folder: str | Path, pid: int | None, detail: str = "") -> None:
        super().__init__(str(folder), pid, detail)
        self.folder, self.pid, self.detail = Path(folder), pid, detail

    def __str__(self) -> str:
        who = f"process {self.pid}" if self.pid else "another process"
        extra = f" ({self.detail})" if self.detail else ""
        return (f"{self.folder} is in use by servsim {who}{extra}; wait for it to finish, "
                "stop it, or choose another --out folder")
