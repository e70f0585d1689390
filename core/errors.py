"""Expected-error types: each carries a one-line message naming file, column and row."""

from __future__ import annotations


class RevIntelError(Exception):
    """Base class for expected errors: CLIs print the message on one line and exit 2."""


class DataContractError(RevIntelError, ValueError):
    """A CRM export violates the data contract (bad file, column, value or row)."""

    def __init__(self, file: str, problem: str, column: str | None = None, row: int | None = None):
        self.file = file
        self.column = column
        self.row = row
        self.problem = problem
        where = file
        if column is not None:
            where += f", column '{column}'"
        if row is not None:
            where += f", row {row}"
        super().__init__(f"{where}: {problem}")


class RowsBreakContract(DataContractError):
    """Rows of one file that break one rule of the contract: the message names the first, ``rows`` holds
    every one (their index in the file's frame) and ``reasons`` each row's own problem, so that a load with
    ``drop_invalid`` can set them all aside at once."""

    def __init__(self, file: str, problem: str, column: str, row: int, rows: object, reasons: object):
        super().__init__(file, problem, column=column, row=row)
        self.rows = rows
        self.reasons = reasons


class ModelArtifactError(RevIntelError):
    """A model directory holds a corrupt, incomplete or incompatible model."""


class UsageError(RevIntelError):
    """A command-line argument is malformed (for example an unparsable --as-of date)."""
