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

A file is explained in three passes over its audio, window by window (5 minutes by default), so
that memory is bounded by a window whatever its length: (1) the teacher over the whole file,
streamed (exactly as one pass), binarised as a whole; (2) the proxy on each window: its
activations summed over the frames where each class is detected (so relevance is the file's),
pooled for the report; (3) on each window, the masks of each class's relevant components, the
audio they keep and leave, and the teacher on what they leave, summed over the detected frames.
The proxy and the teacher on resynthesised audio see each window alone: near the windows' edges
(a second or two) they lack the neighbouring audio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from proxyseg import __version__
from proxyseg.artefacts import LoadedModel, load_model
from proxyseg.audio import as_waveform
from proxyseg.errors import ModelError
from proxyseg.explain.listening import Separator, component_mask
from proxyseg.explain.relevance import BIN_FREQUENCIES, band, prototypes, relevance_of_means, relevant_components
from proxyseg.explain.windows import AudioSink, MemorySink, Pooled, Window, windows
from proxyseg.features import nmf_spectrogram
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE
from proxyseg.grid import FRAME_STEP
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.limits import MAX_RANDOM_DRAWS, MAX_WINDOW
from proxyseg.postprocessing import Binarization, binarize
from proxyseg.teachers.registry import teacher_of

#: Version of the ``explanation.json`` layout.
SCHEMA = "proxyseg.explanation/1"
#: Version of the ``summary.json`` layout (explanations of a set of files).
SET_SCHEMA = "proxyseg.explanation-set/1"
#: Columns of the report's time axis before activations and spectrogram are pooled (2 minutes).
REPORT_COLUMNS = 6000
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
    ``relevance`` ``(component, class)``, ``dictionary`` ``W`` ``(freq, component)``, ``weights``
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
    window
        Seconds of audio explained at a time: memory is bounded by a window whatever the length
        of the file.
    """

    def __init__(self, proxy: LoadedModel, teacher: FrameModel | None = None, threshold: float = 0.5,
                 random_draws: int = 5, seed: int = 0, window: float = 300.0):
        if proxy.type != "proxy_segmenter":
            raise ModelError(f"{proxy.path}: a {proxy.type} has no NMF bottleneck to explain; give a proxy model")
        if not 0 <= threshold <= 1:  # NaN fails this too
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if not (isinstance(random_draws, int) and 0 <= random_draws <= MAX_RANDOM_DRAWS):
            raise ValueError(f"random_draws must be an integer in [0, {MAX_RANDOM_DRAWS}], got {random_draws!r}")
        if not 0 < window <= MAX_WINDOW:
            raise ValueError(f"window must be in (0, {MAX_WINDOW:g}] seconds, got {window}")
        self.proxy, self.teacher = proxy, teacher or teacher_of(proxy)
        self.model = Inference(proxy)
        self.threshold, self.random_draws, self.seed = threshold, random_draws, seed
        self.window_samples = max(1, round(window * SAMPLE_RATE / HOP_LENGTH)) * HOP_LENGTH

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = "proxy", **options) -> Explainer:
        """The explainer of a proxy model directory, or of the shipped proxy."""
        return cls(load_model(name_or_path), **options)

    def __call__(self, waveform: np.ndarray, uri: str = "audio", source: str | None = None) -> Explanation:
        """Explain a 16 kHz waveform ``(samples,)``, its audio kept in memory (``ClassExplanation.audio``).

        Raises a ``ValueError`` for a waveform the models cannot take (see :func:`proxyseg.audio.as_waveform`).
        """
        waveform = as_waveform(waveform)
        return self.explain(lambda: iter([waveform]), uri, source)

    def explain(self, blocks: Callable[[], Iterable[np.ndarray]], uri: str = "audio", source: str | None = None,
                sink: AudioSink | None = None) -> Explanation:
        """Explain a 16 kHz waveform given as consecutive blocks, window by window (see the module's notes).

        ``blocks()`` must give the blocks afresh at each call (the waveform is read three times).
        The explanation's audio goes to ``sink`` piece by piece; without one it is kept in memory
        in :attr:`ClassExplanation.audio` and ``complement``.
        """
        memory = MemorySink() if sink is None else None
        sink = sink or memory
        weights = self.proxy.model.classifier.weight.detach().numpy()  # (class, component)
        dictionary = self.proxy.model.dictionary.detach().numpy()  # (freq, component)
        class_mask = np.array([name in self.proxy.classes for name in CLASSES])
        thresholds = {name: self.proxy.binarization.get(name, Binarization()) for name in CLASSES}

        # 1. The teacher over the whole file (streamed: exactly as one pass), binarised as a whole.
        teacher_probabilities = self.teacher.predict_stream(blocks(), hidden=False).probabilities
        detected = binarize(teacher_probabilities, thresholds) & class_mask  # (frame, class)
        frames = len(detected)
        # 2. The proxy window by window: relevance over the frames where each class is detected
        #    (the whole file if never), and what the report draws, pooled for long files.
        step = max(1, math.ceil(frames / REPORT_COLUMNS))
        pooled_activations, pooled_spectrogram = Pooled(step), Pooled(step)
        chosen_frames = np.where(detected.any(axis=0), detected, True).astype(np.float32)  # (frame, class)
        sums, totals = 0.0, 0.0  # Σ_t H[:, t] chosen[t, c] (component, class), Σ_t H[:, t] (component,)
        proxy_probabilities, cache, samples = [], {}, 0
        for window in windows(blocks(), self.window_samples):
            output = self._proxy(window, cache)
            activations = output.hidden.T  # (component, frame)
            span = slice(window.first_frame, window.first_frame + activations.shape[1])
            sums = sums + activations @ chosen_frames[span]
            totals = totals + activations.sum(axis=1)
            proxy_probabilities.append(output.probabilities)
            pooled_activations.add(activations)
            pooled_spectrogram.add(_spectrogram(window.samples))
            sink.input(window.samples[:window.owned])
            samples += window.owned
        proxy_probabilities = np.concatenate(proxy_probabilities)
        relevance = relevance_of_means(sums / np.maximum(chosen_frames.sum(axis=0), 1), weights)
        shapes = prototypes(relevance, dictionary)
        reference = dictionary @ (totals / frames)
        chosen = relevant_components(relevance, self.threshold)
        # 3. Per window: the audio of each class's components, and the teacher on what is left.
        rng = np.random.default_rng(self.seed)
        tested = [column for column in range(len(CLASSES))
                  if class_mask[column] and detected[:, column].any() and len(chosen[column])]
        draws = {column: [rng.choice(len(weights[0]), size=len(chosen[column]), replace=False)
                          for _ in range(self.random_draws)] for column in tested}
        after = {column: np.zeros(2 + self.random_draws) for column in tested}  # rest, kept, each draw
        for window in windows(blocks(), self.window_samples):
            activations = self._proxy(window, cache).hidden.T
            span = slice(window.first_frame, window.first_frame + activations.shape[1])
            separate = Separator(window.samples)
            for column in tested:
                kept, rest = separate(component_mask(activations, dictionary, chosen[column]))
                sink.explained(CLASSES[column], kept[:window.owned], rest[:window.owned])
                where = detected[span, column]
                if where.any():
                    audios = [rest, kept] + [separate(component_mask(activations, dictionary, drawn))[1]
                                             for drawn in draws[column]]
                    after[column] += [self.teacher.predict(audio).probabilities[where, column].sum() for audio in audios]
        classes = {}
        for column, name in enumerate(CLASSES):
            if not class_mask[column]:
                continue
            components = chosen[column]
            item = ClassExplanation(float(detected[:, column].sum() * FRAME_STEP), components,
                                    relevance[components, column], shapes[:, column],
                                    band(shapes[:, column], reference), dict.fromkeys(_MEASURES))
            if column in tested:
                item.faithfulness = _faithfulness(teacher_probabilities[detected[:, column], column], after[column])
                if memory is not None:
                    item.audio, item.complement = memory.joined(name), memory.joined(f"{name}.rest")
            classes[name] = item
        return Explanation(
            uri=uri, duration=samples / SAMPLE_RATE,
            model={"path": str(self.proxy.path) if self.proxy.path else None, "type": self.proxy.type,
                   "teacher": self.proxy.specification.get("teacher"), "rank": int(weights.shape[1])},
            settings={"relevance_threshold": self.threshold, "band_rule": BAND_RULE,
                      "random_draws": self.random_draws, "seed": self.seed,
                      "window_seconds": self.window_samples / SAMPLE_RATE,
                      "detection": "the teacher's probabilities binarised with its tuned thresholds"},
            classes=classes, proxy_probabilities=proxy_probabilities, teacher_probabilities=teacher_probabilities,
            activations=pooled_activations.result(), spectrogram=pooled_spectrogram.result(),
            column_step=step * FRAME_STEP, relevance=relevance,
            segments=binarize(proxy_probabilities, thresholds) & class_mask, detected=detected,
            dictionary=dictionary, weights=weights, reference=reference, source=source,
        )

    def _proxy(self, window: Window, cache: dict) -> FrameOutput:
        """The proxy on a window; kept for the second pass when the whole file is one window."""
        if window.start in cache:
            return cache[window.start]
        output = self.model.predict(window.samples)
        if window.last and window.start == 0:
            cache[window.start] = output
        return output


def _spectrogram(samples: np.ndarray) -> np.ndarray:
    """The NMF spectrogram ``(freq, frame)`` of a window, as the report draws it."""
    with torch.inference_mode():
        return nmf_spectrogram()(torch.from_numpy(np.ascontiguousarray(samples))[None])[0].numpy()


def _faithfulness(before: np.ndarray, after_sums: np.ndarray) -> dict[str, float | None]:
    """The figures of a class from the teacher's probabilities on its detected frames ``(frame,)``
    and the sums of its probabilities on them after: the rest, the kept audio, each random draw."""
    count, start = len(before), float(before.mean())
    rest, kept, *random = (start - float(value) / count for value in after_sums)
    return {"teacher_probability": round(start, 4), "removal_drop": round(rest, 4),
            "random_removal_drop": round(float(np.mean(random)), 4) if random else None,
            "keep_only": round(kept, 4)}


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
