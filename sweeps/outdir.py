"""A sweep's output directory: one writer at a time, one sweep's files at a time.

- :func:`lock` takes an exclusive ``flock`` on ``DIR/.archsim.lock`` for the sweep's whole life
  (released by the kernel even on SIGKILL); a second writer gets ``OutDirError`` at once.
- :func:`prepare` runs under the lock before anything is written: ``--resume`` keeps the store,
  a new sweep removes the previous sweep's files (results, reports, plots), and a directory that
  holds a *different* sweep (another spec hash) is refused unless ``force``, so files of two sweeps
  never mix.
- :func:`spec_hash` identifies a sweep: a hash of its validated spec (not of the file name).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

LOCK_NAME = ".archsim.lock"
#: Files and folders a sweep writes into its directory (all removed when a new sweep starts there).
ARTIFACTS = ("results.db", "results.db-wal", "results.db-shm", "results.csv", "results.parquet", "sweep.json",
             "report.md", "report.html", "plots")


class OutDirError(ValueError):
    """The output directory is busy or holds another sweep; str() is one line naming it."""


class Lock:
    """An exclusive lock on a sweep directory; ``release()`` (or process exit) frees it."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / LOCK_NAME
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(self.fd)
            raise OutDirError(f"{out_dir}: another sweep ({holder}) is writing to this directory; "
                              "wait for it to finish or use another --out") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()}".encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def lock(out_dir: Path) -> Lock:
    """Create ``out_dir`` if needed and lock it for one sweep (``OutDirError`` if already locked)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutDirError(f"{out_dir}: --out: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    return Lock(out_dir)


def spec_hash(spec_fields: dict) -> str:
    """Hash of a sweep's defining fields (canonical JSON)."""
    text = json.dumps(spec_fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stored_spec_hash(out_dir: Path) -> str | None:
    """The spec hash of the sweep in ``out_dir`` ('' if it has files of a sweep without one, None if
    it has none)."""
    out_dir = Path(out_dir)
    if not any((out_dir / name).exists() for name in ARTIFACTS):
        return None
    meta = out_dir / "sweep.json"
    if meta.exists():
        try:
            return str(json.loads(meta.read_text()).get("spec_sha256", ""))
        except (OSError, ValueError, AttributeError):
            return ""
    db = out_dir / "results.db"
    if not db.exists():
        return ""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'spec_sha256'").fetchone()
        finally:
            con.close()
        return json.loads(row[0]) if row else ""
    except (sqlite3.Error, ValueError):
        return ""


def prepare(out_dir: Path, sweep_hash: str | None, resume: bool, force: bool) -> None:
    """Make ``out_dir`` (already locked) ready for a sweep with ``sweep_hash``: on ``resume`` refuse
    a store of another sweep; otherwise refuse a directory holding another sweep unless ``force``,
    then remove the previous sweep's files. ``sweep_hash=None`` skips the identity check."""
    out_dir = Path(out_dir)
    stored = stored_spec_hash(out_dir)
    other = stored is not None and sweep_hash is not None and stored != sweep_hash
    if resume:
        if other and stored:
            raise OutDirError(f"{out_dir}: --resume: the directory holds another sweep (spec hash {stored}, "
                              f"this spec {sweep_hash}); use the same spec, another --out, or --force without --resume")
        return
    if other and not force:
        raise OutDirError(f"{out_dir}: --out: holds the results of another sweep; use --resume to continue "
                          "that sweep, --force to replace it, or another --out")
    remove_artifacts(out_dir)


def remove_artifacts(out_dir: Path) -> None:
    for name in ARTIFACTS:
        path = Path(out_dir) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
