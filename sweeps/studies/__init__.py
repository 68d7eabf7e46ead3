"""Study plug-ins: each module registers an evaluator (and its report sections) at import.

``load_studies()`` imports every module of this package once; ``sweeps.evaluators.get_evaluator``
calls it, so a sweep spec can name any study's evaluator without further wiring.
"""
from __future__ import annotations

import importlib
import pkgutil


def load_studies() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
