"""The result store: one SQLite file per sweep directory (``DIR/results.db``), keyed by point id.

A record is committed the moment its point finishes (WAL journal: a killed process loses no
committed row, and a reader never sees a half-written one). A row holds the point's index in the
spec, its id, status, the record as JSON (floats round-trip exactly, so a record read back equals the
record written), the wall time it took, the run that wrote it, and ``attempts``: how many times a
finished record arrived for that id (1 unless a point ran twice, which ``--resume`` never does).
``results.csv``, ``results.parquet`` and :func:`results` are views of the store in point order.

>>> import tempfile, pathlib
>>> with ResultStore(pathlib.Path(tempfile.mkdtemp()) / "results.db") as store:
...     store.put(0, {"point_id": "a1", "status": "ok", "x": 1.5}, seconds=0.1)
...     store.records(["a1"])
[{'point_id': 'a1', 'status': 'ok', 'x': 1.5}]
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from .lazy import pd

DB_NAME = "results.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    point_id TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    seconds REAL NOT NULL,
    run INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, started_at REAL NOT NULL, resumed INTEGER NOT NULL,
                                 skipped INTEGER NOT NULL, executor TEXT NOT NULL);
"""


class StoreError(ValueError):
    """A store that cannot be read, or resumed as asked (another seed or evaluator)."""


class ResultStore:
    """A sweep's SQLite store; use as a context manager. One writer (the sweep's driver process)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.commit()
        self.run = 0

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def check_meta(self, meta: dict) -> None:
        """Record ``meta`` (seed, evaluator); on resume, refuse a store written with other values."""
        stored = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        for key, value in meta.items():
            text = json.dumps(value)
            if key in stored and stored[key] != text:
                raise StoreError(f"{self.path}: {key}: store was written with {stored[key]}, "
                                 f"this sweep has {text}; use another --out or drop --resume")
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                [(k, json.dumps(v)) for k, v in meta.items()])

    def save_sweep_meta(self, meta: dict) -> None:
        """Keep the sweep's sweep.json content in the store too (a report of a store alone needs it)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('sweep', ?)", (json.dumps(meta, default=str),))

    def start_run(self, resumed: bool, skipped: int, executor: str) -> int:
        with self.db:
            cur = self.db.execute("INSERT INTO runs (started_at, resumed, skipped, executor) VALUES (?, ?, ?, ?)",
                                  (time.time(), int(resumed), skipped, executor))
        self.run = cur.lastrowid
        return self.run

    def put(self, index: int, record: dict, seconds: float) -> None:
        """Commit one finished record (a second record for the same id counts an extra attempt)."""
        with self.db:
            self.db.execute(
                "INSERT INTO points (point_id, idx, status, record, seconds, run, finished_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(point_id) DO UPDATE SET idx=excluded.idx, "
                "status=excluded.status, record=excluded.record, seconds=excluded.seconds, run=excluded.run, "
                "finished_at=excluded.finished_at, attempts=attempts+1",
                (record["point_id"], index, record["status"], json.dumps(record, default=_jsonable), seconds, self.run, time.time()))

    def finished_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT point_id FROM points")}

    def records(self, point_ids: list[str] | None = None) -> list[dict]:
        """Records for ``point_ids`` in that order (missing ids skipped), or all in index order."""
        if point_ids is None:
            return [json.loads(r) for (r,) in self.db.execute("SELECT record FROM points ORDER BY idx, point_id")]
        by_id = dict(self.db.execute("SELECT point_id, record FROM points").fetchall())
        return [json.loads(by_id[p]) for p in point_ids if p in by_id]

    def rows(self) -> pd.DataFrame:
        """Bookkeeping per stored point: id, idx, status, seconds, run, attempts."""
        return pd.read_sql_query("SELECT point_id, idx, status, seconds, run, attempts FROM points ORDER BY idx",
                                 self.db)


def _jsonable(value):
    """numpy scalars become Python numbers (exactly); anything else its string."""
    return value.item() if hasattr(value, "item") else str(value)


def records_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records)


def _read_only(path: Path):
    """Open a store for reading without creating or changing anything; ``StoreError`` if it is not one."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        db.execute("SELECT count(*) FROM points").fetchone()
    except sqlite3.Error as err:
        raise StoreError(f"{path}: not a readable results store ({err})") from None
    return db


def read_store(path: Path) -> list[dict]:
    """All records of the store at ``path``, in point order."""
    db = _read_only(path)
    try:
        return [json.loads(r) for (r,) in db.execute("SELECT record FROM points ORDER BY idx, point_id")]
    except (sqlite3.Error, ValueError) as err:
        raise StoreError(f"{path}: not a readable results store ({err})") from None
    finally:
        db.close()


def read_store_meta(path: Path) -> dict:
    """The sweep meta kept in the store (empty if it has none)."""
    db = _read_only(path)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'sweep'").fetchone()
        meta = json.loads(row[0]) if row else {}
    except (sqlite3.Error, ValueError):
        return {}
    finally:
        db.close()
    return meta if isinstance(meta, dict) else {}


def read_results_csv(path: Path) -> pd.DataFrame:
    """``results.csv`` as a DataFrame; ``StoreError`` naming the file if it cannot be parsed."""
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise StoreError(f"{path}: not a readable results table ({text})") from None


def results(out_dir: str | Path) -> pd.DataFrame:
    """All records of a sweep directory as a pandas DataFrame, in point order.

    Reads ``DIR/results.db`` when present (including a sweep still running or killed), else
    ``DIR/results.csv``.
    """
    out_dir = Path(out_dir)
    if (out_dir / DB_NAME).exists():
        return records_frame(read_store(out_dir / DB_NAME))
    path = out_dir / "results.csv"
    if not path.exists():
        raise FileNotFoundError(f"{out_dir}: no results.db or results.csv")
    return read_results_csv(path)


def export(out_dir: str | Path, fmt: str, to: str | Path | None = None) -> Path:
    """Write the sweep's records as ``csv`` or ``parquet``; return the file written."""
    out_dir = Path(out_dir)
    frame = results(out_dir)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"--format: expected csv or parquet, got {fmt!r}")
    target = Path(to) if to else out_dir / f"results.{fmt}"
    try:
        frame.to_csv(target, index=False) if fmt == "csv" else frame.to_parquet(target, index=False)
    except OSError as err:
        raise OSError(f"{target}: --to: cannot write ({err.strerror or err})") from None
    except (ValueError, TypeError) as err:   # pyarrow: a column it cannot type
        raise ValueError(f"{target}: cannot write {fmt} ({str(err).splitlines()[0]})") from None
    return target
