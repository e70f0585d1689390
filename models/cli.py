"""The ``revintel`` console script: one front door to every batch step and the app.

``revintel validate|generate|train|predict|backtest|app [flags]`` hands its flags unchanged to the module
that owns the step (imported only when chosen, so ``revintel validate`` never loads LightGBM). The script
paths in ARCHITECTURE section 3 keep working on their own; this is a convenience wrapper.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from core.errors import UsageError
from core.settings import PROJECT_ROOT
from models.cli_support import exit_process, run_cli

# command -> (module exposing main(argv) -> int, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "models.validate",
        "check a CRM export against the data contract; print its quality report",
    ),
    "generate": ("models.generate", "write a seeded synthetic CRM export (+ truth.csv)"),
    "train": ("models.training.train", "train and save the win-probability model"),
    "predict": ("models.inference.predict", "score open deals, explain them and forecast revenue"),
    "backtest": ("models.evaluation.backtest", "replay history at several as-of dates and score the model"),
    "app": ("", "start the Streamlit app on http://localhost:8501 (extra flags go to streamlit)"),
}
APP_ENTRY = PROJECT_ROOT / "app" / "main.py"


def usage() -> str:
    """The help text listing every command."""
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: revintel <command> [flags]   (revintel <command> --help for its flags)", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def app_command(extra: list[str], entry: Path = APP_ENTRY) -> list[str]:
    """The argv that starts the Streamlit app (headless, port 8501 unless ``extra`` says otherwise)."""
    command = [sys.executable, "-m", "streamlit", "run", str(entry)]
    if not any(flag.startswith("--server.port") for flag in extra):
        command.append("--server.port=8501")
    if not any(flag.startswith("--server.headless") for flag in extra):
        command.append("--server.headless=true")
    return command + extra


def resolve(command: str) -> Callable[[list[str]], int]:
    """The ``main(argv)`` of ``command``, imported lazily; UsageError for an unknown command."""
    if command not in COMMANDS:
        raise UsageError(f"revintel: unknown command '{command}' (choose from {', '.join(COMMANDS)})")
    if command == "app":
        return lambda extra: subprocess.call(app_command(extra))
    module = importlib.import_module(COMMANDS[command][0])
    return module.main


def dispatch(argv: list[str]) -> int:
    """Run the command named by ``argv[0]`` with the remaining flags; print usage for none or --help."""
    if not argv:
        raise UsageError(
            f"revintel: no command given (choose from {', '.join(COMMANDS)}; see revintel --help)"
        )
    if argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    step = resolve(argv[0])
    code = step(argv[1:])
    return 0 if code is None else int(code)


def main(argv: list[str] | None = None) -> int:
    """Dispatch under the shared exit-code policy; returns the exit code."""
    return run_cli(lambda: dispatch(sys.argv[1:] if argv is None else list(argv)))


def console() -> None:
    """The ``revintel`` console script: :func:`main`, then leave the process."""
    exit_process(main())


if __name__ == "__main__":
    exit_process(main())
