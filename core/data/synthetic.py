"""Seeded synthetic CRM generator in the MavenTech schema, with every deal's true probabilities beside it.

The generative model (documented in plan/data-spec.md) is simple enough to have an exact oracle:

* each deal has a latent probability ``p`` of being won *if it ever closes* (logit-linear in rep skill,
  a rep x product-series interaction, product price, sector, account, account size, a price x account-size
  interaction and a downward drift over time), and a constant probability ``z`` of being a zombie that
  never closes;
* a deal that closes takes ``ceil(Gamma)`` days from engagement, won deals slower than lost ones and
  large deals slower than small ones;
* a won deal whose close date falls in the first ``PULL_WINDOW_DAYS`` of a quarter is pulled back to the
  last day of the previous quarter with probability ``PULL_PROBABILITY`` (quarter-end seasonality).

:func:`oracle_win_probability` turns that into the true probability that a deal is won *given that it is
still open at its age on an as-of date*, which is the number a perfect model would output, and
:func:`oracle_quarter_revenue` samples the true distribution of a quarter's won revenue given the world at an
as-of date (won already, open deals, deals not engaged or not created yet), which is what a perfect
whole-quarter forecast would give. Both rebuild the world from its seed (``_draw_world``, ``_draw_deals``:
the generator's own first draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

PRODUCTS = pd.DataFrame(
    {
        "product": [
            "GTX Basic",
            "GTX Pro",
            "MG Special",
            "MG Advanced",
            "GTX Plus Basic",
            "GTX Plus Pro",
            "GTK 500",
        ],
        "series": ["GTX", "GTX", "MG", "MG", "GTX", "GTX", "GTK"],
        "sales_price": [550, 4821, 55, 3393, 1096, 5482, 26768],
    }
)
PRODUCT_SHARE = np.array([0.21, 0.17, 0.19, 0.16, 0.16, 0.105, 0.005])
OFFICES = ("Central", "East", "West")
SECTORS = (
    "technology",
    "medical",
    "retail",
    "software",
    "entertainment",
    "marketing",
    "finance",
    "services",
    "telecommunications",
    "employment",
)
FIRST_NAMES = (
    "Anna",
    "Cecily",
    "Mei",
    "Violet",
    "Corliss",
    "Rosie",
    "Garret",
    "Jonathan",
    "Daniell",
    "Wilburn",
    "Elease",
    "Moses",
    "Zane",
    "Maureen",
    "Hayden",
    "Marty",
    "Reed",
    "Donn",
    "Cassey",
    "Lajuana",
    "Rosalina",
    "Versie",
    "Markita",
    "Niesha",
    "James",
    "Gladys",
    "Kami",
    "Vicki",
    "Boris",
    "Darcel",
    "Hayden",
    "Kary",
    "Ravi",
    "Tomas",
    "Ingrid",
    "Priya",
    "Olu",
    "Sven",
    "Lena",
    "Joaquin",
)
LAST_NAMES = (
    "Snelling",
    "Lampkin",
    "Cheng",
    "Frase",
    "Cozart",
    "Landsdale",
    "Pollard",
    "Kiesel",
    "Gilliard",
    "Hatton",
    "Luton",
    "Kyzer",
    "Salisbury",
    "Hartsell",
    "Dowdy",
    "Rajani",
    "Bunch",
    "Moodie",
    "Zoch",
    "Hagens",
    "Elders",
    "Ascencio",
    "Lanzo",
    "Hilda",
    "Boone",
    "Schlecht",
    "Harkins",
    "Ostrowski",
    "Ng",
    "Varga",
)
SYLLABLES = (
    "ac",
    "be",
    "ta",
    "lo",
    "in",
    "zu",
    "mo",
    "dex",
    "tron",
    "ply",
    "con",
    "ra",
    "sol",
    "vi",
    "ux",
    "ka",
    "ren",
    "tis",
    "ox",
    "fan",
    "gro",
    "wer",
    "nim",
    "ba",
    "cy",
    "do",
    "el",
    "hi",
    "jo",
    "qu",
)

ZOMBIE_PROBABILITY = 0.04
PULL_PROBABILITY = 0.35
PULL_WINDOW_DAYS = 21
WON_SHAPE, WON_MEAN_DAYS = 2.2, 58.0
LOST_SHAPE, LOST_MEAN_DAYS = 1.2, 28.0
OPEN_BLANK_ACCOUNT_SHARE = 0.65
CLOSED_BLANK_ACCOUNT_SHARE = 0.004
GTXPRO_TYPO_SHARE = 0.7
UNKNOWN_REP_SHARE = 0.005
HISTORY_DAYS = 730
ENGAGE_LAG_MEAN_DAYS = 20.0
DEFAULT_EXPORT_DATE = "2026-08-14"
PAIRS_PER_CHUNK = 2_000_000  # simulations x deals drawn at once by oracle_quarter_revenue


@dataclass(frozen=True)
class SyntheticCRM:
    """The four MavenTech files plus ``truth`` (hidden parameters and outcomes of every deal), and the field
    history in our ``deal_history.csv`` schema when one was drawn (``core.data.synthetic_history``)."""

    sales_pipeline: pd.DataFrame
    accounts: pd.DataFrame
    products: pd.DataFrame
    sales_teams: pd.DataFrame
    truth: pd.DataFrame
    export_date: pd.Timestamp
    history: pd.DataFrame | None = None


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct 'First Last' names drawn from the fixed lists."""
    pairs = [(f, last) for f in sorted(set(FIRST_NAMES)) for last in LAST_NAMES]
    picks = rng.choice(len(pairs), size=n, replace=False)
    return [f"{pairs[i][0]} {pairs[i][1]}" for i in picks]


def _sales_teams(rng: np.random.Generator) -> pd.DataFrame:
    """Three offices, two managers each, five to seven reps per manager."""
    people = _names(rng, 6 + 7 * 6 + 3)
    managers, people = people[:6], people[6:]
    rows = []
    for m_idx, manager in enumerate(managers):
        office = OFFICES[m_idx // 2]
        for _ in range(int(rng.integers(5, 8))):
            rows.append((people.pop(0), manager, office))
    return pd.DataFrame(rows, columns=["sales_agent", "manager", "regional_office"])


def _accounts(rng: np.random.Generator, n_accounts: int) -> pd.DataFrame:
    """Accounts with sector, age, revenue (millions), employees, location and a few subsidiaries."""
    names: set[str] = set()
    ordered: list[str] = []
    suffixes = ("", " Inc", " Corp", " Group", " Systems", " Labs")
    while len(ordered) < n_accounts:
        k = int(rng.integers(2, 4))
        stem = "".join(rng.choice(SYLLABLES, size=k)).capitalize()
        name = stem + suffixes[int(rng.integers(0, len(suffixes)))]
        if name not in names:
            names.add(name)
            ordered.append(name)
    employees = np.round(np.exp(rng.normal(7.3, 1.3, n_accounts))).astype(int) + 10
    revenue = np.round(employees * np.exp(rng.normal(-1.0, 0.5, n_accounts)), 2)
    subsidiary = np.where(rng.random(n_accounts) < 0.15, rng.choice(ordered[:10], n_accounts), "")
    location = np.where(
        rng.random(n_accounts) < 0.85,
        "United States",
        rng.choice(["Germany", "Japan", "Brazil", "Kenya", "Norway", "Philippines"], n_accounts),
    )
    return pd.DataFrame(
        {
            "account": ordered,
            "sector": rng.choice(SECTORS, n_accounts),
            "year_established": rng.integers(1979, 2018, n_accounts),
            "revenue": revenue,
            "employees": employees,
            "office_location": location,
            "subsidiary_of": subsidiary,
        }
    )


def _opportunity_ids(n: int, seed: int) -> np.ndarray:
    """Unique 8-character base-36 ids (a bijection of the row index, so no collisions at any size)."""
    space = 36**8
    values = (np.arange(n, dtype=np.int64) * 2_654_435_761 + 1_000_003 * (seed + 1)) % space
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    digits = np.empty((n, 8), dtype="<U1")
    for pos in range(7, -1, -1):
        digits[:, pos] = alphabet[values % 36]
        values //= 36
    return np.ascontiguousarray(digits).view("<U8").ravel()


def _created_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Creation dates as day offsets in [0, HISTORY_DAYS), volume growing by half over the history."""
    u = rng.random(n)
    # density proportional to 1 + 0.5 * t on [0, 1]: invert the CDF t + t^2 / 4 = 1.25 u
    t = -2.0 + np.sqrt(4.0 + 5.0 * u)
    day = np.floor(t * HISTORY_DAYS).astype(np.int64)
    return np.minimum(day, HISTORY_DAYS - 1)


def _next_weekday(dates: np.ndarray) -> np.ndarray:
    """Move Saturday and Sunday dates (datetime64[D]) to the following Monday."""
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    return dates + np.where(weekday >= 5, 7 - weekday, 0).astype("timedelta64[D]")


def _quarter_end_before(dates: np.ndarray) -> np.ndarray:
    """For datetime64[D] dates, the last day of the previous quarter (the quarter end strictly before)."""
    months = dates.astype("datetime64[M]")
    month_num = months.astype(np.int64) % 12
    quarter_start = months - (month_num % 3).astype("timedelta64[M]")
    return quarter_start.astype("datetime64[D]") - np.timedelta64(1, "D")


@dataclass(frozen=True)
class _World:
    """The generated company: teams, accounts and every latent effect on a deal's chance (logit scale)."""

    teams: pd.DataFrame
    accounts: pd.DataFrame
    start: np.datetime64
    rep_skill: np.ndarray
    rep_series: np.ndarray
    account_effect: np.ndarray
    product_effect: np.ndarray
    price_z: np.ndarray
    size_z: np.ndarray


@dataclass(frozen=True)
class _Deals:
    """Every deal's drawn facts, outcome and dates (close NaT for zombies, close_value NaN unless won)."""

    agent: np.ndarray
    product: np.ndarray
    account: np.ndarray
    created: np.ndarray
    engage: np.ndarray
    p_if_closes: np.ndarray
    zombie: np.ndarray
    won: np.ndarray
    won_scale: np.ndarray
    lost_scale: np.ndarray
    close: np.ndarray
    price: np.ndarray
    close_value: np.ndarray


def _draw_world(rng: np.random.Generator, export: np.datetime64) -> _World:
    """Teams, accounts and latent effects: a seed's first draws, shared by the generator and its oracles."""
    teams = _sales_teams(rng)
    accounts = _accounts(rng, 85)
    n_agents, n_accounts, n_products = len(teams), len(accounts), len(PRODUCTS)
    rep_skill = rng.normal(0.0, 0.45, n_agents)
    rep_series = rng.normal(0.0, 0.35, (n_agents, 3))
    sector_names = np.array(SECTORS)
    sector_effect = dict(zip(sector_names, rng.normal(0.0, 0.3, len(SECTORS)), strict=True))
    account_effect = rng.normal(0.0, 0.25, n_accounts) + accounts["sector"].map(sector_effect).to_numpy()
    log_price = np.log(PRODUCTS["sales_price"].to_numpy(dtype=float))
    price_z = (log_price - log_price.mean()) / log_price.std()
    product_effect = -0.15 * price_z + rng.normal(0.0, 0.1, n_products)
    log_emp = np.log(accounts["employees"].to_numpy(dtype=float))
    size_z = (log_emp - log_emp.mean()) / log_emp.std()
    start = export - np.timedelta64(HISTORY_DAYS, "D")
    return _World(
        teams, accounts, start, rep_skill, rep_series, account_effect, product_effect, price_z, size_z
    )


def _win_probability_if_closes(
    world: _World, agent: np.ndarray, product: np.ndarray, account: np.ndarray, engage: np.ndarray
) -> np.ndarray:
    """A deal's latent ``p`` (won if it ever closes), logit-linear in rep, product, account, engage day."""
    series_codes = pd.Categorical(PRODUCTS["series"]).codes
    time_frac = (engage - world.start).astype(np.int64) / HISTORY_DAYS
    logit = (
        0.45
        - 0.55 * time_frac
        + world.rep_skill[agent]
        + world.rep_series[agent, series_codes[product]]
        + world.product_effect[product]
        + world.account_effect[account]
        + 0.2 * world.size_z[account]
        + 0.25 * world.price_z[product] * world.size_z[account]
    )
    return 1.0 / (1.0 + np.exp(-logit))


def _duration_scales(world: _World, product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gamma scales of the won and lost engage-to-close durations (expensive products take longer)."""
    size_factor = np.exp(0.12 * world.price_z[product])
    return WON_MEAN_DAYS / WON_SHAPE * size_factor, LOST_MEAN_DAYS / LOST_SHAPE * size_factor


def _engage_dates(rng: np.random.Generator, created: np.ndarray) -> np.ndarray:
    """Engagement an exponential lag (whole days) after creation, moved off weekends."""
    lag = np.ceil(rng.exponential(ENGAGE_LAG_MEAN_DAYS, len(created))).astype("timedelta64[D]")
    return _next_weekday(created + lag)


def _pulled_in(
    close: np.ndarray, engage: np.ndarray, won: np.ndarray | bool, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The quarter-end pull-in: a won close in a quarter's first days moves to the previous quarter's end
    when ``u < PULL_PROBABILITY``. Returns the close dates and which were pulled."""
    prev_q_end = _quarter_end_before(close)
    pull = (
        won
        & ((close - prev_q_end).astype(np.int64) <= PULL_WINDOW_DAYS)
        & (prev_q_end >= engage + np.timedelta64(1, "D"))
        & (u < PULL_PROBABILITY)
    )
    return np.where(pull, prev_q_end, close), pull


def _close_values(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
    """A won deal's value: its list price times a lognormal discount."""
    return np.round(price * np.exp(rng.normal(-0.03, 0.08, len(price))))


def _draw_deals(rng: np.random.Generator, world: _World, n_deals: int) -> _Deals:
    """Every deal of the world, drawn right after the world from the same stream."""
    agent = rng.integers(0, len(world.teams), n_deals)
    product = rng.choice(len(PRODUCTS), size=n_deals, p=PRODUCT_SHARE / PRODUCT_SHARE.sum())
    account = rng.integers(0, len(world.accounts), n_deals)
    created = world.start + _created_days(rng, n_deals).astype("timedelta64[D]")
    engage = _engage_dates(rng, created)
    p_if_closes = _win_probability_if_closes(world, agent, product, account, engage)
    zombie = rng.random(n_deals) < ZOMBIE_PROBABILITY
    won = (rng.random(n_deals) < p_if_closes) & ~zombie
    won_scale, lost_scale = _duration_scales(world, product)
    duration = np.where(
        won,
        np.ceil(rng.gamma(WON_SHAPE, won_scale)),
        np.ceil(rng.gamma(LOST_SHAPE, lost_scale)),
    ).astype(np.int64)
    duration = np.maximum(duration, 1)
    close, _ = _pulled_in(engage + duration.astype("timedelta64[D]"), engage, won, rng.random(n_deals))
    close = np.where(zombie, np.datetime64("NaT"), close)
    price = PRODUCTS["sales_price"].to_numpy()[product]
    close_value = np.where(won, _close_values(rng, price), np.nan)
    return _Deals(
        agent,
        product,
        account,
        created,
        engage,
        p_if_closes,
        zombie,
        won,
        won_scale,
        lost_scale,
        close,
        price,
        close_value,
    )


def generate_crm(
    n_deals: int = 15_000, seed: int = 7, export_date: str = DEFAULT_EXPORT_DATE
) -> SyntheticCRM:
    """Generate a realistic MavenTech-schema CRM export of ``n_deals`` deals, deterministic in ``seed``."""
    if n_deals < 1:
        raise ValueError("n_deals must be at least 1")
    rng = np.random.default_rng(seed)
    export = np.datetime64(export_date, "D")
    world = _draw_world(rng, export)
    deals = _draw_deals(rng, world, n_deals)

    # the export: what the CRM shows on export_date
    engaged_by_export = deals.engage <= export
    closed_by_export = engaged_by_export & ~deals.zombie & (deals.close <= export)
    open_at_export = ~closed_by_export  # every deal is created by the export date
    blank_account = np.where(
        open_at_export,
        rng.random(n_deals) < OPEN_BLANK_ACCOUNT_SHARE,
        rng.random(n_deals) < CLOSED_BLANK_ACCOUNT_SHARE,
    )
    ids = _opportunity_ids(n_deals, seed)
    product_names = PRODUCTS["product"].to_numpy(dtype=object)[deals.product]
    typo = (product_names == "GTX Pro") & (rng.random(n_deals) < GTXPRO_TYPO_SHARE)
    agent_names = world.teams["sales_agent"].to_numpy(dtype=object)[deals.agent]
    new_hires = np.array(["Ravi Okafor", "Lena Marsh"], dtype=object)
    unknown_rep = rng.random(n_deals) < UNKNOWN_REP_SHARE
    agent_names = np.where(unknown_rep, new_hires[rng.integers(0, 2, n_deals)], agent_names)
    account_names = world.accounts["account"].to_numpy(dtype=object)[deals.account]

    stage = np.where(
        ~engaged_by_export,
        "Prospecting",
        np.where(closed_by_export, np.where(deals.won, "Won", "Lost"), "Engaging"),
    )
    pipeline = pd.DataFrame(
        {
            "opportunity_id": ids,
            "sales_agent": agent_names,
            "product": np.where(typo, "GTXPro", product_names),
            "account": np.where(blank_account, "", account_names),
            "deal_stage": stage,
            "engage_date": _date_strings(np.where(engaged_by_export, deals.engage, np.datetime64("NaT"))),
            "close_date": _date_strings(np.where(closed_by_export, deals.close, np.datetime64("NaT"))),
            "close_value": _int_strings(np.where(closed_by_export & deals.won, deals.close_value, np.nan)),
        }
    )
    order = np.lexsort((ids, deals.engage))
    pipeline = pipeline.iloc[order].reset_index(drop=True)

    truth = pd.DataFrame(
        {
            "opportunity_id": ids,
            "created_date": _date_strings(deals.created),
            "engage_date": _date_strings(deals.engage),
            "close_date": _date_strings(deals.close),
            "outcome": np.where(deals.zombie, "Never", np.where(deals.won, "Won", "Lost")),
            "close_value": _int_strings(deals.close_value),
            "list_price": deals.price,
            "p_win_if_closes": np.round(deals.p_if_closes, 6),
            "zombie_probability": ZOMBIE_PROBABILITY,
            "true_win_probability": np.round(deals.p_if_closes * (1 - ZOMBIE_PROBABILITY), 6),
            "won_shape": WON_SHAPE,
            "won_scale": np.round(deals.won_scale, 6),
            "lost_shape": LOST_SHAPE,
            "lost_scale": np.round(deals.lost_scale, 6),
            "pull_probability": PULL_PROBABILITY,
            "pull_window_days": PULL_WINDOW_DAYS,
        }
    )
    truth = truth.iloc[order].reset_index(drop=True)
    return SyntheticCRM(pipeline, world.accounts, PRODUCTS.copy(), world.teams, truth, pd.Timestamp(export))


def _date_strings(dates: np.ndarray) -> np.ndarray:
    """datetime64[D] to 'YYYY-MM-DD' strings, NaT to ''."""
    text = np.datetime_as_string(dates.astype("datetime64[D]"), unit="D")
    return np.where(np.isnat(dates), "", text)


def _int_strings(values: np.ndarray) -> np.ndarray:
    """Floats to integer strings, NaN to ''."""
    finite = np.isfinite(values)
    out = np.full(values.shape, "", dtype=object)
    out[finite] = values[finite].astype(np.int64).astype(str)
    return out


def _won_given_open(
    as_of: np.datetime64,
    engage: np.ndarray,
    p: np.ndarray,
    z: np.ndarray,
    won_shape: np.ndarray | float,
    won_scale: np.ndarray,
    lost_shape: np.ndarray | float,
    lost_scale: np.ndarray,
    pull_probability: np.ndarray | float,
    pull_window_days: int,
) -> np.ndarray:
    """P(won | engaged on ``engage`` and still open at the end of ``as_of``): the prior odds
    ``p(1-z) : (1-p)(1-z) : z`` reweighted by the won and lost gamma survival at the deal's age, the won
    survival less the mass the quarter-end pull-in moved to a quarter end by ``as_of``."""
    age = (as_of - engage).astype(np.int64).astype(float)
    won_cdf = stats.gamma.cdf(age, won_shape, scale=won_scale)
    q_end = _quarter_end_before(np.array([as_of + np.timedelta64(1, "D")]))[0]  # last quarter end <= as_of
    window_end_age = (q_end + np.timedelta64(pull_window_days, "D") - engage).astype(np.int64).astype(float)
    pullable = (q_end >= engage + np.timedelta64(1, "D")) & (window_end_age > age)
    pulled_mass = np.where(
        pullable,
        pull_probability * (stats.gamma.cdf(window_end_age, won_shape, scale=won_scale) - won_cdf),
        0.0,
    )
    won_open = (1.0 - won_cdf) - pulled_mass
    lost_open = stats.gamma.sf(age, lost_shape, scale=lost_scale)
    numerator = p * (1 - z) * won_open
    return numerator / (numerator + (1 - p) * (1 - z) * lost_open + z)


def oracle_win_probability(truth: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.Series:
    """True P(won | still open at its age on ``as_of``) for every deal engaged and open at ``as_of``, and the
    prior of every deal created by ``as_of`` but not engaged yet.

    Exact under the generative model: won and lost survival come from the gamma duration laws, the won
    survival is corrected for the quarter-end pull-in, and zombies never close. Indexed by opportunity_id.
    """
    t = pd.Timestamp(as_of).to_datetime64().astype("datetime64[D]")
    engage = pd.to_datetime(truth["engage_date"]).to_numpy().astype("datetime64[D]")
    close = pd.to_datetime(truth["close_date"].replace("", None)).to_numpy().astype("datetime64[D]")
    open_mask = (engage <= t) & (np.isnat(close) | (close > t))
    sub = truth[open_mask]
    won_chance = _won_given_open(
        t,
        engage[open_mask],
        sub["p_win_if_closes"].to_numpy(),
        sub["zombie_probability"].to_numpy(),
        sub["won_shape"].to_numpy(),
        sub["won_scale"].to_numpy(),
        sub["lost_shape"].to_numpy(),
        sub["lost_scale"].to_numpy(),
        sub["pull_probability"].to_numpy(),
        int(sub["pull_window_days"].iloc[0]) if len(sub) else 0,
    )
    engaged = pd.Series(won_chance, index=sub["opportunity_id"].to_numpy(), name="oracle_win_probability")
    if "created_date" not in truth.columns:
        return engaged
    # a deal created but not engaged yet (open at as_of in a CRM that dates deals by their creation, as
    # Salesforce and HubSpot do): nothing has happened to it, so its chance is the prior
    created = pd.to_datetime(truth["created_date"]).to_numpy().astype("datetime64[D]")
    waiting = truth[(created <= t) & (engage > t)]
    prior = waiting["p_win_if_closes"].to_numpy(float) * (1 - waiting["zombie_probability"].to_numpy(float))
    early = pd.Series(prior, index=waiting["opportunity_id"].to_numpy(), name="oracle_win_probability")
    return pd.concat([engaged, early]) if len(early) else engaged


@dataclass(frozen=True)
class QuarterRevenueDraws:
    """Simulated draws of one quarter's won revenue from the true model, split by where the revenue comes
    from: won by the as-of date (fixed), deals engaged and open then, deals created but not engaged yet, and
    deals not yet created."""

    won_by_as_of: float
    open_deals: np.ndarray
    not_engaged_yet: np.ndarray
    not_created_yet: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """The quarter's whole won revenue, run by run."""
        return self.won_by_as_of + self.open_deals + self.not_engaged_yet + self.not_created_yet


def oracle_quarter_revenue(
    n_deals: int,
    seed: int,
    export_date: str | pd.Timestamp,
    as_of: str | pd.Timestamp,
    quarter_start: str | pd.Timestamp,
    quarter_end: str | pd.Timestamp,
    simulations: int = 20_000,
    rng_seed: int = 0,
) -> QuarterRevenueDraws:
    """The TRUE distribution of revenue won with a close date in [quarter_start, quarter_end] (both ends
    included), given everything the world of ``generate_crm(n_deals, seed, export_date)`` shows at the end
    of ``as_of``: what a perfect whole-quarter forecast would give.

    Deals won by as-of count their real value; deals open at as-of draw an outcome from
    P(won | open at their age) (as :func:`oracle_win_probability`) and a close date from the won gamma
    truncated to their age, pull-ins that would land by as-of rejected; deals created but not engaged draw
    an engage lag beyond as-of; the deals created after as-of (their number is the world's) are drawn as the
    generator draws them. Open values are drawn, since a deal's value is unknown until it is won.
    """
    export, t, start_day, end_day = (_day(d) for d in (export_date, as_of, quarter_start, quarter_end))
    if start_day > end_day:
        raise ValueError(f"quarter_start {start_day} is after quarter_end {end_day}")
    if end_day > export:
        raise ValueError(
            f"quarter_end {end_day} is after the export date {export}: "
            "the generated world has no deals created after it"
        )
    if simulations < 1:
        raise ValueError("simulations must be at least 1")
    world_rng = np.random.default_rng(seed)
    world = _draw_world(world_rng, export)
    deals = _draw_deals(world_rng, world, n_deals)
    window = (start_day, end_day)
    closed = ~np.isnat(deals.close) & (deals.close <= t)
    in_window = closed & deals.won & (deals.close >= start_day) & (deals.close <= end_day)
    open_now = (deals.engage <= t) & ~closed
    waiting = (deals.created <= t) & (deals.engage > t)
    rng = np.random.default_rng(rng_seed)
    return QuarterRevenueDraws(
        float(deals.close_value[in_window].sum()),
        _open_deal_revenue(rng, world, deals, open_now, t, window, simulations),
        _not_engaged_revenue(rng, world, deals, waiting, t, window, simulations),
        _not_created_revenue(rng, world, int((deals.created > t).sum()), t, window, simulations),
    )


def _day(value: str | pd.Timestamp) -> np.datetime64:
    """A date as datetime64[D]."""
    return pd.Timestamp(value).to_datetime64().astype("datetime64[D]")


def _simulation_chunks(simulations: int, pairs_per_simulation: float) -> list[tuple[int, int]]:
    """[lo, hi) simulation ranges of about PAIRS_PER_CHUNK simulated deals each."""
    size = max(1, int(PAIRS_PER_CHUNK // max(pairs_per_simulation, 1.0)))
    return [(lo, min(lo + size, simulations)) for lo in range(0, simulations, size)]


def _revenue_in(
    close: np.ndarray, value: np.ndarray, window: tuple[np.datetime64, np.datetime64]
) -> np.ndarray:
    """Each won deal's value when its close date falls in the window, else 0."""
    return np.where((close >= window[0]) & (close <= window[1]), value, 0.0)


def _open_deal_revenue(
    rng: np.random.Generator,
    world: _World,
    deals: _Deals,
    open_now: np.ndarray,
    as_of: np.datetime64,
    window: tuple[np.datetime64, np.datetime64],
    simulations: int,
) -> np.ndarray:
    """Per simulation, the window's revenue from deals engaged and still open at as-of."""
    engage, product = deals.engage[open_now], deals.product[open_now]
    won_scale, lost_scale = _duration_scales(world, product)
    p = deals.p_if_closes[open_now]
    z = np.full(len(p), ZOMBIE_PROBABILITY)
    won_chance = _won_given_open(
        as_of, engage, p, z, WON_SHAPE, won_scale, LOST_SHAPE, lost_scale, PULL_PROBABILITY, PULL_WINDOW_DAYS
    )
    age = (as_of - engage).astype(np.int64)
    won_survival = special.gammaincc(WON_SHAPE, age / won_scale)
    price = deals.price[open_now]
    revenue = np.zeros(simulations)
    for lo, hi in _simulation_chunks(simulations, len(p)):
        sim, deal = np.nonzero(rng.random((hi - lo, len(p))) < won_chance)
        close = _won_close_after(rng, engage[deal], age[deal], won_scale[deal], won_survival[deal], as_of)
        value = _revenue_in(close, _close_values(rng, price[deal]), window)
        revenue[lo:hi] = np.bincount(sim, weights=value, minlength=hi - lo)
    return revenue


def _won_close_after(
    rng: np.random.Generator,
    engage: np.ndarray,
    age: np.ndarray,
    won_scale: np.ndarray,
    won_survival: np.ndarray,
    as_of: np.datetime64,
) -> np.ndarray:
    """Close dates of won deals still open at as-of: the won gamma truncated to beyond the deal's age (by
    inversion), then the pull-in, redrawn while a pull would land on a quarter end by as-of (such a deal
    would have been closed at as-of)."""
    close = np.empty(len(engage), dtype="datetime64[D]")
    todo = np.arange(len(engage))
    while todo.size:
        tail = (1.0 - rng.random(todo.size)) * won_survival[todo]  # uniform on (0, S(age)]
        gamma_days = won_scale[todo] * special.gammainccinv(WON_SHAPE, tail)
        duration = np.maximum(np.ceil(gamma_days), age[todo] + 1).astype(np.int64)  # > age (and >= 1)
        first_close = engage[todo] + duration.astype("timedelta64[D]")
        final, pulled = _pulled_in(first_close, engage[todo], True, rng.random(todo.size))
        keep = ~(pulled & (final <= as_of))
        close[todo[keep]] = final[keep]
        todo = todo[~keep]
    return close


def _revenue_from_engagement(
    rng: np.random.Generator,
    world: _World,
    agent: np.ndarray,
    product: np.ndarray,
    account: np.ndarray,
    engage: np.ndarray,
    window: tuple[np.datetime64, np.datetime64],
) -> np.ndarray:
    """Each deal's revenue in the window when nothing is known of it past its engage date: the prior
    outcome, the won duration, the pull-in and the value, as the generator draws them."""
    p = _win_probability_if_closes(world, agent, product, account, engage)
    won = np.flatnonzero(rng.random(len(p)) < p * (1 - ZOMBIE_PROBABILITY))
    won_scale, _ = _duration_scales(world, product[won])
    duration = np.maximum(np.ceil(rng.gamma(WON_SHAPE, won_scale)), 1).astype(np.int64)
    first_close = engage[won] + duration.astype("timedelta64[D]")
    close, _ = _pulled_in(first_close, engage[won], True, rng.random(len(won)))
    price = PRODUCTS["sales_price"].to_numpy()[product[won]]
    revenue = np.zeros(len(p))
    revenue[won] = _revenue_in(close, _close_values(rng, price), window)
    return revenue


def _not_engaged_revenue(
    rng: np.random.Generator,
    world: _World,
    deals: _Deals,
    waiting: np.ndarray,
    as_of: np.datetime64,
    window: tuple[np.datetime64, np.datetime64],
    simulations: int,
) -> np.ndarray:
    """Per simulation, the window's revenue from deals created by as-of but not engaged yet.

    Engaged after as-of means ``created + lag`` is past the last weekday on or before as-of, i.e. the lag
    ``ceil(E)`` exceeds ``m``; for E exponential, ``ceil(E) | ceil(E) > m`` is ``m + ceil(E')`` exactly."""
    created = deals.created[waiting]
    weekday = int((as_of.astype(np.int64) + 3) % 7)  # 0 = Monday
    last_weekday = as_of - np.timedelta64(max(weekday - 4, 0), "D")
    lag_floor = np.maximum((last_weekday - created).astype(np.int64), 0)
    agent, product, account = deals.agent[waiting], deals.product[waiting], deals.account[waiting]
    revenue = np.zeros(simulations)
    for lo, hi in _simulation_chunks(simulations, len(created)):
        sim = np.repeat(np.arange(hi - lo), len(created))
        deal = np.tile(np.arange(len(created)), hi - lo)
        lag = lag_floor[deal] + np.ceil(rng.exponential(ENGAGE_LAG_MEAN_DAYS, len(deal))).astype(np.int64)
        engage = _next_weekday(created[deal] + lag.astype("timedelta64[D]"))
        value = _revenue_from_engagement(
            rng, world, agent[deal], product[deal], account[deal], engage, window
        )
        revenue[lo:hi] = np.bincount(sim, weights=value, minlength=hi - lo)
    return revenue


def _creation_share(day: float) -> float:
    """P(creation day offset < day) under the generator's growing creation density."""
    x = min(max(day / HISTORY_DAYS, 0.0), 1.0)
    return (x + x * x / 4.0) / 1.25


def _not_created_revenue(
    rng: np.random.Generator,
    world: _World,
    n_later: int,
    as_of: np.datetime64,
    window: tuple[np.datetime64, np.datetime64],
    simulations: int,
) -> np.ndarray:
    """Per simulation, the window's revenue from the ``n_later`` deals created after as-of.

    Their creation days are iid from the generator's density restricted to after as-of; only those created
    by the window's end can close in it, so each simulation draws how many those are (binomial), then them."""
    first = int((as_of - world.start).astype(np.int64)) + 1  # first creation day offset after as-of
    last = min(int((window[1] - world.start).astype(np.int64)), HISTORY_DAYS - 1)
    revenue = np.zeros(simulations)
    if n_later == 0 or last < max(first, 0):
        return revenue
    share_after, share_from, share_to = (
        1.0 - _creation_share(first),
        _creation_share(first),
        _creation_share(last + 1),
    )
    in_reach = (share_to - share_from) / share_after
    for lo, hi in _simulation_chunks(simulations, n_later * in_reach):
        counts = rng.binomial(n_later, in_reach, hi - lo)
        sim = np.repeat(np.arange(hi - lo), counts)
        u = share_from + (share_to - share_from) * rng.random(len(sim))
        day = np.floor((-2.0 + np.sqrt(4.0 + 5.0 * u)) * HISTORY_DAYS).astype(np.int64)
        created = world.start + np.clip(day, max(first, 0), last).astype("timedelta64[D]")
        agent = rng.integers(0, len(world.teams), len(sim))
        product = rng.choice(len(PRODUCTS), size=len(sim), p=PRODUCT_SHARE / PRODUCT_SHARE.sum())
        account = rng.integers(0, len(world.accounts), len(sim))
        engage = _engage_dates(rng, created)
        value = _revenue_from_engagement(rng, world, agent, product, account, engage, window)
        revenue[lo:hi] = np.bincount(sim, weights=value, minlength=hi - lo)
    return revenue
