"""How many of the default corpus sources proxyseg flags as damaged or truncated (a false-alarm check).

Decodes every audio file of the default sources (fetched into the cache by ``proxyseg corpus build``)
as :func:`proxyseg.audio.load` does and counts the files that raise a ``DamagedAudioWarning`` or an
``AudioError``, listing them.

    python benchmarks/damaged_sources.py [--cache-dir ~/.cache/proxyseg]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from rich.progress import track

from proxyseg.audio import AUDIO_SUFFIXES, load
from proxyseg.errors import AudioError, DamagedAudioWarning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "proxyseg")
    arguments = parser.parse_args()
    files = sorted(path for path in arguments.cache_dir.rglob("*")
                   if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and "prepared" not in path.parts)
    if not files:
        parser.error(f"no audio under {arguments.cache_dir}: run `proxyseg corpus build` once first")
    damaged, refused = [], []
    for path in track(files, description="decoding", transient=True):
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always", DamagedAudioWarning)
            try:
                load(path)
            except AudioError as error:
                refused.append(str(error))
        damaged += [str(warning.message) for warning in raised if warning.category is DamagedAudioWarning]
    print(f"{len(files)} files decoded: {len(damaged)} flagged damaged or truncated, {len(refused)} refused")
    for message in damaged + refused:
        print(f"  {message}")


if __name__ == "__main__":
    main()
