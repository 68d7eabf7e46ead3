"""Caps on the work any input can ask for, checked before that work starts.

A design-space tool runs overnight on shared machines: no spec, ``--set`` value, preset override or
input file may make it take minutes and gigabytes before it says what is wrong. Each cap below is
checked at the boundary where the size becomes known, and its error names the field and the limit.
The values are far above what the shipped studies use (so they never bind on a real study) and far
below what would exhaust a workstation; each says why. The Matrix Market caps live with the reader
in ``workloads/matrices.py`` (``workloads`` imports nothing of ours) and follow the same rule.
"""
from __future__ import annotations

#: Tile-level ops one lowered program may hold. Measured on the generic lowering (attention_1pass,
#: M=P=4096 on generic_array, 30,768 ops): ~2.4 KiB and ~0.27 ms per op to lower, before simulating
#: it (one or more simpy events per op). 200,000 ops is then ~500 MiB and about a minute; larger
#: tiles (``map.tiles.<rank>``) lower the count, and the FuseMax study at 1M tokens uses its own
#: steady-state mapper, not this lowering.
MAX_PROGRAM_OPS = 200_000

#: Instances of one compute unit (``units.<name>.count``). The largest modelled machines have
#: hundreds (an H100 has 132 SMs; a PIUMA node 8 cores x 4 MTPs); 65,536 leaves room for rack-scale
#: what-ifs while keeping per-instance bookkeeping small.
MAX_UNIT_COUNT = 65_536

#: Channels of one storage level (``levels.<name>.channels``), each a server in the engine. An HBM3
#: stack has 32 pseudo-channels and large GPUs carry 5-6 stacks (~200 channels); 65,536 is far above.
MAX_LEVEL_CHANNELS = 65_536

#: Rows or columns of one unit's PE array (``units.<name>.rows|cols``). FuseMax's 2D array is
#: 256 x 256; a 65,536-wide side is 256x that, and keeps lanes (rows x cols) within 2**32.
MAX_ARRAY_SIDE = 65_536

#: Points one sweep may expand to (grid product x zip x ``sample.count``, checked before expanding).
#: A point's params and record take a few KiB and a closed-form point ~1-5 ms, so 1,000,000 points is
#: ~1-4 GiB of records and hours of work: beyond that, use a ``search`` section.
MAX_SWEEP_POINTS = 1_000_000

#: Points a ``search`` may evaluate (``search.budget`` or ``--budget``); the same reasoning as
#: ``MAX_SWEEP_POINTS``.
MAX_SEARCH_BUDGET = MAX_SWEEP_POINTS

#: Bits of any integer a sweep expression may produce (``derived``/``constraints``): ``M ** 10 ** 9``
#: would take minutes and gigabytes. 4,096 bits covers any product of hardware sizes (2**64 is 64 bits).
MAX_EXPR_INT_BITS = 4096

#: Elements of a tuple or characters of a string an expression may build by repetition (``(1,) * n``).
MAX_EXPR_SEQUENCE = 10_000

#: Characters of one expression's text (a spec is data, not a program).
MAX_EXPR_CHARS = 2000

#: Shape parameters (``M``, ``P``, ...) of a cascade: 2**40 (about 10**12) is far beyond any
#: sequence length or matrix side a study models (FuseMax's longest is 2**20) and keeps every
#: product of two ranks within float64's exact integers.
MAX_SHAPE = 2**40
