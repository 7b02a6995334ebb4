"""Corpus statistics: per split and class durations, the overlap share, the groups used."""

from __future__ import annotations

from collections import Counter

from proxyseg.corpus.prepare import PreparedSource
from proxyseg.corpus.scene import Scene
from proxyseg.corpus.splits import SPLITS
from proxyseg.grid import FRAME_STEP
from proxyseg.labels import CLASSES


def scene_stats(scene: Scene, duration: float) -> dict:
    """Durations of one scene: ``{"duration", "classes": {class: seconds}, "reverberant", "sources", "groups"}``."""
    seconds = scene.labels.sum(axis=0) * FRAME_STEP
    return {
        "duration": round(duration, 3),
        "classes": {name: round(float(value), 3) for name, value in zip(CLASSES, seconds)},
        "reverberant": scene.reverberant,
        "sources": sorted(set(scene.sources)),
        "groups": scene.groups,
    }


def corpus_stats(results: dict, assignment: dict[str, str], prepared: list[PreparedSource]) -> dict:
    """Aggregate scene statistics per split and over the corpus.

    Parameters
    ----------
    results
        ``(split, index)`` → :func:`scene_stats` output.
    assignment
        group → split.
    prepared
        The sources, to count the groups available to each split.

    Returns
    -------
    dict
        ``{"splits": {split: summary}, "total": summary}`` where a summary holds ``files``,
        ``duration``, per-class ``duration`` and ``share`` of the split, ``overlap_share_of_speech``,
        ``reverberant_files`` and the number of ``groups`` of each kind.
    """
    summaries = {}
    for split in SPLITS:
        scenes = [result for (name, _), result in results.items() if name == split]
        groups = Counter()
        for kind, group in {(p.source.kind, p.source.group) for p in prepared if assignment[p.source.group] == split}:
            groups[kind] += 1
        summaries[split] = {**_summary(scenes), "groups": dict(sorted(groups.items()))}
    return {"splits": summaries, "total": _summary(list(results.values()))}


def _summary(scenes: list[dict]) -> dict:
    duration = sum(scene["duration"] for scene in scenes)
    classes = {name: sum(scene["classes"][name] for scene in scenes) for name in CLASSES}
    return {
        "files": len(scenes),
        "duration": round(duration, 3),
        "classes": {
            name: {"duration": round(seconds, 3), "share": round(seconds / duration, 4) if duration else 0.0}
            for name, seconds in classes.items()
        },
        "overlap_share_of_speech": round(classes["overlap"] / classes["speech"], 4) if classes["speech"] else 0.0,
        "reverberant_files": sum(scene["reverberant"] for scene in scenes),
    }
