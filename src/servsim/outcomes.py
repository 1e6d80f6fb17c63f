"""Outcome codes of contacts and step visits: one code, one meaning, everywhere.

A contact's ``outcome`` is written by the engine as it leaves, and shown in the contact tables as a
category. The two sets overlap but are not the same, and both are read from this one enum:

* the **engine** writes ``IN_SYSTEM`` (still present: the row's starting value), ``HANDLED``,
  ``UNRESOLVED`` (served to the end but not resolved: it may come back as a repeat contact),
  ``ABANDONED``, ``BALKED`` and ``BLOCKED`` (no trunk line free, or a full waiting room);
* the **tables** show ``IN_SYSTEM``, ``HANDLED``, ``ABANDONED``, ``BALKED``, ``CONTAINED`` and
  ``BLOCKED`` (:data:`TABLE_OUTCOMES`, in category order): an ``UNRESOLVED`` contact is shown as
  ``handled`` with ``resolved`` false, and a handled one whose every served visit was by bots is
  ``contained``.

So ``CONTAINED`` is never written by the engine and ``UNRESOLVED`` never appears in a table. A
table category's code is its position in :data:`TABLE_OUTCOMES` (:data:`TABLE_CODE`): for the
first five it equals the enum's value, but ``BLOCKED`` (value 6, added after ``UNRESOLVED``) has
table code 5. Compare table codes with ``TABLE_CODE[Outcome.X]``, never with a bare ``Outcome.X``
for an outcome added later.

A step visit's ``v_outcome`` (:class:`VisitOutcome`) goes ``WAITING`` → ``IN_SERVICE`` →
``SERVED``, or ``WAITING`` → ``ABANDONED``, or ``IN_SERVICE`` → ``PREEMPTED`` (interruptible back-stage
work set aside for front-stage work: the item waits again in a new visit), or ``WAITING`` →
``CALLBACK`` (the caller accepted a callback; the callback waits as a visit of its own); it is shown
in the visit tables under the same names.

This module is pure data (no servsim imports), so every layer can read it. The engine binds the
codes to plain ints at import, so its hot path compares ints.
"""

from __future__ import annotations

from enum import IntEnum


class Outcome(IntEnum):
    """How a contact left (or that it is still in the system); see the module docstring for which
    codes the engine writes and which the tables show."""

    IN_SYSTEM = 0
    HANDLED = 1
    ABANDONED = 2
    BALKED = 3
    CONTAINED = 4
    UNRESOLVED = 5
    BLOCKED = 6


#: The contact tables' outcome categories, in category order (code = position).
TABLE_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.IN_SYSTEM, Outcome.HANDLED, Outcome.ABANDONED, Outcome.BALKED, Outcome.CONTAINED, Outcome.BLOCKED,
)

#: Each table category's code (its position in :data:`TABLE_OUTCOMES`).
TABLE_CODE: dict[Outcome, int] = {o: i for i, o in enumerate(TABLE_OUTCOMES)}


class VisitOutcome(IntEnum):
    """Where a step visit is, or how it ended; also the visit tables' categories, in this order."""

    WAITING = 0
    SERVED = 1
    ABANDONED = 2
    IN_SERVICE = 3
    PREEMPTED = 4
    #: the caller accepted a callback and hung up (the callback waits as a visit of its own)
    CALLBACK = 5
