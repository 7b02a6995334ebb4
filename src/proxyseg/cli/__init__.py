"""The ``proxyseg`` command: a thin layer over the Python API.

Errors a user can cause (:class:`~proxyseg.errors.ProxysegError`, or the file system refusing
an operation) become one line on stderr and exit status 1; no traceback. The group and its
error handling are in :mod:`.group`, shared options in :mod:`.options`, the commands in
:mod:`.processing` (on audio files) and :mod:`.making` (corpora, models, the demo).
"""

from __future__ import annotations

import os
import sys

import click

from proxyseg.cli import making, processing
from proxyseg.cli.group import cli

__all__ = ["WAIT_POLICY", "cli", "main"]

for command in (*processing.COMMANDS, *making.COMMANDS):
    cli.add_command(command)

#: The OpenMP variable that says what threads waiting for work do: ``PASSIVE`` (sleep) or ``ACTIVE`` (spin).
WAIT_POLICY = "OMP_WAIT_POLICY"


def main() -> None:
    """Entry point of the ``proxyseg`` console script.

    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop any command cleanly: the files being written are
    removed, worker processes stopped, and the exit status is 128 + the signal's number (130 for
    Ctrl-C, 143 for SIGTERM) after one line, ``proxyseg: interrupted``.
    """
    from proxyseg.workers import interruptible, stop_requested

    # Before torch loads (no module imported so far imports it), for this process and the ones it
    # starts: OpenMP threads waiting for work sleep instead of spinning, so that a command running
    # several threads beside a busy process does not burn its core (docs/speed.md, "Threads").
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")
    # stderr as given: fd 2 is redirected at times (to capture a C library's messages), and an
    # interruption can land before it is restored.
    stderr = os.dup(2)
    with interruptible():
        try:
            cli(prog_name="proxyseg")
        except BaseException:  # click always ends with SystemExit
            signum = stop_requested()
            if signum is None:
                raise
            # Whatever ended the command after a stop signal (its Interrupted, or an error a library
            # made of it) is the interruption.
            os.dup2(stderr, 2)
            click.echo("proxyseg: interrupted", err=True)
            sys.exit(128 + signum)
