"""The ``archsim`` command line: list, passes, verify, run, sweep, report, export.

Bad input (unknown names, malformed specs, illegal mappings) prints one line ``error: ...`` on
stderr and exits 2; ``verify`` exits 1 on a numerical mismatch; ``sweep`` exits 1 if any point
failed (after running all of them, with a summary of the errors).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import signal
import sqlite3
import sys
from pathlib import Path

import pandas as pd

import archsim
import workloads
from archsim.limits import MAX_SEARCH_BUDGET
from mappings import mapper_names
from mappings.executors import registry

from . import outdir
from .evaluators import evaluator_names, get_evaluator
from .params import ParamError, parse_cli_value, point_id
from .executors import EXECUTORS, Progress
from .report import build_report
from .runner import Sweep, provenance, run_point, run_sweep, write_meta, write_results  # noqa: F401
from .search import run_search, space as search_space
from .spec import expand, expand_all, load_spec  # noqa: F401
from .store import export

SHIPPED_SWEEPS = Path(__file__).parent
_ERROR_CLASS = re.compile(r"^[A-Za-z]+Error: ")  # records keep the class; the error line need not


def shipped_sweeps() -> list[str]:
    return sorted(p.stem for p in SHIPPED_SWEEPS.glob("*.yaml"))


def _resolve_spec(name: str) -> Path:
    path = Path(name)
    if not path.exists() and not path.suffix and (SHIPPED_SWEEPS / f"{name}.yaml").exists():
        return SHIPPED_SWEEPS / f"{name}.yaml"
    return path


def cmd_list(args) -> int:
    sections = {
        "cascades": workloads.cascade_names(),
        "presets": archsim.preset_names(),
        "mappers": mapper_names(),
        "evaluators": evaluator_names(),
        "sweeps": shipped_sweeps(),
        "checks": sorted(registry()),
    }
    if args.json:
        print(json.dumps(sections, indent=2))
    else:
        for title, names in sections.items():
            print(f"{title}: {' '.join(names)}")
    return 0


def cmd_passes(args) -> int:
    cascade = workloads.build(args.cascade)
    ranks = sorted(cascade.rank_sizes)
    if args.rank is not None and args.rank not in ranks:
        raise ValueError(f"--rank: {cascade.name} has no rank {args.rank!r}; ranks: {', '.join(ranks)}")
    counts = {r: workloads.count_passes(cascade, r) for r in ranks}
    rank = args.rank or max(ranks, key=lambda r: (counts[r], r))
    if args.json:
        print(json.dumps({"cascade": cascade.name, "rank": rank, "passes": counts[rank]}))
    elif args.rank:
        print(f"{cascade.name}: {counts[rank]} pass(es) over rank {rank}")
    else:
        for r in ranks:
            print(f"{cascade.name}: {counts[r]} pass(es) over rank {r}")
    return 0


def cmd_verify(args) -> int:
    checks = registry()
    names = args.names or sorted(checks)
    unknown = [n for n in names if n not in checks]
    if unknown:
        raise ValueError(f"verify: unknown check {unknown[0]!r}; see `archsim list`")
    failed = 0
    print(f"{'check':48} {'max_abs_err':>12} {'tolerance':>10}  status")
    for name in names:
        result = checks[name]()
        failed += not result.ok
        print(f"{name:48} {result.max_abs_err:12.3e} {result.tol:10.1e}  {'ok' if result.ok else 'MISMATCH'}")
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _run_matrix(args) -> int:
    """``archsim run spgemm --matrix FILE.mtx --arch piuma --mapping smash_v1``: the smash study's
    evaluator on a user's Matrix Market file (a bad file is ``error: FILE: ...``, exit 2)."""
    if args.workload != "spgemm":
        raise ValueError(f"--matrix: only the spgemm workload takes a matrix, not {args.workload!r}")
    workloads.read_matrix_market(args.matrix)          # one-line MatrixFileError before running
    params = {"matrix": args.matrix, "kernel": args.mapping, "arch": args.arch}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item}: expected key=value")
        params[key] = parse_cli_value(value)
    return _print_run(run_point(params, seed=args.seed, evaluator="smash"), args.json)


def cmd_run(args) -> int:
    if getattr(args, "matrix", None):
        return _run_matrix(args)
    params = {"workload": args.workload, "arch": args.arch, "mapping": args.mapping}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item}: expected key=value")
        get_evaluator("einsum").classify(key)      # the keys a sweep's einsum points accept, fidelity too
        params[key] = parse_cli_value(value)
    return _print_run(run_point(params, seed=args.seed), args.json)


def _print_run(record: dict, as_json: bool) -> int:
    """Print a run's record (JSON always; the table only on success) and its error line; exit code."""
    if as_json:
        print(json.dumps(record, indent=2, default=str))
    if record["status"] != "ok":
        print(f"error: {_ERROR_CLASS.sub('', record['error'], count=1)}", file=sys.stderr)
        return 2
    if not as_json:
        for key, value in record.items():
            print(f"{key:28} {value:.6g}" if isinstance(value, float) else f"{key:28} {value}")
    return 0


def cmd_sweep(args) -> int:
    spec = load_spec(_resolve_spec(args.spec))
    _check_sweep_args(spec, args)
    expansion = None if spec.search else expand_all(spec)
    if args.dry_run:
        return _dry_run(spec, expansion, args)
    points = expansion.points if expansion else []
    meta = _sweep_meta(spec, args, points)
    out = Path(args.out)
    sweep = Sweep(out, spec.seed, spec.evaluator, args.jobs, args.executor, args.scheduler, args.resume,
                  None, meta["spec_sha256"], args.force)
    skipped = len(sweep.store.finished_ids() & {point_id(p) for p in points})
    progress = sweep.progress = Progress(meta["points"], skipped, tty=None if not args.no_progress else False)
    try:
        _save_meta(sweep, out, meta)
        if spec.search:
            points, objectives = run_search(spec, sweep, args.budget)
            meta["search"]["objectives_used"] = objectives
            meta["points"] = len(points)
            _save_meta(sweep, out, meta)
        else:
            sweep.run(list(enumerate(points)))
        progress.close()
        records = sweep.records(points)
        write_results(records, out)
        report = build_report(out)
    except BaseException as err:
        progress.close()
        kept = sweep.stored_count()
        sweep.abort()
        if isinstance(err, (KeyboardInterrupt, Terminated)):
            raise Interrupted(f"interrupted; {kept} finished points are kept in "
                              f"{out / 'results.db'}; continue with: archsim sweep {shlex.quote(str(args.spec))} "
                              f"--out {shlex.quote(str(out))} --resume", 143 if isinstance(err, Terminated) else 130) from None
        raise
    sweep.close()
    return _sweep_summary(records, sweep, out, report)


def _save_meta(sweep, out: Path, meta: dict) -> None:
    write_meta(out_dir=out, meta=meta)
    sweep.store.save_sweep_meta(meta)


def _check_sweep_args(spec, args) -> None:
    if args.budget is not None and not spec.search:
        raise ValueError("--budget: the spec has no search section")
    if args.budget is not None and not 1 <= args.budget <= MAX_SEARCH_BUDGET:
        raise ValueError(f"--budget: expected an integer in 1..{MAX_SEARCH_BUDGET:,}, got {args.budget}")
    if args.dry_run:
        return
    if args.out is None:
        raise ValueError("--out: required (or --dry-run)")
    if args.jobs < 1:
        raise ValueError(f"--jobs: expected a positive integer, got {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise ValueError("--scheduler: only with --executor dask")
    if args.resume and args.force:
        raise ValueError("--force: replaces the sweep in --out; it cannot be combined with --resume")


def _sweep_meta(spec, args, points: list[dict]) -> dict:
    """sweep.json: what the report and a later --resume need to know about this sweep."""
    seeds = {"spec": spec.seed}
    if spec.sample:
        seeds["sample"] = spec.sample.seed
    if spec.search:
        seeds["search"] = spec.search.seed
    meta = {"name": spec.name, "description": spec.description, "axes": spec.axis_names, "seed": spec.seed,
            "evaluator": spec.evaluator, "spec": str(args.spec), "executor": args.executor,
            "spec_sha256": outdir.spec_hash(spec.model_dump(exclude={"path"})),
            "search": ({**spec.search.model_dump(), "budget": args.budget or spec.search.budget}
                       if spec.search else None)}
    meta["provenance"] = provenance(points or [spec.fixed, *[{"arch": a} for a in spec.axes.get("arch", [])]],
                                    seeds)
    meta["points"] = len(points) if not spec.search else meta["search"]["budget"]
    return meta


def _sweep_summary(records: list[dict], sweep, out: Path, report: Path) -> int:
    frame = pd.DataFrame(records)
    failed = frame[frame["status"] != "ok"] if len(frame) else frame
    print(f"{len(frame)} points, {len(failed)} failed ({sweep.ran} run, {sweep.skipped} already stored); "
          f"results: {out / 'results.csv'}; report: {report} and {out / 'report.html'}")
    if len(failed):
        by_error = failed["error"].value_counts()
        for message, count in by_error.head(5).items():
            print(f"  {count} x {message}")
    return 1 if len(failed) else 0


def _dry_run(spec, expansion, args) -> int:
    if spec.search:
        print(f"search: {spec.name}: NSGA-II over {len(search_space(spec))} dimensions, budget "
              f"{args.budget or spec.search.budget} points, objectives {', '.join(spec.search.objectives)}")
        for name, (kind, values) in search_space(spec).items():
            print(f"  {name}: {kind} {values}")
        return 0
    for index, params in enumerate(expansion.points):
        print(f"{index} {point_id(params)} " + " ".join(f"{k}={v}" for k, v in params.items()))
    print(f"{len(expansion.points)} points ({expansion.combinations} combinations, "
          f"{expansion.dropped_by_constraints} dropped by constraints, {expansion.duplicates} duplicates)")
    return 0


def cmd_export(args) -> int:
    print(export(Path(args.dir), args.format, args.to))
    return 0


def cmd_report(args) -> int:
    print(build_report(Path(args.dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archsim", description="Simulate accelerators running Einsum cascades and explore their design spaces.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="registered cascades, presets, mappers, sweeps and checks")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("passes", help="passes a cascade makes over a rank (FuseMax section III)")
    p.add_argument("cascade")
    p.add_argument("--rank")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_passes)
    p = sub.add_parser("verify", help="run the tiled executors against their references")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("run", help="simulate one workload on one preset with one mapper")
    p.add_argument("workload")
    p.add_argument("--matrix", metavar="FILE.mtx",
                   help="spgemm only: a Matrix Market file for C = A A on a PIUMA preset")
    p.add_argument("--arch", required=True)
    p.add_argument("--mapping", required=True)
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="shape (M=1024), arch override (arch.levels.glb.capacity_bytes=65536) "
                        "or mapper option (map.tiles.p=32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("sweep", help="run a sweep spec and write results.csv, report.md and report.html")
    p.add_argument("spec", help="a YAML file or the name of a shipped sweep")
    p.add_argument("--out", help="output directory (results.db, results.csv, sweep.json, reports)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (or LocalCluster workers for dask)")
    p.add_argument("--executor", choices=EXECUTORS, default="process",
                   help="process: local pool (default); dask: a Dask cluster (--scheduler, or a LocalCluster)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--resume", action="store_true", help="skip the points already in DIR/results.db "
                   "(the same spec only)")
    p.add_argument("--force", action="store_true", help="replace another sweep's results in --out "
                   "(without it, writing a different sweep there is refused)")
    p.add_argument("--dry-run", action="store_true", help="print the expanded points and their count; run nothing")
    p.add_argument("--budget", type=int, help="override search.budget (specs with a search section)")
    p.add_argument("--no-progress", action="store_true", help="plain progress lines even on a terminal")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("report", help="rebuild report.md and report.html from DIR's results")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("export", help="write DIR's stored results as CSV or Parquet")
    p.add_argument("dir")
    p.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    p.add_argument("--to", help="output file (default DIR/results.<format>)")
    p.set_defaults(func=cmd_export)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (raised from the signal handler so that cleanup runs; a BaseException, like
    KeyboardInterrupt, so that a point's ``except Exception`` cannot swallow it)."""


class Interrupted(Exception):
    """The user stopped a command; ``code`` is the exit status (130 Ctrl-C, 143 SIGTERM)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # Dask logs its start-up at INFO
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except Interrupted as err:
        print(f"archsim: {err}", file=sys.stderr)
        return err.code
    except (KeyboardInterrupt, Terminated) as err:
        print("archsim: interrupted", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except (ValueError, KeyError, OSError, ParamError, MemoryError, sqlite3.Error) as err:
        if args.debug:
            raise
        print(f"error: {_error_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        if args.debug:
            raise
        print(f"error: internal error ({_error_line(err)}); rerun with --debug for the traceback", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error_line(err: BaseException) -> str:
    if isinstance(err, MemoryError):
        return "out of memory (an input asks for more than this machine has; lower the sizes)"
    message = str(err).strip().splitlines()
    text = message[0] if message else ""
    if isinstance(err, KeyError) and text.startswith("'") and text.endswith("'"):
        text = text[1:-1]
    return text or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
