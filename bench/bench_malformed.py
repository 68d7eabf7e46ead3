"""Malformed inputs against the CLI: how many give a clean error, a traceback, or run away.

Each case runs ``python -m sweeps.cli ...`` in its own process group in a fresh directory, with a
CPU-time limit (``--timeout-s``, CPU seconds of its process group, so a loaded machine does not
turn slow cases into runaways), a wall-clock limit of ``WALL_LIMIT_FACTOR`` times that (hangs that
wait), and a resident-memory limit (the process group is killed past either, so the
benchmark itself cannot take the machine down). A case is:

- ``clean``: exit 1 or 2, no traceback, and a non-empty ``error: <text>`` line (or argparse usage
  error) on stderr, or a sweep's exit 1 with each failed point's ``<id> error: <text>`` progress line;
- ``traceback``: ``Traceback`` on stderr;
- ``runaway``: killed at the CPU, wall or memory limit (a hang, or growth past the memory limit);
- ``accepted``: exit 0 (the bad input was silently accepted);
- ``unclear``: any other outcome (for example ``error:`` with no text).

    python bench/bench_malformed.py [--src DIR] [--timeout-s 20] [--max-rss-mb 2048] [--only SUBSTR]
                                    [--slice START:STOP]

``--src`` runs another checkout of the code (PYTHONPATH), e.g. a ``git archive`` of main, for a
before/after comparison. Prints one line per non-clean case and the counts per outcome.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

#: A case is also a runaway if it idles this many times the CPU limit in wall time (a hang that waits,
#: such as a connection timeout); the CPU limit itself does not depend on how loaded the machine is.
WALL_LIMIT_FACTOR = 6
BASE = "fixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16, M0: 16}\n"
OK_SPEC = "name: ok\n" + BASE + "axes: {M: [32]}\nderived: {P: M}\n"
RUN = ["run", "attention_1pass", "--arch", "generic_array", "--mapping", "fused",
       "--set", "E=16", "--set", "F=16", "--set", "M0=16"]


def _spec(body: str) -> dict:
    return {"spec.yaml": body}


def run_cases() -> list[tuple[str, list[str], dict]]:
    """``(name, argv, files)``: ``files`` maps a relative path to its text (or bytes)."""
    cases = []
    shapes = ["M=0", "M=-1", "M=abc", "M=1.5", "M=1e12", "M=1000000000000", "M=", "M=[1,2]", "M={a: 1}",
              "M=65536", "M=1000000", "P=0", "E=-4", "M0=0", "M0=999999", "Q=4", "m=4", "M=true",
              "M=0x10", "M=1e400"]
    for s in shapes:
        cases.append((f"run --set {s}", RUN + ["--set", s], {}))
    cases.append(("run M=P=65536", RUN + ["--set", "M=65536", "--set", "P=65536"], {}))
    cases.append(("run M=P=1e6", RUN + ["--set", "M=1000000", "--set", "P=1000000"], {}))
    archs = ["arch.units.pe2d.count=1000000000", "arch.units.pe2d.count=1e9", "arch.units.pe2d.count=0",
             "arch.units.pe2d.count=-1", "arch.units.pe2d.count=abc", "arch.units.pe2d.rows=100000",
             "arch.units.pe2d.rows=1000000000", "arch.levels.dram.bandwidth_bytes_per_cycle=0",
             "arch.levels.dram.bandwidth_bytes_per_cycle=-1", "arch.levels.dram.bandwidth_bytes_per_cycle=1e-300",
             "arch.levels.glb.capacity_bytes=1", "arch.levels.glb.capacity_bytes=0", "arch.nonexistent=1",
             "arch.units=1", "arch.units.nope.rows=1", "arch.clock_hz=0", "arch.clock_hz=abc",
             "arch.levels.dram.latency_cycles=-1", "arch.levels.dram.latency_cycles=1000000000000",
             "arch.energy_pj.pe2d.mac=-1", "arch.family=gpu", "arch.=1", "arch.units.pe2d.cycles_per_op.mac=0",
             "arch.levels.glb.channels=1000000000"]
    for s in archs:
        cases.append((f"run --set {s}", RUN + ["--set", "M=64", "--set", "P=64", "--set", s], {}))
    maps = ["map.word_bytes=0", "map.word_bytes=abc", "map.word_bytes=-2", "map.word_bytes=1e9",
            "map.loop_order=Z,Q", "map.loop_order=", "map.binding.Nope=pe2d", "map.binding.QK=nope",
            "map.tiles.p=0", "map.tiles.p=-3", "map.tiles.zz=4", "map.tiles.p=abc", "map.tiles.p=1",
            "map.spatial.pe2d=Z", "map.spatial.nope=p", "map.storage.Q=nope", "map.bogus=1", "map.=1",
            "map.tiles=4", "map.binding=pe2d"]
    for s in maps:
        cases.append((f"run --set {s}", RUN + ["--set", "M=64", "--set", "P=64", "--set", s], {}))
    misc = [
        ("run unknown workload", ["run", "nope", "--arch", "generic_array", "--mapping", "fused"]),
        ("run unknown arch", ["run", "attention_1pass", "--arch", "nope", "--mapping", "fused"]),
        ("run unknown mapping", ["run", "attention_1pass", "--arch", "generic_array", "--mapping", "nope"]),
        ("run arch file missing", ["run", "attention_1pass", "--arch", "missing.yaml", "--mapping", "fused"]),
        ("run fidelity=bound", RUN + ["--set", "M=64", "--set", "P=64", "--set", "fidelity=bound"]),
        ("run fidelity=bogus", RUN + ["--set", "M=64", "--set", "P=64", "--set", "fidelity=bogus"]),
        ("run --set noequals", RUN + ["--set", "M"]),
        ("run --set unknown key", RUN + ["--set", "foo=1"]),
        ("run --seed abc", RUN + ["--seed", "abc"]),
        ("run spgemm on generic", ["run", "spgemm", "--arch", "generic_array", "--mapping", "fused"]),
        ("run --matrix on attention", RUN + ["--matrix", "a.mtx"]),
    ]
    cases += [(n, a, {}) for n, a in misc]
    mtx = {
        "missing": None,
        "empty": "",
        "garbage": "hello world\n",
        "huge header": "%%MatrixMarket matrix coordinate real general\n1000000000000 1000000000000 1\n1 1 1.0\n",
        "huge dense": "%%MatrixMarket matrix array real general\n100000000 100000000\n1.0\n",
        "huge nnz": "%%MatrixMarket matrix coordinate real general\n10 10 1000000000000\n1 1 1.0\n",
        "negative dims": "%%MatrixMarket matrix coordinate real general\n-3 -3 1\n1 1 1.0\n",
        "zero dims": "%%MatrixMarket matrix coordinate real general\n0 0 0\n",
        "index out of range": "%%MatrixMarket matrix coordinate real general\n3 3 1\n9 9 1.0\n",
        "complex": "%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 2.0\n",
        "truncated": "%%MatrixMarket matrix coordinate real general\n3 3 5\n1 1 1.0\n",
        "binary": b"\x00\xff\xfe\x00" * 64,
        "pattern": "%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 1\n",
        "non-square": "%%MatrixMarket matrix coordinate real general\n3 4 1\n1 1 1.0\n",
    }
    for name, text in mtx.items():
        files = {} if text is None else {"a.mtx": text}
        cases.append((f"run --matrix {name}", ["run", "spgemm", "--matrix", "a.mtx", "--arch", "piuma",
                                                "--mapping", "smash_v1"], files))
    return cases


def sweep_cases() -> list[tuple[str, list[str], dict]]:
    sweep = ["sweep", "spec.yaml", "--out", "out", "--no-progress"]
    dry = ["sweep", "spec.yaml", "--dry-run"]
    specs = {
        "not yaml": "a: [1, 2\n",
        "a list": "- 1\n- 2\n",
        "empty": "",
        "binary": "\x00\x01",
        "no name": BASE + "axes: {M: [32]}\n",
        "unknown field": OK_SPEC + "bogus: 1\n",
        "path field": OK_SPEC + "path: x\n",
        "empty axis": "name: x\n" + BASE + "axes: {M: []}\n",
        "axis not list": "name: x\n" + BASE + "axes: {M: 3}\n",
        "unknown key": "name: x\n" + BASE + "axes: {foo: [1]}\n",
        "unknown workload": "name: x\nfixed: {workload: nope, arch: generic_array, mapping: fused}\n",
        "unknown evaluator": OK_SPEC + "evaluator: nope\n",
        "grid 1e8": "name: x\n" + BASE + "axes: {" + ", ".join(
            f"arch.levels.dram.latency_cycles{'' if i == 0 else ''}: [{', '.join(str(j) for j in range(100))}]"
            if i == 0 else f"map.tiles.{r}: [{', '.join(str(j + 1) for j in range(100))}]"
            for i, r in enumerate(["x", "p", "m", "e"])) + "}\nderived: {P: 64, M: 64}\n",
        "sample 1e9": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 1000000000, params: "
                      "{map.tiles.p: {pow2: [1, 64]}}}\n",
        "sample 1e12": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 1000000000000, params: "
                       "{map.tiles.p: {pow2: [1, 64]}}}\n",
        "sample x grid": "name: x\n" + BASE + "axes: {M: [" + ", ".join(str(32 * (i + 1)) for i in range(1000))
                         + "]}\nderived: {P: M}\nsample: {count: 1000000, params: {map.tiles.p: {pow2: [1, 64]}}}\n",
        "pow2 huge": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 2, params: "
                     "{map.tiles.p: {pow2: [1, 1000000000000000000000000]}}}\n",
        "sample bad dist": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 2, params: "
                           "{map.tiles.p: {normal: [1, 2]}}}\n",
        "sample low>high": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 2, params: "
                           "{map.tiles.p: {int: [9, 1]}}}\n",
        "sample count -1": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: -1, params: "
                           "{map.tiles.p: {int: [1, 9]}}}\n",
        "derived M**10**9": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'M ** 10 ** 9'}\n",
        "derived 9**9**9": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '9 ** 9 ** 9'}\n",
        "derived tuple*1e10": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'len((1,) * 10000000000)'}\n",
        "derived str*1e10": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: \"'a' * 10000000000\"}\n",
        "derived tuple mult": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '(M,) * 10000000000'}\n",
        "derived 1<<1e9": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '1 << 1000000000'}\n",
        "derived factorial-ish": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'max(M, 2) ** 99999999'}\n",
        "derived deep nesting": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '" + "(" * 200 + "M"
                                + ")" * 200 + "'}\n",
        "derived 1/0": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'M / 0'}\n",
        "derived unknown name": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'Q'}\n",
        "derived import": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '__import__(\"os\")'}\n",
        "derived attr": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'M.real'}\n",
        "derived float huge": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: '10.0 ** 400'}\n",
        "derived sqrt neg": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: 'sqrt(-1)'}\n",
        "derived string shape": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: \"'abc'\"}\n",
        "constraint bad": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: M}\nconstraints: ['M <']\n",
        "constraint unknown": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: M}\nconstraints: ['Z > 1']\n",
        "constraint pow": "name: x\n" + BASE + "axes: {M: [32]}\nderived: {P: M}\nconstraints: ['M ** 10 ** 9 > 1']\n",
        "zip unequal": "name: x\n" + BASE + "zip: [{M: [32, 64], P: [32]}]\n",
        "twice": "name: x\n" + BASE + "axes: {E: [32]}\nderived: {M: 32, P: 32}\n",
        "search budget 0": OK_SPEC + "search: {budget: 0}\n",
        "search bad objective": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 0, params: "
                                "{map.tiles.p: {pow2: [1, 64]}}}\nsearch: {budget: 2, objectives: [bogus]}\n",
        "search budget 1e12": "name: x\n" + BASE + "derived: {M: 64, P: 64}\nsample: {count: 0, params: "
                              "{map.tiles.p: {pow2: [1, 64]}}}\nsearch: {budget: 1000000000000}\n",
        "seed string": OK_SPEC + "seed: abc\n",
        "seed huge": OK_SPEC + "seed: 100000000000000000000000\n",
        "M huge fixed": "name: x\n" + BASE + "axes: {M: [1000000000000]}\nderived: {P: M}\n",
        "M=P=65536": "name: x\n" + BASE + "axes: {M: [65536]}\nderived: {P: M}\n",
        "pe count 1e9": OK_SPEC + "axes: {M: [32], arch.units.pe2d.count: [1000000000]}\n",
        "word_bytes 0": "name: x\n" + BASE + "axes: {M: [32], map.word_bytes: [0]}\nderived: {P: M}\n",
        "loop_order unknown": "name: x\n" + BASE + "axes: {M: [32], map.loop_order: ['Z,Q']}\nderived: {P: M}\n",
        "binding unknown": "name: x\n" + BASE + "axes: {M: [32], map.binding.Nope: [pe2d]}\nderived: {P: M}\n",
        "smash mtx huge": "name: x\nevaluator: smash\nfixed: {arch: piuma, kernel: smash_v1}\n"
                          "axes: {matrix: [a.mtx]}\n",
        "smash unknown kernel": "name: x\nevaluator: smash\nfixed: {arch: piuma, kernel: nope}\n"
                                "axes: {matrix: [rmat], scale: [4]}\n",
        "smash scale huge": "name: x\nevaluator: smash\nfixed: {arch: piuma, kernel: smash_v1}\n"
                            "axes: {matrix: [rmat], scale: [60]}\n",
        "smash edge_factor huge": "name: x\nevaluator: smash\nfixed: {arch: piuma, kernel: smash_v1}\n"
                                  "axes: {matrix: [rmat], scale: [10], edge_factor: [1000000000]}\n",
    }
    huge_mtx = "%%MatrixMarket matrix coordinate real general\n1000000000000 1000000000000 1\n1 1 1.0\n"
    cases = []
    for name, body in specs.items():
        files = _spec(body)
        if "mtx" in name:
            files["a.mtx"] = huge_mtx
        cases.append((f"sweep --dry-run {name}", dry, files))
        cases.append((f"sweep {name}", sweep, dict(files)))
    flags = [
        ("sweep missing spec", ["sweep", "nope.yaml", "--out", "out"]),
        ("sweep --jobs 0", sweep + ["--jobs", "0"]),
        ("sweep --jobs -1", sweep + ["--jobs", "-1"]),
        ("sweep no --out", ["sweep", "spec.yaml"]),
        ("sweep --budget no search", sweep + ["--budget", "3"]),
        ("sweep --scheduler without dask", sweep + ["--scheduler", "tcp://127.0.0.1:1"]),
        ("sweep dask unreachable", sweep + ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"]),
        ("sweep dask bad address", sweep + ["--executor", "dask", "--scheduler", "nonsense::"]),
        ("sweep --out is a file", ["sweep", "spec.yaml", "--out", "spec.yaml"]),
        ("sweep --executor bogus", sweep + ["--executor", "bogus"]),
    ]
    cases += [(n, a, _spec(OK_SPEC)) for n, a in flags]
    return cases


def dir_cases() -> list[tuple[str, list[str], dict]]:
    """``report`` and ``export`` on broken result directories."""
    dirs = {
        "missing dir": None,
        "empty dir": {"d/.keep": ""},
        "corrupt db": {"d/results.db": b"this is not a sqlite database" * 10},
        "empty db": {"d/results.db": b""},
        "empty csv": {"d/results.csv": ""},
        "garbage csv": {"d/results.csv": "\x00\x01\x02,,,\n\"unterminated\n"},
        "csv no status": {"d/results.csv": "a,b\n1,2\n"},
        "csv header only": {"d/results.csv": "schema_version,point_id,status,error\n"},
        "corrupt sweep.json": {"d/results.csv": "point_id,status,error,M\na,ok,,1\n", "d/sweep.json": "{nope"},
        "sweep.json a list": {"d/results.csv": "point_id,status,error,M\na,ok,,1\n", "d/sweep.json": "[1]"},
        "sweep.json bad evaluator": {"d/results.csv": "point_id,status,error,M\na,ok,,1\n",
                                     "d/sweep.json": '{"evaluator": "nope"}'},
    }
    cases = []
    for name, files in dirs.items():
        files = files or {}
        cases.append((f"report {name}", ["report", "d"], files))
        cases.append((f"export {name}", ["export", "d", "--format", "csv", "--to", "x.csv"], dict(files)))
    cases.append(("export --to missing dir", ["export", "d", "--to", "no/such/x.parquet"],
                  {"d/results.csv": "point_id,status,error,M\na,ok,,1\n"}))
    cases.append(("report a file", ["report", "f"], {"f": "x"}))
    return cases


def passes_cases() -> list[tuple[str, list[str], dict]]:
    return [("passes unknown", ["passes", "nope"], {}),
            ("passes bad rank", ["passes", "attention_1pass", "--rank", "Z"], {}),
            ("passes empty rank", ["passes", "attention_1pass", "--rank", ""], {}),
            ("verify unknown", ["verify", "nope"], {})]


def all_cases():
    return run_cases() + sweep_cases() + dir_cases() + passes_cases()


def _group_usage(pgid: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system) of the live processes of a process group."""
    rss, cpu = 0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
        except (OSError, ValueError, ProcessLookupError, IndexError):
            continue
    return rss, cpu


def run_case(argv, files, src, timeout_s, max_rss_bytes) -> tuple[str, str, float, int]:
    """Outcome, last stderr line, seconds and peak resident bytes of one case."""
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = src
        err_path = Path(tmp) / ".stderr"
        with open(err_path, "wb") as err:
            start = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "sweeps.cli", *argv], cwd=tmp, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            peak, cpu_s, killed = 0, 0.0, ""
            while proc.poll() is None:
                rss, cpu = _group_usage(proc.pid)
                peak, cpu_s = max(peak, rss), max(cpu_s, cpu)
                if peak > max_rss_bytes:
                    killed = f"killed at {peak / 2**20:.0f} MB"
                elif cpu_s > timeout_s:
                    killed = f"killed after {timeout_s:.0f} CPU s"
                elif time.monotonic() - start > WALL_LIMIT_FACTOR * timeout_s:
                    killed = f"killed after {WALL_LIMIT_FACTOR * timeout_s:.0f} s wall (waiting)"
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.05)
            seconds = time.monotonic() - start
            try:
                os.killpg(proc.pid, signal.SIGKILL)   # anything the case left behind
            except ProcessLookupError:
                pass
        stderr = err_path.read_text(errors="replace")
    lines = [l for l in stderr.splitlines() if l.strip()]
    last = lines[-1] if lines else ""
    if killed:
        return "runaway", killed, seconds, peak
    if "Traceback" in stderr:
        return "traceback", last, seconds, peak
    if proc.returncode == 0:
        return "accepted", last, seconds, peak
    has_error = any(l.startswith("error: ") and l[7:].strip() for l in lines) or "usage:" in stderr
    if proc.returncode in (1, 2) and has_error:
        return "clean", last, seconds, peak
    if proc.returncode == 1 and any(" error: " in l for l in lines):   # a sweep whose points failed, each named
        return "clean", last, seconds, peak
    return "unclear", f"exit {proc.returncode}: {last}", seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="run this checkout instead of the installed package")
    parser.add_argument("--timeout-s", type=float, default=20.0)
    parser.add_argument("--max-rss-mb", type=float, default=2048.0)
    parser.add_argument("--only", help="run only cases whose name contains this")
    parser.add_argument("--slice", default=":", help="START:STOP of the case list (to split a run over processes)")
    parser.add_argument("--names", help="a file of case names, one a line: run only those")
    args = parser.parse_args()
    start, _, stop = args.slice.partition(":")
    cases = all_cases()[int(start or 0):int(stop) if stop else None]
    cases = [c for c in cases if not args.only or args.only in c[0]]
    if args.names:
        wanted = set(Path(args.names).read_text().splitlines())
        cases = [c for c in cases if c[0] in wanted]
    counts: Counter = Counter()
    start = time.monotonic()
    for name, argv, files in cases:
        outcome, last, seconds, peak = run_case(argv, files, args.src, args.timeout_s, args.max_rss_mb * 2**20)
        counts[outcome] += 1
        if outcome != "clean":
            print(f"{outcome:9} {name}: {last[:150]} ({seconds:.1f} s, {peak / 2**20:.0f} MB)", flush=True)
    print(f"{len(cases)} cases in {time.monotonic() - start:.0f} s: " + ", ".join(
        f"{counts[k]} {k}" for k in ("clean", "traceback", "runaway", "accepted", "unclear")))


if __name__ == "__main__":
    main()
