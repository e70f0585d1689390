"""Write a seeded synthetic CRM export (our generator, ``core.data.synthetic``) with its truth.csv, in our
schema or as a Salesforce report, a Salesforce Data Export or a HubSpot deals export
(``core.data.export_formats``: each read by its shipped mapping in dataset/mappings/ unchanged), and with
``--history`` the deals' field history as each CRM keeps it (``core.data.synthetic_history``).

python -m models.generate --deals 15000 --seed 7 --out-dir dataset
python -m models.generate --deals 2000 --format hubspot --out-dir exports/hubspot
python -m models.generate --deals 2000 --history --format salesforce-data-export --out-dir exports/sf
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.export_formats import FORMATS, render_export
from core.data.synthetic import DEFAULT_EXPORT_DATE, SyntheticCRM, generate_crm
from core.data.synthetic_history import with_history
from core.errors import UsageError
from models.cli_support import OneLineArgumentParser, exit_process, run_cli
from models.storage import write_atomically


def write_crm(crm: SyntheticCRM, out_dir: Path, fmt: str = "ours") -> list[Path]:
    """Write the CRM's files in the format ``fmt`` (ours: the four CRM files, and deal_history.csv with a
    history) and truth.csv into ``out_dir`` (atomically, ``models.storage``)."""
    return write_atomically(Path(out_dir), render_export(crm, fmt))


def _generate(argv: list[str] | None) -> int:
    """Parse flags, generate and write the export; bad flags raise UsageError."""
    parser = OneLineArgumentParser(
        prog="python -m models.generate",
        description="Generate a seeded synthetic CRM export (MavenTech schema) plus truth.csv.",
    )
    parser.add_argument("--deals", type=int, default=15_000, help="number of deals (default 15000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        required=True,
        help="output folder (required: no default, so the bundled dataset/ is never overwritten by accident)",
    )
    parser.add_argument(
        "--export-date", default=DEFAULT_EXPORT_DATE, help="date the export is taken (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="ours",
        help="the files as this CRM exports them, read by its mapping in dataset/mappings/ (default ours)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="also write the deals' field history as the format keeps it (ours: deal_history.csv)",
    )
    args = parser.parse_args(argv)
    if args.deals < 1:
        raise UsageError(f"--deals must be at least 1 (got {args.deals})")
    try:
        export = pd.Timestamp(args.export_date)
    except ValueError:
        export = pd.NaT
    if pd.isna(export):
        raise UsageError(f"--export-date '{args.export_date}' is not a date (use YYYY-MM-DD)")
    crm = generate_crm(args.deals, args.seed, export.strftime("%Y-%m-%d"))
    if args.history:
        crm = with_history(crm, args.seed)
    paths = write_crm(crm, args.out_dir, args.format)
    shape = "" if args.format == "ours" else f" as {args.format}"
    names = ", ".join(p.name for p in paths)
    print(f"wrote {len(crm.sales_pipeline):,} deals to {args.out_dir}{shape} ({names})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m models.generate --deals N --seed S --out-dir DIR [--format F] [--history]`` (2 on bad
    flags)."""
    return run_cli(lambda: _generate(argv))


if __name__ == "__main__":
    exit_process(main())
