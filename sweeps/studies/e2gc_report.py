"""Report sections of the ``e2gc`` study: per-layer curves against G with the model's G*, the
per-layer acceptance checks (counted over GPU presets), the spatial arrays' utilisation against G,
and network energy efficiency (FgGC vs E2GC) per machine."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..lazy import pd, plt
from ..report import markdown_table, save_plot

# The paper's P100 gains (Jha et al., VLSID 2020, abstract): images/J E2GC over FgGC - 1.
PAPER_GAIN = {"mobilenet_v1": 0.108, "resnext50": 0.0473}


def layer_summary(layers: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, C, H): the simulated energy-optimal G, the model's G*, and the two acceptance
    properties: energy per MAC falls monotonically with G, and total energy over G >= 4 has its
    minimum strictly inside the range."""
    rows = []
    for (arch, C, H), g in layers.groupby(["arch", "C", "H"], sort=False):
        g = g.sort_values("G")
        first = lambda column: g[column].iloc[0] if column in g else math.nan  # noqa: E731
        per_mac = g["energy_per_mac_pj"].to_numpy()
        wide = g[g["G"] >= 4]
        g_min = int(wide.loc[wide["energy_pj"].idxmin(), "G"]) if len(wide) else math.nan
        rows.append({
            "arch": arch, "family": g["family"].iloc[0] if "family" in g else "gpu", "C": C, "H": H,
            "G_min_energy": int(g.loc[g["energy_pj"].idxmin(), "G"]),
            "G_min_energy_ge4": g_min,
            "G_star_ridge": first("g_star_ridge"), "G_star_energy": first("g_star_energy"),
            "G_star_ridge_fp32_b1": first("g_star_ridge_fp32"),
            "energy_per_mac_monotone": bool(np.all(np.diff(per_mac) < 0)),
            "interior_min_ge4": bool(len(wide) > 2 and g_min not in (wide["G"].min(), wide["G"].max())),
            "pj_per_mac_depthwise": per_mac[0], "pj_per_mac_dense": per_mac[-1],
        })
    return pd.DataFrame(rows)


def _plot_layers(layers: pd.DataFrame, column: str, ylabel: str, out_dir: Path, name: str, mark_star: bool) -> str:
    shapes = list(dict.fromkeys(zip(layers["C"], layers["H"])))
    fig, axes = plt.subplots(1, len(shapes), figsize=(4.2 * len(shapes), 3.8), squeeze=False)
    archs = list(dict.fromkeys(layers["arch"]))
    colours = dict(zip(archs, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (C, H) in zip(axes[0], shapes):
        sub = layers[(layers["C"] == C) & (layers["H"] == H)]
        for arch in archs:
            g = sub[sub["arch"] == arch].sort_values("G")
            if not len(g):
                continue
            ax.plot(g["G"], g[column], marker="o", ms=3, color=colours[arch], label=arch)
            if mark_star:
                for rule, marker in (("g_star_ridge", "^"), ("g_star_energy", "s")):
                    star = g[rule].iloc[0]
                    if np.isfinite(star) and g["G"].min() <= star <= g["G"].max():
                        y = np.exp(np.interp(np.log(star), np.log(g["G"]), np.log(g[column])))
                        ax.plot([star], [y], marker=marker, ms=9, mfc="none", color=colours[arch])
            else:
                best = g.loc[g[column].idxmin()]
                ax.plot([best["G"]], [best[column]], marker="*", ms=12, color=colours[arch])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("group size G (channels per group)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"C={C}, {H}x{H}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    return save_plot(fig, out_dir, name)


def _plot_networks(nets: pd.DataFrame, out_dir: Path, name: str) -> str:
    cases = list(dict.fromkeys(zip(nets["network"], nets["G"])))
    archs = list(dict.fromkeys(nets["arch"]))
    fig, axes = plt.subplots(1, len(cases), figsize=(4.5 * len(cases), 3.8), squeeze=False)
    for ax, (network, G) in zip(axes[0], cases):
        sub = nets[(nets["network"] == network) & (nets["G"] == G)].set_index("arch").reindex(archs)
        x = np.arange(len(archs))
        ax.bar(x - 0.2, sub["images_per_j_fggc"], 0.4, label=f"FgGC g={int(sub['fggc_groups'].iloc[0])}")
        ax.bar(x + 0.2, sub["images_per_j_e2gc"], 0.4, label=f"E2GC G={G}")
        for xi, gain, top in zip(x, sub["ee_gain"], sub["images_per_j_e2gc"]):
            ax.annotate(f"{gain:+.1%}", (xi + 0.2, top), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, archs, rotation=30, fontsize=8)
        ax.set_xlabel("GPU preset")
        ax.set_ylabel("images per joule")
        ax.set_title(f"{network} (matched MACs)")
        ax.legend(fontsize=7)
    return save_plot(fig, out_dir, name)


def _plot_utilisation(spatial: pd.DataFrame, out_dir: Path, name: str) -> str:
    fig, ax = plt.subplots(figsize=(6, 4))
    for (arch, C, H), g in spatial.groupby(["arch", "C", "H"], sort=False):
        g = g.sort_values("G")
        ax.plot(g["G"], g["util_pe2d"], marker="o", ms=3, label=f"{arch} C={C} {H}x{H}",
                ls="-" if arch == spatial["arch"].iloc[0] else "--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("group size G (channels per group)")
    ax.set_ylabel("2D array utilisation (useful MAC lane-cycles)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    return save_plot(fig, out_dir, name)


def _spatial_section(spatial: pd.DataFrame, out_dir: Path) -> list[str]:
    util = spatial.pivot_table(index=["arch", "C", "H"], columns="G", values="util_pe2d", sort=False)
    per_mac = spatial.pivot_table(index=["arch", "C", "H"], columns="G", values="energy_per_mac_pj", sort=False)
    tiles = spatial.pivot_table(index=["arch", "C", "H"], columns="G", values="tiles", aggfunc="first",
                                sort=False)
    plot = _plot_utilisation(spatial, out_dir, "e2gc_spatial_utilisation.png")
    return ["### Spatial arrays: utilisation against G", "",
            "The spatial_group_conv mapper (mappings/spatial_group_conv.py) runs each group as an im2col "
            "GEMM, weight-stationary, packing small groups block-diagonally; only pack x 9G x G of the "
            "array's PEs do useful MACs, so utilisation (util_pe2d) collapses as G shrinks.", "",
            markdown_table(util.round(4).reset_index()), "",
            f"![2D array utilisation vs G](plots/{plot})", "",
            "Energy per MAC (pJ):", "", markdown_table(per_mac.round(2).reset_index()), "",
            "Tiling chosen:", "", markdown_table(tiles.reset_index()), ""]


def report_sections(ok: pd.DataFrame, meta: dict, out_dir: Path) -> list[str]:
    lines = ["## E2GC: grouped convolution on GPUs and spatial arrays", ""]
    layers = ok[ok["network"] == "layer"] if "network" in ok.columns else ok.iloc[0:0]
    nets = ok[ok["network"] != "layer"] if "network" in ok.columns else ok.iloc[0:0]
    spatial = layers[layers["family"] == "spatial"] if "family" in layers.columns else layers.iloc[0:0]
    layers = layers[layers["family"] != "spatial"] if "family" in layers.columns else layers
    if len(layers):
        summary = layer_summary(layers)
        lines += ["### Per layer: simulated optimum and the model's G*", "",
                  "G_min_energy: the G of least total layer energy (simulated); G_star_*: the optimum-G "
                  "model (mappings/optimum_group.py) with the tensor-core unit and fp16 words at the "
                  "sweep's batch, and the paper's FP32 ridge reading at batch 1.", "",
                  markdown_table(summary), ""]
        lines += [f"Energy per MAC falls monotonically from depthwise to dense on "
                  f"{int(summary['energy_per_mac_monotone'].sum())} of {len(summary)} (machine, layer) pairs; "
                  f"total energy has an interior minimum over G >= 4 on "
                  f"{int(summary['interior_min_ge4'].sum())} of {len(summary)}.", ""]
        per_mac = _plot_layers(layers, "energy_per_mac_pj", "energy per MAC (pJ)", out_dir,
                               "e2gc_energy_per_mac.png", True)
        energy = _plot_layers(layers, "energy_pj", "layer energy (pJ)", out_dir, "e2gc_layer_energy.png", False)
        lines += ["![energy per MAC vs G; open triangles: ridge G*, open squares: energy-balance G*]"
                  f"(plots/{per_mac})", "",
                  f"![layer energy vs G; stars: simulated minimum](plots/{energy})", ""]
        pivot = layers.pivot_table(index=["arch", "C", "H"], columns="G", values="latency_s", sort=False)
        lines += ["### Layer latency (us) by G", "", markdown_table((pivot * 1e6).round(1).reset_index()), ""]
    if len(spatial):
        lines += _spatial_section(spatial, out_dir)
    if len(nets):
        cols = ["arch", "network", "G", "fggc_groups", "macs_fggc", "macs_e2gc", "images_per_s_fggc",
                "images_per_s_e2gc", "images_per_j_fggc", "images_per_j_e2gc", "ee_gain", "speed_gain",
                "energy_static_fraction_e2gc"]
        table = nets[cols].copy()
        table["paper_gain_p100"] = table["network"].map(PAPER_GAIN)
        lines += ["### Networks at matched complexity (FgGC g vs E2GC G)", "",
                  "ee_gain = images/J(E2GC) / images/J(FgGC) - 1; the paper reports +10.8% (MobileNet-V1) "
                  "and +4.73% (ResNeXt-50) on a P100.", "", markdown_table(table), ""]
        lines += [f"![images per joule per machine](plots/{_plot_networks(nets, out_dir, 'e2gc_networks.png')})", ""]
    return lines
