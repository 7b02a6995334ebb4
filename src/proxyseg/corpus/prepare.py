"""Decode sources once into a cache of 16 kHz mono arrays that mixing memory-maps.

Mixing a corpus reads thousands of excerpts; decoding Ogg/MP3 and resampling each time would
dominate the build. Each source is decoded once to ``<cache>/prepared/<key>.npy`` (float32),
keyed by its path, size and modification time, so an edited file is prepared again.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxyseg.atomic import atomic_output
from proxyseg.audio import load
from proxyseg.corpus.sources import Source
from proxyseg.errors import AudioError, DamagedAudioWarning
from proxyseg.grid import SAMPLE_RATE
from proxyseg.workers import WorkerPool

logger = logging.getLogger(__name__)

# Bump when the preparation changes, so that old caches are not reused.
_PREPARATION_VERSION = 1
#: Sources shorter than this are of no use for mixing.
MIN_SOURCE_DURATION = 0.2


@dataclass(frozen=True)
class PreparedSource:
    """A source decoded to 16 kHz mono float32, stored as ``.npy``.

    Attributes
    ----------
    source
        What it was prepared from.
    array_path
        The ``.npy`` file, shape ``(samples,)``.
    num_samples
        Its length at 16 kHz.
    """

    source: Source
    array_path: Path
    num_samples: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / SAMPLE_RATE

    def samples(self) -> np.ndarray:
        """The waveform, memory-mapped read-only, ``(samples,)``."""
        return np.load(self.array_path, mmap_mode="r")


def prepare_sources(
    sources: list[Source], cache_dir: Path, *, jobs: int = 1, on_done=None
) -> list[PreparedSource]:
    """Decode every source into the cache (once); skip unreadable or silent ones with a warning.

    Parameters
    ----------
    sources
        What to prepare.
    cache_dir
        Cache folder; arrays go to ``cache_dir/prepared/``.
    jobs
        Worker processes.
    on_done
        Called with no argument after each source, e.g. to advance a progress bar.

    Returns
    -------
    list of PreparedSource
        In the order of ``sources``, without the skipped ones.
    """
    target_dir = Path(cache_dir) / "prepared"
    target_dir.mkdir(parents=True, exist_ok=True)
    keys = [_cache_key(source) for source in sources]
    tasks = [(source, target_dir / f"{key}.npy" if key else None) for source, key in zip(sources, keys)]
    prepared = []
    with WorkerPool(jobs) if jobs > 1 else _Inline() as pool:
        for source, outcome in zip(sources, pool.map(_prepare_one, tasks, chunksize=8)):
            if isinstance(outcome, AudioError):
                warnings.warn(f"skipping unreadable source {outcome}", stacklevel=2)
            elif isinstance(outcome, str):
                logger.info("leaving out source %s: %s", source.path, outcome)
            else:
                array_path, num_samples, damage = outcome
                if damage:  # said here: a worker's warning would not reach the user
                    warnings.warn(f"source {damage}", stacklevel=2)
                prepared.append(PreparedSource(source, array_path, num_samples))
            if on_done is not None:
                on_done()
    return prepared


def _prepare_one(task: tuple[Source, Path | None]) -> tuple[Path, int, str | None] | AudioError | str:
    """Prepare one source.

    Returns ``(array_path, num_samples, damage)`` (``damage``: the warning of a source that
    decoded only in part, used for what decoded), the error that makes it unreadable, or the
    reason a readable source is of no use.
    """
    source, array_path = task
    if array_path is None:
        return AudioError(source.path, "cannot be accessed")
    if array_path.exists():
        return array_path, int(np.load(array_path, mmap_mode="r").shape[0]), None
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always", DamagedAudioWarning)
            waveform = load(source.path, sample_rate=SAMPLE_RATE)
    except AudioError as error:
        return error
    if waveform.shape[0] < MIN_SOURCE_DURATION * SAMPLE_RATE:
        return f"shorter than {MIN_SOURCE_DURATION} s"
    if not np.any(waveform):
        return "silent"
    with atomic_output(array_path) as partial:
        np.save(partial, waveform.astype(np.float32))
    damage = next((str(warning.message) for warning in raised if warning.category is DamagedAudioWarning), None)
    return array_path, int(waveform.shape[0]), damage


def _cache_key(source: Source) -> str | None:
    """Name of the source's cached array; None when the file cannot be accessed."""
    path = source.path.resolve()
    try:
        stat = path.stat()
    except OSError:
        return None
    text = f"{_PREPARATION_VERSION}|{SAMPLE_RATE}|{path}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:20]


class _Inline:
    """The executor interface, run in this process (for ``jobs=1``)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @staticmethod
    def map(function, iterable, chunksize=1):
        return map(function, iterable)
