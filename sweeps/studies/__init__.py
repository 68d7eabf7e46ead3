"""Study plug-ins: each module registers an evaluator (and its report sections) at import.

``load_studies()`` imports every module of this package once; ``sweeps.evaluators.get_evaluator``
calls it, so a sweep spec can name any study's evaluator without further wiring. A study module that
fails to import does not take the other evaluators down with it: the failure is logged, kept in
``FAILED`` (module -> one-line error) and named when a spec asks for an unknown evaluator.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil

log = logging.getLogger(__name__)
FAILED: dict[str, str] = {}


def load_studies() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        name = f"{__name__}.{module}"
        if module in FAILED:
            continue
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - one broken study must not break every sweep
            FAILED[module] = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            log.warning("study %s failed to import: %s", name, FAILED[module])
