"""Every preset number whose source states a derivation equals that derivation."""
import pytest

import archsim
from archsim.area import area_um2
from archsim.energy import sram_access_pj_per_64b

MIB = 1 << 20

# (preset, dotted path, derivation as stated in the source)
DERIVED = [
    *[(p, f"energy_pj.{u}.exp", 6 * 17.1645 + 8.3395) for p, u in
      (("fusemax", "pe2d"), ("fusemax", "pe1d"), ("flat", "pe2d"), ("generic_array", "pe2d"))],
    *[(p, f"levels.dram.bandwidth_bytes_per_cycle", 400 * 2**30 / 940e6) for p in ("fusemax", "flat")],
    ("fusemax", "energy_pj.glb.read", sram_access_pj_per_64b(16 * MIB)),
    ("fusemax", "energy_pj.glb.write", sram_access_pj_per_64b(16 * MIB)),
    ("flat", "energy_pj.glb.read", sram_access_pj_per_64b(32 * MIB)),
    ("flat", "energy_pj.glb.write", sram_access_pj_per_64b(32 * MIB)),
    *[(p, f"energy_pj.pe2d.rf_{rw}", v * 16 / 32) for p in ("fusemax", "flat")
      for rw, v in (("read", 2.19), ("write", 1.91))],
    *[(p, f"energy_pj.dram.{rw}", 12 * 64) for p in ("piuma", "piuma8") for rw in ("read", "write")],
    *[(p, "energy_pj.spad.atomic", 2.0 + 2.0) for p in ("piuma", "piuma8")],
    *[(p, "energy_pj.spad.network_hop", 0.5 * 64) for p in ("piuma", "piuma8")],
    *[(p, "levels.spad.bandwidth_bytes_per_cycle", 8 * 8) for p in ("piuma", "piuma8")],
    *[(p, "levels.cache.bandwidth_bytes_per_cycle", 4 * 8) for p in ("piuma", "piuma8")],
    ("piuma8", "levels.dram.bandwidth_bytes_per_cycle", 35.2e9 * 8 / 1e9),
]


def _value(arch, dotted):
    node = arch.model_dump()
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize("preset,path,expected", DERIVED, ids=[f"{p}:{k}" for p, k, _ in DERIVED])
def test_derived_preset_value_matches_its_derivation(preset, path, expected):
    arch = archsim.load_arch(preset)
    assert path in arch.sources, f"{preset}: {path} has no source"
    assert _value(arch, path) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("preset", ["fusemax", "flat"])
def test_area_table_is_the_area_model(preset):
    arch = archsim.load_arch(preset)
    assert area_um2(arch) == pytest.approx(arch.area_um2)
    # ~0.5 mm^2 per Mbit (the stated density): 16 MiB = 128 Mbit -> 64 mm^2
    assert arch.area_um2["glb"] / 1e6 == pytest.approx(arch.levels["glb"].capacity_bytes * 8 / 2**20 * 0.5)
