"""One record builder for every family: a :class:`~archsim.result.SimResult` priced by
:func:`archsim.energy` becomes flat record columns.

Columns (one meaning each, across the code base):

- ``cycles``, ``latency_s`` (= cycles / clock), ``energy_pj``, ``fidelity``, ``events``, ``ops``;
- ``dram_bytes``: bytes read plus written at the arch's backing level (:attr:`Arch.backing_level`);
- ``busy_<x>`` per compute unit: the fraction of time it was *held*,
  busy_cycles / (cycles x servers), whatever its lanes did meanwhile;
- ``util_<x>`` per compute unit: the fraction of its lane-cycles doing *useful work*,
  sum over operators of count x cycles_per_op / (cycles x lanes x servers), excluding operators
  that run on dedicated units beside the ALU (FLAT's exp unit);
- ``peak_<level>_bytes`` where the fidelity tracks occupancy;
- ``energy_<component>_pj`` per component (``static`` = static power x seconds where the arch
  states a static power);
- the family's counters as they are (PIUMA's ``ipc_per_mtp``, GPU kernel counts...);
- ``placeholders`` / ``assumptions``: energy entries used whose source is one.
"""
from __future__ import annotations

__all__ = ["result_metrics", "useful_lane_cycles"]


def useful_lane_cycles(arch, unit: str, actions: dict) -> float:
    """Lane-cycles of useful work on ``unit``'s ALUs: count x cycles_per_op summed over its
    operators, except operators with dedicated units (they run beside the ALU)."""
    u = arch.units[unit]
    prefix = unit + "."
    return sum(n * u.cycles_per_op[k[len(prefix):]] for k, n in actions.items()
               if k.startswith(prefix) and k[len(prefix):] in u.cycles_per_op
               and k[len(prefix):] not in u.dedicated_units_per_pe)


def result_metrics(result, arch, energy) -> dict:
    """Record columns of ``result`` (a SimResult) on ``arch`` priced as ``energy`` (see the module
    docstring for each column's meaning)."""
    cycles = result.cycles
    record = {
        "cycles": cycles,
        "latency_s": cycles / arch.clock_hz,
        "energy_pj": energy.total_pj,
        "dram_bytes": result.traffic_bytes.get(arch.backing_level, 0),
        "fidelity": result.fidelity,
        "events": result.events,
        "ops": result.ops,
    }
    for name in sorted(arch.units):
        unit = arch.units[name]
        servers = result.servers.get(name, unit.count)
        held = cycles * servers
        record[f"busy_{name}"] = result.busy_cycles.get(name, 0) / held if held else 0.0
        record[f"util_{name}"] = (useful_lane_cycles(arch, name, result.actions) / (held * unit.lanes)
                                  if held else 0.0)
    for level in sorted(result.peak_bytes):
        record[f"peak_{level}_bytes"] = result.peak_bytes[level]
    for component, pj in sorted(energy.by_component.items()):
        record[f"energy_{component}_pj"] = pj
    for key, value in sorted(result.counters.items()):
        record[key] = value
    record["placeholders"] = ";".join(energy.placeholders)
    record["assumptions"] = ";".join(_assumption_entries(energy, arch))
    return record


def _assumption_entries(energy, arch) -> list[str]:
    used = []
    for action in sorted(energy.by_action):
        component, _, act = action.rpartition(".")
        if arch.energy_source(component, act).strip().lower().startswith("assumption"):
            used.append(f"energy_pj.{component}.{act}")
    return used
