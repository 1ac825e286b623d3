"""An ABC sampler whose populations are a function of the seed alone, on any number of workers.

pyabc's multicore samplers re-seed each worker process from the operating system and keep the
particles that happen to finish first, so a calibration on two workers differs from run to run.
Here particle ``i`` of generation ``t`` is simulated after seeding numpy's (and Python's)
global generator from ``(seed, t, i)`` — pyabc draws the proposal from it, the model its
replications' seed — so its parameters, statistics and acceptance do not depend on which
process ran it or when. The population is the first ``n`` particles accepted in index order,
and the evaluations counted are those up to the last of them: the same on one worker as on
many (workers fork and take the next index from a shared counter; later indices simulated
while the last needed one ran are discarded), and on a Dask cluster whose workers run one
thread each (numpy's global generator is shared by a worker's threads).
"""

from __future__ import annotations

import random
import signal
import traceback
from collections.abc import Callable
from ctypes import c_longlong
from multiprocessing import get_context
from multiprocessing.sharedctypes import Synchronized
from queue import Empty
from typing import TYPE_CHECKING, Any

import cloudpickle
import numpy as np
import pyabc

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from dask.distributed import Client
    from pyabc.population import Particle, Sample

_FAILED = -1  # a worker's message index when its simulation raised


def seeded(simulate_one: Callable[[], Particle], seed: int, t: int, i: int) -> Particle:
    """Particle ``i`` of generation ``t``: ``simulate_one`` with the global generators seeded
    from ``(seed, t, i)`` (``t`` may be negative: pyabc's calibration sample)."""
    state = np.random.SeedSequence(seed, spawn_key=(t & 0xFFFFFFFF, i)).generate_state(4)
    np.random.seed(state)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    random.seed(int(state[0]))
    return simulate_one()


class OrderedSampler(pyabc.sampler.Sampler):
    """Particles in index order, each from its own seed: on ``workers`` processes (1: this
    one), or on the Dask cluster of ``client``."""

    def __init__(self, workers: int, seed: int, client: Client | None = None) -> None:
        super().__init__()
        self.workers, self.seed, self.client = workers, seed, client

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable[[], Particle],
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> Sample:
        """The first ``n`` accepted particles of generation ``t`` and the rejected ones before
        them (``max_eval``, ``all_accepted``, ``ana_vars``: pyabc's, not needed here)."""
        if self.client is not None:
            particles = self._on_dask(n, simulate_one, t)
        elif self.workers <= 1:
            particles = self._here(n, simulate_one, t)
        else:
            particles = self._forked(n, simulate_one, t)
        sample = self._create_empty_sample()
        for particle in particles:
            sample.append(particle)
        self.nr_evaluations_ = len(particles)
        return sample

    def _here(self, n: int, simulate_one: Callable[[], Particle], t: int) -> list[Particle]:
        """In this process, leaving its global generators as they were."""
        np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
        prefix = _Prefix(n)
        try:
            while not prefix.complete:
                i = len(prefix.particles)
                prefix.add(i, seeded(simulate_one, self.seed, t, i))
        finally:
            np.random.set_state(np_state)  # noqa: NPY002
            random.setstate(py_state)
        return prefix.particles

    def _forked(self, n: int, simulate_one: Callable[[], Particle], t: int) -> list[Particle]:
        """On forked workers (they inherit ``simulate_one``), taking indices from a counter;
        stopped as soon as the first ``n`` accepted in index order are known."""
        ctx = get_context("fork")
        counter = ctx.Value(c_longlong, 0)
        queue: Queue[tuple[int, Any]] = ctx.Queue()
        args = (simulate_one, self.seed, t, counter, queue)
        workers = [ctx.Process(target=_work, args=args, daemon=True) for _ in range(self.workers)]
        for w in workers:
            w.start()
        prefix = _Prefix(n)
        try:
            while not prefix.complete:
                i, result = _next_result(queue, workers)
                if i == _FAILED:
                    raise RuntimeError(f"an ABC simulation failed in a worker:\n{result}")
                prefix.add(i, result)
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.join()
            queue.close()
        return prefix.particles

    def _on_dask(self, n: int, simulate_one: Callable[[], Particle], t: int) -> list[Particle]:
        """On the cluster: two indices in flight per core, the next submitted as one returns;
        those still running when the first ``n`` accepted are known are cancelled."""
        from dask.distributed import as_completed

        assert self.client is not None
        payload = self.client.scatter(cloudpickle.dumps(simulate_one), broadcast=True)
        cores = max(1, sum(self.client.nthreads().values()))
        submitted = [
            self.client.submit(_remote, payload, self.seed, t, i) for i in range(2 * cores)
        ]
        running = as_completed(submitted)
        prefix = _Prefix(n)
        try:
            for future in running:
                prefix.add(*future.result())
                if prefix.complete:
                    break
                submitted.append(self.client.submit(_remote, payload, self.seed, t, len(submitted)))
                running.add(submitted[-1])
        finally:
            self.client.cancel([f for f in submitted if not f.done()])
        return prefix.particles


class _Prefix:
    """Particles as they come, in any order; kept up to the ``n``-th accepted in index order."""

    def __init__(self, n: int) -> None:
        self.n, self.accepted = n, 0
        self.particles: list[Particle] = []
        self._waiting: dict[int, Particle] = {}

    @property
    def complete(self) -> bool:
        return self.accepted >= self.n

    def add(self, i: int, particle: Particle) -> None:
        self._waiting[i] = particle
        while len(self.particles) in self._waiting and not self.complete:
            self.particles.append(self._waiting.pop(len(self.particles)))
            self.accepted += self.particles[-1].accepted


def _remote(payload: bytes, seed: int, t: int, i: int) -> tuple[int, Particle]:
    """A Dask task: particle ``i`` of generation ``t``, from the pickled ``simulate_one``."""
    return i, seeded(cloudpickle.loads(payload), seed, t, i)


def _work(
    simulate_one: Callable[[], Particle],
    seed: int,
    t: int,
    counter: Synchronized[int],
    queue: Queue[tuple[int, Any]],
) -> None:
    """A worker: simulate the next index until stopped (terminated by the parent, quietly: the
    command line's SIGTERM handler, inherited by the fork, is dropped; Ctrl-C is the parent's)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value += 1
        try:
            queue.put((i, seeded(simulate_one, seed, t, i)))
        except Exception:
            queue.put((_FAILED, traceback.format_exc()))
            return


def _next_result(queue: Queue[tuple[int, Any]], workers: list[Any]) -> tuple[int, Any]:
    """The next message, failing if a worker died without one."""
    while True:
        try:
            return queue.get(timeout=0.5)
        except Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"an ABC worker process died (exit code {dead[0]})") from None
