"""The error policy every command-line entry point shares (ARCHITECTURE section 3).

Expected problems (``RevIntelError``: bad data, bad flags, bad model files) print one line
``error: <message>`` on stderr and exit 2; Ctrl-C exits 130; anything else prints one line and exits 1,
with the traceback only when ``REVINTEL_DEBUG=1``. Build parsers with ``OneLineArgumentParser`` so that usage
errors are one line too. Use it as ``sys.exit(run_cli(lambda: main(argv)))`` or return it from ``main``;
a script that loads LightGBM ends with ``exit_process(main())`` instead of ``sys.exit``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from core.errors import RevIntelError, UsageError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
DEBUG_ENV = "REVINTEL_DEBUG"


def one_line(message: object) -> str:
    """Collapse a message onto one line (newlines and runs of blanks become single spaces)."""
    return " ".join(str(message).split())


def run_cli(main_fn: Callable[[], int | None]) -> int:
    """Run ``main_fn`` under the shared error policy and return the process exit code (never raises)."""
    try:
        code = main_fn()
    except RevIntelError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as shell tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse --help (0) and usage errors (2) keep their codes
        return _exit_code(exc.code)
    except Exception as exc:  # noqa: BLE001 - the policy's whole point: one line, exit 1
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc(file=sys.stderr)
        detail = one_line(exc) or "no message"
        print(
            f"error: unexpected {type(exc).__name__}: {detail} (set {DEBUG_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    return EXIT_OK if code is None else int(code)


def exit_process(code: int) -> NoReturn:
    """End a command-line process with ``code`` (its ``if __name__ == "__main__"`` block and console script).

    With LightGBM, scikit-learn and SciPy loaded the interpreter's last garbage collections walk millions of
    objects on the way out, 0.3-0.6 s here, for nothing. ``gc.freeze()`` takes every object out of those
    passes; atexit handlers, output flushing and file closing still happen as usual.
    """
    gc.freeze()
    sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _exit_code(code: object) -> int:
    """Map a ``SystemExit.code`` to an integer exit status as the interpreter would."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(one_line(code), file=sys.stderr)
    return EXIT_UNEXPECTED


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise ``UsageError`` (one line on stderr, exit 2 via run_cli)."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage block and exiting."""
        raise UsageError(f"{self.prog}: {message} (see --help)")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """How to read the export (ARCHITECTURE 1 and 3): ``--mapping FILE`` for a CRM other than MavenTech's
    schema, ``--drop-invalid`` to set rows that break the contract aside instead of stopping."""
    parser.add_argument(
        "--mapping",
        type=Path,
        default=None,
        help="column-mapping TOML for other CRMs (default: revintel.toml in --data-dir, if any)",
    )
    parser.add_argument(
        "--drop-invalid",
        action="store_true",
        help="set rows that break the data contract aside (rejected_rows.csv with the reason) and go on",
    )
