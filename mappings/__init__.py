"""How a cascade runs on a machine: mapping specs, legality checks, mappers and lowering.

Imports ``workloads`` and ``archsim``; never ``sweeps``. Importing this package imports every
module in it and in its subpackages, and mapper modules register their mappers as they load
(see ``mappings.registry``): adding a mapper is adding a module.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .registry import Mapper, UnknownMapperError, get_mapper, lower, map_cascade, mapper_names, register
from .spec import CapacityError, Mapping, MappingError, check_mapping

for _info in _pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    _importlib.import_module(_info.name)

__all__ = [
    "CapacityError", "Mapper", "Mapping", "MappingError", "UnknownMapperError",
    "check_mapping", "get_mapper", "lower", "map_cascade", "mapper_names", "register",
]
