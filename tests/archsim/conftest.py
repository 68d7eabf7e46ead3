import pytest

import archsim

# A hand-computable machine: glb 10 B/cycle no latency; dram 4 B/cycle + 5 cycles latency.
TOY = {
    "levels.glb.latency_cycles": 0,
    "levels.glb.bandwidth_bytes_per_cycle": 10.0,
    "levels.glb.capacity_bytes": 100,
    "levels.glb.access_bytes": 4,
    "levels.dram.latency_cycles": 5,
    "levels.dram.bandwidth_bytes_per_cycle": 4.0,
}


@pytest.fixture(scope="session")
def generic():
    return archsim.load_arch("generic_array")


@pytest.fixture(scope="session")
def toy():
    return archsim.load_arch("generic_array", TOY)


@pytest.fixture(scope="session")
def toy_arch():
    """Factory: the toy machine with extra overrides."""
    return lambda **extra: archsim.load_arch("generic_array", {**TOY, **extra})
