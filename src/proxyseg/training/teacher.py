"""``proxyseg train teacher``: train the paper's TCN teacher on corpora, tune it, save it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import lightning as L

from proxyseg.artefacts import LoadedModel, load_model, save_model, specification
from proxyseg.atomic import write_json
from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import CorpusError, ModelError
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.postprocessing import tune_binarization
from proxyseg.progress import progress_bar
from proxyseg.training.augment import Augmentation
from proxyseg.teachers.registry import load_teacher
from proxyseg.training.data import AnnotatedFile, ChunkDataset, load_split
from proxyseg.training.feature_cache import FeatureCache, attach_features
from proxyseg.training.segmentation import SegmentationTraining
from proxyseg.training.teacher_outputs import TeacherOutputs, audio_splits, distillation_files, is_corpus
from proxyseg.training.trainer import Training

logger = logging.getLogger(__name__)

#: Input features computed once per whole file and cached, rather than on every chunk.
FILE_FEATURES = ("whisper",)


def train_teacher(corpora: str | Path | Sequence[str | Path], output: str | Path, *, features: str = "spectrogram", n_mels: int = 64,
                  ssl_model: str | None = None, bottleneck: int = 64, channels: int = 128, blocks: int = 3,
                  repeats: int = 5, chunk_duration: float = 4.0, batch_size: int = 64, learning_rate: float = 1e-3,
                  max_epochs: int = 1000, max_minutes: float | None = None, patience: int = 20, seed: int = 0,
                  resume: bool = True, progress: bool = True, accelerator: str = "cpu", devices="auto",
                  num_nodes: int = 1, strategy: str = "auto", threads: int | None = None,
                  distil: Sequence[str | Path] = (), distil_teacher: str | Path | None = None,
                  teacher_cache: str | Path | None = None, feature_cache: str | Path | None = None,
                  init: str | Path | None = None) -> LoadedModel | None:
    """Train a :class:`~proxyseg.models.tcn.TCNSegmenter` on corpora and save it to ``output``.

    Training uses the ``train`` split with the augmentation of :mod:`proxyseg.training.augment`;
    the ``dev`` split selects the best epoch (frame F1 averaged over classes), stops training
    after ``patience`` epochs without improvement, and tunes the binarisation of each class.
    ``output`` then holds the model directory (``config.json`` + ``model.safetensors``),
    ``training.json`` (what was trained, and the dev figures), ``checkpoints/`` (to resume) and
    ``logs/`` (metrics per epoch, CSV).

    Parameters
    ----------
    corpora
        One or several corpus directories (:class:`~proxyseg.corpus.manifest.Corpus`). Their
        train and dev splits are pooled; each file's loss covers only the classes its corpus
        annotates, so corpora with different label sets combine.
    output
        Where to write the model.
    features, n_mels, ssl_model
        Input features: ``spectrogram``, ``logmel``, ``ssl`` with the WavLM-like model ``ssl_model``,
        or ``whisper`` (Whisper base's encoder). Whisper's are computed once per whole file and
        cached in ``feature_cache`` (default ``output/features``; see
        :mod:`proxyseg.training.feature_cache`): training then runs without augmentation, and the
        model runs on whole files (:class:`~proxyseg.inference.chunks.WholeFileInference`).
    bottleneck, channels, blocks, repeats
        The TCN (see :class:`~proxyseg.models.tcn.TCNSegmenter`): the paper's 64, 128, 3, 5 see
        0.7 s on each side of a frame; 6 blocks × 3 repeats see 3.8 s.
    chunk_duration, batch_size, learning_rate
        Training chunks (4 s; longer for a wider context), batch (64) and Adam's rate (1e-3), as in the paper.
    max_epochs, max_minutes, patience
        Stopping: at most this many epochs, this much wall-clock time, or epochs without progress.
    seed
        Seeds every random choice (weights, chunks, augmentation).
    resume
        Continue from ``output/checkpoints/last.safetensors`` when it exists.
    progress
        Show Lightning's progress bar.
    accelerator, devices, num_nodes, strategy
        Passed to ``lightning.Trainer``. Several devices or nodes train with ``strategy="ddp"``,
        which runs the calling script again in one process per extra device: only rank 0 tunes
        and saves the model, after training.
    threads
        torch threads per process; None: one per core, divided among the processes of a
        multi-device run (see :class:`~proxyseg.training.trainer.Training`). Recorded in
        ``training.json``, with the data loader workers (none).
    distil, distil_teacher, teacher_cache
        Audio to learn from ``distil_teacher``'s probabilities (a committee, an off-the-shelf
        teacher, a model directory): plain folders of audio (every file is for training) or
        corpora (their train split; their labels are not read), beside the labelled ``corpora``. Dev stays the
        corpora's, with their labels. The teacher's outputs are cached in ``teacher_cache``
        (default ``output/teacher-outputs``).

    init
        A teacher (model directory, or ``teacher`` for the shipped one) whose weights training
        starts from instead of random ones: the TCN built here must be the same (features,
        sizes). Its optimiser state and epochs are not carried over; resuming an interrupted run
        of this output takes precedence.

    Returns
    -------
    LoadedModel or None
        The trained model with its tuned binarisation; None in the other processes of a DDP run.
    """
    corpora = [Corpus(path) for path in ([corpora] if isinstance(corpora, (str, Path)) else corpora)]
    output = Path(output)
    L.seed_everything(seed, workers=True, verbose=False)
    try:  # before decoding the corpora: a bad option fails at once
        model = TCNSegmenter(features=features, n_mels=n_mels, bottleneck=bottleneck, channels=channels, blocks=blocks,
                             repeats=repeats, ssl_model=ssl_model)
    except ValueError as error:
        raise ModelError(f"cannot build the teacher: {error}") from None
    if init is not None:
        _start_from(model, init)
    training = Training(output, "val/f1", "max", max_epochs=max_epochs, max_minutes=max_minutes, patience=patience,
                        progress=progress, accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                        strategy=strategy, threads=threads)
    train_files = [file for corpus in corpora for file in load_split(corpus, "train")]
    if distil:
        train_files += _distilled_files(distil, distil_teacher, Path(teacher_cache or output / "teacher-outputs"))
    dev_files = [file for corpus in corpora for file in load_split(corpus, "dev")]
    if not train_files or not dev_files:
        raise CorpusError("training needs train and dev splits with files")
    classes = tuple(name for name in CLASSES if any(name in corpus.classes for corpus in corpora))
    over_files = features in FILE_FEATURES
    if over_files:
        cache = FeatureCache(model.features, features, Path(feature_cache or output / "features"))
        with progress_bar(progress and training.is_global_zero) as bar:
            attach_features(train_files + dev_files, cache, bar)
    train_set = ChunkDataset(train_files, chunk_duration, random_offsets=True,
                             augmentation=None if over_files else Augmentation())
    dev_set = ChunkDataset(dev_files, chunk_duration)
    if not training.fit(SegmentationTraining(model, learning_rate), train_set, dev_set, batch_size, resume):
        return None  # under DDP, rank 0 tunes and saves the model
    training.load_best(model)

    spec = specification(chunk_duration, features=features, **({"features_over": "file"} if over_files else {}))
    teacher = Inference(LoadedModel(model, "tcn_segmenter", classes, specification=spec))
    dev_probabilities = [teacher.predict(file.waveform).probabilities for file in dev_files]
    frames = [p.shape[0] for p in dev_probabilities]
    binarization = tune_binarization(dev_probabilities, [f.targets[:n] for f, n in zip(dev_files, frames)],
                                     [f.mask[:n] for f, n in zip(dev_files, frames)], classes)
    save_model(output, model, classes=classes, binarization=binarization, spec=spec)
    write_json(output / "training.json", {
        "corpora": [str(corpus.root) for corpus in corpora], "seed": seed, **training.summary("best_dev_f1"),
        "distilled": {"audio": [str(path) for path in distil], "teacher": str(distil_teacher)} if distil else None,
        "initialised_from": str(init) if init is not None else None,
        "train_files": len(train_files), "dev_files": len(dev_files),
        "options": {"features": features, "n_mels": n_mels, "ssl_model": ssl_model, "bottleneck": bottleneck,
                    "channels": channels, "blocks": blocks, "repeats": repeats, "chunk_duration": chunk_duration,
                    "batch_size": batch_size, "learning_rate": learning_rate, "max_epochs": max_epochs,
                    "max_minutes": max_minutes, "patience": patience},
    })
    logger.info("teacher saved to %s", output)
    return LoadedModel(model, "tcn_segmenter", classes, binarization, spec, output)


def _start_from(model: TCNSegmenter, init: str | Path) -> None:
    """Give ``model`` the weights of the teacher ``init``, which must have the same architecture."""
    start = load_model(init)
    if start.type != "tcn_segmenter" or start.model.get_config() != model.get_config():
        mine, theirs = model.get_config(), start.model.get_config() if start.type == "tcn_segmenter" else {}
        differences = ", ".join(f"{key} {theirs.get(key)!r} there, {mine[key]!r} here"
                                for key in mine if theirs.get(key) != mine[key]) or f"a {start.type}"
        raise ModelError(f"cannot start from {init}: not the TCN asked for ({differences})")
    model.load_state_dict(start.model.state_dict())


def _distilled_files(sources: Sequence[str | Path], reference: str | Path | None, cache: Path) -> list[AnnotatedFile]:
    """The files of ``sources`` with ``reference``'s probabilities as their targets (for its classes):
    every file of a plain folder, the train split of a corpus (its dev and test splits may share
    speakers with the labelled corpora's dev, which picks the best epoch and the thresholds)."""
    if reference is None:
        raise ModelError("learning from audio without labels (distil) needs the teacher to learn from (distil_teacher)")
    teacher = load_teacher(reference)
    outputs = TeacherOutputs(teacher, reference, cache, embedding=False)
    files = []
    for source in sources:
        splits = audio_splits(source)
        files += splits["train"] if is_corpus(source) else splits["train"] + splits["dev"]
    return distillation_files(list(dict.fromkeys(files)), outputs, teacher.classes)
