"""archsim: machine specs, the discrete-event engine, closed-form bounds and energy.

Takes a :class:`Program` (tile-level op DAG), never an Einsum. See docs/interfaces.md.
"""

from .bound import Bound, bound
from .energy import EnergyBreakdown, energy
from .engine import SimResult, simulate
from .errors import MissingEnergyError, ProgramError, SpecError
from .program import Op, Program
from .spec import Arch, ComputeUnit, StorageLevel, load_arch, preset_names

__all__ = [
    "load_arch", "preset_names", "Op", "Program", "simulate", "bound", "energy",
    "Arch", "ComputeUnit", "StorageLevel", "SimResult", "Bound", "EnergyBreakdown",
    "SpecError", "ProgramError", "MissingEnergyError",
]
