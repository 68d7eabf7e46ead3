"""Run points: one point is build -> load -> map -> lower -> simulate -> cost -> flat record.

A point that fails records ``status=error`` and the one-line message, and the sweep carries on.
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
import workloads
from mappings import get_mapper, lower

from .params import point_id, split_params

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


def evaluate_point(params: dict, seed: int = 0) -> dict:
    """Cost one point with the event simulation; raise on any bad input (see ``run_point``)."""
    p = split_params(params)
    cascade = workloads.build(p.workload, **p.shape)
    arch = archsim.load_arch(p.arch, p.arch_overrides)
    mapping = get_mapper(p.mapping).map(cascade, arch, **p.map_options)
    program = lower(cascade, mapping, arch)
    result = archsim.simulate(program, arch, seed=seed)
    bound = archsim.bound(program, arch)
    energy = archsim.energy(result, arch)
    dram = mapping.backing_level
    record = {
        "cycles": result.cycles,
        "latency_s": result.cycles / arch.clock_hz,
        "energy_pj": energy.total_pj,
        "dram_bytes": sum(op.reads.get(dram, 0) + op.writes.get(dram, 0) for op in program.ops),
        "bound_cycles": bound.cycles,
        "fidelity": "event",
        "tiles": _pairs(mapping.tiles),
        "loop_order": ",".join(mapping.loop_order),
        "spatial": ";".join(f"{u}={','.join(r)}" for u, r in sorted(mapping.spatial.items())),
        "events": result.events,
        "ops": result.ops,
    }
    for unit in sorted(arch.units):
        capacity = result.cycles * arch.units[unit].count
        record[f"util_{unit}"] = result.busy_cycles.get(unit, 0) / capacity if capacity else 0.0
    for level in sorted(arch.levels):
        record[f"peak_{level}_bytes"] = result.peak_bytes.get(level, 0)
    for component, pj in sorted(energy.by_component.items()):
        record[f"energy_{component}_pj"] = pj
    record["placeholders"] = ";".join(getattr(arch, "placeholders", ()))
    return record


def _pairs(mapping) -> str:
    return ",".join(f"{k}={v}" for k, v in mapping.items())


def run_point(params: dict, seed: int = 0) -> dict:
    """A full record for one point; failures become ``status=error`` with the message."""
    head = {"schema_version": SCHEMA_VERSION, "point_id": point_id(params), **params}
    try:
        metrics = evaluate_point(params, seed)
    except (ValueError, KeyError, archsim.ProgramError) as err:
        return {**head, "status": "error", "error": _one_line(err)}
    return {**head, "status": "ok", "error": "", **metrics}


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def run_sweep(points: list[dict], out_dir: Path, seed: int = 0, jobs: int = 1, progress=None) -> pd.DataFrame:
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
            finished(index, run_point(params, seed))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_point, params, seed): i for i, params in enumerate(points)}
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
