"""The progress bar of long jobs (corpus building, teacher passes, explaining folders)."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def progress_bar(enabled: bool = True) -> Progress:
    """A ``rich`` progress display (a no-op when not ``enabled``): use as a context manager."""
    return Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), disable=not enabled, transient=False)
