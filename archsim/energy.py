"""Energy: action counts times the architecture's per-action energy table (Accelergy style).

``energy_pj[component][action]`` prices one ``"<component>.<action>"`` action of
:attr:`SimResult.actions` (a unit's operator count, or a level's ``read``/``write`` accesses of
``access_bytes``). Dynamic energy only: leakage and static power are ignored (as in the FuseMax
artifact), as are clock tree, network-on-chip and control overheads unless a preset lists them as
actions. A unit's register-file actions (``rf_read``/``rf_write``, archsim.spec.ComputeUnit) are
grouped as component ``<unit>_rf``. No silent defaults: an action with a nonzero count and no table entry raises
:class:`MissingEnergyError`. The breakdown lists the placeholder entries it used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import MissingEnergyError
from .spec import RF_ACTIONS

__all__ = ["energy", "EnergyBreakdown", "SRAM_READ_PJ_PER_64B_45NM", "sram_access_pj_per_64b"]

# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm:
# energy of one 64-bit read of an SRAM array of the given capacity (KB taken as 1024 B).
SRAM_READ_PJ_PER_64B_45NM: tuple[tuple[int, float], ...] = (
    (8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))


def sram_access_pj_per_64b(capacity_bytes: int) -> float:
    """Energy (pJ, 45 nm) of one 64-bit access of an SRAM of ``capacity_bytes``.

    Between Horowitz's anchors (:data:`SRAM_READ_PJ_PER_64B_45NM`) a power law through the two
    neighbouring anchors; outside them one rule: energy grows as sqrt(capacity), from the nearest
    anchor. Why sqrt: a large SRAM's access energy is dominated by the wires that carry the address
    and data to and from the addressed sub-array, whose length grows with the side of a square
    array, i.e. with sqrt(capacity); Horowitz's own anchors follow it (8 -> 32 KB: 4x capacity, 2x
    energy; 32 KB -> 1 MB: 32x capacity, 5x energy vs sqrt 5.7x). The rule was fixed before any
    result was computed with it. A write is priced as a read (Horowitz quotes reads only).
    """
    if capacity_bytes <= 0:
        raise ValueError(f"capacity_bytes: must be positive, got {capacity_bytes}")
    anchors = SRAM_READ_PJ_PER_64B_45NM
    lo_cap, lo_pj = anchors[0]
    hi_cap, hi_pj = anchors[-1]
    if capacity_bytes <= lo_cap:
        return lo_pj * math.sqrt(capacity_bytes / lo_cap)
    if capacity_bytes >= hi_cap:
        return hi_pj * math.sqrt(capacity_bytes / hi_cap)
    for (c0, e0), (c1, e1) in zip(anchors, anchors[1:]):
        if c0 <= capacity_bytes <= c1:
            slope = math.log(e1 / e0) / math.log(c1 / c0)
            return e0 * (capacity_bytes / c0) ** slope
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class EnergyBreakdown:
    """``total_pj`` = sum(``by_action``) = sum(``by_component``) (up to float rounding); components
    are units, levels and ``<unit>_rf`` (a unit's register files);
    ``placeholders``: the ``energy_pj.*`` paths used whose source is a placeholder."""

    arch: str
    total_pj: float
    by_component: dict[str, float]
    by_action: dict[str, float]
    placeholders: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def energy(result, arch) -> EnergyBreakdown:
    """Price ``result.actions`` with ``arch.energy_pj``; raises :class:`MissingEnergyError`."""
    by_action: dict[str, float] = {}
    by_component: dict[str, float] = {}
    placeholders = []
    placeholder_set = set(arch.placeholders)
    for action, count in sorted(result.actions.items()):
        if not count:
            continue
        component, _, act = action.rpartition(".")
        pj = arch.energy_pj.get(component, {}).get(act)
        if pj is None:
            raise MissingEnergyError(
                f"arch {arch.name!r}: no energy entry for action {action!r} "
                f"(count {count}); add energy_pj.{component}.{act} to the preset")
        path = f"energy_pj.{component}.{act}"
        if path in placeholder_set:
            placeholders.append(path)
        e = count * pj
        by_action[action] = e
        if act in RF_ACTIONS:      # a unit's register files are their own component
            component = f"{component}_rf"
        by_component[component] = by_component.get(component, 0.0) + e
    if arch.static_power_w:
        static_pj = arch.static_power_w * result.seconds * 1e12
        by_action["static"] = static_pj
        by_component["static"] = static_pj
        if "static_power_w" in placeholder_set:
            placeholders.append("static_power_w")
    return EnergyBreakdown(arch=arch.name, total_pj=sum(by_action.values()),
                           by_component=by_component, by_action=by_action,
                           placeholders=tuple(placeholders))
