import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from proxyseg.audio import load
from proxyseg.cli import cli


def run(*args: str) -> subprocess.CompletedProcess:
    """The installed command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "proxyseg", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def bad_inputs(tmp_path):
    """Every kind of bad audio input, by name."""
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros(16000), 16000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    empty = tmp_path / "empty.wav"
    empty.touch()
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0), 16000)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(100), 16000)
    unknown = tmp_path / "sound.xyz"
    unknown.write_bytes(b"\x00\x01" * 100)
    return {"missing": tmp_path / "missing.wav", "directory": tmp_path, "truncated": truncated, "text": text,
            "empty": empty, "zero": zero, "unknown": unknown, "good": good}


def test_help_lists_the_commands_of_the_contract():
    """The commands and sub-commands that ``proxyseg --help`` and each group's ``--help`` list are
    exactly those of the command-line contract (DESIGN §4), plus ``info``; each one's ``--help``
    works and lists the options the contract gives it (choices included)."""
    contract = {  # command path: {option: choices the contract names (None: any value)}
        ("segment",): {"-o": None, "--format": {"rttm", "csv", "json", "textgrid", "audacity"}, "--model": None},
        ("explain",): {"-o": None, "--model": None},
        ("evaluate",): {"--reference": None, "--hypothesis": None},
        ("corpus", "build"): {"--hours": None, "--seed": None, "--sources": None},
        ("train", "teacher"): {"-o": None},
        ("train", "proxy"): {"--teacher": None, "-o": None, "--features": {"spectrogram", "teacher", "wavlm"}},
        ("nmf", "learn"): {"-o": None, "--rank": None, "--beta": None},
        ("demo",): {"-o": None},
    }
    beyond_the_contract = {("info",): {}, ("train", "committee"): {"-o": None, "--expert": None}}

    def section(output: str, title: str) -> list[str]:
        """The entries of a help section: its lines that start an item (two spaces, then text)."""
        _, found, after = output.partition(f"\n{title}:\n")
        lines = after.split("\n\n", 1)[0].splitlines() if found else []
        return [line.strip() for line in lines if line.startswith("  ") and not line.startswith("   ")]

    def described(path: tuple[str, ...]) -> tuple[set[str], dict[str, str]]:
        """The sub-commands that ``proxyseg PATH --help`` lists, and its options with their metavars."""
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith("Usage: ") and " ".join(path) in result.output.splitlines()[0]
        commands = {entry.split()[0] for entry in section(result.output, "Commands")}
        options = {}
        for entry in section(result.output, "Options"):
            tokens = entry.split("  ")[0].replace(",", "").split()  # "-o, --output DIRECTORY", "--beta [0|1|2]"
            metavar = " ".join(token for token in tokens if not token.startswith("-"))
            options.update((token, metavar) for token in tokens if token.startswith("-"))
        return commands, options

    paths = set(contract) | set(beyond_the_contract)
    groups = {path[:depth] for path in paths for depth in range(len(path) + 1)} - paths  # (), corpus, train, nmf
    for group in groups:
        listed, _ = described(group)
        expected = {path[len(group)] for path in paths if path[:len(group)] == group and len(path) > len(group)}
        assert listed == expected, (group, listed, expected)
    for path, contracted in {**contract, **beyond_the_contract}.items():
        listed, options = described(path)
        assert not listed, (path, listed)  # a command, not a group
        for option, choices in contracted.items():
            assert option in options, (path, option, sorted(options))
            if choices:
                offered = set(options[option].strip("[]").split("|"))
                assert choices <= offered, (path, option, offered)


def test_explain_writes_the_explanation_and_audio_that_adds_back_to_the_input(tiny_corpus, tmp_path):
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    result = CliRunner().invoke(cli, ["explain", str(audio), "-o", str(tmp_path), "--random-draws", "1"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "explanation.json").read_text())
    assert document["input"]["path"] == str(audio)
    detected = [name for name, item in document["classes"].items() if item["detected"] and item["relevant_components"]]
    assert detected
    page = (tmp_path / "report.html").read_text()
    assert page.count("<img") == 4 and page.count('class="faithfulness"') == 4
    assert 'src="input.wav"' in page and (tmp_path / "input.wav").exists()
    for name in detected:
        assert f'src="{name}.wav"' in page
    original = load(audio)
    for name in detected:
        kept, _ = sf.read(tmp_path / f"{name}.wav", dtype="float32")
        rest, _ = sf.read(tmp_path / f"{name}.rest.wav", dtype="float32")
        error = np.sum((kept + rest - original) ** 2)
        assert 10 * np.log10(np.sum(original**2) / error) >= 30


def test_explain_refuses_a_model_without_an_nmf_bottleneck_in_one_line(tiny_corpus, tmp_path):
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    result = CliRunner().invoke(cli, ["explain", str(audio), "-o", str(tmp_path), "--model", "teacher"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "no NMF bottleneck" in result.output


def test_each_bad_input_is_one_line_on_stderr_and_the_good_file_is_still_described(bad_inputs):
    names = ["missing", "directory", "truncated", "text", "empty", "zero", "unknown", "good"]
    result = run("info", *(str(bad_inputs[name]) for name in names))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(names) - 1, result.stderr
    assert all(line.startswith("proxyseg: error: ") for line in errors)
    assert "Traceback" not in result.stderr
    header, row = result.stdout.strip().splitlines()
    assert header.split("\t")[:2] == ["file", "duration_s"]
    assert row.split("\t")[:4] == [str(bad_inputs["good"]), "1.000", "16000", "1"]
    assert "missing.wav: no such file" in result.stderr
    assert "empty file" in result.stderr


def test_a_file_shorter_than_one_frame_is_refused_where_audio_is_decoded(bad_inputs):
    from proxyseg.audio import load
    from proxyseg.errors import AudioTooShortError

    with pytest.raises(AudioTooShortError, match="short.wav"):
        load(bad_inputs["good"].parent / "short.wav")


def test_corpus_build_from_user_sources(source_folder, tmp_path):
    output = tmp_path / "corpus"
    result = run("corpus", "build", str(output), "--hours", "0.025", "--seed", "2", "--sources", str(source_folder),
                 "--group-depth", "1", "--cache-dir", str(tmp_path / "cache"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "corpus statistics" in result.stdout
    stats = json.loads((output / "stats.json").read_text())
    assert stats["total"]["files"] == 3
    # Running again without --overwrite is refused in one line.
    again = run("corpus", "build", str(output), "--sources", str(source_folder), "--cache-dir", str(tmp_path / "cache"))
    assert again.returncode == 1
    assert again.stderr.strip() == f"proxyseg: error: {output} already holds a corpus; use --overwrite to replace it"


def test_corpus_build_with_a_sources_folder_lacking_a_kind(tmp_path):
    (tmp_path / "src" / "speech").mkdir(parents=True)
    result = run("corpus", "build", str(tmp_path / "out"), "--sources", str(tmp_path / "src"), "--quiet")
    assert result.returncode == 1
    assert result.stderr.startswith("proxyseg: error: ") and "music, noise" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_option_values_are_usage_errors():
    result = CliRunner().invoke(cli, ["corpus", "build", "out", "--hours", "-1"])
    assert result.exit_code == 2
    assert "--hours" in result.output


@pytest.mark.parametrize("output_format, extension", [("rttm", "rttm"), ("csv", "csv"), ("textgrid", "TextGrid"),
                                                      ("json", "json"), ("audacity", "txt")])
def test_segment_with_the_shipped_teacher_writes_one_file_per_input(tiny_corpus, tmp_path, output_format, extension):
    from proxyseg.formats import read_annotation

    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    result = run("segment", str(audio), str(tmp_path / "missing.wav"), "-o", str(tmp_path / "out"),
                 "--format", output_format)
    assert result.returncode == 1  # one input failed ...
    assert result.stderr.strip() == f"proxyseg: error: {tmp_path / 'missing.wav'}: no such file or folder"
    written = tmp_path / "out" / f"{audio.stem}.{extension}"  # ... the other was processed
    annotation = read_annotation(written, output_format)
    assert set(annotation.labels()) <= {"speech", "music", "noise", "overlap"}
    assert annotation.get_timeline().extent().end <= 30.0 + 1e-6


def test_segment_rttm_lines_follow_the_contract(tiny_corpus, tmp_path):
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])
    result = run("segment", str(audio), "-o", str(tmp_path), "--model", "teacher")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / f"{audio.stem}.rttm").read_text().splitlines()
    assert lines
    for line in lines:
        fields = line.split(" ")
        assert fields[0] == "SPEAKER" and fields[1] == audio.stem and fields[2] == "1"
        assert float(fields[3]) >= 0 and float(fields[4]) > 0
        assert fields[5:7] == ["<NA>", "<NA>"] and fields[8:] == ["<NA>", "<NA>"]
        assert fields[7] in {"speech", "music", "noise", "overlap"}


def test_explain_on_a_folder_explains_each_file_and_the_set(tiny_corpus, tmp_path):
    import shutil

    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    first, second = (tiny_corpus.audio_path(uri) for uri in tiny_corpus.uris("train")[:2])
    shutil.copy(first, folder / first.name)
    shutil.copy(second, folder / "nested" / second.name)
    (folder / "broken.wav").write_text("not audio")
    result = run("explain", str(folder), "-o", str(tmp_path / "out"), "--random-draws", "1")
    assert result.returncode == 1  # one file failed, the others were explained
    assert result.stderr.count("proxyseg: error:") == 1 and "broken.wav" in result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sorted(summary["files"]) == sorted([first.stem, f"nested/{second.stem}"])
    assert (tmp_path / "out" / "nested" / second.stem / "explanation.json").exists()
    speech = summary["classes"]["speech"]
    assert len(speech["prototype"]) == 257 and speech["band_hz"][0] <= speech["band_hz"][1]
    page = (tmp_path / "out" / "report.html").read_text()
    assert f'href="nested/{second.stem}/report.html"' in page and f'href="{first.stem}/report.html"' in page


def test_training_and_explaining_errors_are_one_line(tmp_path):
    short = tmp_path / "short"
    short.mkdir()
    sf.write(short / "a.wav", np.zeros(16000), 16000)  # shorter than a 4 s training chunk
    for arguments, expected in [
        (["train", "proxy", str(short), "-o", str(tmp_path / "p"), "-q"], "no file is at least 4.0 s"),
        (["train", "proxy", str(short), "-o", str(tmp_path / "q"), "--features", "wavlm"], "needs ssl_model"),
        (["explain", str(tmp_path / "p"), "-o", str(tmp_path / "e")], "no audio file"),
    ]:
        (tmp_path / "p").mkdir(exist_ok=True)
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), arguments
        assert result.output.strip().splitlines()[-1].startswith("proxyseg: error:") and expected in result.output


_WAIT_POLICY_PROBE = """
import os, sys
import proxyseg.cli
loaded_early = "torch" in sys.modules
sys.argv = ["proxyseg", "segment", sys.argv[1], "-o", sys.argv[2], "-q"]
try:
    proxyseg.cli.main()
except SystemExit as end:
    assert end.code in (0, None), end.code
import torch
print(loaded_early, os.environ.get("OMP_WAIT_POLICY"), torch.get_num_threads())
"""


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_command_line_lets_waiting_threads_sleep_unless_told(given, expected, tmp_path):
    """Issue 14: OMP_WAIT_POLICY is read once, when torch loads; the command sets it before (PASSIVE,
    unless the environment says otherwise), so that several threads do not spin beside a busy process."""
    sf.write(tmp_path / "a.wav", np.zeros(32000), 16000)
    environment = {name: value for name, value in os.environ.items() if name != "OMP_WAIT_POLICY"}
    if given:
        environment["OMP_WAIT_POLICY"] = given
    probe = subprocess.run([sys.executable, "-c", _WAIT_POLICY_PROBE, str(tmp_path / "a.wav"), str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=300, env=environment)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["False", expected, "1"]


def test_no_command_declares_an_option_twice():
    """Shared option lists (batch, training) are combined with each command's own: click keeps only one."""
    commands = [command for group in cli.commands.values() for command in getattr(group, "commands", {}).values()]
    commands += [command for command in cli.commands.values() if not hasattr(command, "commands")]
    for command in commands:
        names = [name for parameter in command.params for name in parameter.opts]
        assert len(names) == len(set(names)), command.name


def test_segment_threshold_overrides_a_class_binarisation_for_the_run(tiny_corpus, tmp_path):
    """``--threshold CLASS=VALUE``: 1 never decides the class (no probability is above 1), 0 decides it on
    the whole file; the other classes keep the model's thresholds."""
    audio = tiny_corpus.audio_path(tiny_corpus.uris("test")[0])

    def segments(*options: str) -> dict[str, list[tuple[float, float]]]:
        output = tmp_path / "-".join(options or ("default",))
        result = CliRunner().invoke(cli, ["segment", str(audio), "-o", str(output), *options])
        assert result.exit_code == 0, result.output
        found = {}
        for line in (output / f"{audio.stem}.rttm").read_text().splitlines():
            fields = line.split()
            found.setdefault(fields[7], []).append((float(fields[3]), float(fields[3]) + float(fields[4])))
        return found

    default, never, always = segments(), segments("--threshold", "speech=1"), segments("--threshold", "speech=0")
    assert "speech" not in never and always["speech"] == [(0.0, pytest.approx(load(audio).shape[0] / 16000, abs=0.03))]
    for found in (never, always):
        assert {name: spans for name, spans in found.items() if name != "speech"} == \
            {name: spans for name, spans in default.items() if name != "speech"}


@pytest.mark.parametrize("value, words", [("speech=2", "not a number from 0 to 1"), ("speech=nan", "from 0 to 1"),
                                          ("laughter=0.5", "CLASS one of speech"), ("speech", "not CLASS=VALUE")])
def test_segment_threshold_refuses_what_is_not_a_class_and_a_probability(value, words, tmp_path):
    result = CliRunner().invoke(cli, ["segment", str(tmp_path / "a.wav"), "-o", str(tmp_path), "--threshold", value])
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
