"""Convolution layers with explicit shapes, and their static analyses (MACs, weights, activations,
arithmetic intensity).

A :class:`ConvLayer` is a KxK grouped convolution ``c_in -> c_out`` over an ``h_in x w_in`` input
with ``stride`` and zero ``padding``, split into ``groups`` groups (g); its *group size* (E2GC's G,
channels per group) is ``c_in / groups``. Depthwise: group size 1 (groups = c_in = c_out);
dense: one group. A fully connected layer is a 1x1 convolution on a 1x1 input (``bias=True``).
Layout-free: sizes are counted in words; callers multiply by their word size.

Counts (the E2GC paper's definitions, Jha et al., VLSID 2020, restated in docs/e2gc.md):
MACs = batch x H_out x W_out x K^2 x G x c_out; weights = K^2 x G x c_out (+ c_out biases);
activation words = batch x (H_in W_in c_in + H_out W_out c_out);
arithmetic intensity = MACs / (weights + activation words).
Leaves out batch-norm and activation functions (elementwise; inference folds BN into the conv).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConvLayer", "layer_analysis", "output_extent"]


def output_extent(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height or width of a convolution or pooling window over ``size`` input pixels."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class ConvLayer:
    """One (grouped) convolution; ``inputs``/``output`` name the activation tensors it reads and
    writes inside a network (a residual add names two inputs)."""

    name: str
    c_in: int
    c_out: int
    h_in: int
    w_in: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    groups: int = 1
    bias: bool = False
    inputs: tuple[str, ...] = ()
    output: str = ""

    def __post_init__(self):
        for field in ("c_in", "c_out", "h_in", "w_in", "kernel", "stride", "groups"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"layer {self.name}: {field}: expected a positive integer, got {value!r}")
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"layer {self.name}: padding: expected an integer >= 0, got {self.padding!r}")
        if self.c_in % self.groups:
            raise ValueError(f"layer {self.name}: groups: {self.groups} groups do not divide "
                             f"c_in={self.c_in} (group size must be a whole number of channels)")
        if self.c_out % self.groups:
            raise ValueError(f"layer {self.name}: groups: {self.groups} groups do not divide c_out={self.c_out}")
        if self.h_out < 1 or self.w_out < 1:
            raise ValueError(f"layer {self.name}: stride: a {self.kernel}x{self.kernel} kernel with stride "
                             f"{self.stride} and padding {self.padding} on a {self.h_in}x{self.w_in} input "
                             "gives an empty output")

    @property
    def h_out(self) -> int:
        return output_extent(self.h_in, self.kernel, self.stride, self.padding)

    @property
    def w_out(self) -> int:
        return output_extent(self.w_in, self.kernel, self.stride, self.padding)

    @property
    def group_size(self) -> int:
        """E2GC's G: input channels per group."""
        return self.c_in // self.groups

    @property
    def out_per_group(self) -> int:
        return self.c_out // self.groups

    @property
    def depthwise(self) -> bool:
        return self.group_size == 1 and self.out_per_group == 1

    def macs(self, batch: int = 1) -> int:
        return batch * self.h_out * self.w_out * self.kernel ** 2 * self.group_size * self.c_out

    def weights(self) -> int:
        """Parameters: K^2 x G x c_out weights, plus c_out biases when ``bias``."""
        return self.kernel ** 2 * self.group_size * self.c_out + (self.c_out if self.bias else 0)

    def input_words(self, batch: int = 1) -> int:
        return batch * self.h_in * self.w_in * self.c_in

    def output_words(self, batch: int = 1) -> int:
        return batch * self.h_out * self.w_out * self.c_out

    def activation_words(self, batch: int = 1) -> int:
        return self.input_words(batch) + self.output_words(batch)

    def arithmetic_intensity(self, batch: int = 1) -> float:
        """MACs per word of compulsory traffic (weights + input + output activations)."""
        return self.macs(batch) / (self.weights() + self.activation_words(batch))


def layer_analysis(layer: ConvLayer, batch: int = 1) -> dict[str, float]:
    """The layer's static counts: ``macs``, ``weights``, ``activation_words``, ``arithmetic_intensity``
    (MACs per word), plus its shape (``group_size``, ``groups``, ``h_out``, ``w_out``)."""
    return {"macs": layer.macs(batch), "weights": layer.weights(),
            "activation_words": layer.activation_words(batch),
            "arithmetic_intensity": layer.arithmetic_intensity(batch),
            "group_size": layer.group_size, "groups": layer.groups,
            "h_out": layer.h_out, "w_out": layer.w_out}
