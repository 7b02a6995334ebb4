"""Explain one file: which components each class rests on, their band, their audio, and whether
removing them really changes the teacher's mind (:mod:`proxyseg.explain.faithfulness`, measured
against the **teacher**, the model being explained; a class is detected where the teacher's
probabilities, binarised with its tuned thresholds, say so).

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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from proxyseg.artefacts import LoadedModel
from proxyseg.audio import as_waveform
from proxyseg.errors import ModelError
from proxyseg.explain import faithfulness
from proxyseg.explain.listening import Separator, component_mask
from proxyseg.explain.relevance import ActivationSums, band, prototypes, relevant_components
from proxyseg.explain.result import BAND_RULE, MEASURES, REPORT_COLUMNS, ClassExplanation, Explanation
from proxyseg.explain.windows import AudioSink, MemorySink, Pooled, Window, windows
from proxyseg.features import nmf_spectrogram
from proxyseg.grid import FRAME_STEP, HOP_LENGTH, SAMPLE_RATE
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.limits import MAX_RANDOM_DRAWS, MAX_WINDOW
from proxyseg.postprocessing import Binarization, binarize
from proxyseg.teachers.registry import load_proxy, teacher_of


#: The passes of an explanation over its file, as :meth:`Explainer.explain` reports its progress: the
#: teacher over the whole file, the proxy's relevance window by window, each class's audio with the
#: faithfulness check window by window.
STAGES = ("teacher", "relevance", "class audio")


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
        """The explainer of a proxy model directory, or of the shipped proxy (read once: see
        :func:`~proxyseg.teachers.registry.load_proxy`)."""
        bundle = load_proxy(name_or_path)
        return cls(bundle.proxy, bundle.teacher, **options)

    def __call__(self, waveform: np.ndarray, uri: str = "audio", source: str | None = None) -> Explanation:
        """Explain a 16 kHz waveform ``(samples,)``, its audio kept in memory (``ClassExplanation.audio``).

        Raises a ``ValueError`` for a waveform the models cannot take (see :func:`proxyseg.audio.as_waveform`).
        """
        waveform = as_waveform(waveform)
        return self.explain(lambda: iter([waveform]), uri, source)

    def explain(self, blocks: Callable[[], Iterable[np.ndarray]], uri: str = "audio", source: str | None = None,
                sink: AudioSink | None = None, progress: Callable[[str, float], None] | None = None) -> Explanation:
        """Explain a 16 kHz waveform given as consecutive blocks, window by window (see the module's notes).

        ``blocks()`` must give the blocks afresh at each call (the waveform is read three times).
        The explanation's audio goes to ``sink`` piece by piece; without one it is kept in memory
        in :attr:`ClassExplanation.audio` and ``complement``. ``progress(stage, seconds)`` is told
        the seconds of audio each stage of :data:`STAGES` has just done, block by block or window
        by window: each stage covers the whole file once.
        """
        memory = MemorySink() if sink is None else None
        sink = sink or memory
        done = progress or (lambda stage, seconds: None)
        classifier = self.proxy.model.classifier.weight.detach().numpy()  # Θ (class, component)
        dictionary = self.proxy.model.dictionary.detach().numpy()  # (freq, component)
        class_mask = np.array([name in self.proxy.classes for name in CLASSES])
        thresholds = {name: self.proxy.binarization.get(name, Binarization()) for name in CLASSES}

        # 1. The teacher over the whole file (streamed: exactly as one pass), binarised as a whole.
        teacher_probabilities = self.teacher.predict_stream(_told(blocks(), done), embedding=False).probabilities
        detected = binarize(teacher_probabilities, thresholds) & class_mask  # (frame, class)
        frames = len(detected)
        # 2. The proxy window by window: relevance over the frames where each class is detected
        #    (the whole file if never), and what the report draws, pooled for long files.
        step = max(1, math.ceil(frames / REPORT_COLUMNS))
        pooled_activations, pooled_spectrogram = Pooled(step), Pooled(step)
        sums = ActivationSums(np.where(detected.any(axis=0), detected, True))
        proxy_probabilities, cache, samples = [], {}, 0
        for window in windows(blocks(), self.window_samples):
            output = self._proxy(window, cache)
            activations = output.embedding.T  # H (component, frame)
            sums.add(activations, window.first_frame)
            proxy_probabilities.append(output.probabilities)
            pooled_activations.add(activations)
            pooled_spectrogram.add(_spectrogram(window.samples))
            sink.input(window.samples[:window.owned])
            samples += window.owned
            done(STAGES[1], window.owned / SAMPLE_RATE)
        proxy_probabilities = np.concatenate(proxy_probabilities)
        relevance = sums.relevance(classifier)
        shapes = prototypes(relevance, dictionary)
        reference = dictionary @ sums.mean()
        chosen = relevant_components(relevance, self.threshold)
        # 3. Per window: the audio of each class's components, and the teacher on what is left.
        rng = np.random.default_rng(self.seed)
        tested = [column for column in range(len(CLASSES))
                  if class_mask[column] and detected[:, column].any() and len(chosen[column])]
        draws = {column: [rng.choice(len(classifier[0]), size=len(chosen[column]), replace=False)
                          for _ in range(self.random_draws)] for column in tested}
        after = {column: np.zeros(2 + self.random_draws) for column in tested}  # rest, kept, each draw
        for window in windows(blocks(), self.window_samples):
            activations = self._proxy(window, cache).embedding.T
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
            done(STAGES[2], window.owned / SAMPLE_RATE)
        classes = {}
        for column, name in enumerate(CLASSES):
            if not class_mask[column]:
                continue
            components = chosen[column]
            item = ClassExplanation(float(detected[:, column].sum() * FRAME_STEP), components,
                                    relevance[components, column], shapes[:, column],
                                    band(shapes[:, column], reference), dict.fromkeys(MEASURES))
            if column in tested:
                item.faithfulness = faithfulness.figures(teacher_probabilities[detected[:, column], column], after[column])
                if memory is not None:
                    item.audio, item.complement = memory.joined(name), memory.joined(f"{name}.rest")
            classes[name] = item
        return Explanation(
            uri=uri, duration=samples / SAMPLE_RATE,
            model={"path": str(self.proxy.path) if self.proxy.path else None, "type": self.proxy.type,
                   "teacher": self.proxy.specification.get("teacher"), "rank": int(classifier.shape[1])},
            settings={"relevance_threshold": self.threshold, "band_rule": BAND_RULE,
                      "random_draws": self.random_draws, "seed": self.seed,
                      "window_seconds": self.window_samples / SAMPLE_RATE,
                      "detection": "the teacher's probabilities binarised with its tuned thresholds"},
            classes=classes, proxy_probabilities=proxy_probabilities, teacher_probabilities=teacher_probabilities,
            activations=pooled_activations.result(), spectrogram=pooled_spectrogram.result(),
            column_step=step * FRAME_STEP, relevance=relevance,
            segments=binarize(proxy_probabilities, thresholds) & class_mask, detected=detected,
            dictionary=dictionary, classifier=classifier, reference=reference, source=source,
        )

    def _proxy(self, window: Window, cache: dict) -> FrameOutput:
        """The proxy on a window; kept for the second pass when the whole file is one window."""
        if window.start in cache:
            return cache[window.start]
        output = self.model.predict(window.samples)
        if window.last and window.start == 0:
            cache[window.start] = output
        return output


def _told(blocks: Iterable[np.ndarray], done: Callable[[str, float], None]) -> Iterator[np.ndarray]:
    """``blocks``, telling ``done`` the seconds of each as the teacher takes it (the first of :data:`STAGES`)."""
    for block in blocks:
        yield block
        done(STAGES[0], len(block) / SAMPLE_RATE)


def _spectrogram(samples: np.ndarray) -> np.ndarray:
    """The NMF spectrogram ``(freq, frame)`` of a window, as the report draws it."""
    with torch.inference_mode():
        return nmf_spectrogram()(torch.from_numpy(np.ascontiguousarray(samples))[None])[0].numpy()


