"""Assign speakers, tracks and recordings to train/dev/test so that no split shares a group."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from proxyseg.corpus.prepare import PreparedSource
from proxyseg.errors import CorpusError

SPLITS = ("train", "dev", "test")
DEFAULT_PROPORTIONS = (0.8, 0.1, 0.1)
#: Fewest groups of each kind a split needs: a conversation takes two different talkers.
MIN_GROUPS = {"speech": 2, "music": 1, "noise": 1}


def assign_groups(
    sources: list[PreparedSource], rng: np.random.Generator,
    proportions: tuple[float, ...] = DEFAULT_PROPORTIONS,
) -> dict[str, str]:
    """Give every group (speaker, track, recording) one split, balancing durations per kind.

    Groups are taken from the longest to the shortest, each going to the split furthest below
    its share of that kind's total duration, except that a split still short of
    :data:`MIN_GROUPS` groups is served first while only just enough groups remain.

    Parameters
    ----------
    sources
        Prepared sources; their ``source.group`` and duration are used.
    rng
        Breaks ties between groups of equal duration.
    proportions
        Target shares of train, dev and test.

    Returns
    -------
    dict
        group → split name.

    Raises
    ------
    CorpusError
        When a kind has too few groups to give every split its minimum.
    """
    if len(proportions) != len(SPLITS) or min(proportions) <= 0:
        raise ValueError(f"proportions must be {len(SPLITS)} positive numbers, got {proportions}")
    shares = np.asarray(proportions, dtype=np.float64) / np.sum(proportions)
    durations: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for prepared in sources:
        durations[prepared.source.kind][prepared.source.group] += prepared.duration
    assignment = {}
    for kind, minimum in MIN_GROUPS.items():
        groups = sorted(durations.get(kind, {}))
        if len(groups) < minimum * len(SPLITS):
            raise CorpusError(
                f"only {len(groups)} distinct {kind} group(s) (speakers, tracks or recordings); "
                f"{minimum * len(SPLITS)} are needed so that train, dev and test share none"
            )
        order = [groups[i] for i in rng.permutation(len(groups))]
        order.sort(key=lambda group: -durations[kind][group])
        total = sum(durations[kind].values())
        assigned = np.zeros(len(SPLITS))
        counts = np.zeros(len(SPLITS), dtype=int)
        for position, group in enumerate(order):
            missing = np.maximum(minimum - counts, 0)
            remaining = len(order) - position
            candidates = np.flatnonzero(missing > 0) if remaining <= missing.sum() else np.arange(len(SPLITS))
            deficits = shares[candidates] * total - assigned[candidates]
            split = int(candidates[int(np.argmax(deficits))])
            assignment[group] = SPLITS[split]
            assigned[split] += durations[kind][group]
            counts[split] += 1
    return assignment
