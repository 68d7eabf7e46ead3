"""The GPU microbenchmark study (``evaluator: gpu_micro``): the reference protocol's workloads on GPU
presets (docs/reference/gpu.md: copy, GEMM, attention unfused and fused).

Point keys: ``arch`` (a GPU preset), ``case`` (``copy/<bytes>``, ``gemm/<n>`` for M = N = K = n,
``gemm_skinny/<m>`` for M = m, N = K = 8192, ``attention_unfused/<N>``, ``attention_fused/<N>``
with B = 1, H = 16, D = 64, ``video_block/<slices>``: the reference's video block (B, C, F, H, W)
= (1, 320, 16, 64, 64) whole (1) or under Operator Grouping with that many slices, graph
lowering of mappings/gpu/graph.py, docs/video.md), optional ``precision`` (fp16; the video block
is fp16 only) and ``arch.<path>`` overrides. Records: archsim.record.result_metrics plus bench,
variant, bytes, M, N, K, seq_len, slices, energy_j, peak_bytes (= peak_dram_bytes: above the inputs;
the video block: above its input and weights, from the graph's liveness), tflops and bandwidth_gbps
(copy: read + write bytes per second).
Not yet modelled here: group_conv and spgemm on GPUs (see docs/gpu.md).
"""
from __future__ import annotations

from pathlib import Path

import archsim
import workloads
from archsim.families import get_family
from archsim.record import result_metrics
from mappings import lower, map_cascade
from mappings.gpu.graph import lower_graph, time_program
from workloads.graphs import GraphError
from workloads.graphs.liveness import liveness
from workloads.graphs.models import video_block
from workloads.graphs.streamline import operator_grouping

from ..evaluators import Evaluator, Param, register
from ..lazy import pd, plt
from ..params import study_classifier
from ..report import markdown_table, save_plot

KEYS = ("arch", "case", "precision")
HEADS, HEAD_DIM, SKINNY_NK = 16, 64, 8192
BENCHES = ("copy", "gemm", "gemm_skinny", "attention_unfused", "attention_fused", "video_block")


classify = study_classifier("gpu_micro", KEYS)


def _case(case: str) -> tuple[str, int]:
    bench, _, size = str(case).partition("/")
    if bench not in BENCHES or not size.isdigit():
        raise ValueError(f"case: expected {'|'.join(BENCHES)}/<int>, got {case!r}")
    return bench, int(size)


def _video_block(slices: int):
    """(graph, columns) of the reference's video block, whole or grouped into ``slices`` slices."""
    graph = video_block()
    if slices < 1:
        raise ValueError(f"case: video_block slices must be at least 1, got {slices}")
    if slices > 1:
        try:
            graph = operator_grouping(graph, slices)
        except GraphError as err:
            raise ValueError(f"case: video_block/{slices}: {err}") from None
    return graph, {"bench": "video_block", "variant": "whole" if slices == 1 else "grouped",
                   "slices": slices}


def _workload(bench: str, size: int, elem: int):
    """(cascade, mapper, options, columns) of one case."""
    if bench == "copy":
        if size % (2 * elem * 1024):
            raise ValueError(f"case: copy size must be a multiple of {2 * elem * 1024} bytes, got {size}")
        return (workloads.build("copy", M=size // elem // 1024, N=1024), "gpu_copy", {},
                {"bench": "copy", "variant": "copy", "bytes": size})
    if bench in ("gemm", "gemm_skinny"):
        M, N, K = (size, size, size) if bench == "gemm" else (size, SKINNY_NK, SKINNY_NK)
        return (workloads.build("gemm", M=M, K=K, N=N), "gpu_gemm", {},
                {"bench": "gemm", "variant": "square" if bench == "gemm" else "skinny", "M": M, "N": N, "K": K})
    variant = bench.split("_")[1]
    shape = dict(M=size, P=size, E=HEAD_DIM, F=HEAD_DIM)
    cascade = (workloads.build("attention_3pass", **shape) if variant == "unfused"
               else workloads.build("attention_1pass", **shape, M0=min(64, size)))
    return (cascade, f"gpu_attention_{variant}", {"instances": HEADS},
            {"bench": "attention", "variant": variant, "seq_len": size})


def _mapped(params: dict):
    """(arch, bench, size, cascade, mapping, columns) of a point; ValueError naming the key."""
    for key in params:
        classify(key)
    overrides = {k[5:]: v for k, v in params.items() if k.startswith("arch.")}
    arch = archsim.load_arch(str(params["arch"]), overrides)
    if arch.family != "gpu":
        raise ValueError(f"arch: {arch.name} is a {arch.family} preset; gpu_micro needs a GPU preset")
    bench, size = _case(params["case"])
    precision = str(params.get("precision", "fp16"))
    if bench == "video_block":
        if precision != "fp16":
            raise ValueError(f"precision: the video block is an fp16 graph, got {precision!r}")
        graph, columns = _video_block(size)
        return arch, bench, size, graph, None, columns
    elem = archsim.gpu.PRECISIONS.get(precision, 2)
    cascade, mapper, options, columns = _workload(bench, size, elem)
    mapping = map_cascade(mapper, cascade, arch, precision=precision, **options)
    return arch, bench, size, cascade, mapping, columns


def check(params: dict) -> None:
    """Known arch (a GPU preset), case and precision: everything but the simulation."""
    _mapped(params)


def _evaluate_video_block(arch, graph, columns: dict) -> dict:
    """Event simulation of the lowered block (repeated kernels simulated once, equal to
    simulate_gpu: tests/mappings/test_gpu_graph.py); peak memory from the graph's liveness."""
    memory = liveness(graph)
    peak = memory.peak_bytes - memory.persistent_bytes        # above the input and weights
    result = time_program(lower_graph(graph, arch), arch, peak)
    record = dict(columns)
    record.update(result_metrics(result, arch, archsim.energy(result, arch)))
    record.update(energy_j=record["energy_pj"] * 1e-12, peak_bytes=peak)
    return record


def evaluate(params: dict, seed: int = 0) -> dict:
    arch, bench, size, cascade, mapping, columns = _mapped(params)
    if bench == "video_block":
        return _evaluate_video_block(arch, cascade, columns)
    result = get_family("gpu").simulate(lower(cascade, mapping, arch), arch, seed)
    record = {**columns, **mapping.describe()}
    record.update(result_metrics(result, arch, archsim.energy(result, arch)))
    seconds = record["latency_s"]
    record.update(energy_j=record["energy_pj"] * 1e-12, peak_bytes=result.peak_bytes.get("dram", 0))
    if bench.startswith("gemm"):
        record["tflops"] = 2 * columns["M"] * columns["N"] * columns["K"] / seconds / 1e12
    elif bench.startswith("attention"):
        record["tflops"] = 4 * HEADS * size * size * HEAD_DIM / seconds / 1e12
    else:
        record["bandwidth_gbps"] = 2 * size / seconds / 1e9
    return record


def report_sections(ok: pd.DataFrame, meta: dict, out_dir: Path) -> list[str]:
    lines = ["## GPU microbenchmarks (docs/reference/gpu.md protocol)", ""]
    copy = ok[ok["bench"] == "copy"]
    if len(copy):
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch, g in copy.groupby("arch"):
            g = g.sort_values("bytes")
            line, = ax.plot(2 * g["bytes"] / 2 ** 20, g["bandwidth_gbps"], marker="o", label=arch)
            peak = archsim.load_arch(arch).levels["dram"].bandwidth_bytes_per_cycle * archsim.load_arch(arch).clock_hz
            ax.axhline(peak / 1e9, color=line.get_color(), ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("working set: source + destination (MiB)")
        ax.set_ylabel("copy bandwidth, read + write (GB/s)")
        ax.set_title("Copy bandwidth by working set (dotted: DRAM peak)")
        ax.legend(fontsize=7)
        lines += [f"![copy bandwidth](plots/{save_plot(fig, out_dir, 'copy_bandwidth.png')})", ""]
    gemm = ok[(ok["bench"] == "gemm") & (ok["variant"] == "square")]
    if len(gemm):
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch, g in gemm.groupby("arch"):
            g = g.sort_values("M")
            a = archsim.load_arch(arch)
            line, = ax.plot(g["M"], g["tflops"], marker="o", label=arch)
            ax.axhline(2 * a.units["mma"].lanes * a.units["mma"].count * a.clock_hz / 1e12,
                       color=line.get_color(), ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("M = N = K")
        ax.set_ylabel("fp16 GEMM throughput (TFLOP/s)")
        ax.set_title("GEMM against the dense tensor peak (dotted)")
        ax.legend(fontsize=7)
        lines += [f"![gemm](plots/{save_plot(fig, out_dir, 'gemm_tflops.png')})", ""]
    att = ok[ok["bench"] == "attention"]
    if len(att):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for (arch, variant), g in att.groupby(["arch", "variant"]):
            g = g.sort_values("seq_len")
            axes[0].plot(g["seq_len"], g["latency_s"] * 1e3, marker="o", label=f"{arch} {variant}")
            axes[1].plot(g["seq_len"], g["peak_bytes"] / 2 ** 20, marker="o", label=f"{arch} {variant}")
        for ax, label in zip(axes, ("time (ms)", "peak memory above inputs (MiB)")):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length N (B = 1, H = 16, D = 64)")
            ax.set_ylabel(label)
            ax.legend(fontsize=6)
        axes[0].set_title("Attention time")
        axes[1].set_title("Attention peak memory")
        lines += [f"![attention](plots/{save_plot(fig, out_dir, 'attention.png')})", ""]
    video = ok[ok["bench"] == "video_block"]
    if len(video):
        table = video.pivot_table(index="slices", columns="arch", values=["peak_bytes", "latency_s"])
        table = pd.concat([table["peak_bytes"] / 2 ** 20, table["latency_s"] * 1e3], axis=1,
                          keys=["peak (MiB)", "time (ms)"])
        table.columns = [f"{arch} {value}" for value, arch in table.columns]
        lines += ["### The reference's video block (1, 320, 16, 64, 64): whole vs Operator Grouping slices",
                  "", "Peak memory above the input and weights (MiB) and time (ms) per slice count.", "",
                  markdown_table(table.reset_index()), ""]
    cols = [c for c in ("arch", "bench", "variant", "bytes", "M", "N", "K", "seq_len", "slices", "latency_s",
                        "energy_j", "peak_bytes", "tflops", "bandwidth_gbps", "tiles") if c in ok.columns]
    lines += ["### All points", "", markdown_table(ok[cols]), ""]
    return lines


PARAMS = (
    Param("arch", "GPU preset", "required", "a family: gpu preset (`archsim list`)"),
    Param("case", "BENCH/SIZE", "required", "copy/<bytes>, gemm/<n> (M = N = K), gemm_skinny/<m> "
          "(N = K = 8192), attention_unfused/<N>, attention_fused/<N> (B = 1, H = 16, D = 64), "
          "video_block/<slices> (1 = whole; 2..16 Operator Grouping slices)"),
    Param("precision", "fp16 | bf16 | fp32", "fp16", "element type of every tensor"),
    Param("arch.<path>", "number", "the preset's value", "override one preset field (it must exist)"),
)

register(Evaluator("gpu_micro", "GPU microbenchmarks: copy, GEMM, attention on GPU presets (arch, case)",
                   ("arch", "case"), classify, evaluate, report_sections,
                   is_workload_key=lambda key: key == "case", params=PARAMS, check=check))
