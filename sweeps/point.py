"""One point: parameters in, one flat record out, never an exception.

``run_point`` is what every executor runs (in this process, a pool worker or a Dask worker); it is
importable by reference so that worker processes need nothing but the installed package.
"""
from __future__ import annotations

import time

from .evaluators import get_evaluator
from .params import point_id

SCHEMA_VERSION = 1


def run_point(params: dict, seed: int = 0, evaluator: str = "einsum") -> dict:
    """A full record for one point; any failure becomes ``status=error`` with a one-line message."""
    head = {"schema_version": SCHEMA_VERSION, "point_id": point_id(params), **params}
    try:
        metrics = get_evaluator(evaluator).evaluate(params, seed)
    except MemoryError:
        return failed_record(params, "MemoryError: the point ran out of memory")
    except Exception as err:  # noqa: BLE001 - a bad point must never stop the sweep
        return failed_record(params, _one_line(err))
    return {**head, "status": "ok", "error": "", **metrics}


def failed_record(params: dict, error: str) -> dict:
    """The record of a point that failed with the one-line ``error``."""
    return {"schema_version": SCHEMA_VERSION, "point_id": point_id(params), **params, "status": "error",
            "error": error}


def run_batch(batch: list[tuple[int, dict]], seed: int, evaluator: str) -> list[tuple[int, dict, float]]:
    """``run_point`` over ``(index, params)`` pairs; returns ``(index, record, seconds)`` triples."""
    out = []
    for index, params in batch:
        start = time.perf_counter()
        record = run_point(params, seed, evaluator)
        out.append((index, record, time.perf_counter() - start))
    return out


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"
