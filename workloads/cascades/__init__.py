"""Registry of named cascades: `build(name, **shape)` and `cascade_names()`.

Every module of this package is imported at start-up and registers its builders with the
``@cascade`` decorator (workloads/cascades/_common.py): adding a workload is adding a module.

Each builder takes upper-case keyword shape parameters with small defaults and validates them
(ValueError naming the parameter). Leaves out model tables (layer shapes of BERT, ResNeXt, ...).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Callable

from workloads.cascade import Cascade
from workloads.cascades._common import REGISTRY


class UnknownCascadeError(ValueError):
    """No cascade of that name; the message lists the known names."""


def _discover() -> None:
    """Import every module of this package; their ``@cascade`` builders register themselves."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()


def cascade_names() -> list[str]:
    """Registered cascade names, sorted."""
    return sorted(REGISTRY)


def shape_parameters(name: str) -> dict[str, int]:
    """The shape parameters of a registered cascade and their defaults."""
    builder = _builder(name)
    return {p.name: p.default for p in inspect.signature(builder).parameters.values()}


def _builder(name: str) -> Callable[..., Cascade]:
    if name not in REGISTRY:
        raise UnknownCascadeError(f"unknown cascade {name!r}; known: {', '.join(cascade_names())}")
    return REGISTRY[name]


def build(name: str, **shape: int) -> Cascade:
    """Build a registered cascade. Unknown name -> UnknownCascadeError; unknown or invalid shape
    parameter -> ValueError naming it."""
    params = shape_parameters(name)
    for k in shape:
        if k not in params:
            raise ValueError(f"cascade {name}: unknown shape parameter {k}; "
                             f"expected some of {', '.join(params)}")
    return REGISTRY[name](**shape)
