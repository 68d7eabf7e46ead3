"""The registry of machine families: how each kind of machine is simulated.

A family is keyed by ``Arch.family``. It names the ``Arch`` field holding its own parameters
(``piuma:``, ``gpu:``; none for spatial arrays), the program type it runs, its simulator and,
where it has one, a closed-form bound; both return a :class:`~archsim.result.SimResult`, which
:func:`archsim.energy` prices and :func:`archsim.record.result_metrics` turns into record columns,
so nothing downstream branches on the family. Simulators are named ``"module:function"`` and
imported on first use (a family's model loads only when a point needs it).

Adding a family (docs/design.md, "Adding a machine family"): a package under ``archsim/`` with
its simulator, a params model on ``Arch``, presets with ``family: <name>``, and one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable

__all__ = ["Family", "FAMILIES", "get_family"]


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    program: str                    # what its simulator runs
    params_section: str | None      # the Arch field holding the family's parameters, if any
    simulator: str                  # "module:function": (program, arch, seed) -> SimResult
    bounder: str | None = None      # "module:function": (program, arch) -> SimResult (fidelity bound)

    def simulate(self, program, arch, seed: int = 0):
        return _resolve(self.simulator)(program, arch, seed)

    def bound(self, program, arch):
        if self.bounder is None:
            raise ValueError(f"fidelity: family {self.name!r} has no closed-form bound; use 'event'")
        return _resolve(self.bounder)(program, arch)


def _resolve(target: str) -> Callable:
    module, _, function = target.partition(":")
    return getattr(import_module(module), function)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("spatial", "spatial arrays (2D/1D PE arrays, buffers, DRAM): tile-op DAGs on the engine",
           "archsim.Program", None, "archsim.engine:simulate", "archsim.bound:bound_result"),
    Family("piuma", "PIUMA multithreaded graph cores: thread work quanta, SPAD atomics, 8-byte DRAM",
           "archsim.piuma.PiumaProgram", "piuma", "archsim.piuma.machine:simulate_piuma"),
    Family("gpu", "GPU memory hierarchies: kernels of CTAs on SMs, shared memory, L2, HBM/GDDR",
           "archsim.gpu.GpuProgram", "gpu", "archsim.gpu.sim:simulate_gpu", "archsim.gpu.sim:bound_gpu"),
)}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"family: unknown machine family {name!r}; known: {', '.join(FAMILIES)}") from None
