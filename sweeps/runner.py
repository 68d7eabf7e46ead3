"""Run points and keep their records.

A point is evaluated by the sweep's evaluator (``sweeps.evaluators``). A point that fails records ``status=error`` and the one-line message, and the sweep carries on.
Records are written to ``results.csv`` after every finished point, so stopping a sweep loses no
finished point. Points run in a process pool when ``jobs > 1``; records come back in point order,
so the same spec and seed give identical files whatever the job count.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

import archsim

from .evaluators import get_evaluator
from .params import point_id

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


def run_point(params: dict, seed: int = 0, evaluator: str = "einsum") -> dict:
    """A full record for one point; failures become ``status=error`` with the message."""
    head = {"schema_version": SCHEMA_VERSION, "point_id": point_id(params), **params}
    try:
        metrics = get_evaluator(evaluator).evaluate(params, seed)
    except (ValueError, KeyError, archsim.ProgramError) as err:
        return {**head, "status": "error", "error": _one_line(err)}
    return {**head, "status": "ok", "error": "", **metrics}


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def run_sweep(points: list[dict], out_dir: Path, seed: int = 0, jobs: int = 1, progress=None,
              evaluator: str = "einsum") -> pd.DataFrame:
    """Run ``points``, writing ``out_dir/results.csv`` after each; return the results in point order.

    ``progress(done, total, record, seconds)`` is called after each point (the CLI prints it).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    records: dict[int, dict] = {}
    start = time.perf_counter()

    def finished(index: int, record: dict) -> None:
        records[index] = record
        write_results(records, out_dir)
        if progress:
            progress(len(records), len(points), record, time.perf_counter() - start)

    if jobs <= 1:
        for index, params in enumerate(points):
            finished(index, run_point(params, seed, evaluator))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_point, params, seed, evaluator): i for i, params in enumerate(points)}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    return results_frame(records)


def results_frame(records: dict[int, dict]) -> pd.DataFrame:
    return pd.DataFrame([records[i] for i in sorted(records)])


def write_results(records: dict[int, dict], out_dir: Path) -> None:
    """Atomically rewrite ``results.csv`` with the finished records in point order."""
    path = out_dir / "results.csv"
    tmp = path.with_suffix(".csv.tmp")
    results_frame(records).to_csv(tmp, index=False)
    tmp.replace(path)


def write_meta(out_dir: Path, meta: dict) -> None:
    """Sidecar with the spec's name, axes and seed, which the report reads back."""
    (out_dir / "sweep.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
