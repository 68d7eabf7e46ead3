"""Compare measured per-layer energies with an ``e2gc`` study's simulated curves.

Measured GPU layer energies are compared with the simulated per-layer curves
(energy against group size G for each layer (C, H)) by two figures per layer: where the minimum
falls (over every G and over G >= 4) and the Spearman rank correlation of energy over the G both
hold. The measured file is a CSV with columns ``arch``, ``C``, ``H``, ``G`` and ``energy_j`` (one
row per layer and group size; other columns are ignored).

    python -m sweeps.studies.e2gc_measured reports/e2gc/results.csv measured.csv [--arch h200_sxm]

prints one row per (arch, C, H) both files hold and exits 2 with one ``error:`` line when a file
is missing, unreadable or lacks a column.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..lazy import pd

MEASURED_COLUMNS = ("arch", "C", "H", "G", "energy_j")
KEYS = ["arch", "C", "H"]


def _read(path: Path, columns: tuple[str, ...], what: str):
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the {what} CSV ({exc.__class__.__name__}: {exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: {missing[0]}: column missing from the {what} CSV (needs {', '.join(columns)})")
    return frame


def _argmin_g(frame, column: str, least_g: int = 1) -> int | None:
    wide = frame[frame["G"] >= least_g]
    return int(wide.loc[wide[column].idxmin(), "G"]) if len(wide) else None


def compare(simulated, measured):
    """Per (arch, C, H) in both: the G of least energy, simulated and measured, over every G and over
    G >= 4, and the Spearman rank correlation of energy over the group sizes both hold."""
    from scipy.stats import spearmanr
    sim = simulated[(simulated["network"] == "layer") & (simulated["status"] == "ok")]
    sim = sim.assign(energy_j=sim["energy_pj"] * 1e-12)[KEYS + ["G", "energy_j"]]
    rows = []
    for key, m in measured.groupby(KEYS, sort=True):
        s = sim[(sim["arch"] == key[0]) & (sim["C"] == key[1]) & (sim["H"] == key[2])]
        both = s.merge(m[["G", "energy_j"]], on="G", suffixes=("_sim", "_measured")).sort_values("G")
        if len(both) < 2:
            continue
        rho = spearmanr(both["energy_j_sim"], both["energy_j_measured"]).statistic
        rows.append({"arch": key[0], "C": key[1], "H": key[2], "group_sizes": len(both),
                     "G_min_sim": _argmin_g(both, "energy_j_sim"),
                     "G_min_measured": _argmin_g(both, "energy_j_measured"),
                     "G_min_ge4_sim": _argmin_g(both, "energy_j_sim", 4),
                     "G_min_ge4_measured": _argmin_g(both, "energy_j_measured", 4),
                     "spearman_rho": float(rho)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, help="an e2gc study's results.csv")
    ap.add_argument("measured", type=Path, help=f"measured CSV with columns {', '.join(MEASURED_COLUMNS)}")
    ap.add_argument("--arch", help="compare this preset only (e.g. h200_sxm)")
    args = ap.parse_args(argv)
    try:
        simulated = _read(args.results, ("arch", "network", "status", "C", "H", "G", "energy_pj"), "results")
        measured = _read(args.measured, MEASURED_COLUMNS, "measured")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.arch:
        measured = measured[measured["arch"] == args.arch]
    table = compare(simulated, measured)
    if table.empty:
        print("error: no (arch, C, H) layer with two or more group sizes in both files", file=sys.stderr)
        return 2
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
