"""Score folders of RTTM hypotheses against references: file reading and presentation.

The computations live in :mod:`proxyseg.metrics`; this module finds and reads the
files (a corpus root or a plain folder of RTTM files, optional UEMs) and turns the
scores into a JSON-ready dictionary or a rich table.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyannote.core import Annotation, Timeline
from rich.table import Table

from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import LabelFormatError
from proxyseg.formats import read_rttm, read_uem
from proxyseg.labels import CLASSES
from proxyseg.metrics import ClassScores, detection_scores

__all__ = ["EvaluationReport", "evaluate_directories"]

_FRACTIONS = ("precision", "recall", "f1", "frame_f1")


@dataclass
class EvaluationReport:
    """Scores of a hypothesis folder against its references.

    Attributes
    ----------
    scores : dict of str to ClassScores
        Per class, in class order; classes absent from every reference are left out.
    files : int
        Number of reference uris scored.
    missing_uris : list of str
        Reference uris without a hypothesis (scored as empty hypotheses).
    extra_uris : list of str
        Hypothesis uris without a reference (not scored).
    """

    scores: dict[str, ClassScores]
    files: int
    missing_uris: list[str] = field(default_factory=list)
    extra_uris: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data.

        Returns
        -------
        dict
            ``{"files", "missing_uris", "extra_uris", "classes": {class: {...}}}``;
            precision, recall, f1 and frame_f1 are fractions rounded to 4 decimals,
            reference_duration and hypothesis_duration seconds rounded to 3.

        Examples
        --------
        >>> scores = ClassScores(0.5, 0.25, 1 / 3, 0.3, 10.0, 5.0)
        >>> EvaluationReport({"speech": scores}, files=1).to_dict()["classes"]["speech"]["f1"]
        0.3333
        """
        classes = {}
        for label, scores in self.scores.items():
            values = asdict(scores)
            classes[label] = {
                key: round(float(value), 4 if key in _FRACTIONS else 3)
                for key, value in values.items()
            }
        return {
            "files": self.files,
            "missing_uris": list(self.missing_uris),
            "extra_uris": list(self.extra_uris),
            "classes": classes,
        }

    def table(self) -> Table:
        """Return the scores as a rich table, percentages and minutes.

        Returns
        -------
        rich.table.Table
            One row per class; columns class, precision %, recall %, F1 %, frame F1 %,
            reference min, hypothesis min.
        """
        caption = f"{self.files} file(s)"
        if self.missing_uris:
            caption += f", {len(self.missing_uris)} without hypothesis (scored as empty)"
        if self.extra_uris:
            caption += f", {len(self.extra_uris)} hypothesis file(s) without reference (ignored)"
        table = Table(title="Detection scores (collar 0, inside the UEM)", caption=caption)
        table.add_column("class")
        for header in ("precision %", "recall %", "F1 %", "frame F1 %"):
            table.add_column(header, justify="right")
        table.add_column("reference min", justify="right")
        table.add_column("hypothesis min", justify="right")
        for label, scores in self.scores.items():
            table.add_row(
                label,
                *(f"{100 * getattr(scores, key):.1f}" for key in _FRACTIONS),
                f"{scores.reference_duration / 60:.2f}",
                f"{scores.hypothesis_duration / 60:.2f}",
            )
        return table


def _files(path: Path, suffix: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.exists():
        raise LabelFormatError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise LabelFormatError(f"{path}: not a regular file or a folder (a FIFO or a device)")
    # Case-insensitive suffix, sorted so that error messages are reproducible. Only regular
    # files: a folder or a FIFO named x.rttm is not an annotation (and reading a FIFO waits).
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == suffix)


def _read_annotations(path: Path) -> dict[str, Annotation]:
    """Annotation of every uri of the RTTM files under ``path``."""
    files = _files(path, ".rttm")
    if not files:
        raise LabelFormatError(f"no RTTM file found in {path}")
    annotations: dict[str, Annotation] = {}
    origin: dict[str, Path] = {}
    for file in files:
        # A file without segments still names a uri (its stem): `proxyseg segment`
        # writes an empty RTTM for a file where it detects nothing, which is not missing.
        found = read_rttm(file) or {file.stem: Annotation(uri=file.stem)}
        for uri, annotation in found.items():
            if uri in annotations:
                # Merging would silently double-count two runs left in one folder.
                raise LabelFormatError(f"{file}: uri {uri!r} is also annotated in {origin[uri]}")
            unknown = sorted(set(annotation.labels()) - set(CLASSES))
            if unknown:
                raise LabelFormatError(
                    f"{file}: label(s) {unknown} of {uri!r} are not classes ({', '.join(CLASSES)})"
                )
            annotations[uri], origin[uri] = annotation, file
    return annotations


def _read_uems(path: Path, required: bool) -> dict[str, Timeline]:
    files = _files(path, ".uem")
    if not files and required:
        raise LabelFormatError(f"no UEM file found in {path}")
    uems: dict[str, Timeline] = {}
    for file in files:
        for uri, timeline in read_uem(file).items():
            # Several files (or lines) may cover one uri: their union is evaluated.
            uems[uri] = uems[uri].union(timeline) if uri in uems else timeline
    return uems


def evaluate_directories(
    reference: str | os.PathLike,
    hypothesis: str | os.PathLike,
    uem: str | os.PathLike | None = None,
    split: str | None = None,
) -> EvaluationReport:
    """Score a folder of RTTM hypotheses against references.

    Parameters
    ----------
    reference : str or PathLike
        A corpus root (it holds ``rttm/`` and maybe ``uem/``) or a folder of ``*.rttm``
        files, searched recursively (a single RTTM file works too). Labels must be class
        names.
    hypothesis : str or PathLike
        A folder of ``*.rttm`` files, searched recursively, e.g. written by
        ``proxyseg segment -o OUTDIR --format rttm``.
    uem : str or PathLike, optional
        A folder of ``*.uem`` files (recursively) or one UEM file. When omitted and
        ``reference`` is a corpus root with a ``uem/`` folder, that folder is used. A uri
        without UEM is scored on ``[0, end of its last reference segment]``.
    split : str, optional
        With a corpus root: score only the uris of this split (``train``, ``dev``, ``test``).

    Returns
    -------
    EvaluationReport
        Scores over the reference uris; hypothesis uris absent from the reference are
        listed in ``extra_uris``, reference uris without hypothesis (scored as empty) in
        ``missing_uris``.

    Raises
    ------
    LabelFormatError
        A path that does not exist or is neither a regular file nor a folder, a folder
        without RTTM (or UEM) file, a malformed file (a time beyond
        :data:`~proxyseg.formats.MAX_TIME` included), a label that is not a class, or a uri
        annotated in two files. Folders and FIFOs named ``*.rttm`` or ``*.uem`` inside the
        folders are skipped.
    """
    reference, hypothesis = Path(reference), Path(hypothesis)
    uem_path = None if uem is None else Path(uem)
    selected = None
    if reference.is_dir() and (reference / "rttm").is_dir():
        if uem_path is None and (reference / "uem").is_dir():
            uem_path = reference / "uem"
        if split is not None:
            selected = set(Corpus(reference).uris(split))
        reference = reference / "rttm"
    elif split is not None:
        raise LabelFormatError(f"{reference}: a split can only be chosen in a corpus root (with rttm/ and lists/)")
    references = _read_annotations(reference)
    if selected is not None:
        references = {uri: annotation for uri, annotation in references.items() if uri in selected}
    hypotheses = _read_annotations(hypothesis)
    # A corpus' uem/ folder may be empty (UEMs are optional), an explicit one may not.
    uems = {} if uem_path is None else _read_uems(uem_path, required=uem is not None)
    return EvaluationReport(
        scores=detection_scores(references, hypotheses, uems),
        files=len(references),
        missing_uris=sorted(set(references) - set(hypotheses)),
        extra_uris=sorted(set(hypotheses) - set(references)),
    )
