"""Outcome codes, named once for the engine and the tables.

The engine writes a contact's outcome when it leaves: IN_SYSTEM (still present), HANDLED,
UNRESOLVED, ABANDONED or BALKED. The tables show IN_SYSTEM, HANDLED, ABANDONED, BALKED and
CONTAINED: an UNRESOLVED contact is HANDLED with ``resolved`` false, and a handled contact that no
person served (bots only) is CONTAINED. No code has two meanings.
"""

from __future__ import annotations

from enum import IntEnum


class Outcome(IntEnum):
    """A contact's outcome."""

    IN_SYSTEM = 0
    HANDLED = 1
    ABANDONED = 2
    BALKED = 3
    CONTAINED = 4
    UNRESOLVED = 5


#: The outcomes of the ``contacts`` table, in category order.
TABLE_OUTCOMES = (Outcome.IN_SYSTEM, Outcome.HANDLED, Outcome.ABANDONED, Outcome.BALKED, Outcome.CONTAINED)


class VisitOutcome(IntEnum):
    """A step visit's outcome (also the ``visits`` table's category order)."""

    WAITING = 0
    SERVED = 1
    ABANDONED = 2
    IN_SERVICE = 3
