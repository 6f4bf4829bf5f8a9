"""Data quality: which reported values to look at twice.

DHIS2's outlier lists compare a value with the mean (or median) of its unit's recent values; on
seasonal data — retail in the Tết month, procedures in the fourth quarter — every season's peak is
flagged, every year, and users learn to ignore the list. Here a value is judged against:

* **its own history, season removed**: the change from the same period last year, against the
  changes from the same period last year of the unit's recent periods (median and MAD — robust to
  one bad month). A Tết month that rises as every Tết month rose is not news; a month ten times its
  usual self is. Without a year of history, against the unit's recent values, with a wider margin.
* **comparable units in the same period**: the unit's change against the changes of the other units
  of the same regime and tier (their median and MAD). Levels of sums are never compared across
  units (a big province is not an outlier); levels of percentages are, when there is no history.

A value is flagged when its own history says so (a history of under a year only when the peers
agree: the first Tết of a new series moves every unit alike), or — when it has no history to judge by — when its
peers do. Changes are measured on arcsinh(x), which is log-like for large figures (a ×10 is a
×10 for a commune and for a province) and still defined at zero and below; percentages and ratios
are measured in points. Pure Python with numpy (pandas for the groups' medians), no database: `scan` takes
arrays, returns findings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 4.0  # robust z-score (MAD scaled to σ) beyond which a value is flagged
RECENT = 6  # how many recent periods make the history
FLOOR_LEVEL = 0.05  # the least spread assumed, in arcsinh units (≈ 5 %): perfectly smooth series are not hair-triggers
FLOOR_POINTS = 2.0  # the same for percentages, in points
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Finding:
    row: int  # index into the cells given to `scan`
    value: float
    expected: float | None  # what the history (or the peers) suggested
    score: float  # how far out, in robust standard deviations
    basis: str  # seasonal | recent | peers
    peer_change: float | None = None  # the peers' median change (level units: a ratio − 1; points: points)
    own_change: float | None = None


def offsets_needed(per_year: int) -> int:
    """How many periods back `scan` reads: the recent ones and, for seasonal data, the year before them."""
    return RECENT + (per_year if per_year > 1 else 0)


def _fwd(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.where(points[:, None], x, np.arcsinh(x))


def _inv(y: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.where(points, y, np.sinh(y))


def _robust(d: np.ndarray, axis: int, floor: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and spread (MAD as σ, never below the floor) along an axis; NaN where fewer than `least` values."""
    with np.errstate(all="ignore"), _quiet():
        med = np.nanmedian(d, axis=axis)
        mad = np.nanmedian(np.abs(d - np.expand_dims(med, axis)), axis=axis)
    enough = np.sum(~np.isnan(d), axis=axis) >= least
    spread = np.maximum(MAD_TO_SIGMA * mad, floor)
    return np.where(enough, med, np.nan), np.where(enough, spread, np.nan)


def _medians(columns: list[np.ndarray], inv: np.ndarray, groups: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group (inv[i] = the group of row i), for each column: the median of its non-NaN values
    (NaN when none) and how many there are — every group and column in one pandas groupby (a
    tenth of a loop over groups), equal to np.nanmedian group by group (tests/unit/test_outlier_rule.py)."""
    import pandas as pd

    by = pd.DataFrame({i: c for i, c in enumerate(columns)}).groupby(inv)
    med = by.median().reindex(range(groups))
    count = by.count().reindex(range(groups), fill_value=0)
    return [(med[i].to_numpy(dtype=float), count[i].to_numpy(dtype=np.int64)) for i in range(len(columns))]


def _robust_groups(columns: list[np.ndarray], inv: np.ndarray, floor: np.ndarray, least: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """_robust for every group and column at once: median and spread (MAD as σ, never below the
    group's floor); NaN where the group has fewer than `least` values."""
    groups = len(floor)
    first = _medians(columns, inv, groups)
    mads = _medians([np.abs(c - med[inv]) for c, (med, _) in zip(columns, first, strict=True)], inv, groups)
    out = []
    for (med, count), (mad, _) in zip(first, mads, strict=True):
        enough = count >= least
        out.append((np.where(enough, med, np.nan), np.where(enough, np.maximum(MAD_TO_SIGMA * mad, floor), np.nan)))
    return out


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


FEATURES = ("value", "now", "z_hist", "expected", "seasonal", "deviation", "m1", "b1", "m2", "b2")


@dataclass
class Features:
    """What each cell's own history says, one array per name in FEATURES (a row per cell): its
    value and its value on the measuring scale (`now`); how far it is from its history (`z_hist`,
    NaN without enough history) and what that history suggested (`expected`); whether that was the
    seasonal rule (1) or the recent values (0); its departure from its recent median (`deviation`);
    the measures compared with its peers and their bases (`m1`/`b1` from the same period last
    year, `m2`/`b2` from the previous period). Row by row: a cell's features depend on its own
    history only, so they can be computed when its report is approved and kept."""

    value: np.ndarray
    now: np.ndarray
    z_hist: np.ndarray
    expected: np.ndarray
    seasonal: np.ndarray
    deviation: np.ndarray
    m1: np.ndarray
    b1: np.ndarray
    m2: np.ndarray
    b2: np.ndarray

    @classmethod
    def stack(cls, columns: dict[str, np.ndarray]) -> Features:
        return cls(**{name: np.asarray(columns[name], dtype=float) for name in FEATURES})

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in FEATURES}


def scan(history: np.ndarray, groups: np.ndarray, points: np.ndarray, per_year: int,
         threshold: float = THRESHOLD) -> list[Finding]:
    """`history[i, k]` is cell i's value k periods back (0 = the period checked; NaN where none),
    with `offsets_needed(per_year) + 1` columns; `groups[i]` names the cells that are peers (same
    indicator and breakdown); `points[i]` is true for percentages and ratios. Returns the flagged
    cells, furthest out first."""
    if history.shape[0] == 0:
        return []
    return judge(features(history, points, per_year), groups, points, threshold)


def features(history: np.ndarray, points: np.ndarray, per_year: int) -> Features:
    """Each cell against its own history (row by row; see Features)."""
    n, width = history.shape
    y = _fwd(history.astype(float), points)
    floor = np.where(points, FLOOR_POINTS, FLOOR_LEVEL)
    now = y[:, 0]
    seasonal = per_year > 1 and width > per_year + 1
    nan = np.full(n, np.nan)
    if seasonal:  # change from the same period last year, now and over the recent periods
        own = now - y[:, per_year]
        past = np.stack([y[:, k] - y[:, k + per_year] for k in range(1, min(RECENT, width - 1 - per_year) + 1)], axis=1)
        med, spread = _robust(past, 1, floor, 3)
        z_hist = np.abs(own - med) / spread
        expected_hist = _inv(y[:, per_year] + med, points)
        by_season = np.ones(n)
        # a unit with under a year behind it: its recent values, with a margin twice as wide
        recent_med, recent_spread = _robust(y[:, 1:RECENT + 1], 1, floor * 2, 4)
        fallback = np.isnan(z_hist)
        z_hist = np.where(fallback, np.abs(now - recent_med) / recent_spread, z_hist)
        expected_hist = np.where(fallback, _inv(recent_med, points), expected_hist)
        by_season = np.where(fallback, 0.0, by_season)
        m1, b1 = own, y[:, per_year]
    else:
        recent_med, recent_spread = _robust(y[:, 1:RECENT + 1], 1, floor * (1 if per_year <= 1 else 2), 3)
        z_hist = np.abs(now - recent_med) / recent_spread
        expected_hist = _inv(recent_med, points)
        by_season = np.zeros(n)
        m1, b1 = nan, nan
    return Features(history[:, 0].astype(float), now, z_hist, expected_hist, by_season, now - recent_med, m1, b1, now - y[:, 1], y[:, 1])


def judge(f: Features, groups: np.ndarray, points: np.ndarray, threshold: float = THRESHOLD) -> list[Finding]:
    """The cells to look at twice, from their features and their peers' (`groups[i]`: cells of the
    same indicator, breakdown and level), furthest out first."""
    n = len(f.now)
    if n == 0:
        return []
    floor = np.where(points, FLOOR_POINTS, FLOOR_LEVEL)
    now, z_hist, deviation = f.now, f.z_hist, f.deviation
    # peers: the same change across the units of the same group — from the same period last year
    # where the unit has one, else from the previous period — or, for percentages with neither, the level
    z_peer = np.full(n, np.nan)
    peer_med = np.full(n, np.nan)
    peer_base = np.full(n, np.nan)
    import pandas as pd

    inv = pd.factorize(groups)[0]
    size = np.bincount(inv)
    in_big = (size >= 5)[inv]  # groups of under five units are not compared
    g_floor = np.empty(len(size))
    g_floor[inv] = floor  # one indicator per group: one floor
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = _robust_groups([deviation, f.m1, f.m2], inv, g_floor, 5)
        med, spread = stats[0]
        z_alike = np.where(in_big, np.abs(deviation - med[inv]) / spread[inv], np.nan)  # did the peers deviate alike?
        for (comp, base), (med, spread) in zip(((f.m1, f.b1), (f.m2, f.b2)), stats[1:], strict=True):
            todo = in_big & np.isnan(z_peer) & ~np.isnan(comp) & ~np.isnan(med[inv])
            z_peer[todo] = np.abs(comp[todo] - med[inv][todo]) / spread[inv][todo]
            peer_med[todo] = med[inv][todo]
            peer_base[todo] = base[todo]
        level = in_big & points & np.isnan(z_peer)
        if level.any():
            (lmed, lspread), = _robust_groups([now], inv, np.full(len(size), FLOOR_POINTS), 5)
            ok = level & ~np.isnan(lmed[inv])
            z_peer[ok] = np.abs(now[ok] - lmed[inv][ok]) / lspread[inv][ok]
    change = np.where(np.isnan(f.m1), f.m2, f.m1)
    has_value = ~np.isnan(now)
    recent = ~np.isnan(z_hist) & (f.seasonal == 0)
    # a unit judged only by its recent values (under a year behind it) is not flagged when its
    # peers moved the same way: the first Tết of a new series is everyone's Tết
    agreed = ~recent | np.isnan(z_alike) | (z_alike > threshold)
    with np.errstate(invalid="ignore"):
        flag_hist = has_value & (z_hist > threshold) & agreed
        flag_peer = has_value & np.isnan(z_hist) & (z_peer > threshold)
    idx = np.flatnonzero(flag_hist | flag_peer)
    by_hist = flag_hist[idx]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        from_peers = _inv(peer_base[idx] + peer_med[idx], points[idx])
        exp = np.where(by_hist, f.expected[idx], from_peers)
        own = _as_changes(change[idx], now[idx], points[idx])
        peer = _as_changes(peer_med[idx], now[idx], points[idx])
    score = np.where(by_hist, z_hist[idx], z_peer[idx])
    basis = np.where(by_hist, np.where(f.seasonal[idx] == 1, "seasonal", "recent"), "peers")
    out = [Finding(int(i), float(v), None if np.isnan(e) else float(e), float(z), str(b), None if np.isnan(pc) else float(pc),
                   None if np.isnan(oc) else float(oc))
           for i, v, e, z, b, pc, oc in zip(idx, f.value[idx], exp, score, basis, peer, own, strict=True)]
    return sorted(out, key=lambda f: -f.score)


def _as_changes(d: np.ndarray, y_now: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Changes on the measuring scale as people read them (NaN stays NaN): points for percentages,
    else a ratio − 1 (exact for large figures, where arcsinh is a logarithm)."""
    base = np.sinh(y_now - d)
    ratio = np.where(base != 0, np.sinh(y_now) / np.where(base != 0, base, 1) - 1, np.inf)
    return np.where(point, d, np.where(np.isnan(d), np.nan, ratio))
