"""A teacher's outputs as training targets: on the files of a corpus or of any audio folder,
computed once and cached (so that resumed runs, and other students of the same teacher, skip it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from rich.progress import Progress
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from proxyseg.artefacts import CONFIG, WEIGHTS, read_config
from proxyseg.atomic import atomic_output
from proxyseg.audio import AUDIO_SUFFIXES, load
from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import CorpusError, ModelError
from proxyseg.inference.base import FrameModel
from proxyseg.labels import CLASSES
from proxyseg.teachers.committee import COMMITTEE
from proxyseg.teachers.registry import OFF_THE_SHELF
from proxyseg.training.data import AnnotatedFile


def audio_splits(corpus: str | Path) -> dict[str, list[tuple[str, Path]]]:
    """The ``(uri, audio path)`` of the train and dev files of a corpus or of a plain audio folder.

    A corpus (made by ``proxyseg corpus build`` or laid out alike) gives its train and dev
    splits; in a plain folder, searched recursively, every tenth file (in sorted order) is for
    dev, and a single file serves both. Labels are never read: distillation needs none.
    """
    root = Path(corpus)
    if is_corpus(root):
        manifest = Corpus(root)
        return {split: [(uri, manifest.audio_path(uri)) for uri in manifest.uris(split)] for split in ("train", "dev")}
    if not root.is_dir():
        raise CorpusError(f"{root}: not a folder")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not paths:
        raise CorpusError(f"{root}: neither a corpus nor a folder holding audio files")
    files = [(p.relative_to(root).with_suffix("").as_posix(), p) for p in paths]
    if len(files) == 1:
        return {"train": files, "dev": files}
    return {"train": [f for i, f in enumerate(files) if i % 10 != 9],
            "dev": [f for i, f in enumerate(files) if i % 10 == 9] or files[-1:]}


def is_corpus(path: str | Path) -> bool:
    """Whether ``path`` is laid out as a corpus (it has split lists), rather than a plain audio folder."""
    return (Path(path) / "lists").is_dir()


class TeacherOutputs:
    """A teacher's probabilities (and embedding) for files, computed once and cached.

    Each file's outputs are kept in ``cache_dir/<uri>.safetensors`` with the identity of the
    teacher that produced them, so that resumed runs, and other proxies of the same teacher,
    skip the teacher.
    """

    def __init__(self, teacher: FrameModel, reference: str | Path, cache_dir: Path | None, embedding: bool):
        self.teacher, self.cache_dir, self.embedding = teacher, cache_dir, embedding
        self.identity = _identity(reference)

    def __call__(self, uri: str, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(probabilities (frame, class), embedding (frame, dim) or None)`` of one file."""
        path = self.cache_dir / f"{uri}.safetensors" if self.cache_dir else None
        if path is not None and path.exists():
            try:
                with safe_open(str(path), framework="numpy") as handle:
                    if (handle.metadata() or {}).get("teacher") == self.identity and (
                            not self.embedding or "embedding" in handle.keys()):
                        return (handle.get_tensor("probabilities"),
                                handle.get_tensor("embedding") if self.embedding else None)
            except (OSError, SafetensorError):
                pass  # unreadable: computed again below (as for another teacher's outputs)
        output = self.teacher.predict(waveform)
        if self.embedding and output.embedding is None:
            raise ModelError("this teacher exposes no embedding; use --features spectrogram")
        if path is not None:
            tensors = {"probabilities": output.probabilities}
            if self.embedding:
                tensors["embedding"] = np.ascontiguousarray(output.embedding, dtype=np.float32)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path) as partial:
                save_file(tensors, str(partial), metadata={"teacher": self.identity})
        return output.probabilities, output.embedding if self.embedding else None


def _identity(reference: str | Path) -> str:
    """A teacher's identity: its name, or the hash of its model directory's files (a committee's:
    its configuration and its experts' identities)."""
    if isinstance(reference, str) and reference in OFF_THE_SHELF:
        return reference
    directory, config = read_config(reference)
    digest = hashlib.sha256((directory / CONFIG).read_bytes())
    if config["type"] == COMMITTEE:
        for expert in sorted(set(config["experts"].values())):
            digest.update(_identity(expert if expert in OFF_THE_SHELF else directory / expert).encode())
    else:
        digest.update((directory / WEIGHTS).read_bytes())
    return digest.hexdigest()


def distillation_files(files: list[tuple[str, Path]], outputs: TeacherOutputs, classes: tuple[str, ...],
                       bar: Progress | None = None) -> list[AnnotatedFile]:
    """Decode ``files`` and pair each with its teacher's outputs as targets (masked to ``classes``),
    advancing a task of ``bar`` file by file."""
    class_mask = np.array([name in classes for name in CLASSES])
    task = bar.add_task("teacher outputs", total=len(files)) if bar is not None else None
    result = []
    for uri, path in files:
        waveform = load(path)
        probabilities, embedding = outputs(uri, waveform)
        mask = np.tile(class_mask, (probabilities.shape[0], 1))
        result.append(AnnotatedFile(uri, waveform, probabilities.astype(np.float32), mask, embedding))
        if task is not None:
            bar.advance(task)
    return result
