"""Accuracy of the GPU simulator's wave extrapolation against CTA-by-CTA simulation.

For the e2gc study's grouped 3x3 layers (C, H) in {(128, 56), (256, 28), (512, 14), (1024, 7)},
G in {1, 4, 8, 32, C}, batch 64, fp16, on five GPU presets, the first two tiles of each kernel
family's menu (at the channel step the chooser would use), and DRAM read/write fractions 1.0 and
0.05, prints the ratio extrapolated / full cycles of every kernel long enough to be extrapolated
(more than ``archsim.gpu.sim.FULL_WAVES`` waves) and its range. About a minute on one core:

    python bench/bench_gpu_extrapolation.py
"""
from __future__ import annotations

from dataclasses import replace

import archsim
from archsim.gpu import ctas_per_sm
from archsim.gpu.sim import FULL_WAVES, _simulate_kernel
from mappings.gpu.conv import CHANNEL_STEPS, DIRECT_TILES, IMPLICIT_TILES, conv_kernel
from workloads.conv_layers import ConvLayer

PRESETS = ("p100_pcie", "p4000", "v100_sxm2", "a100_80gb", "h200_sxm")
LAYERS = ((128, 56), (256, 28), (512, 14), (1024, 7))


def _fitting_kernel(layer, base, arch):
    for step in CHANNEL_STEPS:
        k = conv_kernel("g", layer, replace(base, channel_step=step), 64, 2, "X", "W", "Y")
        if k.smem_bytes <= arch.gpu.smem_per_cta_bytes and ctas_per_sm(k, arch.gpu) >= 1:
            return k
    return None


def main() -> None:
    ratios = []
    for preset in PRESETS:
        arch = archsim.load_arch(preset)
        tiles = (IMPLICIT_TILES[:2] if "mma" in arch.units else ()) + DIRECT_TILES[:2]
        for C, H in LAYERS:
            for G in (1, 4, 8, 32, C):
                layer = ConvLayer("g", C, C, H, H, 3, 1, 1, groups=C // G)
                for base in tiles:
                    k = _fitting_kernel(layer, base, arch)
                    if k is None or k.ctas <= FULL_WAVES * arch.gpu.sms * ctas_per_sm(k, arch.gpu):
                        continue
                    for fraction in (1.0, 0.05):
                        est = _simulate_kernel(k, arch, arch.gpu, fraction, fraction, False)[0]
                        full = _simulate_kernel(k, arch, arch.gpu, fraction, fraction, True)[0]
                        ratios.append(est / full)
                        print(f"{preset:10} C={C:<5} H={H:<3} G={G:<5} {base.kind:14} fraction {fraction:4}: "
                              f"extrapolated / full = {est / full:.4f}")
    print(f"{len(ratios)} extrapolated kernels: ratio {min(ratios):.4f} to {max(ratios):.4f}")


if __name__ == "__main__":
    main()
