"""Model directories: ``config.json`` + ``model.safetensors``, and nothing is ever unpickled.

``config.json`` holds the model's type, its constructor arguments (so that
``MODEL_TYPES[type](**arguments)`` rebuilds it), a specification (classes, sample rate, frame
hop and window, training chunk, library version) and the tuned binarisation per class.
:func:`load_model` takes a directory or the name of a model shipped in
``proxyseg/pretrained/`` (e.g. ``teacher``).

A model directory may come from someone else, so it is read as data that can be wrong in any way:

- Only regular files are read (a FIFO or a device would hang the reader or never end), and only
  inside the directory: a symbolic link is followed when it leads to a regular file inside the
  directory (the directory itself may be a link), and refused otherwise. JSON files are refused
  above :data:`MAX_JSON_BYTES`, before they are read.
- JSON is parsed strictly (no NaN or infinite numbers, no repeated keys) and checked against a
  schema (:mod:`proxyseg.schema`): every number is checked for type and range before it
  sizes anything, and the weights' header (names, shapes, dtypes) is checked against the model
  before any tensor is read; weights must be finite.
- Nothing is fetched: a model on SSL features names its backbone by a folder inside the
  directory (:func:`save_model` copies it there), never by a hub id.

Anything else is a :class:`~proxyseg.errors.ModelError` of one line naming the file and the field.
"""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from safetensors.torch import save_file
from torch import nn

from proxyseg import __version__
from proxyseg.atomic import atomic_output, write_json
from proxyseg.errors import ModelError, OutputError
from proxyseg.features.ssl import SSLFeatures
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE, WIN_LENGTH
from proxyseg.labels import CLASSES
from proxyseg.model_files import MAX_JSON_BYTES, read_json, read_weights, regular_file
from proxyseg.models.proxy import ProxySegmenter
from proxyseg.models.tcn import TCNSegmenter
from proxyseg.ownership import ForeignMarker, read_marker
from proxyseg.postprocessing import Binarization
from proxyseg.schema import Choice, Fields, Integer, ListOf, MapOf, Number, Rule, Text

#: Model classes that a directory may name in its ``type``.
MODEL_TYPES: dict[str, type[nn.Module]] = {"tcn_segmenter": TCNSegmenter, "proxy_segmenter": ProxySegmenter}
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
CONFIG, WEIGHTS = "config.json", "model.safetensors"
#: Where :func:`save_model` puts the SSL backbone of a model on SSL features.
SSL_DIR = "ssl"
# Files that would be unpickled by other tools: their presence means the directory is not ours.
_PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}


class _Anything(Rule):
    """Any JSON value: the model's constructor checks its arguments itself."""

    def check(self, value, name: str) -> None:
        pass


_BINARIZATION = Fields({name: Number(0.0, 1.0) for name in ("onset", "offset")}
                     | {name: Number(0.0, 3600.0) for name in ("min_duration_on", "min_duration_off")})
#: What ``config.json`` may hold (``arguments``: see each model class's ``ARGUMENTS``).
_CONFIG = Fields({
    "type": Text(100),
    "arguments": MapOf(Text(100), _Anything()),
    "classes": ListOf(Choice(CLASSES), shortest=1, longest=len(CLASSES), unique=True),
    "binarization": MapOf(Choice(CLASSES), _BINARIZATION),
    "experts": MapOf(Choice(CLASSES), Text(1000)),  # a committee's (proxyseg.teachers.committee)
    "specification": Fields({"sample_rate": Integer(1, 10**6), "hop_length": Integer(1, 10**6),
                             "win_length": Integer(1, 10**6), "chunk_duration": Number(0.025, 3600.0),
                             "proxyseg_version": Text(100), "features": Text(100), "teacher": Text(1000),
                             # "file": trained on input features of whole files (inference.WholeFileInference)
                             "features_over": Choice(("file",))}),
}, required=("type",))


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
    binarization: dict[str, Binarization] = field(default_factory=dict)
    specification: dict = field(default_factory=dict)
    path: Path | None = None


def specification(chunk_duration: float, **extra) -> dict:
    """The specification stored with a model: audio and frame parameters, and the version."""
    return {"sample_rate": SAMPLE_RATE, "hop_length": HOP_LENGTH, "win_length": WIN_LENGTH,
            "chunk_duration": chunk_duration, "proxyseg_version": __version__, **extra}


def save_model(directory: str | Path, model: nn.Module, *, classes: tuple[str, ...] = CLASSES,
               binarization: dict[str, Binarization] | None = None, spec: dict | None = None) -> Path:
    """Write ``model`` to ``directory`` as ``config.json`` + ``model.safetensors``.

    Parameters
    ----------
    directory
        Created if needed; both files are written atomically, ``config.json`` last (an earlier
        one is removed first, so that a run killed in between leaves no model rather than a
        mismatched one).
    model
        An instance of a class of :data:`MODEL_TYPES` with a ``get_config()`` method. On SSL
        features, the backbone's JSON and safetensors files are copied into ``directory/ssl``
        (unless they are inside ``directory`` already), which the config names: the directory
        is complete on its own, and loading it never looks elsewhere.
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
        "arguments": copy.deepcopy(model.get_config()),  # its SSL folder is rewritten below, not the model's
        "classes": list(classes),
        "binarization": {name: value.to_dict() for name, value in (binarization or {}).items()},
        "specification": spec or specification(chunk_duration=4.0),
    }
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    # Only a model of ours is replaced: another tool's config.json beside its own model.safetensors
    # (a Hugging Face model folder) is refused.
    try:
        read_marker(directory / CONFIG, lambda content: content.get("type") in MODEL_TYPES)
    except ForeignMarker as error:
        raise OutputError(f"{directory} holds a model that is not proxyseg's ({error}); choose an empty or new "
                          "folder") from None
    # The configuration goes last: a directory holding one holds the weights that go with it.
    (directory / CONFIG).unlink(missing_ok=True)
    # The folder the backbone was read from (a hub id's is in the local cache): at most one per model.
    backbones = [module.directory for module in model.modules() if isinstance(module, SSLFeatures)]
    for arguments, backbone in zip(_ssl_arguments(config["arguments"]), backbones):
        arguments["ssl_model"] = _store_ssl(backbone, directory)
    with atomic_output(directory / WEIGHTS) as partial:
        save_file(state, str(partial))
    write_json(directory / CONFIG, config)
    return directory


def _ssl_arguments(arguments: dict) -> list[dict]:
    """The argument dicts (the model's, its teacher's) that name an SSL backbone to load."""
    nested = [arguments, arguments.get("teacher")]
    return [found for found in nested if isinstance(found, dict) and found.get("features") == "ssl"]


def _store_ssl(backbone: Path, directory: Path) -> str:
    """``backbone``'s folder as a path relative to ``directory``, copied into ``directory/ssl`` if outside it."""
    backbone = backbone.resolve()
    if backbone.is_relative_to(directory.resolve()):
        return backbone.relative_to(directory.resolve()).as_posix()
    for file in sorted(backbone.iterdir()):
        if file.is_file() and file.suffix in (".json", ".safetensors"):  # never a pickle
            with atomic_output(directory / SSL_DIR / file.name) as partial:
                shutil.copyfile(file, partial)
    return SSL_DIR


def resolve(name_or_path: str | Path) -> Path:
    """The directory of a shipped model name (``teacher``) or of a path."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    shipped = PRETRAINED_DIR / str(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and shipped.is_dir():
        return shipped
    if path.exists():
        raise ModelError(f"{name_or_path}: not a model directory (a model is a folder holding {CONFIG} and {WEIGHTS})")
    available = sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.is_dir()) if PRETRAINED_DIR.is_dir() else []
    raise ModelError(f"{name_or_path}: no such model directory; shipped models: {', '.join(available) or 'none'}")


def read_config(name_or_path: str | Path) -> tuple[Path, dict]:
    """A model directory (or shipped model) and its checked ``config.json``: no weights are read."""
    directory = resolve(name_or_path)
    return directory, read_json(directory, CONFIG, _CONFIG)


def model_type(name_or_path: str | Path) -> str:
    """The type of a model directory (or shipped model), from its checked ``config.json`` alone."""
    return read_config(name_or_path)[1]["type"]


def load_model(name_or_path: str | Path) -> LoadedModel:
    """Read a model directory (or a shipped model's name), refusing anything but safetensors + JSON.

    See the module's docstring for what is checked, and refused, before anything is allocated.

    Raises
    ------
    ModelError
        Missing or malformed ``config.json``, unknown type, arguments out of range, pickle
        files in the directory, a file that is not a regular file inside the directory,
        missing, malformed, mismatched or non-finite weights.
    """
    directory = resolve(name_or_path)
    try:
        pickles = sorted(p.name for p in directory.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
    except OSError as error:
        raise ModelError(f"{directory}: cannot be listed ({error.strerror})") from None
    if pickles:
        raise ModelError(f"{directory}: holds pickle files ({', '.join(pickles)}); "
                         "proxyseg only loads config.json + model.safetensors")
    if not os.path.lexists(directory / CONFIG):
        raise ModelError(f"{directory}: not a model directory (no {CONFIG})")
    config = read_json(directory, CONFIG, _CONFIG)
    _check_grid(directory, config.get("specification", {}))
    if config["type"] == "committee":
        raise ModelError(f"{directory}: a committee of teachers, not a network: load it with "
                         "proxyseg.teachers.load_teacher or Segmenter.from_pretrained")
    if config["type"] not in MODEL_TYPES:
        raise ModelError(f"{directory / CONFIG}: unknown model type {config['type']!r}; known: {sorted(MODEL_TYPES)}")
    arguments = _current_names(config.get("arguments", {}), directory / CONFIG)
    # Segmentation reads one score per class of CLASSES: fewer would be broadcast, more fail mid-run.
    if arguments.get("num_classes", len(CLASSES)) != len(CLASSES):
        raise ModelError(f"{directory / CONFIG}: arguments.num_classes must be {len(CLASSES)} "
                         f"({', '.join(CLASSES)}), got {str(arguments['num_classes'])[:40]}")
    for found in _ssl_arguments(arguments):
        found["ssl_model"] = _local_ssl(directory, found.get("ssl_model"))
    try:
        model = MODEL_TYPES[config["type"]](**arguments)
    except (TypeError, ValueError) as error:
        raise ModelError(f"{directory / CONFIG}: invalid arguments for {config['type']}: {error}") from None
    model.load_state_dict(read_weights(directory, WEIGHTS, model.state_dict()))
    try:
        binarization = {name: Binarization.from_dict(value) for name, value in config.get("binarization", {}).items()}
    except (TypeError, ValueError) as error:
        raise ModelError(f"{directory / CONFIG}: invalid binarization: {error}") from None
    return LoadedModel(model.eval(), config["type"], tuple(config.get("classes", CLASSES)), binarization,
                       config.get("specification", {}), directory)


#: Constructor arguments renamed since proxyseg 0.1.0 (old name → new): directories saved before still load.
RENAMED_ARGUMENTS = {"hidden": "channels", "dictionary": "dictionary_mode"}


def _current_names(arguments: dict, config: Path) -> dict:
    """``arguments`` (and its teacher's) under today's names (see :data:`RENAMED_ARGUMENTS`)."""
    both = [old for old, new in RENAMED_ARGUMENTS.items() if old in arguments and new in arguments]
    if both:
        raise ModelError(f"{config}: arguments.{both[0]} is the old name of arguments.{RENAMED_ARGUMENTS[both[0]]}; "
                         "give one of them")
    current = {RENAMED_ARGUMENTS.get(name, name): value for name, value in arguments.items()}
    if isinstance(current.get("teacher"), dict):
        current["teacher"] = _current_names(current["teacher"], config)
    return current


def _check_grid(directory: Path, spec: dict) -> None:
    """Refuse, in one line, a model made for another sample rate or frame grid than :mod:`proxyseg.grid`'s."""
    ours = {"sample_rate": SAMPLE_RATE, "hop_length": HOP_LENGTH, "win_length": WIN_LENGTH}
    if all(spec.get(name, value) == value for name, value in ours.items()):
        return
    theirs = {name: spec.get(name, value) for name, value in ours.items()}
    raise ModelError(f"{directory / CONFIG}: made by proxyseg {spec.get('proxyseg_version', '(version not recorded)')} for "
                     f"{theirs['sample_rate']} Hz audio in frames of {theirs['win_length']} samples every "
                     f"{theirs['hop_length']}; proxyseg {__version__} works on {SAMPLE_RATE} Hz in frames of "
                     f"{WIN_LENGTH} every {HOP_LENGTH}: use the proxyseg that made it, or retrain it")


def _local_ssl(directory: Path, name) -> str | None:
    """The SSL backbone ``name`` of a config: a folder inside ``directory`` whose entries are regular files inside it.

    A hub id or any other name is refused here, before anything could look it up: loading a
    model never touches the network.
    """
    if not isinstance(name, str):
        return name  # the model's constructor refuses it
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ModelError(f"{directory / CONFIG}: arguments.ssl_model must name a folder inside the model folder "
                         f"(as {SSL_DIR!r}), got {name[:100]!r}")
    folder = directory / name
    if not folder.resolve().is_relative_to(directory.resolve()) or not folder.is_dir():
        raise ModelError(f"{directory / CONFIG}: arguments.ssl_model {name[:100]!r} is not a folder inside the "
                         "model folder; models name their SSL backbone by such a folder, never by a hub id")
    for entry in sorted(folder.iterdir()):
        regular_file(folder, entry.name, MAX_JSON_BYTES if entry.suffix == ".json" else None)
    return str(folder.resolve())

