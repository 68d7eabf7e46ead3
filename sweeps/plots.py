"""Plot conventions shared by every report: axis labels with units, readable ticks, saving.

``axis_label(column)`` names a record column for an axis, with its unit (``latency_s`` ->
``latency (s)``, ``arch.levels.glb.capacity_bytes`` -> ``glb capacity (bytes)``). ``finish(fig)``
gives integer-valued linear axes integer ticks and turns long categorical tick labels so they do not
overlap. ``save(fig, path)`` refuses a figure with an unlabelled axis that shows data
(``PlotError``), lays it out, moves a legend that covers data points to the right of its row of
panels (and refuses the figure if a legend still covers a point), drops minor tick labels and turns
x labels where tick labels overlap (and refuses the figure if they still do), writes it and closes it.
"""
from __future__ import annotations

import re
from pathlib import Path

KNOWN = {
    "latency_s": "latency (s)", "energy_pj": "energy (pJ)", "dram_bytes": "DRAM traffic (bytes)",
    "area_mm2": "area (mm², placeholder densities)", "cycles": "cycles", "bound_cycles": "bound (cycles)",
    "seq_len": "sequence length (tokens)", "queries": "queries P", "pe_side": "PE-array side (PEs)",
    "M": "M (keys)", "P": "P (queries)", "E": "E (Q/K embedding)", "F": "F (V embedding)",
    "scale": "R-MAT scale (log2 rows)", "batch": "batch size", "mapping": "mapper", "config": "configuration",
}
UNITS = (("_bytes_per_cycle", "bytes/cycle"), ("_bytes", "bytes"), ("_pj", "pJ"), ("_mm2", "mm²"),
         ("_hz", "Hz"), ("_s", "s"), ("_cycles", "cycles"))


class PlotError(ValueError):
    """A figure that would be saved with an unlabelled axis."""


def axis_label(column: str) -> str:
    """A readable axis label with the unit a column name carries."""
    if column in KNOWN:
        return KNOWN[column]
    name = column.split(".")
    if name[0] == "arch" and len(name) >= 3:                       # arch.levels.glb.capacity_bytes
        name = name[2:]
    elif name[0] == "map":
        name = ["tile", *name[2:]] if name[1:2] == ["tiles"] else name[1:]
    text = " ".join(name)
    if column.startswith("util_"):
        return f"{column[5:]} utilisation (useful PE-cycles / PE-cycles)"
    if column.startswith("busy_"):
        return f"{column[5:]} busy (fraction of time)"
    for suffix, unit in UNITS:
        if text.endswith(suffix):
            return f"{re.sub('_', ' ', text[: -len(suffix)])} ({unit})"
    return text.replace("_", " ")


def finish(fig) -> None:
    """Integer ticks on linear axes whose data are integers; rotated, right-aligned categorical tick
    labels when they would otherwise overlap."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "linear" and _integer_data(ax, axis is ax.xaxis):
                axis.set_major_locator(MaxNLocator(integer=True))
        labels = [t.get_text() for t in ax.get_xticklabels()]
        if labels and sum(len(t) for t in labels) * 7 > ax.bbox.width:
            for tick in ax.get_xticklabels():
                tick.set_rotation(30)
                tick.set_horizontalalignment("right")


def _integer_data(ax, x: bool) -> bool:
    import numpy as np

    values = []
    for line in ax.get_lines():
        data = line.get_xdata() if x else line.get_ydata()
        try:
            values.append(np.asarray(data, dtype=float))
        except (TypeError, ValueError):
            return False
    values = [v for v in values if v.size]
    return bool(values) and all(np.all(np.isfinite(v)) and np.all(v == np.round(v)) for v in values)


def unlabelled(fig) -> list[str]:
    """The axes of ``fig`` that show data but lack an x or y label (empty when all are labelled)."""
    missing = []
    for i, ax in enumerate(fig.axes):
        shows = ax.get_lines() or ax.collections or ax.patches or ax.images
        if not shows:
            continue
        for name, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not label.strip():
                missing.append(f"axes {i} ({ax.get_title() or 'untitled'}): no {name} label")
    return missing


def _data_points(ax):
    """Display coordinates of the data points ``ax`` shows inside its frame: line vertices, scatter
    offsets and bar tops."""
    import numpy as np
    from matplotlib.patches import Rectangle

    chunks = []
    for line in ax.get_lines():
        xy = np.asarray(line.get_xydata(), dtype=float)            # unit-converted (categories too)
        chunks.append(line.get_transform().transform(xy) if len(xy) else xy)
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets(), dtype=float)
        if len(offsets) and coll.get_offset_transform() is not None:
            chunks.append(coll.get_offset_transform().transform(offsets))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_height():
            x, y = patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height()
            chunks.append(patch.get_transform().transform([(x, y)]))
    if not chunks:
        return np.empty((0, 2))
    points = np.concatenate([c.reshape(-1, 2) for c in chunks])
    points = points[np.isfinite(points).all(axis=1)]
    box = ax.bbox
    inside = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)
    return points[inside]


def covered_points(fig) -> list[str]:
    """Legends of ``fig`` that cover data points of any of its axes, as ``"legend of axes i covers n
    points"`` (empty when none does); draws the figure to measure it."""
    renderer = _drawn(fig)
    found = []
    legends = [(i, ax.get_legend()) for i, ax in enumerate(fig.axes)] + [("figure", lg) for lg in fig.legends]
    points = [_data_points(ax) for ax in fig.axes]
    for owner, legend in legends:
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        n = sum(int(((p[:, 0] > box.x0) & (p[:, 0] < box.x1) & (p[:, 1] > box.y0) & (p[:, 1] < box.y1)).sum())
                for p in points)
        if n:
            found.append(f"the legend of axes {owner} covers {n} data point(s)")
    return found


def overlapping_tick_labels(fig) -> list[tuple[int, str]]:
    """(axes index, "x" | "y") of every axis of ``fig`` with two drawn tick labels (major or minor)
    whose boxes overlap; draws the figure to measure them."""
    renderer = _drawn(fig)
    found = []
    for i, ax in enumerate(fig.axes):
        frame = ax.get_window_extent(renderer)
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            lo, hi = (frame.x0, frame.x1) if name == "x" else (frame.y0, frame.y1)
            drawn = []
            for label in axis.get_ticklabels(which="both"):
                if not (label.get_visible() and label.get_text().strip()):
                    continue
                anchor = label.get_transform().transform(label.get_position())[0 if name == "x" else 1]
                if lo - 1 <= anchor <= hi + 1:                   # drawn: its tick is inside the frame
                    drawn.append((anchor, label))
            if _crowded(drawn, renderer, fig.dpi):
                found.append((i, name))
    return found


def _crowded(drawn: list, renderer, dpi: float) -> bool:
    """Whether neighbouring tick labels ``[(anchor position in pixels along the axis, label)]``
    overlap: two turned labels (parallel, rotated by t) when the distance between their baselines,
    spacing x sin t, is below the text height; otherwise by their boxes."""
    import math

    drawn = sorted(drawn, key=lambda pair: pair[0])
    for (a, first), (b, second) in zip(drawn, drawn[1:]):
        turned = (first.get_rotation() % 180, second.get_rotation() % 180)
        if all(turned):
            height = max(first.get_fontsize(), second.get_fontsize()) * dpi / 72
            if (b - a) * abs(math.sin(math.radians(min(turned)))) < 0.9 * height:
                return True
        elif first.get_window_extent(renderer).expanded(0.98, 0.98).overlaps(
                second.get_window_extent(renderer).expanded(0.98, 0.98)):
            return True
    return False


def _unclutter_ticks(fig, crowded: list[tuple[int, str]]) -> None:
    """Drop the minor tick labels of each crowded axis (log axes label 2x, 3x... within a decade);
    turn crowded x labels that remain by 30 degrees (labels already turned keep their angle)."""
    from matplotlib.ticker import NullFormatter

    for i, name in crowded:
        ax = fig.axes[i]
        axis = ax.xaxis if name == "x" else ax.yaxis
        axis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    for i, name in overlapping_tick_labels(fig):
        if name == "x":
            for label in fig.axes[i].get_xticklabels():
                if label.get_rotation() % 180 == 0:
                    label.set_rotation(30)
                    label.set_horizontalalignment("right")


def _drawn(fig):
    """Lay ``fig`` out as drawing would, without rasterising it (on an Agg canvas if it has no
    renderer of its own), and return the renderer its extents are measured with."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def _widen_for_outside_legends(fig) -> None:
    """Widen ``fig`` by as much as its legends reach past its right edge (a legend placed right of
    its axes), so that laying out does not squeeze the panels to make room for them. Once laid out,
    a legend is inside the figure and adds nothing on a later call."""
    renderer = _drawn(fig)
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    reach_px = max((legend.get_window_extent(renderer).x1 for legend in legends
                    if legend is not None and legend.get_visible()), default=0.0)
    overflow_px = reach_px - fig.bbox.x1
    if overflow_px > 0:
        width_in, height_in = fig.get_size_inches()
        fig.set_size_inches(width_in + overflow_px / fig.dpi + 0.1, height_in)


def _row_end(fig, ax):
    """The rightmost axes of ``ax``'s row of panels (axes whose vertical extents overlap it)."""
    box = ax.get_position()
    row = [other for other in fig.axes
           if other.get_position().y0 < box.y1 and other.get_position().y1 > box.y0]
    return max(row, key=lambda other: other.get_position().x1)


def _move_legends_outside(fig) -> None:
    """Re-place every axes legend to the right of its row of panels (to the right of the row's
    rightmost axes, when that one has no legend of its own; else to the right of its own axes),
    keeping its entries, title and font size; the figure widens by the legends' width so that the
    panels keep theirs."""
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        title = legend.get_title().get_text() or None
        size = legend.get_texts()[0].get_fontsize() if labels else None
        host = _row_end(fig, ax)
        if host is not ax and host.get_legend() is None:
            legend.remove()
        else:
            host = ax
        host.legend(handles, labels, title=title, fontsize=size, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    borderaxespad=0.0)
    _widen_for_outside_legends(fig)


def _uncover_data(fig, path) -> None:
    """Move legends that cover data points outside (laid out again); ``PlotError`` if one still does."""
    import matplotlib.pyplot as plt

    if covered_points(fig):
        _move_legends_outside(fig)
        fig.tight_layout()
        covered = covered_points(fig)
        if covered:
            plt.close(fig)
            raise PlotError(f"{Path(path).name}: {'; '.join(covered)}")


def save(fig, path: Path, dpi: int = 110) -> Path:
    """Check labels, lay out, write ``path`` and close ``fig``; ``PlotError`` if an axis is unlabelled,
    a legend covers data points even outside its axes, or tick labels overlap even without minor
    labels and with turned x labels."""
    import matplotlib.pyplot as plt

    missing = unlabelled(fig)
    if missing:
        plt.close(fig)
        raise PlotError(f"{Path(path).name}: {'; '.join(missing)}")
    finish(fig)
    _widen_for_outside_legends(fig)
    fig.tight_layout()
    _uncover_data(fig, path)
    crowded = overlapping_tick_labels(fig)
    if crowded:
        _unclutter_ticks(fig, crowded)
        fig.tight_layout()
        crowded = overlapping_tick_labels(fig)
        if crowded:
            plt.close(fig)
            raise PlotError(f"{Path(path).name}: " + "; ".join(
                f"axes {i}: overlapping {name} tick labels" for i, name in crowded))
        _uncover_data(fig, path)          # turned labels re-lay the panels out: a legend may cover data now
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)
