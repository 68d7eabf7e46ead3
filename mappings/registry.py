"""The mapper registry: every mapper, whatever machine family it targets, under one name.

A mapper has a ``name``, a ``description``, the machine ``families`` it targets (``Arch.family``
values), ``map(cascade, arch, **options) -> mapping`` (checked; ``MappingError`` otherwise) and
``lower(cascade, mapping, arch) -> program`` (the program type of that family's simulator). A mapping is
any frozen object with ``mapper`` (the name that made it), ``backing_level`` (where DRAM traffic
is counted) and ``describe() -> dict[str, str]`` (the choices a record shows). A mapper may also
have ``choose_shape(shape, arch) -> dict[str, int]``: its values for shape parameters that are
tiling choices (chunk sizes such as ``M0``, ``mappings.shape``), used wherever the user did not set
them, so a cascade's example default never overrides a mapper's choice. Family modules
call ``register`` at import; ``mappings/__init__`` imports every module of the package, so a new
mapper module is found without being listed anywhere. :func:`map_cascade` is the checked entry:
it refuses a mapper on a machine family it does not target.
"""
from __future__ import annotations

from typing import Protocol

from .spec import MappingError


class UnknownMapperError(ValueError):
    """No mapper of that name; the message lists the registered ones."""


class Mapper(Protocol):
    name: str
    description: str
    families: tuple[str, ...]

    def map(self, cascade, arch, **options): ...

    def lower(self, cascade, mapping, arch): ...


_MAPPERS: dict[str, Mapper] = {}


def register(mapper: Mapper) -> Mapper:
    if mapper.name in _MAPPERS and _MAPPERS[mapper.name] is not mapper:
        raise ValueError(f"mapper {mapper.name!r} is registered twice")
    _MAPPERS[mapper.name] = mapper
    return mapper


def mapper_names() -> list[str]:
    return sorted(_MAPPERS)


def get_mapper(name: str) -> Mapper:
    try:
        return _MAPPERS[name]
    except KeyError:
        raise UnknownMapperError(f"unknown mapper {name!r}; known: {', '.join(mapper_names())}") from None


def lower(cascade, mapping, arch):
    """Lower a mapping with the mapper that made it."""
    return get_mapper(mapping.mapper).lower(cascade, mapping, arch)


def map_cascade(name: str, cascade, arch, **options):
    """Map ``cascade`` onto ``arch`` with the mapper ``name``, after checking the mapper targets
    the arch's family (``MappingError`` naming both otherwise)."""
    mapper = get_mapper(name)
    if arch.family not in mapper.families:
        raise MappingError(f"mapping: mapper {name} targets {'/'.join(mapper.families)} machines; "
                           f"arch {arch.name} is a {arch.family} machine")
    return mapper.map(cascade, arch, **options)
