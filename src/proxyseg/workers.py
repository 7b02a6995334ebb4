"""Processes that stop cleanly: stop signals turned into an exception, and a pool of worker
processes that never outlive it nor leave half-written files.

A command's ``main`` runs within :func:`interruptible`; :class:`WorkerPool` replaces
:class:`~concurrent.futures.ProcessPoolExecutor` wherever work goes to other processes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

#: The signals that ask a process to stop: Ctrl-C, ``kill``, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds a worker has to remove its temporary files once asked to stop, before it is killed.
STOP_GRACE = 5.0


class Interrupted(BaseException):
    """A stop signal (:data:`STOP_SIGNALS`), raised where the process was, like ``KeyboardInterrupt``:
    the files being written are removed on the way out (:func:`proxyseg.atomic.atomic_output`).
    Not an ``Exception``, so that the handlers of a file's errors let it through.

    Parameters
    ----------
    signum
        The signal received.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}"


#: The stop signal this process received, if any (see :func:`stop_requested`).
_requested: int | None = None


def stop_requested() -> int | None:
    """The stop signal received by this process within :func:`interruptible` (or by a worker), None
    if none was: whatever error ends a run after one, the run was interrupted (a library may turn
    :class:`Interrupted`, raised from code it called, into an error of its own)."""
    return _requested


def check_stop() -> None:
    """Raise :class:`Interrupted` if a stop signal was received and its exception did not come through."""
    if _requested is not None:
        raise Interrupted(_requested)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within, the first stop signal raises :class:`Interrupted` in the main thread; later ones are
    ignored, so that the cleanup it started is not cut short (they stay ignored after an
    interruption). A signal that was ignored on entry (``nohup``, a background job) stays ignored.
    For a command line's ``main``: the stop is for the whole process, see :func:`stop_requested`.
    """
    def interrupt(signum, frame):
        global _requested
        # Not SIG_IGN: a signal already received would then be reported as "ignored due to race condition".
        if _requested is None:
            _requested = signum
            _raise_interrupted(signum, frame)

    defaults = (signal.SIG_DFL, signal.default_int_handler)
    previous = {signum: signal.signal(signum, interrupt) for signum in STOP_SIGNALS
                if signal.getsignal(signum) in defaults}
    try:
        yield
    finally:
        if _requested is None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _raise_interrupted(signum: int, frame) -> None:
    """Raise :class:`Interrupted` where the process is, or, inside an import, once it is done (checked
    every 50 ms): raised there, it can abort the interpreter (torch's C++ initialisation calls Python)."""
    if _importing(frame):
        signal.signal(signal.SIGALRM, lambda _, later: _raise_interrupted(signum, later))
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        return
    raise Interrupted(signum)


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class WorkerPool(ProcessPoolExecutor):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers neither outlive it nor leave
    half-written files.

    - Workers ignore SIGINT: a Ctrl-C, sent to the whole process group, is the main process's to
      handle; it stops them.
    - Leaving the ``with`` block on an exception (an interruption, an error, a generator closed)
      cancels the jobs not started and stops the workers: SIGTERM, which makes a worker in a job
      raise :class:`Interrupted` there (so that its temporary files are removed) and exit, and
      SIGKILL after :data:`STOP_GRACE` seconds.
    - SIGTERM or SIGHUP sent to a worker does the same; a worker whose main process dies, even by
      SIGKILL, gets SIGTERM (``PR_SET_PDEATHSIG``, on Linux).

    Parameters are those of :class:`~concurrent.futures.ProcessPoolExecutor`.
    """

    def __init__(self, max_workers: int, mp_context=None, initializer=None, initargs=()):
        mp_context = mp_context or multiprocessing.get_context()
        with _blocked(STOP_SIGNALS):  # see submit(): multiprocessing's resource tracker may start here
            self._started = mp_context.SimpleQueue()  # the pids of the workers whose handlers are in place
            super().__init__(max_workers, mp_context, _start_worker, (self._started, initializer, initargs))

    def submit(self, fn, /, *args, **kwargs):
        # Processes start with the stop signals blocked, as they stay in the child until _start_worker
        # has put its handlers in place: before, a forked worker would run this process's, a spawned one
        # Python's (KeyboardInterrupt tracebacks), and the resource tracker, which ignores SIGINT and
        # SIGTERM, would die of SIGHUP and its successor print tracebacks. Nor can an interruption
        # fall between a worker's start and its entry in the pool's list (stop() would miss it).
        with _blocked(STOP_SIGNALS):
            return super().submit(_in_job, fn, *args, **kwargs)

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.stop()
        return super().__exit__(kind, value, traceback)

    def stop(self) -> None:
        """Cancel the jobs not started, and stop the workers (see the class)."""
        # _processes: private, but what Python 3.14's terminate_workers() uses.
        processes = list((self._processes or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        started = set()
        while not self._started.empty():
            started.add(self._started.get())
        for process in processes:
            # A worker still starting has written nothing, and would only see SIGTERM once started.
            (process.terminate if process.pid in started else process.kill)()
        # Sentinels, not join(): the pool's own thread reaps the workers too.
        alive = {process.sentinel: process for process in processes}
        deadline = time.monotonic() + STOP_GRACE
        while alive and time.monotonic() < deadline:
            for sentinel in multiprocessing.connection.wait(list(alive), deadline - time.monotonic()):
                del alive[sentinel]
        for process in alive.values():
            process.kill()
        if alive:
            multiprocessing.connection.wait(list(alive))


@contextmanager
def _blocked(signals) -> Iterator[None]:
    """Within, ``signals`` wait (in this thread, and in the processes it starts); on leaving, those
    received are delivered."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_job_running = False


def _start_worker(started, initializer, initargs) -> None:
    """Each worker of a :class:`WorkerPool`: its signal handlers (then says so on ``started``), then
    the pool's initializer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) != signal.SIG_IGN:  # nohup's stays
            signal.signal(signum, _stop_worker)
    if sys.platform.startswith("linux"):
        # SIGTERM when the parent dies (with forkserver, the server, which dies with the main process).
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if not multiprocessing.parent_process().is_alive():  # it died before prctl
        os._exit(128 + signal.SIGTERM)
    started.put(os.getpid())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if initializer is not None:
        initializer(*initargs)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _stop_worker(signum: int, frame) -> None:
    """In a job, raise :class:`Interrupted` (its files are removed on the way up, then :func:`_in_job`
    exits); between jobs, exit now. Once only: the pool's thread, seeing a worker gone, sends SIGTERM too."""
    global _requested
    if _requested is not None:
        return
    _requested = signum
    if _job_running:
        _raise_interrupted(signum, frame)
    else:
        os._exit(128 + signum)


def _in_job(fn, /, *args, **kwargs):
    """Run a job in a worker; exit once an interruption has unwound it, whatever it became on the way
    (the worker's loop would go on to the next job)."""
    global _job_running
    try:
        _job_running = True
        return fn(*args, **kwargs)
    finally:
        _job_running = False
        if _requested is not None:
            os._exit(128 + _requested)
