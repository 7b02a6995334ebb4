"""Property-based: random JSON as a model's ``config.json`` or a dictionary's ``dictionary.json`` ends in
a usable model (or dictionary) or in one ModelError of one line, in bounded memory; through the
command line, in exactly one ``proxyseg: error:`` line and exit status 1 (issue 13, case 6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxyseg.artefacts import PRETRAINED_DIR, load_model
from proxyseg.cli import cli
from proxyseg.errors import ModelError
from proxyseg.nmf import Dictionary
from test_untrusted_models import loading_memory_kb

PROXY_CONFIG = json.loads((PRETRAINED_DIR / "proxy" / "config.json").read_text())
DICTIONARY_CONFIG = json.loads((PRETRAINED_DIR / "proxy" / "dictionary.json").read_text())


def fuzz(examples: int) -> settings:
    """``examples`` examples, the same at every run, without time limits (as in tests/test_fuzz.py)."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _paths(value, prefix=()) -> list[tuple]:
    """The path of every value inside a JSON structure, containers included."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _replaced(document, path: tuple, value):
    document = json.loads(json.dumps(document))
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    return document


#: Numbers a file may hold: huge, negative, zero, fractional, NaN and infinities (written as JSON's
#: extensions NaN and Infinity, which Python reads), booleans.
numbers = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 2, 10**7, 2**31, 2**63, 10**400]),
                    st.floats(), st.booleans())
json_values = st.recursive(st.none() | numbers | st.text(max_size=12),
                           lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=12)
#: Values close to valid ones, so that some mutations load and the model is then run.
plausible = st.one_of(json_values, st.integers(0, 8), st.floats(0, 1), st.sampled_from(
    ["speech", "music", "noise", "overlap", "all", "0-1", "teacher", "spectrogram", "logmel", "ssl", "joint"]))
mutated_configs = st.builds(_replaced, st.just(PROXY_CONFIG), st.sampled_from(_paths(PROXY_CONFIG)), plausible)
#: Random JSON under the keys a config has (a random object alone seldom reaches past ``type``).
random_configs = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["tcn_segmenter", "proxy_segmenter"]), json_values)},
    optional={name: json_values for name in ("arguments", "classes", "binarization", "specification")})
#: The shipped config with one value set to a random number.
numbered_configs = st.builds(_replaced, st.just(PROXY_CONFIG), st.sampled_from(_paths(PROXY_CONFIG)), numbers)
mutated_dictionaries = st.builds(_replaced, st.just(DICTIONARY_CONFIG), st.sampled_from(_paths(DICTIONARY_CONFIG)),
                                 plausible)


@pytest.fixture(scope="module")
def proxy_copy(tmp_path_factory) -> Path:
    return Path(shutil.copytree(PRETRAINED_DIR / "proxy", tmp_path_factory.mktemp("fuzz") / "proxy"))


def _write(path: Path, document) -> None:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)


def _loads_or_refuses(directory: Path) -> None:
    """A model whose probabilities are finite and in [0, 1], or one ModelError of one line naming a file."""
    try:
        loaded = load_model(directory)
    except ModelError as error:
        assert "\n" not in str(error) and str(directory) in str(error)
        return
    with torch.no_grad():
        probabilities = torch.sigmoid(loaded.model(torch.randn(1, 8000) * 0.1)["logits"])
    assert torch.isfinite(probabilities).all() and probabilities.shape == (1, 24, 4)


@fuzz(60)
@given(st.one_of(json_values, random_configs))
def test_random_json_as_a_config_is_refused_in_one_line(proxy_copy, document):
    _write(proxy_copy / "config.json", document)
    _loads_or_refuses(proxy_copy)


@fuzz(150)
@given(mutated_configs)
def test_a_config_with_a_random_value_anywhere_loads_or_is_refused(proxy_copy, document):
    _write(proxy_copy / "config.json", document)
    _loads_or_refuses(proxy_copy)


@fuzz(80)
@given(st.one_of(mutated_dictionaries, json_values))
def test_a_random_dictionary_json_loads_or_is_refused(proxy_copy, document):
    _write(proxy_copy / "dictionary.json", document)
    try:
        dictionary = Dictionary.load(proxy_copy)
    except ModelError as error:
        assert "\n" not in str(error) and str(proxy_copy) in str(error)
        return
    assert dictionary.atoms.shape == (257, 128) and dictionary.beta in (0.0, 1.0, 2.0)
    assert np.isfinite(dictionary.sparsity) and dictionary.sparsity >= 0


@fuzz(6)
@given(numbered_configs)
def test_through_segment_a_random_config_is_one_error_line_or_a_result(proxy_copy, tmp_path_factory, document):
    _write(proxy_copy / "config.json", document)
    folder = tmp_path_factory.mktemp("segment")
    sf.write(folder / "x.wav", np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1, 16000)
    result = CliRunner().invoke(cli, ["segment", str(folder / "x.wav"), "-o", str(folder / "out"), "--quiet",
                                      "--model", str(proxy_copy)])
    errors = [line for line in result.stderr.splitlines() if line.startswith("proxyseg: error:")]
    if result.exit_code == 0:
        assert (folder / "out" / "x.rttm").exists() and not errors
    else:  # a traceback would leave no error line (the runner keeps the exception)
        assert result.exit_code == 1 and len(errors) == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_extreme_numbers_in_every_field_are_refused_in_bounded_memory(tmp_path):
    """Every numeric field of the shipped proxy's config set to huge and negative values, one by one, in
    a subprocess: its peak memory grows by less than 300 MB over all of them."""
    folders = []
    fields = [path for path in _paths(PROXY_CONFIG) if isinstance(_value(PROXY_CONFIG, path), (int, float))]
    for index, (path, value) in enumerate((p, v) for p in fields for v in (10**9, 2**63, 1e308, -1)):
        folder = Path(shutil.copytree(PRETRAINED_DIR / "proxy", tmp_path / str(index)))
        _write(folder / "config.json", _replaced(PROXY_CONFIG, path, value))
        folders.append(str(folder))
    assert loading_memory_kb(folders, "proxy") < 300_000


def _value(document, path: tuple):
    for key in path:
        document = document[key]
    return document
