"""The streamlined study: bad input is one `error:` line (exit 2) before any point runs (sweeps.validate); a small point's
record is consistent (latency = sum of phases x repeats, fit flags) and deterministic."""
import pytest

from sweeps.cli import main
from sweeps.evaluators import get_evaluator

SMALL = dict(model="animatediff", height=256, width=256, frames=4, steps=3, arch="a100_80gb")


def _spec(tmp_path, fixed: str, axes: str = "") -> str:
    path = tmp_path / "v.yaml"
    path.write_text(f"name: v\ndescription: x\nevaluator: streamlined\nfixed: {fixed}\n" + (f"axes: {axes}\n" if axes else ""))
    return str(path)


@pytest.mark.parametrize("fixed,axes,message", [
    ("{model: animatediff, variant: grouping, arch: a100_80gb}", "{slices: [4, 9]}",
     "9 exceeds the sliced axis"),
    # no slice count: the plan's default (8) exceeds the 256x256 latent's deepest width (4)
    ("{model: animatediff, variant: grouping, arch: a100_80gb, height: 256, width: 256}", "",
     "8 exceeds the sliced axis"),
    ("{model: animatediff, variant: baseline, arch: a100_80gb, width: 516}", "", "516 is not divisible by the latent factor 8"),
    ("{model: svd, variant: baseline, arch: a100_80gb, height: 584}", "", "latent 73 is not divisible by the UNet's downsampling"),
    ("{model: animatediff, variant: baseline, arch: a100_80gb, slice: 2}", "", "unknown parameter of the streamlined evaluator"),
])
def test_bad_input_is_one_line(tmp_path, capsys, fixed, axes, message):
    code = main(["sweep", _spec(tmp_path, fixed, axes), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def evaluate():
    return get_evaluator("streamlined").evaluate


def test_small_point_record(evaluate):
    r = evaluate(dict(SMALL, variant="rehash", slices=2))
    phases = ("unet_key", "unet_reuse", "vae_decode")
    assert r["unet_key_count"] + r["unet_reuse_count"] == 3 and r["vae_decode_count"] == 4
    assert r["latency_s"] == pytest.approx(sum(r[f"{p}_s"] * r[f"{p}_count"] for p in phases))
    assert r["unet_reuse_s"] < r["unet_key_s"]
    assert r["fits"] == (r["peak_bytes"] <= 80 * 2 ** 30)
    assert r["fits_11gb"] == (r["peak_bytes"] <= 11 * 2 ** 30)
    assert r["energy_j"] > 0 and r["fidelity"] == "bound"
    assert evaluate(dict(SMALL, variant="rehash", slices=2)) == r


def test_streamlining_lowers_the_peak(evaluate):
    base = evaluate(dict(SMALL, variant="baseline"))
    small = evaluate(dict(SMALL, variant="grouping", slices=4))
    assert small["peak_bytes"] < base["peak_bytes"]


@pytest.mark.parametrize("fidelity", ["bound", pytest.param("event", marks=pytest.mark.slow)])
def test_step_and_kernel_caches_are_exact(evaluate, fidelity):
    """The study times each phase once (repeated kernels once) and multiplies by the repeat count;
    timing every step on its own with the GPU family's uncached simulators gives the same numbers
    (event: ~1 min; tests/mappings/test_gpu_graph.py checks the per-program kernel memo on a small graph)."""
    import archsim
    from archsim.gpu import bound_gpu, simulate_gpu
    from mappings.gpu.graph import clear_kernel_cache, lower_graph
    from workloads.graphs.pipeline import plan_pipeline

    params = dict(SMALL, variant="rehash", slices=2, fidelity=fidelity)
    if fidelity == "event":           # a smaller generation: the event simulation is slow
        params.update(height=128, width=128, frames=2, steps=2)
    cached = evaluate(params)
    plan = plan_pipeline(**{k: v for k, v in params.items() if k not in ("arch", "fidelity")})
    arch = archsim.load_arch("a100_80gb")
    latency = energy = 0.0
    for phase in plan.phases:
        for _ in range(phase.count):
            clear_kernel_cache()
            program = lower_graph(phase.graph, arch, tile_timing=fidelity)
            r = simulate_gpu(program, arch) if fidelity == "event" else bound_gpu(program, arch)
            latency += r.seconds
            energy += archsim.energy(r, arch).total_pj * 1e-12
    assert cached["gemm_tile_timing"] == fidelity
    assert cached["latency_s"] == pytest.approx(latency, rel=1e-12)
    assert cached["energy_j"] == pytest.approx(energy, rel=1e-12)


def test_report_has_fits_timelines_and_pareto(evaluate, tmp_path):
    import pandas as pd

    from sweeps.studies.streamlined import report_sections
    rows = [dict(SMALL, variant=v, slices=s, **evaluate(dict(SMALL, variant=v, slices=s, arch=a)), arch=a)
            for v, s in (("baseline", 1), ("rehash", 2), ("rehash", 4)) for a in ("a100_80gb", "rtx2080ti")]
    text = "\n".join(report_sections(pd.DataFrame(rows), {}, tmp_path))
    assert "| animatediff 256x256x4 | rehash x4 |" in text
    assert "a100_80gb_fits" in text and "rtx2080ti_latency_s" in text
    assert (tmp_path / "plots" / "streamlined_timeline_animatediff_256x256x4.png").exists()
    assert (tmp_path / "plots" / "streamlined_pareto.png").exists()


def _pareto_rows(points):
    import pandas as pd
    rows = [dict(model="animatediff", height=h, width=h, frames=4, arch="a100_80gb", variant=v, slices=s,
                 peak_gb=10.0 / s, latency_s=1.0 + s) for h, v, s in points]
    frame = pd.DataFrame(rows)
    frame["case"] = [f"animatediff {h}x{h}x4" for h, _, _ in points]
    return frame


@pytest.mark.parametrize("points,labels", [
    ([(256, "baseline", 1), (512, "baseline", 1)], ["baseline"]),
    # the first panel has no rehash line: the legend still names it, and baseline once
    ([(256, "baseline", 1), (512, "baseline", 1), (512, "rehash", 2), (512, "rehash", 4)],
     ["baseline", "a100_80gb rehash"]),
])
def test_pareto_legend_names_every_series_of_every_panel(points, labels):
    import warnings

    from sweeps.studies.streamlined import _plot_pareto
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = _plot_pareto(_pareto_rows(points))
    assert sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts()) == sorted(labels)


def test_paper_table_marks_the_review_latency_as_reported():
    """The AnimateDiff latencies come from a third-party review, not the paper: the column says
    ``reported``, and SVD (no reported latency) has none."""
    import pandas as pd

    from sweeps.studies.streamlined import _case, _label, _paper_table
    rows = [dict(model=m, height=h, width=w, frames=f, arch="a100_80gb", variant=v, slices=s,
                 peak_gb=40.0 / s, latency_s=10.0 + s)
            for m, h, w, f in (("animatediff", 512, 512, 16), ("svd", 576, 1024, 14))
            for v, s in (("baseline", 1), ("rehash", 4))]
    ok = pd.DataFrame(rows)
    ok["config"], ok["case"] = ok.apply(_label, axis=1), ok.apply(_case, axis=1)
    table = _paper_table(ok).set_index("model")
    assert "paper_latency_ratio" not in table.columns
    assert table.loc["animatediff 512x512x16", "reported_latency_ratio"] == pytest.approx(24.38 / 15.15)
    assert table.loc["animatediff 512x512x16", "paper_baseline_gb"] == 41.7
    assert pd.isna(table.loc["svd 576x1024x14", "reported_latency_ratio"])
