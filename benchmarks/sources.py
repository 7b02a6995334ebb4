"""What the corpus's families of real recordings hold: files, groups, minutes, sample rates, licence.

Usage::

    python benchmarks/sources.py [--set real|held-out|default|all] [--output docs/sources.md]

Fetches the families' Debian packages (into the proxyseg cache, as ``corpus build`` does), runs
each family's provider and reads every source's header: the minutes are those the corpus builder
can use (after each family's exclusions). Prints a Markdown table (and writes it with ``--output``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import soundfile as sf
from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.corpus.catalogue import FAMILIES, HELD_OUT, SOURCE_SETS, family_sources
from proxyseg.corpus.debian import default_cache_dir


def describe(name: str, cache_dir: Path) -> str:
    """The table row of one family."""
    family = FAMILIES[name]
    sources = family_sources([family], cache_dir)
    infos = [sf.info(str(source.path)) for source in sources]
    minutes = sum(info.frames / info.samplerate for info in infos) / 60
    rates = Counter(info.samplerate for info in infos)
    common = ", ".join(f"{rate / 1000:g}" for rate, _ in rates.most_common(2))
    use = "cross-source test" if name in HELD_OUT else "training"
    return (f"| {name} | {family.kind} | {', '.join(family.packages)} | {len(sources)} | "
            f"{len({source.group for source in sources})} | {minutes:.1f} | {common} kHz"
            f"{' (narrowband)' if family.narrowband else ''} | {family.licence} | {use} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="all", choices=[*SOURCE_SETS, "all"])
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    names = list(FAMILIES) if args.set == "all" else list(SOURCE_SETS[args.set])
    lines = ["| family | kind | Debian packages | files | groups | minutes | sample rate | licence | used for |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [describe(name, args.cache_dir) for name in names]
    publish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
