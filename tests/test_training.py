import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from proxyseg.artefacts import load_model
from proxyseg.corpus import Corpus
from proxyseg.grid import num_feature_frames
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.training.augment import Augmentation
from proxyseg.training.checkpoint import SafetensorsCheckpointIO
from proxyseg.training.data import ChunkDataset, load_split
from proxyseg.training.losses import masked_bce
from proxyseg.training.teacher import train_teacher

TINY = {"repeats": 1, "batch_size": 8, "learning_rate": 3e-3, "progress": False, "patience": 50}


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    output = tmp_path_factory.mktemp("teacher")
    train_teacher(tiny_corpus.root, output, max_epochs=2, **TINY)
    return output


def test_a_tiny_teacher_trains_saves_and_loads(trained):
    loaded = load_model(trained)
    assert loaded.type == "tcn_segmenter"
    assert set(loaded.binarization) == set(CLASSES)
    summary = json.loads((trained / "training.json").read_text())
    assert summary["epochs"] == 2
    teacher = Inference(loaded)
    output = teacher.predict(np.zeros(16000 * 3, dtype=np.float32))
    assert output.probabilities.shape == (num_feature_frames(48000), 4)
    assert output.embedding.shape == (num_feature_frames(48000), 64)


def test_the_teacher_can_fit_a_batch(tiny_corpus):
    """Optimising on one batch drives its loss far down: model, features and loss fit together."""
    torch.manual_seed(0)
    model = TCNSegmenter(repeats=1)
    waveform, targets, mask = next(iter(DataLoader(ChunkDataset(load_split(tiny_corpus, "train")), batch_size=4)))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = masked_bce(model(waveform)["logits"], targets, mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    assert losses[-1] < 0.3 * losses[0]


def test_training_resumes_from_its_last_checkpoint(trained, tiny_corpus):
    train_teacher(tiny_corpus.root, trained, max_epochs=3, **TINY)
    assert json.loads((trained / "training.json").read_text())["epochs"] == 3
    # Each run logs to its own version; the resumed run did the third epoch only.
    rows = (trained / "logs" / "version_1" / "metrics.csv").read_text().splitlines()[1:]
    assert {int(row.split(",")[0]) for row in rows} == {2}


def test_training_is_deterministic_for_a_seed(tiny_corpus, tmp_path):
    for run in ("first", "second"):
        train_teacher(tiny_corpus.root, tmp_path / run, max_epochs=2, seed=7, **TINY)
    weights = [(tmp_path / run / "model.safetensors").read_bytes() for run in ("first", "second")]
    assert weights[0] == weights[1]
    thresholds = [json.loads((tmp_path / run / "config.json").read_text())["binarization"] for run in ("first", "second")]
    assert thresholds[0] == thresholds[1]


def test_chunked_inference_equals_whole_file(trained):
    loaded = load_model(trained)
    waveform = np.random.default_rng(0).standard_normal(16000 * 7).astype(np.float32) * 0.1
    whole = Inference(loaded, chunk_frames=100_000).predict(waveform)
    chunked = Inference(loaded, chunk_frames=37).predict(waveform)
    assert np.abs(whole.probabilities - chunked.probabilities).max() < 1e-4
    assert np.abs(whole.embedding - chunked.embedding).max() < 1e-4


def test_masked_classes_do_not_contribute_to_the_loss():
    logits = torch.randn(2, 10, 4, requires_grad=True)
    targets = torch.randint(0, 2, (2, 10, 4)).float()
    mask = torch.tensor([True, False, True, False])  # a corpus annotating speech and noise only
    masked_bce(logits, targets, mask).backward()
    assert torch.all(logits.grad[..., 1] == 0) and torch.all(logits.grad[..., 3] == 0)
    assert torch.any(logits.grad[..., 0] != 0)
    # Changing an unannotated target changes nothing.
    flipped = targets.clone()
    flipped[..., 1] = 1 - flipped[..., 1]
    assert masked_bce(logits, targets, mask) == masked_bce(logits, flipped, mask)


def test_chunks_line_up_with_their_labels(tiny_corpus):
    dataset = ChunkDataset(load_split(tiny_corpus, "dev"), chunk_duration=4.0)
    waveform, targets, mask = dataset[1]
    assert waveform.shape == (64000,)
    assert targets.shape == mask.shape == (199, 4)
    file = dataset.files[0]
    assert torch.equal(targets, torch.from_numpy(file.targets[200:399].astype(np.float32)))


def test_augmentation_labels_follow_the_mixture(tiny_corpus):
    torch.manual_seed(0)
    dataset = ChunkDataset(load_split(tiny_corpus, "train"), random_offsets=True,
                           augmentation=Augmentation(overlap_probability=1.0, min_partner_speech=0.0))
    for item in range(5):
        _, targets, _ = dataset[item]
        speech, overlap = targets[:, 0].bool(), targets[:, 3].bool()
        assert not torch.any(overlap & ~speech)


def test_checkpoints_round_trip_without_pickle(tmp_path):
    state = {"epoch": 3, "state_dict": {"w": torch.arange(4.0)}, "optimizer_states": [{"state": {0: {"step": torch.tensor(5.0)}}, "param_groups": [{"lr": 1e-3, "params": [0]}]}],
             "loops": {"x": (1, 2.5, None, "s")}}
    path = tmp_path / "last.safetensors"
    SafetensorsCheckpointIO().save_checkpoint(state, path)
    loaded = SafetensorsCheckpointIO().load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["loops"] == {"x": (1, 2.5, None, "s")}
    assert torch.equal(loaded["state_dict"]["w"], torch.arange(4.0))
    assert loaded["optimizer_states"][0]["state"][0]["step"].item() == 5.0
    # A plain safetensors file: readable by safetensors alone, nothing else stored.
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        assert len(list(handle.keys())) == 2  # the weights and the optimiser step


def test_a_teacher_on_wavlm_features_trains_and_loads(tiny_corpus, tmp_path):
    """The WavLM path end to end, with a tiny random WavLM saved where a user would keep one."""
    pytest.importorskip("transformers")
    from proxyseg.features.ssl import save_tiny_random_model

    wavlm = save_tiny_random_model(tmp_path / "wavlm")
    train_teacher(tiny_corpus.root, tmp_path / "teacher", features="ssl", ssl_model=str(wavlm), max_epochs=1, **TINY)
    weights = (tmp_path / "teacher" / "model.safetensors").stat().st_size
    assert weights < 2_000_000  # the frozen backbone is not copied into the teacher
    teacher = Inference(load_model(tmp_path / "teacher"))
    output = teacher.predict(np.random.default_rng(0).standard_normal(16000 * 9).astype(np.float32) * 0.1)
    assert output.probabilities.shape == (num_feature_frames(16000 * 9), 4)
    assert np.all((output.probabilities >= 0) & (output.probabilities <= 1))


def test_a_corpus_annotating_fewer_classes_trains_only_those(tiny_corpus, tmp_path):
    import shutil

    partial = tmp_path / "speech-only"
    shutil.copytree(tiny_corpus.root, partial)
    description = json.loads((partial / "corpus.json").read_text())
    (partial / "corpus.json").write_text(json.dumps({**description, "classes": ["speech", "overlap"]}))
    dataset = ChunkDataset(load_split(Corpus(partial), "train"))
    assert dataset[0][2][:, [0, 3]].all() and not dataset[0][2][:, [1, 2]].any()

    alone = train_teacher(partial, tmp_path / "alone", max_epochs=1, **TINY)
    assert alone.classes == ("speech", "overlap")
    probabilities = Inference(alone).predict(np.ones(16000, np.float32) * 0.1).probabilities
    assert not probabilities[:, [1, 2]].any()
    combined = train_teacher([partial, tiny_corpus.root], tmp_path / "combined", max_epochs=1, **TINY)
    assert combined.classes == CLASSES


def test_training_runs_the_torch_threads_asked_and_says_so(tiny_corpus, tmp_path):
    """``train --threads N``: the training process runs torch with N threads (not its default, one per
    core), and training.json records them with the data loader workers (none)."""
    threads = 2 if len(os.sched_getaffinity(0)) == 1 else 1
    output = tmp_path / "teacher"
    result = subprocess.run([sys.executable, "-m", "proxyseg", "train", "teacher", str(tiny_corpus.root), "-o",
                             str(output), "--max-epochs", "1", "--threads", str(threads), "-q"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads((output / "training.json").read_text())
    assert summary["threads_per_process"] == threads and summary["dataloader_workers"] == 0


def test_train_teacher_builds_the_tcn_and_chunks_asked_for(tiny_corpus, tmp_path):
    """``--bottleneck/--channels/--blocks/--repeats`` shape the saved teacher (its context grows with
    the blocks) and ``--chunk-duration`` its training examples, as training.json records."""
    output = tmp_path / "teacher"
    result = subprocess.run([sys.executable, "-m", "proxyseg", "train", "teacher", str(tiny_corpus.root), "-o",
                             str(output), "--max-epochs", "1", "--bottleneck", "16", "--channels", "24", "--blocks", "5",
                             "--repeats", "1", "--chunk-duration", "6", "-q"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # -q: not a line, neither Lightning's nor a warning
    loaded = load_model(output)
    arguments = loaded.model.get_config()
    assert (arguments["bottleneck"], arguments["channels"], arguments["blocks"], arguments["repeats"]) == (16, 24, 5, 1)
    assert loaded.model.receptive_field == 31  # (2**5 - 1) frames each side
    options = json.loads((output / "training.json").read_text())["options"]
    assert options["chunk_duration"] == 6 and options["blocks"] == 5


def test_a_teacher_also_learns_from_a_teachers_probabilities_on_unlabelled_audio(tiny_corpus, tmp_path):
    """``distil``: every file of an audio folder joins training with the distilled teacher's
    probabilities as its targets (cached once per file); dev stays the labelled corpus's."""
    import shutil

    from safetensors.numpy import load_file

    from proxyseg.teachers import load_teacher

    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for uri in tiny_corpus.uris("test"):
        shutil.copy(tiny_corpus.audio_path(uri), folder / f"{uri}.wav")
    output = tmp_path / "teacher"
    train_teacher(tiny_corpus.root, output, max_epochs=1, distil=[folder], distil_teacher="silero", **TINY)
    summary = json.loads((output / "training.json").read_text())
    labelled = len(tiny_corpus.uris("train"))
    assert summary["train_files"] == labelled + len(tiny_corpus.uris("test"))
    assert summary["dev_files"] == len(tiny_corpus.uris("dev"))
    assert summary["distilled"] == {"audio": [str(folder)], "teacher": "silero"}
    uri = tiny_corpus.uris("test")[0]
    cached = load_file(output / "teacher-outputs" / f"{uri}.safetensors")["probabilities"]
    from proxyseg.audio import load

    np.testing.assert_allclose(cached, load_teacher("silero").predict(load(folder / f"{uri}.wav")).probabilities,
                               atol=1e-6)


def test_distilling_needs_its_teacher():
    from click.testing import CliRunner

    from proxyseg.cli import cli

    result = CliRunner().invoke(cli, ["train", "teacher", ".", "-o", "out", "--distil", "."])
    assert result.exit_code == 2 and "--distil and --distil-teacher go together" in result.output


def test_a_teacher_can_start_from_another_teachers_weights(trained, tiny_corpus, tmp_path):
    output = tmp_path / "fine-tuned"
    # A learning rate of 0: the weights trained are exactly those started from.
    train_teacher(tiny_corpus.root, output, max_epochs=1, **{**TINY, "learning_rate": 0.0}, init=trained)
    start, tuned = load_model(trained).model.state_dict(), load_model(output).model.state_dict()
    weights = [name for name in start if name.startswith(("tcn.", "classifier."))]
    assert weights and all(torch.equal(start[name], tuned[name]) for name in weights)
    assert json.loads((output / "training.json").read_text())["initialised_from"] == str(trained)


def test_a_teacher_cannot_start_from_a_different_tcn(trained, tiny_corpus, tmp_path):
    from proxyseg.errors import ModelError

    with pytest.raises(ModelError, match="repeats 1 there, 2 here"):
        train_teacher(tiny_corpus.root, tmp_path / "other", max_epochs=1, **{**TINY, "repeats": 2}, init=trained)


def test_a_corpus_is_distilled_from_its_train_split_only(tiny_corpus, tmp_path):
    """Its dev and test splits may share speakers with the labelled dev, which picks the model."""
    output = tmp_path / "teacher"
    train_teacher(tiny_corpus.root, output, max_epochs=1, distil=[tiny_corpus.root], distil_teacher="silero", **TINY)
    summary = json.loads((output / "training.json").read_text())
    assert summary["train_files"] == 2 * len(tiny_corpus.uris("train"))
    assert sorted(path.stem for path in (output / "teacher-outputs").iterdir()) == sorted(tiny_corpus.uris("train"))


def test_a_stopped_training_run_again_with_fewer_epochs_saves_its_best_epoch(tiny_corpus, tmp_path):
    output = tmp_path / "teacher"
    train_teacher(tiny_corpus.root, output, max_epochs=3, **TINY)
    (output / "model.safetensors").unlink()  # as if stopped before the end
    summary = json.loads((output / "training.json").read_text())
    # Lightning refuses to restore a run of 3 epochs with max_epochs=1: this keeps its best epoch instead.
    train_teacher(tiny_corpus.root, output, max_epochs=1, **TINY)
    again = json.loads((output / "training.json").read_text())
    assert again["epochs"] == summary["epochs"] == 3 and again["best_dev_f1"] == summary["best_dev_f1"]
    best = SafetensorsCheckpointIO().load_checkpoint(output / "checkpoints" / "best.safetensors")["state_dict"]
    saved = load_model(output).model.state_dict()
    assert all(torch.equal(best[f"model.{name}"], value) for name, value in saved.items())
