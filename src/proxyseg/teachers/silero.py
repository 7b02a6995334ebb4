"""Silero VAD as a teacher: speech probability every 32 ms, from the ONNX model it ships."""

from __future__ import annotations

import numpy as np

from proxyseg.grid import SAMPLE_RATE
from proxyseg.teachers.adapters import RegriddedTeacher, onnx_session, shipped_file

# The 16 kHz model reads 512 new samples per call, preceded by the last 64 of the previous
# call (as the package's own OnnxWrapper does), and carries a (2, batch, 128) recurrent state.
WINDOW = 512
CONTEXT = 64
STATE_SHAPE = (2, 1, 128)
INSTALL = "pip install silero-vad onnxruntime (or pip install 'proxyseg[teachers]')"


class SileroTeacher(RegriddedTeacher):
    """Speech detection by Silero VAD (package ``silero-vad``, MIT licence).

    Runs ``silero_vad/data/silero_vad.onnx`` — the model that
    ``silero_vad.load_silero_vad(onnx=True)`` loads — through onnxruntime, offline, without
    importing the package (its import sets torch's global thread count to 1).

    Provides ``speech`` only: the model's speech probability for each 512-sample window
    (32 ms), taken at the window's centre and interpolated onto the feature grid. The model is
    recurrent, so each file is processed sequentially from a fresh state; a last partial
    window is padded with zeros.

    Parameters
    ----------
    num_threads : int
        onnxruntime threads.

    Raises
    ------
    ImportError
        When ``silero-vad`` or ``onnxruntime`` is not installed
        (``pip install silero-vad onnxruntime``).
    """

    classes = ("speech",)

    def __init__(self, num_threads: int = 1):
        path = shipped_file("silero_vad", "data/silero_vad.onnx", INSTALL, user="SileroTeacher")
        self._session = onnx_session(path, num_threads, INSTALL, user="SileroTeacher")

    def native_frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Speech probability of each 512-sample window, and the windows' centre times.

        Returns
        -------
        times : np.ndarray, shape (window,)
            ``(512 k + 256) / 16000`` seconds.
        probabilities : np.ndarray, shape (window, 1)
            Speech probability.
        """
        windows = _windows(waveform)  # (window, 512)
        state = np.zeros(STATE_SHAPE, dtype=np.float32)
        context = np.zeros(CONTEXT, dtype=np.float32)
        rate = np.array(SAMPLE_RATE, dtype=np.int64)
        speech = np.empty(len(windows), dtype=np.float32)
        for index, window in enumerate(windows):
            inputs = np.concatenate([context, window])[None]  # (1, 576)
            output, state = self._session.run(None, {"input": inputs, "state": state, "sr": rate})
            speech[index] = output[0, 0]
            context = window[-CONTEXT:]
        times = (WINDOW * np.arange(len(windows)) + WINDOW / 2) / SAMPLE_RATE
        return times, speech[:, None]


def _windows(waveform: np.ndarray) -> np.ndarray:
    """The waveform zero-padded to whole windows (at least one), ``(window, 512)``."""
    padding = -len(waveform) % WINDOW if len(waveform) else WINDOW
    return np.pad(waveform, (0, padding)).reshape(-1, WINDOW)
