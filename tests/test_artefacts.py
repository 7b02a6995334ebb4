import json

import pytest
import torch

from proxyseg.artefacts import load_model, save_model
from proxyseg.errors import ModelError
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.postprocessing import Binarization


@pytest.fixture
def saved(tmp_path):
    model = TCNSegmenter(repeats=1)
    save_model(tmp_path / "model", model, classes=("speech", "overlap"),
               binarization={"speech": Binarization(0.6, 0.4, 0.1, 0.2)})
    return tmp_path / "model", model


def test_round_trip_keeps_weights_classes_and_thresholds(saved):
    directory, model = saved
    loaded = load_model(directory)
    assert loaded.classes == ("speech", "overlap")
    assert loaded.binarization == {"speech": Binarization(0.6, 0.4, 0.1, 0.2)}
    assert not loaded.model.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor)
    config = json.loads((directory / "config.json").read_text())
    assert config["type"] == "tcn_segmenter" and config["arguments"] == model.get_config()
    assert config["specification"]["hop_length"] == 320


def test_a_model_saved_under_the_old_argument_names_loads(tmp_path):
    """Directories written before ``hidden`` became ``channels`` and ``dictionary`` ``dictionary_mode``."""
    from proxyseg.models.proxy import ProxySegmenter

    model = ProxySegmenter(features="teacher", rank=8, channels=16, repeats=1, teacher={"channels": 8, "repeats": 1})
    save_model(tmp_path / "old", model)
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    arguments = config["arguments"]
    arguments["hidden"], arguments["dictionary"] = arguments.pop("channels"), arguments.pop("dictionary_mode")
    arguments["teacher"]["hidden"] = arguments["teacher"].pop("channels")
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    loaded = load_model(tmp_path / "old")
    assert loaded.model.get_config() == model.get_config()
    arguments["channels"] = 16
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="arguments.hidden is the old name of arguments.channels"):
        load_model(tmp_path / "old")


def test_a_directory_with_a_pickle_is_refused(saved):
    directory, _ = saved
    torch.save({"a": 1}, directory / "extra.pt")
    with pytest.raises(ModelError, match="pickle"):
        load_model(directory)


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(type="mystery"), "unknown model type"),
    (lambda c: c["arguments"].update(bottleneck=32), "do not fit"),
    (lambda c: c["arguments"].update(colour="blue"), "invalid arguments"),
    (lambda c: c.update(classes=["speech", "laughter"]), r"classes\[1\] must be one of .*laughter"),
    (lambda c: c.update(binarization={"speech": {"onset": 0.2, "offset": 0.9}}), "invalid binarization"),
])
def test_malformed_configs_are_refused_with_a_clear_error(saved, change, message):
    directory, _ = saved
    config = json.loads((directory / "config.json").read_text())
    change(config)
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=message):
        load_model(directory)


def test_missing_or_garbled_files(saved, tmp_path):
    directory, _ = saved
    (directory / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(directory)
    (directory / "config.json").write_text("{")
    with pytest.raises(ModelError, match="malformed"):
        load_model(directory)
    with pytest.raises(ModelError, match="no such model"):
        load_model(tmp_path / "nowhere")
