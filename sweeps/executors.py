"""Executors: where points run. All yield ``(index, record, seconds)`` as points finish.

- ``inline``: this process, in order (``--jobs 1``).
- ``process``: a local ``ProcessPoolExecutor`` with ``jobs`` workers (the default for ``--jobs N > 1``).
- ``dask``: a Dask distributed cluster: ``scheduler`` is a scheduler address
  (``tcp://127.0.0.1:8786``), or ``None`` to start a ``LocalCluster`` of ``jobs`` single-threaded
  worker processes on loopback for the duration of the sweep.

Points travel in small batches (a few per worker in flight, so a killed sweep loses at most those)
and every record is a pure function of (params, seed, evaluator): which executor ran a point never
changes its record. Executors know nothing of the store; the runner orders and stores records.
"""
from __future__ import annotations

import logging
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Iterator

from .point import run_batch

log = logging.getLogger(__name__)
EXECUTORS = ("inline", "process", "dask")
Result = tuple[int, dict, float]


def _batches(tasks: list[tuple[int, dict]], workers: int) -> list[list[tuple[int, dict]]]:
    size = max(1, min(64, len(tasks) // max(1, workers * 20)))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def run_inline(tasks, seed: int, evaluator: str) -> Iterator[Result]:
    for task in tasks:
        yield from run_batch([task], seed, evaluator)


def run_process(tasks, seed: int, evaluator: str, jobs: int, pool: ProcessPoolExecutor | None = None
                ) -> Iterator[Result]:
    batches = iter(_batches(tasks, jobs))
    own = pool is None
    pool = pool or ProcessPoolExecutor(max_workers=jobs)
    try:
        pending = set()
        while True:
            while len(pending) < 3 * jobs:
                batch = next(batches, None)
                if batch is None:
                    break
                pending.add(pool.submit(run_batch, batch, seed, evaluator))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from future.result()
    finally:
        if own:
            pool.shutdown(cancel_futures=True)


def local_cluster(jobs: int):
    """A LocalCluster of ``jobs`` single-threaded worker processes on loopback (dashboard on a free
    loopback port, if bokeh is installed)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", silence_logs=logging.WARNING)


def run_dask(tasks, seed: int, evaluator: str, jobs: int, scheduler: str | None, client=None
             ) -> Iterator[Result]:
    from distributed import Client, as_completed

    cluster = own_client = None
    if client is None:
        if scheduler is None:
            cluster = local_cluster(jobs)
            scheduler = cluster.scheduler_address
        client = own_client = Client(scheduler, timeout="30s")
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        batches = iter(_batches(tasks, workers))
        futures = as_completed()
        for batch in batches:
            futures.add(client.submit(run_batch, batch, seed, evaluator, pure=False))
            if futures.count() >= 3 * workers:
                break
        for future in futures:
            yield from future.result()
            future.release()
            batch = next(batches, None)
            if batch is not None:
                futures.add(client.submit(run_batch, batch, seed, evaluator, pure=False))
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()


class Pool:
    """An executor kept open across several ``execute`` calls (a search evaluates one generation at a
    time); ``execute(..., pool=Pool(...))`` reuses its worker processes or Dask client."""

    def __init__(self, executor: str, jobs: int, scheduler: str | None):
        self.executor, self.jobs, self.scheduler = executor, jobs, scheduler
        self.pool = self.client = self.cluster = None

    def process_pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs)
        return self.pool

    def dask_client(self):
        if self.client is None:
            from distributed import Client

            if self.scheduler is None:
                self.cluster = local_cluster(self.jobs)
            self.client = Client(self.scheduler or self.cluster.scheduler_address, timeout="30s")
        return self.client

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def execute(tasks: list[tuple[int, dict]], seed: int, evaluator: str, executor: str = "process",
            jobs: int = 1, scheduler: str | None = None, pool: Pool | None = None) -> Iterator[Result]:
    """Run ``(index, params)`` tasks on ``executor``; yield results as they finish."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if jobs < 1:
        raise ValueError(f"--jobs: expected a positive integer, got {jobs}")
    if scheduler and executor != "dask":
        raise ValueError("--scheduler: only with --executor dask")
    if not tasks:
        return iter(())
    if executor == "dask":
        return run_dask(tasks, seed, evaluator, jobs, scheduler, pool.dask_client() if pool else None)
    if executor == "inline" or jobs == 1 or len(tasks) <= 1:
        return run_inline(tasks, seed, evaluator)
    return run_process(tasks, seed, evaluator, jobs, pool.process_pool() if pool else None)


class Progress:
    """Progress of a sweep: a tqdm bar (rate, ETA) on a terminal, plain log lines otherwise.

    Plain lines: one per point for small sweeps, else one per ~1% of points, plus every failure.
    """

    def __init__(self, total: int, skipped: int = 0, stream=None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.total, self.skipped, self.done = total, skipped, skipped
        self.failed = 0
        self.start = time.perf_counter()
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = 1 if total <= 200 else max(1, total // 100)
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=skipped, file=self.stream, unit="pt", dynamic_ncols=True,
                            smoothing=0.1)
        elif skipped:
            print(f"resume: {skipped} of {total} points already finished", file=self.stream)

    def __call__(self, done: int, total: int, record: dict, seconds: float) -> None:
        self.done += 1
        failed = record["status"] != "ok"
        self.failed += failed
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed, refresh=False)
            if failed:
                self.bar.write(f"{record['point_id']} error: {record['error']}")
            return
        if failed or self.done % self.every == 0 or self.done == self.total:
            elapsed = time.perf_counter() - self.start
            ran = self.done - self.skipped
            rate = ran / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate else 0.0
            status = record["status"] if not failed else f"error: {record['error']}"
            print(f"[{self.done}/{self.total}] {record['point_id']} {status} ({seconds:.2f} s; "
                  f"{rate:.1f} pt/s, eta {eta:.0f} s)", file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
