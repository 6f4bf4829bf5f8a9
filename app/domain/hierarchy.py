"""The agency hierarchy as plain data: who must report a regime for a period, to whom and by
when; and which current units an old unit's data belongs to (lineage across the 2025 reform)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from .catalogue import RegimeDef, Tier
from .deadlines import Deadline, compute_deadline
from .periods import Period
from .workdays import DEFAULT_CALENDAR, WorkingCalendar


@dataclass(frozen=True)
class Unit:
    """An agency as it stood on one day."""

    code: str
    name: str
    level: str
    kind: str | None = None
    parent: str | None = None  # parent code on that day
    province: str | None = None  # the province it belongs to on that day (itself for a province)


@dataclass(frozen=True)
class Obligation:
    agency: str
    tier: int  # index into regime.tiers
    receiver: str | None  # None when the receiver rule finds nobody (shown as a problem)
    deadline: Deadline


class Directory:
    """The units in force on one day, indexed for receiver look-ups."""

    def __init__(self, units: Iterable[Unit]):
        self.by_code = {u.code: u for u in units}
        self.departments = {(u.province, u.kind): u.code for u in self.by_code.values() if u.level == "department"}

    def receiver_for(self, tier: Tier, unit: Unit) -> str | None:
        """The unit's receiver under the tier's rule; never the unit itself (nobody decides on their own report)."""
        found = self._receiver(tier, unit)
        return None if found == unit.code else found

    def _receiver(self, tier: Tier, unit: Unit) -> str | None:
        rule = tier.receiver
        if rule == "parent":
            return unit.parent
        if rule == "province":
            return unit.province if unit.province != unit.code else None
        if rule.startswith("department:"):
            return self.departments.get((unit.province, rule.split(":", 1)[1]))
        return rule if rule in self.by_code else None


def selects(tier: Tier, unit: Unit) -> bool:
    sel = tier.reporters
    if unit.code in sel.agencies:
        return True
    if unit.level not in sel.levels or unit.code in sel.except_agencies:
        return False
    if unit.level != "department":
        return True
    return (not sel.department_kinds or unit.kind in sel.department_kinds) and unit.kind not in sel.except_department_kinds


def obligations(regime: RegimeDef, period: Period, units: Iterable[Unit],
                cal: WorkingCalendar = DEFAULT_CALENDAR) -> list[Obligation]:
    """Every (agency, tier) that owes `period`. `units` are the agencies in force at the end of the
    cut-off window — a unit that did not exist then owes nothing; its successor reports instead."""
    regime.check_period(period)
    directory = Directory(units)
    cut_end = period.cutoff(regime.cutoff)[1]
    out = []
    for i, tier in enumerate(regime.tiers):
        deadline = compute_deadline(tier.deadline, cut_end, period.year, cal)
        for unit in directory.by_code.values():
            if selects(tier, unit):
                out.append(Obligation(unit.code, i, directory.receiver_for(tier, unit), deadline))
    return out


@dataclass(frozen=True)
class Edge:
    predecessor: str
    successor: str
    effective: date
    weight: float = 1.0


def current_units(code: str, on: date, edges: Iterable[Edge], valid_on: Mapping[str, bool]) -> dict[str, float]:
    """The units in force on `on` that `code`'s data belongs to, with the share each receives.

    Follows predecessor → successor links (effective on or before `on`) transitively and multiplies
    weights, so a commune split 60/40 then merged again still adds up to 1.0. `valid_on[c]` says
    whether unit c is in force on `on`.
    """
    forward: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        if edge.effective <= on:
            forward[edge.predecessor].append(edge)
    shares: dict[str, float] = defaultdict(float)
    stack = [(code, 1.0, 0)]
    while stack:
        current, share, depth = stack.pop()
        if valid_on.get(current) or not forward.get(current) or depth > 20:  # depth guards a cycle
            shares[current] += share
            continue
        for edge in forward[current]:
            stack.append((edge.successor, share * edge.weight, depth + 1))
    return dict(shares)
