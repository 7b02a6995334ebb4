"""Time and peak memory of ``proxyseg evaluate`` as the number of segments grows.

Usage::

    python benchmarks/evaluate_speed.py [--segments 10000 100000] [--hours 10] [--work DIR] [--output FILE]

For each count, writes a reference and a hypothesis RTTM of that many segments (the four classes in
turn, random millisecond boundaries, spread over ``--hours``), then runs the real command on them in
a child process and reads its wall time, CPU time and peak resident memory (``ru_maxrss``). A last
row scores a one-line reference of 9.9 million seconds (just under the longest time accepted): the
memory follows the segments, not the numbers written in the file. Issue 13's target: 10^5
segments over 10 hours in seconds (pyannote's ``Timeline.co_iter`` made it quadratic: over two
minutes), with the same figures as pyannote.metrics.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from long_files import measure  # benchmarks/long_files.py, beside this script
from reporting import publish

from proxyseg.labels import CLASSES

def write_rttm(path: Path, segments: int, hours: float, seed: int) -> None:
    """``segments`` lines of uri ``long``: per class, one segment in each of its slots over ``hours``."""
    generator = np.random.default_rng(seed)
    per_class = segments // len(CLASSES)
    slot = hours * 3600 / per_class
    lines = []
    for label in CLASSES:
        starts = np.arange(per_class) * slot + generator.uniform(0, slot / 2, per_class)
        durations = generator.uniform(0.02, slot / 2, per_class)
        lines += [f"SPEAKER long 1 {start:.3f} {duration:.3f} <NA> <NA> {label} <NA> <NA>\n"
                  for start, duration in zip(starts, durations)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--work", type=Path, help="Where to write the RTTM files [default: a temporary folder].")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    evaluate = [sys.executable, "-m", "proxyseg", "evaluate", "--json"]
    lines = ["**`proxyseg evaluate`: reference and hypothesis of N segments each**", "",
             "| segments per file | span (h) | wall time (s) | CPU time (s) | peak resident memory (MB) |",
             "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        work = Path(work)
        for count in sorted(args.segments):
            folder = work / str(count)
            write_rttm(folder / "reference" / "long.rttm", count, args.hours, seed=1)
            write_rttm(folder / "hypothesis" / "long.rttm", count, args.hours, seed=2)
            figures = measure([*evaluate, "--reference", str(folder / "reference"),
                               "--hypothesis", str(folder / "hypothesis")])
            lines.append(f"| {count:,} | {args.hours:g} | {figures['wall']:.1f} | {figures['cpu']:.1f} | "
                         f"{figures['peak_mb']:.0f} |")
        folder = work / "one-line"
        for name, duration in (("reference", 9.9e6), ("hypothesis", 10.0)):
            (folder / name).mkdir(parents=True)
            (folder / name / "long.rttm").write_text(f"SPEAKER long 1 0 {duration} <NA> <NA> speech <NA> <NA>\n")
        figures = measure([*evaluate, "--reference", str(folder / "reference"), "--hypothesis", str(folder / "hypothesis")])
        lines.append(f"| 1 (reference 9.9e6 s) | {9.9e6 / 3600:,.0f} | {figures['wall']:.1f} | "
                     f"{figures['cpu']:.1f} | {figures['peak_mb']:.0f} |")
    publish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
