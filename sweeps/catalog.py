"""What archsim knows, in words: one line per cascade, preset, mapper, evaluator, sweep and check
(``archsim list``), a preset with the source of every number (``archsim describe``), and an
evaluator's parameters (``archsim list --params``). Read-only; the CLI prints what these return.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

# Verification checks are named <family>[<variant>]; one line per family says what it compares.
CHECK_FAMILIES = (
    ("reference:", "the cascade evaluated Einsum by Einsum against a closed-form numpy reference"),
    ("attention_", "a tiled attention executor (the cascade's tile-by-tile schedule) against numpy softmax attention"),
    ("gemm_tiled", "a tiled GEMM on a PE array (edge tiles, folds) against A @ B"),
    ("mapped:", "the tiling a mapper chose, executed tile by tile, against the reference"),
    ("fusemax:", "the schedule a FuseMax-study configuration costs, executed tile by tile, against the reference"),
    ("spgemm_", "a SpGEMM kernel's executor (accumulator, hashing, windows) against scipy A @ A"),
)


_SENTENCE_END = re.compile(r"(?<!Figs)(?<!Fig)(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z(])")


def first_sentence(text: str) -> str:
    text = " ".join((text or "").split())
    parts = _SENTENCE_END.split(text, maxsplit=1)
    return parts[0] + ("." if len(parts) > 1 else "")


def cascades() -> list[tuple[str, str]]:
    import workloads
    from workloads.cascades import REGISTRY

    rows = []
    for name in workloads.cascade_names():
        shape = " ".join(f"{k}={v}" for k, v in workloads.shape_parameters(name).items())
        rows.append((name, f"{first_sentence(REGISTRY[name].__doc__)} Example defaults: {shape or 'none'}."))
    return rows


def presets() -> list[tuple[str, str]]:
    """Each preset's description, read from its YAML (validating every preset would double the time
    of ``archsim list``; ``archsim describe`` loads and checks one)."""
    from archsim.spec import PRESET_DIR, preset_names

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [(name, first_sentence(str(yaml.load((PRESET_DIR / f"{name}.yaml").read_text(), Loader=loader)
                                      .get("description", "")))) for name in preset_names()]


def mappers() -> list[tuple[str, str]]:
    from mappings import get_mapper, mapper_names

    return [(name, get_mapper(name).description) for name in mapper_names()]


def evaluators() -> list[tuple[str, str]]:
    from .evaluators import evaluator_names, get_evaluator

    return [(name, get_evaluator(name).description) for name in evaluator_names()]


def sweeps() -> list[tuple[str, str]]:
    folder = Path(__file__).parent
    rows = []
    for path in sorted(folder.glob("*.yaml")):
        spec = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        rows.append((path.stem, first_sentence(str(spec.get("description", ""))) +
                     f" (evaluator {spec.get('evaluator', 'einsum')})"))
    return rows


def checks() -> list[tuple[str, str]]:
    """One row per kind of check: a glob that selects them (``archsim verify 'spgemm_*'``) and what
    they compare, with how many checks of each family there are."""
    from mappings.executors import registry

    kinds: dict[str, dict[str, int]] = {prefix: {} for prefix, _ in CHECK_FAMILIES}
    for name in registry():
        prefix = next((p for p, _ in CHECK_FAMILIES if name.startswith(p)), name.split("[", 1)[0])
        family = name.split("[", 1)[0]
        kinds.setdefault(prefix, {})[family] = kinds.get(prefix, {}).get(family, 0) + 1
    meanings = dict(CHECK_FAMILIES)
    rows = []
    for prefix, families in kinds.items():
        if families:
            listed = ", ".join(f"{f} x{n}" if n > 1 else f for f, n in families.items())
            rows.append((f"{prefix}*", f"{meanings.get(prefix, '')} ({listed})"))
    return rows


SECTIONS = {"cascades": cascades, "presets": presets, "mappers": mappers, "evaluators": evaluators,
            "sweeps": sweeps, "checks": checks}


def params(evaluator: str) -> list[tuple[str, str, str, str]]:
    """(name, type, default, meaning) of every parameter ``evaluator`` accepts."""
    from .evaluators import get_evaluator

    return [(p.name, p.type, p.default, p.meaning) for p in get_evaluator(evaluator).params]


def describe_preset(name: str) -> dict:
    """A preset's name, family, file, description, and every number with its source."""
    import archsim

    arch = archsim.load_arch(name)
    data = arch.model_dump()
    numbers = []
    for path, source in arch.sources.items():
        node = data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        numbers.append({"field": path, "value": node, "source": source})
    return {"name": arch.name, "family": arch.family, "path": str(arch.path), "description": arch.description,
            "numbers": numbers, "placeholders": list(arch.placeholders)}
