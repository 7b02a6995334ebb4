"""What an explanation is: its result types and the layout of ``explanation.json`` and ``summary.json``.

:class:`Explanation` (one file, with a :class:`ClassExplanation` per class) is what
:class:`~proxyseg.explain.explainer.Explainer` returns; :meth:`Explanation.to_json` is the
documented ``explanation.json`` (:data:`SCHEMA`), :func:`summarise` the ``summary.json`` of a set of
files (:data:`SET_SCHEMA`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proxyseg import __version__
from proxyseg.explain.relevance import BIN_FREQUENCIES, band

#: Version of the ``explanation.json`` layout.
SCHEMA = "proxyseg.explanation/1"
#: Version of the ``summary.json`` layout (explanations of a set of files).
SET_SCHEMA = "proxyseg.explanation-set/1"
#: Columns of the report's time axis before activations and spectrogram are pooled (2 minutes).
REPORT_COLUMNS = 6000
MEASURES = ("teacher_probability", "removal_drop", "random_removal_drop", "keep_only")
BAND_RULE = ("the run of consecutive third-octave bands where the class prototype (the dictionary atoms weighted by "
             "their positive relevance to the class) stands above the reference spectrum (the file's mean "
             "reconstruction), both as shares of their mass, with the largest sum of log-ratios")


@dataclass
class ClassExplanation:
    """What the proxy's decision for one class rests on.

    Attributes
    ----------
    detected_seconds
        How long the teacher detects the class in the file.
    components, relevance
        The relevant components, most relevant first, and their relevance in (threshold, 1].
    prototype
        ``(freq,)``: the class's spectral shape.
    band_hz
        ``(low, high)``: where the prototype stands above the file's reference spectrum (see
        :data:`BAND_RULE`).
    faithfulness
        ``teacher_probability``, ``removal_drop``, ``random_removal_drop``, ``keep_only`` (None
        unless :attr:`tested`).
    audio, complement
        The explanation audio (the input through the class's mask) and the rest of the input
        (through the complementary mask; the two add back to the input), when :attr:`tested` and
        kept in memory (see :meth:`Explainer.explain`).
    """

    detected_seconds: float
    components: np.ndarray
    relevance: np.ndarray
    prototype: np.ndarray
    band_hz: tuple[float, float]
    faithfulness: dict[str, float | None]
    audio: np.ndarray | None = None
    complement: np.ndarray | None = None

    @property
    def detected(self) -> bool:
        return self.detected_seconds > 0

    @property
    def tested(self) -> bool:
        """Whether the class is detected and has relevant components: its faithfulness was
        measured and its audio made."""
        return self.faithfulness["removal_drop"] is not None


@dataclass
class Explanation:
    """The explanation of one file; :meth:`to_json` is ``explanation.json``.

    ``proxy_probabilities`` and ``teacher_probabilities`` are ``(frame, class)``, ``segments``
    the proxy's final decisions and ``detected`` the teacher's ``(frame, class)`` (bool),
    ``relevance`` ``(component, class)``, ``dictionary`` ``W`` ``(freq, component)``, ``classifier``
    Θ ``(class, component)`` and ``reference`` the file's mean reconstruction ``(freq,)``, which
    the class bands are measured against. For the report, ``activations`` (``H``, ``(component,
    column)``) and ``spectrogram`` (the input's, ``(freq, column)``) have one column per
    ``column_step`` seconds: the 20 ms frames themselves for files up to
    :data:`REPORT_COLUMNS` frames, means of consecutive frames beyond.
    """

    uri: str
    duration: float
    model: dict
    settings: dict
    classes: dict[str, ClassExplanation]
    proxy_probabilities: np.ndarray
    teacher_probabilities: np.ndarray
    activations: np.ndarray
    spectrogram: np.ndarray
    column_step: float
    relevance: np.ndarray
    segments: np.ndarray
    detected: np.ndarray
    dictionary: np.ndarray
    classifier: np.ndarray
    reference: np.ndarray
    source: str | None = None

    def to_json(self) -> dict:
        """The documented ``explanation.json`` content (schema :data:`SCHEMA`)."""
        return {
            "schema": SCHEMA,
            "proxyseg_version": __version__,
            "input": {"uri": self.uri, "path": self.source, "duration": round(self.duration, 3)},
            "model": self.model,
            "settings": self.settings,
            "frequencies_hz": BIN_FREQUENCIES.tolist(),
            "reference_spectrum": [round(float(value), 5) for value in self.reference],
            "classes": {
                name: {
                    "detected": item.detected,
                    "detected_seconds": round(item.detected_seconds, 2),
                    "relevant_components": item.components.tolist(),
                    "relevance": [round(float(value), 4) for value in item.relevance],
                    "band_hz": [item.band_hz[0], item.band_hz[1]],
                    "prototype": [round(float(value), 5) for value in item.prototype],
                    "faithfulness": item.faithfulness,
                }
                for name, item in self.classes.items()
            },
        }


def summarise(documents: list[dict]) -> dict:
    """The explanation of a set of files, from their ``explanation.json`` contents.

    Per class: in how many files and for how long the teacher detects it, its prototype over the
    set (the files' prototypes weighted by detected seconds), the files' reference spectra weighted
    alike and the band of the one against the other, and the faithfulness figures averaged over the
    files where they were measured. The model and settings are those of the first document.
    """
    classes = {}
    names = dict.fromkeys(name for document in documents for name in document["classes"])
    for name in names:
        items = [document["classes"][name] for document in documents if name in document["classes"]]
        seconds = np.array([item["detected_seconds"] for item in items])
        shapes = np.array([item["prototype"] for item in items])
        references = np.array([document["reference_spectrum"] for document in documents if name in document["classes"]])
        shares = seconds if seconds.sum() > 0 else np.ones(len(items))
        prototype, reference = shares @ shapes / shares.sum(), shares @ references / shares.sum()
        measured = [item["faithfulness"] for item in items if item["faithfulness"]["removal_drop"] is not None]
        classes[name] = {
            "files_detected": int(sum(item["detected"] for item in items)),
            "detected_seconds": round(float(seconds.sum()), 2),
            "band_hz": list(band(prototype, reference)),
            "prototype": [round(float(value), 5) for value in prototype],
            "reference_spectrum": [round(float(value), 5) for value in reference],
            "faithfulness": {measure: (round(float(np.mean([m[measure] for m in measured if m[measure] is not None])), 4)
                                       if any(m[measure] is not None for m in measured) else None)
                             for measure in MEASURES},
        }
    return {"schema": SET_SCHEMA, "proxyseg_version": __version__,
            "model": documents[0]["model"], "settings": documents[0]["settings"],
            "files": [document["input"]["uri"] for document in documents],
            "frequencies_hz": BIN_FREQUENCIES.tolist(), "classes": classes}
