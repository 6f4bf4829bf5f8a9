"""The outlier rule (app/domain/quality.py): seasons are not outliers, typos are; units without
history are judged by their peers; percentages in points; nothing flagged on clean data."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.domain import quality

PER_YEAR = 12
WIDTH = quality.offsets_needed(PER_YEAR) + 1


def series(level: float, month_now: int, *, tet: float = 1.9, noise=0.03, seed=0) -> np.ndarray:
    """Monthly values, column k = k months back from `month_now`, with a Tết spike in month 1."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(WIDTH):
        m = (month_now - 1 - k) % 12 + 1
        years_back = k / 12
        season = 1 + 0.12 * math.sin(2 * math.pi * (m - 4) / 12) + (tet - 1 if m == 1 else 0)
        out.append(level * season * 1.06 ** -years_back * (1 + rng.uniform(-noise, noise)))
    return np.array(out)


def test_a_tet_spike_that_every_year_has_is_not_flagged_but_a_naive_check_would_flag_it():
    rows = np.stack([series(1000 + 37 * i, 1, seed=i) for i in range(30)])
    found = quality.scan(rows, np.zeros(30, dtype=int), np.zeros(30, dtype=bool), PER_YEAR)
    assert found == []
    # the check DHIS2 users complain of — the recent median and MAD — cries wolf on every unit
    recent = rows[:, 1:7]
    med = np.median(recent, axis=1)
    mad = np.median(np.abs(recent - med[:, None]), axis=1) * 1.4826
    assert (np.abs(rows[:, 0] - med) / mad > quality.THRESHOLD).all()


@pytest.mark.parametrize("factor", [10, 0.1, 1000, 2.0, 0.0])
def test_a_slip_in_the_current_value_is_flagged_with_what_was_expected(factor):
    rows = np.stack([series(800 + 11 * i, 5, seed=i) for i in range(20)])
    true_value = rows[7, 0]
    rows[7, 0] = true_value * factor
    found = quality.scan(rows, np.zeros(20, dtype=int), np.zeros(20, dtype=bool), PER_YEAR)
    assert [f.row for f in found] == [7]
    f = found[0]
    assert f.basis == "seasonal"
    assert f.expected == pytest.approx(true_value, rel=0.1)
    assert f.score > quality.THRESHOLD


def test_small_noise_and_a_steady_trend_are_left_alone():
    rows = np.stack([series(500, 8, noise=0.08, seed=i) * (1.02 ** i) for i in range(40)])
    assert quality.scan(rows, np.zeros(40, dtype=int), np.zeros(40, dtype=bool), PER_YEAR) == []


def test_a_unit_without_history_is_judged_by_its_peers_change_or_not_at_all():
    rows = np.stack([series(1000, 5, seed=i) for i in range(12)])
    rows[3, 1:] = np.nan  # a new unit: nothing behind it → no history, no change: not judged
    rows[4, 2:] = np.nan  # one period behind it: its change against the peers' changes
    rows[4, 0] = rows[4, 1] * 20
    found = quality.scan(rows, np.zeros(12, dtype=int), np.zeros(12, dtype=bool), PER_YEAR)
    assert [(f.row, f.basis) for f in found] == [(4, "peers")]


def test_percentages_are_judged_in_points_and_by_level_among_peers_without_history():
    rng = np.random.default_rng(1)
    rows = 85 + rng.uniform(-2, 2, size=(15, WIDTH))
    rows[2, 0] = 45  # forty points down
    rows[5, 0] = 88  # three points up: within the noise
    rows[9, 1:] = np.nan
    rows[9, 0] = 12  # a new unit far below every other
    found = quality.scan(rows, np.zeros(15, dtype=int), np.ones(15, dtype=bool), PER_YEAR)
    assert {f.row for f in found} == {2, 9}
    assert next(f for f in found if f.row == 9).basis == "peers"
    assert next(f for f in found if f.row == 2).expected == pytest.approx(85, abs=3)


def test_peers_are_only_cells_of_the_same_group():
    rows = np.stack([series(1000, 5, seed=i) for i in range(10)] + [series(10, 5, seed=i) for i in range(10)])
    rows[:, 2:] = np.nan  # one period behind each: only the peers can judge
    rows[10:, 0] = rows[10:, 1] * 3  # a whole group tripling together is that group's news, not an outlier
    groups = np.array([0] * 10 + [1] * 10)
    assert quality.scan(rows, groups, np.zeros(20, dtype=bool), PER_YEAR) == []


def test_quarterly_and_annual_data_and_empty_input():
    assert quality.scan(np.empty((0, 5)), np.array([]), np.array([], dtype=bool), 4) == []
    width = quality.offsets_needed(1) + 1
    rows = np.tile(np.linspace(100, 130, width)[::-1], (8, 1))
    rows[0, 0] = 5000
    found = quality.scan(rows, np.zeros(8, dtype=int), np.zeros(8, dtype=bool), 1)
    assert [f.row for f in found] == [0] and found[0].basis == "recent"


def test_the_peers_statistics_of_all_groups_at_once_equal_each_groups_own():
    """judge() computes every group's median and MAD in one sort; on random cells (gaps, groups of
    one to forty, percentages and levels) they equal np.nanmedian's, group by group."""
    from app.domain import quality as q

    rng = np.random.default_rng(7)
    n = 3000
    values = rng.normal(0, 1, n) * rng.choice([1, 10, 1000], n)
    values[rng.random(n) < 0.2] = np.nan
    inv = np.repeat(np.arange(150), rng.integers(1, 40, 150))[:n]
    inv = np.concatenate([inv, np.full(n - len(inv), 150)]) if len(inv) < n else inv
    groups = int(inv.max()) + 1
    floor = rng.choice([q.FLOOR_LEVEL, q.FLOOR_POINTS], groups)
    (med, spread), = q._robust_groups([values], inv, floor, 5)
    for g in range(groups):
        own = values[inv == g]
        m, s = q._robust(own[None, :], 1, floor[g:g + 1], 5)
        assert (np.isnan(m[0]) and np.isnan(med[g])) or m[0] == med[g], g
        assert (np.isnan(s[0]) and np.isnan(spread[g])) or s[0] == spread[g], g
