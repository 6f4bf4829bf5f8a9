"""Who is reminded of what, when: the pure rule, exhaustively."""
from datetime import datetime, timedelta

import pytest

from app.domain.deadlines import VN_TZ
from app.domain.reminders import DIGEST, REMINDER, Owed, describe, due, step_at

DEADLINE = datetime(2026, 11, 17, 23, 59, 59, tzinfo=VN_TZ)
POLICY = (-5, -1, 0, 1, 3, 7)


def owed(agency="T01.SCT", status="not_started", receiver="T01", policy=POLICY, deadline=DEADLINE, period="2026-M11"):
    return Owed("BCT-BANLE", period, agency, receiver, deadline, policy, status)


def at(day, hour=8, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ)


def steps(items):
    return [(d.owed.agency, d.step) for d in items]


def test_step_times_are_8am_local_relative_to_the_deadline_day():
    assert step_at(DEADLINE, -5) == at(12)
    assert step_at(DEADLINE, 0) == at(17)
    assert step_at(DEADLINE, 7) == at(24)
    assert step_at(DEADLINE, 0, hour=7) == at(17, 7)


@pytest.mark.parametrize("now, expected", [
    (at(12, 7, 59), []),  # before the first step
    (at(12), [("T01.SCT", -5)]),
    (at(13), [("T01.SCT", -5)]),  # still within a day of becoming due, not sent yet
    (at(16, 9), [("T01.SCT", -1)]),
    (at(17, 8), [("T01.SCT", 0)]),
    (at(18, 8), [("T01.SCT", 1)]),
    (at(24, 8), [("T01.SCT", 7)]),
    (at(26, 8), []),  # the last step is two days old: stale, not sent
])
def test_the_latest_due_step_is_the_one_sent(now, expected):
    reminders, _ = due([owed()], now, set())
    assert steps(reminders) == expected


def test_never_a_step_twice_nor_an_older_step_after_a_newer_one():
    sent = {(REMINDER, "BCT-BANLE", "2026-M11", "T01.SCT", 0)}
    assert due([owed()], at(17, 9), sent)[0] == []
    assert steps(due([owed()], at(18), sent)[0]) == [("T01.SCT", 1)]
    later = {(REMINDER, "BCT-BANLE", "2026-M11", "T01.SCT", 1)}
    assert due([owed()], at(18, 10), later)[0] == []


def test_after_a_pause_only_the_latest_step_goes_out():
    reminders, _ = due([owed()], at(20, 9), set())  # the scheduler was stopped from the 12th to the 20th
    assert steps(reminders) == [("T01.SCT", 3)]


@pytest.mark.parametrize("status, reminded", [
    ("not_started", True), ("draft", True), ("returned", True), ("submitted", False), ("approved", False)])
def test_only_agencies_that_have_not_submitted_are_reminded(status, reminded):
    reminders, _ = due([owed(status=status)], at(17), set())
    assert bool(reminders) is reminded


def test_an_empty_policy_sends_nothing_and_a_custom_policy_is_followed():
    assert due([owed(policy=())], at(17), set())[0] == []
    assert steps(due([owed(policy=(-2, 2))], at(15), set())[0]) == [("T01.SCT", -2)]
    assert due([owed(policy=(-2, 2))], at(17), set())[0] == []  # no step on the deadline day


def test_digests_group_overdue_agencies_by_receiver_once_a_day():
    many = [owed("T01.SCT"), owed("T01.SNV", receiver="T01"), owed("T04.SCT", receiver="T04"),
            owed("T08.SCT", receiver="T08", status="submitted"), owed("X00001", receiver=None)]
    reminders, digests = due(many, at(18), set())
    assert len(reminders) == 4
    assert [(d.receiver, [i.owed.agency for i in d.items]) for d in digests] == [
        ("T01", ["T01.SCT", "T01.SNV"]), ("T04", ["T04.SCT"])]
    assert digests[0].key == (DIGEST, "*", "2026-11-18", "T01", 0)
    assert due(many, at(17), set())[1] == []  # nothing overdue yet: no digest
    sent = {(DIGEST, "*", "2026-11-18", "T01", 0)}
    assert [d.receiver for d in due(many, at(18), sent)[1]] == ["T04"]


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        due([owed()], datetime(2026, 11, 17, 8), set())


def test_describe_counts_local_calendar_days():
    assert describe(DEADLINE, at(12)) == "còn 5 ngày"
    assert describe(DEADLINE, at(17, 23)) == "hạn hôm nay"
    assert describe(DEADLINE, at(20)) == "quá hạn 3 ngày"
    assert describe(DEADLINE, DEADLINE + timedelta(seconds=1)) == "quá hạn 1 ngày"
