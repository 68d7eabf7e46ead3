"""How a cascade runs on a machine: mapping specs, legality checks, mappers and lowering.

Imports ``workloads`` and ``archsim``; never ``sweeps``. Importing this package registers every
mapper family (see ``mappings.registry``).
"""
from . import mappers as _loop_nest_mappers  # noqa: F401  (registers unfused, fused)
from . import spgemm as _spgemm_mappers  # noqa: F401  (registers the PIUMA SpGEMM mappers)
from . import fusemax as _fusemax_mappers  # noqa: F401  (registers fusemax_*)
from .registry import Mapper, UnknownMapperError, get_mapper, lower, mapper_names, register
from .spec import CapacityError, Mapping, MappingError, check_mapping

__all__ = [
    "CapacityError", "Mapper", "Mapping", "MappingError", "UnknownMapperError",
    "check_mapping", "get_mapper", "lower", "mapper_names", "register",
]
