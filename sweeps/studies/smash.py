"""The ``smash`` study: SpGEMM kernels (inner, outer, row-wise, SMASH v1-v3) on PIUMA presets.

Point keys: ``matrix`` (rmat | uniform | powerlaw | path.mtx), ``scale``, ``edge_factor``,
``seed`` (matrix seed), ``kernel`` (a mapper of mappings/spgemm), ``arch`` (piuma, piuma8),
``distribution`` (static | flop_balanced | dynamic), ``threads`` (per core),
``dram_line_bytes`` (shorthand for arch.piuma.dram_line_bytes), any ``arch.<path>`` override and
``map.item_flops`` / ``map.load_factor`` / ``map.table_fraction``. Records carry the study's
columns: archsim.record.result_metrics (cycles, latency_s, energy_pj, dram_bytes, busy_/util_,
the PIUMA counters ipc, load_imbalance, dram_bytes_per_cycle, ...) plus spad_probes_per_insert,
the Knuth expectation and the kernel's statistics.
"""
from __future__ import annotations

import functools
from pathlib import Path

import archsim
from archsim.record import result_metrics
import workloads
from archsim.families import get_family
from mappings import get_mapper, map_cascade
from mappings.spgemm.kernels import mapper_constants

from ..evaluators import Evaluator, Param, register
from ..lazy import pd, plt
from ..params import ParamError, study_classifier
from ..plots import save
from ..report import markdown_table

KEYS = ("matrix", "scale", "edge_factor", "seed", "kernel", "arch", "distribution", "threads",
        "dram_line_bytes")
MAP_KEYS = ("map.item_flops", "map.load_factor", "map.table_fraction")
BASELINES = ("inner", "outer", "rowwise_dense")


classify = study_classifier("smash", KEYS, MAP_KEYS)


@functools.lru_cache(maxsize=4)
def _matrix(name: str, scale: int, edge_factor: int, seed: int):
    return workloads.make_matrix(name, scale=scale, edge_factor=edge_factor, seed=seed)


def _int(params: dict, key: str, default: int) -> int:
    value = params.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"{key}: expected an integer, got {value!r}")
    return value


def evaluate(params: dict, seed: int = 0) -> dict:
    for key in params:
        classify(key)
    A = _matrix(str(params["matrix"]), _int(params, "scale", 10), _int(params, "edge_factor", 8),
                _int(params, "seed", seed))
    overrides = {k[5:]: v for k, v in params.items() if k.startswith("arch.")}
    if "dram_line_bytes" in params:
        overrides["piuma.dram_line_bytes"] = params["dram_line_bytes"]
    arch = archsim.load_arch(str(params["arch"]), overrides)
    options = {k[4:]: v for k, v in params.items() if k in MAP_KEYS}
    if "threads" in params:
        options["threads"] = _int(params, "threads", 0)
    mapping = map_cascade(
        str(params["kernel"]), workloads.build("spgemm"), arch, matrix=A,
        distribution=str(params.get("distribution", "flop_balanced")), **options)
    result = get_family(arch.family).simulate(mapping.program, arch, seed)
    st, ct = mapping.stats, result.counters
    inserts = st.get("inserts", 0)
    record = result_metrics(result, arch, archsim.energy(result, arch))
    record.update({
        "threads_per_core": mapping.threads, "nnz": A.nnz, "n": A.shape[0],
        "spad_probes_per_insert": st["insert_probes"] / inserts if inserts else float("nan"),
        "knuth_probes_per_insert": st["knuth_insert_probes"] / inserts if inserts else float("nan"),
        "probes_per_update": st["probes"] / ct["mul"] if inserts else float("nan"),
        "multiplies": ct.get("mul", 0), "partial_products": ct.get("partial_products", 0),
        "windows": st.get("windows", 0), "line_bytes": arch.piuma.dram_line_bytes,
    })
    # the mapper's own numbers are assumptions too: listed like the preset's
    mapper = [f"map.{k}={v:g}" for k, v in sorted(mapper_constants(options).items())]
    record["assumptions"] = ";".join(filter(None, [record.get("assumptions", ""), *mapper]))
    return record


def report_sections(ok: pd.DataFrame, meta: dict, out_dir: Path) -> list[str]:
    ok = ok.copy()
    group = [c for c in ("matrix", "scale", "edge_factor", "arch", "line_bytes", "distribution",
                         "threads_per_core") if c in ok.columns]
    lines = ["## SpGEMM kernels on PIUMA", ""]
    cyc = ok.pivot_table(index=group, columns="kernel", values="cycles", aggfunc="first")
    lines += ["### Cycles", "", markdown_table(cyc.reset_index()), ""]
    speed = []
    for base in BASELINES:
        if base not in cyc.columns:
            continue
        for k in cyc.columns:
            if k != base:
                s = (cyc[base] / cyc[k]).rename(f"{k} over {base}")
                speed.append(s)
    if speed:
        sp_frame = pd.concat(speed, axis=1).reset_index()
        lines += ["### Speedups (baseline cycles / kernel cycles)", "", markdown_table(sp_frame), ""]
    for metric, title in (("dram_bytes", "DRAM traffic (bytes)"), ("ipc", "IPC per MTP"),
                          ("load_imbalance", "Load imbalance (max / mean thread busy time)")):
        t = ok.pivot_table(index=group, columns="kernel", values=metric, aggfunc="first")
        lines += [f"### {title}", "", markdown_table(t.reset_index()), ""]
    sm = ok[ok["kernel"].str.startswith("smash")]
    if len(sm):
        cols = group + ["kernel", "spad_probes_per_insert", "knuth_probes_per_insert",
                        "probes_per_update", "windows"]
        sm = sm.assign(probe_error=sm["spad_probes_per_insert"] / sm["knuth_probes_per_insert"] - 1)
        lines += ["### Hash probes per insert vs Knuth (linear probing at each window's load)", "",
                  markdown_table(sm[cols + ["probe_error"]]), ""]
    over = ok[ok["dram_bytes_per_cycle"] > ok["roof_dram_bytes_per_cycle"] * (1 + 1e-9)]
    lines += [f"Achieved DRAM bandwidth above peak in {len(over)} of {len(ok)} points "
              f"(max {(ok['dram_bytes_per_cycle'] / ok['roof_dram_bytes_per_cycle']).max():.3f} "
              "of peak).", ""]
    (out_dir / "plots").mkdir(exist_ok=True)
    _plot_cycles(ok, out_dir / "plots" / "smash_cycles.png")
    lines += ["![cycles by kernel and scale](plots/smash_cycles.png)", ""]
    caption = _plot_speedups(ok, out_dir / "plots" / "smash_speedups.png")
    if caption:
        lines += [f"![{caption}](plots/smash_speedups.png)", ""]
    found = findings(ok)
    if found:
        lines[2:2] = ["### Findings (computed from these records)", "", *[f"- {f}" for f in found], ""]
    return lines


def _configurations(ok: pd.DataFrame) -> list[str]:
    """The record columns that, with the kernel, identify one configuration."""
    return [c for c in ("matrix", "scale", "edge_factor", "seed", "arch", "line_bytes", "distribution",
                        "threads_per_core") if c in ok.columns and ok[c].nunique() > 0]


def _describe(keys: list[str], values, varying: set) -> str:
    """``scale 10, DRAM access 8 B, static distribution``: the keys that vary in the sweep."""
    values = values if isinstance(values, tuple) else (values,)
    names = {"line_bytes": "DRAM access {} B", "distribution": "{} distribution", "scale": "scale {}"}
    return ", ".join(names.get(k, k + " {}").format(v) for k, v in zip(keys, values) if k in varying) or "all"


def findings(ok: pd.DataFrame) -> list[str]:
    """Statements the records support: where rowwise_dense beats SMASH, and what 8- versus 64-byte
    DRAM accesses do to cycles and to DRAM bandwidth use (fraction of peak)."""
    out = []
    keys = [c for c in _configurations(ok) if c != "kernel"]
    varying = {k for k in keys if ok[k].nunique() > 1}
    cyc = ok.pivot_table(index=keys, columns="kernel", values="cycles", aggfunc="first") if keys else None
    smash = [k for k in (cyc.columns if cyc is not None else []) if str(k).startswith("smash")]
    if cyc is not None and "rowwise_dense" in cyc.columns and smash:
        both = cyc.dropna(subset=["rowwise_dense", *smash], how="any")
        best = both[smash].min(axis=1)
        wins = both[both["rowwise_dense"] < best]
        per = ", ".join(f"{k} in {int((both['rowwise_dense'] < both[k]).sum())}" for k in smash)
        text = (f"rowwise_dense is faster than every SMASH version in {len(wins)} of {len(both)} configurations "
                f"(faster than {per})")
        if "scale" in varying:
            level = both.index.get_level_values("scale")
            won = (both["rowwise_dense"] < best).groupby(level).agg(["sum", "size"])
            text += "; by R-MAT scale: " + ", ".join(f"{s}: {int(r['sum'])} of {int(r['size'])}"
                                                     for s, r in won.iterrows())
        if len(wins):
            shown = [f"{_describe(keys, idx, varying)} ({both.loc[idx, 'rowwise_dense'] / best[idx]:.2f}x SMASH's best cycles)"
                     for idx in wins.index[:8]]
            text += ": " + "; ".join(shown) + (f"; and {len(wins) - 8} more" if len(wins) > 8 else "")
        out.append(text + ".")
    if "line_bytes" in ok.columns and {8, 64} <= set(ok["line_bytes"]):
        rest = [k for k in keys if k != "line_bytes"] + ["kernel"]
        lines = ok.pivot_table(index=rest, columns="line_bytes", values="cycles", aggfunc="first").dropna(subset=[8, 64])
        ratio = (lines[64] / lines[8]).rename("ratio")
        if len(ratio):
            worst = ratio.idxmax() if ratio.max() - 1 >= 1 - ratio.min() else ratio.idxmin()
            out.append(f"64-byte instead of 8-byte DRAM accesses multiply cycles by {ratio.min():.4g} to "
                       f"{ratio.max():.4g} (median {ratio.median():.4g}) over {len(ratio)} kernel configurations; "
                       f"the largest change is {ratio[worst]:.4g}x for {worst[-1]} ({_describe(rest[:-1], worst[:-1], varying)}).")
        share = ok["dram_bytes_per_cycle"] / ok["roof_dram_bytes_per_cycle"]
        parts = [f"{b}-byte: median {share[ok['line_bytes'] == b].median():.3g}, max "
                 f"{share[ok['line_bytes'] == b].max():.3g}" for b in (8, 64)]
        out.append("DRAM bandwidth use as a fraction of peak (bytes moved per cycle / peak bytes per cycle): "
                   + "; ".join(parts) + ".")
    return out


def _plot_speedups(ok: pd.DataFrame, path: Path) -> str:
    """Speedup (baseline cycles / kernel cycles) of every other kernel over each baseline present,
    one panel per baseline, against R-MAT scale (or the matrix); at the smallest DRAM access size and
    the flop_balanced distribution when the sweep has several. Returns the caption ('' = no plot)."""
    bases = [b for b in BASELINES if b in set(ok["kernel"])]
    if not bases or ok["kernel"].nunique() < 2:
        return ""
    x = "scale" if "scale" in ok.columns else "matrix"
    if x == "matrix":
        ok = ok.assign(matrix=ok["matrix"].astype(str).map(lambda m: Path(m).name))
    fixed = []
    if "line_bytes" in ok.columns and ok["line_bytes"].nunique() > 1:
        ok = ok[ok["line_bytes"] == ok["line_bytes"].min()]
        fixed.append(f"{int(ok['line_bytes'].iloc[0])}-byte DRAM accesses")
    if "distribution" in ok.columns and ok["distribution"].nunique() > 1:
        pick = "flop_balanced" if "flop_balanced" in set(ok["distribution"]) else sorted(ok["distribution"].unique())[0]
        ok = ok[ok["distribution"] == pick]
        fixed.append(f"{pick} distribution")
    cyc = ok.groupby([x, "kernel"])["cycles"].mean().unstack("kernel")
    kernels = sorted(cyc.columns)
    colours = dict(zip(kernels, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(1, len(bases), figsize=(4.2 * len(bases) + 1.6, 3.8), sharey=True, squeeze=False)
    for ax, base in zip(axes[0], bases):
        for kernel in kernels:
            if kernel == base:
                continue
            speed = (cyc[base] / cyc[kernel]).dropna()
            ax.plot(list(speed.index), speed.values, marker="o", color=colours[kernel], label=kernel,
                    linestyle="-" if x == "scale" else "none")
        ax.axhline(1.0, color="0.4", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("R-MAT scale (log2 rows)" if x == "scale" else "matrix")
        ax.set_ylabel(f"speedup over {base} (cycles ratio)")
        ax.set_title(f"over {base}")
        ax.grid(True, which="both", alpha=0.3)
    handles = {}                                      # every kernel once: each panel lacks its baseline
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    names = [k for k in kernels if k in handles]
    axes[0][-1].legend([handles[k] for k in names], names, fontsize=8, loc="upper left",
                       bbox_to_anchor=(1.02, 1.0))
    save(fig, path)
    return "speedup of each kernel over " + ", ".join(bases) + (f" ({', '.join(fixed)})" if fixed else "")


def _plot_cycles(ok: pd.DataFrame, path: Path) -> None:
    """Cycles against R-MAT scale (or against the matrix, for a sweep without a scale axis, such as
    one over .mtx files), one panel per work distribution, one line per kernel (8-byte DRAM
    granularity when the sweep has both; the 64-byte variant is in the tables)."""
    x = "scale" if "scale" in ok.columns else "matrix"
    if x == "matrix":
        ok = ok.assign(matrix=ok["matrix"].astype(str).map(lambda m: Path(m).name))
    if "line_bytes" in ok.columns and ok["line_bytes"].nunique() > 1:
        ok = ok[ok["line_bytes"] == ok["line_bytes"].min()]
    panels = sorted(ok["distribution"].unique()) if "distribution" in ok.columns else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), sharey=True, squeeze=False)
    kernels = sorted(ok["kernel"].unique())
    colours = dict(zip(kernels, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, panel in zip(axes[0], panels):
        sub = ok if panel is None else ok[ok["distribution"] == panel]
        for kernel in kernels:
            g = sub[sub["kernel"] == kernel].groupby(x)["cycles"].mean()
            ax.plot(g.index, g.values, marker="o", color=colours[kernel], label=kernel,
                    linestyle="-" if x == "scale" else "none")
        ax.set_yscale("log")
        ax.set_xlabel("R-MAT scale" if x == "scale" else "matrix")
        ax.set_ylabel("cycles")
        ax.set_title(f"distribution: {panel}" if panel else "cycles")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    save(fig, path)


MATRICES = ("rmat", "uniform", "powerlaw")
DISTRIBUTIONS = ("static", "flop_balanced", "dynamic")
PARAMS = (
    Param("matrix", "rmat | uniform | powerlaw | FILE.mtx", "required",
          "A of C = A A: a seeded generated matrix or a Matrix Market file"),
    Param("scale", "int", "10", "generated matrices: 2^scale rows"),
    Param("edge_factor", "int", "8", "generated matrices: mean nonzeros per row"),
    Param("seed", "int", "the sweep's seed", "generated matrices: generator seed"),
    Param("kernel", "mapper name", "required", "inner, outer, rowwise_dense, smash_v1..v3"),
    Param("arch", "piuma | piuma8 | YAML path", "required", "a PIUMA-family preset"),
    Param("distribution", " | ".join(DISTRIBUTIONS), "flop_balanced", "how rows are dealt to threads"),
    Param("threads", "int", "the preset's threads per core", "threads per core"),
    Param("dram_line_bytes", "int", "the preset's 8", "DRAM access granularity (arch.piuma.dram_line_bytes)"),
    Param("map.item_flops", "int", "the mapper's", "multiplies per work item"),
    Param("map.load_factor", "float in (0, 1)", "the mapper's", "hash-table load factor"),
    Param("map.table_fraction", "float in (0, 1]", "the mapper's", "share of the SPAD for hash tables"),
    Param("arch.<path>", "number", "the preset's value", "override one preset field (it must exist)"),
)


def check(params: dict) -> None:
    """Known keys, matrix source, kernel, distribution and arch fields, without building a matrix."""
    for key in params:
        classify(key)
    matrix = str(params["matrix"])
    if matrix not in MATRICES and not Path(matrix).is_file():
        raise ValueError(f"matrix: {matrix!r} is neither a generated matrix ({', '.join(MATRICES)}) nor "
                         "an existing .mtx file")
    for key in ("scale", "edge_factor", "threads", "dram_line_bytes"):
        if key in params and (isinstance(params[key], bool) or not isinstance(params[key], int) or params[key] < 1):
            raise ValueError(f"{key}: expected a positive integer, got {params[key]!r}")
    if str(params.get("distribution", "flop_balanced")) not in DISTRIBUTIONS:
        raise ValueError(f"distribution: expected one of {', '.join(DISTRIBUTIONS)}, got {params['distribution']!r}")
    try:
        get_mapper(str(params["kernel"]))
    except ValueError as err:
        raise ValueError(f"kernel: {err}") from None
    overrides = {k[5:]: v for k, v in params.items() if k.startswith("arch.")}
    if "dram_line_bytes" in params:
        overrides["piuma.dram_line_bytes"] = params["dram_line_bytes"]
    arch = archsim.load_arch(str(params["arch"]), overrides)
    if arch.family != "piuma":
        raise ValueError(f"arch: {arch.name} is a {arch.family} preset; the smash study needs a PIUMA preset")


register(Evaluator("smash", "SpGEMM kernels on PIUMA presets (matrix, kernel, arch)",
                   ("matrix", "kernel", "arch"), classify, evaluate, report_sections,
                   is_workload_key=lambda key: key in ("matrix", "scale", "edge_factor", "seed"),
                   params=PARAMS, check=check))
