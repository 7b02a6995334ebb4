"""SSL features (WavLM, HuBERT) on tiny random models saved to disk and loaded back by path."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from proxyseg.errors import ModelError  # noqa: E402
from proxyseg.features.ssl import SSLFeatures, save_tiny_random_model  # noqa: E402
from proxyseg.grid import num_feature_frames  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models gain nothing from threads; one keeps these tests light on a shared machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=["wavlm", "hubert"])
def model_dir(request, tmp_path_factory):
    # HuBERT without input normalisation, so that both settings of do_normalize are covered.
    return save_tiny_random_model(tmp_path_factory.mktemp(request.param), request.param,
                                  do_normalize=request.param == "wavlm")


@pytest.fixture(scope="module")
def features(model_dir):
    return SSLFeatures(str(model_dir))


def test_saved_files_are_safetensors_and_json(model_dir):
    assert sorted(path.name for path in model_dir.iterdir()) == ["config.json", "model.safetensors",
                                                                 "preprocessor_config.json"]


@pytest.mark.parametrize("samples", [16000, 64000, 64321, 399, 400])
def test_output_shape_is_on_the_feature_grid(features, samples):
    with torch.no_grad():
        output = features(torch.randn(2, samples))
    assert output.shape == (2, features.num_bins, num_feature_frames(samples))
    assert features.num_bins == 32 and features.num_layers == 3


def test_normalisation_flag_is_read_from_the_feature_extractor(features, model_dir):
    assert features.do_normalize == model_dir.name.startswith("wavlm")
    if features.do_normalize:  # normalised input: invariant to gain and offset
        waveform = torch.randn(1, 8000)
        with torch.no_grad():
            torch.testing.assert_close(features(3 * waveform + 1), features(waveform), atol=1e-4, rtol=1e-4)


def test_backbone_is_frozen_and_stays_in_eval_mode(features):
    parent = torch.nn.Sequential(features)
    parent.train()
    assert features.training and not features.backbone.training
    assert not any(module.training for module in features.backbone.modules())
    assert not any(parameter.requires_grad for parameter in features.backbone.parameters())
    assert features.layer_weights.requires_grad and features.layer_weights.shape == (3,)
    parent.eval()


def test_only_layer_weights_get_gradients(model_dir):
    features = SSLFeatures(str(model_dir)).train()
    with torch.no_grad():
        features.layer_weights.copy_(torch.tensor([0.3, -0.2, 0.1]))
    features(torch.randn(2, 16000)).square().mean().backward()
    assert features.layer_weights.grad is not None and features.layer_weights.grad.abs().sum() > 0
    assert all(parameter.grad is None for parameter in features.backbone.parameters())


def test_uniform_weights_give_the_mean_of_the_hidden_states(features):
    waveform = torch.randn(2, 16000)
    with torch.no_grad():
        output = features(waveform)
        expected_input = waveform
        if features.do_normalize:
            expected_input = (waveform - waveform.mean(-1, keepdim=True)) / torch.sqrt(
                waveform.var(-1, keepdim=True, unbiased=False) + 1e-7)
        hidden = features.backbone(expected_input, output_hidden_states=True).hidden_states
    assert len(hidden) == features.num_layers
    torch.testing.assert_close(output, torch.stack(hidden).mean(0).transpose(1, 2))


def test_layer_selection(model_dir):
    features = SSLFeatures(str(model_dir), layers="0,2")
    assert features.num_layers == 2
    with pytest.raises(ValueError, match="layers"):
        SSLFeatures(str(model_dir), layers="1-7")


def test_state_dict_holds_the_mixing_weights_not_the_frozen_backbone(model_dir):
    first, second = SSLFeatures(str(model_dir)), SSLFeatures(str(model_dir))
    with torch.no_grad():
        first.layer_weights.copy_(torch.tensor([1.0, 2.0, 3.0]))
    parent = torch.nn.Sequential(first)
    assert list(parent.state_dict()) == ["0.layer_weights"]
    torch.nn.Sequential(second).load_state_dict(parent.state_dict(), strict=True)
    waveform = torch.randn(1, 8000)
    with torch.no_grad():
        torch.testing.assert_close(second(waveform), first(waveform))


def test_missing_directory_raises_model_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match="must be available locally") as error:
        SSLFeatures(str(missing))
    assert "no such directory" in str(error.value) and str(missing) in str(error.value)


def test_directory_without_weights_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="must be available locally"):
        SSLFeatures(str(tmp_path))


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        save_tiny_random_model(tmp_path, "whisper")
