"""Explanations on disk: one file's folder (:func:`write_explanation`), a set's summary and report,
and :func:`explain_files`, which explains files, folders and lists as ``proxyseg explain`` does.

An explanation folder holds ``explanation.json`` (written last: it says the explanation is
complete), ``report.html``, ``input.wav`` and each explained class's ``<class>.wav`` and
``<class>.rest.wav``; a set's folder holds one such folder per file, ``summary.json`` and
``report.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from proxyseg import __version__, batch
from proxyseg.artefacts import model_type
from proxyseg.atomic import atomic_output, write_json
from proxyseg.audio import info, stream
from proxyseg.errors import ModelError, OutputError
from proxyseg.explain.explainer import STAGES, Explainer
from proxyseg.explain.report import write_report, write_set_report
from proxyseg.explain.result import SCHEMA, SET_SCHEMA, summarise
from proxyseg.grid import SAMPLE_RATE
from proxyseg.inputs import LIST_SUFFIXES, Job
from proxyseg.labels import CLASSES
from proxyseg.ownership import ForeignMarker, listed_names, read_marker, refuse_foreign
from proxyseg.progress import progress_bar

#: Written last by :func:`write_explanation`: its presence means a file's explanation is complete.
EXPLANATION = "explanation.json"
#: The summary of a set of explanations, beside its report.html.
SUMMARY = "summary.json"


@dataclass
class ExplainedFiles:
    """What :func:`explain_files` did.

    Attributes
    ----------
    report
        The run: each explained file's explanation.json content by uri, the files skipped (their
        explanation exists), the failures (one line each), the warnings.
    single
        Whether the inputs were one audio file, explained into the output folder itself.
    summary
        The set's summary.json content (None for a single file, a shard, or no explanation).
    summary_report
        The set's report.html.
    """

    report: batch.Report
    single: bool
    summary: dict | None = None
    summary_report: Path | None = None


def explain_files(inputs: Iterable[str | Path], outdir: str | Path, model: str | Path = "proxy", *,
                  workers: int = 1, threads: int | None = None, overwrite: bool = False,
                  shard: tuple[int, int] | None = None, progress: bool = True, **options) -> ExplainedFiles:
    """Explain audio files as ``proxyseg explain`` does.

    Parameters
    ----------
    inputs
        Files, folders (searched recursively) and list files (see :mod:`proxyseg.inputs`). One
        audio file is explained into ``outdir`` itself; otherwise each file into ``outdir/<uri>/``,
        and the set into ``outdir/summary.json`` and ``outdir/report.html`` (covering every file of
        the inputs explained, in this run or before).
    outdir
        The output folder; files of an earlier explanation are skipped unless ``overwrite``.
    model
        A proxy model directory or a shipped proxy's name.
    workers, threads
        Processes, and torch threads per process (see :func:`proxyseg.batch.run`).
    shard
        ``(i, n)``: explain only the i-th of n disjoint shards of the files; no summary (run once
        more without a shard when every shard is done).
    progress
        Show a progress bar.
    **options
        For the :class:`~proxyseg.explain.explainer.Explainer`: ``threshold``, ``random_draws``,
        ``seed``, ``window``.

    Raises
    ------
    ModelError
        ``model`` is not a proxy (said before any file is read).
    OutputError
        ``outdir`` holds a summary or report that is not an explanation's.
    """
    inputs, outdir = [Path(path) for path in inputs], Path(outdir)
    if model_type(model) != "proxy_segmenter":  # said once, before any file (the workers load the model)
        raise ModelError(f"{model}: this model has no NMF bottleneck to explain; give a proxy model")
    single = len(inputs) == 1 and not inputs[0].is_dir() and inputs[0].suffix.lower() not in LIST_SUFFIXES
    if not single:
        claim_summary_folder(outdir)  # refused before any file is explained, not after
    writer = ExplanationWriter(model, outdir, single, replace=overwrite, progress=progress and single, **options)
    report = batch.run_inputs(writer, inputs, exclude=outputs_of_runs(outdir), shard_of=shard, workers=workers,
                              overwrite=overwrite, progress=progress, label="explaining", threads=threads)
    explained = ExplainedFiles(report, single)
    if not single and not shard:
        documents = [_explanation_marker(writer.folder(job)) for job in report.jobs if writer.done(job)]
        if documents:
            explained.summary, explained.summary_report = write_summary(documents, outdir)
    return explained


class ExplanationWriter:
    """What ``proxyseg explain`` does to each file of a run (a :class:`proxyseg.batch.Writer`): explain it
    into ``outdir/<uri>/`` (into ``outdir`` itself when ``single``), see :func:`write_explanation`.

    ``replace`` lets a folder holding the explanation of another file be replaced (``--overwrite``);
    ``progress`` shows a bar per pass over each file longer than the explainer's window.
    """

    def __init__(self, model: str, outdir: Path, single: bool = False, replace: bool = False, progress: bool = False,
                 **options):
        self.model, self.outdir, self.single, self.replace, self.options = model, Path(outdir), single, replace, options
        self.progress = progress
        self._explainer = None

    def setup(self) -> None:
        self._explainer = Explainer.from_pretrained(self.model, **self.options)

    def folder(self, job: Job) -> Path:
        return self.outdir if self.single else self.outdir / job.uri

    def done(self, job: Job) -> bool:
        """Whether the job's folder holds the complete explanation of this very file."""
        try:
            marker = _explanation_marker(self.folder(job))
        except OutputError:
            return False  # refused, with the reason, when the job runs
        return _complete(marker) and _same_input(marker, job.path, job.uri)

    def __call__(self, job: Job) -> dict:
        """Explain ``job``; the content of its explanation.json."""
        return write_explanation(self._explainer, job.path, self.folder(job), job.uri, replace=self.replace,
                                 progress=self.progress)


def write_explanation(explainer: Explainer, path: Path, outdir: Path, uri: str, replace: bool = False,
                      progress: bool = False) -> dict:
    """Explain the audio file ``path`` into ``outdir``; the content of its explanation.json.

    With ``progress``, a file longer than the explainer's window shows a bar on stderr for each pass
    over it (:data:`~proxyseg.explain.explainer.STAGES`), window by window.

    The file is read as a stream, window by window (memory is bounded by the explainer's window),
    and its audio written as it comes: ``input.wav``, and ``<class>.wav`` and ``<class>.rest.wav``
    for each class with relevant components. Then ``report.html``, and last ``explanation.json``
    saying the explanation is complete.

    Only files of an earlier explanation are replaced or removed: ``explanation.json`` names the
    files it wrote (``outputs``) and the file it explains (``input``). The folder is refused
    (:class:`~proxyseg.errors.OutputError`, before anything is written) if it holds a file of the
    names an explanation writes that no explanation.json of ours names, or, unless ``replace``, the
    complete explanation of another file. An explanation.json saying ``incomplete`` is written first,
    so that the files of a run killed outright are still known as ours; a run that fails or is
    interrupted leaves the folder as it found it.
    """
    path = Path(path)
    stream(path)  # checks the file before any output is opened
    source = _input(path, uri)
    marker = _explanation_marker(outdir)
    owned = listed_names(marker) | {EXPLANATION} if marker is not None else set()
    refuse_foreign(outdir, _OUTPUT_NAMES, owned, "proxyseg explain")
    if _complete(marker) and not replace and not _same_input(marker, path, uri):
        raise OutputError(f"{outdir}: holds the explanation of {marker['input'].get('path')}; "
                          "--overwrite replaces it")
    claimed = sorted(owned | set(_OUTPUT_NAMES))
    write_json(outdir / EXPLANATION, {"schema": SCHEMA, "proxyseg_version": __version__, "status": "incomplete",
                                      "input": source, "outputs": claimed})
    sink = _FileSink(outdir, ExitStack())
    try:
        duration = info(path).duration
        with sink.outputs, progress_bar(progress and duration * SAMPLE_RATE > explainer.window_samples) as bar:
            stages = {stage: bar.add_task(stage, total=round(duration)) for stage in STAGES}
            explanation = explainer.explain(lambda: stream(path), uri, str(path), sink=sink,
                                            progress=lambda stage, seconds: bar.advance(stages[stage], seconds))
    except BaseException:
        # Nothing was renamed into place: the folder is as it was, and says so again.
        if marker is None:
            (outdir / EXPLANATION).unlink(missing_ok=True)
        else:
            write_json(outdir / EXPLANATION, marker)
        raise
    write_report(explanation, outdir)
    written = sorted({f"{name}.wav" for name in sink.files} | {"report.html", EXPLANATION})
    for stale in set(claimed) - set(written):
        (outdir / stale).unlink(missing_ok=True)
    document = {**explanation.to_json(), "status": "complete", "outputs": written}
    document["input"] = {**document["input"], "bytes": source["bytes"]}
    write_json(outdir / EXPLANATION, document)
    return document


def claim_summary_folder(outdir: Path) -> None:
    """Refuse (:class:`~proxyseg.errors.OutputError`) a folder whose ``summary.json`` or ``report.html``
    :func:`write_summary` could not prove its own: checked before a set is explained."""
    try:
        marker = read_marker(outdir / SUMMARY, lambda content: content.get("schema") == SET_SCHEMA)
    except ForeignMarker as error:
        raise OutputError(f"{outdir} is not an explanation of proxyseg's ({error}); choose an empty or new folder") from None
    refuse_foreign(outdir, (SUMMARY, "report.html"), (SUMMARY, "report.html") if marker else (), "proxyseg explain")


def write_summary(documents: list[dict], outdir: Path) -> tuple[dict, Path]:
    """Write ``summary.json`` and ``report.html`` of a set's explanations (their explanation.json
    contents) into ``outdir``; the summary and the report's path. See :func:`claim_summary_folder`."""
    claim_summary_folder(outdir)
    summary = summarise(documents)
    write_json(outdir / SUMMARY, summary)
    return summary, write_set_report(summary, outdir)


#: Every name an explanation folder may hold (what :func:`write_explanation` writes).
_OUTPUT_NAMES = (EXPLANATION, "report.html", "input.wav",
                 *(f"{name}{part}.wav" for name in CLASSES for part in ("", ".rest")))


def _explanation_marker(folder: Path) -> dict | None:
    """The explanation.json of ``folder``, None if there is none; OutputError if it is not ours."""
    try:
        return read_marker(folder / EXPLANATION, lambda content: content.get("schema") == SCHEMA
                           and isinstance(content.get("input"), dict))
    except ForeignMarker as error:
        raise OutputError(f"{folder} is not an explanation of proxyseg's ({error}); choose an empty or new folder") from None


def _input(path: Path, uri: str) -> dict:
    """How explanation.json names the file it explains: enough to tell another file of the same name."""
    return {"uri": uri, "path": str(path), "bytes": path.stat().st_size}


def _complete(marker: dict | None) -> bool:
    """Whether ``marker`` is the explanation.json of a finished explanation (earlier versions wrote no status)."""
    return marker is not None and marker.get("status", "complete") == "complete"


def _same_input(marker: dict, path: Path, uri: str) -> bool:
    """Whether ``marker`` explains ``path``: same uri, same file name, same size (when recorded)."""
    recorded = marker["input"]
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False
    return (recorded.get("uri") == uri and Path(str(recorded.get("path"))).name == Path(path).name
            and recorded.get("bytes", size) == size)


def outputs_of_runs(outdir: Path) -> Callable[[Path], bool]:
    """Whether a file found while searching an input folder is an output rather than an input: it
    lies inside this run's ``outdir``, or an explanation beside it names it (for
    :func:`proxyseg.inputs.collect`'s ``exclude``)."""
    root, listed = Path(outdir).resolve(), {}  # each folder's explanation.json read once per search

    def is_output(file: Path) -> bool:
        if file.parent not in listed:
            listed[file.parent] = _explanation_outputs(file.parent)
        return file.name in listed[file.parent] or file.resolve().is_relative_to(root)

    return is_output


def is_explanation_output(file: Path) -> bool:
    """Whether ``file`` is one that an explanation of proxyseg's beside it names as its output.

    Such files (``input.wav``, ``speech.wav``, …) are audio; searching a folder for inputs skips
    them, so that an explanation is never taken for a recording by a later run.
    """
    return file.name in _explanation_outputs(file.parent)


def _explanation_outputs(folder: Path) -> set[str]:
    """The files the explanation.json of ``folder`` names, if it is ours."""
    try:
        marker = _explanation_marker(folder)
    except OutputError:
        return set()
    return listed_names(marker) if marker is not None else set()


class _FileSink:
    """An :class:`~proxyseg.explain.windows.AudioSink` that writes each piece of an explanation's audio to its file in ``outdir`` as it comes.

    The files are written under temporary names, renamed into place when ``outputs`` closes
    normally and removed otherwise; the input as 16-bit PCM, the explanations as 32-bit float
    (so that a class's audio and its rest add back to the input exactly).
    """

    def __init__(self, outdir: Path, outputs: ExitStack):
        self.outdir, self.outputs, self.files = Path(outdir), outputs, {}

    def input(self, samples: np.ndarray) -> None:
        self._file("input", "PCM_16").write(samples)

    def explained(self, name: str, kept: np.ndarray, rest: np.ndarray) -> None:
        self._file(name, "FLOAT").write(kept)
        self._file(f"{name}.rest", "FLOAT").write(rest)

    def _file(self, name: str, subtype: str) -> sf.SoundFile:
        if name not in self.files:
            partial = self.outputs.enter_context(atomic_output(self.outdir / f"{name}.wav"))
            self.files[name] = self.outputs.enter_context(sf.SoundFile(partial, "w", SAMPLE_RATE, 1, subtype))
        return self.files[name]
