"""The optimum group-size model of E2GC: E(G), and G* from pluggable balance rules.

For a KxK grouped layer (workloads.conv_layers.ConvLayer) whose group size G varies with its
channels, shape and batch fixed, every count is affine in G:
MACs(G) = a G (a = batch H_out W_out K^2 c_out), compulsory words(G) = b + c G
(b = activation words, c = K^2 c_out weights per unit of G), so AI(G) = a G / (b + c G).

Energy model (the E2GC paper's structure; its equations were not published, so this is a stated
reconstruction, docs/e2gc.md): E(G) = e_mac MACs(G) + sum over ``levels`` of e_level words(G),
every compulsory word crossing each level once; e_mac is the preset's energy per MAC of the
``unit`` and e_level the preset's read energy per word of the level.

Balance rules (``RULES``; add one with :func:`register_rule`), each returning G* (continuous;
``inf`` when the balance is never reached, i.e. dense is optimal):
- ``ridge``: AI(G*) = peak MAC/s of ``unit`` / peak words/s of DRAM (the roofline ridge; vendor
  peak DRAM bandwidth, as the paper's ridge uses datasheet figures);
- ``energy``: e_mac MACs(G*) = data-movement energy(G*).
Defaults (``unit="fp32"``, 4-byte words) are the FP32 reading the paper's P100/P4000 ridge values
use (G* ~ 6.5 on P100-PCIe, ~ 7.6 on P100-SXM2, ~ 12.5 on P4000 for C = 256 at 14 x 14).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["LayerCoefficients", "coefficients", "model_energy_pj", "optimum_group_size", "RULES",
           "register_rule"]


@dataclass(frozen=True)
class LayerCoefficients:
    """MACs(G) = macs_per_g G; words(G) = fixed_words + words_per_g G."""

    macs_per_g: float
    fixed_words: float
    words_per_g: float

    def macs(self, G: float) -> float:
        return self.macs_per_g * G

    def words(self, G: float) -> float:
        return self.fixed_words + self.words_per_g * G

    def arithmetic_intensity(self, G: float) -> float:
        return self.macs(G) / self.words(G)


def coefficients(layer, batch: int = 1) -> LayerCoefficients:
    """The affine coefficients of ``layer`` (its own group size is ignored; its out-channels, shape
    and bias fixed)."""
    per_g = layer.kernel ** 2 * layer.c_out
    return LayerCoefficients(batch * layer.h_out * layer.w_out * per_g,
                             layer.activation_words(batch) + (layer.c_out if layer.bias else 0), per_g)


def _mac_pj(arch, unit: str) -> float:
    return arch.energy_pj[unit]["mac"]


def _word_pj(arch, level: str, word_bytes: int) -> float:
    return arch.energy_pj[level]["read"] / arch.levels[level].access_bytes * word_bytes


def model_energy_pj(layer, arch, G: float, batch: int = 1, unit: str = "fp32", word_bytes: int = 4,
                    levels: tuple[str, ...] = ("dram", "l2")) -> dict[str, float]:
    """E(G) by part: ``compute`` and one entry per level (pJ), and ``total``."""
    co = coefficients(layer, batch)
    out = {"compute": _mac_pj(arch, unit) * co.macs(G)}
    for level in levels:
        out[level] = _word_pj(arch, level, word_bytes) * co.words(G)
    out["total"] = sum(out.values())
    return out


def _solve(target_ratio: float, co: LayerCoefficients) -> float:
    """G with macs(G) / words(G) = target_ratio (inf when AI never reaches it)."""
    denominator = co.macs_per_g - target_ratio * co.words_per_g
    return target_ratio * co.fixed_words / denominator if denominator > 0 else math.inf


def ridge_rule(co: LayerCoefficients, arch, unit: str, word_bytes: int, levels) -> float:
    u = arch.units[unit]
    macs_per_s = u.lanes * u.count * arch.clock_hz / u.cycles_per_op["mac"]
    words_per_s = arch.levels[arch.backing_level].bandwidth_bytes_per_cycle * arch.clock_hz / word_bytes
    return _solve(macs_per_s / words_per_s, co)


def energy_rule(co: LayerCoefficients, arch, unit: str, word_bytes: int, levels) -> float:
    per_word = sum(_word_pj(arch, level, word_bytes) for level in levels)
    return _solve(per_word / _mac_pj(arch, unit), co)


RULES: dict[str, Callable] = {"ridge": ridge_rule, "energy": energy_rule}


def register_rule(name: str, rule: Callable) -> None:
    """Add a balance rule: ``rule(coefficients, arch, unit, word_bytes, levels) -> G*``."""
    if name in RULES:
        raise ValueError(f"rule: balance rule {name!r} is registered twice")
    RULES[name] = rule


def optimum_group_size(layer, arch, rule: str = "ridge", batch: int = 1, unit: str = "fp32",
                       word_bytes: int = 4, levels: tuple[str, ...] = ("dram", "l2")) -> float:
    """G* of ``layer`` on ``arch`` by the balance ``rule`` (continuous; inf = dense)."""
    if rule not in RULES:
        raise ValueError(f"rule: unknown balance rule {rule!r}; known: {', '.join(RULES)}")
    if unit not in arch.units:
        raise ValueError(f"unit: {arch.name} has no unit {unit!r}; units: {', '.join(arch.units)}")
    return RULES[rule](coefficients(layer, batch), arch, unit, word_bytes, levels)
