"""What the commands print on stdout: messages, tables, the gist of an explanation."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from proxyseg.text import printable

stdout = Console()


def say(text: str) -> None:
    """Print a message to the user on stdout, names in it shown safely (no markup, one line)."""
    stdout.print(printable(text), markup=False)


def print_stats(stats: dict) -> None:
    from proxyseg.labels import CLASSES

    table = Table("split", "files", "minutes", *CLASSES, "overlap/speech",
                  title="corpus statistics (% of each split's duration)")
    rows = [*stats["splits"].items(), ("total", stats["total"])]
    for split, summary in rows:
        table.add_row(split, str(summary["files"]), f"{summary['duration'] / 60:.1f}",
                      *(f"{100 * summary['classes'][name]['share']:.1f}" for name in CLASSES),
                      f"{100 * summary['overlap_share_of_speech']:.1f}")
    stdout.print(table)


def print_explanation(document: dict, outdir: Path) -> None:
    threshold = document["settings"]["relevance_threshold"]
    for name, item in document["classes"].items():
        measures = item["faithfulness"]
        if not item["detected"]:
            say(f"{name}: not detected")
        elif measures["removal_drop"] is None:
            say(f"{name}: {item['detected_seconds']:.1f} s, no component with a relevance above {threshold}")
        else:
            low, high = item["band_hz"]
            say(f"{name}: {item['detected_seconds']:.1f} s, {len(item['relevant_components'])} relevant "
                          f"components, band {low:.0f}–{high:.0f} Hz; removing them lowers the teacher's probability "
                          f"by {measures['removal_drop']:.2f} (random components: "
                          f"{measures['random_removal_drop'] or 0:.2f})")
    say(f"explanation written to {outdir / 'explanation.json'}, report: {outdir / 'report.html'}")
