"""How long the corpus builder takes for one hour of audio on this machine.

Usage::

    python benchmarks/corpus_speed.py [--hours 1] [--jobs N] [--cold]

Prints the wall-clock time of a build from the default (Debian) sources with a warm cache:
packages downloaded and sources decoded by an earlier run, which is what every build after the
first one costs. ``--cold`` uses a new, empty cache and also reports the one-off download and
preparation. Target (issue 2): one hour of corpus in at most 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from proxyseg.corpus import build_corpus
from proxyseg.corpus.catalogue import set_sources
from proxyseg.corpus.debian import default_cache_dir
from proxyseg.corpus.prepare import prepare_sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cold", action="store_true", help="start from an empty cache")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "cache" if args.cold else default_cache_dir()
        start = time.perf_counter()
        sources = set_sources("default", cache)
        prepare_sources(sources, cache, jobs=args.jobs)
        preparation = time.perf_counter() - start

        start = time.perf_counter()
        corpus = build_corpus(Path(scratch) / "corpus", hours=args.hours, seed=0, cache_dir=cache,
                              jobs=args.jobs, progress=False)
        build = time.perf_counter() - start
        audio_hours = corpus.stats()["total"]["duration"] / 3600

    print(f"cores: {os.cpu_count()}, jobs: {args.jobs}, cache: {'cold' if args.cold else 'warm'}")
    print(f"sources: {len(sources)} files; fetching and preparing them: {preparation:.1f} s")
    print(f"build of {audio_hours:.2f} h of corpus: {build:.1f} s "
          f"({build / audio_hours / 60:.2f} min per hour of audio; target <= 5 min)")


if __name__ == "__main__":
    main()
