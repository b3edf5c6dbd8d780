"""The report's data folder: every table as CSV exactly as published, and the numbers and PNG of every plot.

The folder sits beside the HTML page (``report_data/`` for ``report.html``) and is emptied of the previous
run's tables and plots first, so a table or plot that a new run leaves out does not linger. A README says
which files are suppressed and which are for the research team only.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotation.report.model import Section


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_data(data_dir: Path, sections: Sequence[Section], publication: bool = False) -> list[Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in [*data_dir.glob("table*.csv"), *data_dir.glob("fig*.csv"), *data_dir.glob("fig*.png")]:
        old.unlink()
    files = []
    for s in sections:
        for t in s.tables:
            p = data_dir / f"{t.key}.csv"
            _write_csv(p, t.header, t.rows)
            files.append(p)
        for fig in s.figures:
            p = data_dir / f"{fig.key}.csv"
            _write_csv(p, fig.csv_header, fig.csv_rows)
            png = data_dir / f"{fig.key}.png"
            png.write_bytes(fig.png)
            files += [p, png]
    readme = data_dir / "README.txt"
    readme.write_text(
        "Publication version: small cells suppressed, no plots.\n"
        "table*.csv: the report's tables as published (counts of 1 to 4 referrals suppressed).\n"
        if publication
        else "Research team version: contains unsuppressed plots and statistics, NOT for publication.\n"
        "table*.csv: the report's tables (counts of 1 to 4 referrals suppressed; the tests, 'not recorded' and\n"
        "  the coded video's tables are not).\n"
        "fig*.csv: the numbers behind each plot, NOT suppressed: for the research team only.\n"
        "fig*.png: the plots.\n",
        encoding="utf-8",
    )
    return files
