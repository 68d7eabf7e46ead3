"""The PIUMA machine family: multithreaded cores, scratchpad atomics, DMA and 8-byte DRAM.

``simulate_piuma(program, arch)`` runs a :class:`PiumaProgram` (work quanta per thread) on a
``family: piuma`` preset and returns an :class:`archsim.SimResult`; ``archsim.energy`` prices its
actions. Model and what it leaves out: archsim/piuma/machine.py; docs/piuma.md.
"""
from .machine import load_imbalance, simulate_piuma, thread_pipe
from .program import TIMED_COLUMNS, Batch, PiumaProgram, Stage
from .spad import Scratchpad

__all__ = ["Batch", "PiumaProgram", "Scratchpad", "Stage", "TIMED_COLUMNS",
           "load_imbalance", "simulate_piuma", "thread_pipe"]
