"""Reports: results.csv (+ sweep.json) -> report.md with tables and PNG plots.

The report is rebuilt from the stored results alone (``archsim report DIR``), never from live
objects, so a report always describes exactly the records on disk. Plots use the first numeric axis
as x and draw one line per combination of the other axes.
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .evaluators import get_evaluator  # noqa: E402

PLOT_METRICS = (("latency_s", "latency (s)"), ("energy_pj", "energy (pJ)"), ("dram_bytes", "DRAM traffic (bytes)"))


class ReportError(ValueError):
    """The directory holds no readable results."""


def load_results(out_dir: Path) -> tuple[pd.DataFrame, dict]:
    path = out_dir / "results.csv"
    if not path.exists():
        raise ReportError(f"{path}: no results (run `archsim sweep SPEC --out {out_dir}` first)")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    meta_path = out_dir / "sweep.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return frame, meta


def _axes(frame: pd.DataFrame, meta: dict) -> list[str]:
    if meta.get("axes"):
        return [a for a in meta["axes"] if a in frame.columns]
    metric_like = {"schema_version", "point_id", "status", "error"}
    return [c for c in frame.columns[: frame.columns.get_loc("status")]
            if c not in metric_like and frame[c].nunique() > 1]


def build_report(out_dir: Path) -> Path:
    """Write ``out_dir/report.md`` and ``out_dir/plots/*.png``; return the report path."""
    frame, meta = load_results(out_dir)
    axes = _axes(frame, meta)
    ok = frame[frame["status"] == "ok"].copy()
    plots = _plots(ok, axes, out_dir) if len(ok) else []
    title = meta.get("name", out_dir.name)
    lines = [f"# {title}", ""]
    if meta.get("description"):
        lines += [meta["description"], ""]
    failed = frame[frame["status"] != "ok"]
    lines += [f"{len(frame)} points: {len(ok)} ok, {len(failed)} failed. Seed {meta.get('seed', 0)}. "
              f"Axes: {', '.join(axes) or 'none'}. Fidelity: "
              f"{', '.join(sorted(ok['fidelity'].unique())) if len(ok) else 'n/a'} "
              "(event = discrete-event simulation; bound_cycles is the closed-form lower bound).", ""]
    for name, caption in plots:
        lines += [f"![{caption}](plots/{name})", ""]
    util = [c for c in frame.columns if c.startswith("util_")]
    columns = axes + ["cycles", "bound_cycles", "latency_s", "energy_pj", "dram_bytes"] + util
    if len(ok):
        lines += ["## Results", "", _markdown_table(ok[[c for c in columns if c in ok.columns]]), ""]
    if len(failed):
        lines += ["## Failed points", "", _markdown_table(failed[axes + ["error"]]), ""]
    evaluator = get_evaluator(meta.get("evaluator", "einsum"))
    if evaluator.report_sections and len(ok):
        lines += evaluator.report_sections(ok, meta, out_dir)
    placeholders = sorted({p for cell in ok.get("placeholders", pd.Series(dtype=str)).dropna()
                           for p in str(cell).split(";") if p})
    if placeholders:
        lines += ["## Placeholder numbers used", "",
                  "These energy or latency entries have no published source yet; results that "
                  "depend on them are indicative only:", ""]
        lines += [f"- `{p}`" for p in placeholders] + [""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    return report


def _plots(ok: pd.DataFrame, axes: list[str], out_dir: Path) -> list[tuple[str, str]]:
    numeric = [a for a in axes if pd.api.types.is_numeric_dtype(ok[a])]
    if not numeric:
        return []
    x = numeric[0]
    series = [a for a in axes if a != x]
    (out_dir / "plots").mkdir(exist_ok=True)
    fig, panels = plt.subplots(1, len(PLOT_METRICS), figsize=(5 * len(PLOT_METRICS), 4))
    groups = ok.groupby(series, sort=True) if series else [((), ok)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{a}={v}" for a, v in zip(series, key)) or "all"
        group = group.sort_values(x)
        for panel, (metric, _) in zip(panels, PLOT_METRICS):
            panel.plot(group[x], group[metric], marker="o", label=label)
    for panel, (_, ylabel) in zip(panels, PLOT_METRICS):
        panel.set_xlabel(x)
        panel.set_ylabel(ylabel)
        panel.set_xscale("log", base=2)
        panel.set_yscale("log")
        panel.grid(True, which="both", alpha=0.3)
    panels[0].legend(fontsize=8)
    fig.tight_layout()
    name = f"metrics_vs_{x}.png"
    fig.savefig(out_dir / "plots" / name, dpi=110)
    plt.close(fig)
    return [(name, f"latency, energy and DRAM traffic against {x}")]


def _markdown_table(frame: pd.DataFrame) -> str:
    def fmt(value) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
