"""The reporting center's computed views kept in the database (app/services/center_cache.py): the
same figures as computed, served while nothing they read has changed, computed again as soon as a
report of one of their periods (or the agency map) changes."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CenterView
from app.services import agencies as agency_svc
from app.services import center as center_svc
from app.services import center_cache, history
from app.services.center_types import pack, unpack
from tests.integration.test_center import HISTORY, load_history, tthc, user


@pytest.fixture
def analyst(app):
    return user("phantich.vpcp")


@pytest.fixture
def computed(monkeypatch):
    """How many times a view was actually computed (not read back)."""
    calls = []
    real = center_svc._compute

    def counting(*args, **kwargs):
        calls.append(args[4].key)
        return real(*args, **kwargs)

    monkeypatch.setattr(center_svc, "_compute", counting)
    return calls


def page_view(app, **kwargs):
    """As a page view (GET) asks for it: a reader, so the computed view is stored."""
    with app.test_request_context("/center", method="GET"):
        return center_svc.view(**kwargs)


def figures(v):
    return ({r.indicator.code: (r.values, r.previous, r.last_year, r.vs_previous, r.vs_last_year) for r in v.rows},
            [(c.code, c.name, c.values, c.weight) for c in v.children], v.expected, v.reporting, v.tier)


def test_packing_a_view_keeps_every_figure(app, analyst):
    load_history()
    for units in ("as_reported", "current"):
        v = center_svc._compute(*_args(units))
        back = unpack(pack(v), regime=v.regime, version=v.version, definition=v.definition, catalogue=v.catalogue, period=v.period,
                      unit=v.unit, units=v.units, basis=v.basis)
        assert back == v  # every row, comparison (with its coverage), child, share, count


def _args(units):
    r = center_svc._regime("VPCP-TTHC")
    definition, cat = center_svc.regime_definition(r.current_version)
    return r, r.current_version, definition, cat, center_svc._period(definition, "2025-Q1"), center_svc.NATION, units, "approved", None, None


def test_a_kept_view_is_served_until_a_report_of_its_periods_changes(app, analyst, computed):
    load_history()
    first = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    again = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert computed == ["2025-Q1"]  # the second reader got the kept view
    assert figures(again) == figures(first)
    assert db.session.scalar(select(func.count()).select_from(CenterView)) == 1
    total = {r.indicator.code: r.values[""] for r in first.rows}["TTHC_NHAN_TONG"]

    # another province's report of the same period: the next reader sees it
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2025-Q1",
                         reports={"T04-63": tthc(7, 3, 1, 5, 1, 0, 0)})
    after = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert computed == ["2025-Q1", "2025-Q1"]
    assert {r.indicator.code: r.values[""] for r in after.rows}["TTHC_NHAN_TONG"] == total + 10

    # a report of the previous period changes the comparisons: computed again
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2024-Q4", reports=HISTORY)
    compared = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert computed[-1] == "2025-Q1" and len(computed) == 3
    assert {r.indicator.code: r.previous for r in compared.rows}["TTHC_NHAN_TONG"] == total
    # a report of an unrelated period does not
    history.load_reports(actor=user("quantri"), regime_code="VPCP-TTHC", period_key="2025-Q3", reports=HISTORY)
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert len(computed) == 3


def test_each_question_has_its_own_view_and_the_readers_scope_is_checked_first(app, analyst, computed):
    load_history()
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    current = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", units="current")
    assert {c.code for c in current.children} == {"T15", "T01"}  # not the as-reported view kept a moment ago
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", basis="latest")
    assert len(computed) == 3
    from app.services import users
    from app.services.errors import Forbidden

    local = users.create_user(username="phantich.t15", password="mat-khau-dai-2026", full_name="Chuyên viên", role="analyst",
                              agency_code="T15")
    mine = page_view(app, user=local, regime="VPCP-TTHC", period="2025-Q1", units="current")
    assert mine.unit == "T15"  # their province, never the kept national view
    with pytest.raises(Forbidden):
        page_view(app, user=local, regime="VPCP-TTHC", period="2025-Q1", unit="T01")


def test_a_new_agency_map_makes_every_view_stale(app, analyst, computed):
    load_history()
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    before = center_cache.stamps([])
    agency_svc.load_agencies()
    assert center_cache.stamps([]) != before
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert len(computed) == 2


def test_old_kept_views_are_dropped(app, analyst):
    from datetime import UTC, datetime, timedelta

    load_history()
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1")
    assert center_cache.prune() == 0
    db.session.execute(CenterView.__table__.update().values(made_at=datetime.now(UTC) - timedelta(days=31)))
    assert center_cache.prune() == 1


def test_only_the_costly_views_are_kept(app, analyst, computed):
    """The nation's and the provinces' views are kept — for a province also as its page shows it by
    default (its agencies' first columns); an agency's own view (thousands of them) and a page's own
    choice of other columns are computed each time: a reader cannot fill the table by varying them."""
    load_history()
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63")  # a province (of the time)
    assert db.session.scalar(select(func.count()).select_from(CenterView)) == 1
    first = center_svc.shown_first("VPCP-TTHC")
    default = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63", child_indicators=[*first, ""])
    assert db.session.scalar(select(func.count()).select_from(CenterView)) == 2 and len(computed) == 2
    fewer = page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63", child_indicators=first[:2])
    assert len(computed) == 2 and figures(fewer) == figures(default)  # a subset of the first columns: the same kept view
    assert default.children and all(set(c.values) <= set(first) for c in default.children)  # its agencies read for those only
    other = [c for c in center_svc.shown_first("VPCP-TTHC", n=100) if c not in first][:1]
    assert other
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63", child_indicators=other)
    page_view(app, user=analyst, regime="VPCP-TTHC", period="2025-Q1", unit="T01-63", child_indicators=[*first, *other])
    assert db.session.scalar(select(func.count()).select_from(CenterView)) == 2
    assert len(computed) == 4
