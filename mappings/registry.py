"""The mapper registry: every mapper, whatever machine family it targets, under one name.

A mapper has a ``name``, a ``description``, ``map(cascade, arch, **options) -> mapping`` (checked;
``MappingError`` otherwise) and ``lower(cascade, mapping, arch) -> archsim.Program``. A mapping is
any frozen object with ``mapper`` (the name that made it), ``backing_level`` (where DRAM traffic
is counted) and ``describe() -> dict[str, str]`` (the choices a record shows). A mapper may also
have ``choose_shape(shape, arch) -> dict[str, int]``: its values for shape parameters that are
tiling choices (chunk sizes such as ``M0``, ``mappings.shape``), used wherever the user did not set
them, so a cascade's example default never overrides a mapper's choice. Family modules
(``mappings.mappers`` for the generic loop-nest mappers, later FuseMax and PIUMA ones) call
``register`` at import; ``mappings/__init__`` imports them all.
"""
from __future__ import annotations

from typing import Protocol


class UnknownMapperError(ValueError):
    """No mapper of that name; the message lists the registered ones."""


class Mapper(Protocol):
    name: str
    description: str

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
