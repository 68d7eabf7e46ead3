"""The ``einsum`` evaluator's own report section: what fusion buys.

When a sweep runs the same points with both the ``unfused`` and the ``fused`` mapper, a table gives,
per point of the other parameters, unfused / fused for DRAM traffic, latency and energy (above 1:
fusion helps), and the geometric mean of each ratio.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .lazy import pd
RATIOS = (("dram_bytes", "DRAM traffic"), ("latency_s", "latency"), ("energy_pj", "energy"))


def fusion_section(ok: pd.DataFrame, meta: dict, out_dir: Path) -> list[str]:
    from .report import markdown_table

    if "mapping" not in ok.columns or not {"unfused", "fused"} <= set(ok["mapping"]):
        return []
    keys = [a for a in meta.get("axes", []) if a in ok.columns and a != "mapping"]
    metrics = [m for m, _ in RATIOS if m in ok.columns]
    both = ok[ok["mapping"].isin(["unfused", "fused"])].assign(point="all")
    table = both.pivot_table(index=keys or ["point"], columns="mapping", values=metrics, aggfunc="first")
    out = pd.DataFrame(index=table.index)
    for metric, name in RATIOS:
        if metric in metrics:
            out[f"{name} unfused/fused"] = table[(metric, "unfused")] / table[(metric, "fused")]
    out = out.dropna()
    if out.empty:
        return []
    means = ", ".join(f"{c.split(' ')[0]} {np.exp(np.log(out[c]).mean()):.2f}x" for c in out.columns)
    return ["## Fusion: unfused / fused", "",
            f"Each row: the same point run by the `unfused` mapper (every Einsum its own kernel, "
            f"intermediates through DRAM) over the `fused` one (one tiled group); above 1, fusion "
            f"helps. Geometric means: {means}.", "", markdown_table(out.reset_index()), ""]
