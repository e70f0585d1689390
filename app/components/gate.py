"""Page entry guard: the current run, or one clear message (with the command to run) and a stop."""

from __future__ import annotations

import streamlit as st

from app.components.format import md
from app.services.store import PredictionFilesError, PredictionRun, load_run, predict_command, predictions_dir


def require_run() -> PredictionRun:
    """Return the current prediction run; otherwise explain what is missing, how to fix it, and stop."""
    out_dir = predictions_dir()
    try:
        run = load_run(out_dir)
    except PredictionFilesError as exc:
        st.error(f"The prediction files in {md(out_dir)} cannot be read: {md(exc)}")
        st.markdown("Re-run the batch step to rewrite them:")
        st.code(predict_command(out_dir), language="bash")
        st.stop()
    if run is None:
        st.info(f"No predictions yet in {md(out_dir)}. Run the batch step, then reload this page:")
        st.code(predict_command(out_dir), language="bash")
        st.stop()
    return run


def missing_notice(what: str, command: str, status: str | None = None) -> None:
    """Say that an optional output is absent from this run (with the batch step's own note) and which
    command produces it."""
    note = f" The batch step says: {md(status)}." if status else ""
    st.info(f"{what} is not in this run.{note} It is produced by:")
    st.code(command, language="bash", wrap_lines=True)
