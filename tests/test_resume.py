"""Training killed with SIGKILL resumes from its last checkpoint and finishes."""

import json
import signal
import subprocess
import sys
import time

from proxyseg.artefacts import load_model


def test_a_teacher_killed_mid_epoch_resumes_from_its_last_checkpoint_and_finishes(tiny_corpus, tmp_path):
    output = tmp_path / "teacher"
    command = [sys.executable, "-m", "proxyseg", "train", "teacher", str(tiny_corpus.root), "-o", str(output),
               "--max-epochs", "6", "--patience", "6", "--batch-size", "1", "-q"]
    last = output / "checkpoints" / "last.safetensors"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not last.exists():  # the end of the first epoch
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # into the second epoch (28 one-chunk steps, about 0.8 s here)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (output / "model.safetensors").exists()  # nothing was finished

    resumed = subprocess.run([*command[:3], "-v", *command[3:]], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"proxyseg: resuming from {last}" in resumed.stderr.splitlines()
    summary = json.loads((output / "training.json").read_text())
    assert summary["epochs"] == 6
    assert load_model(output).type == "tcn_segmenter"
    assert not [path for path in output.rglob(".*") if path.is_file()]  # no partial file left behind
