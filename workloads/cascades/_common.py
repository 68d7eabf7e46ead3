"""Shared helpers of the cascade builders: shape validation and text rendering.

Assumes every shape parameter is a positive integer named in upper case. Leaves out any
unit or dtype information (that belongs to mappings/architectures).
"""
from __future__ import annotations

from typing import Callable

from workloads.cascade import Cascade
from workloads.notation import parse_cascade

# name -> builder; filled by @cascade as the modules of workloads.cascades are imported
REGISTRY: dict[str, Callable[..., Cascade]] = {}


def cascade(builder: Callable[..., Cascade]) -> Callable[..., Cascade]:
    """Register a cascade builder under its function name (a module of workloads/cascades/ that
    defines one is found and imported by the registry; nothing else lists it)."""
    if builder.__name__ in REGISTRY:
        raise ValueError(f"cascade {builder.__name__!r} is registered twice")
    REGISTRY[builder.__name__] = builder
    return builder


def check_positive(**shape: int) -> None:
    """ValueError naming the first parameter that is not a positive integer."""
    for k, v in shape.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"shape parameter {k} must be a positive integer, got {v!r}")


def check_divides(part: str, part_value: int, whole: str, whole_value: int) -> None:
    """ValueError naming `part` when it does not divide `whole`."""
    if whole_value % part_value:
        raise ValueError(f"shape parameter {part}={part_value} must divide "
                         f"{whole}={whole_value}")


def from_text(name: str, shape: dict[str, int], body: str) -> Cascade:
    """Parse `cascade name` + shape line + body (notation text)."""
    head = f"cascade {name}\nshape: " + " ".join(f"{k}={v}" for k, v in shape.items())
    return parse_cascade(head + "\n" + body)
