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

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from .point import failed_record, run_batch

log = logging.getLogger(__name__)
EXECUTORS = ("inline", "process", "dask")
Result = tuple[int, dict, float]
PR_SET_PDEATHSIG = 1                     # linux/prctl.h
DASK_CONNECT_TIMEOUT_S = 10              # an unreachable scheduler is reported after this long
WORKER_DIED = "WorkerDied: the worker process running this point died (killed, or out of memory)"


def _batches(tasks: list[tuple[int, dict]], workers: int) -> list[list[tuple[int, dict]]]:
    """Consecutive tasks in batches (fewer round trips to the workers), shrinking towards the end
    (guided scheduling: at most 1/(4 x workers) of what remains) so the last batches are single
    points and no worker is left running a long batch while the others idle."""
    size = max(1, min(64, len(tasks) // max(1, workers * 20)))
    out, i = [], 0
    while i < len(tasks):
        n = max(1, min(size, (len(tasks) - i) // (4 * max(1, workers))))
        out.append(tasks[i:i + n])
        i += n
    return out


def run_inline(tasks, seed: int, evaluator: str) -> Iterator[Result]:
    for task in tasks:
        yield from run_batch([task], seed, evaluator)


def _worker_init(parent_pid: int) -> None:
    """Pool workers die with their parent (Linux parent-death signal; elsewhere a liveness thread)
    and leave Ctrl-C to the parent, which shuts the pool down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent_pid:      # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def run_process(tasks, seed: int, evaluator: str, jobs: int, pool: "Pool | None" = None) -> Iterator[Result]:
    """Batches on a process pool. A worker that dies (killed, out of memory) breaks the pool: it is
    rebuilt, the points that were in flight are run again one at a time, and a point that kills its
    worker on its own is recorded as ``status=error``."""
    own = pool is None
    pool = pool or Pool("process", jobs, None)
    try:
        suspects: list[tuple[int, dict]] = []
        yield from _pump(pool, iter(_batches(tasks, jobs)), seed, evaluator, 3 * jobs, suspects)
        for task in suspects:
            lost: list[tuple[int, dict]] = []
            yield from _pump(pool, iter([[task]]), seed, evaluator, 1, lost)
            if lost:
                yield task[0], failed_record(task[1], WORKER_DIED), 0.0
    finally:
        if own:
            pool.close()


def _pump(pool: "Pool", batches, seed: int, evaluator: str, in_flight: int, lost: list) -> Iterator[Result]:
    """Keep ``in_flight`` batches running until ``batches`` is exhausted; the tasks of batches lost
    to a broken pool go to ``lost`` (and the pool is rebuilt)."""
    pending: dict = {}
    while True:
        while len(pending) < in_flight:
            batch = next(batches, None)
            if batch is None:
                break
            pending[pool.process_pool().submit(run_batch, batch, seed, evaluator)] = batch
        if not pending:
            return
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            batch = pending.pop(future)
            try:
                results = future.result()
            except BrokenProcessPool:
                broken = True
                lost.extend(batch)
                continue
            yield from results
        if broken:
            log.warning("a pool worker died; rebuilding the pool and retrying its points one by one")
            for future, batch in pending.items():
                if future.done() and future.exception() is None:
                    yield from future.result()
                else:
                    lost.extend(batch)
            pending.clear()
            pool.rebuild()


def local_cluster(jobs: int):
    """A LocalCluster of ``jobs`` single-threaded worker processes on loopback (dashboard on a free
    loopback port, if bokeh is installed)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", silence_logs=logging.WARNING)


def run_dask(tasks, seed: int, evaluator: str, client) -> Iterator[Result]:
    """Batches on a Dask cluster. A batch whose worker keeps dying (Dask's ``KilledWorker`` after its
    retries) records its points as ``status=error``; the sweep carries on."""
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    batches = iter(_batches(tasks, workers))
    futures, batch_of = as_completed(), {}

    def submit(batch) -> None:
        future = client.submit(run_batch, batch, seed, evaluator, pure=False)
        batch_of[future.key] = batch
        futures.add(future)

    for batch in batches:
        submit(batch)
        if futures.count() >= 3 * workers:
            break
    for future in futures:
        batch = batch_of.pop(future.key)
        try:
            results = future.result()
        except Exception as err:  # noqa: BLE001 - KilledWorker, or a worker lost for another reason
            log.warning("dask: a batch was lost (%s); its points are recorded as errors", type(err).__name__)
            results = [(i, failed_record(p, f"{WORKER_DIED} [{type(err).__name__}]"), 0.0) for i, p in batch]
        yield from results
        future.release()
        batch = next(batches, None)
        if batch is not None:
            submit(batch)


class Pool:
    """An executor kept open across several ``execute`` calls (a search evaluates one generation at a
    time); ``execute(..., pool=Pool(...))`` reuses its worker processes or Dask client."""

    def __init__(self, executor: str, jobs: int, scheduler: str | None):
        self.executor, self.jobs, self.scheduler = executor, jobs, scheduler
        self.pool = self.client = self.cluster = None

    def connect(self) -> None:
        """Reach the Dask scheduler (or start the LocalCluster) now: ``ValueError`` naming
        ``--scheduler`` if it cannot be reached within ``DASK_CONNECT_TIMEOUT_S``."""
        if self.executor == "dask":
            self.dask_client()

    def process_pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_init,
                                            initargs=(os.getpid(),))
        return self.pool

    def rebuild(self) -> None:
        """Replace a broken process pool by a fresh one."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def dask_client(self):
        if self.client is None:
            from distributed import Client

            try:
                if self.scheduler is None:
                    self.cluster = local_cluster(self.jobs)
                self.client = Client(self.scheduler or self.cluster.scheduler_address,
                                     timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
            except Exception as err:  # noqa: BLE001 - distributed raises OSError, TimeoutError, ValueError...
                self.close()
                text = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise ValueError(f"--scheduler: cannot connect to {self.scheduler or 'a LocalCluster'} "
                                 f"({text})") from None
        return self.client

    def terminate(self) -> None:
        """Stop at once (Ctrl-C, SIGTERM): kill the pool's workers rather than wait for their points."""
        if self.pool is not None:
            for process in list(getattr(self.pool, "_processes", {}).values()):   # no public API for this
                process.terminate()
        self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


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
        return _with_pool(pool, executor, jobs, scheduler, lambda p: run_dask(tasks, seed, evaluator, p.dask_client()))
    if executor == "inline" or jobs == 1 or len(tasks) <= 1:
        return run_inline(tasks, seed, evaluator)
    return run_process(tasks, seed, evaluator, jobs, pool)


def _with_pool(pool: Pool | None, executor: str, jobs: int, scheduler: str | None, run) -> Iterator[Result]:
    own = pool is None
    pool = pool or Pool(executor, jobs, scheduler)
    try:
        yield from run(pool)
    finally:
        if own:
            pool.close()


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
