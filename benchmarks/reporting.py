"""What every benchmark does with its Markdown report: print it, and write it where asked."""

from __future__ import annotations

from pathlib import Path


def publish(report: str, output: Path | None) -> None:
    """Print ``report``; also write it to ``output`` (creating its folder) when given."""
    print(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report + "\n")
