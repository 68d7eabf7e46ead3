"""archsim: machine specs, the discrete-event engine, closed-form bounds and energy.

Takes a :class:`Program` (tile-level op DAG), never an Einsum. See docs/interfaces.md.
"""

from .bound import Bound, bound
from .energy import EnergyBreakdown, energy
from .engine import simulate
from .result import SimResult
from .errors import MissingEnergyError, ProgramError, SpecError
from .program import Op, Program
from .spec import Arch, ComputeUnit, StorageLevel, load_arch, preset_names

__all__ = [
    "load_arch", "preset_names", "Op", "Program", "simulate", "bound", "energy",
    "Arch", "ComputeUnit", "StorageLevel", "SimResult", "Bound", "EnergyBreakdown",
    "SpecError", "ProgramError", "MissingEnergyError",
]

# PIUMA family: thread-level simpy model, see archsim/piuma/.
from .piuma import Batch, PiumaProgram, Stage, simulate_piuma  # noqa: E402

__all__ += ["Batch", "PiumaProgram", "Stage", "simulate_piuma"]
from .area import area_um2, total_area_mm2  # noqa: E402,F401
