"""The shared CLI error policy (models.cli_support) and the revintel dispatcher (models.cli)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from core.errors import DataContractError, ModelArtifactError, UsageError
from models import cli
from models.cli_support import OneLineArgumentParser, run_cli

ROOT = Path(__file__).resolve().parents[2]


def _raise(exc: BaseException):
    def step() -> int:
        raise exc

    return step


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [
        (
            DataContractError("a.csv", "bad value", column="x", row=3),
            2,
            "error: a.csv, column 'x', row 3: bad value\n",
        ),
        (
            UsageError("--as-of 'x' is not a date\n(use YYYY-MM-DD)"),
            2,
            "error: --as-of 'x' is not a date (use YYYY-MM-DD)\n",
        ),
        (ModelArtifactError("model.txt is corrupt"), 2, "error: model.txt is corrupt\n"),
        (KeyboardInterrupt(), 130, "error: interrupted\n"),
        (
            RuntimeError("boom"),
            1,
            "error: unexpected RuntimeError: boom (set REVINTEL_DEBUG=1 for the traceback)\n",
        ),
    ],
)
def test_run_cli_maps_exceptions_to_exit_codes_and_one_line(exc, code, stderr, capsys, monkeypatch) -> None:
    monkeypatch.delenv("REVINTEL_DEBUG", raising=False)
    assert run_cli(_raise(exc)) == code
    assert capsys.readouterr().err == stderr


def test_run_cli_prints_the_traceback_only_in_debug_mode(capsys, monkeypatch) -> None:
    monkeypatch.setenv("REVINTEL_DEBUG", "1")
    assert run_cli(_raise(RuntimeError("boom"))) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and err.endswith("for the traceback)\n")


def test_run_cli_passes_return_codes_and_system_exit_through() -> None:
    assert run_cli(lambda: 0) == 0
    assert run_cli(lambda: None) == 0
    assert run_cli(lambda: 3) == 3
    assert run_cli(_raise(SystemExit(0))) == 0
    assert run_cli(_raise(SystemExit(2))) == 2


def test_one_line_parser_turns_usage_errors_into_exit_2(capsys) -> None:
    parser = OneLineArgumentParser(prog="train.py")
    parser.add_argument("--simulations", type=int)
    assert run_cli(lambda: parser.parse_args(["--simulations", "many"])) == 2
    assert (
        capsys.readouterr().err
        == "error: train.py: argument --simulations: invalid int value: 'many' (see --help)\n"
    )


def test_dispatch_runs_the_chosen_module_lazily(monkeypatch) -> None:
    calls: list[list[str]] = []
    fake = types.ModuleType("fake_train")
    fake.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "fake_train", fake)
    monkeypatch.setitem(cli.COMMANDS, "train", ("fake_train", "train"))
    assert cli.main(["train", "--data-dir", "dataset", "--as-of", "2026-06-30"]) == 0
    assert calls == [["--data-dir", "dataset", "--as-of", "2026-06-30"]]


def test_dispatch_maps_a_step_failure_to_its_exit_code(monkeypatch, capsys) -> None:
    fake = types.ModuleType("fake_predict")
    fake.main = lambda argv: (_ for _ in ()).throw(DataContractError("sales_pipeline.csv", "file is empty"))
    monkeypatch.setitem(sys.modules, "fake_predict", fake)
    monkeypatch.setitem(cli.COMMANDS, "predict", ("fake_predict", "predict"))
    assert cli.main(["predict"]) == 2
    assert capsys.readouterr().err == "error: sales_pipeline.csv: file is empty\n"


def test_validate_command_reports_quality(valid_export, capsys) -> None:
    assert cli.main(["validate", "--data-dir", str(valid_export)]) == 0
    out = capsys.readouterr().out
    assert "5 deals, 2 open" in out and "product_alias" in out


def test_unknown_and_missing_commands_exit_2(capsys) -> None:
    assert cli.main(["forecast"]) == 2
    assert capsys.readouterr().err == (
        "error: revintel: unknown command 'forecast' "
        "(choose from validate, generate, train, predict, backtest, app)\n"
    )
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("error: revintel: no command given")


def test_help_lists_every_command(capsys) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name}" in out for name in cli.COMMANDS)


def test_app_command_runs_streamlit_on_8501() -> None:
    assert cli.app_command([]) == [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app" / "main.py"),
        "--server.port=8501",
        "--server.headless=true",
    ]
    assert cli.app_command(["--server.port=9000"])[-2:] == ["--server.headless=true", "--server.port=9000"]


def test_console_script_is_installed_and_validates() -> None:
    script = Path(sys.executable).parent / "revintel"
    assert script.exists(), "pip install -e . should install the revintel console script"
    result = subprocess.run(
        [str(script), "validate", "--data-dir", "nowhere"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (2, "error: nowhere: data directory not found\n")


def test_run_cli_stops_quietly_when_the_reader_goes_away(capsys) -> None:
    assert run_cli(_raise(BrokenPipeError())) == 141
    assert capsys.readouterr().err == ""


def test_exit_process_keeps_the_code_atexit_handlers_and_buffered_output() -> None:
    script = (
        "import atexit, sys\n"
        "from models.cli_support import exit_process\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "print('buffered', end=' ')\n"
        "sys.stderr.write('err')\n"
        "exit_process(3)\n"
        "print('never')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 3
    assert done.stdout == "buffered atexit ran\n" and done.stderr == "err"
