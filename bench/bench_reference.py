"""Reference evaluator speed: workloads.evaluate on attention cascades and SpGEMM.

Run: python bench/bench_reference.py
Prints, per case, the wall seconds (best of 3) and operations per second: dense cascades count
every operation; SpGEMM counts its effectual multiplies f = sum_k nnz(A[:,k]) nnz(B[k,:]).
"""
from __future__ import annotations

import time

import numpy as np

import workloads

CASES = (
    ("attention_3pass", {"M": 1024, "P": 256, "E": 64, "F": 64}),
    ("attention_1pass", {"M": 1024, "P": 256, "E": 64, "F": 64, "M0": 64}),
    ("attention_2pass", {"M": 1024, "P": 256, "E": 64, "F": 64, "M0": 64}),
    ("spgemm", {"M": 2000, "K": 2000, "N": 2000}),
)


def main() -> None:
    print(f"{'cascade':18} {'shape':45} {'seconds':>8} {'Mops/s':>8}")
    for name, shape in CASES:
        try:
            cascade = workloads.build(name, **shape)
        except ValueError as err:
            print(f"{name:18} skipped: {err}")
            continue
        inputs = workloads.random_inputs(cascade, seed=0)
        ops = _effectual_ops(cascade, inputs)
        best = min(_timed(cascade, inputs) for _ in range(3))
        label = ",".join(f"{k}={v}" for k, v in shape.items())
        print(f"{name:18} {label:45} {best:8.3f} {ops / best / 1e6:8.1f}")


def _effectual_ops(cascade, inputs) -> int:
    if any(t.sparse for t in cascade.tensors.values()):
        a, b = inputs["A"].tocsc(), inputs["B"].tocsr()
        return int((np.diff(a.indptr) * np.diff(b.indptr)).sum())
    return sum(sum(c.values()) for c in workloads.op_counts(cascade).values())


def _timed(cascade, inputs) -> float:
    start = time.perf_counter()
    workloads.evaluate(cascade, inputs)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
