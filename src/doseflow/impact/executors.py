"""Where sweep chunks run: in this process, in a local process pool, or on a Dask cluster.

All three share one interface, :class:`Executor`: ``run(fn, tasks)`` yields ``(index,
result)`` pairs as tasks finish (any order). ``fn`` must be a module-level function and tasks
and results picklable, so the same sweep runs unchanged on any of them. Results come back to
the caller, which alone writes files: a remote Dask cluster needs no shared file system.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

from doseflow.domain.errors import DoseflowError

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_KINDS = ("in-process", "pool", "dask")


class Executor(Protocol):
    """Runs independent tasks and yields ``(task index, result)`` as each completes."""

    name: str

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]: ...

    def close(self) -> None: ...


def prepare_worker() -> None:
    """Make a worker process ready: load the model's compiled kernel (from numba's disk cache,
    or compile it) and the bundled population and contact data, so the first chunk does not
    pay for them."""
    from doseflow.impact.model import simulate
    from doseflow.impact.scenario import country_scenario

    simulate([country_scenario("NGA", horizon_days=1)], threads=1)


def _prepare_pool_worker() -> None:
    # Pool workers run batches side by side, so each batch stays on its worker's one thread.
    os.environ["DOSEFLOW_THREADS"] = "1"
    prepare_worker()


class InProcessExecutor:
    """Runs tasks one after another here (no parallelism; the reference for the others)."""

    name = "in-process"

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        for i, task in enumerate(tasks):
            yield i, fn(task)

    def close(self) -> None:
        return None


class PoolExecutor:
    """A local pool of worker processes (``concurrent.futures``). Uses the ``forkserver``
    start method where available (safe with threads, cheap to start), preloads the model and
    its compiled kernel, and runs each batch on its worker's one thread."""

    name = "pool"

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                "a pool needs at least one worker",
                field="workers",
                expected="an integer >= 1",
                value=workers,
            )
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            context.set_forkserver_preload(["doseflow.impact.sweep", "doseflow.impact.kernel"])
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_prepare_pool_worker
        )
        # start every worker now (each prepares itself), as Dask's workers are at start-up
        for started in [self._pool.submit(os.getpid) for _ in range(workers)]:
            started.result()

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        futures = {self._pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Dask distributed: a scheduler ``address`` (``tcp://host:8786``) for a real cluster, or
    a ``LocalCluster`` of ``workers`` started here (threads when ``processes=False``). Every
    worker loads the compiled kernel when the executor starts; tasks run in Dask's worker
    threads, where each batch uses one thread (Dask runs the tasks side by side)."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        processes: bool = True,
        threads_per_worker: int = 1,
        timeout: str = "10s",
    ) -> None:
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        if address is None:
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
                # worker processes listen on loopback only; threads talk in-process
                **({"host": "127.0.0.1"} if processes else {}),
            )
            self._client: Any = Client(self._cluster)  # type: ignore[no-untyped-call]
        else:
            try:
                self._client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise DoseflowError(
                    "IMPACT_DASK_UNREACHABLE",
                    f"cannot reach the Dask scheduler at {address}: {exc}",
                    field="scheduler",
                    expected="the address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
                    value=address,
                ) from None
        self._client.run(prepare_worker)

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        from distributed import as_completed as dask_completed

        futures = self._client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures):  # type: ignore[no-untyped-call]
            yield index[future.key], future.result()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str, *, workers: int = 2, scheduler: str | None = None) -> Executor:
    """An executor by name: ``in-process``, ``pool`` or ``dask``."""
    if kind == "in-process":
        return InProcessExecutor()
    if kind == "pool":
        return PoolExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers=workers)
    raise DoseflowError(
        "IMPACT_UNKNOWN_EXECUTOR",
        f"unknown executor '{kind}'",
        field="executor",
        expected=", ".join(EXECUTOR_KINDS),
        value=kind,
    )
