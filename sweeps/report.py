"""Reports: stored results (+ sweep.json) -> report.md and report.html with tables and PNG plots.

The report is rebuilt from the stored results alone (``archsim report DIR``), never from live
objects, so a report always describes exactly the records on disk (``results.csv``; for a sweep
that was killed before writing it, the records in ``results.db``). Sections: a summary (points, failures,
seeds, fidelity), metrics against the first numeric axis, a roofline (records with compute ops and
DRAM traffic), the Pareto front over latency, energy and area (those the records have; only when a
machine or mapping axis varies, or for a search), per-axis sensitivity plots, the results table (the 50 fastest when
there are more than 200 points), failed points, study sections (``Evaluator.report_sections``,
placed first, right after the summary: a study's paper figures are what its reader came for),
every placeholder and assumption energy entry the points used, and provenance (archsim version, git
revision, seeds, presets). ``report.html`` is the same content as one self-contained page (plots
embedded as data URIs, no script, no network; ``sweeps.html``).
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np

from .evaluators import evaluator_names, get_evaluator
from .html import markdown_to_html
from .lazy import pd, plt
from .plots import axis_label, save
from .search import pareto_front
from .store import DB_NAME, read_results_csv, read_store, read_store_meta

PLOT_METRICS = ("latency_s", "energy_pj", "dram_bytes")
OBJECTIVES = ("latency_s", "energy_pj", "area_mm2")
MAX_TABLE_ROWS = 200
MAX_LINES = 12


# Record columns renamed since earlier versions wrote them: a report of older results reads them
# under their present names (PIUMA records called the DRAM bandwidth ceiling peak_; peak_ now means
# only an occupancy, archsim/record.py).
RENAMED = {"peak_dram_bytes_per_cycle": "roof_dram_bytes_per_cycle"}


class ReportError(ValueError):
    """The directory holds no readable results."""


def load_results(out_dir: Path) -> tuple[pd.DataFrame, dict]:
    """The records and meta of a sweep directory: records from the store when there is one (a
    running or killed sweep included), else from results.csv, read the same way either way (the
    frame is the CSV form of the records, so both sources give one report); meta from sweep.json,
    else from the store, else inferred from the records (``_inferred_meta``)."""
    out_dir = Path(out_dir)
    db, csv = out_dir / DB_NAME, out_dir / "results.csv"
    if db.exists():
        frame = _csv_form(read_store(db))
        stored_meta = read_store_meta(db)
    elif csv.exists():
        frame, stored_meta = read_results_csv(csv), {}
    else:
        raise ReportError(f"{out_dir}: no results (no results.db or results.csv; run `archsim sweep SPEC "
                          f"--out {out_dir}` first)")
    if "status" not in frame.columns:
        raise ReportError(f"{csv if not db.exists() else db}: status: no such column (not a sweep's results)")
    frame = frame.rename(columns={old: new for old, new in RENAMED.items() if new not in frame.columns})
    meta = _read_meta(out_dir / "sweep.json") or stored_meta or _inferred_meta(frame)
    return frame, meta


def _csv_form(records: list[dict]) -> pd.DataFrame:
    """``records`` as ``results.csv`` holds them (the same text, read back the same way)."""
    text = pd.DataFrame(records).to_csv(index=False)
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""]) if records else pd.DataFrame(
        columns=["point_id", "status", "error"])


def _read_meta(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ReportError(f"{path}: not readable JSON ({str(err).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return meta


def _inferred_meta(frame: pd.DataFrame) -> dict:
    """Meta for records without sweep.json: the evaluator whose required keys the records have, and
    as axes the parameters that vary (derived ones included: nothing tells them apart)."""
    columns = list(frame.columns)
    params = columns[: columns.index("status")] if "status" in columns else columns
    params = [c for c in params if c not in ("schema_version", "point_id")]
    names = [n for n in evaluator_names() if n != "einsum" and set(get_evaluator(n).required) <= set(params)]
    return {"evaluator": names[0] if len(names) == 1 else "einsum", "inferred": True,
            "axes": [c for c in params if frame[c].nunique() > 1]}


def _fresh_plots_dir(plots: Path) -> None:
    """An empty ``plots`` folder: no plot of an earlier report survives into this one."""
    plots.mkdir(exist_ok=True)
    for old in plots.glob("*.png"):
        old.unlink()


def _axes(frame: pd.DataFrame, meta: dict) -> list[str]:
    return [a for a in meta.get("axes") or [] if a in frame.columns]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


def build_report(out_dir: Path) -> Path:
    """Write ``out_dir/report.md``, ``out_dir/report.html`` and ``out_dir/plots/*.png``; return the
    markdown path."""
    out_dir = Path(out_dir)
    frame, meta = load_results(out_dir)
    axes = _axes(frame, meta)
    ok = frame[frame["status"] == "ok"].copy()
    failed = frame[frame["status"] != "ok"]
    title = meta.get("name", out_dir.name)
    lines = [f"# {title}", ""]
    if meta.get("description"):
        lines += [meta["description"], ""]
    if meta.get("inferred"):
        lines += ["No sweep.json beside these results: the sweep's name, description, seeds and provenance "
                  "are unknown, and the evaluator and axes are inferred from the records.", ""]
    fidelity = ", ".join(sorted(ok["fidelity"].astype(str).unique())) if len(ok) and "fidelity" in ok else "n/a"
    lines += [f"{len(frame)} points: {len(ok)} ok, {len(failed)} failed. Seed {meta.get('seed', 0)}. "
              f"Axes: {', '.join(axes) or 'none'}. Fidelity: {fidelity} "
              "(event = discrete-event simulation; bound = closed form; bound_cycles is the closed-form "
              "lower bound).", ""]
    if meta.get("search"):
        s = meta["search"]
        lines += [f"Search: NSGA-II (Optuna), budget {s.get('budget')} points, population "
                  f"{s.get('population')}, seed {s.get('seed')}, objectives {', '.join(s.get('objectives', []))}.", ""]
    _fresh_plots_dir(out_dir / "plots")
    evaluator = get_evaluator(meta.get("evaluator", "einsum"))
    if evaluator.report_sections and len(ok):      # a study's own figures (the paper's) come first
        lines += evaluator.report_sections(ok, meta, out_dir)
    for name, caption in _plots(ok, axes, out_dir) if len(ok) else []:
        lines += [f"![{caption}](plots/{name})", ""]
    lines += _roofline_section(ok, axes, out_dir, evaluator)
    workload_keys = [a for a in axes if evaluator.is_workload_key(a)]
    lines += _pareto_section(ok, meta, out_dir, [a for a in axes if a not in workload_keys])
    lines += _sensitivity_section(ok, axes, out_dir, workload_keys)
    util = [c for c in frame.columns if c.startswith("util_")]
    columns = axes + ["cycles", "bound_cycles", "latency_s", "energy_pj", "dram_bytes"] + util
    if len(ok):
        table = ok[[c for c in dict.fromkeys(columns) if c in ok.columns]]
        lines += ["## Results", ""]
        if len(table) > MAX_TABLE_ROWS:
            lines += [f"The 50 lowest-latency of {len(table)} ok points (all of them: results.csv).", ""]
            table = table.sort_values("latency_s").head(50) if "latency_s" in table else table.head(50)
        lines += [markdown_table(table), ""]
    if len(failed):
        lines += ["## Failed points", "", markdown_table(failed[axes + ["error"]].head(MAX_TABLE_ROWS)), ""]
    lines += _energy_entries_section(ok, meta)
    lines += _provenance_section(meta)
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    (out_dir / "report.html").write_text(markdown_to_html("\n".join(lines), out_dir, title))
    return report


def _plots(ok: pd.DataFrame, axes: list[str], out_dir: Path) -> list[tuple[str, str]]:
    numeric = [a for a in axes if pd.api.types.is_numeric_dtype(ok[a])]
    metrics = [(m, axis_label(m)) for m in PLOT_METRICS if m in ok.columns]
    if not numeric or not metrics:
        return []
    x = numeric[0]
    series = [a for a in axes if a != x]
    fig, panels = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    panels = panels[0]
    groups = list(ok.groupby(series, sort=True)) if series else [((), ok)]
    if len(groups) > MAX_LINES:   # too many combinations: the best over the other axes per x
        groups = [(("best over other axes",), ok.groupby(x, as_index=False)[[m for m, _ in metrics]].min())]
        series = ["line"]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{a}={v}" for a, v in zip(series, key)) or "all"
        group = group.sort_values(x)
        for panel, (metric, _) in zip(panels, metrics):
            panel.plot(group[x], group[metric], marker="o", label=label)
    for panel, (_, ylabel) in zip(panels, metrics):
        panel.set_xlabel(axis_label(x))
        panel.set_ylabel(ylabel)
        if (ok[x] > 0).all():
            panel.set_xscale("log", base=2)
        panel.set_yscale("log")
        panel.grid(True, which="both", alpha=0.3)
    panels[0].legend(fontsize=8)
    name = f"metrics_vs_{_safe(x)}.png"
    save(fig, out_dir / "plots" / name)
    return [(name, f"latency, energy and DRAM traffic against {x}")]


ROOFLINE = ("compute_ops", "dram_bytes", "cycles", "roof_compute_ops_per_cycle", "roof_dram_bytes_per_cycle")


def _roofline_section(ok: pd.DataFrame, axes: list[str], out_dir: Path, evaluator) -> list[str]:
    """Achieved compute throughput against operational intensity (compute ops per DRAM byte), under
    each machine's roof min(peak compute, peak DRAM bandwidth x intensity); for records that have
    compute and traffic (archsim.record). Points with no DRAM traffic have no intensity: counted, not
    plotted."""
    if len(ok) == 0 or not all(c in ok.columns for c in ROOFLINE):
        return []
    data = ok.dropna(subset=list(ROOFLINE))
    data = data[(data["compute_ops"] > 0) & (data["cycles"] > 0)]
    onchip = int((data["dram_bytes"] <= 0).sum())
    data = data[data["dram_bytes"] > 0]
    if data.empty:
        return []
    intensity = data["compute_ops"] / data["dram_bytes"]
    achieved = data["compute_ops"] / data["cycles"]
    design = [a for a in axes if a in data.columns and data[a].nunique() > 1 and not evaluator.is_workload_key(a)]
    key = design[0] if design else None
    fig, ax = plt.subplots(figsize=(8.5, 4.4))
    groups = list(data.groupby(key, sort=True)) if key and data[key].nunique() <= MAX_LINES else [(None, data)]
    for value, group in groups:
        ax.scatter(intensity[group.index], achieved[group.index], s=14, alpha=0.7,
                   label=f"{key}={value}" if key and value is not None else "points")
    lo, hi = intensity.min() / 4, intensity.max() * 4
    xs = np.geomspace(lo, hi, 200)
    machines = data.groupby(["roof_compute_ops_per_cycle", "roof_dram_bytes_per_cycle"], sort=True)
    for i, ((compute, bandwidth), group) in enumerate(machines):
        name = ", ".join(sorted(group["arch"].astype(str).unique())) if "arch" in group else "machine"
        ax.plot(xs, np.minimum(compute, bandwidth * xs), color="0.3", linestyle=("-", "--", ":", "-.")[i % 4],
                linewidth=1, label=f"roof: {name} ({compute:.3g} ops/cycle, {bandwidth:.3g} B/cycle)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (compute ops / DRAM byte)")
    ax.set_ylabel("achieved compute (ops / cycle)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    save(fig, out_dir / "plots" / "roofline.png")
    share = achieved / np.minimum(data["roof_compute_ops_per_cycle"], data["roof_dram_bytes_per_cycle"] * intensity)
    lines = ["## Roofline", "",
             f"{len(data)} points against their machine's roof (compute ops are operator executions on the "
             "compute units, archsim/record.py; PIUMA counts instructions). Achieved throughput is "
             f"{share.min():.3g} to {share.max():.3g} of the roof (median {share.median():.3g})."]
    if onchip:
        lines[-1] += f" {onchip} points move no DRAM bytes (no intensity) and are not shown."
    return lines + ["", "![roofline](plots/roofline.png)", ""]


def _pareto_section(ok: pd.DataFrame, meta: dict, out_dir: Path, design_axes: list[str]) -> list[str]:
    """The Pareto front over the objectives, for a search or a grid whose machine or mapping (design)
    axes vary; a grid that varies only the workload has no alternatives to trade off."""
    if not meta.get("search") and not any(a in ok.columns and ok[a].nunique() > 1 for a in design_axes):
        return []
    wanted = (meta.get("search") or {}).get("objectives") or list(OBJECTIVES)
    evaluator = get_evaluator(meta.get("evaluator", "einsum"))
    # a search defines its own front over everything it varied; a grid compares like with like
    groups = [] if meta.get("search") else [
        a for a in meta.get("axes", []) if a in ok.columns and evaluator.is_workload_key(a)
        and ok[a].nunique() > 1]
    parts = [pareto_front(g, wanted) for _, g in ok.groupby(groups, sort=True)] if groups \
        else [pareto_front(ok, wanted)]
    objectives = parts[0][1] if parts else []
    front = pd.concat([f for f, _ in parts]) if parts else ok.iloc[0:0]
    if len(objectives) < 2 or front.empty:
        return []
    missing = [o for o in wanted if o not in objectives]
    scope = (f" within each group of equal {', '.join(groups)} (points computing different "
             "workloads are not alternatives to each other)") if groups else ""
    lines = ["## Pareto front", "",
             f"{len(front)} of {len(ok)} ok points are Pareto-optimal{scope} (no other point is at "
             f"least as good on every objective and better on one), minimising {', '.join(objectives)}."]
    if missing:
        lines[-1] += (f" Not recorded by this evaluator, so not an objective: {', '.join(missing)}"
                      " (area needs an area_um2 table in the preset).")
    if "area_mm2" in objectives:
        lines[-1] += (" area_mm2 comes from archsim's area model (archsim/area.py), "
                      "whose densities are placeholders, so area comparisons are relative).")
    pairs = [(a, b) for i, a in enumerate(objectives) for b in objectives[i + 1:]]
    fig, panels = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4), squeeze=False)
    for panel, (a, b) in zip(panels[0], pairs):
        panel.scatter(ok[a], ok[b], s=10, alpha=0.4, label="all points")
        for i, (part, _) in enumerate(parts):
            line = part.sort_values(a)
            panel.plot(line[a], line[b], color="C3", marker="o", markersize=3, linewidth=1,
                       label="Pareto front" if i == 0 else None)
        panel.set_xlabel(axis_label(a))
        panel.set_ylabel(axis_label(b))
        panel.set_xscale("log")
        panel.set_yscale("log")
        panel.grid(True, which="both", alpha=0.3)
    panels[0][0].legend(fontsize=8)
    save(fig, out_dir / "plots" / "pareto.png")
    params = [c for c in meta.get("axes", []) if c in front.columns]
    lines += ["", "![Pareto front](plots/pareto.png)", "",
              markdown_table(front[["point_id", *params, *objectives]].head(MAX_TABLE_ROWS)), ""]
    return lines


def _sensitivity_section(ok: pd.DataFrame, axes: list[str], out_dir: Path, workload_keys: list[str]) -> list[str]:
    """Each objective against each axis that varies the machine or the mapping (axes that change the
    workload are not sensitivities). Points that compute different workloads are never pooled: one
    line per workload (the median over the other parameters, the band from min to max) when the
    sweep varies the workload, else one line. A categorical axis gets markers and error bars, no line."""
    metrics = [m for m in OBJECTIVES if m in ok.columns and ok[m].notna().any()]
    varying = [a for a in axes if a in ok.columns and ok[a].nunique() > 1 and a not in workload_keys]
    workloads = [k for k in workload_keys if k in ok.columns and ok[k].nunique() > 1]
    groups = list(ok.groupby(workloads, sort=True)) if workloads else [((), ok)]
    if not metrics or not varying or len(groups) > MAX_LINES:
        return []
    per = f", one line per {', '.join(workloads)}" if workloads else ""
    lines = ["## Sensitivity", "",
             f"For each machine or mapping axis, every objective against that axis's values{per}: the "
             "line (markers for a categorical axis) is the median over the other parameters, the band or "
             "bar spans min to max.", ""]
    for axis in varying:
        fig, panels = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
        numeric = pd.api.types.is_numeric_dtype(ok[axis])
        categories = sorted(ok[axis].astype(str).unique())
        for panel, metric in zip(panels[0], metrics):
            for k, (key, group) in enumerate(groups):
                key = key if isinstance(key, tuple) else (key,)
                label = ", ".join(f"{w}={v}" for w, v in zip(workloads, key)) or None
                stats = group.groupby(axis, sort=True)[metric].agg(["min", "median", "max"])
                if numeric:
                    line, = panel.plot(stats.index, stats["median"], marker="o", label=label)
                    panel.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15, color=line.get_color())
                else:
                    xs = np.array([categories.index(str(v)) for v in stats.index]) + (k - (len(groups) - 1) / 2) * 0.08
                    panel.errorbar(xs, stats["median"], yerr=[stats["median"] - stats["min"], stats["max"] - stats["median"]],
                                   fmt="o", capsize=3, label=label)
            if numeric and (ok[axis] > 0).all():
                panel.set_xscale("log")
            if not numeric:
                panel.set_xticks(range(len(categories)))
                panel.set_xticklabels(categories)
            if (ok[metric] > 0).all():
                panel.set_yscale("log")
            panel.set_xlabel(axis_label(axis))
            panel.set_ylabel(axis_label(metric))
            panel.grid(True, which="both", alpha=0.3)
        if workloads:
            panels[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), title=", ".join(workloads))
        name = f"sensitivity_{_safe(axis)}.png"
        save(fig, out_dir / "plots" / name, dpi=100)
        lines += [f"![sensitivity to {axis}](plots/{name})", ""]
    return lines


def _used(ok: pd.DataFrame, column: str) -> list[str]:
    if column not in ok:
        return []
    return sorted({p for cell in ok[column].dropna() for p in str(cell).split(";") if p})


def _energy_entries_section(ok: pd.DataFrame, meta: dict) -> list[str]:
    sources = {}
    for preset in (meta.get("provenance") or {}).get("presets", {}).values():
        sources.update(preset.get("energy_entries", {}))
    lines = []
    placeholders = _used(ok, "placeholders")
    if placeholders:
        lines += ["## Placeholder numbers used", "",
                  "These energy or latency entries have no published source yet; results that "
                  "depend on them are indicative only:", ""]
        lines += [f"- `{p}`" + (f": {sources[p]}" if p in sources else "") for p in placeholders] + [""]
    assumptions = _used(ok, "assumptions")
    if assumptions:
        lines += ["## Assumed energy entries used", "",
                  "These energy entries the points used are assumptions, not measurements:", ""]
        lines += [f"- `{p}`" + (f": {sources[p]}" if p in sources else "") for p in assumptions] + [""]
    return lines


def _provenance_section(meta: dict) -> list[str]:
    prov = meta.get("provenance")
    if not prov:
        return []
    lines = ["## Provenance", "",
             f"- archsim version: {prov.get('archsim_version')}",
             f"- git revision: {prov.get('git_revision')}",
             f"- Python: {prov.get('python')}; record schema version {prov.get('schema_version')}",
             f"- spec: `{meta.get('spec', '')}`; evaluator: {meta.get('evaluator', 'einsum')}",
             "- seeds: " + ", ".join(f"{k} {v}" for k, v in sorted((prov.get("seeds") or {}).items()))]
    for name, info in sorted((prov.get("presets") or {}).items()):
        if "error" in info:
            lines.append(f"- preset `{name}`: {info['error']}")
            continue
        lines.append(f"- preset `{name}` ({info.get('family')}): {info.get('path')}, sha256 {info.get('sha256')}, "
                     f"{len(info.get('energy_entries', {}))} placeholder/assumption energy entries")
    return lines + [""]


def save_plot(fig, out_dir: Path, name: str) -> str:
    """Save ``fig`` as ``out_dir/plots/name`` at 100 dpi with the shared conventions
    (:func:`sweeps.plots.save`: labelled axes, integer ticks) and return ``name``."""
    save(fig, out_dir / "plots" / name, dpi=100)
    return name


def markdown_table(frame: pd.DataFrame) -> str:
    """A markdown table of ``frame``: floats to 4 significant digits, pipes escaped."""
    def fmt(value) -> str:
        if isinstance(value, (float, np.floating)):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
