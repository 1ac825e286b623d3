"""Where replications run: in this process, in a pool of worker processes, or on Dask.

A task is pure, picklable data — the scenario, the seed and a chunk of replication numbers —
and the worker is a top-level function, so the same tasks run anywhere. Every engine yields
results in replication order, never completion order, so the files are identical to the bit
whatever the engine or the number of workers. At most a few chunks per worker are in flight,
so memory does not grow with the number of replications.

Failures: a replication that raises is reported by number (:class:`ReplicationFailed`). In a
process pool, a chunk whose worker raised or died is retried once, replication by replication,
on a fresh worker, and only then does the run fail, naming the replication. Workers ignore
SIGINT (the parent decides), are stopped when the run stops, and exit on their own within a
second if the parent dies. The pool is built on :mod:`multiprocessing`'s public processes and
pipes. Dask retries a lost worker's tasks itself.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa

from sim.analysis.metrics import replication_metrics
from sim.core.errors import UserError
from sim.engine.arrays import ensure_compiled
from sim.engine.compile import Model
from sim.experiment.results import TABLES
from sim.scenario import Scenario
from sim.scenario.priors import with_parameters


@dataclass(frozen=True)
class Chunk:
    """A task: replications ``reps`` of ``scenario`` with ``seed``; with ``parameters``, one
    parameter set (key path -> value) per replication, applied before it runs."""

    scenario: Scenario
    seed: int
    reps: tuple[int, ...]
    parameters: tuple[Mapping[str, float], ...] | None = None

    def one(self, i: int) -> Chunk:
        """The chunk of its ``i``-th replication alone."""
        params = None if self.parameters is None else (self.parameters[i],)
        return Chunk(self.scenario, self.seed, (self.reps[i],), params)

    def models(self) -> Iterator[tuple[int, Model]]:
        """Each replication and its compiled model (one model unless parameters vary)."""
        if self.parameters is None:
            model = _model_of(self.scenario)
            yield from ((rep, model) for rep in self.reps)
            return
        raw = tomllib.loads(self.scenario.to_toml())
        for rep, theta in zip(self.reps, self.parameters, strict=True):
            yield rep, Model(with_parameters(self.scenario, theta, raw))


_MODELS: dict[str, Model] = {}


def _model_of(scenario: Scenario) -> Model:
    """This process's model of ``scenario``, compiled once for all the chunks it runs (the
    models of the last two scenarios are kept: a comparison's, a sweep's)."""
    key = scenario.model_dump_json(warnings=False)
    model = _MODELS.get(key)
    if model is None:
        if len(_MODELS) >= 2:
            del _MODELS[next(iter(_MODELS))]
        model = _MODELS[key] = Model(scenario)
    return model


ChunkResult = tuple[int, dict[str, pa.Table], pd.DataFrame]
"""Replications done, their tables (Arrow, ``replication`` column first), their metrics."""

CHUNK = 10
"""Replications per task. Fixed, not derived from the number of workers: each task becomes one
Parquet row group, so the files are the same to the byte whatever the workers or engine."""


class ReplicationFailed(Exception):
    """A replication raised an error or killed its worker (after the retry)."""

    def __init__(self, replication: int, cause: str) -> None:
        super().__init__(f"replication {replication} failed: {cause}")
        self.replication, self.cause = replication, cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.replication, self.cause))


def _fault(rep: int) -> None:
    """Test hook: ``CFSP_SIM_TEST_FAULT=crash:<rep>[:<marker file>]`` kills the worker process
    at replication ``rep`` (only while the marker file does not exist, which the crash
    creates: a fault that a retry survives), ``raise:<rep>`` makes it raise."""
    spec = os.environ.get("CFSP_SIM_TEST_FAULT")
    if not spec:
        return
    kind, at, *marker = spec.split(":", 2)
    if int(at) != rep:
        return
    if kind == "raise":
        raise RuntimeError("injected fault")
    if marker:
        if Path(marker[0]).exists():
            return
        Path(marker[0]).touch()
    os._exit(70)


def run_chunk(task: Chunk) -> ChunkResult:
    """Worker: run a chunk of replications of one scenario (compiled once per chunk, or once
    per replication when each has its own parameters)."""
    tables: list[dict[str, pa.Table]] = []
    metrics = []
    for rep, model in task.models():
        try:
            _fault(rep)
            r = model.run_tables(task.seed, rep)
            m = replication_metrics(
                r["proposals"], r["stages"], r["events"], r["meetings"], model.horizon, rep
            )
        except Exception as exc:
            raise ReplicationFailed(rep, f"{type(exc).__name__}: {exc}") from exc
        metrics.append(m)
        tables.append(r)
    return len(task.reps), _joined(tables), pd.concat(metrics, ignore_index=True)


def chunks(
    scenario: Scenario,
    seed: int,
    n: int,
    parameters: tuple[Mapping[str, float], ...] | None = None,
) -> Iterator[Chunk]:
    """The tasks of a run, lazily (a huge ``n`` costs no memory); ``parameters``: one set per
    replication (a posterior's draws)."""
    for i in range(0, n, CHUNK):
        reps = tuple(range(i, min(n, i + CHUNK)))
        params = None if parameters is None else parameters[i : i + CHUNK]
        yield Chunk(scenario, seed, reps, params)


def chunk_count(scenario: Scenario) -> int:
    """How many chunks a resolved scenario's run has (the work a pool is bounded by)."""
    return -(-scenario.experiment.replications // CHUNK)


def _joined(parts: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Replications' tables as one chunk's, one piece a column (a third of the time to send)."""
    return {name: pa.concat_tables([p[name] for p in parts]).combine_chunks() for name in TABLES}


def _combine(parts: list[ChunkResult]) -> ChunkResult:
    """Results of single replications as one chunk's (the same tables, chunk for chunk)."""
    metrics = pd.concat([p[2] for p in parts], ignore_index=True)
    return sum(p[0] for p in parts), _joined([p[1] for p in parts]), metrics


# --- the engines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helpers:
    """The processes a study's report may draw its figures on: this one (the default) or,
    during a run, the run's worker processes (``processes`` of them; ``map(fn, items)`` gives
    ``fn(item)`` for each item, in order)."""

    processes: int = 1
    map: Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]] = map


IN_PROCESS = Helpers()

MAX_WORKERS = 256
"""The most worker processes a command may ask for (more is refused, not attempted)."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_workers(workers: int | None) -> None:
    """Refuse a number of worker processes below 1 or above :data:`MAX_WORKERS`."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"--workers: must be a whole number of at least 1, got {workers!r}")
    if workers > MAX_WORKERS:
        raise UserError(
            f"--workers: {workers:,} worker processes is over the limit of {MAX_WORKERS} "
            f"(this machine has {cores()} cores; more workers than cores gain nothing)"
        )


def pool_size(workers: int | None, work: int) -> int:
    """The worker processes to start: as many as asked (``None``: one per core), but never
    more than the cores nor than the pieces of ``work`` — the one bound every pool obeys."""
    check_workers(workers)
    return max(1, min(workers or cores(), cores(), work))


class Engine:
    """Runs chunks and yields their results in order; a context manager."""

    label = "serial"

    def map(self, tasks: Iterable[Chunk]) -> Generator[ChunkResult, None, None]:
        for task in tasks:
            yield run_chunk(task)

    def helpers(self) -> Helpers:
        """The processes a report may draw on while the engine is open: this one (a Dask
        cluster's workers may not see the results folder)."""
        return IN_PROCESS

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop workers and connections."""


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            os._exit(1)


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent and exit if the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _serve(tasks: Connection, results: Connection, parent: int) -> None:
    """A worker's loop: run each ``(function, argument)`` received, send back ``(True,
    result)`` or ``(False, exception)``; ends when the parent closes its end."""
    _worker_init(parent)
    while True:
        try:
            fn, arg = tasks.recv()
        except EOFError:
            return
        try:
            out = (True, fn(arg))
        except Exception as exc:
            out = (False, exc)
        results.send(out)


class WorkerDied(Exception):
    """A worker process ended before sending its whole result."""


class Worker:
    """One worker process (``spawn``) and a pipe each way. The parent keeps only its own ends,
    so a worker that dies, even halfway through sending a result, is seen as the end of its
    result pipe, never as a wait."""

    def __init__(self, parent: int) -> None:
        ctx = get_context("spawn")
        task_reader, self.tasks = ctx.Pipe(duplex=False)
        self.results, result_writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_serve, args=(task_reader, result_writer, parent), daemon=True
        )
        self.process.start()
        task_reader.close()
        result_writer.close()

    def send(self, fn: Callable[[Any], Any], arg: Any) -> None:
        """Give the (idle) worker a task."""
        self.tasks.send((fn, arg))

    def receive(self) -> Any:
        """The task's result; its exception re-raised; :class:`WorkerDied` if it died."""
        try:
            ok, value = self.results.recv()
        except (EOFError, OSError):
            raise WorkerDied from None
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """Terminate the process (whatever it is doing), reap it and close the pipes."""
        self.process.terminate()
        self.process.join()
        self.tasks.close()
        self.results.close()


class PoolEngine(Engine):
    """``workers`` worker processes, one chunk each at a time, at most ``2 * workers`` chunks
    ahead of the one yielded next."""

    def __init__(self, workers: int) -> None:
        check_workers(workers)
        self.workers = workers
        self.label = f"processes:{workers}"
        self._live: list[Worker] = []
        self._idle: list[Worker] = []  # started, waiting for a task: the next map's first

    def _start(self) -> Worker:
        worker = Worker(os.getpid())
        self._live.append(worker)
        return worker

    def _stop(self, worker: Worker) -> None:
        worker.stop()
        self._live.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)

    def _give(self, idle: list[Worker], fn: Callable[[Any], Any], task: Any) -> Worker:
        """Send a task to an idle worker (a fresh one if none is idle, or it died idle)."""
        worker = idle.pop() if idle else self._start()
        try:
            worker.send(fn, task)
        except OSError:
            self._stop(worker)
            worker = self._start()
            worker.send(fn, task)
        return worker

    def map(self, tasks: Iterable[Chunk]) -> Generator[ChunkResult, None, None]:
        ensure_compiled()  # once here, not in every worker at once
        return self.imap(run_chunk, tasks, self._retry)

    def helpers(self) -> Helpers:
        """The pool's worker processes, idle once the replications are done."""
        return Helpers(self.workers, self.imap)

    def imap(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        retry: Callable[[Any], Any] | None = None,
    ) -> Generator[Any, None, None]:
        """``fn(item)`` for each item on the workers, yielded in order, the first items sent at
        once (before a result is asked for, so the caller may work meanwhile); an item whose
        worker raised or died goes to ``retry`` (default: run once more on a fresh worker)."""
        results = self._results(fn, items, retry or partial(self._again, fn))
        next(results)  # runs to the first items sent
        return results

    def _results(
        self, fn: Callable[[Any], Any], items: Iterable[Any], again: Callable[[Any], Any]
    ) -> Generator[Any, None, None]:
        todo = enumerate(items)
        idle = self._idle  # workers of an earlier map are reused, not started again
        busy: dict[Connection, tuple[Worker, int, Any]] = {}
        done: dict[int, Any] = {}
        following, sent, started = 0, 0, False
        try:
            while True:
                while len(busy) < self.workers and sent < following + 2 * self.workers:
                    item = next(todo, None)
                    if item is None:
                        break
                    worker = self._give(idle, fn, item[1])
                    busy[worker.results] = (worker, *item)
                    sent += 1
                if not started:  # the first items are out: back to imap
                    started = True
                    yield None
                if following in done:
                    yield done.pop(following)
                    following += 1
                    continue
                if not busy:
                    return
                for conn in wait(list(busy)):
                    worker, i, task = busy.pop(cast(Connection, conn))
                    try:
                        done[i] = worker.receive()
                    except WorkerDied:
                        self._stop(worker)
                        done[i] = again(task)
                        continue
                    except Exception:
                        done[i] = again(task)
                    idle.append(worker)
        finally:
            for worker, *_ in busy.values():  # stopped early: a result would still come
                self._stop(worker)

    def _again(self, fn: Callable[[Any], Any], item: Any) -> Any:
        """Run one item again on a fresh worker (its error, or :class:`WorkerDied`, goes on)."""
        worker = self._start()
        try:
            worker.send(fn, item)
            return worker.receive()
        finally:
            self._stop(worker)

    def _retry(self, task: Chunk) -> ChunkResult:
        """Run a failed chunk again, one replication at a time, on a fresh worker."""
        worker = self._start()
        parts = []
        try:
            for i, rep in enumerate(task.reps):
                worker.send(run_chunk, task.one(i))
                try:
                    parts.append(worker.receive())
                except WorkerDied:
                    raise ReplicationFailed(
                        rep, "its worker process died, twice (out of memory, or killed?)"
                    ) from None
        finally:
            self._stop(worker)
        return _combine(parts)

    def close(self) -> None:
        for worker in list(self._live):
            self._stop(worker)


class DaskEngine(Engine):
    """A Dask cluster: ``local`` (a LocalCluster of ``workers`` processes) or a scheduler
    address; connected on creation, so a wrong address fails before anything is written."""

    def __init__(self, address: str, workers: int) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the installed extra
            raise UserError("--dask needs the dask extra: pip install 'cfsp-sim[dask]'") from None
        self.label = f"dask:{address}"
        self.workers = workers
        self.cluster: Any = None
        if address == "local":
            self.cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=10)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UserError(f"--dask: cannot reach a scheduler at {address}: {exc}") from None

    def map(self, tasks: Iterable[Chunk]) -> Generator[ChunkResult, None, None]:
        ensure_compiled()  # a local cluster's workers then load it from the cache
        todo = iter(tasks)
        flight: deque[Any] = deque()
        window = 4 * max(self.workers, len(self.client.scheduler_info().get("workers", {})))
        while True:
            while len(flight) < window and (task := next(todo, None)) is not None:
                flight.append(self.client.submit(run_chunk, task, pure=False, retries=3))
            if not flight:
                return
            future = flight.popleft()
            yield future.result()
            future.release()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


def open_engine(dask: str | None, workers: int | None, work: int | None = None) -> Engine:
    """The engine for ``workers`` processes (1: this process; ``None``: one per core) or a
    Dask address, never more processes than the cores or the ``work`` (chunks) to do."""
    size = pool_size(workers, work if work is not None else MAX_WORKERS)
    if dask is not None:
        if dask != "local" and not _ADDRESS.match(dask):
            raise UserError(
                f"--dask: expected 'local' or a scheduler address like tcp://host:8786, "
                f"got {dask!r}"
            )
        return DaskEngine(dask, size)
    serial = workers == 1 or (workers is None and cores() == 1)
    return Engine() if serial else PoolEngine(size)
