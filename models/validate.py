"""Validate a CRM export: ``python -m models.validate --data-dir DIR [--as-of D] [--mapping FILE]``.

Prints the data-quality report as a table and exits 0; a contract violation prints one line
``error: <file, column, row: problem>`` on stderr and exits 2 (the shared policy of ``models.cli_support``).
"""

from __future__ import annotations

from pathlib import Path

from core.data import CRMData, load_crm
from core.data.asof import parse_as_of
from core.data.mapping import mapping_for
from core.settings import SETTINGS
from models.cli_support import OneLineArgumentParser, add_export_arguments, exit_process, run_cli

REPORT_COLUMNS = ("code", "file", "column", "count", "action")


def format_report(crm: CRMData, mapping_name: str) -> str:
    """The quality report of ``crm`` as a headline plus a left-aligned table (deterministic text)."""
    quality = crm.quality
    headline = (
        f"{crm.data_dir} ({mapping_name} schema) as of {quality.as_of}: "
        f"{quality.n_deals:,} deals, {quality.n_open:,} open, amounts in {crm.currency}; "
        f"data hash {crm.data_hash[:12]}"
    )
    if not quality.items:
        return headline + "\nno data-quality issues found"
    rows = [list(REPORT_COLUMNS)] + [
        [item.code, item.file, item.column, f"{item.count:,}", item.action] for item in quality.items
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(REPORT_COLUMNS))]
    lines = [
        "  ".join(
            cell.rjust(w) if i == 3 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join([headline, *lines])


def _validate(argv: list[str] | None) -> int:
    """Parse flags, load the export (raising RevIntelError on bad input) and print the report."""
    parser = OneLineArgumentParser(
        prog="python -m models.validate",
        description="Validate a CRM export against the data contract and print its data-quality report.",
    )
    parser.add_argument("--data-dir", type=Path, default=SETTINGS.data_dir, help="folder of the CSV export")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: the latest date in the data)")
    add_export_arguments(parser)
    args = parser.parse_args(argv)
    as_of = parse_as_of(args.as_of) if args.as_of is not None else None
    mapping = mapping_for(args.data_dir, args.mapping)
    crm = load_crm(args.data_dir, as_of=as_of, mapping=mapping, drop_invalid=args.drop_invalid)
    print(format_report(crm, mapping.name))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: validate and report, under the shared exit-code policy (0 ok, 2 bad input, 1 bug)."""
    return run_cli(lambda: _validate(argv))


if __name__ == "__main__":
    exit_process(main())
