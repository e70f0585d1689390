"""Write a seeded synthetic CRM export (our generator, ``core.data.synthetic``) with its truth.csv.

python -m models.generate --deals 15000 --seed 7 --out-dir dataset
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.synthetic import DEFAULT_EXPORT_DATE, SyntheticCRM, generate_crm
from core.errors import UsageError
from models.cli_support import OneLineArgumentParser, exit_process, run_cli
from models.storage import write_atomically


def write_crm(crm: SyntheticCRM, out_dir: Path) -> list[Path]:
    """Write the four CRM files and truth.csv into ``out_dir`` (atomically, ``models.storage``)."""
    frames = {
        "sales_pipeline.csv": crm.sales_pipeline,
        "accounts.csv": crm.accounts,
        "products.csv": crm.products,
        "sales_teams.csv": crm.sales_teams,
        "truth.csv": crm.truth,
    }
    files = {
        name: frame.to_csv(index=False, lineterminator="\n").encode("utf-8") for name, frame in frames.items()
    }
    return write_atomically(Path(out_dir), files)


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
    paths = write_crm(crm, args.out_dir)
    print(f"wrote {len(crm.sales_pipeline):,} deals to {args.out_dir} ({', '.join(p.name for p in paths)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m models.generate --deals N --seed S --out-dir DIR`` (exit 2 on bad flags)."""
    return run_cli(lambda: _generate(argv))


if __name__ == "__main__":
    exit_process(main())
