"""Every plot a report saves has labelled axes (read back from the figure objects as they are saved),
integer ticks on integer axes, and readable labels; sensitivity plots never pool different workloads."""
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from sweeps.cli import main
from sweeps.plots import PlotError, axis_label, covered_points, overlapping_tick_labels, save

SPECS = {
    "einsum": """name: e
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, fidelity: bound}
axes: {mapping: [unfused, fused], M: [64, 128, 256], arch.levels.dram.bandwidth_bytes_per_cycle: [16, 64]}
derived: {P: M}
""",
    "fusemax": """name: f
evaluator: fusemax
fixed: {model: bert, batch: 1, seq_len: 1024}
axes: {scope: [attention, end_to_end], config: [unfused, flat, cascade, architecture, binding]}
""",
    "smash": """name: s
evaluator: smash
fixed: {matrix: rmat, arch: piuma8, edge_factor: 4}
axes: {scale: [5, 6], kernel: [inner, outer, smash_v1], distribution: [static, dynamic]}
""",
}


@pytest.mark.parametrize("column, label", [
    ("latency_s", "latency (s)"), ("energy_pj", "energy (pJ)"), ("seq_len", "sequence length (tokens)"),
    ("arch.levels.glb.capacity_bytes", "glb capacity (bytes)"),
    ("arch.levels.dram.bandwidth_bytes_per_cycle", "dram bandwidth (bytes/cycle)"),
    ("map.tiles.p", "tile p"), ("peak_glb_bytes", "peak glb (bytes)"), ("mapping", "mapper")])
def test_axis_labels_carry_units(column, label):
    assert axis_label(column) == label


def test_an_unlabelled_axis_is_refused(tmp_path):
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 2], [3, 4])
    ax.set_xlabel("x (s)")
    with pytest.raises(PlotError, match="no y label"):
        save(fig, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_crowded_log_tick_labels_lose_their_minor_labels(tmp_path):
    """A log axis spanning less than a decade labels its minor ticks (2x10^1, 3x10^1, ...): on a
    narrow panel they collide, and save drops them."""
    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.add_subplot()
    ax.plot([21, 44], [1, 2], marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("peak memory (GB)")
    ax.set_ylabel("latency (s)")
    fig.tight_layout()
    assert overlapping_tick_labels(fig) == [(0, "x")]
    save(fig, tmp_path / "p.png")
    assert (tmp_path / "p.png").exists() and overlapping_tick_labels(fig) == []


def test_tick_labels_that_cannot_be_made_readable_are_refused(tmp_path):
    fig = Figure(figsize=(1.5, 2.0))
    ax = fig.add_subplot()
    names = [f"configuration_{i}" for i in range(40)]
    ax.plot(names, range(40), marker="o", linestyle="none")
    ax.set_xlabel("configuration")
    ax.set_ylabel("latency (s)")
    with pytest.raises(PlotError, match="overlapping x tick labels"):
        save(fig, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_uncluttering_does_not_flatten_labels_already_turned_further():
    """Crowded x labels a study turned by 90 degrees keep that angle (30 degrees would crowd them more)."""
    from sweeps.plots import _unclutter_ticks

    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.add_subplot()
    names = [f"configuration_{i}" for i in range(40)]
    ax.plot(names, range(40), marker="o", linestyle="none")
    ax.set_xticks(range(40), names, rotation=90)
    fig.tight_layout()
    _unclutter_ticks(fig, [(0, "x")])
    assert {label.get_rotation() for label in ax.get_xticklabels()} == {90.0}


@pytest.fixture(scope="module")
def saved_figures(tmp_path_factory):
    """Run a small sweep of each evaluator and capture every figure at the moment it is saved."""
    captured = {}
    original = Figure.savefig

    def capture(fig, path, *args, **kwargs):
        original(fig, path, *args, **kwargs)     # saving runs the layout; then read the figure back
        covers = covered_points(fig)
        captured[str(path)] = [
            {"x": ax.get_xlabel(), "y": ax.get_ylabel(), "title": ax.get_title(),
             "shows": bool(ax.get_lines() or ax.collections or ax.patches),
             "xscale": ax.get_xscale(), "xticks": list(ax.get_xticks()),
             "covers": covers,
             "crowded": overlapping_tick_labels(fig),
             "series": [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")],
             "legend": [text.get_text() for legend in [ax.get_legend(), *fig.legends] if legend
                        for text in legend.get_texts()],
             "connected": [ln.get_linestyle() not in ("None", "", " ") and len(ln.get_xdata()) > 1
                           for ln in ax.get_lines()],
             "xdata": [list(map(float, ln.get_xdata())) for ln in ax.get_lines()
                       if np.issubdtype(np.asarray(ln.get_xdata()).dtype, np.number)]}
            for ax in fig.axes]

    tmp = tmp_path_factory.mktemp("plots")
    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", capture)
    try:
        for name, text in SPECS.items():
            (tmp / f"{name}.yaml").write_text(text)
            assert main(["sweep", str(tmp / f"{name}.yaml"), "--out", str(tmp / name), "--no-progress"]) == 0
    finally:
        mp.undo()
    return captured


def test_every_saved_plot_has_labelled_axes(saved_figures):
    assert len(saved_figures) >= 10 and any("fig6" in p for p in saved_figures) and \
        any("smash_cycles" in p for p in saved_figures)
    for path, axes in saved_figures.items():
        for ax in axes:
            if not ax["shows"]:
                continue
            assert ax["x"].strip() and ax["y"].strip(), (path, ax)
            for label in (ax["x"], ax["y"]):
                assert not label.startswith(("arch.", "map.")), (path, label)   # a readable name, not a key


def test_no_saved_figure_has_overlapping_tick_labels(saved_figures):
    for path, axes in saved_figures.items():
        assert not any(ax["crowded"] for ax in axes), path


def test_no_saved_legend_covers_data(saved_figures):
    assert any("roofline" in p for p in saved_figures) and any("smash_speedups" in p for p in saved_figures)
    for path, axes in saved_figures.items():
        assert not any(ax["covers"] for ax in axes), path


def test_a_legend_names_every_series_of_its_figure(saved_figures):
    """A figure whose panels each lack one series (the smash speedups: no kernel over itself) still
    names every series in its legend."""
    assert any("smash_speedups" in p for p in saved_figures)
    for path, axes in saved_figures.items():
        legend = {name for ax in axes for name in ax["legend"]}
        if legend:
            assert {name for ax in axes for name in ax["series"]} <= legend, path


def _crowded(legend_on_figure=False):
    """Points filling the upper right corner, where the legend is asked to go."""
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    xs = np.linspace(0, 1, 21)
    for k in range(4):
        ax.plot(xs, 1 - 0.02 * k + 0 * xs, marker="o", label=f"series {k}")
    ax.set_xlabel("x (s)")
    ax.set_ylabel("y (s)")
    if legend_on_figure:
        fig.legend(loc="center")
    else:
        ax.legend(loc="upper right", title="which")
    return fig, ax


def test_a_legend_over_data_is_moved_outside(tmp_path):
    fig, ax = _crowded()
    assert covered_points(fig)                    # as drawn, the legend sits on the points
    save(fig, tmp_path / "p.png")
    renderer = fig.canvas.get_renderer()
    box = ax.get_legend().get_window_extent(renderer)
    assert not covered_points(fig) and box.x0 >= ax.bbox.x1      # now right of the axes
    assert ax.get_legend().get_title().get_text() == "which" and len(ax.get_legend().get_texts()) == 4
    assert box.x1 <= fig.bbox.x1 + 1                                # and not cut off
    assert (tmp_path / "p.png").exists()


def test_a_legend_of_a_left_panel_moves_right_of_the_whole_row(tmp_path):
    """A legend moved off the first of three panels lands right of the last one, not on the
    middle panel, and the layout still fits (no tight_layout warning)."""
    import warnings

    fig = Figure(figsize=(9, 3))
    panels = fig.subplots(1, 3)
    xs = np.linspace(0, 1, 21)
    for panel in panels:
        for k in range(3):
            panel.plot(xs, 1 - 0.02 * k + 0 * xs, marker="o", label=f"series {k}")
        panel.set_xlabel("x (s)")
        panel.set_ylabel("y (s)")
    panels[0].legend(loc="upper right", title="which")
    assert covered_points(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save(fig, tmp_path / "p.png")
    renderer = fig.canvas.get_renderer()
    assert panels[0].get_legend() is None and panels[1].get_legend() is None
    box = panels[2].get_legend().get_window_extent(renderer)
    assert box.x0 >= panels[2].bbox.x1 and box.x1 <= fig.bbox.x1 + 1
    assert panels[2].get_legend().get_title().get_text() == "which"
    assert [t.get_text() for t in panels[2].get_legend().get_texts()] == ["series 0", "series 1", "series 2"]


def test_a_legend_that_cannot_move_off_the_data_is_refused(tmp_path):
    fig, _ = _crowded(legend_on_figure=True)
    with pytest.raises(PlotError, match="legend of axes figure covers"):
        save(fig, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_a_legend_clear_of_the_data_stays(tmp_path):
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 0.1], marker="o", label="low")
    ax.set_ylim(0, 1)
    ax.set_xlabel("x (s)")
    ax.set_ylabel("y (s)")
    ax.legend(loc="upper left")
    save(fig, tmp_path / "p.png")
    assert ax.get_legend().get_window_extent(fig.canvas.get_renderer()).x1 < ax.bbox.x1


def test_integer_axes_get_integer_ticks(saved_figures):
    for path, axes in saved_figures.items():
        for ax in axes:
            data = [v for line in ax["xdata"] for v in line]
            if ax["xscale"] == "linear" and data and all(v == round(v) for v in data):
                assert all(t == round(t) for t in ax["xticks"]), (path, ax["xticks"])


def test_sensitivity_is_only_for_machine_axes_and_one_line_per_workload(saved_figures):
    names = {p.rsplit("/", 1)[-1] for p in saved_figures}
    assert "sensitivity_arch_levels_dram_bandwidth_bytes_per_cycle.png" in names
    assert "sensitivity_M.png" not in names and "sensitivity_seq_len.png" not in names   # workload axes
    assert "sensitivity_scale.png" not in names
    bandwidth = next(a for p, a in saved_figures.items() if p.endswith("sensitivity_arch_levels_dram_bandwidth_"
                                                                       "bytes_per_cycle.png"))
    assert all(len(ax["xdata"]) == 3 for ax in bandwidth if ax["shows"])          # M = 64, 128, 256


def test_categorical_sensitivity_draws_no_lines(saved_figures):
    config = next(a for p, a in saved_figures.items() if p.endswith("sensitivity_config.png"))
    assert any(ax["shows"] for ax in config)
    assert not any(c for ax in config for c in ax["connected"])


matplotlib.use("Agg")
