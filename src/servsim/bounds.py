"""How big a run of a scenario will be, against its ``limits``: refuse at load what would not end.

Every field of a file can be in range while their product is not: a rework loop left with
probability 1e-12 (10¹² visits a contact), every abandoning caller retrying 100 times, two channels
each just under the contact limit. From the compiled plan this module predicts, per replication:

* visits per contact of each channel (the traffic equations of :mod:`servsim.capacity`; ``inf`` when
  a loop's exit is lost in rounding) against ``limits.max_visits_per_contact``;
* contacts: expected arrivals × the most attempts (first contact, retrials, repeats) each can make
  (:func:`servsim.capacity.attempts_per_arrival` with ``worst``) against ``limits.max_contacts``;
* step visits: contacts × visits per contact against ``limits.max_visits``;
* contacts held at once by an ``unlimited`` vendor or bots pool: its peak work arrival rate × its
  handle time (at most all the work it receives) against ``limits.max_in_system``.

Each excess is an :class:`~servsim.scenario.checks.Issue` that names the limit, the predicted
value and how to raise it. What cannot be predicted is bounded at run time by the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from servsim.capacity import attempts_per_arrival, expected_arrivals, expected_visits
from servsim.engine.plan import Plan
from servsim.scenario.checks import Issue, count_text


def bound_issues(plan: Plan) -> list[Issue]:
    """Predicted excesses of the plan's limits (empty when the run fits)."""
    visits = expected_visits(plan)
    per_contact = visits.sum(axis=1) if visits.size else np.zeros(len(plan.channels))
    issues = list(_visits_per_contact(plan, visits, per_contact))
    if issues:
        return issues          # the totals below would only repeat the same loop
    arrivals = expected_arrivals(plan)
    attempts = attempts_per_arrival(plan, worst=True)
    contacts = arrivals * attempts
    issues += _contacts(plan, attempts, contacts)
    issues += _visits(plan, contacts, per_contact)
    issues += _held_by_unlimited(plan, attempts, visits)
    return issues


def _blueprint(plan: Plan, s: int) -> str:
    """Name of the blueprint step of plan step s (bots and vendor variants belong to one)."""
    origin = plan.steps[s].origin
    return plan.steps[origin if origin >= 0 else s].name


def _visits_per_contact(plan: Plan, visits: np.ndarray, per_contact: np.ndarray) -> Iterator[Issue]:
    limit = plan.scenario.limits.max_visits_per_contact
    seen: set[str] = set()
    for c, v in enumerate(per_contact):
        if v <= limit:
            continue
        step = _blueprint(plan, int(np.argmax(visits[c])))
        if step in seen:
            continue
        seen.add(step)
        channel = plan.channels[c].name
        if np.isinf(v):
            what = (f"contacts of channel {channel!r} would never leave: the loop through step {step!r} is "
                    "left with a probability lost in rounding (below about 1e-16)")
        else:
            what = (f"contacts of channel {channel!r} would make about {count_text(v)} step visits each "
                    f"(rework loop through step {step!r})")
        yield Issue(("steps", step, "next"), f"{what}, more than limits.max_visits_per_contact = {limit:,}",
                    "give the loop a larger probability to leave (e.g. exit: 0.05), or raise "
                    "limits.max_visits_per_contact")


def _largest(plan: Plan, amounts: np.ndarray) -> str:
    return plan.channels[int(np.argmax(amounts))].name


def _contacts(plan: Plan, attempts: np.ndarray, contacts: np.ndarray) -> Iterator[Issue]:
    limit = plan.scenario.limits.max_contacts
    total = float(contacts.sum())
    if not total > limit:
        return
    c = int(np.argmax(contacts))
    ch = plan.channels[c]
    if attempts[c] > 1.0:
        # the retrials count only where contacts can abandon or balk (attempts_per_arrival)
        retries = ch.retrial is not None and (ch.balking is not None or any(p is not None for p in ch.patience))
        part = "retrial" if retries and (ch.repeats is None or ch.retrial[0] >= ch.repeats[0]) else "repeats"
        where = ("channels", plan.channels[c].name, part)
        why = (f" (up to {attempts[c]:.3g} contacts per arrival on channel {plan.channels[c].name!r}, "
               f"retrials and repeats included)")
        hint = f"lower the {part} probability or max_attempts, or raise limits.max_contacts"
    else:
        where = ("channels", plan.channels[c].name, "arrivals")
        why = ""
        hint = "shorten the horizon, lower the volume, or raise limits.max_contacts"
    yield Issue(where, f"up to {count_text(total)} contacts a replication over all channels{why}, more than "
                f"limits.max_contacts = {limit:,}",
                hint + " if memory allows: about 600 bytes a contact with the per-contact log")


def _visits(plan: Plan, contacts: np.ndarray, per_contact: np.ndarray) -> Iterator[Issue]:
    limit = plan.scenario.limits.max_visits
    visits = contacts * per_contact
    total = float(visits.sum())
    if total > limit:
        channel = _largest(plan, visits)
        yield Issue(("channels", channel), f"up to {count_text(total)} step visits a replication (contacts × "
                    f"visits per contact, all channels), more than limits.max_visits = {limit:,}",
                    "shorten the horizon, lower the volume or the rework, or raise limits.max_visits: "
                    "about 250 bytes a visit with the per-contact log")


def _held_by_unlimited(plan: Plan, attempts: np.ndarray, visits: np.ndarray) -> Iterator[Issue]:
    """An unlimited pool never queues work, so all it receives is in the system at once while it
    works: rate × handle time (Little's law), at most all the work of the horizon."""
    limit = plan.scenario.limits.max_in_system
    open_s = max(plan.end - plan.start, 1.0)
    peak = np.asarray([max((r for _, _, r in ch.rate_pieces), default=0.0) if ch.trace is None
                       else len(ch.trace) / open_s for ch in plan.channels]) * attempts
    total = expected_arrivals(plan) * attempts
    held: dict[int, float] = {}
    for s, st in enumerate(plan.steps):
        if not st.pools or st.handle is None or not plan.pools[st.pools[0][0]].unlimited:
            continue
        p = st.pools[0][0]
        mean = st.handle.mean_s * st.pools[0][1]
        v = visits[:, s]
        if not v.any() or mean <= 0:
            continue
        at_once = min(float(peak @ v) * min(mean, open_s), float(total @ v))
        held[p] = held.get(p, 0.0) + at_once
    for p, n in held.items():
        if n > limit:
            pool = plan.pools[p]
            yield Issue(("pools", pool.name, "agents"),
                        f"the unlimited {pool.kind} pool {pool.name!r} would hold about {count_text(n)} contacts at "
                        f"once (work arriving × handle time), more than limits.max_in_system = {limit:,}",
                        "give the pool a capacity, agents: a number; or shorten its handle time, or raise "
                        "limits.max_in_system")
