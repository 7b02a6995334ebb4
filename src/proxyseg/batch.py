"""Many files in one run: which files, under which names, in which shard, in how many processes.

The batch commands (``segment``, ``explain``) share this: inputs are files, folders (searched
recursively for audio) and list files (``.txt``/``.lst``: one path per line, relative to the list's
folder; blank lines and ``#`` comments ignored). A file given directly or through a list is named by
its stem, a file found in a folder by its path relative to that folder, without suffix: that name,
the *uri*, places its outputs. Files whose outputs exist are skipped unless asked otherwise; a file
that fails is reported at the end without stopping the others.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from proxyseg.audio import AUDIO_SUFFIXES
from proxyseg.errors import DamagedAudioWarning, ProxysegError
from proxyseg.progress import progress_bar

LIST_SUFFIXES = frozenset({".txt", ".lst"})


@dataclass(frozen=True)
class Job:
    """One input file and the name (uri) its outputs take."""

    path: Path
    uri: str


@dataclass
class Inputs:
    """The jobs found in the inputs, and the inputs that could not be used (one message each)."""

    jobs: list[Job] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def collect(inputs: Iterable[Path]) -> Inputs:
    """Expand files, folders and list files into jobs, in the order given (folders sorted).

    Examples
    --------
    >>> collect([Path("missing.wav")]).errors
    ['missing.wav: no such file or folder']
    """
    found, uris = Inputs(), {}
    for path, uri in _expand(inputs, found.errors):
        if uri in uris:
            found.errors.append(f"{path}: its outputs would be named {uri!r}, like those of {uris[uri]}; skipped")
            continue
        uris[uri] = path
        found.jobs.append(Job(path, uri))
    return found


def _expand(inputs: Iterable[Path], errors: list[str]):
    """``(path, uri)`` of every audio file the inputs designate; what cannot be used goes to ``errors``."""
    for path in map(Path, inputs):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                errors.append(f"{path}: no audio file in this folder")
            yield from ((file, (file.parent.relative_to(path) / _name(file)).as_posix()) for file in files)
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            yield from _expand(_listed(path), errors)
        elif path.exists():
            yield path, _name(path)  # reading it tells what is wrong with it, if anything
        else:
            errors.append(f"{path}: no such file or folder")


def _name(path: Path) -> str:
    """A file's stem, or its whole name when the stem is only dots (``...wav`` would name ``..``).

    >>> _name(Path("a/news.wav")), _name(Path("...wav"))
    ('news', '...wav')
    """
    return path.stem if path.stem.strip(".") else path.name


def _listed(path: Path) -> list[Path]:
    """The paths of a list file, relative ones taken from the list's folder."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [path.parent / line for line in lines if line and not line.startswith("#")]


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


class Task(Protocol):
    """What a batch command does to one file. It must pickle: workers receive a copy."""

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
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run(task: Task, jobs: list[Job], workers: int = 1, overwrite: bool = False, progress: bool = True,
        label: str = "processing") -> Report:
    """Run ``task`` on ``jobs`` in ``workers`` processes, with one progress bar for the batch.

    Jobs whose outputs exist are skipped unless ``overwrite``. A job that raises is recorded as a
    failure (one line: the message of a :class:`~proxyseg.errors.ProxysegError` or ``OSError``,
    the type and message of anything else) and the others go on. Warnings a job raises are
    collected into the report (from worker processes too), each message once per job.
    """
    report = Report()
    todo = []
    for job in jobs:
        (todo if overwrite or not task.done(job) else report.skipped).append(job)
    with progress_bar(progress) as bar:
        advance = bar.add_task(label, total=len(todo))
        for job, (outcome, raised) in _outcomes(task, todo, workers):
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


def _outcomes(task: Task, jobs: list[Job], workers: int):
    """``(job, (result or _Failed, warnings))`` as they complete."""
    if not jobs:
        return
    if workers <= 1 or len(jobs) == 1:
        task.setup()
        for job in jobs:
            yield job, _attempt(task, job)
        return
    queue = list(jobs)
    while queue:
        suspects = yield from _in_pool(task, queue, min(workers, len(queue)))
        # A worker died (out of memory, a signal) with these in flight: each again alone, so that
        # only a file that kills its process fails.
        for job in suspects:
            if (yield from _in_pool(task, [job], 1)):
                yield job, (_Failed(f"{job.path}: the process working on it died (out of memory, or killed by a "
                                    "signal)"), [])


def _in_pool(task: Task, queue: list[Job], workers: int):
    """Run the jobs of ``queue`` (taken from its front as workers free up) in ``workers`` new processes,
    yielding their outcomes; the jobs in flight when a worker died, if one did (the others stay queued)."""
    # spawn: a forked copy of a process that has started torch's thread pools can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(task, max(1, (os.cpu_count() or 1) // workers))) as pool:
        running = {}
        while queue or running:
            while queue and len(running) < workers:  # at most one job per worker: a death has few suspects
                job = queue.pop(0)
                running[pool.submit(_attempt_in_worker, job)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            died = [running.pop(future) for future in finished if isinstance(future.exception(), BrokenProcessPool)]
            for future in finished.intersection(running):
                yield running.pop(future), future.result()
            if died:
                return died + list(running.values())
    return []


_worker_task: Task | None = None


def _start_worker(task: Task, threads: int) -> None:
    """Each worker: share the cores with the others, then load what the task needs."""
    import torch

    global _worker_task
    torch.set_num_threads(threads)
    task.setup()
    _worker_task = task


def _attempt_in_worker(job: Job):
    return _attempt(_worker_task, job)


def _attempt(task: Task, job: Job) -> tuple[object, list[str]]:
    """``(result or _Failed, the distinct messages of the warnings raised)`` of ``task`` on ``job``."""
    with warnings.catch_warnings(record=True) as raised:
        warnings.filterwarnings("always", category=DamagedAudioWarning)  # every pass over a file warns
        outcome = _outcome(task, job)
    return outcome, list(dict.fromkeys(str(warning.message) for warning in raised))


def _outcome(task: Task, job: Job):
    try:
        return task(job)
    except ProxysegError as error:
        return _Failed(str(error))
    except OSError as error:
        return _Failed(f"{error.filename or job.path}: {error.strerror or error}")
    except Exception as error:  # a bug: still only this file's failure, reported with where it happened
        where = traceback.extract_tb(error.__traceback__)[-1]
        return _Failed(f"{job.path}: unexpected {type(error).__name__}: {error} "
                       f"(at {Path(where.filename).name}:{where.lineno}; please report it)")
