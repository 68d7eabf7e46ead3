"""Check every point of a sweep before the first one runs.

``check_points(spec, points)`` runs the evaluator's ``check`` (``sweeps.evaluators.Evaluator``) on
each expanded point: unknown names, overrides of preset fields that do not exist, shape values a
cascade or mapper rejects (a chunk that does not divide a sequence length) fail the whole spec with
one ``SweepSpecError`` line ``<file>: <section>.<key>: <problem> (point <i>: k=v ...)``, before
anything is written. A design that merely does not fit the machine passes: its point records
``status=error`` like any other failure at run time.
"""
from __future__ import annotations

import re

from .evaluators import get_evaluator
from .spec import SweepSpec, SweepSpecError

_LEAD = re.compile(r"^([A-Za-z_][\w.<>]*(?:\[\d+\])?):\s")


def check_points(spec: SweepSpec, points: list[dict]) -> None:
    """Raise ``SweepSpecError`` for the first point the spec's evaluator rejects."""
    evaluator = get_evaluator(spec.evaluator)
    for index, params in enumerate(points):
        try:
            evaluator.check(params)
        except Exception as err:  # noqa: BLE001 - any rejection is the spec's fault, named in one line
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            key = _blamed_key(message, params, spec.axis_names + list(spec.derived))
            field = _field(spec, key, params[key]) if key else "point"
            shown = " ".join(f"{k}={v}" for k, v in params.items())
            raise SweepSpecError(f"{spec.path}: {field}: {_strip_key(message, key)} (point {index}: {shown})") from None


def _forms(key: str) -> list[str]:
    return [key] + ([key.split(".", 1)[1]] if key.startswith(("arch.", "map.")) else [])


def _blamed_key(message: str, params: dict, varying: list[str]) -> str | None:
    """The parameter a message blames: its leading ``key:`` if that names a parameter (or a path
    inside an ``arch.``/``map.`` one), else a parameter it mentions, preferring those the spec varies
    (the point that fails differs from the others in them)."""
    lead = _LEAD.match(message)
    if lead:
        word = lead.group(1)
        for key in params:
            if any(word == f or f.startswith(word + ".") or word.startswith(f + ".") or f.endswith("." + word)
                   for f in _forms(key)):
                return key
    mentioned = [key for key in sorted(params, key=len, reverse=True)
                 if any(re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", message) for f in _forms(key))]
    mentioned.sort(key=lambda k: k not in varying)
    return mentioned[0] if mentioned else None


def _strip_key(message: str, key: str | None) -> str:
    lead = _LEAD.match(message)
    if key and lead and (lead.group(1) == key or key.endswith("." + lead.group(1))):
        return message[lead.end():]
    return message


def _field(spec: SweepSpec, key: str, value) -> str:
    """Where a point's value of ``key`` is set in the spec: ``fixed.K``, ``axes.K[i]``,
    ``zip[g].K[i]``, ``sample.params.K``, ``derived.K``."""
    if key in spec.fixed:
        return f"fixed.{key}"
    if key in spec.axes:
        return f"axes.{key}{_at(spec.axes[key], value)}"
    for g, group in enumerate(spec.zip):
        if key in group:
            return f"zip[{g}].{key}{_at(group[key], value)}"
    if spec.sample and key in spec.sample.params:
        return f"sample.params.{key}"
    if key in spec.derived:
        return f"derived.{key}"
    return key


def _at(values: list, value) -> str:
    return f"[{values.index(value)}]" if value in values else ""
