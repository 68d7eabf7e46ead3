"""Run points and keep their records.

A point is evaluated by the sweep's evaluator (``sweeps.evaluators``) on an executor
(``sweeps.executors``: inline, process pool, Dask). A point that fails records ``status=error`` and
the one-line message, and the sweep carries on. Each record is committed to the SQLite store
(``sweeps.store``, ``DIR/results.db``) the moment its point finishes, so killing a sweep at any
moment loses no finished point; ``resume=True`` skips the points the store already has.
``results.csv`` is written from the store at the end, in point order, so the same spec and seed give
byte-identical files whatever the executor, the job count, or how many times the sweep was resumed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import outdir
from .executors import Pool, execute
from .params import point_id
from .point import SCHEMA_VERSION, run_point
from .store import DB_NAME, ResultStore

log = logging.getLogger(__name__)
__all__ = ["SCHEMA_VERSION", "run_point", "run_sweep", "Sweep", "write_meta", "write_results", "provenance"]


class Sweep:
    """A store plus an executor: ``run(tasks)`` evaluates the unfinished ``(index, params)`` tasks."""

    def __init__(self, out_dir: Path, seed: int = 0, evaluator: str = "einsum", jobs: int = 1,
                 executor: str = "process", scheduler: str | None = None, resume: bool = False, progress=None,
                 spec_sha256: str | None = None, force: bool = False):
        self.out_dir = Path(out_dir)
        self.seed, self.evaluator, self.jobs = seed, evaluator, jobs
        self.executor, self.scheduler, self.resume, self.progress = executor, scheduler, resume, progress
        self.skipped = 0
        self.ran = 0
        self._started = False
        self.pool = Pool(executor, jobs, scheduler)
        self.lock = self.store = None
        try:
            self.pool.connect()     # an unreachable scheduler fails here, before DIR is touched
            self.lock = outdir.lock(self.out_dir)
            outdir.prepare(self.out_dir, spec_sha256, resume, force)
            self.store = ResultStore(self.out_dir / DB_NAME)
            meta = {"seed": seed, "evaluator": evaluator, "schema_version": SCHEMA_VERSION}
            self.store.check_meta({**meta, "spec_sha256": spec_sha256} if spec_sha256 else meta)
        except BaseException:
            if self.store is not None:
                self.store.close()
            self._release()
            raise

    def _release(self) -> None:
        self.pool.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def close(self) -> None:
        self.store.close()
        self._release()

    def stored_count(self) -> int:
        return len(self.store.finished_ids())

    def abort(self) -> None:
        """Stop now (Ctrl-C, SIGTERM): kill the workers; every committed record stays in the store."""
        self.pool.terminate()
        self.close()

    def pending(self, tasks: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
        """Tasks whose point the store does not have yet (first occurrence of each id only)."""
        finished = self.store.finished_ids()
        seen, todo = set(), []
        for index, params in tasks:
            pid = point_id(params)
            if pid in seen:
                continue
            seen.add(pid)
            if pid in finished:
                self.skipped += 1
            else:
                todo.append((index, params))
        return todo

    def run(self, tasks: list[tuple[int, dict]], total: int | None = None) -> None:
        todo = self.pending(tasks)
        if not self._started:
            self.store.start_run(self.resume, self.skipped, self.executor if self.jobs > 1 or
                                 self.executor == "dask" else "inline")
            self._started = True
        total = len(tasks) if total is None else total
        for index, record, seconds in execute(todo, self.seed, self.evaluator, self.executor, self.jobs,
                                              self.scheduler, self.pool):
            self.store.put(index, record, seconds)
            self.ran += 1
            if self.progress:
                self.progress(self.skipped + self.ran, total, record, seconds)

    def records(self, params_list: list[dict]) -> list[dict]:
        ids = list(dict.fromkeys(point_id(p) for p in params_list))
        return self.store.records(ids)


def run_sweep(points: list[dict], out_dir: Path, seed: int = 0, jobs: int = 1, progress=None,
              evaluator: str = "einsum", executor: str = "process", scheduler: str | None = None,
              resume: bool = False, spec_sha256: str | None = None, force: bool = False) -> pd.DataFrame:
    """Run ``points``, storing each record as it finishes; write ``out_dir/results.csv`` and return
    the results in point order.

    ``progress(done, total, record, seconds)`` is called after each point (the CLI's progress bar).
    With ``resume=True`` the points already in ``out_dir/results.db`` are not run again. The
    directory is locked for the sweep; ``spec_sha256`` names the sweep, and a directory holding
    another sweep is refused unless ``force`` (``sweeps.outdir``).
    """
    sweep = Sweep(out_dir, seed, evaluator, jobs, executor, scheduler, resume, progress, spec_sha256, force)
    try:
        sweep.run(list(enumerate(points)))
        records = sweep.records(points)
        write_results(records, Path(out_dir))
    except BaseException:
        sweep.abort()
        raise
    sweep.close()
    return pd.DataFrame(records)


def write_results(records: list[dict] | dict[int, dict], out_dir: Path) -> None:
    """Atomically write ``results.csv`` with ``records`` (a list in point order, or index -> record)."""
    if isinstance(records, dict):
        records = [records[i] for i in sorted(records)]
    path = out_dir / "results.csv"
    tmp = path.with_suffix(".csv.tmp")
    pd.DataFrame(records).to_csv(tmp, index=False)
    tmp.replace(path)


def write_meta(out_dir: Path, meta: dict) -> None:
    """Sidecar with the spec's name, axes, seed and provenance, which the report reads back."""
    (out_dir / "sweep.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))


def _git_revision() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    if not rev:
        return "unknown (not a git checkout)"
    return rev + (" (with uncommitted changes)" if dirty else "")


def provenance(points: list[dict], seeds: dict) -> dict:
    """What produced a sweep: versions, git revision, seeds, and per preset used its file, content
    hash and every energy entry whose source is a placeholder or an assumption (with that source)."""
    import archsim

    try:
        version = metadata.version("archsim")
    except metadata.PackageNotFoundError:
        version = "unknown"
    presets = {}
    for name in sorted({str(p["arch"]) for p in points if "arch" in p}):
        try:
            arch = archsim.load_arch(name)
        except Exception as err:  # noqa: BLE001 - provenance must not stop a sweep; the point will fail
            presets[name] = {"error": str(err).splitlines()[0]}
            continue
        path = Path(arch.path) if arch.path else None
        entries = {}
        for key, source in sorted(arch.sources.items()):
            kind = source.strip().lower().split(":")[0]
            if key.startswith("energy_pj.") and kind in ("placeholder", "assumption"):
                entries[key] = source
        presets[name] = {"path": str(path) if path else "", "family": arch.family,
                         "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path and path.exists()
                         else "", "energy_entries": entries}
    return {"archsim_version": version, "git_revision": _git_revision(), "python": platform.python_version(),
            "schema_version": SCHEMA_VERSION, "seeds": seeds, "presets": presets}
