"""``report.html``: an explanation a person can look at and listen to, readable offline.

The page holds its figures (PNG, inline) and plays the audio files written beside it
(``input.wav`` and ``<class>.wav``): the spectrogram with the four class tracks (teacher and proxy
probabilities, the proxy's segments) on one time axis, the relevance of the components of each
class, each class prototype with its band, the time-frequency map of each class, and the
faithfulness figures in words.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from urllib.parse import quote

import numpy as np
from matplotlib.figure import Figure  # without pyplot: no GUI backend, no global state

from proxyseg.artefacts import PRETRAINED_DIR
from proxyseg.atomic import write_text
from proxyseg.explain.relevance import BIN_FREQUENCIES, time_frequency_map
from proxyseg.explain.result import Explanation
from proxyseg.explain.windows import Pooled
from proxyseg.grid import FRAME_STEP
from proxyseg.labels import CLASSES
from proxyseg.teachers.registry import OFF_THE_SHELF

COLOURS = {"speech": "#1f77b4", "music": "#d62728", "noise": "#7f7f7f", "overlap": "#9467bd"}


def write_report(explanation: Explanation, outdir: str | Path) -> Path:
    """Write ``outdir/report.html`` for ``explanation``; its path.

    The audio players expect ``input.wav`` and ``<class>.wav`` in ``outdir`` (``proxyseg
    explain`` writes them).
    """
    outdir = Path(outdir)
    figures = {
        "tracks": _figure(_tracks, explanation),
        "relevance": _figure(_relevance, explanation),
        "prototypes": _figure(_prototypes, explanation),
        "maps": _figure(_maps, explanation),
    }
    page = _page(explanation, figures)
    write_text(outdir / "report.html", page)
    return outdir / "report.html"


def _figure(draw, *arguments) -> str:
    """A figure drawn by ``draw(figure, *arguments)``, as an inline PNG data URI."""
    figure = Figure(figsize=(11, 6.5), layout="constrained")
    draw(figure, *arguments)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _present(explanation: Explanation) -> list[str]:
    return [name for name in CLASSES if name in explanation.classes]


def _tracks(figure, explanation: Explanation) -> None:
    names = _present(explanation)
    axes = figure.subplots(1 + len(names), 1, sharex=True, height_ratios=[3] + [1] * len(names))
    end = explanation.spectrogram.shape[1] * explanation.column_step
    axes[0].imshow(explanation.spectrogram, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, end, 0, BIN_FREQUENCIES[-1]))
    axes[0].set_ylabel("frequency (Hz)")
    axes[0].set_title("Input: log-power spectrogram, and what the teacher and the proxy decide")
    # Long files: one point per column of the spectrogram (the mean of its frames).
    factor = round(explanation.column_step / FRAME_STEP)
    segments, teacher, proxy = (_pooled(values.astype(np.float32), factor) for values in
                                (explanation.segments, explanation.teacher_probabilities, explanation.proxy_probabilities))
    times = np.arange(len(segments)) * explanation.column_step
    for axis, name in zip(axes[1:], names):
        column = CLASSES.index(name)
        axis.fill_between(times, 0, segments[:, column], step="post", color=COLOURS[name], alpha=0.25,
                          label="proxy segments")
        axis.plot(times, teacher[:, column], color="black", lw=1, label="teacher")
        axis.plot(times, proxy[:, column], color=COLOURS[name], lw=1, ls="--", label="proxy")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel(name)
    axes[1].legend(loc="upper right", ncols=3, fontsize="small")
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, end)


def _pooled(values: np.ndarray, factor: int) -> np.ndarray:
    """Means of ``factor`` consecutive rows of ``values`` ``(frame, dim)``, as the explanation pools its columns."""
    pooled = Pooled(factor)
    pooled.add(values.T)
    return pooled.result().T


def _relevance(figure, explanation: Explanation) -> None:
    names = _present(explanation)
    axes = np.atleast_1d(figure.subplots(1, len(names), sharey=True))
    for axis, name in zip(axes, names):
        column = CLASSES.index(name)
        values = explanation.relevance[:, column]
        top = np.argsort(-values)[:12]
        axis.barh(range(len(top)), values[top], color=COLOURS[name])
        axis.set_yticks(range(len(top)), [f"#{k}" for k in top])
        axis.invert_yaxis()
        axis.axvline(explanation.settings["relevance_threshold"], color="black", ls=":", lw=1, label="threshold")
        axis.set_xlim(min(0.0, float(values.min())), 1.05)
        axis.set_title(name)
        axis.set_xlabel("relevance")
    axes[0].set_ylabel("component (most relevant first)")
    axes[0].legend(loc="lower right", fontsize="small")


def _prototypes(figure, explanation: Explanation) -> None:
    _draw_prototypes(figure, {name: (explanation.classes[name].prototype, explanation.reference,
                                     explanation.classes[name].band_hz) for name in _present(explanation)},
                     "file's mean spectrum")


def _draw_prototypes(figure, spectra: dict[str, tuple], reference_label: str) -> None:
    """One panel per class: ``name → (prototype, reference, band_hz)``, spectra ``(freq,)``."""
    axes = np.atleast_1d(figure.subplots(len(spectra), 1, sharex=True))
    for axis, (name, (prototype, reference, band_hz)) in zip(axes, spectra.items()):
        # Both as shares of their mass: the band is where the prototype stands above the reference.
        axis.plot(BIN_FREQUENCIES, 100 * prototype / max(prototype.sum(), 1e-12), color=COLOURS[name],
                  label=f"{name} prototype")
        axis.plot(BIN_FREQUENCIES, 100 * reference / max(reference.sum(), 1e-12), color="grey", ls="--", lw=1,
                  label=reference_label)
        axis.axvspan(*band_hz, color=COLOURS[name], alpha=0.15, label=f"band {band_hz[0]:.0f}–{band_hz[1]:.0f} Hz")
        axis.set_ylabel("% of the spectrum")
        axis.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("frequency (Hz)")
    axes[-1].set_xscale("symlog", linthresh=100)
    axes[-1].set_xlim(0, BIN_FREQUENCIES[-1])


def _maps(figure, explanation: Explanation) -> None:
    names = _present(explanation)
    axes = np.atleast_1d(figure.subplots(len(names), 1, sharex=True))
    end = explanation.activations.shape[1] * explanation.column_step
    for axis, name in zip(axes, names):
        column = CLASSES.index(name)
        item = explanation.classes[name]
        tf_map = time_frequency_map(explanation.activations, explanation.classifier, explanation.dictionary,
                                    item.components, column)
        image = axis.imshow(tf_map, origin="lower", aspect="auto", cmap="viridis",
                            extent=(0, end, 0, BIN_FREQUENCIES[-1]))
        axis.set_ylabel(f"{name}\nfrequency (Hz)")
        figure.colorbar(image, ax=axis, label="push to the class")
    axes[0].set_title("Where in time and frequency each class's relevant components push it up")
    axes[-1].set_xlabel("time (s)")


def _sentence(name: str, item) -> str:
    if not item.detected:
        return f"The teacher does not detect {name} in this file."
    measures = item.faithfulness
    if measures["removal_drop"] is None:
        return f"The teacher detects {name} for {item.detected_seconds:.1f} s, but no component is relevant enough."
    return (f"The teacher detects {name} for {item.detected_seconds:.1f} s, with a mean confidence of "
            f"{measures['teacher_probability']:.2f}. Removing the {len(item.components)} components the proxy relies "
            f"on for {name} lowers that confidence by {measures['removal_drop']:.2f}; removing as many components "
            f"chosen at random lowers it by {measures['random_removal_drop'] or 0:.2f}. Keeping only those components "
            f"changes it by {-measures['keep_only']:+.2f}. Compared with the file's average spectrum, the evidence for "
            f"{name} stands out most between {item.band_hz[0]:.0f} and {item.band_hz[1]:.0f} Hz.")


def _page(explanation: Explanation, figures: dict[str, str]) -> str:
    escape = html.escape
    players = ['<figure><figcaption>input</figcaption><audio controls src="input.wav"></audio></figure>']
    players += [f'<figure><figcaption>{name}: what its components account for</figcaption>'
                f'<audio controls src="{name}.wav"></audio></figure>'
                for name, item in explanation.classes.items() if item.tested]
    sentences = "".join(f'<li class="faithfulness" data-class="{name}">{escape(_sentence(name, item))}</li>'
                        for name, item in explanation.classes.items())
    images = "".join(f'<section id="{key}"><img alt="{key}" src="{uri}"></section>' for key, uri in figures.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>proxyseg explanation of {escape(explanation.uri)}</title>
<style>body{{font-family:sans-serif;max-width:1040px;margin:auto;padding:1em}}img{{max-width:100%}}
figure{{display:inline-block;margin:0 1em 1em 0}}</style></head><body>
<h1>Why proxyseg segmented {escape(explanation.uri)} as it did</h1>
<p>{explanation.duration:.1f} s of audio; {escape(describe_model(explanation.model))}. Band rule:
{escape(explanation.settings["band_rule"])}.</p>
<h2>Listen</h2><div id="players">{"".join(players)}</div>
<h2>Does the explanation hold?</h2><ul id="faithfulness">{sentences}</ul>
<h2>Figures</h2>{images}
</body></html>
"""


def write_set_report(summary: dict, outdir: str | Path) -> Path:
    """Write ``outdir/report.html`` for the explanation of a set of files (:func:`summarise`); its path.

    The page links to each file's own report, expected at ``outdir/<uri>/report.html``.
    """
    outdir = Path(outdir)
    spectra = {name: (np.array(item["prototype"]), np.array(item["reference_spectrum"]), item["band_hz"])
               for name, item in summary["classes"].items()}
    figure = _figure(_draw_prototypes, spectra, "mean spectrum of the files")
    escape = html.escape
    files = f"{len(summary['files'])} file" + ("s" if len(summary["files"]) > 1 else "")
    rows, sentences = [], []
    for name, item in summary["classes"].items():
        measures = item["faithfulness"]
        low, high = item["band_hz"]
        rows.append(f"<tr><td>{name}</td><td>{item['files_detected']}</td><td>{item['detected_seconds']:.1f}</td>"
                    f"<td>{low:.0f}–{high:.0f}</td>" + "".join(
                        f"<td>{'–' if measures[key] is None else f'{measures[key]:.3f}'}</td>"
                        for key in ("removal_drop", "random_removal_drop", "keep_only")) + "</tr>")
        if measures["removal_drop"] is None:
            sentence = f"No file has {name} with components relevant enough to test."
        else:
            sentence = (f"Over the {item['files_detected']} files where the teacher detects {name}, removing the "
                        f"components the proxy relies on lowers the teacher's confidence by {measures['removal_drop']:.2f} "
                        f"on average; removing as many random components lowers it by "
                        f"{measures['random_removal_drop'] or 0:.2f}. Its evidence stands out most between {low:.0f} "
                        f"and {high:.0f} Hz.")
        sentences.append(f'<li class="faithfulness" data-class="{name}">{escape(sentence)}</li>')
    links = "".join(f'<li><a href="{escape(quote(uri))}/report.html">{escape(uri)}</a></li>' for uri in summary["files"])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>proxyseg explanations of {files}</title>
<style>body{{font-family:sans-serif;max-width:1040px;margin:auto;padding:1em}}img{{max-width:100%}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}</style></head><body>
<h1>What proxyseg's decisions rest on, over {files}</h1>
<p>{escape(describe_model(summary["model"]).capitalize())}.
Band rule: {escape(summary["settings"]["band_rule"])}.</p>
<h2>Classes</h2>
<table id="classes"><tr><th>class</th><th>files where detected</th><th>detected (s)</th><th>band (Hz)</th>
<th>removal drop</th><th>random removal drop</th><th>keep-only drop</th></tr>{"".join(rows)}</table>
<h2>Does the explanation hold?</h2><ul id="faithfulness">{"".join(sentences)}</ul>
<h2>Figures</h2><section id="prototypes"><img alt="prototypes" src="{figure}"></section>
<h2>Files</h2><ul id="files">{links}</ul>
</body></html>
"""
    write_text(outdir / "report.html", page)
    return outdir / "report.html"


def describe_model(model: dict) -> str:
    """The proxy and its teacher in words, from explanation.json's ``model``: names, not machine paths.

    >>> describe_model({"path": str(PRETRAINED_DIR / "proxy"), "teacher": "teacher"})
    'the proxy shipped with proxyseg, explaining the teacher stored with it'
    >>> describe_model({"path": "/home/me/models/radio-proxy", "teacher": "silero"})
    'the proxy radio-proxy, explaining the off-the-shelf teacher silero'
    """
    path = Path(model["path"]) if model.get("path") else None
    if path is None:
        proxy = "a proxy loaded in memory"
    elif path.parent == PRETRAINED_DIR:
        proxy = f"the {path.name} shipped with proxyseg"
    else:
        proxy = f"the proxy {path.name}"
    teacher = model.get("teacher")
    if teacher in OFF_THE_SHELF:
        return f"{proxy}, explaining the off-the-shelf teacher {teacher}"
    return f"{proxy}, explaining the teacher stored with it" if teacher else proxy
