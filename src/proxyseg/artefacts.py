"""Model directories: ``config.json`` + ``model.safetensors``, and nothing is ever unpickled.

``config.json`` holds the model's type, its constructor arguments (so that
``MODEL_TYPES[type](**arguments)`` rebuilds it), a specification (classes, sample rate, frame
hop and window, training chunk, library version) and the tuned binarisation per class.
:func:`load_model` takes a directory or the name of a model shipped in
``proxyseg/pretrained/`` (e.g. ``teacher``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from proxyseg import __version__
from proxyseg.atomic import atomic_output, write_json
from proxyseg.errors import ModelError
from proxyseg.features import HOP_LENGTH, SAMPLE_RATE, WIN_LENGTH
from proxyseg.labels import CLASSES, Hysteresis
from proxyseg.models.proxy import ProxySegmenter
from proxyseg.models.tcn import TCNSegmenter

#: Model classes that a directory may name in its ``type``.
MODEL_TYPES: dict[str, type[nn.Module]] = {"tcn_segmenter": TCNSegmenter, "proxy_segmenter": ProxySegmenter}
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
CONFIG, WEIGHTS = "config.json", "model.safetensors"
# Files that would be unpickled by other tools: their presence means the directory is not ours.
_PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}


@dataclass
class LoadedModel:
    """A model read from a directory.

    Attributes
    ----------
    model
        The ``nn.Module``, in evaluation mode.
    type
        Its key in :data:`MODEL_TYPES`.
    classes
        The classes it was trained on (others are not predictions).
    binarization
        Per-class thresholds and minimum durations tuned on a dev set.
    specification
        Sample rate, hop, window, training chunk, version.
    path
        The directory.
    """

    model: nn.Module
    type: str
    classes: tuple[str, ...]
    binarization: dict[str, Hysteresis] = field(default_factory=dict)
    specification: dict = field(default_factory=dict)
    path: Path | None = None


def specification(chunk_duration: float, **extra) -> dict:
    """The specification stored with a model: audio and frame parameters, and the version."""
    return {"sample_rate": SAMPLE_RATE, "hop_length": HOP_LENGTH, "win_length": WIN_LENGTH,
            "chunk_duration": chunk_duration, "proxyseg_version": __version__, **extra}


def save_model(directory: str | Path, model: nn.Module, *, classes: tuple[str, ...] = CLASSES,
               binarization: dict[str, Hysteresis] | None = None, spec: dict | None = None) -> Path:
    """Write ``model`` to ``directory`` as ``config.json`` + ``model.safetensors``.

    Parameters
    ----------
    directory
        Created if needed; both files are written atomically, ``config.json`` last (an earlier
        one is removed first, so that a run killed in between leaves no model rather than a
        mismatched one).
    model
        An instance of a class of :data:`MODEL_TYPES` with a ``get_config()`` method.
    classes
        Classes the model was trained on.
    binarization
        Per-class thresholds.
    spec
        See :func:`specification`.

    Returns
    -------
    Path
        ``directory``.
    """
    directory = Path(directory)
    names = [name for name, cls in MODEL_TYPES.items() if type(model) is cls]
    if not names:
        raise ValueError(f"cannot save a {type(model).__name__}; known types: {sorted(MODEL_TYPES)}")
    config = {
        "type": names[0],
        "arguments": model.get_config(),
        "classes": list(classes),
        "binarization": {name: value.to_dict() for name, value in (binarization or {}).items()},
        "specification": spec or specification(chunk_duration=4.0),
    }
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    # The configuration goes last: a directory holding one holds the weights that go with it.
    (directory / CONFIG).unlink(missing_ok=True)
    with atomic_output(directory / WEIGHTS) as partial:
        save_file(state, str(partial))
    write_json(directory / CONFIG, config)
    return directory


def resolve(name_or_path: str | Path) -> Path:
    """The directory of a shipped model name (``teacher``) or of a path."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    shipped = PRETRAINED_DIR / str(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and shipped.is_dir():
        return shipped
    available = sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.is_dir()) if PRETRAINED_DIR.is_dir() else []
    raise ModelError(f"{name_or_path}: no such model directory; shipped models: {', '.join(available) or 'none'}")


def load_model(name_or_path: str | Path) -> LoadedModel:
    """Read a model directory (or a shipped model's name), refusing anything but safetensors + JSON.

    Raises
    ------
    ModelError
        Missing or malformed ``config.json``, unknown type, pickle files in the directory,
        missing, malformed or mismatched weights.
    """
    directory = resolve(name_or_path)
    pickles = sorted(p.name for p in directory.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
    if pickles:
        raise ModelError(f"{directory}: holds pickle files ({', '.join(pickles)}); "
                         "proxyseg only loads config.json + model.safetensors")
    config = _read_config(directory)
    cls = MODEL_TYPES.get(config.get("type"))
    if cls is None:
        raise ModelError(f"{directory}: unknown model type {config.get('type')!r}; known: {sorted(MODEL_TYPES)}")
    try:
        model = cls(**config.get("arguments", {}))
    except (TypeError, ValueError) as error:
        raise ModelError(f"{directory}: invalid arguments for {config['type']}: {error}") from None
    try:
        state = load_file(str(directory / WEIGHTS))
    except (OSError, SafetensorError) as error:
        raise ModelError(f"{directory}: cannot read {WEIGHTS}: {error}") from None
    expected = model.state_dict()
    problems = sorted(set(expected) ^ set(state)) + sorted(
        name for name in set(expected) & set(state) if expected[name].shape != state[name].shape)
    if problems:
        raise ModelError(f"{directory}: weights do not fit a {config['type']} with these arguments "
                         f"(mismatched: {', '.join(problems[:5])}{'…' if len(problems) > 5 else ''})")
    model.load_state_dict(state)
    classes = tuple(config.get("classes", CLASSES))
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown:
        raise ModelError(f"{directory}: unknown classes {unknown} in config.json")
    try:
        binarization = {name: Hysteresis.from_dict(value) for name, value in config.get("binarization", {}).items()}
    except (TypeError, ValueError) as error:
        raise ModelError(f"{directory}: invalid binarization in config.json: {error}") from None
    return LoadedModel(model.eval(), config["type"], classes, binarization, config.get("specification", {}), directory)


def _read_config(directory: Path) -> dict:
    path = directory / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{directory}: not a model directory (no {CONFIG})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{directory}: malformed {CONFIG}: {error}") from None
    if not isinstance(config, dict):
        raise ModelError(f"{directory}: malformed {CONFIG}: not a JSON object")
    return config
