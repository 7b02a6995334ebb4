"""A corpus on disk: audio, RTTM and UEM per file, and the train/dev/test lists.

Layout (written by :mod:`proxyseg.corpus.builder`; arrange your own corpus, e.g. DIHARD or
AMI, the same way to use it with proxyseg)::

    CORPUS/
      audio/<uri>.wav          any format proxyseg reads
      rttm/<uri>.rttm          SPEAKER lines whose label is a class name
      uem/<uri>.uem            the evaluated part of the file (optional: whole file if absent)
      lists/{train,dev,test}.txt   one uri per line
      corpus.json              optional: how it was made, and which classes it annotates
      stats.json               optional: durations per split and class
      scenes.json              optional: per file, the sources and groups mixed in
"""

from __future__ import annotations

import json
from pathlib import Path

from pyannote.core import Annotation, Segment, Timeline

from proxyseg.audio import info
from proxyseg.corpus.splits import SPLITS
from proxyseg.errors import CorpusError
from proxyseg.formats import read_rttm, read_uem
from proxyseg.labels import CLASSES


class Corpus:
    """Read access to a corpus directory.

    Parameters
    ----------
    root
        The corpus folder.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / "lists").is_dir():
            raise CorpusError(f"{self.root}: not a corpus (no lists/ folder with train/dev/test lists)")
        description = self.root / "corpus.json"
        self.description = json.loads(description.read_text()) if description.exists() else {}
        if self.description.get("status") == "incomplete":
            raise CorpusError(f"{self.root}: an interrupted build (corpus.json says incomplete); build it again "
                              "with --overwrite")

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes this corpus annotates (all four unless ``corpus.json`` says otherwise)."""
        return tuple(self.description.get("classes", CLASSES))

    def uris(self, split: str) -> list[str]:
        """The file identifiers of ``split`` (``train``, ``dev`` or ``test``)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        path = self.root / "lists" / f"{split}.txt"
        if not path.exists():
            return []
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    def audio_path(self, uri: str) -> Path:
        """The audio file of ``uri`` (any extension)."""
        matches = sorted((self.root / "audio").glob(f"{uri}.*"))
        if not matches:
            raise CorpusError(f"{self.root}: no audio file for {uri!r} in audio/")
        return matches[0]

    def annotation(self, uri: str) -> Annotation:
        """The reference segments of ``uri`` (empty when its RTTM holds no segment)."""
        path = self.root / "rttm" / f"{uri}.rttm"
        if not path.exists():
            raise CorpusError(f"{self.root}: no reference rttm/{uri}.rttm")
        return read_rttm(path).get(uri, Annotation(uri=uri))

    def uem(self, uri: str) -> Timeline:
        """The evaluated regions of ``uri``: its UEM, or the whole file when there is none."""
        path = self.root / "uem" / f"{uri}.uem"
        if path.exists():
            timelines = read_uem(path)
            if uri in timelines:
                return timelines[uri]
        return Timeline([Segment(0.0, info(self.audio_path(uri)).duration)], uri=uri)

    def stats(self) -> dict:
        """The content of ``stats.json`` (empty if the corpus has none)."""
        path = self.root / "stats.json"
        return json.loads(path.read_text()) if path.exists() else {}
