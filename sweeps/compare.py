"""``archsim compare``: one workload on several machine families, side by side.

Each arch runs the workload with the mapper its family offers for it (``MAPPER_FOR``), so an
attention shape or a GEMM is costed on a spatial array, a GPU and (where a mapper exists) a PIUMA
core by the same record builder. Arches without a mapper for the workload get a row saying so.
Writes a table (stdout, and ``OUT/compare.csv``) and a bar chart of latency, energy and the
busiest unit's utilisation (``OUT/compare.png``) when ``--out`` is given.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

import archsim
import workloads
from archsim.families import get_family
from archsim.record import result_metrics
from mappings import lower, map_cascade

# workload -> family -> (mapper, extra options from the shape)
MAPPER_FOR = {
    "gemm": {"spatial": "fusemax_gemm", "gpu": "gpu_gemm"},
    "copy": {"gpu": "gpu_copy"},
    "attention_1pass": {"spatial": "fusemax_binding", "gpu": "gpu_attention_fused"},
    "attention_3pass": {"spatial": "fusemax_unfused", "gpu": "gpu_attention_unfused"},
}
OPTIONS = {"fusemax_binding": ("instances",), "fusemax_unfused": ("instances",),
           "gpu_attention_fused": ("instances",), "gpu_attention_unfused": ("instances",)}


def compare(workload: str, arches: list[str], shape: dict, options: dict) -> pd.DataFrame:
    """One row per arch: arch, family, mapper, status and the record columns of the run."""
    if workload not in MAPPER_FOR:
        raise ValueError(f"workload: compare knows {', '.join(MAPPER_FOR)}, not {workload!r}")
    cascade = workloads.build(workload, **shape)
    rows = []
    for name in arches:
        arch = archsim.load_arch(name)
        mapper = MAPPER_FOR[workload].get(arch.family)
        row = {"arch": name, "family": arch.family, "mapper": mapper or ""}
        if mapper is None:
            rows.append({**row, "status": f"no {arch.family} mapper for {workload}"})
            continue
        opts = {k: v for k, v in options.items() if k in OPTIONS.get(mapper, ())}
        mapping = map_cascade(mapper, cascade, arch, **opts)
        program = lower(cascade, mapping, arch)
        result = get_family(arch.family).simulate(program, arch, 0)
        record = result_metrics(result, arch, archsim.energy(result, arch))
        utils = {k: v for k, v in record.items() if k.startswith("util_")}
        top = max(utils, key=utils.get) if utils else ""
        rows.append({**row, "status": "ok", "latency_s": record["latency_s"],
                     "energy_pj": record["energy_pj"], "dram_bytes": record["dram_bytes"],
                     "busiest_unit": top[5:], "util": utils.get(top, 0.0),
                     **mapping.describe()})
    return pd.DataFrame(rows)


def plot(frame: pd.DataFrame, path: Path, title: str) -> None:
    from .lazy import plt
    from .plots import save

    ok = frame[frame["status"] == "ok"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, (col, label) in zip(axes, (("latency_s", "latency (s)"), ("energy_pj", "energy (pJ)"),
                                       ("util", "utilisation of the busiest unit"))):
        ax.bar(ok["arch"], ok[col])
        ax.set_ylabel(label)
        ax.set_xlabel("preset")
        if col != "util":
            ax.set_yscale("log")
    fig.suptitle(title)
    save(fig, path, dpi=100)
