"""From a waveform to frame probabilities: the frame-model interface and the runner of trained models.

:class:`FrameModel` / :class:`FrameOutput` (:mod:`.base`) is what every segmenter gives;
:class:`Inference` (:mod:`.neural`) runs a trained model directory through it, chunk by chunk
(:mod:`.chunks`).
"""

from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.chunks import OverlapAdd, SlidingInference, WholeFileInference, WindowedInference
from proxyseg.inference.neural import Inference

__all__ = ["FrameModel", "FrameOutput", "Inference", "OverlapAdd", "SlidingInference", "WholeFileInference",
           "WindowedInference"]
