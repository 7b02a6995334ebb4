"""The frame-model interface: anything that gives frame probabilities for the four classes.

A trained proxyseg model (:class:`~proxyseg.inference.neural.Inference`), an off-the-shelf teacher
(:mod:`proxyseg.teachers`) or any Python callable: :class:`~proxyseg.segmentation.Segmenter`
binarises their output, a proxy is distilled from one, an explanation checks its faithfulness
against one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from proxyseg.labels import CLASSES


@dataclass
class FrameOutput:
    """What a teacher says about one waveform, on the 20 ms feature frame grid.

    Attributes
    ----------
    probabilities
        float32 ``(frame, class)`` in :data:`~proxyseg.labels.CLASSES` order, with
        ``frame = proxyseg.grid.num_feature_frames(samples)``. Columns of classes the
        teacher does not predict are zero.
    classes
        The classes the teacher predicts.
    embedding
        float32 ``(frame, dim)`` features of the model's own, or None: a teacher's embedding (what a
        proxy on ``teacher`` features reads), a proxy's NMF activations ``H`` (transposed).
    """

    probabilities: np.ndarray
    classes: tuple[str, ...]
    embedding: np.ndarray | None = None

    @property
    def class_mask(self) -> np.ndarray:
        """Boolean ``(class,)``: which columns of ``probabilities`` are predictions."""
        return np.array([name in self.classes for name in CLASSES])


class FrameModel(ABC):
    """A frame-level multilabel segmenter: the teacher a proxy imitates, or a model that segments.

    Subclasses set :attr:`classes` (what they predict) and implement :meth:`predict`. A
    teacher processes a waveform of any length; long inputs are cut into chunks internally.
    """

    #: Classes the teacher predicts, a subset of :data:`~proxyseg.labels.CLASSES`.
    classes: tuple[str, ...] = CLASSES
    #: Size of :attr:`FrameOutput.embedding`, or None when the model exposes none.
    embedding_size: int | None = None

    @abstractmethod
    def predict(self, waveform: np.ndarray) -> FrameOutput:
        """Frame probabilities of a 16 kHz mono waveform ``(samples,)``."""

    def predict_stream(self, blocks: Iterable[np.ndarray], embedding: bool = True) -> FrameOutput:
        """:meth:`predict` of a waveform given as consecutive blocks ``(samples,)``.

        Teachers that can stream override this so that memory does not grow with the length of
        the audio; this default joins the blocks. ``embedding=False`` lets them skip keeping the
        embedding (``FrameOutput.embedding`` may then be None).
        """
        return self.predict(np.concatenate([np.asarray(block, dtype=np.float32) for block in blocks]))

    def __call__(self, waveform: np.ndarray) -> FrameOutput:
        return self.predict(waveform)
