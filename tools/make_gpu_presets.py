"""Write archsim/presets/<gpu>.yaml from the device table below (run from the repository root).

Every device number carries its source (docs/reference/gpu.md restates them); per-action energies
are derived by archsim/gpu/energy_rules.py, and tests/gpu/test_gpu_presets.py re-derives them from
the shipped files, so a preset edited by hand cannot drift from its stated derivation.

Usage: python tools/make_gpu_presets.py [--check]   (--check: exit 1 if a file would change)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsim.gpu.energy_rules import GDDR5_PJ_PER_BIT, HBM_PJ_PER_BIT, MMA_MATH, gpu_energy_table  # noqa: E402

PRESETS = Path(__file__).resolve().parents[1] / "archsim" / "presets"
WP = {"p100": "NVIDIA Tesla P100 whitepaper (2016)", "p4000": "NVIDIA Quadro P4000 datasheet",
      "v100": "NVIDIA Tesla V100 GPU architecture whitepaper (2017)",
      "a100": "NVIDIA A100 Tensor Core GPU architecture whitepaper (2020)",
      "h100": "NVIDIA H100 Tensor Core GPU architecture whitepaper (2022)",
      "h200": "NVIDIA H200 Tensor Core GPU product brief (2023)"}
GUIDE = "CUDA C++ Programming Guide, compute capability tables"
OCC = "CUDA occupancy calculator rules"
KB, MB, GB = 1024, 1024 ** 2, 1024 ** 3

# name: (doc, description, cc, sms, boost MHz, mma FMA/clk/SM (+source), fp32 lanes/SM, sfu/SM,
#        smem/SM, smem/CTA, smem alloc unit, L2 bytes, L2 B/clk (+source), DRAM bytes, DRAM GB/s,
#        dram kind, TDP W, node nm (+source), static W)
A100_L2 = (5120, "derived: 2.3x V100's L2 read bandwidth (A100 whitepaper) from the assumed 2048 B/clk "
                 "at 1530 MHz, = 5111, rounded to 5120 B/clk (80 slices x 64 B)")
# The mma pipe's arithmetic (archsim/gpu/energy_rules.py: MMA_MATH) where it is not a tensor core:
# GP100 runs fp16 as half2 on its FP32 cores, GP104 has no fast fp16 (see the mma cols sources).
MMA_MATH_OF = {"p100_sxm2": "half2", "p100_pcie": "half2", "p4000": "fp32"}
DEVICES = {
    "p100_sxm2": ("p100", "Tesla P100 SXM2 (GP100, 16 GB HBM2)", "6.0", 56, 1480,
                  (128, "derived: FP16 runs as paired half2 FMAs on the 64 FP32 cores per SM (P100 whitepaper: "
                        "FP16 at 2x FP32; 21.2 TFLOP/s = 56 x 128 x 2 x 1.48 GHz)"),
                  64, 16, 64 * KB, 48 * KB, 256, 4 * MB,
                  (1792, "assumption: 32 B/clk of L2 bandwidth per SM (56 SMs)"),
                  16 * GB, 732, "hbm", 300, (16, "P100 whitepaper: TSMC 16 nm FinFET"), 50),
    "p100_pcie": ("p100", "Tesla P100 PCIe (GP100, 16 GB HBM2)", "6.0", 56, 1303,
                  (128, "derived: FP16 as paired half2 FMAs on 64 FP32 cores per SM (18.7 TFLOP/s = "
                        "56 x 128 x 2 x 1.303 GHz)"),
                  64, 16, 64 * KB, 48 * KB, 256, 4 * MB,
                  (1792, "assumption: 32 B/clk of L2 bandwidth per SM (56 SMs)"),
                  16 * GB, 732, "hbm", 250, (16, "P100 whitepaper: TSMC 16 nm FinFET"), 40),
    "p4000": ("p4000", "Quadro P4000 (GP104, 8 GB GDDR5)", "6.1", 14, 1480,
              (128, "derived: no fast FP16 on GP104 (1/64 rate), so fp16 GEMMs compute in FP32 on the "
                    "128 FP32 cores per SM (5.3 TFLOP/s = 14 x 128 x 2 x 1.48 GHz)"),
              128, 32, 96 * KB, 48 * KB, 256, 2 * MB,
              (448, "assumption: 32 B/clk of L2 bandwidth per SM (14 SMs)"),
              8 * GB, 243, "gddr5", 105, (16, "assumption: GP104 is built on TSMC 16 nm like GP100"), 25),
    "v100_sxm2": ("v100", "Tesla V100 SXM2 (GV100, 16 GB HBM2)", "7.0", 80, 1530,
                  (512, "V100 whitepaper: 8 tensor cores per SM x 64 FMA/clk (125 TFLOP/s)"),
                  64, 16, 96 * KB, 96 * KB, 256, 6 * MB,
                  (2048, "assumption: 64 L2 slices x 32 B/clk"),
                  16 * GB, 900, "hbm", 300, (12, "V100 whitepaper: TSMC 12 nm FFN"), 60),
    "a100_40gb": ("a100", "A100 SXM4 40 GB (GA100, HBM2)", "8.0", 108, 1410,
                  (1024, "A100 whitepaper: 4 tensor cores per SM x 256 dense FP16 FMA/clk (312 TFLOP/s)"),
                  64, 16, 164 * KB, 163 * KB, 128, 40 * MB, A100_L2,
                  40 * GB, 1555, "hbm", 400, (7, "A100 whitepaper: TSMC 7 nm N7"), 80),
    "a100_80gb": ("a100", "A100 SXM4 80 GB (GA100, HBM2e)", "8.0", 108, 1410,
                  (1024, "A100 whitepaper: 4 tensor cores per SM x 256 dense FP16 FMA/clk (312 TFLOP/s)"),
                  64, 16, 164 * KB, 163 * KB, 128, 40 * MB, A100_L2,
                  80 * GB, 2039, "hbm", 400, (7, "A100 whitepaper: TSMC 7 nm N7"), 80),
    "h100_sxm5": ("h100", "H100 SXM5 80 GB (GH100, HBM3)", "9.0", 132, 1980,
                  (1893, "derived: 989.4 dense FP16 TFLOP/s (H100 whitepaper) / (2 x 132 SMs x 1.98 GHz); "
                         "the whitepaper quotes its tensor peak at a lower clock than the 1980 MHz boost"),
                  128, 16, 228 * KB, 227 * KB, 128, 50 * MB,
                  (6336, "assumption: A100's L2 bandwidth per SM (47.4 B/clk, rounded to 48) x 132 SMs"),
                  80 * GB, 3350, "hbm", 700, (4, "H100 whitepaper: TSMC 4N"), 120),
    "h200_sxm": ("h200", "H200 SXM 141 GB (GH100, HBM3e)", "9.0", 132, 1980,
                 (1893, "derived: 989 dense FP16 TFLOP/s (H200 product brief) / (2 x 132 SMs x 1.98 GHz)"),
                 128, 16, 228 * KB, 227 * KB, 128, 50 * MB,
                 (6336, "assumption: A100's L2 bandwidth per SM (47.4 B/clk, rounded to 48) x 132 SMs"),
                 141 * 10 ** 9, 4800, "hbm", 700, (4, "assumption: same GH100 die as H100 (TSMC 4N)"), 120),
}


def _e(value, source: str) -> str:
    text = f"{value:.3e}" if isinstance(value, float) and 0 < abs(value) < 1e-3 else f"{value}"
    return f"{{value: {text}, source: \"{source}\"}}"


def render(name: str) -> str:
    (doc, desc, cc, sms, mhz, (mma, mma_src), fp32, sfu, smem_sm, smem_cta, smem_unit, l2, (l2_bw, l2_src),
     dram, dram_gbs, dram_kind, tdp, (node, node_src), static_w) = DEVICES[name]
    wp = WP[doc]
    clock = mhz * 1e6
    pj_bit = HBM_PJ_PER_BIT if dram_kind == "hbm" else GDDR5_PJ_PER_BIT
    dram_src = ("O'Connor et al. MICRO 2017: HBM2 3.9 pJ/bit" if dram_kind == "hbm" else
                f"assumption: GDDR5 {GDDR5_PJ_PER_BIT} pJ/bit, several times HBM (O'Connor et al. MICRO 2017)")
    mma_math = MMA_MATH_OF.get(name, "tensor")
    energy = gpu_energy_table(node, smem_sm, 128, 32, 32, pj_bit, mma_math)
    rule = "derived: archsim/gpu/energy_rules.py"
    why = {"mma.mac": f"{rule}, Horowitz ISSCC 2014 {MMA_MATH[mma_math][2]} pJ at 45 nm, x {node}/45",
           "fp32.mac": f"{rule}, Horowitz fp32 mult 3.7 + add 0.9 pJ at 45 nm, x {node}/45",
           "fp32.add": f"{rule}, Horowitz fp32 add 0.9 pJ at 45 nm, x {node}/45",
           "fp32.mul": f"{rule}, Horowitz fp32 mult 3.7 pJ at 45 nm, x {node}/45",
           "fp32.max": f"{rule}, priced as a Horowitz fp32 add (a compare), x {node}/45",
           "sfu.exp": f"{rule}, assumption: 4 FP32 FMAs per transcendental, x {node}/45",
           "sfu.rsqrt": f"{rule}, assumption: 4 FP32 FMAs per transcendental, x {node}/45",
           "smem.read": f"{rule}, 128 B from 32 banks of {smem_sm // 32} B, Horowitz SRAM power law, x {node}/45",
           "smem.write": f"{rule}, as smem.read (Horowitz gives reads only; assumption: write = read)",
           "l2.read": f"{rule}, a 32 B sector from a 512 KB slice (assumption), Horowitz SRAM power law, x {node}/45",
           "l2.write": f"{rule}, as l2.read (assumption: write = read)",
           "dram.read": f"{dram_src}, x 256 bits per 32 B sector",
           "dram.write": f"{dram_src}, x 256 bits per 32 B sector"}
    lines = [
        f"# {name}: {desc}. Generated by tools/make_gpu_presets.py from its sourced device table; edit",
        "# there, not here. Facts and sources restated in docs/reference/gpu.md; model in docs/gpu.md.",
        f"name: {name}", "family: gpu", f"description: >-\n  {desc}; {sms} SMs at {mhz} MHz boost, compute capability {cc}.",
        f"clock_hz: {_e(int(clock), f'{wp}: {mhz} MHz boost clock')}",
        f"static_power_w: {_e(static_w, 'assumption: no datasheet gives it; idle/leakage/clock/fan power of a loaded board, tens of watts (docs/reference/gpu.md)')}",
        "units:",
        "  mma:", "    kind: sm_pipe", f"    rows: {_e(1, 'one pipe per SM (lanes = cols)')}",
        f"    cols: {_e(mma, mma_src)}", f"    count: {_e(sms, f'{wp}: {sms} SMs')}",
        "    cycles_per_op:", f"      mac: {_e(1, 'one FMA per lane per clock (dense peak)')}",
        "  fp32:", "    kind: sm_pipe", f"    rows: {_e(1, 'one pipe per SM (lanes = cols)')}",
        f"    cols: {_e(fp32, f'{wp}: {fp32} FP32 cores per SM')}", f"    count: {_e(sms, f'{wp}: {sms} SMs')}",
        "    cycles_per_op:",
        *[f"      {op}: {_e(1, f'{GUIDE}: one FP32 {op} per core per clock')}" for op in ("mac", "add", "mul", "max")],
        "  sfu:", "    kind: sm_pipe", f"    rows: {_e(1, 'one pipe per SM (lanes = cols)')}",
        f"    cols: {_e(sfu, f'{GUIDE} (cc {cc}): {sfu} exp2/rsqrt results per clock per SM')}",
        f"    count: {_e(sms, f'{wp}: {sms} SMs')}",
        "    cycles_per_op:",
        f"      exp: {_e(1, f'{GUIDE}: one exp2 per SFU lane per clock (exp = exp2 of a scaled input)')}",
        f"      rsqrt: {_e(1, f'{GUIDE}: one rsqrt per SFU lane per clock')}",
        "levels:",
        "  smem:",
        f"    capacity_bytes: {_e(smem_sm * sms, f'{wp}: {smem_sm // KB} KB of shared memory per SM x {sms} SMs (per-SM limit in gpu.smem_per_sm_bytes)')}",
        f"    bandwidth_bytes_per_cycle: {_e(128 * sms, f'{GUIDE}: 32 banks x 4 B per clock per SM, x {sms} SMs')}",
        f"    latency_cycles: {_e(30, 'assumption: tens of cycles (microbenchmark studies of Volta/Ampere)')}",
        f"    access_bytes: {_e(128, 'a warp-wide access: 32 banks x 4 B')}",
        "  l2:",
        f"    capacity_bytes: {_e(l2, f'{wp}: {l2 // MB} MB L2')}",
        f"    bandwidth_bytes_per_cycle: {_e(l2_bw, l2_src)}",
        f"    latency_cycles: {_e(200, 'assumption: about 200 cycles (microbenchmark studies of Volta/Ampere L2 hit latency)')}",
        f"    access_bytes: {_e(32, f'{GUIDE}: L2 transactions are 32-byte sectors')}",
        "  dram:",
        f"    capacity_bytes: {_e(dram, f'{wp}: {dram / 1e9 if dram % GB else dram // GB} GB {dram_kind.upper()}')}",
        f"    bandwidth_bytes_per_cycle: {_e(round(dram_gbs * 1e9 / clock, 3), f'derived: {wp}: {dram_gbs} GB/s / {mhz} MHz')}",
        f"    latency_cycles: {_e(500, 'assumption: about 500 cycles to DRAM under load (microbenchmark studies)')}",
        f"    access_bytes: {_e(32, f'{GUIDE}: DRAM is accessed in 32-byte sectors')}",
        "energy_pj:",
    ]
    for comp, acts in energy.items():
        lines.append(f"  {comp}:")
        for act, pj in acts.items():
            lines.append(f"    {act}: {_e(pj, why[f'{comp}.{act}'])}")
    lines += [
        "gpu:",
        f"  sms: {_e(sms, f'{wp}: {sms} SMs')}",
        f"  warp_size: {_e(32, GUIDE)}",
        f"  max_threads_per_sm: {_e(2048, f'{GUIDE} (cc {cc})')}",
        f"  max_threads_per_cta: {_e(1024, f'{GUIDE} (cc {cc})')}",
        f"  max_ctas_per_sm: {_e(32, f'{GUIDE} (cc {cc})')}",
        f"  registers_per_sm: {_e(65536, f'{GUIDE} (cc {cc}): 64 K 32-bit registers (256 KB) per SM')}",
        f"  max_registers_per_thread: {_e(255, f'{GUIDE} (cc {cc})')}",
        f"  register_alloc_unit: {_e(256, f'{OCC}: registers allocated per warp in units of 256')}",
        f"  smem_per_sm_bytes: {_e(smem_sm, f'{GUIDE} (cc {cc}): {smem_sm // KB} KB per SM')}",
        f"  smem_per_cta_bytes: {_e(smem_cta, f'{GUIDE} (cc {cc}): {smem_cta // KB} KB per CTA (opt-in maximum)')}",
        f"  smem_alloc_unit_bytes: {_e(smem_unit, f'{OCC} (cc {cc}): {smem_unit} B allocation granularity')}",
        f"  l1_bytes_per_cycle_per_sm: {_e(128.0, f'{GUIDE}: 32 banks x 4 B per clock')}",
        f"  l2_bytes_per_cycle_per_sm: {_e(64.0, 'assumption: one 64 B L2 response per clock per SM (the L2 level bandwidth caps the sum)')}",
        f"  dram_efficiency: {_e(0.9, 'assumption: streaming traffic sustains about 90% of the vendor DRAM peak (refresh, read/write turnaround; docs/reference/gpu.md: 85-92% observed)')}",
        f"  launch_overhead_s: {_e(5.0e-6, 'assumption: PyTorch eager dispatch plus cudaLaunchKernel, about 5 us per kernel on the host (docs/reference/gpu.md: a launch floor of a few microseconds)')}",
        f"  kernel_overhead_s: {_e(1.5e-6, 'assumption: grid launch and drain on the GPU, about 1.5 us per kernel')}",
        f"  tdp_w: {_e(tdp, f'{wp}: {tdp} W')}",
        f"  process_nm: {_e(node, node_src)}",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a shipped preset differs")
    args = ap.parse_args()
    stale = []
    for name in DEVICES:
        path = PRESETS / f"{name}.yaml"
        text = render(name)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale presets: {', '.join(stale)}; run python tools/make_gpu_presets.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
