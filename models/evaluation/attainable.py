"""How much discrimination the history allows on synthetic data: the oracle with its effects *estimated*.

    python -m models.evaluation.attainable --data-dir DIR [--as-of-dates D1,D2,...]

The oracle (``core.data.synthetic.oracle_win_probability``) knows every deal's true probability of being won
if it closes, ``p``, and the timing laws. This "semi-oracle" keeps the oracle's exact timing but replaces
``p`` by an estimate from what the export showed at the as-of date: one logistic regression over the
deals closed by then, with a random effect (Gaussian prior, standard deviation ``sd``) for each rep,
rep x series, product, sector and account, and fixed effects for the list price, the account's size and
their product. That is the generator's own structure, so the gap between the semi-oracle and the oracle is
roughly what estimating the effects from the history costs; a model that learns the timing as well cannot
expect to come much closer to the oracle (plan/model-spec.md section 7). Needs the generator's truth.csv
beside the export. Prints a Markdown table. Exit codes: 0 success, 2 bad input, 1 unexpected failure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data import CRMData, cut_at, parse_as_of, read_crm
from core.data.synthetic import oracle_win_probability
from core.errors import UsageError
from core.model.backtest import aligned_scores, default_as_of_dates, eventual_outcomes, historical_base_rate
from models.cli_support import OneLineArgumentParser, exit_process, run_cli

EFFECT_SD = 0.3  # prior standard deviation of every group effect, on the log-odds scale
GROUPS = ("sales_agent", "rep_series", "product", "sector", "account")


def _log_z(values: pd.Series) -> np.ndarray:
    """Standardised log of a positive quantity; missing (a blank account's size) at the mean, 0."""
    logged = np.log(values.astype(float))
    return ((logged - logged.mean()) / (logged.std() or 1.0)).fillna(0.0).to_numpy()


def _design(deals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the regression (group indicators, then intercept, price, size, price x size) and the
    prior precision of each (1 / sd^2 for group effects, 0 for the fixed effects)."""
    keys = deals.assign(
        rep_series=deals["sales_agent"].astype(str) + "|" + deals["series"].astype(str),
        account=deals["account"].where(deals["account"].ne("")),  # a blank account has no effect
        sector=deals["sector"].where(deals["account"].ne("")),
    )
    indicators = [pd.get_dummies(keys[group], dtype=float).to_numpy() for group in GROUPS]
    price, size = _log_z(deals["list_price"]), _log_z(deals["account_employees"])
    fixed = np.column_stack([np.ones(len(deals)), price, size, price * size])
    precision = np.concatenate([np.full(sum(m.shape[1] for m in indicators), EFFECT_SD**-2), np.zeros(4)])
    return np.hstack([*indicators, fixed]), precision


def estimated_p_if_closes(crm: CRMData) -> pd.Series:
    """P(won | closes) for the deals open at ``crm.as_of``, fitted on the deals closed by then (Newton)."""
    deals = (
        crm.deals.loc[crm.deals["engage_date"].notna()].sort_values("opportunity_id").reset_index(drop=True)
    )
    x, precision = _design(deals)
    closed = deals["close_date"].notna().to_numpy()
    y = deals["is_won"].to_numpy(dtype=float)[closed]
    weights = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x[closed] @ weights)))
        gradient = x[closed].T @ (p - y) + precision * weights
        hessian = (x[closed] * (p * (1.0 - p))[:, None]).T @ x[closed] + np.diag(precision + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    estimate = 1.0 / (1.0 + np.exp(-(x[~closed] @ weights)))
    return pd.Series(estimate, index=deals.loc[~closed, "opportunity_id"].to_numpy(), name="p_win_if_closes")


def attainable_as_of(full: CRMData, truth: pd.DataFrame, as_of: pd.Timestamp) -> dict:
    """Oracle and semi-oracle scores on the deals open at ``as_of``, with the backtest's labels (the truth's
    outcomes) and Brier skill against the same historical base rate."""
    crm = cut_at(full, as_of)
    labels, _ = eventual_outcomes(full, crm.open_ids, truth)
    base = historical_base_rate(crm)
    estimate = estimated_p_if_closes(crm)
    true_p = truth.set_index("opportunity_id")["p_win_if_closes"]
    semi = oracle_win_probability(
        truth.assign(p_win_if_closes=truth["opportunity_id"].map(estimate).fillna(truth["p_win_if_closes"])),
        crm.as_of,
    )
    return {
        "as_of": f"{crm.as_of:%Y-%m-%d}",
        "n": len(labels),
        "oracle": aligned_scores(labels, oracle_win_probability(truth, crm.as_of), base),
        "semi_oracle": aligned_scores(labels, semi, base),
        "p_correlation": float(np.corrcoef(true_p.reindex(estimate.index), estimate)[0, 1]),
    }


def markdown(rows: list[dict]) -> str:
    """The per-date table and the mean AUC gap."""
    lines = [
        "| as-of | n | oracle AUC | semi-oracle AUC | gap | oracle Brier | semi-oracle Brier "
        "| corr(p, estimate) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        oracle, semi = row["oracle"], row["semi_oracle"]
        lines.append(
            f"| {row['as_of']} | {row['n']} | {oracle['auc']:.3f} | {semi['auc']:.3f} | "
            f"{oracle['auc'] - semi['auc']:.4f} | {oracle['brier']:.4f} | {semi['brier']:.4f} | "
            f"{row['p_correlation']:.3f} |"
        )
    gap = np.mean([row["oracle"]["auc"] - row["semi_oracle"]["auc"] for row in rows])
    return "\n".join(lines) + f"\n\nMean AUC gap of the semi-oracle to the oracle: {gap:.4f}\n"


def parse_args(argv: list[str] | None) -> object:
    parser = OneLineArgumentParser(prog="attainable", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path("dataset"), help="synthetic export with truth.csv"
    )
    parser.add_argument("--as-of-dates", default=None, help="D1,D2,... (default: the backtest's 5 dates)")
    return parser.parse_args(argv)


def _main(argv: list[str] | None) -> int:
    from models.evaluation.backtest import read_truth

    args = parse_args(argv)
    full = read_crm(args.data_dir)
    truth = read_truth(args.data_dir)
    if truth is None:
        raise UsageError(
            f"{args.data_dir / 'truth.csv'}: not found (the semi-oracle needs the generator's truth)"
        )
    dates = (
        [parse_as_of(d.strip()) for d in args.as_of_dates.split(",") if d.strip()]
        if args.as_of_dates
        else default_as_of_dates(full, 5)
    )
    print(markdown([attainable_as_of(full, truth, pd.Timestamp(d)) for d in dates]), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    return run_cli(lambda: _main(argv))


if __name__ == "__main__":
    exit_process(main())
