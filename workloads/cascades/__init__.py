"""Registry of named cascades: `build(name, **shape)` and `cascade_names()`.

Each builder takes upper-case keyword shape parameters with small defaults and validates them
(ValueError naming the parameter). Leaves out model tables (layer shapes of BERT, ResNeXt, ...).
"""
from __future__ import annotations

import inspect
from typing import Callable

from workloads.cascade import Cascade
from workloads.cascades.attention import (attention_1pass, attention_2pass, attention_3pass,
                                          attention_3pass_deferred, attention_naive)
from workloads.cascades.conv import group_conv, video_block
from workloads.cascades.pedagogical import (pedagogical_2pass, pedagogical_iterative,
                                            pedagogical_reassoc)
from workloads.cascades.sparse import spgemm


class UnknownCascadeError(ValueError):
    """No cascade of that name; the message lists the known names."""


REGISTRY: dict[str, Callable[..., Cascade]] = {f.__name__: f for f in (
    attention_naive, attention_3pass, attention_3pass_deferred, attention_2pass,
    attention_1pass, pedagogical_2pass, pedagogical_reassoc, pedagogical_iterative,
    spgemm, group_conv, video_block)}


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
