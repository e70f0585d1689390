"""The honest win-probability model: P(deal is eventually won | still open at its age on the as-of date).

Design (plan/model-spec.md):

1. Weekly point-in-time snapshots of every deal while it was open (``core.features``).
2. Censoring: deals still open at the as-of date have no outcome yet. A discrete-time competing-risks hazard
   (won / lost / still open per deal-week, ``core.model.hazard``) completes their label with
   P(won | still open at their current age); ``censoring="closed_only"`` is the naive alternative kept for
   the backtest comparison (it drops open deals, over-representing fast closers).
3. The deployed model is one LightGBM booster (objective ``cross_entropy``, which takes soft labels) on the
   snapshots, so TreeSHAP is exact on it.
4. Early stopping on a time-ordered slice: a booster trained on what was known at an inner as-of date
   ``validation_weeks`` earlier (labels completed then) is early-stopped on the deals open at that date,
   labelled with what is known at the as-of date.
5. Out-of-sample calibration: two boosters on disjoint halves of the deals score the other half's recent
   snapshots; sigmoid or (centred) isotonic is chosen by cross-fitted log loss and applied to the final
   booster, refitted on all snapshots with the early-stopped number of rounds. Nothing ever sees data after
   the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import roc_auc_score

from core.data import CRMData, cut_at
from core.data.asof import cycle_days
from core.errors import UsageError
from core.features import FEATURES, RATE_FEATURES, open_deal_features, spec_from_training, weekly_snapshots
from core.features.deal_features import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    HISTORY_FEATURES,
    _uniform_from_ids,
    open_deal_features_by_draw,
)
from core.features.history import overall_win_rate_before
from core.features.spec import FeatureSpec
from core.model.calibration import Calibrator, choose_calibrator, cross_fitted, log_loss
from core.model.explanation import (
    BLANK_ACCOUNT,
    GROUP_LABELS,
    DealExplanation,
    calibrated_path,
    constant_columns,
    unit_contributions,
)
from core.model.hazard import deal_week_classes, fit_hazard, outcome_if_open
from core.model.metrics import expected_brier, expected_calibration_error

CENSORING_METHODS = ("hazard", "closed_only")
# With a field history, open deals' labels come from snapshots at least this old (section 3 of model-spec)
LANDMARK_DAYS = 120  # or the 80th percentile of the time to close, when longer
# Left out by default: the team hierarchy adds nothing the rep does not already carry.
EXCLUDED_FEATURES: tuple[str, ...] = ("manager", "regional_office")
# The ablation that shows what the field history adds (run beside the model wherever the export has one).
WITHOUT_HISTORY: dict[str, dict] = {
    "without_history": {"exclude_features": (*EXCLUDED_FEATURES, *HISTORY_FEATURES)}
}
# Manager and office enter only through the rep's smoothed win rates. The rep as a raw category is optional:
# kept only when it lowers the time-ordered validation loss (on the demo data it costs ~0.01 AUC, on
# MavenTech it adds ~0.05: reps differ there in ways their win rates do not show).
MIN_CLOSED_FOR_VALIDATION = 100
MIN_VALIDATION_DEALS = 100
# the joint track record: a blank account's donors differ in it, so it is shown averaged over them
TRACK_RECORD = "track_record_win_rate"


@dataclass(frozen=True)
class TrainingSet:
    """Encoded snapshots with their (possibly soft) labels and the deal-level label map."""

    matrix: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    deal_labels: pd.Series
    deal_ids: np.ndarray
    snapshot_dates: np.ndarray

    def columns(self, indices: list[int]) -> TrainingSet:
        """The same rows with only the feature columns at ``indices``."""
        return TrainingSet(
            self.matrix[:, indices],
            self.labels,
            self.weights,
            self.deal_labels,
            self.deal_ids,
            self.snapshot_dates,
        )

    def subset(self, rows: np.ndarray) -> TrainingSet:
        """The rows selected by a boolean mask."""
        return TrainingSet(
            self.matrix[rows],
            self.labels[rows],
            self.weights[rows],
            self.deal_labels,
            self.deal_ids[rows],
            self.snapshot_dates[rows],
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


class WinProbabilityModel(BaseEstimator):
    """Calibrated P(eventually won) for every open deal; scikit-learn estimator contract."""

    def __init__(
        self,
        seed: int = 42,
        censoring: str = "hazard",
        account_policy: str = "impute",
        snapshot_days: int = 7,
        validation_weeks: int = 8,
        prior_strength: float = 5.0,
        learning_rate: float = 0.1,
        num_leaves: int = 5,
        min_child_samples: int = 200,
        max_rounds: int = 400,
        early_stopping_rounds: int = 20,
        default_rounds: int = 100,
        imputations: int = 4,
        calibration: str = "auto",
        min_rounds: int = 30,
        recency_half_life_days: float | None = None,
        max_snapshots: int | None = 1_500_000,
        exclude_features: tuple[str, ...] = EXCLUDED_FEATURES,
        optional_features: tuple[str, ...] = ("sales_agent",),
        category_smoothing: float = 20.0,
        n_jobs: int = 1,
    ):
        self.seed = seed
        self.censoring = censoring
        self.account_policy = account_policy
        self.snapshot_days = snapshot_days
        self.validation_weeks = validation_weeks
        self.prior_strength = prior_strength
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.default_rounds = default_rounds
        self.imputations = imputations
        self.calibration = calibration
        self.min_rounds = min_rounds
        self.recency_half_life_days = recency_half_life_days
        self.max_snapshots = max_snapshots
        self.exclude_features = exclude_features
        self.optional_features = optional_features
        self.category_smoothing = category_smoothing
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ training
    def _booster_params(self, names: tuple[str, ...]) -> dict:
        """LightGBM parameters of the deployed booster for features ``names``."""
        return {
            "objective": "cross_entropy",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": 10.0,
            "max_bin": 63,
            "feature_fraction": 0.9,
            "cat_smooth": self.category_smoothing,
            "cat_l2": self.category_smoothing,
            "min_data_per_group": 50,
            "max_cat_threshold": 16,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbose": -1,
            "monotone_constraints": [1 if name in RATE_FEATURES else 0 for name in names],
            "monotone_constraints_method": "intermediate",
        }

    def _feature_names(self, with_history: bool = False) -> tuple[str, ...]:
        """The model's features: FEATURES (and HISTORY_FEATURES when the export has a field history) minus
        ``exclude_features`` (age and quarter position stay)."""
        required = {"age_days", "days_into_quarter"}
        if required & set(self.exclude_features):
            raise ValueError(f"exclude_features cannot drop {sorted(required & set(self.exclude_features))}")
        names = FEATURES + (HISTORY_FEATURES if with_history else ())
        return tuple(name for name in names if name not in self.exclude_features)

    def _training_set(self, crm: CRMData, spec: FeatureSpec | None = None) -> tuple[TrainingSet, FeatureSpec]:
        """Snapshots of ``crm`` (features as known then) with labels as known at ``crm.as_of``."""
        features, snapshots = weekly_snapshots(
            crm,
            self.snapshot_days,
            self.prior_strength,
            self.account_policy,
            max_snapshots=self.max_snapshots,
        )
        spec = spec or spec_from_training(features, self._feature_names(crm.history is not None))
        matrix = spec.encode(features)
        outcome = snapshots["outcome"].to_numpy()
        weights = snapshots["weight"].to_numpy()
        ids = snapshots["opportunity_id"].to_numpy()
        dates = snapshots["snapshot_date"].to_numpy()
        if self.recency_half_life_days:
            elapsed = (crm.as_of - snapshots["snapshot_date"]).dt.days.to_numpy(dtype=float)
            weights = weights * 0.5 ** (elapsed / self.recency_half_life_days)
        deal_outcome = snapshots.drop_duplicates("opportunity_id").set_index("opportunity_id")["outcome"]
        deal_labels = pd.Series(
            np.where(deal_outcome.eq("won"), 1.0, np.where(deal_outcome.eq("lost"), 0.0, np.nan)),
            index=deal_outcome.index,
        )
        if self.censoring == "closed_only":
            keep = outcome != "open"
            labels = (outcome == "won").astype(float)
            full = TrainingSet(matrix, labels, weights, deal_labels, ids, dates)
            return full.subset(keep), spec
        if any(name in HISTORY_FEATURES for name in spec.names):
            completed = self._landmark_open_labels(crm, matrix, snapshots, spec)
        else:
            completed = self._complete_open_labels(crm, matrix, snapshots, spec)
        deal_labels = deal_labels.fillna(completed)
        labels = deal_labels.reindex(snapshots["opportunity_id"]).to_numpy(dtype=float)
        return TrainingSet(matrix, labels, weights, deal_labels, ids, dates), spec

    def estimated_outcomes(self, crm: CRMData) -> pd.Series:
        """P(won | still open at its current age) of each deal open at ``crm.as_of`` that has a snapshot.

        These are the labels training completes open deals with (the competing-risks hazard fitted on
        ``crm``, chained forward), computed without fitting a booster. The backtest uses them for deals whose
        outcome the export does not show yet. Deals without an engage date have no snapshot and no estimate.
        """
        if self.censoring != "hazard":
            raise ValueError(f"estimated outcomes need censoring='hazard', not {self.censoring!r}")
        fitted = getattr(self, "open_deal_outcomes_", None)
        if fitted is not None and (self.trained_as_of_, self.data_hash_) == (crm.as_of, crm.data_hash):
            return fitted  # fit computed them on this very data
        train, _ = self._training_set(crm)
        return _open_deal_outcomes(crm, train.deal_labels)

    def _complete_open_labels(
        self, crm: CRMData, matrix: np.ndarray, snapshots: pd.DataFrame, spec: FeatureSpec
    ) -> pd.Series:
        """P(won | open at its age on as_of) per deal open at ``crm.as_of``, from the hazard.

        The hazard chains weeks forward from the as-of date moving only the age and the calendar, so it sees
        only features whose future it knows: never the field history's, which would stay frozen at their
        as-of values (a deal would sit in its stage for ever and look lost).
        """
        known_paths = tuple(name for name in spec.names if name not in HISTORY_FEATURES)
        if known_paths != spec.names:
            matrix = matrix[:, [spec.names.index(name) for name in known_paths]]
            spec = _sub_spec(spec, known_paths)
        observed, classes = deal_week_classes(snapshots, crm.as_of, self.snapshot_days)
        open_features = open_deal_features(crm, self.prior_strength, self.account_policy)
        # membership by hash lookup: Index.isin on Arrow strings converts every id to a Python scalar first
        in_snapshots = pd.Index(pd.unique(snapshots["opportunity_id"])).get_indexer(open_features.index) >= 0
        open_features = open_features.loc[in_snapshots]
        if observed.sum() < 50 or len(np.unique(classes[observed])) < 3:
            closed = snapshots["outcome"].ne("open")
            rate = float(snapshots.loc[closed, "outcome"].eq("won").mean()) if closed.any() else 0.5
            return pd.Series(rate, index=open_features.index)
        hazard = fit_hazard(
            matrix[observed],
            classes[observed],
            snapshots["weight"].to_numpy()[observed],
            spec,
            self.seed,
            self.n_jobs,
        )
        close_ages = snapshots["close_age_days"].dropna()
        max_age = (
            float(close_ages.max()) + self.snapshot_days if len(close_ages) else float(self.snapshot_days)
        )
        self._last_hazard = (hazard, max_age, spec)
        outcome = outcome_if_open(
            hazard,
            spec.encode(open_features),
            spec.names.index("age_days"),
            self.snapshot_days,
            max_age,
            spec.names.index("days_into_quarter"),
            crm.as_of,
        )
        return pd.Series(outcome[:, 0], index=open_features.index)

    def _landmark_open_labels(
        self, crm: CRMData, matrix: np.ndarray, snapshots: pd.DataFrame, spec: FeatureSpec
    ) -> pd.Series:
        """P(won | its state at as_of) per deal open at ``crm.as_of``, for an export with a field history.

        A deal's history changes on the way to its close in ways no forward chain can know, so the labels
        come from landmarks instead: snapshots old enough (``LANDMARK_DAYS``, or the 80th percentile of the
        time to close when longer) that most deals were decided by the as-of date learn "won by the
        as-of date" from their features, history included, and that model scores the open deals' states at
        the as-of date. A deal still open at the as-of date counts as not won, as one that never closes
        does. Too few landmarks: the history-blind hazard instead.
        """
        closed_ages = snapshots.loc[snapshots["outcome"].ne("open"), "close_age_days"].dropna()
        horizon = max(LANDMARK_DAYS, float(np.quantile(closed_ages, 0.8)) if len(closed_ages) else 0.0)
        landmark = (snapshots["snapshot_date"] <= crm.as_of - pd.Timedelta(days=horizon)).to_numpy()
        won = (snapshots["outcome"] == "won").to_numpy()
        if landmark.sum() < 200 or np.unique(won[landmark]).size < 2:
            return self._complete_open_labels(crm, matrix, snapshots, spec)
        data = lgb.Dataset(
            matrix[landmark],
            label=won[landmark].astype(float),
            weight=snapshots["weight"].to_numpy()[landmark],
            feature_name=list(spec.names),
            categorical_feature=spec.categorical_indices,
            free_raw_data=True,
        )
        params = {**self._booster_params(spec.names), "objective": "binary"}
        del params["monotone_constraints"]  # the landmark model is unconstrained
        booster = lgb.train(params, data, num_boost_round=100)
        open_features = open_deal_features(crm, self.prior_strength, self.account_policy)
        in_snapshots = pd.Index(pd.unique(snapshots["opportunity_id"])).get_indexer(open_features.index) >= 0
        open_features = open_features.loc[in_snapshots]
        return pd.Series(booster.predict(spec.encode(open_features)), index=open_features.index)

    def _train_booster(
        self,
        train: TrainingSet,
        spec: FeatureSpec,
        rounds: int,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> lgb.Booster:
        """Fit the cross-entropy booster, early-stopped on ``valid`` when given."""
        data = lgb.Dataset(
            train.matrix,
            label=train.labels,
            weight=train.weights,
            feature_name=list(spec.names),
            categorical_feature=spec.categorical_indices,
            free_raw_data=True,
        )
        if valid is None:
            return lgb.train(self._booster_params(spec.names), data, num_boost_round=rounds)
        valid_data = lgb.Dataset(valid[0], label=valid[1], reference=data)
        return lgb.train(
            {**self._booster_params(spec.names), "metric": "cross_entropy"},
            data,
            num_boost_round=rounds,
            valid_sets=[valid_data],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )

    def fit(self, crm: CRMData) -> WinProbabilityModel:
        """Learn from everything known at ``crm.as_of`` (and nothing after it); returns self."""
        if self.censoring not in CENSORING_METHODS:
            raise ValueError(f"censoring must be one of {CENSORING_METHODS}, got {self.censoring!r}")
        self._last_hazard = None
        train, spec = self._training_set(crm)
        self.hazard_ = self._last_hazard  # (booster, max age, the hazard's own feature spec)
        self.open_deal_outcomes_ = (
            _open_deal_outcomes(crm, train.deal_labels) if self.censoring == "hazard" else None
        )
        if len(train.labels) == 0 or np.unique(np.round(train.labels)).size < 2:
            raise UsageError(
                f"cannot train at as-of {crm.as_of:%Y-%m-%d}: need both won and lost deals closed by then"
            )
        rounds, names, stopping = self._early_stopping_rounds(crm, spec, train.deal_labels)
        indices = [spec.names.index(name) for name in names]
        spec, train = _sub_spec(spec, names), train.columns(indices)
        self.feature_spec_ = spec
        self.calibrator_, calibration = self._calibrate(train, spec, rounds, crm.as_of)
        self.validation_ = {**calibration, "early_stopping": stopping}
        self.booster_ = self._train_booster(train, spec, rounds)
        self.n_rounds_ = rounds
        self.trained_as_of_ = crm.as_of
        self.data_hash_ = crm.data_hash
        self.n_training_snapshots_ = len(train.labels)
        return self

    def _early_stopping_rounds(
        self, crm: CRMData, spec: FeatureSpec, final_labels: pd.Series
    ) -> tuple[int, tuple[str, ...], dict]:
        """Rounds and feature set, chosen on a time-ordered slice: the deals open at an inner as-of date.

        An inner booster learns only what was known at the inner date (labels completed then) and is
        early-stopped on the deals open at that date, labelled with what is known at ``crm.as_of``; it is
        trained without and with ``optional_features``, which are kept only if they lower that loss.
        """
        base = tuple(n for n in spec.names if n not in self.optional_features)
        inner = crm.as_of - pd.Timedelta(weeks=self.validation_weeks)
        deals = crm.deals
        closed_by_inner = int((deals["close_date"] <= inner).sum())
        open_at_inner = (deals["engage_date"] <= inner) & ~(deals["close_date"] <= inner)
        if closed_by_inner < MIN_CLOSED_FOR_VALIDATION or int(open_at_inner.sum()) < MIN_VALIDATION_DEALS:
            note = (
                f"only {closed_by_inner} deals closed and {int(open_at_inner.sum())} open at the inner "
                f"validation date {inner:%Y-%m-%d}: default {self.default_rounds} rounds"
            )
            info = {"inner_as_of": f"{inner:%Y-%m-%d}", "rounds": self.default_rounds, "note": note}
            return self.default_rounds, base, info
        inner_crm = cut_at(crm, inner)
        inner_train, _ = self._training_set(inner_crm, spec)
        valid_ids, valid_matrices = self._scoring_matrices(inner_crm, spec)
        valid_labels = final_labels.reindex(valid_ids).to_numpy(dtype=float)
        labelled = ~np.isnan(valid_labels)  # closed_only leaves deals still open at as_of unlabelled
        candidates = [base] + ([tuple(spec.names)] if len(base) < len(spec.names) else [])
        results = []
        for names in candidates:
            indices = [spec.names.index(name) for name in names]
            booster = self._train_booster(
                inner_train.columns(indices),
                _sub_spec(spec, names),
                self.max_rounds,
                valid=(valid_matrices[0][labelled][:, indices], valid_labels[labelled]),
            )
            loss = float(booster.best_score["valid_0"]["cross_entropy"])
            results.append((loss, len(names), names, booster, indices))
        loss, _, names, booster, indices = min(
            results, key=lambda r: (r[0] + 1e-4 * (r[1] > len(base)), r[1])
        )
        best = int(booster.best_iteration or self.max_rounds)
        rounds = max(best, self.min_rounds)
        inner_log_odds = self._average_log_odds(
            booster, [m[labelled][:, indices] for m in valid_matrices], int(labelled.sum()), best
        )
        hard = np.isin(valid_labels[labelled], (0.0, 1.0))
        y_hard = valid_labels[labelled][hard]
        auc = float(roc_auc_score(y_hard, inner_log_odds[hard])) if np.unique(y_hard).size == 2 else None
        return (
            rounds,
            names,
            {
                "inner_as_of": f"{inner:%Y-%m-%d}",
                "n": int(labelled.sum()),
                "best_iteration": best,
                "rounds": rounds,
                "inner_auc_known_outcomes": auc,
                "validation_loss": {
                    ("with " if len(r[2]) > len(base) else "without ") + ",".join(self.optional_features): r[
                        0
                    ]
                    for r in results
                },
                "optional_features_kept": [n for n in self.optional_features if n in names],
            },
        )

    def _calibrate(
        self, train: TrainingSet, spec: FeatureSpec, rounds: int, as_of: pd.Timestamp
    ) -> tuple[Calibrator, dict]:
        """Fit the calibrator out of sample: two boosters on disjoint halves of the deals, each scoring the
        other half's snapshots from the last ``validation_weeks`` weeks; pick sigmoid or isotonic on them."""
        fold = (_uniform_from_ids(pd.Series(train.deal_ids), draw=self.seed) < 0.5).astype(int)
        recent = train.snapshot_dates > (as_of - pd.Timedelta(weeks=self.validation_weeks)).to_datetime64()
        out_of_fold = np.full(len(train.labels), np.nan)
        for k in (0, 1):
            scored = recent & (fold == k)
            if not scored.any() or not (fold != k).any():
                continue
            booster = self._train_booster(train.subset(fold != k), spec, rounds)
            out_of_fold[scored] = booster.predict(train.matrix[scored], raw_score=True)
        rows = ~np.isnan(out_of_fold)
        labels = train.labels[rows]
        if rows.sum() < MIN_VALIDATION_DEALS or np.unique(np.round(labels)).size < 2:
            return Calibrator("identity"), {
                "n": int(rows.sum()),
                "auc": None,
                "brier": None,
                "log_loss": None,
                "ece": None,
                "calibration_method": "identity",
                "note": "too few recent snapshots to calibrate out of sample",
            }
        methods = ("sigmoid", "isotonic") if self.calibration == "auto" else (self.calibration,)
        # weighted like the booster's training rows: a snapshot kept once in 4 beyond 182 days counts 4, so
        # an old open deal weighs as much in the map as a young one, as it does among the deals scored
        weights = train.weights[rows]
        calibrator, scores = choose_calibrator(out_of_fold[rows], labels, self.seed, methods, weights)
        held_out = cross_fitted(calibrator.method, out_of_fold[rows], labels, self.seed, weights)
        hard = np.isin(labels, (0.0, 1.0))
        auc = (
            float(roc_auc_score(labels[hard], held_out[hard])) if np.unique(labels[hard]).size == 2 else None
        )
        return calibrator, {
            "n": int(rows.sum()),
            "n_with_known_outcome": int(hard.sum()),
            "window": f"snapshots after {as_of - pd.Timedelta(weeks=self.validation_weeks):%Y-%m-%d}, "
            "deals out of fold",
            "auc": auc,
            "brier": expected_brier(labels, held_out),
            "log_loss": log_loss(labels, held_out),
            "ece": expected_calibration_error(labels, held_out),
            "calibration_method": calibrator.method,
            "calibration_log_loss": scores,
        }

    # ------------------------------------------------------------------ scoring
    def _scoring_matrices(self, crm: CRMData, spec: FeatureSpec) -> tuple[pd.Index, list[np.ndarray]]:
        """Open-deal ids and one encoded matrix per account imputation (draws differ on blank accounts)."""
        ids, matrices, _ = self._scoring_inputs(crm, spec)
        return ids, matrices

    def _scoring_inputs(
        self, crm: CRMData, spec: FeatureSpec
    ) -> tuple[pd.Index, list[np.ndarray], pd.DataFrame]:
        """Ids, the encoded matrices per account imputation, and the first imputation's feature frame."""
        blank = crm.deals.loc[crm.deals["is_open"] & crm.deals["account"].eq(""), "opportunity_id"]
        imputed = self.account_policy == "impute" and len(blank)
        draws = tuple(range(self.imputations)) if imputed else (0,)
        base, *others = open_deal_features_by_draw(crm, self.prior_strength, self.account_policy, draws)
        matrices = [spec.encode(base)]
        is_blank = base.index.isin(blank)
        for features in others:
            stacked = matrices[0].copy()
            stacked[is_blank] = spec.encode(features.loc[is_blank])
            matrices.append(stacked)
        return base.index, matrices, base

    @staticmethod
    def _average_log_odds(
        booster: lgb.Booster, matrices: list[np.ndarray], n: int, rounds: int | None = None
    ) -> np.ndarray:
        """Raw log-odds averaged over the account imputations."""
        total = np.zeros(n)
        for matrix in matrices:
            total += booster.predict(matrix, raw_score=True, num_iteration=rounds)
        return total / len(matrices)

    def _check_fitted(self) -> None:
        """Raise a clear error when the model has not been fitted or loaded."""
        if not hasattr(self, "booster_"):
            raise UsageError(
                "the win-probability model is not fitted; call fit(crm) or load_model(dir) first"
            )

    def predict_won_if_closes(self, crm: CRMData) -> pd.Series:
        """Hazard-based P(won | the deal reaches a decision) per open deal (diagnostic; needs the hazard)."""
        self._check_fitted()
        if not getattr(self, "hazard_", None):
            raise UsageError(
                "P(won | closes) needs the competing-risks hazard of a model fitted in this session"
            )
        hazard, max_age, spec = self.hazard_
        features = open_deal_features(crm, self.prior_strength, self.account_policy)
        ids = features.index
        outcome = outcome_if_open(
            hazard,
            spec.encode(features),
            spec.names.index("age_days"),
            self.snapshot_days,
            max_age,
            spec.names.index("days_into_quarter"),
            crm.as_of,
        )
        decided = outcome.sum(axis=1)
        ratio = np.where(decided > 1e-9, outcome[:, 0] / np.maximum(decided, 1e-9), np.nan)
        return pd.Series(ratio, index=ids, name="won_if_closes")

    def decision_function(self, crm: CRMData) -> pd.Series:
        """Uncalibrated log-odds of the booster per open deal (averaged over account imputations)."""
        self._check_fitted()
        ids, matrices = self._scoring_matrices(crm, self.feature_spec_)
        return pd.Series(
            self._average_log_odds(self.booster_, matrices, len(ids)), index=ids, name="log_odds"
        )

    def predict_proba(self, crm: CRMData) -> pd.Series:
        """Calibrated P(eventually won) for every deal open at ``crm.as_of`` (index opportunity_id)."""
        log_odds = self.decision_function(crm)
        return pd.Series(self.calibrator_(log_odds.to_numpy()), index=log_odds.index, name="win_probability")

    def explain(self, crm: CRMData, deals: pd.Index | None = None) -> DealExplanation:
        """Exact TreeSHAP log-odds per feature, and the explained units as steps of the calibrated path
        (:mod:`core.model.explanation`), for the open deals (or only those in ``deals``)."""
        self._check_fitted()
        spec = self.feature_spec_
        ids, matrices, features = self._scoring_inputs(crm, spec)
        if deals is not None:
            keep = ids.isin(deals)
            ids, matrices, features = ids[keep], [m[keep] for m in matrices], features.loc[keep]
        contributions = np.zeros((len(ids), len(spec.names) + 1))
        for matrix in matrices:
            contributions += self.booster_.predict(matrix, pred_contrib=True)
        contributions /= len(matrices)
        shap_log_odds = contributions[:, :-1]
        base_log_odds = (
            float(contributions[0, -1])
            if len(ids)
            else float(self.booster_.predict(np.full((1, len(spec.names)), np.nan), pred_contrib=True)[0, -1])
        )
        columns = list(spec.names)
        probability = self.calibrator_(base_log_odds + shap_log_odds.sum(axis=1))
        constant = constant_columns(matrices)
        unit_log_odds, to_base, units = unit_contributions(shap_log_odds, columns, constant)
        points, step = calibrated_path(unit_log_odds, base_log_odds + to_base, self.calibrator_)
        blank = features.index.isin(crm.deals.loc[crm.deals["account"].eq(""), "opportunity_id"])
        donor_mean = None
        if TRACK_RECORD in columns:
            donor_mean = np.mean([m[blank, columns.index(TRACK_RECORD)] for m in matrices], axis=0)
        return DealExplanation(
            feature_values=_readable_values(features[columns], blank, donor_mean),
            shap_points=pd.DataFrame(points, index=ids, columns=units),
            shap_log_odds=pd.DataFrame(shap_log_odds, index=ids, columns=columns),
            base_value=float(self.calibrator_(np.array([base_log_odds + to_base]))[0]),
            base_log_odds=base_log_odds,
            win_probability=pd.Series(probability, index=ids, name="win_probability"),
            feature_labels={**spec.labels, **{u: GROUP_LABELS[u] for u in units if u in GROUP_LABELS}},
            reference_values=_reference_values(features[columns], crm),
            unit_log_odds=pd.DataFrame(unit_log_odds, index=ids, columns=units),
            step=pd.DataFrame(step, index=ids, columns=units),
            constant_features={
                name: features[name].iloc[0] for name, same in zip(columns, constant, strict=True) if same
            },
        )


def _open_deal_outcomes(crm: CRMData, deal_labels: pd.Series) -> pd.Series:
    """The training labels of the deals open at ``crm.as_of`` (their completed, estimated outcomes)."""
    return deal_labels.reindex(crm.open_ids).dropna().rename("estimated_outcome")


def _sub_spec(spec: FeatureSpec, names: tuple[str, ...]) -> FeatureSpec:
    """The spec restricted to ``names`` (in that order)."""
    return FeatureSpec(
        names=tuple(names),
        categories={n: spec.categories[n] for n in names if n in spec.categories},
        labels={n: spec.labels[n] for n in names if n in spec.labels},
    )


def _readable_values(
    features: pd.DataFrame, blank: np.ndarray, blank_track_record: np.ndarray | None
) -> pd.DataFrame:
    """Feature values as a person reads them. Rows ``blank`` (blank accounts) show '(blank account)', not
    imputed values, and the track record they were scored on: ``blank_track_record``, the donors' mean."""
    readable = features.copy()
    if blank_track_record is not None:
        readable.loc[blank, TRACK_RECORD] = blank_track_record
    for column in [c for c in ACCOUNT_FEATURES if c in readable.columns]:
        if column in CATEGORICAL_FEATURES:
            readable[column] = readable[column].astype(object)
            readable.loc[blank, column] = BLANK_ACCOUNT
        else:
            readable.loc[blank, column] = np.nan
    return readable


def _reference_values(features: pd.DataFrame, crm: CRMData) -> dict[str, float | None]:
    """What a manager compares each feature with: company win rate for rates, the median age at which won
    deals closed for the deal's age (what "typical" means for a deal's duration), open-deal median for
    other numbers."""
    closed = crm.deals.loc[crm.deals["close_date"].notna(), ["close_date", "is_won"]].astype(
        {"is_won": np.int64}
    )
    query = pd.DataFrame({"snapshot_date": pd.Series([crm.as_of], dtype=closed["close_date"].dtype)})
    company_rate = float(overall_win_rate_before(closed, query)[0])
    reference: dict[str, float | None] = {}
    for name in features.columns:
        if name in RATE_FEATURES:
            reference[name] = company_rate
        elif name in CATEGORICAL_FEATURES:
            reference[name] = None
        elif name == "age_days":
            won = crm.deals.loc[crm.deals["close_date"].notna() & crm.deals["is_won"].astype(bool)]
            won_age = cycle_days(won).median()
            reference[name] = None if pd.isna(won_age) else float(won_age)
        else:
            median = features[name].median() if len(features) else np.nan
            reference[name] = None if pd.isna(median) else float(median)
    return reference
