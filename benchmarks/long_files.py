"""Peak memory and CPU time of ``proxyseg segment`` (and ``explain``) as files grow to hours.

Usage::

    python benchmarks/long_files.py CORPUS [--hours 0.5 1 3] [--explain-hours 0.25 1] [--work DIR] [--output FILE]

Writes, for each length, a 16-bit WAV file made of the CORPUS test files one after another (repeated
as needed), then runs the real command on it in a child process and reads the child's peak
resident memory (``ru_maxrss``) and CPU time. The target of the issue: a 3-hour file under 1 GB
resident for ``segment``, about flat as the file grows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from itertools import cycle
from pathlib import Path

import soundfile as sf

from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.audio import load
from proxyseg.corpus.manifest import Corpus
from proxyseg.grid import SAMPLE_RATE


def write_long_file(corpus: Corpus, hours: float, path: Path) -> None:
    """``hours`` of the corpus's test audio, end to end, as a 16 kHz 16-bit WAV, written block by block."""
    remaining = int(hours * 3600 * SAMPLE_RATE)
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, "PCM_16") as output:
        for uri in cycle(corpus.uris("test")):
            block = load(corpus.audio_path(uri))[:remaining]
            output.write(block)
            remaining -= len(block)
            if remaining <= 0:
                return


#: Run by a fresh interpreter that imports nothing else: the peak resident memory of a child
#: (``ru_maxrss``) starts from its parent's at ``fork``, so the parent must stay small.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024}))
"""


def measure(command: list[str]) -> dict:
    """Run ``command``; its wall time, CPU time and peak resident memory."""
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--hours", type=float, nargs="+", default=[0.5, 1.0, 3.0])
    parser.add_argument("--explain-hours", type=float, nargs="*", default=[])
    parser.add_argument("--model", default="proxy")
    parser.add_argument("--work", type=Path, help="Where to write the long files [default: a temporary folder].")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    corpus = Corpus(args.corpus)
    proxyseg = [sys.executable, "-m", "proxyseg"]
    jobs = [("segment", hours) for hours in sorted(args.hours)] + [("explain", hours) for hours in sorted(args.explain_hours)]
    lines = [f"**`proxyseg segment` / `explain` on long files (model {args.model})**", "",
             "| command | audio (h) | peak resident memory (MB) | CPU time (s) | CPU ms per audio s | wall time (s) |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        work = Path(work)
        for command, hours in jobs:
            audio = work / f"{hours:g}h.wav"
            if not audio.exists():
                write_long_file(corpus, hours, audio)
            arguments = [command, str(audio), "-o", str(work / f"{command}-{hours:g}h"), "--model", args.model]
            figures = measure(proxyseg + arguments)
            seconds = hours * 3600
            lines.append(f"| {command} | {hours:g} | {figures['peak_mb']:.0f} | {figures['cpu']:.1f} | "
                         f"{1000 * figures['cpu'] / seconds:.2f} | {figures['wall']:.1f} |")
    publish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
