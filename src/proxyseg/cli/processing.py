"""Commands on audio files: ``info``, ``segment``, ``explain``, ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from proxyseg.cli.group import logger
from proxyseg.cli.options import SEED, FiniteRange, batch_options, thresholds_option
from proxyseg.cli.output import print_explanation, say, stdout
from proxyseg.errors import ProxysegError
from proxyseg.formats import FORMATS
from proxyseg.limits import MAX_RANDOM_DRAWS, MAX_WINDOW
from proxyseg.text import printable

@click.command("info")
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


def _say_what_went_wrong(report) -> int:
    """Skips, warnings and failures of a :class:`proxyseg.batch.Report` on stderr; the number of failures."""
    if report.skipped:
        click.echo(f"proxyseg: {len(report.skipped)} of {len(report.jobs)} files skipped: their outputs exist "
                   "(--overwrite to redo them)", err=True)
    for message in report.warnings:
        click.echo(f"proxyseg: warning: {printable(message)}", err=True)
    for message in report.failures:
        click.echo(f"proxyseg: error: {printable(message)}", err=True)
    return len(report.failures)


@click.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the segment files, one <uri>.<ext> per input.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="rttm", show_default=True)
@click.option("--model", default="proxy", show_default=True, help="A shipped model's name or a model directory.")
@click.option("--threshold", "thresholds", multiple=True, metavar="CLASS=VALUE", callback=thresholds_option,
              help="Decide CLASS where its probability is above VALUE (0 to 1) instead of the model's tuned onset "
                   "and offset (its minimum durations kept). Repeat for several classes.")
@batch_options
def segment(audio: tuple[Path, ...], outdir: Path, output_format: str, model: str, thresholds: dict[str, float],
            jobs: int, threads: int, overwrite: bool, shard: tuple[int, int] | None, quiet: bool) -> None:
    """Segment audio into speech, music, noise and overlap.

    AUDIO: files, folders (searched recursively) and list files (.txt or .lst, one path per line).
    A file given directly or listed writes OUTDIR/<its stem>.<ext>; a file found in a folder
    writes OUTDIR/<its path in the folder>.<ext>. Files are streamed: memory does not grow with
    their length. A file that cannot be read is reported at the end and the others are still
    processed; the exit status is 1 if any failed.
    """
    from proxyseg.batch import run_inputs
    from proxyseg.explain.writer import outputs_of_runs
    from proxyseg.segmentation import SegmentWriter

    report = run_inputs(SegmentWriter(model, outdir, output_format, thresholds), audio,
                        exclude=outputs_of_runs(outdir), shard_of=shard, workers=jobs, overwrite=overwrite,
                        progress=not quiet, label="segmenting", threads=threads)
    failures = _say_what_went_wrong(report)
    logger.info("%d files segmented into %s", len(report.results), outdir)
    if failures:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the explanation (of one file), or for one sub-folder per file and the set's summary.")
@click.option("--model", default="proxy", show_default=True, help="A shipped proxy's name or a proxy model directory.")
@click.option("--threshold", type=FiniteRange(0, 1), default=0.5, show_default=True,
              help="Relevance above which a component is relevant to a class.")
@click.option("--random-draws", type=click.IntRange(0, MAX_RANDOM_DRAWS), default=5, show_default=True,
              help="Random component sets removed for the faithfulness baseline.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--window", type=FiniteRange(min=10, max=MAX_WINDOW), default=300.0, show_default=True,
              help="Seconds of audio explained at a time: memory grows with it, not with the file.")
@batch_options
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
    from proxyseg.explain.writer import explain_files

    explained = explain_files(audio, outdir, model, workers=jobs, threads=threads, overwrite=overwrite, shard=shard,
                              progress=not quiet, threshold=threshold, random_draws=random_draws, seed=seed,
                              window=window)
    failures = _say_what_went_wrong(explained.report)
    if explained.single:
        for document in explained.report.results.values():
            print_explanation(document, outdir)
    elif shard:
        say(f"{len(explained.report.results)} files explained into {outdir}; once every shard is done, run again "
            "without --shard for the summary of the set")
    elif explained.summary is not None:
        files = len(explained.summary["files"])
        for name, item in explained.summary["classes"].items():
            low, high = item["band_hz"]
            say(f"{name}: detected in {item['files_detected']} of {files} files, band "
                f"{low:.0f}–{high:.0f} Hz, mean removal drop {item['faithfulness']['removal_drop']}")
        say(f"{files} explanations and a summary written to {outdir}, report: {explained.summary_report}")
    if failures:
        raise click.exceptions.Exit(1)


@click.command()
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
        stdout.print(report.table())
    if report.missing_uris:
        shown = ", ".join(report.missing_uris[:5]) + (", …" if len(report.missing_uris) > 5 else "")
        click.echo(f"proxyseg: warning: {len(report.missing_uris)} reference file(s) without hypothesis, "
                   f"scored as empty: {shown}", err=True)


#: What this module adds to the ``proxyseg`` group.
COMMANDS = [info_command, segment, explain, evaluate]
