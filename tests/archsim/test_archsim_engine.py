"""Event-order tests: small programs on the toy machine (conftest.TOY) with hand-computed schedules.

Toy timing: glb holds ceil(bytes / 10) cycles (no latency); dram holds ceil(bytes / 4) cycles and
its 5-cycle latency follows the hold without occupying dram (pipelined).
"""

import pytest

from archsim import Op, Program, ProgramError, simulate


def run(arch, *ops, **kw):
    return simulate(Program("t", tuple(ops)), arch, trace=True, **kw)


def test_chain_schedule(toy):
    r = run(toy,
            Op("a", "pe2d", 10, work={"mac": 2560}),
            Op("b", "pe1d", 5, reads={"dram": 40}, deps=(0,)),      # dram 10 + latency 5 = 15 > 5
            Op("c", "pe1d", 3, writes={"glb": 25}, deps=(1,)))      # glb ceil(2.5) = 3
    assert r.trace == ((0, 0, 10), (1, 10, 25), (2, 25, 28))
    assert r.cycles == 28
    assert r.busy_cycles == {"pe2d": 10, "pe1d": 8, "glb": 3, "dram": 10}
    assert r.events == 3 and r.ops == 3


def test_fifo_unit_contention(toy):
    r = run(toy,
            Op("a", "pe2d", 10),
            Op("b", "pe2d", 4),                  # queued behind a: holds 10..14
            Op("c", "pe1d", 3, deps=(1,)))       # 14..17
    assert r.trace == ((0, 0, 10), (1, 0, 14), (2, 14, 17))
    assert r.cycles == 17


def test_unit_and_levels_overlap(toy):
    r = run(toy,
            Op("a", "pe2d", 10, reads={"dram": 8}),   # dram busy 0..2 (+5 latency), unit 0..10
            Op("b", None, 0, reads={"dram": 20}))     # dram FIFO after a: busy 2..7, ends 7+5 = 12
    assert r.trace == ((0, 0, 10), (1, 0, 12))
    assert r.busy_cycles["dram"] == 7


def test_reads_and_writes_share_one_hold(toy):
    r = run(toy, Op("a", None, 0, reads={"dram": 8}, writes={"dram": 8}))  # 5 + 16/4
    assert r.cycles == 9
    assert r.actions == {"dram.read": 1, "dram.write": 1}


def test_alloc_waits_first_fit_and_peak(toy):
    r = run(toy,
            Op("a", "pe2d", 10, alloc={"glb": 80}, free={"glb": 80}),
            Op("b", "pe1d", 5, alloc={"glb": 50}, free={"glb": 50}),   # waits for a's free
            Op("c", "pe1d", 2, alloc={"glb": 20}, free={"glb": 20}))   # fits next to a: starts at 0
    assert r.trace == ((0, 0, 10), (2, 0, 2), (1, 10, 15))
    assert r.peak_bytes == {"glb": 100, "dram": 0}


def test_alloc_lifetime_across_ops(toy):
    r = run(toy,
            Op("load", None, 0, reads={"dram": 4}, alloc={"glb": 60}),          # 0..6
            Op("use", "pe2d", 3, deps=(0,), free={"glb": 60}),                  # 6..9
            Op("next", "pe1d", 1, alloc={"glb": 60}, free={"glb": 60}))         # waits for use
    assert r.trace == ((0, 0, 6), (1, 6, 9), (2, 9, 10))
    assert r.peak_bytes["glb"] == 60


def test_deadlock_names_stuck_op(toy):
    with pytest.raises(ProgramError, match=r"deadlock: op 1 \('b'\) waits for 50 bytes at 'glb'"):
        run(toy, Op("a", "pe2d", 1, alloc={"glb": 80}), Op("b", "pe2d", 1, alloc={"glb": 50}))


def test_alloc_above_capacity_is_rejected_before_running(toy):
    with pytest.raises(ProgramError, match="allocates 101 bytes at 'glb'.*capacity of 100"):
        run(toy, Op("a", "pe2d", 1, alloc={"glb": 101}))


def test_free_more_than_allocated(toy):
    with pytest.raises(ProgramError, match="frees 10 bytes at 'glb'"):
        run(toy, Op("a", "pe2d", 1, free={"glb": 10}))


def test_dram_channels_interleave(toy_arch):
    arch = toy_arch(**{"levels.dram.channels": 2})   # 2 B/cycle per channel, 8-byte chunks
    r = run(arch,
            Op("a", None, 0, reads={"dram": 40}),   # 5 chunks: ch0 24 B busy 0..12, ch1 16 B 0..8
            Op("b", None, 0, reads={"dram": 8}),    # next chunk goes to ch1: busy 8..12, ends 17
            Op("c", None, 0, reads={"dram": 20}))   # ch0: chunks 0,2 = 8+4 B busy 12..18, ends 23
    assert r.trace == ((0, 0, 17), (1, 0, 17), (2, 0, 23))
    # c's 8 B on ch1 after b: busy 12..16, ends 21; every hold ends with the 5-cycle latency
    assert r.busy_cycles["dram"] == 12 + 8 + 4 + 6 + 4
    assert r.actions["dram.read"] == 5 + 1 + 3


def test_unit_with_several_instances(toy_arch):
    arch = toy_arch(**{"units.pe2d.count": 2})
    r = run(arch, *(Op(f"o{i}", "pe2d", 10) for i in range(3)))
    assert r.trace == ((0, 0, 10), (1, 0, 10), (2, 0, 20))
    assert r.busy_cycles["pe2d"] == 30


def test_zero_length_ops_need_no_event(toy):
    r = run(toy, Op("a", "pe2d", 4), Op("b", "pe2d", 4), Op("join", None, 0, deps=(0, 1)),
            Op("c", "pe1d", 2, deps=(2,)), Op("end", None, 0, deps=(3,)))
    assert r.trace == ((0, 0, 4), (1, 0, 8), (2, 8, 8), (3, 8, 10), (4, 10, 10))
    assert r.events == 3 and r.cycles == 10


def test_empty_program(toy):
    r = simulate(Program("empty", ()), toy)
    assert r.cycles == 0 and r.events == 0 and r.peak_bytes == {"glb": 0, "dram": 0}


def test_actions(toy):
    r = run(toy, Op("a", "pe2d", 7, work={"mac": 10, "exp": 2}, reads={"glb": 9, "dram": 9},
                    writes={"glb": 4}),
            Op("b", "pe2d", 1, work={"mac": 5}, reads={"glb": 1}))
    assert r.actions == {"dram.read": 2, "glb.read": 3 + 1, "glb.write": 1,
                         "pe2d.exp": 2, "pe2d.mac": 15}


def test_to_dict_and_determinism(toy):
    ops = tuple(Op(f"o{i}", "pe2d" if i % 2 else "pe1d", 1 + i % 5, reads={"dram": 8 * (i % 3)},
                   alloc={"glb": 30}, free={"glb": 30}, deps=(i - 1,) if i % 4 else ())
                for i in range(40))
    p = Program("det", ops)
    a, b = simulate(p, toy, trace=True), simulate(p, toy, trace=True)
    assert a == b and a.to_dict() == b.to_dict()
    assert set(a.to_dict()) >= {"cycles", "busy_cycles", "actions", "peak_bytes", "events", "ops"}


@pytest.mark.parametrize("op,match", [
    (Op("a", "tensor_core", 1), "unknown unit 'tensor_core'"),
    (Op("a", "pe2d", 1, reads={"l2": 8}), "reads names unknown level 'l2'"),
    (Op("a", "pe2d", 1, work={"div": 4}), "unit 'pe2d' cannot do 'div'"),
])
def test_program_checked_against_arch(toy, op, match):
    with pytest.raises(ProgramError, match=match):
        simulate(Program("p", (op,)), toy)


def test_program_construction_errors():
    with pytest.raises(ProgramError, match="deps must point to earlier ops"):
        Program("p", (Op("a", "pe2d", 1, deps=(0,)),))
    with pytest.raises(ProgramError, match="compute_cycles"):
        Op("a", "pe2d", -1)
    with pytest.raises(ProgramError, match="need a unit"):
        Op("a", None, 3)
    with pytest.raises(ProgramError, match=r"reads\['glb'\]"):
        Op("a", "pe2d", 1, reads={"glb": 1.5})
