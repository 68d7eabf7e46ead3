"""How a cascade runs on a machine: mapping specs, legality checks, mappers and lowering.

Imports ``workloads`` and ``archsim``; never ``sweeps``.
"""
from .lowering import lower
from .mappers import Mapper, UnknownMapperError, get_mapper, mapper_names
from .spec import Mapping, MappingError, check_mapping

__all__ = [
    "Mapper", "Mapping", "MappingError", "UnknownMapperError",
    "check_mapping", "get_mapper", "lower", "mapper_names",
]
