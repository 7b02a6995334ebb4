from pathlib import Path

import numpy as np
import pytest

from proxyseg.corpus.prepare import PreparedSource
from proxyseg.corpus.sources import Source
from proxyseg.corpus.splits import SPLITS, assign_groups
from proxyseg.errors import CorpusError


def prepared(kind: str, group: str, seconds: float) -> PreparedSource:
    return PreparedSource(Source(kind, group, f"{group}/x", Path("x")), Path("x.npy"), int(seconds * 16000))


def pool(speech: dict[str, float], music: int = 3, noise: int = 3) -> list[PreparedSource]:
    items = [prepared("speech", group, seconds) for group, seconds in speech.items()]
    items += [prepared("music", f"m{i}", 60) for i in range(music)]
    items += [prepared("noise", f"n{i}", 3) for i in range(noise)]
    return items


def test_every_group_gets_exactly_one_split_and_durations_follow_the_proportions():
    speakers = {f"s{i}": float(10 + i) for i in range(40)}
    assignment = assign_groups(pool(speakers), np.random.default_rng(0))
    assert set(assignment) == set(speakers) | {"m0", "m1", "m2", "n0", "n1", "n2"}
    total = sum(speakers.values())
    for split, share in zip(SPLITS, (0.8, 0.1, 0.1)):
        seconds = sum(d for g, d in speakers.items() if assignment[g] == split)
        assert seconds == pytest.approx(share * total, abs=0.05 * total)


def test_two_dominant_speakers_still_leave_two_speakers_for_dev_and_test():
    # Like the default sources: two main characters and a handful of minor ones.
    speakers = {"m": 2000.0, "v": 2000.0, "a": 50.0, "b": 40.0, "c": 30.0, "d": 20.0}
    assignment = assign_groups(pool(speakers), np.random.default_rng(0))
    for split in SPLITS:
        assert sum(1 for g in speakers if assignment[g] == split) >= 2


def test_too_few_groups_is_a_clear_error():
    with pytest.raises(CorpusError, match="speech"):
        assign_groups(pool({"a": 10.0, "b": 10.0, "c": 10.0}), np.random.default_rng(0))
    with pytest.raises(CorpusError, match="music"):
        assign_groups(pool({f"s{i}": 10.0 for i in range(6)}, music=2), np.random.default_rng(0))


def test_assignment_is_deterministic_for_a_seed():
    speakers = {f"s{i}": 10.0 for i in range(12)}
    first = assign_groups(pool(speakers), np.random.default_rng(3))
    assert first == assign_groups(pool(speakers), np.random.default_rng(3))
