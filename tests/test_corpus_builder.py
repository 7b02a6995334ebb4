import json
import warnings

import numpy as np
import pytest

from proxyseg.audio import info, load
from proxyseg.corpus import Corpus, build_corpus
from proxyseg.corpus.splits import SPLITS
from proxyseg.errors import CorpusError
from proxyseg.labels import CLASSES, annotation_to_frames, num_frames

HOURS = 0.05  # 6 files of 30 s: 4 train, 1 dev, 1 test


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def corpus(source_folder, cache, tmp_path_factory) -> Corpus:
    output = tmp_path_factory.mktemp("built") / "corpus"
    return build_corpus(output, hours=HOURS, seed=5, sources=source_folder, group_depth=1,
                        cache_dir=cache, jobs=2, progress=False)


def test_layout_lists_and_audio(corpus):
    uris = {split: corpus.uris(split) for split in SPLITS}
    assert [len(uris[split]) for split in SPLITS] == [4, 1, 1]
    for split_uris in uris.values():
        for uri in split_uris:
            described = info(corpus.audio_path(uri))
            assert (described.sample_rate, described.channels) == (16000, 1)
            assert described.duration == pytest.approx(30.0)
            assert corpus.uem(uri).extent().duration == pytest.approx(30.0)


def test_splits_share_no_speaker_track_or_recording(corpus):
    groups = corpus.description["groups"]
    for first in SPLITS:
        for second in SPLITS:
            if first < second:
                assert not set(groups[first]) & set(groups[second])
    # And every scene only uses sources of its own split.
    scenes = json.loads((corpus.root / "scenes.json").read_text())
    for split in SPLITS:
        allowed = {group.split("/", 1)[1] for group in groups[split]}
        for uri in corpus.uris(split):
            assert scenes[uri]["groups"]
            assert set(scenes[uri]["groups"]) <= allowed


def test_stats_match_the_rttm_files(corpus):
    stats = corpus.stats()
    for split in SPLITS:
        seconds = np.zeros(len(CLASSES))
        for uri in corpus.uris(split):
            frames = annotation_to_frames(corpus.annotation(uri), num_frames(30.0))
            seconds += frames.sum(axis=0) * 0.02
        for index, name in enumerate(CLASSES):
            assert stats["splits"][split]["classes"][name]["duration"] == pytest.approx(seconds[index], abs=1e-3)
    total = stats["total"]
    assert total["overlap_share_of_speech"] == pytest.approx(
        total["classes"]["overlap"]["duration"] / total["classes"]["speech"]["duration"], abs=1e-4)


def test_same_seed_gives_byte_identical_corpus_whatever_the_number_of_workers(corpus, source_folder, cache, tmp_path):
    again = build_corpus(tmp_path / "again", hours=HOURS, seed=5, sources=source_folder, group_depth=1,
                         cache_dir=cache, jobs=1, progress=False)
    for split in SPLITS:
        assert again.uris(split) == corpus.uris(split)
        for uri in corpus.uris(split):
            assert again.audio_path(uri).read_bytes() == corpus.audio_path(uri).read_bytes()
            for folder, suffix in (("rttm", "rttm"), ("uem", "uem")):
                assert (again.root / folder / f"{uri}.{suffix}").read_bytes() == \
                    (corpus.root / folder / f"{uri}.{suffix}").read_bytes()
    assert (again.root / "stats.json").read_text() == (corpus.root / "stats.json").read_text()


def test_another_seed_gives_another_corpus(corpus, source_folder, cache, tmp_path):
    other = build_corpus(tmp_path / "other", hours=HOURS, seed=6, sources=source_folder, group_depth=1,
                         cache_dir=cache, jobs=1, progress=False)
    uri = corpus.uris("train")[0]
    assert not np.array_equal(load(other.audio_path(uri)), load(corpus.audio_path(uri)))


def test_an_unreadable_source_is_skipped_with_a_warning(source_folder, tmp_path):
    import shutil

    sources = tmp_path / "sources"
    shutil.copytree(source_folder, sources)
    (sources / "speech" / "spk0" / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    whole = (sources / "speech" / "spk1" / "take0.wav").read_bytes()
    (sources / "speech" / "spk1" / "cut.wav").write_bytes(whole[: len(whole) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build_corpus(tmp_path / "corpus", hours=0.03, seed=1, sources=sources, group_depth=1,
                             cache_dir=tmp_path / "cache", jobs=2, progress=False)
    said = [str(warning.message) for warning in caught]
    assert any("skipping unreadable source" in message and "broken.wav" in message for message in said)
    # A truncated source is used for what decodes, and said so (from a worker process: jobs=2).
    assert any(message.startswith("source ") and "cut.wav: damaged or truncated" in message for message in said)
    assert built.uris("test")


def test_refuses_to_clobber_unless_asked(corpus, source_folder, cache, tmp_path):
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="not a corpus"):
        build_corpus(stranger, hours=HOURS, sources=source_folder, cache_dir=cache, progress=False)
    with pytest.raises(CorpusError, match="--overwrite"):
        build_corpus(corpus.root, hours=HOURS, sources=source_folder, cache_dir=cache, progress=False)


def test_description_records_how_the_corpus_was_made(corpus):
    description = json.loads((corpus.root / "corpus.json").read_text())
    assert description["status"] == "complete"
    assert description["seed"] == 5
    assert description["classes"] == list(CLASSES)
    assert description["mixing"]["duration"] == 30.0
