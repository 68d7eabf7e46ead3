"""Architecture specs: compute units, storage levels, energy and area tables, and the preset loader.

Model. A machine is a set of named compute units (PE arrays, SIMD lanes, pipelines, DMA engines) and a
set of named storage levels (register files, buffers, scratchpads, caches, DRAM/HBM), plus a clock, a
per-action energy table and an optional per-component area table. A unit is a capacity-``count`` FIFO
server (``count`` identical instances, e.g. 4 PIUMA MTPs or 108 GPU SMs); a level is a
capacity-``channels`` set of FIFO servers with ``bandwidth_bytes_per_cycle`` split evenly over its
channels. Leaves out: topology (which unit talks to which level; the mapping decides that), network
on chip, caches' hit/miss behaviour (a cache is a level whose traffic the mapper estimates), clock
domains, DVFS and leakage. Every number in a preset YAML is ``{value: X, source: "..."}``; the loader
keeps the sources in ``Arch.sources`` (dotted path -> source) and lists ``placeholder`` entries in
``Arch.placeholders``. Errors are :class:`SpecError` with one line ``<file>: <path>: <problem>``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import SpecError
from .families import FAMILIES
from .gpu.params import GpuParams
from .limits import MAX_ARRAY_SIDE, MAX_LEVEL_CHANNELS, MAX_UNIT_COUNT

__all__ = ["Arch", "ComputeUnit", "StorageLevel", "PiumaParams", "load_arch", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "presets"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOADER_FIELDS = ("sources", "placeholders", "path")

RF_ACTIONS = ("rf_read", "rf_write")  # per-unit register-file actions (ComputeUnit)
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
ArraySide = Annotated[int, Field(gt=0, le=MAX_ARRAY_SIDE)]      # limits.py: why these caps
UnitCount = Annotated[int, Field(gt=0, le=MAX_UNIT_COUNT)]
ChannelCount = Annotated[int, Field(gt=0, le=MAX_LEVEL_CHANNELS)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ComputeUnit(_Frozen):
    """A compute unit: ``count`` identical instances of a ``rows`` x ``cols`` array of lanes.

    ``cycles_per_op`` maps an operator (``mac``, ``add``, ``exp``, ...) to the cycles one lane needs
    for one element; mappers use it to derive an op's ``compute_cycles``.
    ``dedicated_units_per_pe`` maps an operator to the separate functional units each lane has for
    it (FLAT's dedicated exp unit): they run pipelined beside the lane's ALU, so that operator
    overlaps the others (see ``cycles_for``); 0 units means the operator runs on the ALU.
    ``register_file_reads_per_op`` / ``register_file_writes_per_op`` map every operator of
    ``cycles_per_op`` to the register-file reads / writes (values) one element of it makes in its
    lane's register file; when given, the engine counts ``<unit>.rf_read`` / ``<unit>.rf_write``
    actions (values) so that register-file energy is priced like any other action. Either table,
    when present, must cover every operator (no silent zero).
    ``threads_per_instance`` (multithreaded pipelines) is informational for mappers; the engine does
    not model threads.
    """

    kind: Literal["pe_array_2d", "pe_array_1d", "simd", "scalar", "pipeline", "dma", "sm_pipe"]
    rows: ArraySide
    cols: ArraySide
    cycles_per_op: dict[str, PosInt]
    dedicated_units_per_pe: dict[str, NonNegInt] = {}
    count: UnitCount = 1
    register_file_bytes_per_pe: Optional[PosInt] = None
    register_file_reads_per_op: dict[str, NonNegInt] = {}
    register_file_writes_per_op: dict[str, NonNegInt] = {}
    threads_per_instance: Optional[PosInt] = None

    @model_validator(mode="after")
    def _dedicated_ops_exist(self) -> "ComputeUnit":
        unknown = [op for op in self.dedicated_units_per_pe if op not in self.cycles_per_op]
        if unknown:
            raise ValueError(f"dedicated_units_per_pe.{unknown[0]}: not in cycles_per_op")
        reserved = sorted(set(self.cycles_per_op) & set(RF_ACTIONS))
        if reserved:
            raise ValueError(f"cycles_per_op.{reserved[0]}: reserved for register-file actions")
        for table in ("register_file_reads_per_op", "register_file_writes_per_op"):
            per_op = getattr(self, table)
            if not per_op:
                continue
            extra = sorted(set(per_op) - set(self.cycles_per_op))
            if extra:
                raise ValueError(f"{table}.{extra[0]}: not in cycles_per_op")
            missing = sorted(set(self.cycles_per_op) - set(per_op))
            if missing:
                raise ValueError(f"{table}.{missing[0]}: missing (the table must cover every operator)")
        return self

    def register_file_actions(self, work: Mapping[str, float]) -> dict[str, float]:
        """``{"rf_read": n, "rf_write": n}`` (values) for operator counts ``work``; empty when the
        unit has no register-file tables."""
        out = {}
        for action, table in (("rf_read", self.register_file_reads_per_op),
                              ("rf_write", self.register_file_writes_per_op)):
            if table:
                n = sum(count * table[op] for op, count in work.items())
                if n:
                    out[action] = n
        return out

    @property
    def lanes(self) -> int:
        """Lanes per instance: rows * cols."""
        return self.rows * self.cols

    def fill_drain_cycles(self, rows_used: int, cols_used: int) -> int:
        """Cycles to fill and drain the array when a tile uses ``rows_used`` x ``cols_used`` of it:
        ``max(rows_used, cols_used)`` (operands skew in along one edge while results drain along the
        other, overlapped; the FuseMax paper: "fill and drain of a 256-wide array take about 256
        cycles"). Zero for a 1-row unit (a vector or SIMD pipe has no skew)."""
        if self.kind != "pe_array_2d":
            return 0
        return max(min(rows_used, self.rows), min(cols_used, self.cols))

    def cycles_for(self, work: dict[str, int], lanes: int) -> int:
        """Cycles to run ``work`` (operator -> element count) spread over ``lanes`` lanes (capped
        by the unit's size): the ALU runs its operators back to back, ceil(sum count x cycles /
        lanes); an operator with dedicated units runs beside it, ceil(count x cycles / (lanes x
        units)); the op takes the longest of these. ``KeyError`` for an operator the unit lacks."""
        lanes = max(1, min(lanes, self.lanes))
        dedicated = {op: n for op, n in self.dedicated_units_per_pe.items() if n}
        serial = sum(n * self.cycles_per_op[op] for op, n in work.items() if n and op not in dedicated)
        parts = [-(-serial // lanes)]
        parts += [-(-(n * self.cycles_per_op[op]) // (lanes * dedicated[op])) for op, n in work.items()
                  if n and op in dedicated]
        return max(parts)


class StorageLevel(_Frozen):
    """A storage level. ``bandwidth_bytes_per_cycle`` is the total over ``channels``; an access moves
    ``access_bytes`` (the energy/count granularity, e.g. 8 for PIUMA DRAM)."""

    capacity_bytes: PosInt
    bandwidth_bytes_per_cycle: PosFloat
    latency_cycles: NonNegInt
    access_bytes: PosInt
    channels: ChannelCount = 1


class PiumaParams(_Frozen):
    """Machine numbers only the PIUMA family needs (archsim/piuma/machine.py uses them).

    ``cores`` cores of ``mtps_per_core`` multithreaded pipelines (``threads_per_mtp`` threads each)
    and ``stps_per_core`` single-threaded pipelines; DRAM moves ``dram_line_bytes`` per access
    (8 on PIUMA, 64 for a conventional line); ``network_latency_cycles`` is added to every access
    that crosses cores; ``spad_banks`` atomic/SPAD banks per core, each busy
    ``atomic_occupancy_cycles`` per atomic; ``stp_memory_overlap`` memory ops an STP overlaps.
    """

    cores: PosInt
    mtps_per_core: PosInt
    threads_per_mtp: PosInt
    stps_per_core: NonNegInt
    dram_line_bytes: PosInt
    network_latency_cycles: NonNegInt
    spad_banks: PosInt
    atomic_latency_cycles: PosInt
    atomic_occupancy_cycles: PosInt
    dma_burst_latency_cycles: NonNegInt
    stp_memory_overlap: PosFloat


class Arch(_Frozen):
    """A machine. ``energy_pj[component][action]`` with component a unit or level name;
    ``sources``/``placeholders``/``path`` are filled by the loader, never written in YAML."""

    name: str
    family: Literal["spatial", "piuma", "gpu"]  # archsim.families.FAMILIES
    description: str
    clock_hz: PosFloat
    units: dict[str, ComputeUnit]
    levels: dict[str, StorageLevel]
    energy_pj: dict[str, dict[str, NonNegFloat]]
    area_um2: dict[str, NonNegFloat] = {}
    piuma: Optional[PiumaParams] = None
    gpu: Optional[GpuParams] = None
    static_power_w: Optional[NonNegFloat] = None
    sources: dict[str, str] = {}
    placeholders: tuple[str, ...] = ()
    path: str = ""

    @model_validator(mode="after")
    def _cross_check(self) -> "Arch":
        for section in ("units", "levels", "energy_pj", "area_um2"):
            for key in getattr(self, section):
                if not _NAME.match(key):
                    raise ValueError(f"{section}.{key}: name must be an identifier")
        clash = sorted(set(self.units) & set(self.levels))
        if clash:
            raise ValueError(f"levels.{clash[0]}: name used by both a unit and a level")
        for family in FAMILIES.values():
            section = family.params_section
            if section and (self.family == family.name) != (getattr(self, section) is not None):
                raise ValueError(f"{section}: required exactly when family is '{family.name}'")
        known = set(self.units) | set(self.levels)
        for section in ("energy_pj", "area_um2"):
            for comp in getattr(self, section):
                if comp not in known:
                    raise ValueError(f"{section}.{comp}: not a unit or level "
                                     f"(known: {', '.join(sorted(known))})")
        return self

    @property
    def backing_level(self) -> str:
        """The level that backs all others (DRAM, HBM): the one with the largest capacity, first in
        declaration order on a tie. ``dram_bytes`` in records is the traffic at this level."""
        return max(self.levels, key=lambda name: self.levels[name].capacity_bytes)

    def energy_source(self, component: str, action: str) -> str:
        return self.sources.get(f"energy_pj.{component}.{action}", "")


def preset_names() -> list[str]:
    """Names of the shipped presets (archsim/presets/<name>.yaml), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_arch(name_or_path: str, overrides: Mapping[str, object] = {}) -> Arch:
    """Load a preset by name or a YAML file by path, apply ``overrides`` (dotted path -> value,
    source ``override``), validate and freeze. Raises :class:`SpecError` with a one-line message."""
    path = Path(name_or_path)
    fname = str(name_or_path)  # errors name the file as the user gave it
    if not (path.suffix in (".yaml", ".yml") or path.is_file()):
        path = PRESET_DIR / f"{name_or_path}.yaml"
        fname = f"archsim/presets/{path.name}"
        if not path.exists():
            raise SpecError(f"{name_or_path}: unknown preset (known: {', '.join(preset_names())})")
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SpecError(f"{fname}: <file>: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"line {where.line + 1}" if where else "?"
        raise SpecError(f"{fname}: <yaml {line}>: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{fname}: <root>: expected a mapping, got {type(raw).__name__}")
    for key in _LOADER_FIELDS:
        if key in raw:
            raise SpecError(f"{fname}: {key}: set by the loader, must not appear in the file")
    sources: dict[str, str] = {}
    data = _strip(raw, "", fname, sources)
    family = _family(data.get("family"))
    for dotted, value in overrides.items():
        hint = family.unread_hint(dotted) if family else None
        if hint:
            raise SpecError(f"{fname}: {dotted}: not read by the {family.name} family's simulator; "
                            f"set {hint}")
        _apply_override(data, dotted, value, fname)
        sources[dotted] = "override"
    data["sources"] = dict(sorted(sources.items()))
    data["placeholders"] = tuple(k for k, s in sorted(sources.items()) if s.startswith("placeholder"))
    data["path"] = str(path)
    try:
        return Arch.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_one_line(fname, exc)) from None


# ----------------------------------------------------------------------------- helpers
def _family(name):
    from .families import FAMILIES   # families imports nothing of spec at module level
    return FAMILIES.get(name) if isinstance(name, str) else None


def _check_source(src: Any, where: str, fname: str) -> str:
    if not isinstance(src, str) or not src.strip():
        raise SpecError(f"{fname}: {where}: source must be a non-empty string "
                        "(a citation, 'assumption: why' or 'placeholder')")
    low = src.strip().lower()
    if low.startswith("assumption") and not re.match(r"^assumption\s*:\s*\S", low):
        raise SpecError(f"{fname}: {where}: an assumption must say why ('assumption: why')")
    return src.strip()


def _strip(node: Any, path: str, fname: str, sources: dict[str, str]) -> Any:
    """Replace ``{value, source}`` wrappers by their values, recording sources by dotted path."""
    where = path or "<root>"
    if isinstance(node, dict):
        if "value" in node or "source" in node:
            extra = sorted(set(node) - {"value", "source"})
            if extra:
                raise SpecError(f"{fname}: {where}: unknown key '{extra[0]}' in a "
                                "{value, source} entry")
            if "source" not in node:
                raise SpecError(f"{fname}: {where}: missing source "
                                "(write {value: X, source: \"...\"})")
            if "value" not in node:
                raise SpecError(f"{fname}: {where}: missing value")
            value = node["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"{fname}: {where}: value must be a number, "
                                f"got {type(value).__name__} {value!r}")
            sources[path] = _check_source(node["source"], where, fname)
            return value
        out = {}
        for key, sub in node.items():
            if not isinstance(key, str):
                raise SpecError(f"{fname}: {where}: key {key!r} must be a string")
            out[key] = _strip(sub, f"{path}.{key}" if path else key, fname, sources)
        return out
    if isinstance(node, bool):
        return node
    if isinstance(node, (int, float)):
        raise SpecError(f"{fname}: {where}: bare number {node!r} without a source "
                        f"(write {{value: {node!r}, source: \"...\"}})")
    if isinstance(node, list):
        raise SpecError(f"{fname}: {where}: lists are not part of the spec")
    return node


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional so the walker sees the container or model type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _apply_override(data: dict, dotted: str, value: object, fname: str) -> None:
    parts = dotted.split(".")
    node: Any = data
    ann: Any = Arch
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            fields = {k: f for k, f in ann.model_fields.items() if k not in _LOADER_FIELDS}
            if part not in fields:
                raise SpecError(f"{fname}: {dotted}: unknown override path ('{here}' is not a field; "
                                f"known: {', '.join(fields)})")
            ann = _unwrap(fields[part].annotation)
        elif typing.get_origin(ann) is dict:
            if part not in node:
                raise SpecError(f"{fname}: {dotted}: unknown override path (no entry '{here}'; "
                                f"known: {', '.join(node) or 'none'})")
            ann = _unwrap(typing.get_args(ann)[1])
        else:
            raise SpecError(f"{fname}: {dotted}: unknown override path ('{parts[i - 1]}' is a value)")
        if last:
            if (isinstance(ann, type) and issubclass(ann, BaseModel)) or typing.get_origin(ann) is dict:
                raise SpecError(f"{fname}: {dotted}: override path names a section, not a value")
            node[part] = value
        else:
            node = node.setdefault(part, {})


def _one_line(fname: str, exc: ValidationError) -> str:
    errors = exc.errors()
    err = errors[0]
    loc = ".".join(str(p) for p in err["loc"]) or "<root>"
    kind = err["type"]
    if kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "missing":
        what = "missing required field"
    elif kind == "value_error":
        # our cross-check messages carry their own path
        msg = str(err.get("ctx", {}).get("error", err["msg"]))
        if ": " in msg and loc == "<root>":
            loc, msg = msg.split(": ", 1)
        what = msg
    else:
        what = f"{err['msg']} (got {err.get('input')!r})"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{fname}: {loc}: {what}{more}".replace("\n", " ")
