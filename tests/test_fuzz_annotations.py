"""Property-based (issue 13, case 6): random annotation files from others, through every reader and through
``evaluate``, end in a result that holds together or in one LabelFormatError, in bounded memory."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyannote.core import Annotation

from proxyseg.cli import cli
from proxyseg.errors import LabelFormatError
from proxyseg.evaluation import evaluate_directories
from proxyseg.formats import MAX_TIME, read_annotation, read_rttm, read_uem
from proxyseg.labels import CLASSES

#: Peak of memory allocated while reading or scoring a file of a few lines.
MEMORY_BOUND = 100 * 2**20


def fuzz(examples: int) -> settings:
    """``examples`` examples, the same at every run (CI stays reproducible), without time limits."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# Numbers as files write them, and as they should not: huge, tiny, negative, not finite, not numbers.
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=0, max_value=2 * MAX_TIME).map(lambda value: f"{value:.3f}"),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.sampled_from(["0", "-0", "1e308", "1e999", "-1e-320", "1_000", "0x10", "nan", "-inf", "Infinity",
                     "\u0661\u0662", "9999999.999", "10000000.001", "1.", ".5", "+3", "e5", ""]),
)
words = st.one_of(st.sampled_from([*CLASSES, "NA", "null", "<NA>", "a", "b"]),
                  st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8))
prefixes = st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\xff"])


def _line(fields: list[str]) -> str:
    return " ".join(fields)


rttm_lines = st.one_of(
    st.tuples(st.sampled_from(["SPEAKER", "SPEAKER", "SPKR-INFO", "speaker", ";;", "X"]), words, numbers, numbers,
              words).map(lambda t: _line([t[0], t[1], "1", t[2], t[3], "<NA>", "<NA>", t[4], "<NA>", "<NA>"])),
    st.lists(st.one_of(numbers, words), max_size=12).map(_line),
)
# Lines that reach the scores: uri "a", a class, only the numbers random.
scored_lines = st.tuples(numbers, numbers, st.sampled_from(CLASSES)).map(
    lambda t: _line(["SPEAKER", "a", "1", t[0], t[1], "<NA>", "<NA>", t[2], "<NA>", "<NA>"]))
uem_lines = st.one_of(
    st.tuples(words, numbers, numbers).map(lambda t: _line([t[0], "1", t[1], t[2]])),
    st.lists(st.one_of(numbers, words), max_size=6).map(_line),
)


@st.composite
def files(draw, lines) -> bytes:
    """A byte prefix (byte-order marks, junk), then random lines with random line ends."""
    text = "".join(draw(lines) + draw(st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\u2028"]))
                   for _ in range(draw(st.integers(0, 6))))
    return draw(prefixes) + text.encode("utf-8", "surrogatepass")


def _bounded(call):
    """``call()`` with tracemalloc on: its result, after checking the peak allocated stayed under the bound."""
    tracemalloc.start()
    try:
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, peak
    return result


def _result_or_refusal(call, path: Path):
    """``call()``'s result, or None after checking that it raised one one-line LabelFormatError about ``path``."""
    try:
        return _bounded(call)
    except LabelFormatError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message and len(message) < 500, message
        assert str(path) in message, message
        return None


def _holds_together(annotation: Annotation) -> None:
    for segment in annotation.itersegments():
        assert 0 <= segment.start < segment.end <= MAX_TIME


@fuzz(150)
@given(files(rttm_lines))
def test_random_rttm_files_read_to_segments_inside_the_limits_or_one_error(tmp_path, content):
    path = tmp_path / "fuzz.rttm"
    path.write_bytes(content)
    read = _result_or_refusal(lambda: read_rttm(path), path)
    for annotation in (read or {}).values():
        _holds_together(annotation)


@fuzz(100)
@given(files(uem_lines))
def test_random_uem_files_read_to_regions_inside_the_limits_or_one_error(tmp_path, content):
    path = tmp_path / "fuzz.uem"
    path.write_bytes(content)
    for timeline in (_result_or_refusal(lambda: read_uem(path), path) or {}).values():
        assert all(0 <= segment.start < segment.end <= MAX_TIME for segment in timeline)


@fuzz(80)
@given(files(scored_lines | rttm_lines), files(scored_lines | rttm_lines), st.none() | files(uem_lines))
def test_random_files_through_evaluate_give_scores_or_one_error(tmp_path, reference, hypothesis, uem):
    for folder, content in (("ref", reference), ("hyp", hypothesis)):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "a.rttm").write_bytes(content)
    uem_path = None
    if uem is not None:
        uem_path = tmp_path / "a.uem"
        uem_path.write_bytes(uem)
    try:
        report = _bounded(lambda: evaluate_directories(tmp_path / "ref", tmp_path / "hyp", uem_path))
    except LabelFormatError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message and len(message) < 500, message
        return
    for scores in report.scores.values():
        for fraction in (scores.precision, scores.recall, scores.f1, scores.frame_f1):
            assert 0 <= fraction <= 1
        for seconds in (scores.reference_duration, scores.hypothesis_duration):
            assert math.isfinite(seconds) and seconds >= 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**400), 10**400) | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def _number(token: str):
    """The token as JSON would hold it: a float when it reads as one (inf and nan included), else text."""
    try:
        return float(token)
    except ValueError:
        return token


json_segments = st.fixed_dictionaries(
    {"start": json_values | numbers.map(_number), "end": json_values | numbers.map(_number),
     "label": json_values | words},
)
json_documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"segments": st.lists(json_segments, max_size=4)},
                          optional={"uri": json_values | words, "classes": json_values | st.lists(words, max_size=4)}),
).map(lambda document: json.dumps(document, allow_nan=True))


@st.composite
def textgrids(draw) -> str:
    intervals = draw(st.lists(st.tuples(numbers, numbers, st.sampled_from(["", "x"])), max_size=3))
    size = draw(st.sampled_from([str(len(intervals)), "0", "9" * 40, "1" + "0" * 5000]))
    body = "".join(f"intervals [{index}]:\nxmin = {start}\nxmax = {end}\ntext = \"{text}\"\n"
                   for index, (start, end, text) in enumerate(intervals, start=1))
    return ('File type = "ooTextFile"\nObject class = "TextGrid"\nxmin = 0\nxmax = ' + draw(numbers) +
            f'\ntiers? <exists>\nsize = 1\nitem []:\nitem [1]:\nclass = "IntervalTier"\nname = "{draw(words)}"\n'
            f"xmin = 0\nxmax = 1\nintervals: size = {size}\n" + body)


delimited = {
    "csv": st.lists(st.lists(st.one_of(numbers, words), max_size=4).map(",".join), max_size=5).map(
        lambda rows: "start,end,label\n" + "\n".join(rows)),
    "txt": st.lists(st.lists(st.one_of(numbers, words), max_size=4).map("\t".join), max_size=5).map("\n".join),
    "json": json_documents,
    "TextGrid": textgrids(),
}


@fuzz(200)
@given(st.sampled_from(sorted(delimited)).flatmap(lambda suffix: st.tuples(st.just(suffix), delimited[suffix])),
       prefixes)
def test_random_csv_json_textgrid_audacity_files_read_or_raise_one_error(tmp_path, file, prefix):
    suffix, text = file
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(prefix + text.encode("utf-8", "surrogatepass"))
    read = _result_or_refusal(lambda: read_annotation(path), path)
    if read is not None:
        _holds_together(read)


@fuzz(100)
@given(st.sampled_from(["rttm", "uem", "csv", "json", "TextGrid", "txt"]), st.binary(max_size=300))
def test_random_bytes_under_every_annotation_suffix_read_or_raise_one_error(tmp_path, suffix, content):
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(content)
    read = _result_or_refusal(lambda: read_uem(path) if suffix == "uem" else read_annotation(path), path)
    if isinstance(read, Annotation):
        _holds_together(read)


def test_evaluate_on_a_bad_file_prints_one_error_line_and_exits_1(tmp_path):
    """Case 2 at the command line: 1e308 + 1e308 ended in a traceback; now exactly one error line."""
    for folder in ("ref", "hyp"):
        (tmp_path / folder).mkdir()
    bad = tmp_path / "ref" / "a.rttm"
    bad.write_text("SPEAKER a 1 1e308 1e308 <NA> <NA> speech <NA> <NA>\n")
    (tmp_path / "hyp" / "a.rttm").write_text("SPEAKER a 1 0 1 <NA> <NA> speech <NA> <NA>\n")
    result = CliRunner().invoke(cli, ["evaluate", "--reference", str(tmp_path / "ref"),
                                      "--hypothesis", str(tmp_path / "hyp")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"proxyseg: error: {bad}:1: start time") and result.stderr.count("\n") == 1
    assert result.stdout == ""
