"""Energy: action counts times the architecture's per-action energy table (Accelergy style).

``energy_pj[component][action]`` prices one ``"<component>.<action>"`` action of
:attr:`SimResult.actions` (a unit's operator count, or a level's ``read``/``write`` accesses of
``access_bytes``). Dynamic energy only: leakage and static power are ignored (as in the FuseMax
artifact), as are clock tree, network-on-chip and control overheads unless a preset lists them as
actions. No silent defaults: an action with a nonzero count and no table entry raises
:class:`MissingEnergyError`. The breakdown lists the placeholder entries it used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import MissingEnergyError

__all__ = ["energy", "EnergyBreakdown"]


@dataclass(frozen=True)
class EnergyBreakdown:
    """``total_pj`` = sum(``by_action``) = sum(``by_component``) (up to float rounding);
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
