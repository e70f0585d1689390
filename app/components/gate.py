"""Page entry guard: the current run, or one clear message (with the command to run) and a stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.components.format import md

if TYPE_CHECKING:
    from app.services.store import PredictionRun, RunState


def require_run(state: RunState) -> PredictionRun:
    """The run of ``state``; otherwise explain what is missing, how to fix it, and stop."""
    if state.error is not None:
        st.error(f"The prediction files in {md(state.out_dir)} cannot be read: {md(state.error)}")
        st.markdown("Re-run the batch step to rewrite them:")
        st.code(state.command, language="bash")
        st.stop()
    if state.run is None:
        st.info(f"No predictions yet in {md(state.out_dir)}. Run the batch step, then reload this page:")
        st.code(state.command, language="bash")
        st.stop()
    return state.run


def missing_notice(what: str, command: str, status: str | None = None) -> None:
    """Say that an optional output is absent from this run (with the batch step's own note) and which
    command produces it."""
    note = f" The batch step says: {md(status)}." if status else ""
    st.info(f"{what} is not in this run.{note} It is produced by:")
    st.code(command, language="bash", wrap_lines=True)
