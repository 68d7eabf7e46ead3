"""Event-fidelity latency of the video study's headline points (slow: minutes on 2 cores).

Prints, per point, the generation latency from the GPU family's event simulation (each distinct
kernel simulated once) next to the per-kernel roofline bound, and the peak memory:
    .venv/bin/python bench/video_event.py [model ...]
"""
from __future__ import annotations

import sys
import time

from sweeps.studies.streamlined import evaluate

POINTS = [dict(variant="baseline"), dict(variant="grouping", slices=4), dict(variant="rehash", slices=4),
          dict(variant="grouping", slices=8)]


def main(models: list[str]) -> None:
    for model in models:
        for extra in POINTS:
            t = time.time()
            params = dict(model=model, arch="a100_80gb", **extra)
            ev = evaluate(dict(params, fidelity="event"))
            bd = evaluate(dict(params, fidelity="bound"))
            print(f"{model:12} {extra!s:40} peak {ev['peak_gb']:6.2f} GB  event {ev['latency_s']:7.3f} s  "
                  f"bound {bd['latency_s']:7.3f} s  energy {ev['energy_j']:8.1f} J  ({time.time() - t:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["animatediff", "svd"])
