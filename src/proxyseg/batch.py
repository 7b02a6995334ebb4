"""Many files in one run: in which shard, in how many processes, with what report.

The batch commands (``segment``, ``explain``) share this, on the jobs :mod:`proxyseg.inputs` collects;
what is done to each file is a :class:`Writer` (:class:`proxyseg.segmentation.SegmentWriter`,
:class:`proxyseg.explain.writer.ExplanationWriter`).
Files whose outputs exist are skipped unless asked otherwise; a file that fails is reported at the
end without stopping the others.

Runs in several processes stop cleanly (:mod:`proxyseg.workers`): a stop signal stops every worker
within seconds and leaves no half-written output.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
import warnings
from collections.abc import Callable, Iterable
from contextlib import closing
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from proxyseg.errors import DamagedAudioWarning, ProxysegError
from proxyseg.inputs import Job, collect
from proxyseg.progress import progress_bar
from proxyseg.workers import WorkerPool, check_stop


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1 ≤ i ≤ n) as ``(i, n)``.

    >>> parse_shard("2/3")
    (2, 3)
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"a shard is i/n, e.g. 1/4, not {text!r}") from None
    if not 1 <= index <= count:
        raise ValueError(f"a shard i/n needs 1 <= i <= n, not {text!r}")
    return index, count


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """The ``index``-th of ``count`` disjoint shards of ``jobs`` (by sorted uri, every n-th): their union is all jobs.

    >>> [job.uri for job in shard([Job(Path(f"{n}.wav"), str(n)) for n in range(5)], 2, 2)]
    ['1', '3']
    """
    ordered = sorted(jobs, key=lambda job: job.uri)
    return ordered[index - 1::count]


class Writer(Protocol):
    """What a batch command does to each file: writes its outputs. It must pickle: workers receive a copy."""

    def setup(self) -> None:
        """Load what every file needs (the model), once per process."""

    def done(self, job: Job) -> bool:
        """Whether the outputs of ``job`` exist."""

    def __call__(self, job: Job) -> object:
        """Process ``job``; what the run returns for it."""


@dataclass
class Report:
    """What a batch run did: the results of the files processed, the files skipped, the failures,
    and the warnings the files raised (each once)."""

    results: dict[str, object] = field(default_factory=dict)
    skipped: list[Job] = field(default_factory=list)
    #: With :func:`run_inputs`: the files of the run (all found, or those of its shard).
    jobs: list[Job] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_inputs(writer: Writer, inputs: Iterable[Path], *, exclude: Callable[[Path], bool] | None = None,
               shard_of: tuple[int, int] | None = None, workers: int = 1, overwrite: bool = False,
               progress: bool = True, label: str = "processing", threads: int | None = None) -> Report:
    """:func:`run` on the files of ``inputs`` (files, folders, list files: :func:`proxyseg.inputs.collect`,
    with its ``exclude``), or on the shard ``(i, n)`` of them; an input that cannot be used is a failure.

    The progress bar shows for more than one file.
    """
    found = collect(inputs, exclude=exclude)
    jobs = shard(found.jobs, *shard_of) if shard_of else found.jobs
    report = run(writer, jobs, workers, overwrite, progress and len(jobs) > 1, label, threads)
    report.jobs, report.failures = jobs, found.errors + report.failures
    return report


def run(writer: Writer, jobs: list[Job], workers: int = 1, overwrite: bool = False, progress: bool = True,
        label: str = "processing", threads: int | None = None) -> Report:
    """Run ``writer`` on ``jobs`` in ``workers`` processes, with one progress bar for the batch.

    Each process runs torch with ``threads`` threads; by default, this process keeps its own
    setting and workers share the cores (``cpus // workers`` each).

    Jobs whose outputs exist are skipped unless ``overwrite``. A job that raises is recorded as a
    failure (one line: the message of a :class:`~proxyseg.errors.ProxysegError` or ``OSError``,
    the type and message of anything else) and the others go on. Warnings a job raises are
    collected into the report (from worker processes too), each message once per job.

    Raises
    ------
    Exception
        What ``writer.setup`` raised (a missing or malformed model: nothing can be done), once,
        whether it failed in this process or in the workers.
    KeyboardInterrupt, Interrupted
        When interrupted; the workers are stopped first (see :class:`WorkerPool`).
    """
    report = Report()
    todo = []
    for job in jobs:
        (todo if overwrite or not writer.done(job) else report.skipped).append(job)
    # closing: an interruption stops the workers now, not when the generator is collected.
    with progress_bar(progress) as bar, closing(_outcomes(writer, todo, workers, threads)) as outcomes:
        advance = bar.add_task(label, total=len(todo))
        for job, (outcome, raised) in outcomes:
            check_stop()  # the file's failure may be an interruption that a library turned into an error
            if isinstance(outcome, _Failed):
                report.failures.append(outcome.message)
            else:
                report.results[job.uri] = outcome
            report.warnings.extend(raised)
            bar.advance(advance)
    return report


@dataclass
class _Failed:
    message: str


def _outcomes(writer: Writer, jobs: list[Job], workers: int, threads: int | None):
    """``(job, (result or _Failed, warnings))`` as they complete."""
    if not jobs:
        return
    if workers <= 1 or len(jobs) == 1:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        writer.setup()
        for job in jobs:
            yield job, _attempt(writer, job)
        return
    queue = list(jobs)
    while queue:
        suspects = yield from _in_pool(writer, queue, min(workers, len(queue)), threads)
        # A worker died (out of memory, a signal) with these in flight: each again alone, so that
        # only a file that kills its process fails.
        for job in suspects:
            if (yield from _in_pool(writer, [job], 1, threads)):
                yield job, (_Failed(f"{job.path}: the process working on it died (out of memory, or killed by a "
                                    "signal)"), [])


def _in_pool(writer: Writer, queue: list[Job], workers: int, threads: int | None):
    """Run the jobs of ``queue`` (taken from its front as workers free up) in ``workers`` new processes,
    yielding their outcomes; the jobs in flight when a worker died, if one did (the others stay queued)."""
    # spawn: a forked copy of a process that has started torch's thread pools can deadlock.
    with WorkerPool(workers, multiprocessing.get_context("spawn"), _start_writer,
                    (writer, threads or max(1, (os.cpu_count() or 1) // workers))) as pool:
        running = {}
        while queue or running:
            while queue and len(running) < workers:  # at most one job per worker: a death has few suspects
                job = queue.pop(0)
                running[pool.submit(_attempt_in_worker, job)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            died = [running.pop(future) for future in finished if isinstance(future.exception(), BrokenProcessPool)]
            for future in finished.intersection(running):
                yield running.pop(future), future.result()  # raises the writer's setup error
            if died:
                return died + list(running.values())
    return []


_worker_writer: Writer | None = None
_setup_error: Exception | None = None


def _start_writer(writer: Writer, threads: int) -> None:
    """Each worker: its torch threads, then load what the writer needs. A failure is
    kept, to be raised by the first job: the main process then says it once and stops (raised
    here, it would only break the pool, as if the worker had died)."""
    import torch

    global _worker_writer, _setup_error
    torch.set_num_threads(threads)
    _worker_writer = writer
    try:
        writer.setup()
    except Exception as error:
        _setup_error = error


def _attempt_in_worker(job: Job):
    if _setup_error is not None:
        raise _setup_error
    return _attempt(_worker_writer, job)


def _attempt(writer: Writer, job: Job) -> tuple[object, list[str]]:
    """``(result or _Failed, the distinct messages of the warnings raised)`` of ``writer`` on ``job``."""
    with warnings.catch_warnings(record=True) as raised:
        warnings.filterwarnings("always", category=DamagedAudioWarning)  # every pass over a file warns
        outcome = _outcome(writer, job)
    return outcome, list(dict.fromkeys(str(warning.message) for warning in raised))


def _outcome(writer: Writer, job: Job):
    try:
        return writer(job)
    except ProxysegError as error:
        return _Failed(str(error))
    except OSError as error:
        return _Failed(f"{error.filename or job.path}: {error.strerror or error}")
    except Exception as error:  # a bug: still only this file's failure, reported with where it happened
        where = traceback.extract_tb(error.__traceback__)[-1]
        return _Failed(f"{job.path}: unexpected {type(error).__name__}: {error} "
                       f"(at {Path(where.filename).name}:{where.lineno}; please report it)")
