"""The neural networks, as plain ``nn.Module``s: no file I/O, no training code.

Kept apart from :mod:`proxyseg.teachers` (which wraps trained models behind the teacher
interface) so that model directories (:mod:`proxyseg.artefacts`) can name model classes
without importing the teachers.
"""

from proxyseg.models.tcn import TCNSegmenter

__all__ = ["TCNSegmenter"]
