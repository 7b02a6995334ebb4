"""Training on two CPU processes with Lightning's DDP (gloo), through the command line as a user runs it."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from proxyseg.artefacts import load_model
from proxyseg.audio import load
from proxyseg.errors import ProxysegError
from proxyseg.grid import num_feature_frames
from proxyseg.labels import CLASSES
from proxyseg.segmentation import Segmenter
from proxyseg.training.trainer import Training

TWO_PROCESSES = ("--devices", "2", "--strategy", "ddp", "--max-epochs", "2", "--batch-size", "8", "-q")
TRAINING_FILES = ["checkpoints/best.safetensors", "checkpoints/last.safetensors", "config.json",
                  "logs/version_0/metrics.csv", "model.safetensors", "training.json"]


def train(*args: str) -> subprocess.CompletedProcess:
    """``python -m proxyseg -v train ARGS`` on two processes; a hung run is killed with its workers."""
    command = [sys.executable, "-m", "proxyseg", "-v", "train", *args, *TWO_PROCESSES]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the workers Lightning started are in this session
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def files(directory: Path) -> list[str]:
    """Every file under ``directory`` (hidden, partial ones included), relative and sorted."""
    return sorted(path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file())


def assert_ran_on_two_processes(result: subprocess.CompletedProcess, written: str) -> None:
    assert result.returncode == 0, result.stderr
    assert "MEMBER: 2/2" in result.stderr and "Starting with 2 processes" in result.stderr
    assert "sync_dist" not in result.stderr  # validation figures are gathered from both processes
    assert result.stdout.count(written) == 1  # the other process said nothing


def assert_segments(model: Path, audio: Path) -> None:
    probabilities = Segmenter.from_pretrained(model)(audio).probabilities
    assert probabilities.shape == (num_feature_frames(load(audio).shape[0]), len(CLASSES))
    assert np.all(np.isfinite(probabilities)) and np.all((probabilities >= 0) & (probabilities <= 1))


@pytest.fixture(scope="module")
def teacher(tiny_corpus, tmp_path_factory):
    output = tmp_path_factory.mktemp("ddp") / "teacher"
    return output, train("teacher", str(tiny_corpus.root), "-o", str(output))


def test_a_teacher_trains_on_two_processes_and_one_saves_it(teacher, tiny_corpus):
    output, result = teacher
    assert_ran_on_two_processes(result, "teacher written to")
    assert files(output) == TRAINING_FILES  # one set of outputs, no partial files
    summary = json.loads((output / "training.json").read_text())
    assert summary["processes"] == 2 and summary["epochs"] == 2
    rows = (output / "logs" / "version_0" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert sum(row.split(",")[header.index("val/f1")] != "" for row in rows[1:]) == 2  # once per epoch
    assert load_model(output).type == "tcn_segmenter"
    assert_segments(output, tiny_corpus.audio_path(tiny_corpus.uris("test")[0]))


def test_a_proxy_distils_on_two_processes_with_one_teacher_pass_and_dictionary(teacher, tiny_corpus, tmp_path):
    output = tmp_path / "proxy"
    result = train("proxy", str(tiny_corpus.root), "--teacher", str(teacher[0]), "-o", str(output),
                   "--features", "teacher", "--rank", "8", "--repeats", "1")
    assert_ran_on_two_processes(result, "proxy written to")
    assert result.stderr.count("learning a rank-8 dictionary") == 1  # rank 0 learns W, the other receives it
    uris = [*tiny_corpus.uris("train"), *tiny_corpus.uris("dev")]
    assert files(output) == sorted([*TRAINING_FILES, "dictionary.json", "dictionary.safetensors",
                                    "teacher/config.json", "teacher/model.safetensors",
                                    *(f"teacher-outputs/{uri}.safetensors" for uri in uris)])
    assert json.loads((output / "training.json").read_text())["processes"] == 2
    assert load_model(output).type == "proxy_segmenter"
    assert_segments(output, tiny_corpus.audio_path(tiny_corpus.uris("test")[0]))


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_fork"])
def test_strategies_that_spawn_or_fork_processes_are_refused(strategy, tmp_path):
    with pytest.raises(ProxysegError, match="strategy 'ddp'"):
        Training(tmp_path / "model", "val/f1", "max", max_epochs=1, max_minutes=None, patience=1, progress=False,
                 devices=2, strategy=strategy)
    assert not (tmp_path / "model").exists()
