"""GPU presets re-derive from their stated sources; the liveness allocator's rules."""
import importlib.util
from pathlib import Path

import pytest

import archsim
from archsim.gpu import GpuProgram, Kernel, liveness, peak_bytes
from archsim.gpu.energy_rules import sram_read_pj_64b
from archsim.spec import PRESET_DIR

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("make_gpu_presets", ROOT / "tools" / "make_gpu_presets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_gpu_presets_equal_their_derivation():
    tool = _tool()
    for name in tool.DEVICES:
        assert (PRESET_DIR / f"{name}.yaml").read_text() == tool.render(name), name


def test_sram_rule_passes_through_horowitz_points():
    assert sram_read_pj_64b(8 * 1024) == pytest.approx(10)
    assert sram_read_pj_64b(32 * 1024) == pytest.approx(20)
    assert sram_read_pj_64b(1024 * 1024) == pytest.approx(100)


def test_presets_peak_rates_match_the_vendor_figures():
    tensor_tflops = {"v100_sxm2": 125, "a100_80gb": 312, "h100_sxm5": 989, "h200_sxm": 989}
    for name, tflops in tensor_tflops.items():
        arch = archsim.load_arch(name)
        mma = arch.units["mma"]
        assert 2 * mma.lanes * mma.count * arch.clock_hz / 1e12 == pytest.approx(tflops, rel=0.01)
    dram_gbs = {"p100_sxm2": 732, "p4000": 243, "a100_40gb": 1555, "a100_80gb": 2039, "h200_sxm": 4800}
    for name, gbs in dram_gbs.items():
        arch = archsim.load_arch(name)
        assert arch.levels["dram"].bandwidth_bytes_per_cycle * arch.clock_hz / 1e9 == pytest.approx(gbs, rel=1e-3)


def _k(name, reads, writes, workspace=0):
    return Kernel(name, ctas=1, threads=32, registers_per_thread=32, smem_bytes=0, steps=1,
                  load_bytes_per_step=1, smem_bytes_per_step=0, work_per_step={}, store_bytes=1,
                  reads=reads, writes=writes, workspace_bytes=workspace)


def test_liveness_allocates_at_first_write_frees_after_last_use_rounds_to_512():
    prog = GpuProgram("p", (
        _k("a", {"x": 1000}, {"t1": 1000}),          # t1 live: 1024
        _k("b", {"t1": 1000}, {"t2": 100}, 600),     # t1 + t2 (512) + workspace (1024)
        _k("c", {"t2": 100}, {"y": 3000}),           # t1 freed after b; t2 + y (3072)
    ), {"x": 1000})
    assert liveness(prog) == [1024, 1024 + 512 + 1024, 512 + 3072]
    assert peak_bytes(prog) == 3584
