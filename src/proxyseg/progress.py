"""The progress bar of long jobs (corpus building, teacher passes, explaining folders)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def progress_bar(enabled: bool = True) -> Progress:
    """A ``rich`` progress display (a no-op when not ``enabled``): use as a context manager.

    It is drawn on stderr, with the other messages: stdout holds results only, and a command
    whose stdout is closed (``proxyseg segment … | head -0``) still does its work.
    """
    return Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled, transient=False)
