"""Model folders from someone else (issue 13), case by case, grouped by rule.

Each case ends in a loaded model or in one ModelError of one line naming the file (and the field);
none hangs, grows without bound, touches the network or ends in a traceback. The shipped models
keep loading (``tests/test_artefacts.py``, ``tests/test_proxy.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from proxyseg.artefacts import PRETRAINED_DIR, load_model, save_model
from proxyseg.errors import ModelError
from proxyseg.models.size import MAX_PARAMETERS
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.nmf import Dictionary
from proxyseg.teachers.registry import teacher_of

SHIPPED_CONFIG = (PRETRAINED_DIR / "teacher" / "config.json").read_text()


@pytest.fixture
def teacher_dir(tmp_path) -> Path:
    return Path(shutil.copytree(PRETRAINED_DIR / "teacher", tmp_path / "teacher"))


@pytest.fixture
def proxy_dir(tmp_path) -> Path:
    return Path(shutil.copytree(PRETRAINED_DIR / "proxy", tmp_path / "proxy"))


def _change(directory: Path, change) -> Path:
    config = json.loads((directory / "config.json").read_text())
    change(config)
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def _refused(call, *words: str) -> str:
    """The message of the ModelError ``call()`` raises: one line, holding each of ``words``."""
    with pytest.raises(ModelError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


_LOAD = ("import sys\n"
         "from proxyseg.artefacts import load_model\n"
         "from proxyseg.errors import ModelError\n"
         "from proxyseg.nmf import Dictionary\n"
         "try:\n"
         "    (Dictionary.load if sys.argv[1] == 'dictionary' else load_model)(sys.argv[2])\n"
         "except ModelError as error:\n"
         "    print(error)\n")


def _refused_without_hanging(kind: str, directory: Path, *words: str) -> None:
    """Load a ``model`` or ``dictionary`` in a subprocess (a reader blocked on a FIFO may hold the GIL),
    which must end within a minute with one ModelError holding ``words``."""
    try:
        done = subprocess.run([sys.executable, "-c", _LOAD, kind, str(directory)], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {directory} hung")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 1 and all(word in done.stdout for word in words), done.stdout


# Rule 1: every number is checked for type and range before anything is allocated.

@pytest.mark.parametrize("field, value", [
    ("blocks", 10_000_000), ("repeats", 10_000_000), ("channels", 10**9), ("bottleneck", 10**9),
    ("kernel_size", 1_000_001), ("n_mels", 10**9),
])
def test_case1_a_huge_size_argument_is_refused_naming_the_file_and_field(teacher_dir, field, value):
    _change(teacher_dir, lambda c: c["arguments"].update({field: value, "features": "logmel"}))
    _refused(lambda: load_model(teacher_dir), "config.json", f"{field} must be an integer from 1 to", str(value))


@pytest.mark.parametrize("field, value", [("rank", 10**9), ("blocks", 10_000_000)])
def test_case1_a_huge_proxy_argument_is_refused(proxy_dir, field, value):
    _change(proxy_dir, lambda c: c["arguments"].update({field: value}))
    _refused(lambda: load_model(proxy_dir), "config.json", f"{field} must be an integer")


def test_case1_a_huge_argument_of_the_proxys_teacher_is_refused(proxy_dir):
    _change(proxy_dir, lambda c: c["arguments"]["teacher"].update(blocks=10_000_000))
    _refused(lambda: load_model(proxy_dir), "config.json", "teacher.blocks must be an integer")


def test_case1_arguments_each_in_range_but_too_many_weights_together_are_refused(teacher_dir):
    _change(teacher_dir, lambda c: c["arguments"].update(channels=4096, bottleneck=2048, blocks=8, repeats=64))
    _refused(lambda: load_model(teacher_dir), "config.json", f"more than the {MAX_PARAMETERS:,} allowed")


def test_case1_a_context_too_long_for_inference_is_refused(teacher_dir):
    _change(teacher_dir, lambda c: c["arguments"].update(channels=8, bottleneck=8, kernel_size=63, blocks=16, repeats=64))
    _refused(lambda: load_model(teacher_dir), "config.json", "context")


@pytest.mark.parametrize("value", [0, -4.0, 1e9])
def test_case1_a_training_chunk_out_of_range_is_refused(teacher_dir, value):
    _change(teacher_dir, lambda c: c["specification"].update(chunk_duration=value))
    _refused(lambda: load_model(teacher_dir), "config.json", "specification.chunk_duration")


@pytest.mark.parametrize("value", [1, 10**9])
def test_case1_a_model_with_another_number_of_classes_is_refused(teacher_dir, value):
    """Its scores would be broadcast over the four classes, or fail mid-run."""
    _change(teacher_dir, lambda c: c["arguments"].update(num_classes=value))
    _refused(lambda: load_model(teacher_dir), "config.json", "num_classes must be 4")


def loading_memory_kb(folders: list[str], shipped: str, timeout: float = 300) -> int:
    """How much the peak memory of a fresh process grows (kB) while it loads each of ``folders``, refused or not,
    after loading the ``shipped`` model (so that what every load needs is counted once)."""
    script = ("import resource, sys\n"
              "from proxyseg.artefacts import load_model\n"
              "from proxyseg.errors import ModelError\n"
              "load_model(sys.argv[1])\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "for folder in sys.argv[2:]:\n"
              "    try:\n"
              "        load_model(folder)\n"
              "    except ModelError:\n"
              "        pass\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    done = subprocess.run([sys.executable, "-c", script, shipped, *folders], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout)


def test_case1_huge_arguments_are_refused_in_bounded_memory(tmp_path):
    """Measured in a subprocess: its peak memory grows by less than 200 MB over all the cases."""
    folders = []
    for index, change in enumerate([{"blocks": 10_000_000}, {"channels": 10**9}, {"n_mels": 10**9, "features": "logmel"},
                                    {"channels": 4096, "bottleneck": 2048, "blocks": 8, "repeats": 64}]):
        folder = Path(shutil.copytree(PRETRAINED_DIR / "teacher", tmp_path / str(index)))
        folders.append(str(_change(folder, lambda c: c["arguments"].update(change))))
    assert loading_memory_kb(folders, "teacher") < 200_000


# Rule 2: only regular files inside the folder are read, and JSON files are refused when too large.

@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_case2_a_fifo_in_a_model_folder_is_refused_without_waiting(teacher_dir, name):
    (teacher_dir / name).unlink()
    os.mkfifo(teacher_dir / name)
    _refused_without_hanging("model", teacher_dir, name, "not a regular file")


@pytest.mark.parametrize("name", ["dictionary.json", "dictionary.safetensors"])
def test_case2_a_fifo_in_a_dictionary_folder_is_refused_without_waiting(proxy_dir, name):
    (proxy_dir / name).unlink()
    os.mkfifo(proxy_dir / name)
    _refused_without_hanging("dictionary", proxy_dir, name, "not a regular file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_case5_a_config_linked_to_a_device_is_refused_before_reading(teacher_dir, device):
    (teacher_dir / "config.json").unlink()
    (teacher_dir / "config.json").symlink_to(device)
    _refused(lambda: load_model(teacher_dir), "config.json", "outside the model folder")


def test_case2_a_link_to_a_regular_file_outside_the_folder_is_refused(teacher_dir, tmp_path):
    shutil.move(teacher_dir / "model.safetensors", tmp_path / "elsewhere.safetensors")
    (teacher_dir / "model.safetensors").symlink_to(tmp_path / "elsewhere.safetensors")
    _refused(lambda: load_model(teacher_dir), "model.safetensors", "outside the model folder")


def test_case2_links_inside_the_folder_are_followed(teacher_dir, tmp_path):
    """The decision: a link is followed when it leads to a regular file inside the folder (itself maybe a link)."""
    (teacher_dir / "versions").mkdir()
    shutil.move(teacher_dir / "config.json", teacher_dir / "versions" / "v1.json")
    (teacher_dir / "config.json").symlink_to("versions/v1.json")
    (tmp_path / "linked").symlink_to(teacher_dir)
    assert load_model(tmp_path / "linked").type == "tcn_segmenter"


def test_case2_a_huge_config_is_refused_by_its_size_before_reading(teacher_dir):
    with open(teacher_dir / "config.json", "r+b") as handle:
        handle.truncate(2**30)  # sparse: 1 GiB that takes no disk
    _refused(lambda: load_model(teacher_dir), "config.json", "1,073,741,824 bytes, more than")


def test_case2_a_folder_named_config_json_is_refused(teacher_dir):
    (teacher_dir / "config.json").unlink()
    (teacher_dir / "config.json").mkdir()
    _refused(lambda: load_model(teacher_dir), "config.json", "not a regular file")


def test_case5_a_model_path_that_is_a_file_is_refused(teacher_dir):
    _refused(lambda: load_model(teacher_dir / "config.json"), "config.json", "not a model directory")


def test_case5_a_config_that_is_not_utf8_is_refused(teacher_dir):
    (teacher_dir / "config.json").write_bytes(SHIPPED_CONFIG.encode().replace(b"speech", b"sp\xffech", 1))
    _refused(lambda: load_model(teacher_dir), "config.json", "not UTF-8 text (byte 0xff")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_case5_a_folder_without_read_permission_is_refused(teacher_dir):
    teacher_dir.chmod(0o000)
    try:
        _refused(lambda: load_model(teacher_dir), "teacher")
    finally:
        teacher_dir.chmod(0o755)


# Rule 3: loading a model never touches the network; SSL backbones are folders inside the model folder.

@pytest.fixture
def connections(monkeypatch) -> list:
    """Every connection attempted (each refused, as on a machine without network)."""
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_case3_a_config_naming_a_hub_id_is_refused_without_a_connection(teacher_dir, connections):
    _change(teacher_dir, lambda c: c["arguments"].update(features="ssl", ssl_model="microsoft/wavlm-base-plus"))
    _refused(lambda: load_model(teacher_dir), "config.json", "ssl_model", "never by a hub id")
    assert connections == []


@pytest.mark.parametrize("name", ["/opt/wavlm", "../wavlm", "ssl/../../wavlm", ""])
def test_case3_an_ssl_model_outside_the_folder_is_refused(teacher_dir, connections, name):
    _change(teacher_dir, lambda c: c["arguments"].update(features="ssl", ssl_model=name))
    _refused(lambda: load_model(teacher_dir), "config.json", "ssl_model")
    assert connections == []


def test_case3_an_ssl_folder_linked_outside_the_model_folder_is_refused(teacher_dir, tmp_path, connections):
    (tmp_path / "wavlm").mkdir()
    (teacher_dir / "ssl").symlink_to(tmp_path / "wavlm")
    _change(teacher_dir, lambda c: c["arguments"].update(features="ssl", ssl_model="ssl"))
    _refused(lambda: load_model(teacher_dir), "config.json", "not a folder inside the model folder")


def test_case3_an_ssl_model_given_by_hub_id_is_looked_up_locally_only(connections):
    pytest.importorskip("transformers")
    from proxyseg.features.ssl import SSLFeatures

    _refused(lambda: SSLFeatures("proxyseg-tests/no-such-model"), "no-such-model", "local hub cache")
    assert connections == []


@pytest.fixture
def ssl_model_dir(tmp_path) -> Path:
    """A tiny WavLM teacher saved with save_model, its backbone folder then removed."""
    pytest.importorskip("transformers")
    from proxyseg.features.ssl import save_tiny_random_model

    backbone = save_tiny_random_model(tmp_path / "wavlm")
    model = TCNSegmenter(features="ssl", ssl_model=str(backbone), repeats=1)
    save_model(tmp_path / "model", model)
    assert model.get_config()["ssl_model"] == str(backbone)  # the model is left as it was
    shutil.rmtree(backbone)
    return tmp_path / "model"


def test_case3_a_saved_ssl_model_holds_its_backbone_and_loads_offline(ssl_model_dir, connections):
    config = json.loads((ssl_model_dir / "config.json").read_text())
    assert config["arguments"]["ssl_model"] == "ssl"
    assert sorted(p.name for p in (ssl_model_dir / "ssl").iterdir()) == [
        "config.json", "model.safetensors", "preprocessor_config.json"]
    loaded = load_model(ssl_model_dir)
    with torch.no_grad():
        assert loaded.model(torch.zeros(1, 16000))["logits"].shape == (1, 49, 4)
    assert connections == []


def test_case2_a_fifo_in_the_ssl_folder_is_refused_without_waiting(ssl_model_dir):
    fifo = ssl_model_dir / "ssl" / "config.json"
    fifo.unlink()
    os.mkfifo(fifo)
    _refused_without_hanging("model", ssl_model_dir, "config.json", "not a regular file")


@pytest.mark.parametrize("change, words", [
    ({"num_hidden_layers": 100_000}, "num_hidden_layers must be an integer from 1 to 128"),
    ({"hidden_size": 8192, "intermediate_size": 65536, "num_hidden_layers": 128}, "weights, more than"),
    ({"hidden_size": float("nan")}, "hidden_size"),
    ({"conv_dim": "wide"}, "conv_dim"),
])
def test_case1_an_ssl_backbone_sized_beyond_limits_is_refused_before_it_is_built(ssl_model_dir, change, words):
    """The backbone's own config.json, in the model folder, is checked as ours is (it hung for minutes)."""
    config = json.loads((ssl_model_dir / "ssl" / "config.json").read_text())
    (ssl_model_dir / "ssl" / "config.json").write_text(json.dumps({**config, **change}))
    _refused(lambda: load_model(ssl_model_dir), "ssl", words)


def test_case5_an_ssl_backbone_with_nan_weights_is_refused(ssl_model_dir):
    _rewrite_weights(ssl_model_dir / "ssl", lambda s: s["feature_projection.projection.bias"].fill_(float("nan")))
    _refused(lambda: load_model(ssl_model_dir), "ssl", "NaN or infinite")


# Rule 4: malformed structures are refused in one line naming the file and the field.

def _replaced(old: str, new: str) -> str:
    assert old in SHIPPED_CONFIG
    return SHIPPED_CONFIG.replace(old, new, 1)


def _edited(change) -> str:
    config = json.loads(SHIPPED_CONFIG)
    change(config)
    return json.dumps(config)


@pytest.mark.parametrize("text, words", [
    (_edited(lambda c: c.update(classes=None)), ["classes must be a list"]),
    (_edited(lambda c: c.update(classes=[])), ["classes must be a list of 1 to 4"]),
    (_edited(lambda c: c.update(classes=["speech", "speech"])), ["classes must not repeat"]),
    (_edited(lambda c: c.update(binarization=[1, 2])), ["binarization must be an object"]),
    (_edited(lambda c: c.update(binarization={"speech": 1})), ["binarization.speech must be an object"]),
    (_edited(lambda c: c["binarization"].update(laughter={})), ["a key of binarization"]),
    (_edited(lambda c: c["binarization"]["speech"].update(onset="high")), ["binarization.speech.onset"]),
    ('{"type": ' + "[" * 100_000 + "]" * 100_000 + "}", ["nested too deeply"]),
    (_edited(lambda c: c["arguments"].update(blocks="3")), ["blocks must be an integer"]),
    (_edited(lambda c: c["arguments"].update(blocks=True)), ["blocks must be an integer", "got true"]),
    (_edited(lambda c: c["arguments"].update(blocks=3.0)), ["blocks must be an integer"]),
    (_edited(lambda c: c["arguments"].update(ssl_layers=5)), ["ssl_layers must be a string"]),
    (_edited(lambda c: c["arguments"].update(log_offset=0)), ["log_offset must be a finite number above 0"]),
    (_replaced("1e-06", "NaN"), ["NaN is not a number"]),
    (_replaced("1e-06", "-Infinity"), ["-Infinity is not a number"]),
    (_replaced("1e-06", "1e400"), ["1e400 is beyond the range"]),
    (_replaced('"blocks": 3', '"blocks": ' + "9" * 5000), ["an integer of 5000 digits"]),
    (_replaced('"type": "tcn_segmenter",', '"type": "tcn_segmenter", "type": "proxy_segmenter",'),
     ["key 'type' appears twice"]),
    (_edited(lambda c: c.update(arguments=[1])), ["arguments must be an object"]),
    (_edited(lambda c: c.update(specification=[1])), ["specification must be an object"]),
    (_edited(lambda c: c["specification"].update(sample_rate=8000)),
     ["made by proxyseg 0.1.0 for 8000 Hz audio in frames of 400 samples every 320", "works on 16000 Hz"]),
    (_edited(lambda c: c["specification"].update(hop_length=160, proxyseg_version="0.4.2")),
     ["made by proxyseg 0.4.2 for 16000 Hz audio in frames of 400 samples every 160", "every 320"]),
    (_edited(lambda c: c["specification"].update(hop_length=True)), ["specification.hop_length"]),
    (_edited(lambda c: c.update(type=["tcn_segmenter"])), ["type must be a string"]),
    (_edited(lambda c: c.pop("type")), ["type is missing"]),
    (_edited(lambda c: c.update(extra=1)), ["extra is not a known field"]),
    (_edited(lambda c: c["arguments"].update(kernel_size=-3)), ["kernel_size must be an integer"]),
    ("[]", ["must be a JSON object, got a list"]),
    ("", ["malformed JSON"]),
], ids=['classes null',
    'classes empty',
    'classes repeated',
    'binarization a list',
    'binarization of a number',
    'binarization of an unknown class',
    'onset a string',
    'nested 100,000 deep',
    'blocks a string',
    'blocks a boolean',
    'blocks a float',
    'ssl_layers a number',
    'log_offset zero',
    'NaN literal',
    '-Infinity literal',
    '1e400',
    '5000-digit integer',
    'duplicate keys',
    'arguments a list',
    'specification a list',
    'another sample rate',
    'another hop, another version',
    'hop a boolean',
    'type a list',
    'type missing',
    'unknown field',
    'negative kernel',
    'a list',
    'empty file'])
def test_case4_a_malformed_config_is_refused_naming_the_file_and_field(teacher_dir, text, words):
    (teacher_dir / "config.json").write_text(text)
    _refused(lambda: load_model(teacher_dir), "config.json", *words)


# Rule 5: weights and dictionaries are checked as configs are.

def _header_only(directory: Path, header: dict, length: int | None = None) -> None:
    raw = json.dumps(header).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", length or len(raw)) + raw)


@pytest.mark.parametrize("write", [
    lambda d: _header_only(d, {}, length=2**62),
    lambda d: _header_only(d, {"x": {"dtype": "F32", "shape": [2**30, 2**30], "data_offsets": [0, 2**62]}}),
    lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:5000]),
    lambda d: (d / "model.safetensors").write_bytes(b""),
], ids=["header length 2**62", "a tensor of 2**60 floats", "truncated", "empty"])
def test_case5_a_safetensors_header_claiming_too_much_is_refused_in_one_line(teacher_dir, write):
    """safetensors refused these before too; a guard now that the weights are opened after our own checks."""
    write(teacher_dir)
    _refused(lambda: load_model(teacher_dir), "model.safetensors")


def _rewrite_weights(directory: Path, change) -> None:
    state = load_file(str(directory / "model.safetensors"))
    change(state)
    save_file(state, str(directory / "model.safetensors"))


def test_case5_weights_of_another_dtype_are_refused(teacher_dir):
    _rewrite_weights(teacher_dir, lambda s: s.update({k: v.int() for k, v in s.items() if v.is_floating_point()}))
    _refused(lambda: load_model(teacher_dir), "model.safetensors", "do not fit")


def test_case5_an_extra_tensor_is_refused(teacher_dir):
    _rewrite_weights(teacher_dir, lambda s: s.update(extra=torch.zeros(3)))
    _refused(lambda: load_model(teacher_dir), "model.safetensors", "do not fit", "extra")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_case5_weights_holding_nan_or_infinity_are_refused(teacher_dir, value):
    _rewrite_weights(teacher_dir, lambda s: s["classifier.bias"].fill_(value))
    _refused(lambda: load_model(teacher_dir), "model.safetensors", "NaN or infinite", "classifier.bias")


def test_case2_a_teacher_folder_linked_outside_the_proxy_is_refused(proxy_dir, tmp_path):
    shutil.move(proxy_dir / "teacher", tmp_path / "elsewhere")
    (proxy_dir / "teacher").symlink_to(tmp_path / "elsewhere")
    _refused(lambda: teacher_of(load_model(proxy_dir)), "a folder inside it")


def _dictionary_json(directory: Path, change) -> None:
    config = json.loads((directory / "dictionary.json").read_text())
    change(config)
    (directory / "dictionary.json").write_text(json.dumps(config))


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(rank="128"), ["rank must be an integer"]),
    (lambda c: c.update(rank=10**9), ["rank must be an integer"]),
    (lambda c: c.update(beta=0.5), ["beta must be one of"]),
    (lambda c: c.update(sparsity=-1), ["sparsity must be a finite number"]),
    (lambda c: c.update(rank=64), ["of shape (bins, 64)"]),
    (lambda c: c.pop("rank"), ["rank is missing"]),
    (lambda c: c["spectrogram"].update(n_fft=1024), ["spectrogram must be one of"]),
])
def test_case4_a_malformed_dictionary_json_is_refused(proxy_dir, change, words):
    _dictionary_json(proxy_dir, change)
    _refused(lambda: Dictionary.load(proxy_dir), "dictionary.json" if "shape" not in words[0] else "dictionary",
             "not an NMF dictionary", *words)


@pytest.mark.parametrize("atoms, words", [
    (np.ones((257, 128), np.int32), ["float32 tensor 'atoms'"]),
    (np.full((257, 128), np.nan, np.float32), ["finite and non-negative"]),
    (-np.ones((257, 128), np.float32), ["finite and non-negative"]),
    (np.ones((257, 128, 1), np.float32), ["float32 tensor 'atoms'"]),
])
def test_case5_malformed_dictionary_atoms_are_refused(proxy_dir, atoms, words):
    save_numpy({"atoms": atoms}, str(proxy_dir / "dictionary.safetensors"))
    _refused(lambda: Dictionary.load(proxy_dir), "not an NMF dictionary", *words)


def test_case4_a_dictionary_json_that_is_a_list_is_refused(proxy_dir):
    (proxy_dir / "dictionary.json").write_text("[128]")
    _refused(lambda: Dictionary.load(proxy_dir), "dictionary.json", "must be a JSON object")
