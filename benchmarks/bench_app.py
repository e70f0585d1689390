"""Benchmark the app at scale: render time of every page with ~100,000 open deals, after the first load and
after a filter change (targets: < 2 s per page once loaded, < 1 s for a filter change).

Run: ``python benchmarks/bench_app.py [--deals 765000] [--seed 3] [--repeats 3] [--browser]``.
The outputs are contract-conformant fixture files (tests/app/conftest.py: made-up but consistent numbers)
built from a generator export of ``--deals`` deals (about 13% of them are open at the export date), kept in
benchmarks/out/ between runs. Timings come from Streamlit's AppTest (the script run, including the Arrow
and Plotly serialisation of every element; the browser's own drawing is not included). ``--browser`` also
times each page in headless Chromium (sidebar click until the page's text is drawn and the run is over).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
PAGES = {
    "Overview": "views/overview.py",
    "Risk Dashboard": "views/risk_dashboard.py",
    "Deal Drill-down": "views/deal_drilldown.py",
    "Forecast": "views/forecast.py",
    "Model & Data Health": "views/model_health.py",
    "What Changed": "views/what_changed.py",
    "Win Rates": "views/win_rates.py",
    "Attention Plan": "views/attention_plan.py",
}


def build_outputs(deals: int, seed: int) -> Path:
    """Fixture outputs for ``deals`` generated deals (reused when already built with the same size)."""
    out = ROOT / "benchmarks" / "out" / f"app_{deals}_{seed}"
    if (out / "predictions" / "predictions_metadata.json").exists():
        return out / "predictions"
    spec = importlib.util.spec_from_file_location(
        "app_fixture_outputs", ROOT / "tests" / "app" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    start = time.perf_counter()
    predictions = module.build_prediction_outputs(out, n_deals=deals, seed=seed, hostile_accounts=False)
    diagnostics = importlib.util.spec_from_file_location(
        "app_fixture_diagnostics", ROOT / "tests" / "app" / "views" / "conftest.py"
    )
    extra = importlib.util.module_from_spec(diagnostics)
    diagnostics.loader.exec_module(extra)
    extra.add_diagnostics(predictions)  # win rates, their change, rep consistency, the attention plan
    print(f"built fixture outputs in {time.perf_counter() - start:.1f} s", flush=True)
    return predictions


def timed_run(app, timeout: float = 600.0) -> float:
    """Seconds one AppTest run takes; fails loudly if the page raised."""
    start = time.perf_counter()
    app.run(timeout=timeout)
    seconds = time.perf_counter() - start
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return seconds


BROWSER_TEXT = {
    "Overview": "Pipeline overview",
    "Risk Dashboard": "Risk dashboard",
    "Deal Drill-down": "Top three drivers",
    "Forecast": "Revenue forecast",
    "Model & Data Health": "Model & data health",
}


def browser_timings(out_dir: Path, repeats: int) -> None:
    """Time each page in headless Chromium: click its sidebar link, wait until its text is shown and the
    run is over. Same session throughout, so these are warm-cache times (after a first full load)."""
    spec = importlib.util.spec_from_file_location("app_e2e", ROOT / "tests" / "app" / "test_e2e.py")
    e2e = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(e2e)
    port = e2e._free_port()
    url = f"http://127.0.0.1:{port}"
    server = e2e.start_app(out_dir, port)
    try:
        e2e._wait_healthy(url, server)
        driver = e2e.browser(1400, 1000)
        try:
            start = time.perf_counter()
            driver.get(url)
            e2e.wait_rendered(driver, BROWSER_TEXT["Overview"], timeout=300)
            first = time.perf_counter() - start
            print(f"browser first load (server reads every file, Overview drawn): {first:.2f} s")
            print(f"{'page':<22}{'browser, warm (median of ' + str(repeats) + ')':>32}")
            for name, text in list(BROWSER_TEXT.items())[1:] + list(BROWSER_TEXT.items())[:1]:
                seconds = []
                for _ in range(repeats + 1):  # the first visit fills the page's own caches; not counted
                    link = next(
                        a
                        for a in driver.find_elements("css selector", '[data-testid="stSidebarNav"] a')
                        if a.text.strip().endswith(name)
                    )
                    begin = time.perf_counter()
                    link.click()
                    e2e.wait_rendered(driver, text, timeout=300)
                    seconds.append(time.perf_counter() - begin)
                    other = "Forecast" if name != "Forecast" else "Overview"
                    next(
                        a
                        for a in driver.find_elements("css selector", '[data-testid="stSidebarNav"] a')
                        if a.text.strip().endswith(other)
                    ).click()
                    e2e.wait_rendered(driver, BROWSER_TEXT[other], timeout=300)
                print(f"{name:<22}{statistics.median(seconds[1:]):>31.2f}s")
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the outputs, then time every page cold, warm and after a filter change."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=765_000, help="generated deals (about 13%% are open)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per page (median reported)")
    parser.add_argument("--browser", action="store_true", help="also time each page in headless Chromium")
    args = parser.parse_args(argv)

    out_dir = build_outputs(args.deals, args.seed)
    os.environ["REVINTEL_PREDICTIONS_DIR"] = str(out_dir)
    open_deals = sum(1 for _ in (out_dir / "latest_predictions.csv").open()) - 1
    shap_rows = sum(1 for _ in (out_dir / "shap_values.csv").open()) - 1
    print(f"open deals: {open_deals:,}   SHAP rows: {shap_rows:,}   outputs: {out_dir}")

    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(MAIN, default_timeout=600)
    first = timed_run(app)
    print(f"first load (reads and types every file, Overview page): {first:6.2f} s")
    during = timed_run(app)
    start = time.perf_counter()
    for thread in [t for t in threading.enumerate() if t.name.startswith("prefetch-closed-")]:
        thread.join()
    print(f"Overview rerun while the background read of the CRM export runs: {during:6.2f} s")
    print(f"background read of the CRM export finished {time.perf_counter() - start:.2f} s later\n")
    region = sorted(
        pd.read_csv(out_dir / "latest_predictions.csv", usecols=["regional_office"])[
            "regional_office"
        ].unique()
    )[0]
    print(f"{'page':<22}{'first visit':>12}{'warm (median)':>15}{'filter change':>15}   target < 2 s / < 1 s")
    worst_warm = worst_filter = 0.0
    for name, page in PAGES.items():
        app.sidebar.multiselect(key="_w_filter_regions").set_value([])
        app.switch_page(page)
        visit = timed_run(app)
        warm = statistics.median(timed_run(app) for _ in range(args.repeats))
        app.sidebar.multiselect(key="_w_filter_regions").set_value([region])
        changed = timed_run(app)
        worst_warm, worst_filter = max(worst_warm, warm), max(worst_filter, changed)
        print(f"{name:<22}{visit:>11.2f}s{warm:>14.2f}s{changed:>14.2f}s")
    verdict = "meets" if worst_warm < 2 and worst_filter < 1 else "MISSES"
    print(
        f"\nworst warm render {worst_warm:.2f} s, worst filter change {worst_filter:.2f} s: "
        f"{verdict} the targets (AppTest)"
    )
    if args.browser:
        print()
        browser_timings(out_dir, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
