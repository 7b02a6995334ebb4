import json
import math
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from proxyseg.artefacts import load_model
from proxyseg.cli import cli
from proxyseg.errors import ModelError
from proxyseg.grid import num_feature_frames
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.chunks import SlidingInference
from proxyseg.inference.neural import Inference
from proxyseg.models.proxy import ProxySegmenter
from proxyseg.nmf import Dictionary
from proxyseg.segmentation import Segmenter
from proxyseg.teachers import SileroTeacher, teacher_of
from proxyseg.training.dictionary import random_segments
from proxyseg.training.losses import distillation_kl, proxy_loss
from proxyseg.training.proxy import train_proxy
from proxyseg.training.teacher_outputs import TeacherOutputs

TINY = {"repeats": 1, "batch_size": 8, "progress": False, "patience": 50, "max_epochs": 1}
RANK = 8


@pytest.fixture(scope="module")
def dictionary_dir(tmp_path_factory):
    atoms = np.abs(np.random.default_rng(0).standard_normal((257, RANK))).astype(np.float32)
    return Dictionary(atoms / np.linalg.norm(atoms, axis=0)).save(tmp_path_factory.mktemp("dictionary"))


@pytest.fixture(scope="module")
def proxy_dir(tiny_corpus, dictionary_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("proxy")
    train_proxy(tiny_corpus.root, "teacher", output, features="teacher", dictionary=dictionary_dir, **TINY)
    return output


def test_binary_kl_matches_hand_computed_values():
    teacher = torch.tensor([[[0.9, 0.3, 0.7]]])
    logits = torch.tensor([[[0.0, math.log(0.3 / 0.7), 5.0]]])  # q = 0.5, 0.3 (= p), anything (masked)
    mask = torch.tensor([True, True, False])
    expected = (0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5) + 0.0) / 2
    assert float(distillation_kl(logits, teacher, mask)) == pytest.approx(expected, abs=1e-6)
    assert float(distillation_kl(logits[..., 1:2], teacher[..., 1:2], torch.tensor([True]))) == pytest.approx(0, abs=1e-6)


def test_binary_kl_stays_finite_on_certain_teachers_and_confident_proxies():
    teacher = torch.tensor([[[1.0, 0.0]]])
    logits = torch.tensor([[[-100.0, 100.0]]], requires_grad=True)
    loss = distillation_kl(logits, teacher, torch.tensor([True, True]))
    loss.backward()
    assert torch.isfinite(loss) and loss > 10  # about -log(1e-6) per cell
    assert torch.all(torch.isfinite(logits.grad))


def test_the_proxy_loss_weights_its_terms():
    logits, teacher = torch.zeros(1, 2, 1), torch.full((1, 2, 1), 0.9)
    spectrogram, reconstruction = torch.full((1, 3, 2), 2.0), torch.ones(1, 3, 2)
    activations = torch.tensor([[1.0, 3.0]])
    terms = proxy_loss(logits, teacher, torch.tensor([True]), spectrogram, reconstruction, activations, (2.0, 3.0, 0.5))
    kd = 0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    assert float(terms["kd"]) == pytest.approx(kd, abs=1e-6)
    assert float(terms["reconstruction"]) == pytest.approx(1.0 / 4.0)  # MSE over the mean square of X
    assert float(terms["sparsity"]) == pytest.approx(2.0)
    assert float(terms["loss"]) == pytest.approx(2 * kd + 3 * 0.25 + 0.5 * 2.0, abs=1e-5)


def _one_step(model: ProxySegmenter) -> None:
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    waveform = torch.randn(2, 16000)
    activations = model(waveform)["activations"]
    loss = ((model.reconstruct(activations) - model.spectrogram(waveform)) ** 2).mean()
    loss.backward()
    optimiser.step()


def test_a_joint_dictionary_learns_but_stays_non_negative_with_unit_columns():
    torch.manual_seed(0)
    model = ProxySegmenter(rank=RANK, dictionary_mode="joint", repeats=1)
    before = model.dictionary.detach().clone()
    _one_step(model)
    after = model.dictionary.detach()
    assert not torch.allclose(before, after)
    assert torch.all(after >= 0)
    torch.testing.assert_close(after.norm(dim=0), torch.ones(RANK))


def test_a_fixed_dictionary_is_kept():
    torch.manual_seed(0)
    model = ProxySegmenter(rank=RANK, repeats=1)
    atoms = torch.rand(257, RANK)
    model.set_dictionary(atoms)
    _one_step(model)
    torch.testing.assert_close(model.atoms, atoms)
    assert "atoms" not in dict(model.named_parameters())
    with pytest.raises(ValueError):
        model.set_dictionary(-atoms)
    with pytest.raises(ValueError):
        model.set_dictionary(torch.rand(257, RANK + 1))


@pytest.mark.parametrize("features", ["spectrogram", "teacher"])
def test_chunked_inference_of_a_proxy_equals_the_whole_file(features):
    torch.manual_seed(0)
    teacher = {"repeats": 1} if features == "teacher" else None
    model = ProxySegmenter(features, rank=RANK, repeats=1, teacher=teacher).eval()
    waveform = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32)
    with torch.inference_mode():
        whole = model(torch.from_numpy(waveform)[None])
    frame_major = lambda outputs: {"logits": outputs["logits"], "activations": outputs["activations"].transpose(1, 2)}
    chunked = SlidingInference(model, model.receptive_field, chunk_frames=30, transform=frame_major)(waveform)
    for name, value in frame_major(whole).items():
        np.testing.assert_allclose(chunked[name], value[0].numpy(), atol=1e-4)


def test_a_tiny_proxy_fits_its_teacher_on_a_batch():
    """A few steps on one batch drive the distillation loss far down: model, loss and W fit together."""
    torch.manual_seed(0)
    model = ProxySegmenter(rank=RANK, repeats=1)
    waveform = torch.randn(4, 32000)
    teacher = (torch.rand(4, num_feature_frames(32000), 4) > 0.5).float() * 0.8 + 0.1
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        outputs = model(waveform)
        terms = proxy_loss(outputs["logits"], teacher, torch.tensor(True), model.spectrogram(waveform),
                           model.reconstruct(outputs["activations"]), outputs["activations"])
        optimiser.zero_grad()
        terms["loss"].backward()
        optimiser.step()
        losses.append(float(terms["kd"].detach()))
    assert losses[-1] < 0.3 * losses[0]


def test_a_trained_proxy_directory_holds_proxy_dictionary_and_teacher(proxy_dir, tiny_corpus):
    loaded = load_model(proxy_dir)
    teacher = load_model("teacher")
    assert loaded.type == "proxy_segmenter"
    assert loaded.classes == teacher.classes
    assert loaded.binarization == teacher.binarization
    assert loaded.specification["teacher"] == "teacher"
    assert load_model(proxy_dir / "teacher").type == "tcn_segmenter"
    stored = Dictionary.load(proxy_dir).atoms
    np.testing.assert_allclose(stored, loaded.model.dictionary.detach().numpy(), atol=1e-6)
    # the embedded teacher is the teacher's, unchanged by training
    embedded = loaded.model.features.teacher.state_dict()
    for name, tensor in teacher.model.state_dict().items():
        torch.testing.assert_close(embedded[name], tensor)
    assert teacher_of(loaded).loaded.path == proxy_dir / "teacher"
    summary = json.loads((proxy_dir / "training.json").read_text())
    assert summary["epochs"] == 1 and 0 <= summary["dev_fidelity"]["speech"]["agreement"] <= 1

    uri = tiny_corpus.uris("test")[0]
    segmentation = Segmenter.from_pretrained(proxy_dir)(tiny_corpus.audio_path(uri))
    assert segmentation.probabilities.shape[1] == 4
    assert set(segmentation.annotation.labels()) <= set(loaded.classes)


def test_a_proxy_directory_with_mismatched_arguments_is_refused(proxy_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(proxy_dir, broken, ignore=shutil.ignore_patterns("checkpoints", "teacher-outputs", "logs"))
    config = json.loads((broken / "config.json").read_text())
    config["arguments"]["rank"] = RANK * 2
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="do not fit"):
        load_model(broken)


def test_resuming_continues_the_same_proxy(proxy_dir, tiny_corpus, dictionary_dir):
    train_proxy(tiny_corpus.root, "teacher", proxy_dir, features="teacher", dictionary=dictionary_dir,
                **{**TINY, "max_epochs": 2})
    assert json.loads((proxy_dir / "training.json").read_text())["epochs"] == 2


def test_proxy_training_is_deterministic_for_a_seed(tiny_corpus, dictionary_dir, tmp_path):
    for run in ("first", "second"):
        train_proxy(tiny_corpus.root, "teacher", tmp_path / run, features="teacher", dictionary=dictionary_dir,
                    seed=5, **{**TINY, "max_epochs": 2})
    weights = [(tmp_path / run / "model.safetensors").read_bytes() for run in ("first", "second")]
    assert weights[0] == weights[1]
    configs = [json.loads((tmp_path / run / "config.json").read_text()) for run in ("first", "second")]
    assert configs[0]["binarization"] == configs[1]["binarization"]


class _CountingTeacher(FrameModel):
    classes = ("speech",)

    def __init__(self):
        self.calls = 0

    def predict(self, waveform):
        self.calls += 1
        frames = num_feature_frames(waveform.shape[0])
        return FrameOutput(np.full((frames, 4), 0.25, dtype=np.float32), self.classes)


def test_teacher_outputs_are_cached_per_teacher(tmp_path, monkeypatch):
    import proxyseg.training.teacher_outputs as teacher_outputs

    monkeypatch.setattr(teacher_outputs, "_identity", lambda reference: str(reference))
    teacher, waveform = _CountingTeacher(), np.zeros(16000, dtype=np.float32)
    first, _ = TeacherOutputs(teacher, "a", tmp_path, embedding=False)("dir/file", waveform)
    again, _ = TeacherOutputs(teacher, "a", tmp_path, embedding=False)("dir/file", waveform)
    assert teacher.calls == 1 and np.array_equal(first, again)
    TeacherOutputs(teacher, "b", tmp_path, embedding=False)("dir/file", waveform)  # another teacher: recomputed
    assert teacher.calls == 2
    with pytest.raises(ModelError, match="no embedding"):
        TeacherOutputs(teacher, "c", tmp_path, embedding=True)("other", waveform)


def test_an_off_the_shelf_teacher_on_a_plain_folder_distils_its_classes_only(tiny_corpus, dictionary_dir, tmp_path):
    folder = tmp_path / "audio"
    for uri in tiny_corpus.uris("train")[:2]:
        waveform, rate = sf.read(tiny_corpus.audio_path(uri))
        (folder / "nested").mkdir(parents=True, exist_ok=True)
        sf.write(folder / "nested" / f"{uri}.flac", waveform, rate)
    trained = train_proxy(folder, "silero", tmp_path / "proxy", dictionary=dictionary_dir, **TINY)
    loaded = load_model(trained.path)
    assert loaded.classes == ("speech",)
    assert loaded.specification["teacher"] == "silero"
    assert not (trained.path / "teacher").exists()
    assert isinstance(teacher_of(loaded), SileroTeacher)
    probabilities = Segmenter.from_pretrained(trained.path)(np.zeros(32000, dtype=np.float32)).probabilities
    assert np.all(probabilities[:, 1:] == 0)  # classes the teacher does not predict stay empty


def test_a_proxy_distilled_from_a_committee_carries_it_whole(tiny_corpus, dictionary_dir, tmp_path):
    """The committee (its configuration and its experts of ours) is copied into the proxy, its
    thresholds become the proxy's, and the proxy's teacher is that committee again."""
    from proxyseg.teachers.committee import CommitteeTeacher
    from proxyseg.training.committee import make_committee

    committee = make_committee(tiny_corpus.root, tmp_path / "committee", {"speech": "silero", "noise": "teacher"})
    trained = train_proxy(tiny_corpus.root, str(tmp_path / "committee"), tmp_path / "proxy", dictionary=dictionary_dir,
                          **TINY)
    loaded = load_model(trained.path)
    assert loaded.classes == ("speech", "noise") and loaded.binarization == committee.binarization
    assert (trained.path / "teacher" / "experts" / "noise" / "model.safetensors").is_file()
    carried = teacher_of(loaded)
    assert isinstance(carried, CommitteeTeacher) and carried.classes == ("speech", "noise")
    waveform = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    np.testing.assert_allclose(carried.predict(waveform).probabilities, committee.teacher.predict(waveform).probabilities,
                               atol=1e-6)


def test_teacher_features_need_a_teacher_of_ours(tiny_corpus, tmp_path):
    with pytest.raises(ModelError, match="features teacher"):
        train_proxy(tiny_corpus.root, "silero", tmp_path / "proxy", features="teacher", **TINY)


def test_random_segments_lie_inside_their_files():
    waveforms = [np.arange(16000 * 5, dtype=np.float32), np.arange(8000, dtype=np.float32)]  # the second is too short
    segments = random_segments(waveforms, count=20, seed=1)
    assert len(segments) == 20
    for segment in segments:
        assert 16000 <= segment.shape[0] <= 64000
        assert np.all(np.diff(segment) == 1)  # one contiguous stretch of the long file


def test_train_proxy_command_then_segment_with_it(tiny_corpus, dictionary_dir, tmp_path):
    output = tmp_path / "proxy"
    result = CliRunner().invoke(cli, ["train", "proxy", str(tiny_corpus.root), "-o", str(output), "--dictionary",
                                      str(dictionary_dir), "--max-epochs", "1", "--repeats", "1", "--batch-size", "8",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    assert load_model(output).model.get_config()["features"] == "spectrogram"
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    result = CliRunner().invoke(cli, ["segment", str(audio), "-o", str(tmp_path / "out"), "--model", str(output)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / f"{audio.stem}.rttm").exists()


def test_a_model_without_a_teacher_or_with_one_outside_its_folder_is_refused(proxy_dir):
    with pytest.raises(ModelError, match="names no teacher"):
        teacher_of(load_model("teacher"))
    loaded = load_model(proxy_dir)
    loaded.specification["teacher"] = "../elsewhere"
    with pytest.raises(ModelError, match="inside it"):
        teacher_of(loaded)


def test_a_proxy_on_wavlm_features_trains_and_loads(tiny_corpus, dictionary_dir, tmp_path):
    """The WavLM proxy end to end, with a tiny random WavLM saved where a user would keep one."""
    pytest.importorskip("transformers")
    from proxyseg.features.ssl import save_tiny_random_model

    wavlm = save_tiny_random_model(tmp_path / "wavlm")
    train_proxy(tiny_corpus.root, "teacher", tmp_path / "proxy", features="ssl", ssl_model=str(wavlm),
                dictionary=dictionary_dir, **TINY)
    loaded = load_model(tmp_path / "proxy")
    assert loaded.model.receptive_field is None  # runs in windows, as the WavLM teacher
    output = Inference(loaded).predict(np.random.default_rng(0).standard_normal(16000 * 9).astype(np.float32) * 0.1)
    assert output.probabilities.shape == (num_feature_frames(16000 * 9), 4)
    assert output.embedding.shape == (num_feature_frames(16000 * 9), RANK) and np.all(output.embedding >= 0)


def test_a_teacher_on_wavlm_features_is_distilled_and_carried_whole(tiny_corpus, dictionary_dir, tmp_path):
    """The proxy's copy of a teacher on SSL features holds its backbone too, so that it loads and explains."""
    pytest.importorskip("transformers")
    from proxyseg.features.ssl import save_tiny_random_model
    from proxyseg.training.teacher import train_teacher

    wavlm = save_tiny_random_model(tmp_path / "wavlm")
    train_teacher(tiny_corpus.root, tmp_path / "teacher", features="ssl", ssl_model=str(wavlm), **TINY)
    train_proxy(tiny_corpus.root, str(tmp_path / "teacher"), tmp_path / "proxy", dictionary=dictionary_dir, **TINY)
    shutil.rmtree(wavlm)  # the proxy must not depend on where the backbone was
    waveform = np.random.default_rng(0).standard_normal(16000 * 9).astype(np.float32) * 0.1
    carried = teacher_of(load_model(tmp_path / "proxy")).predict(waveform).probabilities
    assert carried.shape == (num_feature_frames(16000 * 9), 4) and np.all((carried >= 0) & (carried <= 1))


def test_the_shipped_proxy_is_the_default_model_and_carries_its_teacher():
    loaded = load_model("proxy")
    assert loaded.type == "proxy_segmenter" and loaded.model.get_config()["features"] == "teacher"
    assert Segmenter.from_pretrained().model.loaded.path == loaded.path
    shipped_teacher = load_model("teacher").model.state_dict()
    for name, tensor in teacher_of(loaded).loaded.model.state_dict().items():
        torch.testing.assert_close(tensor, shipped_teacher[name])
    atoms = Dictionary.load(loaded.path).atoms
    assert atoms.shape == (257, 128) and np.all(atoms >= 0)
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=0), 1.0, atol=1e-5)


def test_a_proxy_bundle_runs_its_teacher_network_once_unless_the_weights_differ(tmp_path):
    """load_proxy: the proxy on its teacher's embedding runs the very network loaded as the teacher;
    a teacher folder whose weights differ from the proxy's copy is kept apart (the proxy keeps its own)."""
    from safetensors.torch import load_file, save_file

    from proxyseg.teachers.registry import load_proxy

    bundle = load_proxy("proxy")
    assert bundle.proxy.model.features.teacher is bundle.teacher.loaded.model
    np.testing.assert_array_equal(bundle.dictionary, bundle.proxy.model.dictionary.detach().numpy())
    waveform = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    expected = Inference(load_model("proxy")).predict(waveform).probabilities

    shutil.copytree(bundle.proxy.path, tmp_path / "proxy")
    weights = tmp_path / "proxy" / "teacher" / "model.safetensors"
    state = load_file(weights)
    state["classifier.bias"] = state["classifier.bias"] + 1.0
    save_file(state, weights)
    changed = load_proxy(tmp_path / "proxy")
    assert changed.proxy.model.features.teacher is not changed.teacher.loaded.model
    np.testing.assert_allclose(Inference(changed.proxy).predict(waveform).probabilities, expected, atol=1e-6)
    assert np.abs(Inference(changed.teacher.loaded).predict(waveform).probabilities
                  - Inference(bundle.teacher.loaded).predict(waveform).probabilities).max() > 0.01
