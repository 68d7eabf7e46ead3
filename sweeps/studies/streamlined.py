"""The ``streamlined`` study: will a video diffusion model fit on a GPU, and how fast, under which
Streamlined Inference variant and slice count?

Point keys: ``model`` (animatediff | svd | svd_xt), ``height``, ``width``, ``frames``, ``steps``
(25), ``variant`` (baseline | slicer | grouping | rehash), ``slices``, ``slices_at_once``,
``groupnorm`` (two_pass | per_slice), ``attention`` (unfused | fused; default per model),
``rehash_from_level`` (3), ``key_every`` (2), ``arch`` (a GPU-family preset), ``fidelity``
(``bound``: the GPU family's per-kernel roofline, default; ``event``: the event simulation,
repeated kernels simulated once), and ``arch.<path>`` overrides of the preset. The GEMM tile
candidates are timed at the point's fidelity (column ``gemm_tile_timing``). Memory:
workloads/graphs/liveness.py over every phase of the generation (docs/video.md). Latency and
energy: every phase lowered to a GPU program (mappings/gpu/graph.py), timed once and multiplied
by its repeat count.
"""
from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

import archsim
from mappings.gpu.graph import lower_graph, time_program
from workloads.graphs import GraphError, latent_shape
from workloads.graphs.pipeline import VARIANTS, VIDEO_MODELS, pipeline_memory, plan_pipeline

from ..evaluators import Evaluator, Param, register
from ..lazy import pd, plt
from ..params import ParamError, study_classifier
from ..report import markdown_table, save_plot

PLAN_KEYS = ("model", "height", "width", "frames", "steps", "variant", "slices", "slices_at_once",
             "groupnorm", "attention", "rehash_from_level", "key_every")
KEYS = PLAN_KEYS + ("arch", "fidelity")
DEFAULT_SLICES = inspect.signature(plan_pipeline).parameters["slices"].default
SMALL_CARD = "rtx2080ti"    # the 11 GB card (archsim/presets/rtx2080ti.yaml)
GB = 1e9


classify = study_classifier("streamlined", KEYS)


@functools.lru_cache(maxsize=64)
def _plan(plan_json: str):
    return plan_pipeline(**json.loads(plan_json))


@functools.lru_cache(maxsize=16)
def _arch(name: str, overrides_json: str = "{}"):
    arch = archsim.load_arch(name, json.loads(overrides_json))
    if arch.gpu is None:
        raise ParamError(f"arch: {name} is not a GPU-family preset (family {arch.family})")
    return arch


@functools.lru_cache(maxsize=256)
def _phase_cost(plan_json: str, phase: str, arch_name: str, overrides_json: str, fidelity: str):
    plan, arch = _plan(plan_json), _arch(arch_name, overrides_json)
    graph = next(p.graph for p in plan.phases if p.name == phase)
    program = lower_graph(graph, arch, tile_timing=fidelity)
    result = time_program(program, arch, fidelity=fidelity)
    return result.seconds, archsim.energy(result, arch).total_pj, len(program.kernels)


def evaluate(params: dict, seed: int = 0) -> dict:
    for key in params:
        classify(key)
    fidelity = params.get("fidelity", "bound")
    if fidelity not in ("bound", "event"):
        raise ParamError(f"fidelity: expected bound or event, got {fidelity!r}")
    plan_params = {k: params[k] for k in PLAN_KEYS if k in params}
    plan_json = json.dumps(plan_params, sort_keys=True)
    plan = _plan(plan_json)
    overrides_json = json.dumps({k[5:]: v for k, v in params.items() if k.startswith("arch.")}, sort_keys=True)
    arch = _arch(str(params.get("arch", "a100_80gb")), overrides_json)
    peak, phase, timelines = pipeline_memory(plan)
    record = {"peak_bytes": peak, "peak_gb": peak / GB, "peak_phase": phase,
              "peak_op": timelines[phase].peak_op,
              "fits": peak <= arch.levels["dram"].capacity_bytes,
              "fits_11gb": peak <= _arch(SMALL_CARD).levels["dram"].capacity_bytes,
              "dram_capacity_gb": arch.levels["dram"].capacity_bytes / GB, "fidelity": fidelity,
              "gemm_tile_timing": fidelity}
    latency = energy = 0.0
    for p in plan.phases:
        if not p.count:
            continue
        seconds, pj, kernels = _phase_cost(plan_json, p.name, str(params.get("arch", "a100_80gb")),
                                           overrides_json, fidelity)
        record[f"{p.name}_s"] = seconds
        record[f"{p.name}_kernels"] = kernels
        record[f"{p.name}_count"] = p.count
        record[f"{p.name}_peak_gb"] = timelines[p.name].peak_bytes / GB
        latency += seconds * p.count
        energy += pj * p.count
    record.update(latency_s=latency, energy_j=energy * 1e-12,
                  unet_parameters=next(p.graph for p in plan.phases).parameter_count(),
                  **{k: v for k, v in plan.params.items() if k not in params})
    return record


def check(params: dict) -> None:
    """Bad input before any point runs: unknown keys, a resolution the latent factor (8) or the
    UNet's downsampling (8) does not divide, a slice count beyond the sliced axis (batch x frames
    for spatial layers, the deepest latent width for temporal layers)."""
    for key in params:
        classify(key)
    model = params.get("model", "animatediff")
    if model not in VIDEO_MODELS:
        raise ParamError(f"model: unknown video model {model!r}; known: {', '.join(VIDEO_MODELS)}")
    _, frames, (h0, w0), *_ = VIDEO_MODELS[model]
    try:
        _, lat_w = latent_shape(params.get("height", h0), params.get("width", w0))
    except GraphError as err:
        raise ParamError(str(err)) from None
    slices = params.get("slices", DEFAULT_SLICES)
    if params.get("variant", "baseline") != "baseline":
        if isinstance(slices, bool) or not isinstance(slices, int) or slices < 1:
            raise ParamError(f"slices: expected a positive integer, got {slices!r}")
        axis = min(2 * params.get("frames", frames), lat_w >> 3)
        if slices > axis:
            raise ParamError(f"slices: {slices} exceeds the sliced axis ({axis}: the deepest latent "
                             f"width, or batch x frames)")


# ---- report ----------------------------------------------------------------------------------
PAPER_GPU = "a100_80gb"        # the paper's measurements are on an A100
# (model, height, width, frames) -> the paper's A100 peak memory (docs/reference/e2gc_streamlined.md:
# Zhan, Wu et al., NeurIPS 2024)
PAPER = {("animatediff", 512, 512, 16): {"baseline_gb": 41.7, "streamlined_gb": 11.0},
         ("svd", 576, 1024, 14): {"baseline_gb": 39.49, "streamlined_gb": 23.42}}
# assumption: (third-party) A100 latencies, baseline and streamlined seconds, from a third-party
# review of the paper, not from the paper (docs/reference/e2gc_streamlined.md)
REVIEW_LATENCY_S = {("animatediff", 512, 512, 16): (24.38, 15.15)}


def _label(row) -> str:
    if row["variant"] == "baseline":
        return "baseline"
    return f"{row['variant']} x{int(row['slices'])}"


def _case(row) -> str:
    return f"{row['model']} {int(row['height'])}x{int(row['width'])}x{int(row['frames'])}"


def _fits_table(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per model and configuration: peak memory (GPU-independent) and, per GPU, whether it
    fits and the generation latency."""
    rows = []
    for (case, config), g in ok.groupby(["case", "config"], sort=False):
        row = {"model": case, "config": config, "peak_gb": g["peak_gb"].iloc[0]}
        for _, r in g.iterrows():
            row[f"{r['arch']}_fits"] = "yes" if r["fits"] else "no"
            row[f"{r['arch']}_latency_s"] = r["latency_s"]
        rows.append(row)
    return pd.DataFrame(rows)


def _paper_table(ok: pd.DataFrame) -> pd.DataFrame:
    rows = []
    on = ok[ok["arch"] == PAPER_GPU]
    for (model, h, w, f), paper in PAPER.items():
        g = on[(on["model"] == model) & (on["height"] == h) & (on["width"] == w) & (on["frames"] == f)]
        base = g[g["variant"] == "baseline"]
        if not len(base):
            continue
        b = base.iloc[0]
        review = REVIEW_LATENCY_S.get((model, h, w, f))
        for _, s in g[g["variant"] == "rehash"].sort_values("slices").iterrows():
            rows.append({"model": _case(b), "streamlined": s["config"], "baseline_gb": b["peak_gb"],
                         "paper_baseline_gb": paper["baseline_gb"], "streamlined_gb": s["peak_gb"],
                         "paper_streamlined_gb": paper["streamlined_gb"],
                         "baseline_s": b["latency_s"], "streamlined_s": s["latency_s"],
                         "latency_ratio": b["latency_s"] / s["latency_s"],
                         "reported_latency_ratio": review[0] / review[1] if review else float("nan")})
    return pd.DataFrame(rows)


def report_sections(ok: pd.DataFrame, meta: dict, out_dir: Path) -> list[str]:
    ok = ok.copy()
    ok["config"] = ok.apply(_label, axis=1)
    ok["case"] = ok.apply(_case, axis=1)
    ok["_order"] = ok["variant"].map({v: i for i, v in enumerate(VARIANTS)})
    ok = ok.sort_values(["model", "height", "frames", "_order", "slices", "arch"]).drop(columns="_order")
    lines = ["## Streamlined video diffusion: memory, latency, fit", "",
             "### Does it fit? Peak memory of the whole generation and, per GPU, fit and latency", "",
             markdown_table(_fits_table(ok)), ""]
    paper = _paper_table(ok)
    if len(paper):
        lines += [f"### Against the paper ({PAPER_GPU}; streamlined = grouping + Step Rehash; the "
                  "paper's slice count is not published; docs/video.md explains the gaps)", "",
                  markdown_table(paper), "",
                  "`reported_latency_ratio`: baseline / streamlined latency from a third-party review "
                  "of the paper (AnimateDiff 24.38 s / 15.15 s), not from the paper itself "
                  "(docs/reference/e2gc_streamlined.md).", ""]
    lines += ["### Memory timelines: baseline vs streamlined (grouping + rehash, fewest and most slices)", ""]
    for case, g in ok[ok["arch"] == ok["arch"].iloc[0]].groupby("case", sort=False):
        base = g[g["variant"] == "baseline"]
        stream = g[g["variant"] == "rehash"].sort_values("slices")
        if len(base) and len(stream):
            rows = [base.iloc[0]] + [stream.iloc[0]] + ([stream.iloc[-1]] if len(stream) > 1 else [])
            name = save_plot(_plot_timelines(rows, case), out_dir,
                             f"streamlined_timeline_{case.replace(' ', '_')}.png")
            lines += [f"![memory timeline of {case}: baseline vs streamlined](plots/{name})", ""]
    name = save_plot(_plot_pareto(ok), out_dir, "streamlined_pareto.png")
    lines += ["### Latency vs peak memory over the slice count (2, 4, 8; dashed: the 11 GB card)", "",
              f"![latency vs peak memory over the slice count](plots/{name})", ""]
    cols = [c for c in ("model", "height", "width", "frames", "arch", "config", "peak_gb", "peak_phase",
                        "peak_op", "fits", "fits_11gb", "latency_s", "energy_j", "fidelity",
                        "gemm_tile_timing") if c in ok.columns]
    lines += ["### All points", "", markdown_table(ok[cols]), ""]
    return lines


def _plain(value):
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _plan_of(row):
    return plan_pipeline(**{k: _plain(row[k]) for k in PLAN_KEYS if k in row.index and pd.notna(row[k])})


def _plot_timelines(rows, case: str):
    """Live bytes per original op (a sliced composite spans the ops it runs), one UNet step (the
    key step under rehash) then the VAE decode, for each configuration in ``rows``."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for row in rows:
        plan = _plan_of(row)
        _, _, tl = pipeline_memory(plan)
        xs, ys, x = [], [], 0
        for phase in plan.phases:
            if phase.name == "unet_reuse":
                continue
            t = tl[phase.name]
            for op, total in zip(phase.graph.ops, t.totals):
                width = len(op.body) or 1
                xs += [x, x + width]
                ys += [total / GB, total / GB]
                x += width
        ax.plot(xs, ys, lw=0.8, label=f"{_label(row)} (peak {row['peak_gb']:.1f} GB)")
    ax.set_title(case, fontsize=9)
    ax.set_xlabel("op index (one UNet step, then the VAE decode)")
    ax.set_ylabel("live GB")
    if rows:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def _plot_pareto(ok: pd.DataFrame):
    """Per model: latency vs peak memory, one line per GPU and variant over the slice count."""
    cases = list(dict.fromkeys(ok["case"]))
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 4), squeeze=False)
    small = _arch(SMALL_CARD).levels["dram"].capacity_bytes / GB
    for ax, case in zip(axes[0], cases):
        sub = ok[ok["case"] == case]
        for (arch, variant), g in sub[sub["variant"] != "baseline"].groupby(["arch", "variant"]):
            g = g.sort_values("slices")
            line, = ax.plot(g["peak_gb"], g["latency_s"], marker="o", lw=0.8, label=f"{arch} {variant}")
            for _, r in g.iterrows():
                ax.annotate(str(int(r["slices"])), (r["peak_gb"], r["latency_s"]), fontsize=6,
                            color=line.get_color())
        for _, r in sub[sub["variant"] == "baseline"].iterrows():
            ax.plot([r["peak_gb"]], [r["latency_s"]], marker="x", color="black", ls="none",
                    label="baseline")
        ax.axvline(small, color="grey", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{case} (x: baseline)", fontsize=8)
        ax.set_xlabel("peak memory (GB)")
        ax.set_ylabel("generation latency (s)")
        ax.grid(alpha=0.3)
    legend = {}                     # label -> handle over every panel (a panel may lack a series)
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if legend:
        axes[0][0].legend(legend.values(), legend.keys(), fontsize=5)
    return fig


PARAMS = (
    Param("model", "animatediff | svd | svd_xt", "required", "the video model (docs/video.md)"),
    Param("variant", "baseline | slicer | grouping | rehash", "required",
          "Streamlined Inference variant (grouping includes the slicer; rehash includes grouping)"),
    Param("height", "int", "512 (AnimateDiff), 576 (SVD)", "image height; divisible by 64"),
    Param("width", "int", "512 (AnimateDiff), 1024 (SVD)", "image width; divisible by 64"),
    Param("frames", "int", "16 / 14 / 25", "frames generated"),
    Param("steps", "int", "25", "denoising steps"),
    Param("slices", "int", "8", "slices of every sliced layer or group (uneven allowed)"),
    Param("slices_at_once", "int", "1", "slices of a group run together"),
    Param("groupnorm", "two_pass | per_slice", "two_pass", "GroupNorm statistics spanning frames"),
    Param("attention", "unfused | fused", "unfused (AnimateDiff), fused (SVD)", "attention kernels"),
    Param("rehash_from_level", "1..3", "3", "UNet levels skipped at Step Rehash reuse steps"),
    Param("key_every", "int", "2", "a key step every this many steps"),
    Param("arch", "GPU preset", "a100_80gb", "a family: gpu preset (`archsim list`)"),
    Param("fidelity", "bound | event", "bound", "per-kernel roofline or event simulation"),
    Param("arch.<path>", "number", "the preset's value", "override one preset field (it must exist)"),
)

register(Evaluator("streamlined", "Video diffusion (AnimateDiff, SVD) peak memory and latency under "
                   "Streamlined Inference on GPU-family presets", ("model", "variant"), classify,
                   evaluate, report_sections,
                   is_workload_key=lambda key: key in ("model", "height", "width", "frames", "steps"),
                   params=PARAMS, check=check))
