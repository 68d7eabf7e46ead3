"""Area model for spatial arrays: good enough for iso-area statements and the Pareto study.

Area = PEs x per-PE area + buffer bytes x SRAM area per byte (45 nm, to match the energy table).
Assumes area scales linearly with PE count and buffer capacity (no wiring/NoC growth, no periphery
amortisation, no I/O or DRAM PHY). Per-PE and per-byte densities below are placeholders: fusemax.md
gives no area numbers, so iso-area and Pareto statements are *relative* (same densities on both
sides), not absolute mm^2 claims. A PE with a dedicated exp unit (FLAT's 1D array,
``dedicated_units_per_pe``) is priced higher. The
presets' ``area_um2`` tables are these formulas evaluated at their default sizes (a test checks it).
"""
from __future__ import annotations

__all__ = ["AREA_DENSITIES", "area_um2", "total_area_mm2"]

AREA_DENSITIES: dict[str, dict] = {
    "pe2d_um2_per_pe": {"value": 42000.0, "source": "placeholder: fp16 MAC (~30k um^2 at 45 nm) + max + 16-entry RF; not in fusemax.md"},
    "pe1d_um2_per_pe": {"value": 52000.0, "source": "placeholder: 2D PE + divider + 32-entry RF; not in fusemax.md"},
    "exp_unit_um2_per_pe": {"value": 10000.0, "source": "placeholder: table-based exp unit in FLAT's 1D PEs; not in fusemax.md"},
    "sram_um2_per_byte": {"value": 0.5e6 / (2**20 / 8), "source": "placeholder: ~0.5 mm^2 per Mbit, 45 nm SRAM with periphery = 0.5e6 um^2 / 131072 B = 3.81 um^2/B; not in fusemax.md"},
}


def _d(key: str) -> float:
    return AREA_DENSITIES[key]["value"]


def area_um2(arch) -> dict[str, float]:
    """Area per component (um^2) of a spatial ``arch`` with units ``pe2d``/``pe1d`` and an on-chip
    level ``glb``; off-chip levels count zero. Raises ``ValueError`` naming a missing component."""
    out: dict[str, float] = {}
    for name, unit in arch.units.items():
        if unit.kind == "pe_array_2d":
            per_pe = _d("pe2d_um2_per_pe")
        elif unit.kind == "pe_array_1d":
            per_pe = _d("pe1d_um2_per_pe")
            per_pe += _d("exp_unit_um2_per_pe") * unit.dedicated_units_per_pe.get("exp", 0)
        else:
            raise ValueError(f"units.{name}: area model covers PE arrays only, got kind {unit.kind!r}")
        out[name] = per_pe * unit.lanes * unit.count
    for name, level in arch.levels.items():
        on_chip = name != "dram"
        out[name] = level.capacity_bytes * _d("sram_um2_per_byte") if on_chip else 0.0
    return out


def total_area_mm2(arch) -> float:
    """Sum of :func:`area_um2` in mm^2."""
    return sum(area_um2(arch).values()) / 1e6
