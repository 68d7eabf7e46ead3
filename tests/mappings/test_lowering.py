"""Mappers and lowering: invariants of the programs they produce, and legality errors."""
from collections import Counter

import pytest

import archsim
import workloads
from mappings import MappingError, get_mapper, lower

SHAPE = {"M": 256, "P": 256, "E": 16, "F": 16, "M0": 64}


@pytest.fixture(scope="module")
def arch():
    return archsim.load_arch("generic_array")


def program_for(name, mapper, arch, shape=SHAPE, **options):
    cascade = workloads.build(name, **shape)
    mapping = get_mapper(mapper).map(cascade, arch, **options)
    return cascade, mapping, lower(cascade, mapping, arch)


def total_work(program):
    """Operator totals, a fused MAC counted as its multiply and its add."""
    work = Counter()
    for op in program.ops:
        work.update(op.work)
    macs = work.pop("mac", 0)
    work.update({"mul": macs, "add": macs})
    return dict(work)


def cascade_work(cascade):
    work = Counter()
    for counts in workloads.op_counts(cascade).values():
        work.update(counts)
    return dict(work)


@pytest.mark.parametrize("name", ["attention_1pass", "attention_3pass", "attention_naive"])
@pytest.mark.parametrize("mapper", ["unfused", "fused"])
def test_program_work_equals_cascade_op_counts(arch, name, mapper):
    shape = SHAPE if name == "attention_1pass" else {k: v for k, v in SHAPE.items() if k != "M0"}
    cascade, _, program = program_for(name, mapper, arch, shape)
    assert total_work(program) == cascade_work(cascade)


def dram_bytes(program):
    return sum(op.reads.get("dram", 0) + op.writes.get("dram", 0) for op in program.ops)


def test_fused_moves_less_dram_than_unfused_and_at_least_compulsory(arch):
    cascade, mapping, fused = program_for("attention_1pass", "fused", arch)
    _, _, unfused = program_for("attention_1pass", "unfused", arch)
    sizes = workloads.footprints(cascade, word_bytes=2)
    compulsory = sum(sizes[t] for t in (*cascade.inputs, *cascade.outputs))
    assert compulsory <= dram_bytes(fused) < dram_bytes(unfused)


@pytest.mark.parametrize("mapper", ["unfused", "fused"])
def test_simulation_never_beats_the_bound(arch, mapper):
    _, _, program = program_for("attention_1pass", mapper, arch)
    result = archsim.simulate(program, arch)
    assert result.cycles >= archsim.bound(program, arch).cycles
    assert result.peak_bytes["glb"] <= arch.levels["glb"].capacity_bytes


def test_tile_exceeding_the_buffer_is_rejected_with_tensor_level_and_bytes(arch):
    small = archsim.load_arch("generic_array", {"levels.glb.capacity_bytes": 4096})
    cascade = workloads.build("attention_1pass", **SHAPE)
    with pytest.raises(MappingError) as info:
        get_mapper("fused").map(cascade, small, tiles={"p": 256, "m1": 1})
    message = str(info.value)
    assert "glb" in message and "4096 B" in message and "tensor" in message and "\n" not in message


def test_fusing_across_a_pass_barrier_is_rejected(arch):
    cascade = workloads.build("attention_3pass", M=256, P=64, E=16, F=16)
    with pytest.raises(MappingError, match="pass barrier"):
        get_mapper("fused").map(cascade, arch, tiles={"m": 64, "p": 16}, loop_order=["p", "m"])


def test_sparse_cascades_and_unknown_options_are_rejected(arch):
    with pytest.raises(MappingError, match="sparse"):
        get_mapper("fused").map(workloads.build("spgemm"), arch)
    with pytest.raises(MappingError, match="unknown mapping option"):
        get_mapper("fused").map(workloads.build("attention_1pass", **SHAPE), arch, tilez={})


def test_binding_to_a_unit_without_the_operator_is_rejected(arch):
    cascade = workloads.build("attention_1pass", **SHAPE)
    mapping = get_mapper("fused").map(cascade, arch, binding={"AV": "pe2d"})
    with pytest.raises(MappingError, match="binding.AV: unit pe2d has no 'div'"):
        lower(cascade, mapping, arch)


def test_tile_larger_than_its_rank_is_rejected(arch):
    cascade = workloads.build("attention_1pass", **SHAPE)
    with pytest.raises(MappingError, match=r"tiles.p: tile extent 100000 exceeds the rank's size 256"):
        get_mapper("fused").map(cascade, arch, tiles={"p": 100000, "m1": 1})
