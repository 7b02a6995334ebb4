"""How audible the labelled noise and overlap of a corpus are, and what a model makes of them.

Usage::

    python benchmarks/label_audibility.py CORPUS [--model teacher] [--split test] [--files 40]

Re-mixes the first ``--files`` scenes of a split of a corpus built from Debian sources (``corpus
build --source-set …``), exactly as the builder did (its seed, sources and mixing settings from
``corpus.json``), to get each scene's stems, which the corpus does not keep; a scene whose labels
differ from the corpus's stops the script (the corpus was built by another version of the scene
generator). The model reads the re-mixed scene as mixed, before any channel (``--channels``) the
corpus may have passed it through. Then, for every frame labelled noise, the level of the noise stem
below the rest of the mixture, and for every frame labelled overlap, the level of the quieter of the
two loudest talkers below the louder (20 ms frames); per bin of that level, the share of the
labelled frames and the model's mean probability there; and the model's mean probability on frames
without the label. A label a listener cannot hear is one no model can learn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from reporting import publish  # benchmarks/reporting.py, beside this script

from proxyseg.corpus.activity import frame_energy
from proxyseg.corpus.builder import _pools, default_cache_dir
from proxyseg.corpus.catalogue import set_sources
from proxyseg.corpus.manifest import Corpus
from proxyseg.corpus.prepare import prepare_sources
from proxyseg.corpus.scene import MixingConfig, mix_scene
from proxyseg.corpus.splits import SPLITS, assign_groups
from proxyseg.labels import CLASSES, annotation_to_frames
from proxyseg.segmentation import Segmenter

BINS = (-np.inf, -30.0, -20.0, -15.0, -10.0, -5.0, 0.0, np.inf)  # dB below the rest


def split_pool(corpus: Corpus, split: str):
    """The sources of ``split`` as the builder gave them (same sources, same group assignment)."""
    settings = corpus.description
    cache = default_cache_dir()
    prepared = prepare_sources(set_sources(settings["source_set"], cache, lambda: None), cache, jobs=1)
    return _pools(prepared, assign_groups(prepared, np.random.default_rng(settings["seed"])))[split]


#: The conditions added to the scene generator since the first corpora, off: a corpus.json
#: without them was mixed without them (and, turned off, they draw nothing: the scenes are the same).
LATER_CONDITIONS_OFF = {"distant_talker_probability": 0.0, "backchannel_probability": 0.0,
                        "band_limit_probability": 0.0}


def mixing_of(corpus: Corpus) -> MixingConfig:
    """The corpus's mixing settings (tuples as the dataclass has them)."""
    values = {name: tuple(value) if isinstance(value, list) else value
              for name, value in corpus.description["mixing"].items()}
    return MixingConfig(**{**LATER_CONDITIONS_OFF, **values})


def levels(scene) -> dict[str, np.ndarray]:
    """Per frame: the noise stem's level below the rest, and the quieter talker's below the louder (dB)."""
    def decibels(ratio):
        return 10.0 * np.log10(np.maximum(ratio, 1e-12))

    stems = {name: frame_energy(stem) for name, stem in scene.stems.items()}
    rest = sum(energy for name, energy in stems.items() if name != "noise")
    talkers = np.sort(np.stack([energy for name, energy in stems.items() if name.startswith("talker:")]
                               or [np.zeros_like(rest)] * 2), axis=0)
    return {"noise": decibels(stems["noise"] / np.maximum(rest, 1e-20)),
            "overlap": decibels(talkers[-2] / np.maximum(talkers[-1], 1e-20))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--model", default="teacher")
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()

    corpus = Corpus(arguments.corpus)
    pool, mixing = split_pool(corpus, arguments.split), mixing_of(corpus)
    model = Segmenter.from_pretrained(arguments.model).model
    shares = {name: np.zeros(len(BINS) - 1) for name in ("noise", "overlap")}
    sums = {name: np.zeros(len(BINS) - 1) for name in shares}
    unlabelled = {name: [] for name in shares}
    for uri in corpus.uris(arguments.split)[: arguments.files]:
        index = int(uri.rsplit("-", 1)[1])  # the builder's <split>-<index>
        seed = [corpus.description["seed"], SPLITS.index(arguments.split), index]
        scene = mix_scene(pool, np.random.default_rng(seed), mixing)
        frames = len(scene.labels)
        if not np.array_equal(scene.labels, annotation_to_frames(corpus.annotation(uri), frames)):
            raise SystemExit(f"{uri}: the re-mixed scene's labels differ from the corpus's: it was built by "
                             "another version of the scene generator")
        probabilities = model.predict(scene.waveform).probabilities
        count = min(frames, len(probabilities))
        for name, level in levels(scene).items():
            labelled = scene.labels[:count, CLASSES.index(name)]
            where = np.digitize(level[:count][labelled], BINS[1:-1])
            np.add.at(shares[name], where, 1)
            np.add.at(sums[name], where, probabilities[:count, CLASSES.index(name)][labelled])
            unlabelled[name].append(probabilities[:count, CLASSES.index(name)][~labelled])
    lines = [f"{arguments.corpus.name}, {arguments.split} split, {arguments.files} scenes re-mixed; model "
             f"{arguments.model}", ""]
    for name, what in (("noise", "noise below the rest"), ("overlap", "quieter talker below the louder")):
        lines += [f"**{name}** — labelled frames by {what}", "",
                  "| dB | share of labelled frames | mean probability |", "|---|---|---|"]
        total = shares[name].sum()
        for low, high, share, summed in zip(BINS[:-1], BINS[1:], shares[name], sums[name]):
            lines.append(f"| {low:g} … {high:g} | {100 * share / max(total, 1):.0f} % | "
                         f"{summed / share:.2f} |" if share else f"| {low:g} … {high:g} | 0 % | – |")
        elsewhere = np.mean(np.concatenate(unlabelled[name]))
        lines += ["", f"Mean probability on frames without the label: {elsewhere:.2f}", ""]
    publish("\n".join(lines), arguments.output)


if __name__ == "__main__":
    main()
