"""Transformer shape table of the FuseMax study (encoder self-attention, M = P = sequence length).

Assumes the paper's models and batch 64; every linear layer is a GEMM with M = batch x seq_len.
Leaves out embeddings, layer norms, residual adds, activation functions and the decoder side (T5's
decoder): they are elementwise or small next to the GEMMs and attention.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TransformerModel", "MODELS", "get_model", "linear_layers", "SEQ_LENS", "BATCH"]

BATCH = 64  # fusemax.md: batch 64
SEQ_LENS = (1024, 4096, 16384, 65536, 262144, 1048576)  # fusemax.md: 1K..1M, powers of two


@dataclass(frozen=True)
class TransformerModel:
    """D: model width; H: heads; E = F: per-head embedding; S: FFN hidden width."""

    name: str
    D: int
    H: int
    E: int
    F: int
    S: int


MODELS: dict[str, TransformerModel] = {m.name: m for m in (   # fusemax.md workload table
    TransformerModel("bert", 768, 12, 64, 64, 3072),
    TransformerModel("trxl", 1024, 16, 64, 64, 4096),
    TransformerModel("t5", 512, 8, 64, 64, 2048),
    TransformerModel("xlm", 2048, 16, 128, 128, 8192),
)}


def get_model(name: str) -> TransformerModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"model: unknown model {name!r}; known: {', '.join(MODELS)}") from None


def linear_layers(model: TransformerModel, seq_len: int, batch: int = BATCH) -> list[tuple[str, int, int, int]]:
    """(name, M, K, N) of each GEMM of one encoder layer (fusemax.md)."""
    rows = batch * seq_len
    eh = model.E * model.H
    return [("q_proj", rows, model.D, eh), ("k_proj", rows, model.D, eh), ("v_proj", rows, model.D, eh),
            ("out_proj", rows, eh, model.D), ("ffn1", rows, model.D, model.S), ("ffn2", rows, model.S, model.D)]
