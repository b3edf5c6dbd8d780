"""What encryption at rest and backups cost: a plain SQLite store against a SQLCipher one, side by side.

Run by hand::

    .venv/bin/python bench/crypto_bench.py [--annotations N] [--runs 3] [--seed 1]

It generates the 100,000-annotation document of ``bench/store_bench.py`` (same generator, same seed) and,
for each kind of store, each run in a fresh subprocess and a fresh folder, the two kinds interleaved:

- create: ``open_store`` of a new file (schema migrations; for SQLCipher the key derivation too);
- import: ``services.import_file`` of the document (read + insert in one transaction);
- open: ``open_store`` of the filled store in a new process (key derivation, ``PRAGMA quick_check`` of
  every page, schema revision), and the quick check alone;
- load: ``services.get_document`` of the stored document (every row read back);
- backup: ``backup.make_backup`` (online backup in one step, ``integrity_check`` of the copy, fsync,
  SHA-256), with the backup's size;
- check: ``backup.check_backup`` (SHA-256 + integrity check), what ``restore`` does before replacing.

The table shows the median (min-max) of each and the ratio encrypted/plain.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASS = "bench passphrase, long enough"


def one_run(src: str, folder: str, encrypted: bool) -> dict[str, float]:
    from annotation.services import import_file
    from annotation.store.engine import open_store, sqlite_url

    key = PASS if encrypted else None
    db = sqlite_url(Path(folder) / "store.sqlite")
    t0 = time.perf_counter()
    store = open_store(db, passphrase=key)
    t1 = time.perf_counter()
    did = import_file(store, src).doc_id
    t2 = time.perf_counter()
    store.close()
    return {"create": t1 - t0, "import": t2 - t1, **_reopen(db, key, did)}


def _reopen(db: str, key: str | None, did: int) -> dict[str, float]:
    from annotation.backup.checks import check_backup
    from annotation.backup.rolling import make_backup
    from annotation.services import get_document
    from annotation.store.engine import open_store

    t0 = time.perf_counter()
    store = open_store(db, passphrase=key)
    t1 = time.perf_counter()
    with store.engine.connect() as conn:
        t2 = time.perf_counter()
        conn.exec_driver_sql("PRAGMA quick_check").fetchall()
        t3 = time.perf_counter()
    doc = get_document(store, did)
    t4 = time.perf_counter()
    assert doc.annotation_count() > 0
    info = make_backup(store, keep=3)
    t5 = time.perf_counter()
    check_backup(info.path, passphrase=key)
    t6 = time.perf_counter()
    size = store.path.stat().st_size if store.path else 0
    store.close()
    return {
        "open": t1 - t0,
        "quick_check": t3 - t2,
        "load": t4 - t3,
        "backup": t5 - t4,
        "check": t6 - t5,
        "store_mb": size / 1e6,
        "backup_mb": info.size / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from bench.store_bench import prepare

    with tempfile.TemporaryDirectory() as tmp:
        src = str(Path(tmp) / "bench.eaf")
        prepare(src, args.annotations, args.seed)
        results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        ctx = get_context("spawn")
        for r in range(args.runs):
            for enc in (False, True):
                folder = Path(tmp) / f"run{r}-{'enc' if enc else 'plain'}"
                folder.mkdir()
                with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                    results[enc].append(pool.submit(one_run, src, str(folder), enc).result())
    rows = ["create", "import", "open", "quick_check", "load", "backup", "check", "store_mb", "backup_mb"]
    print(f"{args.annotations:,} annotations, {args.runs} runs each, median (min-max)")
    print(f"{'':14} {'plain SQLite':>22} {'SQLCipher':>22} {'ratio':>7}")
    for row in rows:
        a = [x[row] for x in results[False]]
        b = [x[row] for x in results[True]]
        unit = " MB" if row.endswith("_mb") else " s"
        fa = f"{statistics.median(a):.3f} ({min(a):.2f}-{max(a):.2f})"
        fb = f"{statistics.median(b):.3f} ({min(b):.2f}-{max(b):.2f})"
        ratio = statistics.median(b) / statistics.median(a) if statistics.median(a) else float("nan")
        print(f"{row + unit:14} {fa:>22} {fb:>22} {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
