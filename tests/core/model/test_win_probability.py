"""Behavioural tests of the win-probability model: interface, explanation, invariance, direction, function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from core.data import CRMData, cut_at, read_crm
from core.data.synthetic import SyntheticCRM, oracle_win_probability
from core.errors import UsageError
from core.model import DealExplanation, WinProbabilityModel
from core.model.explanation import explained_units
from models.generate import write_crm


def test_scores_every_open_deal_including_prospecting(
    fitted: WinProbabilityModel, full_export: CRMData
) -> None:
    probability = fitted.predict_proba(full_export)
    open_ids = full_export.open_ids
    assert set(probability.index) == set(open_ids)
    assert full_export.deals.loc[full_export.deals["is_open"], "deal_stage"].eq("Prospecting").any()
    assert probability.between(0, 1).all() and probability.notna().all()
    assert probability.name == "win_probability"


def test_follows_the_estimator_contract(fitted: WinProbabilityModel) -> None:
    params = fitted.get_params()
    assert params["seed"] == 5
    fresh = clone(fitted)
    assert not hasattr(fresh, "booster_") and fresh.get_params() == params
    with pytest.raises(UsageError, match="not fitted"):
        fresh.predict_proba(None)


def test_explanation_adds_up_and_never_flips_a_sign(fitted: WinProbabilityModel, crm_at: CRMData) -> None:
    explanation = fitted.explain(crm_at)
    assert isinstance(explanation, DealExplanation)
    probability = fitted.predict_proba(crm_at)
    total = explanation.base_value + explanation.shap_points.sum(axis=1)
    np.testing.assert_allclose(total.to_numpy(), probability.reindex(total.index).to_numpy(), atol=1e-9)
    # predict.py takes the probability from the explanation (one pass): it must be predict_proba's
    np.testing.assert_allclose(
        explanation.win_probability.to_numpy(), probability.reindex(total.index).to_numpy(), atol=1e-12
    )
    points, log_odds = explanation.shap_points.to_numpy(), explanation.unit_log_odds.to_numpy()
    assert np.all(points * log_odds >= -1e-15)
    assert list(explanation.shap_points.columns) == list(explained_units(fitted.feature_spec_.names))
    assert list(explanation.shap_log_odds.columns) == list(fitted.feature_spec_.names)
    # the day of the quarter is the same for every deal at scoring: its mean sits in the baseline, the rest
    # joins the timing group; every point of each deal's path is a probability
    assert set(explanation.constant_features) == {"days_into_quarter"}
    assert "days_into_quarter" not in explanation.shap_points.columns
    step = explanation.step.to_numpy()
    ordered = np.take_along_axis(points, np.argsort(step, axis=1), axis=1)
    levels = explanation.base_value + np.cumsum(ordered, axis=1)
    assert levels.min() >= -1e-12 and levels.max() <= 1 + 1e-12
    assert explanation.feature_labels["rep_series_win_rate"] == "rep's win rate on this series"
    assert explanation.reference_values["product"] is None
    assert "manager" not in explanation.shap_points.columns  # managers enter through their reps' win rates
    kept = fitted.validation_["early_stopping"]["optional_features_kept"]
    assert ("sales_agent" in explanation.shap_points.columns) == (kept == ["sales_agent"])
    assert 0 < explanation.reference_values["rep_win_rate"] < 1
    # a blank account is scored over several donor accounts: its track record reads their average
    blank = crm_at.deals.loc[crm_at.deals["is_open"] & crm_at.deals["account"].eq(""), "opportunity_id"]
    shown = explanation.feature_values.loc[blank, "track_record_win_rate"]
    ids, matrices = fitted._scoring_matrices(crm_at, fitted.feature_spec_)
    column, rows = fitted.feature_spec_.names.index("track_record_win_rate"), ids.isin(blank)
    assert len(shown) > 10 and not np.allclose(matrices[0][rows, column], matrices[1][rows, column])
    expected = np.mean([m[rows, column] for m in matrices], axis=0)
    np.testing.assert_allclose(shown.reindex(ids[rows]).to_numpy(), expected)


def test_shap_values_are_exact_tree_shap(fitted: WinProbabilityModel, crm_at: CRMData) -> None:
    explanation = fitted.explain(crm_at)
    log_odds = fitted.decision_function(crm_at)
    total = explanation.base_log_odds + explanation.shap_log_odds.sum(axis=1)
    np.testing.assert_allclose(total.to_numpy(), log_odds.reindex(total.index).to_numpy(), atol=1e-9)


def test_row_order_changes_nothing_and_the_model_file_is_reproducible(
    synthetic: SyntheticCRM, crm_at: CRMData, fitted: WinProbabilityModel, tmp_path: Path
) -> None:
    shuffled = SyntheticCRM(
        synthetic.sales_pipeline.sample(frac=1.0, random_state=3),
        synthetic.accounts,
        synthetic.products,
        synthetic.sales_teams,
        synthetic.truth,
        synthetic.export_date,
    )
    write_crm(shuffled, tmp_path)
    crm = cut_at(read_crm(tmp_path), crm_at.as_of)
    refit = WinProbabilityModel(seed=5).fit(crm)
    assert refit.booster_.model_to_string() == fitted.booster_.model_to_string()
    pd.testing.assert_series_equal(
        refit.predict_proba(crm).sort_index(), fitted.predict_proba(crm_at).sort_index()
    )


def test_a_better_rep_history_never_lowers_probability(fitted: WinProbabilityModel, crm_at: CRMData) -> None:
    deals = crm_at.deals
    rep = deals.loc[deals["is_open"], "sales_agent"].value_counts().index[0]
    past_losses = deals["sales_agent"].eq(rep) & deals["deal_stage"].eq("Lost")
    better = deals.copy()
    better.loc[past_losses, ["deal_stage", "is_won"]] = ["Won", True]
    improved = CRMData(**{**crm_at.__dict__, "deals": better})
    before, after = fitted.predict_proba(crm_at), fitted.predict_proba(improved)
    reps_deals = deals.loc[deals["is_open"] & deals["sales_agent"].eq(rep), "opportunity_id"]
    assert (after[reps_deals] >= before[reps_deals] - 1e-12).all()
    assert (after[reps_deals] > before[reps_deals]).any()


def test_recovers_the_synthetic_truth(
    fitted: WinProbabilityModel, crm_at: CRMData, truth_typed: pd.DataFrame
) -> None:
    probability = fitted.predict_proba(crm_at)
    oracle = oracle_win_probability(truth_typed, crm_at.as_of).reindex(probability.index)
    won = truth_typed.set_index("opportunity_id")["outcome"].reindex(probability.index).eq("Won")
    assert np.corrcoef(probability, oracle)[0, 1] > 0.75
    assert roc_auc_score(won, probability) > roc_auc_score(won, oracle) - 0.08
    assert abs(probability.mean() - won.mean()) < 0.05


def test_censoring_aware_labels_beat_closed_only_training(
    crm_at: CRMData, truth_typed: pd.DataFrame, fitted: WinProbabilityModel
) -> None:
    naive = WinProbabilityModel(seed=5, censoring="closed_only").fit(crm_at).predict_proba(crm_at)
    won = truth_typed.set_index("opportunity_id")["outcome"].reindex(naive.index).eq("Won").astype(float)
    brier = lambda p: float(np.mean((p.reindex(won.index) - won) ** 2))  # noqa: E731
    assert brier(fitted.predict_proba(crm_at)) < brier(naive) - 0.02


def test_training_without_any_closed_deal_is_a_clear_error(full_export: CRMData) -> None:
    first_close = full_export.deals["close_date"].min()
    early = cut_at(full_export, first_close - pd.Timedelta(days=1))
    with pytest.raises(UsageError, match="need both won and lost deals"):
        WinProbabilityModel().fit(early)
