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
- ``compute_ops``: operator executions on the compute units (a MAC, an add, an exp: one each;
  PIUMA's pipelines count instructions), from the result's action counts, register-file and DMA
  actions excluded;
- ``roof_<x>_per_cycle``: a machine ceiling (a rate), never a measurement:
  ``roof_compute_ops_per_cycle`` = lanes x instances / the fewest cycles of any operator, summed
  over those units (and PIUMA's cores): every lane of every unit running its fastest operator;
  ``roof_dram_bytes_per_cycle`` = the backing level's bandwidth. With ``dram_bytes`` and
  ``cycles`` they place a point on a roofline (sweeps/report.py);
- ``peak_<level>_bytes``: the most bytes held at once (an occupancy), where the fidelity tracks it;
- ``energy_<component>_pj`` per component (``static`` = static power x seconds where the arch
  states a static power);
- the family's counters as they are (PIUMA's ``ipc_per_mtp``, GPU kernel counts...);
- ``placeholders`` / ``assumptions``: energy entries used whose source is one.
"""
from __future__ import annotations

__all__ = ["result_metrics", "useful_lane_cycles", "compute_ops", "roof_compute_ops_per_cycle"]

NOT_COMPUTE = ("dma",)        # unit kinds that move data rather than compute


def _compute_units(arch) -> list[str]:
    return [name for name, unit in arch.units.items() if unit.kind not in NOT_COMPUTE]


def compute_ops(arch, actions: dict) -> float:
    """Operator executions on the compute units (``<unit>.<operator>`` action counts)."""
    total = 0.0
    for name in _compute_units(arch):
        ops = arch.units[name].cycles_per_op
        total += sum(n for k, n in actions.items() if k.startswith(name + ".") and k[len(name) + 1:] in ops)
    return total


def roof_compute_ops_per_cycle(arch) -> float:
    """Every lane of every compute unit running its fastest operator each cycle (a PIUMA preset's
    units are one core's: times ``piuma.cores``)."""
    per_copy = sum(arch.units[n].lanes * arch.units[n].count / min(arch.units[n].cycles_per_op.values())
                   for n in _compute_units(arch))
    return float(per_copy * (arch.piuma.cores if getattr(arch, "piuma", None) is not None else 1))


def useful_lane_cycles(arch, unit: str, actions: dict) -> float:
    """Lane-cycles of useful work on ``unit``'s ALUs: count x cycles_per_op summed over its
    operators, except operators with dedicated units (they run beside the ALU)."""
    u = arch.units[unit]
    prefix = unit + "."
    return sum(n * u.cycles_per_op[k[len(prefix):]] for k, n in actions.items()
               if k.startswith(prefix) and k[len(prefix):] in u.cycles_per_op
               and not u.dedicated_units_per_pe.get(k[len(prefix):]))


def result_metrics(result, arch, energy) -> dict:
    """Record columns of ``result`` (a SimResult) on ``arch`` priced as ``energy`` (see the module
    docstring for each column's meaning)."""
    cycles = result.cycles
    record = {
        "cycles": cycles,
        "latency_s": cycles / arch.clock_hz,
        "energy_pj": energy.total_pj,
        "dram_bytes": result.traffic_bytes.get(arch.backing_level, 0),
        "compute_ops": compute_ops(arch, result.actions),
        "roof_compute_ops_per_cycle": roof_compute_ops_per_cycle(arch),
        "roof_dram_bytes_per_cycle": float(arch.levels[arch.backing_level].bandwidth_bytes_per_cycle),
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
