"""Self-supervised speech features (WavLM, HuBERT, wav2vec2) through Hugging Face ``transformers``.

:class:`SSLFeatures` is the paper's teacher front end (DESIGN §1): a frozen backbone whose hidden
states are mixed by a learned softmax-weighted sum, on the 20 ms grid of :mod:`proxyseg.features`
(the backbones' convolutions read 400 samples every 320: their frame count is exactly
:func:`~proxyseg.grid.num_feature_frames`).

Weights come from a local directory, or a Hugging Face model id already in the local hub cache,
as safetensors only (nothing in proxyseg unpickles); nothing is ever downloaded: download a model
beforehand into a directory and pass it. Some hub repositories (e.g.
``microsoft/wavlm-base-plus``) publish only a pickled ``pytorch_model.bin``: convert it once, where
you trust it, with ``save_pretrained``. :func:`save_tiny_random_model` makes a tiny offline stand-in.

Unlike the spectrogram, these features are not local: self-attention sees the whole input, so a
frame's features depend on the whole window given to the backbone. A teacher on SSL features thus
processes files in fixed windows (its training chunk, e.g. 4 s) and equals "chunk = whole file"
only within that windowing, not for arbitrary chunk sizes.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from proxyseg.errors import ModelError
from proxyseg.grid import HOP_LENGTH, num_feature_frames
from proxyseg.schema import Integer, ListOf, check

_MODELS = {"wavlm": "WavLM", "hubert": "Hubert", "wav2vec2": "Wav2Vec2"}


def _transformers():
    # Imported on use: transformers is an optional dependency and slow to import.
    try:
        import transformers
    except ImportError as error:
        raise ModelError("SSL features need the optional package transformers: pip install transformers") from error
    return transformers


def _load(model: str) -> tuple[nn.Module, bool, Path]:
    """The backbone, whether its input is normalised and its local directory, or a :class:`ModelError`.

    Loads are local only: a hub id is looked up in the local cache and nowhere else.
    """
    transformers = _transformers()
    hint = ("the weights must be available locally: download them beforehand (e.g. `hf download "
            "microsoft/wavlm-large --local-dir DIR` on a machine with network access) and pass that "
            "directory; proxyseg reads only safetensors weights (model.safetensors)")
    directory = _local_directory(model)
    if directory is None:
        raise ModelError(f"cannot load SSL model {model!r}: no such directory, nor a model id in the local "
                         f"hub cache; {hint}")
    try:
        config = transformers.AutoConfig.from_pretrained(directory, local_files_only=True)
        if not hasattr(config, "conv_stride") or not hasattr(config, "hidden_size"):
            raise ModelError(f"{model!r} is a {type(config).__name__}, not a WavLM/HuBERT/wav2vec2 speech model")
        _check_size(config)
        backbone, info = transformers.AutoModel.from_pretrained(directory, config=config, use_safetensors=True,
                                                                local_files_only=True, output_loading_info=True)
    except _loading_errors() as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"cannot load SSL model {model!r} ({reason}); {hint}") from error
    if math.prod(config.conv_stride) != HOP_LENGTH:
        raise ModelError(f"{model!r} has a hop of {math.prod(config.conv_stride)} samples, not {HOP_LENGTH} (20 ms)")
    # masked_spec_embed only serves masking during pre-training; anything else missing would be
    # silently random, which a frozen feature extractor must not be.
    missing = sorted(key for key in info["missing_keys"] if "masked_spec_embed" not in key)
    if missing:
        raise ModelError(f"SSL model {model!r} lacks weights {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if not all(torch.isfinite(weight).all() for weight in backbone.state_dict().values() if weight.is_floating_point()):
        raise ModelError(f"SSL model {model!r}: its weights hold NaN or infinite values")
    try:
        extractor = transformers.AutoFeatureExtractor.from_pretrained(directory, local_files_only=True)
        do_normalize = getattr(extractor, "do_normalize", True)
    except (OSError, ValueError):  # no preprocessor_config.json: fall back on the model config
        do_normalize = getattr(config, "do_normalize", True)
    return backbone, bool(do_normalize), Path(directory)


def _loading_errors() -> tuple[type[Exception], ...]:
    """What transformers raises on files it cannot use: OSError and ValueError for files and configs,
    hub's strict-dataclass errors (recent versions) or the constructor's own for values of the wrong type."""
    from huggingface_hub import errors  # a dependency of transformers

    return (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError,
            getattr(errors, "StrictDataclassError", OSError))


#: The fields of a backbone's config that size it (the others are flags and small constants).
_SIZES = {"num_hidden_layers": Integer(1, 128), "hidden_size": Integer(1, 8192), "intermediate_size": Integer(1, 65536),
          "num_attention_heads": Integer(1, 1024), "num_conv_pos_embeddings": Integer(1, 4096),
          "num_conv_pos_embedding_groups": Integer(1, 8192), "conv_dim": ListOf(Integer(1, 8192), 1, 32),
          "conv_kernel": ListOf(Integer(1, 4096), 1, 32), "conv_stride": ListOf(Integer(1, 4096), 1, 32),
          "num_adapter_layers": Integer(0, 64)}
#: Weights of a backbone (WavLM-Large has 316 M): far more means a config that is not such a model.
MAX_BACKBONE_PARAMETERS = 2_000_000_000


def _check_size(config) -> None:
    """Refuse a backbone config whose sizes are out of range, or that makes too many weights, before it is built."""
    sizes = {name: list(value) if isinstance(value, tuple) else value
             for name in _SIZES if (value := getattr(config, name, None)) is not None}
    check(sizes, _SIZES)
    hidden, layers, dims = sizes["hidden_size"], sizes["num_hidden_layers"], sizes["conv_dim"]
    # The leading terms: attention and feed-forward per layer, the convolutions, the positional convolution.
    weights = (layers * (4 * hidden * hidden + 2 * hidden * sizes.get("intermediate_size", 4 * hidden))
               + sum(a * b * k for a, b, k in zip([1, *dims], dims, sizes["conv_kernel"]))
               + hidden * hidden * sizes.get("num_conv_pos_embeddings", 128))
    if weights > MAX_BACKBONE_PARAMETERS:
        raise ValueError(f"its config makes about {weights:,} weights, more than the "
                         f"{MAX_BACKBONE_PARAMETERS:,} allowed")


def _local_directory(model: str) -> str | None:
    """``model`` as a local directory: itself, or a hub id's folder in the local cache (no network)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    # A hub id is "name" or "namespace/name"; anything else can only be a directory.
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        return None
    from huggingface_hub import try_to_load_from_cache  # a dependency of transformers

    try:
        cached = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a valid hub id
        return None
    return str(Path(cached).parent) if isinstance(cached, str) else None


def _parse_layers(layers: str, available: int) -> list[int]:
    if layers == "all":
        return list(range(available))
    chosen = []
    try:
        for part in layers.split(","):
            first, _, last = part.strip().partition("-")
            chosen.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        chosen = []
    if not chosen or min(chosen) < 0 or max(chosen) >= available or len(set(chosen)) < len(chosen):
        raise ValueError(f"layers must be 'all' or indices and ranges in 0..{available - 1} "
                         f"such as '0-6,12', got {layers!r}")
    return chosen


class SSLFeatures(nn.Module):
    """Softmax-weighted sum of the hidden states of a frozen WavLM / HuBERT / wav2vec2.

    Parameters
    ----------
    model
        A local directory, or a Hugging Face model id (``microsoft/wavlm-large``) in the local
        hub cache, loaded with ``transformers.AutoModel.from_pretrained`` from safetensors
        weights, never from the network. :attr:`directory` is the folder it was read from.
    layers
        Hidden states to mix: ``all`` (the convolutional/embedding output and every transformer
        layer, ``num_hidden_layers + 1`` states), or indices and ranges such as ``0-6,12``.
    freeze
        Keep the backbone fixed: no gradients, always in eval mode (no dropout, layer drop or
        SpecAugment masking), even when the parent module trains. Only ``layer_weights`` learn,
        and the backbone's weights are left out of ``state_dict()`` (they are re-read from
        ``model``), so a saved teacher holds the mixing weights, not a copy of WavLM.

    The waveform is normalised per item (zero mean, unit variance) when the model's feature
    extractor says ``do_normalize`` (WavLM-Large does). There are
    :func:`~proxyseg.grid.num_feature_frames` frames, as from WavLM/HuBERT/wav2vec2; a backbone
    whose convolutions read another window (same 320-sample hop) is cropped or edge-padded to that.
    Layers differ a lot in scale: follow with a normalisation (the paper's InstanceNorm).

    Shape:
        - Input: ``(batch, samples)`` at 16 kHz
        - Output: ``(batch, hidden_size, frames)``

    Examples
    --------
    >>> import tempfile, pytest
    >>> _ = pytest.importorskip("transformers")
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     features = SSLFeatures(str(save_tiny_random_model(directory)))
    >>> features(torch.zeros(2, 64000)).shape, features.num_bins, features.num_layers
    (torch.Size([2, 32, 199]), 32, 3)
    """

    def __init__(self, model: str, layers: str = "all", freeze: bool = True):
        super().__init__()
        self._config = {"model": model, "layers": layers, "freeze": freeze}
        self.backbone, self.do_normalize, self.directory = _load(model)
        self.layer_indices = _parse_layers(layers, self.backbone.config.num_hidden_layers + 1)
        self.layer_weights = nn.Parameter(torch.zeros(len(self.layer_indices)))
        self.frozen = freeze
        if freeze:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
            self.register_state_dict_post_hook(_drop_backbone)
            self.register_load_state_dict_pre_hook(_keep_backbone)

    def get_config(self) -> dict:
        """Constructor arguments: ``type(module)(**module.get_config())`` rebuilds it."""
        return dict(self._config)

    @property
    def num_bins(self) -> int:
        """Channels of the output (the backbone's hidden size)."""
        return self.backbone.config.hidden_size

    @property
    def num_layers(self) -> int:
        """Hidden states mixed (the length of ``layer_weights``)."""
        return len(self.layer_indices)

    def train(self, mode: bool = True) -> SSLFeatures:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.dim() != 2:
            raise ValueError(f"expected a waveform of shape (batch, samples), got {tuple(waveform.shape)}")
        frames = num_feature_frames(waveform.shape[-1])
        if frames == 0:  # the convolutions need at least one 400-sample window
            return waveform.new_zeros(waveform.shape[0], self.num_bins, 0)
        if self.do_normalize:  # as Wav2Vec2FeatureExtractor: population variance, epsilon 1e-7
            mean, var = waveform.mean(-1, keepdim=True), waveform.var(-1, keepdim=True, unbiased=False)
            waveform = (waveform - mean) / torch.sqrt(var + 1e-7)
        # A frozen backbone needs no graph, unless the caller wants gradients w.r.t. the input.
        track = torch.is_grad_enabled() and (not self.frozen or waveform.requires_grad)
        with torch.set_grad_enabled(track):
            hidden = self.backbone(waveform, output_hidden_states=True).hidden_states
        weights = torch.softmax(self.layer_weights, 0)
        # A running sum rather than torch.stack: no extra copy of all layers (25 for WavLM-Large).
        mixed = sum(weight * hidden[index] for weight, index in zip(weights, self.layer_indices))
        mixed = mixed.transpose(1, 2)
        if mixed.shape[-1] > frames:
            mixed = mixed[..., :frames]
        elif mixed.shape[-1] < frames:
            mixed = nn.functional.pad(mixed, (0, frames - mixed.shape[-1]), mode="replicate")
        return mixed


def _drop_backbone(module, state_dict, prefix, local_metadata):
    for key in [key for key in state_dict if key.startswith(prefix + "backbone.")]:
        del state_dict[key]


def _keep_backbone(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
    # Files saved without the frozen backbone load strictly: absent backbone entries keep the
    # weights just read from the model directory.
    for key, value in module.backbone.state_dict(prefix=prefix + "backbone.", keep_vars=True).items():
        state_dict.setdefault(key, value.detach())


def save_tiny_random_model(directory: str | Path, kind: str = "wavlm", do_normalize: bool = True,
                           seed: int = 0) -> Path:
    """Save a tiny random WavLM, HuBERT or wav2vec2 (``kind``) that :class:`SSLFeatures` loads.

    Used by the tests, and useful to try the SSL pipeline offline when real weights cannot be
    downloaded: it has the real models' 20 ms convolution stack (so the same frame count) but 32
    channels and 2 transformer layers, and meaningless features. ``wavlm`` follows WavLM-Large's
    layer-norm layout (``feat_extract_norm="layer"``, ``do_stable_layer_norm``), the others the
    base models' (group norm, post-norm). ``directory`` receives ``config.json``,
    ``model.safetensors`` and ``preprocessor_config.json`` (with ``do_normalize``) and is
    returned; ``seed`` fixes the weights without touching the global random state.
    """
    if kind not in _MODELS:
        raise ValueError(f"unknown kind {kind!r}; choose from {sorted(_MODELS)}")
    transformers = _transformers()
    large_layout = {"feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": True}
    config = getattr(transformers, f"{_MODELS[kind]}Config")(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(32,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, **(large_layout if kind == "wavlm" else {}))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(transformers, f"{_MODELS[kind]}Model")(config)
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, padding_value=0.0,
                                          do_normalize=do_normalize,
                                          return_attention_mask=kind == "wavlm").save_pretrained(directory)
    return directory
