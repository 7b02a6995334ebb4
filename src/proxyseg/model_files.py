"""Reading a folder that may come from someone else (a model directory, a dictionary) as data that
can be wrong in any way: only regular files inside the folder, JSON of a bounded size parsed strictly
and checked against a schema (:mod:`proxyseg.schema`), safetensors whose header is checked before any
tensor is read. Nothing here unpickles. Every problem is a :class:`~proxyseg.errors.ModelError` of one
line naming the file.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from safetensors import SafetensorError, safe_open

from proxyseg.errors import ModelError
from proxyseg.files import parse_json_strictly, read_regular
from proxyseg.schema import Fields, check

#: The shipped configurations are about 1.5 kB: 1 MiB is generous for a JSON file of a model.
MAX_JSON_BYTES = 2**20


def regular_file(directory: Path, name: str, limit: int | None = None) -> Path:
    """``directory/name`` resolved, when it is a regular file inside ``directory`` (of at most ``limit`` bytes).

    Raises
    ------
    ModelError
        Missing, a link leading outside ``directory``, a FIFO, device or folder, or too large.
    """
    path = directory / name
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links on Python < 3.13
        raise ModelError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
    if not real.is_relative_to(directory.resolve()):
        raise ModelError(f"{path}: a link to {real}, outside the model folder; only files inside it are read")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"{path}: not a regular file; only regular files are read")
    if limit is not None and info.st_size > limit:
        raise ModelError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} such a file may have")
    return real


def read_json(directory: Path, name: str, schema: Fields) -> dict:
    """The JSON object in ``directory/name`` (see :func:`regular_file`), parsed strictly and checked against ``schema``.

    Raises
    ------
    ModelError
        Naming the file and the first field that breaks the schema.
    """
    real, path = regular_file(directory, name, MAX_JSON_BYTES), directory / name
    try:
        value = parse_json_strictly(read_regular(real, MAX_JSON_BYTES))  # again: it may have changed since
    except OSError as error:
        raise ModelError(f"{path}: cannot be read ({error.strerror})") from None
    except ValueError as error:  # UnreadableFile too
        raise ModelError(f"{path}: {error}") from None
    if not isinstance(value, dict):
        raise ModelError(f"{path}: must be a JSON object, got a {type(value).__name__}")
    try:
        check(value, schema.rules, required=schema.required)
    except ValueError as error:
        raise ModelError(f"{path}: {error}") from None
    return value


def read_weights(directory: Path, name: str, expected: dict) -> dict:
    """The torch tensors of ``directory/name`` (safetensors), whose names, shapes and dtypes must be ``expected``'s
    (a model's ``state_dict()``).

    The header is checked before any tensor is read; float tensors must be finite.

    Raises
    ------
    ModelError
        Not a regular safetensors file inside ``directory``, or tensors that do not fit.
    """
    import torch  # here: reading a dictionary (numpy) needs only safetensors

    dtypes = {torch.float32: "F32", torch.int64: "I64"}  # as safetensors names them
    path = directory / name
    layout = {key: (tuple(value.shape), dtypes.get(value.dtype, str(value.dtype))) for key, value in expected.items()}
    with open_tensors(directory, name) as handle:
        found = {key: (tuple(handle.get_slice(key).get_shape()), handle.get_slice(key).get_dtype())
                 for key in handle.keys()}
        problems = sorted(set(layout) ^ set(found)) + sorted(k for k in set(layout) & set(found)
                                                            if layout[k] != found[k])
        if problems:
            raise ModelError(f"{path}: weights do not fit the model (mismatched: "
                             f"{', '.join(problems[:5])}{'…' if len(problems) > 5 else ''})")
        state = {key: handle.get_tensor(key) for key in layout}
    broken = sorted(key for key, tensor in state.items() if tensor.is_floating_point() and not tensor.isfinite().all())
    if broken:
        raise ModelError(f"{path}: weights hold NaN or infinite values ({', '.join(broken[:5])})")
    return state


@contextmanager
def open_tensors(directory: Path, name: str, framework: str = "pt") -> Iterator:
    """safetensors' handle on ``directory/name`` (see :func:`regular_file`): its header is read, not its tensors."""
    real, path = regular_file(directory, name), directory / name
    try:
        with safe_open(str(real), framework=framework) as handle:
            yield handle
    except (OSError, SafetensorError) as error:
        raise ModelError(f"{path}: cannot read it as safetensors ({error})") from None
