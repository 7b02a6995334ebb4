"""Lightning checkpoints without pickle: tensors in safetensors, everything else in JSON.

A Lightning checkpoint is a nested structure of dicts, lists and tuples holding tensors and
plain values (model and optimiser states, loop counters, callback states). This plug-in stores
the tensors in ``<path>`` (a safetensors file) and the structure, with references to the
tensors, in its metadata; loading rebuilds the structure without running any unpickler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import CheckpointIO
from safetensors import safe_open
from safetensors.torch import save_file

from proxyseg.atomic import atomic_output

_STRUCTURE_KEY = "proxyseg_checkpoint_structure"


class SafetensorsCheckpointIO(CheckpointIO):
    """Save and load Lightning checkpoints as safetensors files (see the module docstring)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        tensors: dict[str, torch.Tensor] = {}
        structure = _encode(checkpoint, tensors)
        with atomic_output(path) as partial:
            save_file(tensors, str(partial), metadata={_STRUCTURE_KEY: json.dumps(structure)})

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        device = map_location if isinstance(map_location, (str, torch.device)) else "cpu"
        with safe_open(str(path), framework="pt", device=str(device)) as handle:
            structure = json.loads(handle.metadata()[_STRUCTURE_KEY])
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        return _decode(structure, tensors)

    def remove_checkpoint(self, path) -> None:
        Path(path).unlink(missing_ok=True)


def _encode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-ready form of ``value``; tensors are moved to ``tensors`` and referenced by name."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().clone()  # a tensor may be referenced twice
        return {"tensor": name}
    if isinstance(value, dict):
        # Keys may be integers (optimiser states), so pairs keep their types.
        return {"dict": [[_encode(key, tensors), _encode(item, tensors)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [_encode(item, tensors) for item in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint without pickle: {value!r}")


def _decode(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    (kind, content), = node.items()
    if kind == "tensor":
        return tensors[content]
    if kind == "dict":
        return {_decode(key, tensors): _decode(item, tensors) for key, item in content}
    if kind in ("list", "tuple"):
        items = [_decode(item, tensors) for item in content]
        return tuple(items) if kind == "tuple" else items
    return content
