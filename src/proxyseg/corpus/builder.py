"""Build a labelled four-class corpus: ``proxyseg corpus build OUTDIR``.

Sources are prepared once (decoded to 16 kHz), their groups (speakers, tracks, recordings)
split between train, dev and test, and scenes mixed in parallel. Every scene draws its random
choices from its own generator, seeded by ``(seed, split, index)``: the same seed and sources
give byte-identical audio and labels whatever the number of worker processes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pyannote.core import Segment, Timeline

from proxyseg import __version__
from proxyseg.atomic import is_temporary, write_json, write_text
from proxyseg.audio import save
from proxyseg.corpus.activity import RULES
from proxyseg.corpus.catalogue import SOURCE_SETS, set_sources
from proxyseg.corpus.conditions import CHANNELS, through_channel
from proxyseg.corpus.debian import default_cache_dir
from proxyseg.corpus.manifest import Corpus
from proxyseg.corpus.prepare import PreparedSource, prepare_sources
from proxyseg.corpus.scene import MixingConfig, SourcePool, mix_scene
from proxyseg.corpus.sources import folder_sources
from proxyseg.corpus.splits import DEFAULT_PROPORTIONS, SPLITS, assign_groups
from proxyseg.corpus.stats import corpus_stats, scene_stats
from proxyseg.errors import CorpusError
from proxyseg.formats import write_rttm, write_uem
from proxyseg.grid import SAMPLE_RATE
from proxyseg.grid import FRAME_STEP
from proxyseg.labels import CLASSES, frames_to_annotation
from proxyseg.limits import MAX_HOURS
from proxyseg.ownership import ForeignMarker, read_marker
from proxyseg.progress import progress_bar
from proxyseg.workers import WorkerPool

logger = logging.getLogger(__name__)


@dataclass
class CorpusBuilder:
    """Everything that defines a corpus; :meth:`build` writes it.

    Attributes
    ----------
    output
        The corpus folder to write (layout in :mod:`proxyseg.corpus.manifest`).
    hours
        Total audio to generate, split 80/10/10 between train, dev and test by default.
    seed
        The corpus's seed.
    sources
        A folder with ``speech/ music/ noise/`` sub-folders, or None for the Debian sources of ``source_set``.
    source_set
        Without ``sources``: the families of Debian recordings to mix (see
        :data:`proxyseg.corpus.catalogue.SOURCE_SETS`: ``default``, ``real``, ``held-out``).
    group_depth
        For ``sources``: see :func:`proxyseg.corpus.sources.folder_sources`.
    cache_dir
        Where downloads and prepared sources are kept.
    jobs
        Worker processes.
    overwrite
        Replace an existing corpus in ``output``.
    progress
        Show progress bars.
    """

    output: Path
    hours: float = 1.0
    seed: int = 0
    sources: Path | None = None
    source_set: str = "default"
    group_depth: int = 0
    cache_dir: Path = field(default_factory=default_cache_dir)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    proportions: tuple[float, float, float] = DEFAULT_PROPORTIONS
    mixing: MixingConfig = field(default_factory=MixingConfig)
    overwrite: bool = False
    progress: bool = True

    def build(self) -> Corpus:
        """Prepare sources, mix every scene, and write audio, labels, lists and statistics."""
        if not 0 < self.hours <= MAX_HOURS:  # NaN fails this too
            raise CorpusError(f"hours must be in (0, {MAX_HOURS:g}], got {self.hours}")
        output = Path(self.output)
        _check_space(output, self.hours)
        self._claim(output)
        with progress_bar(self.progress) as progress:
            if self.sources:
                sources = folder_sources(self.sources, self.group_depth)
            else:
                task = progress.add_task("reading sources", total=len(SOURCE_SETS.get(self.source_set, ())))
                sources = set_sources(self.source_set, self.cache_dir, lambda: progress.advance(task))
            task = progress.add_task("preparing sources", total=len(sources))
            prepared = prepare_sources(sources, self.cache_dir, jobs=self.jobs,
                                       on_done=lambda: progress.advance(task))
            assignment = assign_groups(prepared, np.random.default_rng(self.seed), self.proportions)
            pools = _pools(prepared, assignment)
            plan = self._plan()
            task = progress.add_task("mixing scenes", total=len(plan))
            results = {}
            with WorkerPool(self.jobs, initializer=_init_worker,
                            initargs=(pools, self.mixing, output, self.seed)) as pool:
                for uri, result in zip(plan, pool.map(_make_file, plan, chunksize=1)):
                    results[uri] = result
                    progress.advance(task)
        self._write_metadata(output, prepared, assignment, results)
        return Corpus(output)

    def _claim(self, output: Path) -> None:
        """Make ``output`` an empty folder; an earlier corpus is replaced only with ``overwrite``, and
        only when every file in the folder is one a corpus build writes (nothing else is ever removed)."""
        if output.exists() and any(output.iterdir()):
            try:
                marker = read_marker(output / _MARKER, _is_corpus_marker)
            except ForeignMarker as error:
                raise CorpusError(f"{output} is not a corpus ({error}); choose an empty or new folder") from None
            if marker is None:
                raise CorpusError(f"{output} exists and is not a corpus; choose an empty or new folder")
            if not self.overwrite:
                raise CorpusError(f"{output} already holds a corpus; use --overwrite to replace it")
            _remove_corpus(output)
        for name in _FOLDERS:
            (output / name).mkdir(parents=True, exist_ok=True)
        # Marks the folder as ours, so that an interrupted build can be replaced with --overwrite.
        write_json(output / _MARKER, {"proxyseg_version": __version__, "status": "incomplete"})

    def _plan(self) -> list[tuple[str, int]]:
        """The ``(split, index)`` of every file to mix."""
        total = max(len(SPLITS), int(round(self.hours * 3600.0 / self.mixing.duration)))
        wanted = np.asarray(self.proportions) / np.sum(self.proportions) * total
        counts = np.maximum(1, np.floor(wanted).astype(int))
        for split in np.argsort(-(wanted - np.floor(wanted)), kind="stable")[: max(0, total - counts.sum())]:
            counts[split] += 1  # largest remainders first, so that the counts add up to the total
        while counts.sum() > total:  # the one-file minimum of small splits came out of the largest
            counts[int(np.argmax(counts))] -= 1
        return [(split, index) for split, count in zip(SPLITS, counts) for index in range(count)]

    def _write_metadata(self, output: Path, prepared: list[PreparedSource],
                        assignment: dict[str, str], results: dict) -> None:
        """The lists, statistics and scenes, then ``corpus.json`` last: it says the corpus is complete."""
        for split in SPLITS:
            uris = sorted(result["uri"] for (name, _), result in results.items() if name == split)
            write_text(output / "lists" / f"{split}.txt", "".join(f"{uri}\n" for uri in uris))
        write_json(output / "stats.json", corpus_stats(results, assignment, prepared))
        kept = ("classes", "reverberant", "channel", "groups", "sources")
        scenes = {result["uri"]: {key: result[key] for key in kept}
                  for result in sorted(results.values(), key=lambda result: result["uri"])}
        write_json(output / "scenes.json", scenes)
        groups = {split: sorted({p.source.kind + "/" + p.source.group for p in prepared
                                 if assignment[p.source.group] == split}) for split in SPLITS}
        description = {
            "proxyseg_version": __version__,
            "status": "complete",
            "classes": list(CLASSES),
            "sample_rate": SAMPLE_RATE,
            "frame_step": FRAME_STEP,
            "seed": self.seed,
            "hours": self.hours,
            "sources": str(self.sources) if self.sources else "debian",
            "source_set": None if self.sources else self.source_set,
            "group_depth": self.group_depth,
            "proportions": list(self.proportions),
            "mixing": self.mixing.to_dict(),
            "activity_rules": {kind: rule.to_dict() for kind, rule in RULES.items()},
            "groups": groups,
        }
        write_json(output / "corpus.json", description)


# -- worker processes -----------------------------------------------------------------------
_WORKER: dict = {}


def _init_worker(pools: dict[str, SourcePool], mixing: MixingConfig, output: Path, seed: int) -> None:
    _WORKER.update(pools=pools, mixing=mixing, output=output, seed=seed)


def _make_file(item: tuple[str, int]) -> dict:
    """Mix and write one file; return its statistics."""
    split, index = item
    uri = f"{split}-{index:04d}"
    rng = np.random.default_rng([_WORKER["seed"], SPLITS.index(split), index])
    scene = mix_scene(_WORKER["pools"][split], rng, _WORKER["mixing"])
    channel, waveform = None, scene.waveform
    if _WORKER["mixing"].channel_probability and rng.random() < _WORKER["mixing"].channel_probability:
        channel = str(rng.choice(CHANNELS))
        waveform = through_channel(waveform, channel, rng)
    output: Path = _WORKER["output"]
    duration = waveform.shape[0] / SAMPLE_RATE
    save(output / "audio" / f"{uri}.wav", waveform)
    write_rttm(output / "rttm" / f"{uri}.rttm", frames_to_annotation(scene.labels, uri=uri, duration=duration))
    write_uem(output / "uem" / f"{uri}.uem", Timeline([Segment(0.0, duration)], uri=uri))
    return {"uri": uri, **scene_stats(scene, duration), "channel": channel}


def _pools(prepared: list[PreparedSource], assignment: dict[str, str]) -> dict[str, SourcePool]:
    pools = {split: SourcePool(speakers={}, music=[], noise=[]) for split in SPLITS}
    for item in prepared:
        pool = pools[assignment[item.source.group]]
        if item.source.kind == "speech":
            pool.speakers.setdefault(item.source.group, []).append(item)
        else:
            getattr(pool, item.source.kind).append(item)
    return pools


_MARKER = "corpus.json"
_FOLDERS = ("audio", "rttm", "uem", "lists")
#: The files a corpus build writes, by folder (``""``: the corpus root), as patterns of their names.
_LAYOUT = {
    "": re.compile(r"(corpus|stats|scenes)\.json"),
    "audio": re.compile(r"(train|dev|test)-\d{4,}\.wav"),
    "rttm": re.compile(r"(train|dev|test)-\d{4,}\.rttm"),
    "uem": re.compile(r"(train|dev|test)-\d{4,}\.uem"),
    "lists": re.compile(r"(train|dev|test)\.txt"),
}


def _check_space(output: Path, hours: float) -> None:
    """Refuse a corpus that cannot fit on ``output``'s file system: 16-bit audio, with 5 % to spare for labels."""
    needed = hours * 3600 * SAMPLE_RATE * 2 * 1.05
    existing = next(folder for folder in (output, *output.absolute().parents) if folder.exists())
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise CorpusError(f"{output}: {hours:g} hours of audio need about {needed / 1e9:.1f} GB; "
                          f"its file system has {free / 1e9:.1f} GB free")


def _is_corpus_marker(content: dict) -> bool:
    return isinstance(content.get("proxyseg_version"), str) and content.get("status") in ("complete", "incomplete")


def _remove_corpus(output: Path) -> None:
    """Remove the corpus in ``output``: the files of its layout (and the temporary files of its writes),
    after checking that nothing else is there; refused (:class:`CorpusError`) otherwise."""
    ours, foreign = [], []
    for entry in output.iterdir():
        if entry.name not in _FOLDERS:
            (ours if _is_corpus_file(entry, _LAYOUT[""]) else foreign).append(entry)
        elif entry.is_dir() and not entry.is_symlink():
            for item in entry.iterdir():
                (ours if _is_corpus_file(item, _LAYOUT[entry.name]) else foreign).append(item)
        else:
            foreign.append(entry)
    if foreign:
        shown = ", ".join(str(path.relative_to(output)) for path in sorted(foreign)[:3])
        raise CorpusError(f"{output}: holds files a corpus build did not write ({shown}{', …' if len(foreign) > 3 else ''});"
                          " not replaced")
    for path in ours:
        path.unlink()
    for name in _FOLDERS:
        if (output / name).is_dir():
            (output / name).rmdir()


def _is_corpus_file(path: Path, names: re.Pattern) -> bool:
    """A regular file (not a link) whose name a corpus build writes, or a temporary file of such a write."""
    return path.is_file() and not path.is_symlink() and (names.fullmatch(path.name) is not None or is_temporary(path.name))


def build_corpus(output: str | Path, **options) -> Corpus:
    """Build a corpus in ``output``; ``options`` are the :class:`CorpusBuilder` attributes.

    Returns
    -------
    Corpus
        The corpus just written, e.g. ``build_corpus("demo", hours=0.5, seed=1).uris("test")``
        gives ``['test-0000', ..., 'test-0005']``.
    """
    return CorpusBuilder(Path(output), **options).build()
