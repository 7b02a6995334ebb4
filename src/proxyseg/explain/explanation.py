"""Explain one file: which components each class rests on, their band, their audio, and whether
removing them really changes the teacher's mind (faithfulness).

Faithfulness is measured against the **teacher**, the model being explained. For a class
detected by the teacher (binarised with its tuned thresholds), with ``p`` the teacher's mean
probability of the class on the frames where it is detected:

- ``removal_drop``: ``p`` minus the same mean after resynthesising the input without the
  class's relevant components (the complement of their mask);
- ``random_removal_drop``: the same after removing as many components drawn at random, averaged
  over draws (the baseline that ``removal_drop`` should clearly exceed);
- ``keep_only``: ``p`` minus the same mean on the class's explanation audio alone (small when
  the relevant components carry the evidence by themselves);
- ``teacher_probability``: ``p`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxyseg import __version__
from proxyseg.artefacts import LoadedModel, load_model
from proxyseg.explain.listening import component_mask, separate
from proxyseg.explain.relevance import (BIN_FREQUENCIES, band, global_relevance, prototypes, reference_spectrum,
                                        relevant_components)
from proxyseg.errors import ModelError
from proxyseg.features import SAMPLE_RATE
from proxyseg.labels import CLASSES, FRAME_STEP, Hysteresis, binarize
from proxyseg.teachers.base import Teacher
from proxyseg.teachers.neural import NeuralTeacher
from proxyseg.teachers.registry import teacher_of

#: Version of the ``explanation.json`` layout.
SCHEMA = "proxyseg.explanation/1"
#: Version of the ``summary.json`` layout (explanations of a set of files).
SET_SCHEMA = "proxyseg.explanation-set/1"
_MEASURES = ("teacher_probability", "removal_drop", "random_removal_drop", "keep_only")
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
        ``removal_drop``, ``random_removal_drop``, ``keep_only`` (None when not detected).
    audio, complement
        The explanation audio (the input through the class's mask) and the rest of the input
        (through the complementary mask; the two add back to the input). None when not detected.
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


@dataclass
class Explanation:
    """The explanation of one file; :meth:`to_json` is ``explanation.json``.

    ``proxy_probabilities`` and ``teacher_probabilities`` are ``(frame, class)``, ``segments``
    the proxy's final decisions and ``detected`` the teacher's ``(frame, class)`` (bool), ``activations`` is ``H`` ``(component,
    frame)``, ``relevance`` ``(component, class)``, ``dictionary`` ``W`` ``(freq, component)``,
    ``weights`` Θ ``(class, component)`` and ``reference`` the file's mean reconstruction ``(freq,)``,
    which the class bands are measured against.
    """

    uri: str
    duration: float
    model: dict
    settings: dict
    classes: dict[str, ClassExplanation]
    proxy_probabilities: np.ndarray
    teacher_probabilities: np.ndarray
    activations: np.ndarray
    relevance: np.ndarray
    segments: np.ndarray
    detected: np.ndarray
    dictionary: np.ndarray
    weights: np.ndarray
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


class Explainer:
    """Explain a proxy's decisions on files, and check them against its teacher.

    Parameters
    ----------
    proxy
        A proxy model (:func:`~proxyseg.artefacts.load_model` of a ``proxy_segmenter``).
    teacher
        The teacher to measure faithfulness against; by default the proxy's own
        (:func:`~proxyseg.teachers.teacher_of`).
    threshold
        Relevance above which a component is relevant to a class (0.5 as the authors' code).
    random_draws
        Draws of random components for ``random_removal_drop``.
    seed
        Seeds the random draws.
    """

    def __init__(self, proxy: LoadedModel, teacher: Teacher | None = None, threshold: float = 0.5,
                 random_draws: int = 5, seed: int = 0):
        if proxy.type != "proxy_segmenter":
            raise ModelError(f"{proxy.path}: a {proxy.type} has no NMF bottleneck to explain; give a proxy model")
        self.proxy, self.teacher = proxy, teacher or teacher_of(proxy)
        self.model = NeuralTeacher(proxy)
        self.threshold, self.random_draws, self.seed = threshold, random_draws, seed

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = "proxy", **options) -> Explainer:
        """The explainer of a proxy model directory, or of the shipped proxy."""
        return cls(load_model(name_or_path), **options)

    def __call__(self, waveform: np.ndarray, uri: str = "audio", source: str | None = None) -> Explanation:
        """Explain a 16 kHz waveform ``(samples,)``."""
        waveform = np.asarray(waveform, dtype=np.float32)
        output = self.model.predict(waveform)
        teacher_probabilities = self.teacher.predict(waveform).probabilities
        activations = output.hidden.T  # (component, frame)
        weights = self.proxy.model.classifier.weight.detach().numpy()  # (class, component)
        dictionary = self.proxy.model.dictionary.detach().numpy()  # (freq, component)
        class_mask = np.array([name in self.proxy.classes for name in CLASSES])
        thresholds = {name: self.proxy.binarization.get(name, Hysteresis()) for name in CLASSES}
        detected = binarize(teacher_probabilities, thresholds) & class_mask
        # Relevance over the frames where each class is detected (the whole file if never).
        frames = np.where(detected.any(axis=0), detected, True)
        relevance = global_relevance(activations, weights, frames)
        shapes = prototypes(relevance, dictionary)
        reference = reference_spectrum(activations, dictionary)
        chosen = relevant_components(relevance, self.threshold)
        rng = np.random.default_rng(self.seed)
        classes = {}
        for column, name in enumerate(CLASSES):
            if not class_mask[column]:
                continue
            components = chosen[column]
            item = ClassExplanation(float(detected[:, column].sum() * FRAME_STEP), components,
                                    relevance[components, column], shapes[:, column],
                                    band(shapes[:, column], reference), dict.fromkeys(_MEASURES))
            if item.detected and len(components):
                item.audio, item.complement, item.faithfulness = self._faithfulness(
                    waveform, activations, dictionary, components, column, detected[:, column],
                    teacher_probabilities, rng)
            classes[name] = item
        return Explanation(
            uri=uri, duration=waveform.shape[0] / SAMPLE_RATE,
            model={"path": str(self.proxy.path) if self.proxy.path else None, "type": self.proxy.type,
                   "teacher": self.proxy.specification.get("teacher"), "rank": int(activations.shape[0])},
            settings={"relevance_threshold": self.threshold, "band_rule": BAND_RULE,
                      "random_draws": self.random_draws, "seed": self.seed,
                      "detection": "the teacher's probabilities binarised with its tuned thresholds"},
            classes=classes, proxy_probabilities=output.probabilities, teacher_probabilities=teacher_probabilities,
            activations=activations, relevance=relevance,
            segments=binarize(output.probabilities, thresholds) & class_mask, detected=detected,
            dictionary=dictionary, weights=weights, reference=reference, source=source,
        )

    def _faithfulness(self, waveform, activations, dictionary, components, column, frames, reference, rng):
        """The explanation audio of a class, its complement, and the three faithfulness figures."""
        before = float(reference[frames, column].mean())

        def after(audio: np.ndarray) -> float:
            return float(self.teacher.predict(audio).probabilities[frames, column].mean())

        kept, rest = separate(waveform, component_mask(activations, dictionary, components))
        random_drops = []
        for _ in range(self.random_draws):
            drawn = rng.choice(activations.shape[0], size=len(components), replace=False)
            _, random_rest = separate(waveform, component_mask(activations, dictionary, drawn))
            random_drops.append(before - after(random_rest))
        return kept, rest, {
            "teacher_probability": round(before, 4), "removal_drop": round(before - after(rest), 4),
            "random_removal_drop": round(float(np.mean(random_drops)), 4) if random_drops else None,
            "keep_only": round(before - after(kept), 4)}


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
        weights = seconds if seconds.sum() > 0 else np.ones(len(items))
        prototype, reference = weights @ shapes / weights.sum(), weights @ references / weights.sum()
        measured = [item["faithfulness"] for item in items if item["faithfulness"]["removal_drop"] is not None]
        classes[name] = {
            "files_detected": int(sum(item["detected"] for item in items)),
            "detected_seconds": round(float(seconds.sum()), 2),
            "band_hz": list(band(prototype, reference)),
            "prototype": [round(float(value), 5) for value in prototype],
            "reference_spectrum": [round(float(value), 5) for value in reference],
            "faithfulness": {measure: (round(float(np.mean([m[measure] for m in measured if m[measure] is not None])), 4)
                                       if any(m[measure] is not None for m in measured) else None)
                             for measure in _MEASURES},
        }
    return {"schema": SET_SCHEMA, "proxyseg_version": __version__,
            "model": documents[0]["model"], "settings": documents[0]["settings"],
            "files": [document["input"]["uri"] for document in documents],
            "frequencies_hz": BIN_FREQUENCIES.tolist(), "classes": classes}
