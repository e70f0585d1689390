"""Time to close: when a deal that is still open at age ``a`` will be won, from competing-risks curves.

The estimator is the discrete-time (day-resolution) Aalen-Johansen estimate of the cumulative incidence
of *won* in the presence of the competing event *lost*, fitted only on what is known at the as-of date:
deals closed by then are events at their engage-to-close age, deals still open are censored at their
current age (dropping them would bias the curves towards fast closes). One curve per segment (product by
default), each day's hazards shrunk towards the pooled hazards with ``shrinkage`` pseudo-deals.

For a deal open at age ``a`` the *conditional win-time share* between ages ``a + x0`` and ``a + x1`` is
``(CIF_won(a + x1) - CIF_won(a + x0 - 1)) / (CIF_won(max) - CIF_won(a))``: the share of its remaining
win-time distribution inside that window. Multiplied by the calibrated win probability it gives
P(won inside the window). A deal with no historical win older than its age gets share 0 everywhere:
its timing is unknown and it is not extrapolated (see plan/forecast-risk-spec.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POOLED = "__pooled__"


class CloseTimingModel:
    """Competing-risks (won vs lost) time-to-close curves by segment, shrunk to the pooled curve."""

    def __init__(self, segment: str = "product", shrinkage: float = 20.0) -> None:
        self.segment = segment
        self.shrinkage = shrinkage

    def fit(self, deals: pd.DataFrame, as_of: pd.Timestamp) -> CloseTimingModel:
        """Learn won/lost cumulative incidence curves from deals closed by ``as_of`` (open ones censored)."""
        # deals entered after they closed have no known age: they say nothing about time to close
        dated = deals[
            deals["engage_date"].notna()
            & (deals["engage_date"] <= as_of)
            & ~(deals["close_date"] < deals["engage_date"])
        ]
        closed = dated["close_date"].notna() & (dated["close_date"] <= as_of)
        duration = np.where(
            closed,
            (dated["close_date"] - dated["engage_date"]).dt.days,
            (as_of - dated["engage_date"]).dt.days,
        ).astype(np.int64)
        won = (closed & dated["deal_stage"].eq("Won")).to_numpy()
        lost = (closed & ~dated["deal_stage"].eq("Won")).to_numpy()
        if not won.any():
            raise ValueError("no won deal closed by the as-of date: the time-to-close model needs history")
        self.max_close_age_ = int(duration[won | lost].max())
        self.max_won_age_ = int(duration[won].max())
        length = self.max_close_age_ + 1
        pooled = _counts(duration, won, lost, length)
        pooled_hazards = _hazards(*pooled, prior=None, strength=0.0)
        groups = dated[self.segment].astype(str).to_numpy()
        self.segments_ = tuple(sorted(set(groups.tolist())))
        curves = {POOLED: _incidence(*pooled_hazards)}
        for name in self.segments_:
            mask = groups == name
            counts = _counts(duration[mask], won[mask], lost[mask], length)
            curves[name] = _incidence(*_hazards(*counts, prior=pooled_hazards, strength=self.shrinkage))
        self.won_cif_ = {k: v[0] for k, v in curves.items()}
        self.survival_ = {k: v[1] for k, v in curves.items()}
        self.median_won_age_ = float(np.median(duration[won]))
        self.p90_won_age_ = float(np.quantile(duration[won], 0.9))
        return self

    def _curves(self, segments: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Won-CIF and survival curves stacked by segment (pooled first) and each deal's row in them."""
        names = segments.astype(str).to_numpy()
        order = (POOLED, *self.segments_)
        code = pd.Index(order).get_indexer(names).astype(np.int64)
        code[code < 0] = 0  # unseen segments use the pooled curve
        cif = np.vstack([self.won_cif_[k] for k in order])
        surv = np.vstack([self.survival_[k] for k in order])
        return cif, surv, code

    def win_time_shares(self, deals: pd.DataFrame, offsets: np.ndarray) -> np.ndarray:
        """Share of each deal's remaining win-time distribution won by ``as_of + offsets`` days.

        Returns a deals x offsets array.

        ``deals`` needs ``age_days`` (NaN means not yet engaged: treated as age 0) and the segment column.
        Rows are 0 for deals with no historical win older than their age.
        """
        cif, _, code = self._curves(deals[self.segment])
        age = _ages(deals, self.max_close_age_)
        last = self.max_close_age_
        start = cif[code, age]
        remaining = cif[code, last] - start
        at = np.minimum(age[:, None] + np.asarray(offsets, dtype=np.int64)[None, :], last)
        gained = cif[code[:, None], at] - start[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(remaining[:, None] > 1e-12, gained / remaining[:, None], 0.0)
        return np.clip(share, 0.0, 1.0)

    def remaining_win_chance(self, deals: pd.DataFrame) -> pd.Series:
        """Historical P(eventually won | still open at this age), from the curves alone (model-free)."""
        cif, surv, code = self._curves(deals[self.segment])
        age = _ages(deals, self.max_close_age_)
        open_share = surv[code, age]
        remaining = cif[code, self.max_close_age_] - cif[code, age]
        with np.errstate(invalid="ignore", divide="ignore"):
            chance = np.where(open_share > 1e-12, remaining / open_share, 0.0)
        return pd.Series(np.clip(chance, 0.0, 1.0), index=deals.index, name="remaining_win_chance")

    def window_win_chance(self, deals: pd.DataFrame, first: int, last: int) -> np.ndarray:
        """Historical P(won between ``first`` and ``last`` days after as-of | still open at its age)."""
        cif, surv, code = self._curves(deals[self.segment])
        age = _ages(deals, self.max_close_age_)
        top = self.max_close_age_
        gained = cif[code, np.minimum(age + last, top)] - cif[code, np.minimum(age + first - 1, top)]
        open_share = surv[code, age]
        with np.errstate(invalid="ignore", divide="ignore"):
            chance = np.where(open_share > 1e-12, gained / open_share, 0.0)
        return np.clip(chance, 0.0, 1.0)

    def median_days_to_win(self, deals: pd.DataFrame) -> pd.Series:
        """Days from as-of to the median of each deal's remaining win-time distribution (NaN when unknown)."""
        return pd.Series(
            self.days_to_share(deals, np.zeros(len(deals)), np.full(len(deals), 0.5)),
            index=deals.index,
            name="median_days_to_win",
        )

    def won_by(self, deals: pd.DataFrame, day: np.ndarray) -> np.ndarray:
        """Cumulative incidence of a win at each deal's age plus its ``day`` (capped at the last day)."""
        cif, _, code = self._curves(deals[self.segment])
        age = _ages(deals, self.max_close_age_)
        return cif[code, np.minimum(age + np.asarray(day, dtype=np.int64), self.max_close_age_)]

    def won_by_age(self, deals: pd.DataFrame, ages: np.ndarray) -> np.ndarray:
        """A new deal's chance of being won by each of ``ages`` (deals x ages, days since its creation;
        0 before age 0): the cumulative incidence of a win from age 0."""
        cif, _, code = self._curves(deals[self.segment])
        ages = np.asarray(ages, dtype=np.int64)
        won = cif[code[:, None], np.clip(ages, 0, self.max_close_age_)]
        return np.where(ages < 0, 0.0, won)

    def days_to_share(self, deals: pd.DataFrame, from_day: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Days after as-of by which ``fraction`` of the win mass from day ``from_day + 1`` onwards is won.

        Only the next ``max_close_age`` days have mass; NaN where a deal has none left.
        """
        cif, _, code = self._curves(deals[self.segment])
        age = _ages(deals, self.max_close_age_)
        top = self.max_close_age_
        base = np.minimum(age + np.asarray(from_day, dtype=np.int64), top)
        start = cif[code, base]
        remaining = cif[code, top] - start
        target = start + np.asarray(fraction, dtype=float) * remaining - 1e-15
        days = np.full(len(deals), np.nan)
        for row in np.unique(code):
            mine = np.flatnonzero(code == row)
            # first age after ``base`` at which the curve reaches the target (curves never decrease)
            reach = np.searchsorted(cif[row], target[mine], side="left")
            reach = np.maximum(reach, base[mine] + 1)
            ok = (remaining[mine] > 1e-12) & (reach <= top)
            days[mine[ok]] = (reach - age[mine])[ok]
        return days


def _ages(deals: pd.DataFrame, last: int) -> np.ndarray:
    """Integer ages in days, NaN (not engaged yet) as 0, capped at the last day of the curves."""
    age = deals["age_days"].to_numpy(dtype=float)
    return np.minimum(np.nan_to_num(age, nan=0.0).astype(np.int64), last)


def _counts(duration: np.ndarray, won: np.ndarray, lost: np.ndarray, length: int) -> tuple[np.ndarray, ...]:
    """At-risk, won and lost counts per day of age (censored deals are at risk up to their age)."""
    clipped = np.minimum(duration, length - 1)
    wins = np.bincount(clipped[won], minlength=length).astype(float)
    losses = np.bincount(clipped[lost], minlength=length).astype(float)
    leaving = np.bincount(clipped, minlength=length).astype(float)
    at_risk = leaving[::-1].cumsum()[::-1]
    return at_risk, wins, losses


def _hazards(
    at_risk: np.ndarray,
    wins: np.ndarray,
    losses: np.ndarray,
    prior: tuple[np.ndarray, np.ndarray] | None,
    strength: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily won and lost hazards, shrunk towards ``prior`` hazards with ``strength`` pseudo-deals."""
    won_prior, lost_prior = prior if prior is not None else (np.zeros_like(wins), np.zeros_like(losses))
    denominator = at_risk + strength
    with np.errstate(invalid="ignore", divide="ignore"):
        won_h = np.where(denominator > 0, (wins + strength * won_prior) / denominator, 0.0)
        lost_h = np.where(denominator > 0, (losses + strength * lost_prior) / denominator, 0.0)
    return won_h, lost_h


def _incidence(won_h: np.ndarray, lost_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aalen-Johansen: cumulative incidence of a win by each age, and P(still open after each age)."""
    survival = np.cumprod(np.clip(1.0 - won_h - lost_h, 0.0, 1.0))
    before = np.concatenate([[1.0], survival[:-1]])
    return np.cumsum(before * won_h), survival
