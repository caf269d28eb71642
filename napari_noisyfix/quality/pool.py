"""Per-image analysis spread over the CPU's cores.

Scoring analyses every image on its own (regions, whole-mask fits, evidence), and the
calibration analyses copies of its images' masks with planted errors: work that numpy runs on
one core. On a machine with several cores it runs in a pool of worker processes, started with
``spawn`` (the GUI scores from a thread, where ``fork`` is unsafe). A worker costs the start of
a Python process with numpy and scipy, so a pool is started only when each worker gets enough
analyses to pay for it (``PARAMS.scoring.pool_min_analyses``); small projects, and tests, run
in the calling process. ``NOISYFIX_WORKERS`` sets the number of workers (``1``: never a pool).

Results are the same whether the work runs in a pool or not: each task carries its own seed,
and the caller puts the results back in task order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from functools import lru_cache
from itertools import islice
from multiprocessing import get_context

from ..errors import NoisyFixError
from .params import PARAMS

ENV = "NOISYFIX_WORKERS"
#: Tasks per worker submitted ahead of the results handed over (enough to keep each busy).
IN_FLIGHT = 4


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(n_tasks: int, analyses_per_task: int) -> int:
    """Workers for ``n_tasks`` tasks of ``analyses_per_task`` analyses each: one per CPU, no
    more than the tasks, and none (1: the calling process) unless every worker gets at least
    ``PARAMS.scoring.pool_min_analyses`` analyses. ``NOISYFIX_WORKERS`` overrides the CPUs."""
    wanted = os.environ.get(ENV, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise NoisyFixError(f"{ENV}={wanted!r}: give a whole number of workers, 1 or more")
        cpus = int(wanted)
    else:
        cpus = cpu_count()
    by_work = (n_tasks * analyses_per_task) // max(PARAMS.scoring.pool_min_analyses, 1)
    return max(1, min(cpus, n_tasks, by_work))


def run_tasks(fn: Callable, tasks: list[tuple], workers: int) -> Iterator[tuple[int, object]]:
    """``(index, fn(*tasks[index]))`` for every task, in the order they finish.

    With ``workers`` below 2 the tasks run here, in order. Otherwise ``fn`` (a module-level
    function) runs in a pool of ``workers`` spawned processes, with at most ``IN_FLIGHT`` tasks
    per worker submitted and not yet handed over: a result is let go once yielded, so a
    project of any size holds a few results at a time (every future kept its result until
    the last finished: 1.5 GB at 10,000 images of 64 px). Closing the iterator (a cancelled
    job) cancels the tasks not started; a worker's exception is raised here.
    """
    if workers < 2:
        for i, args in enumerate(tasks):
            yield i, fn(*args)
        return
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
    queued, pending = iter(enumerate(tasks)), {}

    def submit(count: int) -> None:
        for i, args in islice(queued, count):
            pending[pool.submit(fn, *args)] = i

    try:
        with _main_hidden():  # the workers start while the first tasks are submitted
            submit(workers * IN_FLIGHT)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield pending.pop(future), future.result()
            submit(len(finished))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def _main_hidden():
    """Start processes that do not run the caller's main script again.

    A spawned process imports the parent's ``__main__`` (by path or module name) before it
    runs anything; a user's script that calls :func:`~.score.score_project` without an
    ``if __name__ == "__main__"`` guard would then run again in every worker. The tasks are
    functions of this package, so a worker never needs the caller's main module: while the
    workers start, ``__main__`` shows multiprocessing neither a path nor a module name.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
    try:
        if "__file__" in saved:
            del main.__file__
        if "__spec__" in saved:
            main.__spec__ = None
        yield
    finally:
        for key, value in saved.items():
            setattr(main, key, value)


def opened(source):
    """The project of a task: ``source`` itself, or a worker's read-only copy of the project
    in the folder ``source`` (opened once per worker)."""
    return _read_only(os.fspath(source)) if isinstance(source, str | os.PathLike) else source


@lru_cache(maxsize=1)
def _read_only(root: str):
    from ..project import Project

    return Project.open(root, mode="read")
