"""Issue 13, annotation files from others: every reader and ``evaluate`` give a result or one line of
refusal, in memory and time that follow the number of segments, never the numbers written in the file.

Grouped by case of the issue: (1) memory follows segments and times are bounded, (2) overflowing times,
(3) byte-order marks, (4) time linear in the segments, (5) further hostile files.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.base import f_measure
from pyannote.metrics.detection import DetectionPrecisionRecallFMeasure

from proxyseg.errors import LabelFormatError
from proxyseg.evaluation import evaluate_directories
from proxyseg.formats import MAX_TIME, read_annotation, read_uem
from proxyseg.labels import CLASSES, annotation_to_frames, num_frames, timeline_to_frames
from proxyseg.metrics import detection_scores

# Helpers ------------------------------------------------------------------------------------------


def rttm(uri: str, start: str, duration: str, label: str = "speech", kind: str = "SPEAKER") -> str:
    """One RTTM line with the numbers written as given."""
    return f"{kind} {uri} 1 {start} {duration} <NA> <NA> {label} <NA> <NA>\n"


def textgrid(xmin: str, xmax: str, label: str = "speech", size: str = "1") -> str:
    """A one-tier, one-interval long TextGrid with the interval's numbers written as given."""
    return (
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 10\ntiers? <exists>\n'
        f'size = {size}\nitem []:\n    item [1]:\n        class = "IntervalTier"\n        name = "{label}"\n'
        "        xmin = 0\n        xmax = 10\n        intervals: size = 1\n        intervals [1]:\n"
        f'            xmin = {xmin}\n            xmax = {xmax}\n            text = "x"\n'
    )


def json_annotation(start, end, label="speech") -> str:
    return json.dumps({"uri": "a", "segments": [{"start": start, "end": end, "label": label}]})


#: A file of each reader holding one segment from ``start`` to ``end`` (numbers written as given).
ONE_SEGMENT = {
    "rttm": lambda start, end: rttm("a", start, f"{float(end) - float(start):g}"),
    "uem": lambda start, end: f"a 1 {start} {end}\n",
    "csv": lambda start, end: f"start,end,label\n{start},{end},speech\n",
    "json": lambda start, end: json_annotation(float(start), float(end)),
    "TextGrid": textgrid,
    "txt": lambda start, end: f"{start}\t{end}\tspeech\n",
}


def read_any(path: Path):
    """The reader of ``path``'s suffix: uem, or :func:`read_annotation`."""
    return read_uem(path) if path.suffix == ".uem" else read_annotation(path)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def refused_in_one_line(call, path: Path, match: str = "") -> str:
    """Run ``call``, which must raise one LabelFormatError: one line, naming ``path``, matching ``match``."""
    with pytest.raises(LabelFormatError, match=match) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and len(message) < 400, message
    assert str(path) in message, message
    return message


def folders(tmp_path: Path, reference: str | bytes, hypothesis: str | bytes) -> tuple[Path, Path]:
    """A reference and a hypothesis folder of one file ``a.rttm`` each."""
    write(tmp_path / "ref" / "a.rttm", reference)
    write(tmp_path / "hyp" / "a.rttm", hypothesis)
    return tmp_path / "ref", tmp_path / "hyp"


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging: SIGALRM interrupts a blocking open after ``seconds``."""

    def fail(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def peak_memory(call) -> tuple[object, int]:
    """``call()`` and the peak of memory allocated meanwhile (Python and numpy), in bytes."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def contents(read):
    """What a reader returned, as comparable lists: tracks of annotations, segments of timelines."""
    if isinstance(read, dict):
        return {uri: contents(value) for uri, value in read.items()}
    return list(read.itertracks(yield_label=True)) if isinstance(read, Annotation) else list(read)


def annotation(uri: str, segments) -> Annotation:
    result = Annotation(uri=uri)
    for track, (start, end, label) in enumerate(segments):
        result[Segment(start, end), track] = label
    return result


@st.composite
def random_files(draw, max_segments: int = 12):
    """References, hypotheses and UEMs of 1 to 3 files: overlapping tracks, tiny segments and UEM lines
    that overlap or touch. Times are milliseconds (as in RTTM files: boundaries fall on frame centres
    and edges) or, in one example out of three, steps of 0.3 µs (gaps and segments at pyannote's
    1 µs precision, where its rules decide)."""
    millisecond = st.integers(min_value=0, max_value=4000)
    time = draw(st.sampled_from([lambda steps: steps / 1000, lambda steps: steps / 1000, lambda steps: steps * 3e-7]))

    def segments():
        result = []
        for _ in range(draw(st.integers(0, max_segments))):
            start = draw(millisecond)
            length = draw(st.sampled_from([1, 2, 3, 4, 10, 20, 30]) | st.integers(1, 1500) | st.integers(1, 4000))
            result.append((time(start), time(start + length), draw(st.sampled_from(CLASSES))))
        return result

    references, hypotheses, uems = {}, {}, {}
    for index in range(draw(st.integers(1, 3))):
        uri = f"file{index}"
        references[uri] = annotation(uri, segments())
        if draw(st.booleans()):
            hypotheses[uri] = annotation(uri, segments())
        if draw(st.booleans()):
            lengths = st.integers(1, 3000) | st.integers(1, 100) | st.sampled_from([1, 2, 3, 4])
            regions = [(draw(millisecond), draw(lengths)) for _ in range(draw(st.integers(0, 8)))]
            uems[uri] = Timeline([Segment(time(start), time(start + length)) for start, length in regions])
    return references, hypotheses, uems


# Case 1: memory follows the number of segments; times are bounded ---------------------------------


def test_case1_a_two_million_second_reference_is_scored_in_small_memory(tmp_path):
    """Case 1: one reference line of 2e6 s (10^8 frames) took 1.9 GB in dense frame arrays."""
    reference, hypothesis = folders(tmp_path, rttm("a", "0", "2000000"), rttm("a", "0", "10"))
    report, peak = peak_memory(lambda: evaluate_directories(reference, hypothesis))
    assert peak < 20 * 2**20
    recall = 500 / 100_000_000  # frames of the hypothesis / frames of the reference
    assert report.scores["speech"].frame_f1 == pytest.approx(2 * recall / (1 + recall))
    assert report.scores["speech"].recall == pytest.approx(10 / 2e6)


def evaluated(reference, uem):
    """``uem``, or what is scored without one: from 0 to the end of the last reference segment."""
    if uem is not None:
        return uem
    end = reference.get_timeline().extent().end if reference else 0.0
    return Timeline([Segment(0.0, end)] if end > 0 else [])


def dense_frame_counts(references, hypotheses, uems, label):
    """The frame counts as computed before the fix: dense arrays over the whole evaluated span."""
    counts = np.zeros(3, dtype=np.int64)
    for uri, reference in references.items():
        hypothesis = hypotheses.get(uri) or Annotation(uri=uri)
        uem = evaluated(reference, uems.get(uri))
        uem = uem.support()
        mask = timeline_to_frames(uem, num_frames(uem.extent().end)) if uem else np.zeros(0, dtype=bool)
        ref = annotation_to_frames(reference, len(mask), classes=[label])[mask, 0]
        hyp = annotation_to_frames(hypothesis, len(mask), classes=[label])[mask, 0]
        counts += [np.count_nonzero(ref & hyp), np.count_nonzero(hyp), np.count_nonzero(ref)]
    return counts


def frame_f1(counts) -> float:
    """F1 of frame counts, with pyannote's conventions for empty sets."""
    true_positive, retrieved, relevant = (int(count) for count in counts)
    precision = 1.0 if retrieved == 0 else true_positive / retrieved
    recall = 1.0 if relevant == 0 else true_positive / relevant
    return f_measure(precision, recall)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(random_files())
def test_case1_frame_f1_equals_the_dense_computation(files):
    """Case 1: frame F1 counted from segment boundaries is exactly the dense count of before."""
    references, hypotheses, uems = files
    for label, scores in detection_scores(references, hypotheses, uems).items():
        assert scores.frame_f1 == frame_f1(dense_frame_counts(references, hypotheses, uems, label))


BEYOND = f"{2 * MAX_TIME:g}"


@pytest.mark.parametrize("suffix, content, line, field", [
    ("rttm", rttm("a", BEYOND, "1"), 1, "start time"),
    ("rttm", rttm("a", "0", BEYOND), 1, "duration"),
    ("rttm", rttm("a", "1", "1") + rttm("a", f"{0.9 * MAX_TIME:g}", f"{0.9 * MAX_TIME:g}"), 2, "end time"),
    ("uem", f"a 1 0 {BEYOND}\n", 1, "end time"),
    ("csv", f"start,end,label\n0,1,speech\n{BEYOND},{BEYOND},music\n", 3, "start time"),
    ("txt", f"0\t{BEYOND}\tspeech\n", 1, "end time"),
    ("TextGrid", textgrid("0", BEYOND), 17, "xmax"),
    ("json", json_annotation(0, 2 * MAX_TIME), None, "end time"),
])
def test_case1_times_beyond_the_limit_are_refused_naming_file_line_and_field(tmp_path, suffix, content, line, field):
    """Case 1: a time beyond MAX_TIME is refused in one line naming the file, the line and the field."""
    path = write(tmp_path / f"a.{suffix}", content)
    where = f"{path}:{line}: " if line else f"{path}: segment #1: "
    message = refused_in_one_line(lambda: read_any(path), path, field)
    assert message.startswith(where + field) and f"beyond {MAX_TIME:.0f} s" in message


# Case 2: numbers that overflow ------------------------------------------------------------------


@pytest.mark.parametrize("start, duration", [("1e308", "1e308"), ("0", "1e308"), ("1e308", "1")])
def test_case2_rttm_times_of_1e308_are_one_line_in_evaluate(tmp_path, start, duration):
    """Case 2: 1e308 + 1e308 overflowed to inf and ended in a traceback."""
    reference, hypothesis = folders(tmp_path, rttm("a", start, duration), rttm("a", "0", "1"))
    refused_in_one_line(lambda: evaluate_directories(reference, hypothesis), reference / "a.rttm", "beyond")


@pytest.mark.parametrize("suffix", sorted(ONE_SEGMENT))
@pytest.mark.parametrize("start, end", [("0", "1e308"), ("1e308", "1e308"), ("0", "1.7976931348623157e308")])
def test_case2_huge_times_are_refused_by_every_reader(tmp_path, suffix, start, end):
    """Case 2, in every reader: CSV, Audacity and UEM used to accept a segment ending at 1e308."""
    path = write(tmp_path / f"a.{suffix}", ONE_SEGMENT[suffix](start, end))
    refused_in_one_line(lambda: read_any(path), path, "beyond")


def test_case2_a_uem_of_1e308_is_one_line_in_evaluate(tmp_path):
    """Case 2: a UEM ending at 1e308 ended in an OverflowError traceback."""
    reference, hypothesis = folders(tmp_path, rttm("a", "0", "1"), rttm("a", "0", "1"))
    uem = write(tmp_path / "a.uem", "a 1 0 1e308\n")
    refused_in_one_line(lambda: evaluate_directories(reference, hypothesis, uem), uem, "beyond")


# Case 3: byte-order marks -----------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"
VALID = {
    "rttm": rttm("a", "0.000", "10.000") + rttm("a", "20.000", "5.000", "music"),
    "uem": "a 1 0.000 30.000\n",
    "csv": "start,end,label\n0.000,10.000,speech\n20.000,25.000,music\n",
    "json": json.dumps({"uri": "a", "segments": [{"start": 0.0, "end": 10.0, "label": "speech"}]}),
    "TextGrid": textgrid("0", "10"),
    "txt": "0.000000\t10.000000\tspeech\n20.000000\t25.000000\tmusic\n",
}


def test_case3_a_reference_with_a_byte_order_mark_scores_as_without(tmp_path):
    """Case 3: the BOM glued to the first 'SPEAKER' made the line another type: dropped, exit 0."""
    hypothesis = rttm("a", "0", "5") + rttm("a", "21", "2", "music")
    plain = evaluate_directories(*folders(tmp_path / "plain", VALID["rttm"], hypothesis))
    marked = evaluate_directories(*folders(tmp_path / "bom", BOM + VALID["rttm"].encode(), hypothesis))
    assert marked.to_dict() == plain.to_dict() and list(marked.scores) == ["speech", "music"]


@pytest.mark.parametrize("suffix", sorted(VALID))
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_case3_every_reader_accepts_a_byte_order_mark(tmp_path, suffix, encoding):
    """Case 3, in every reader: a UTF-8 BOM (Windows editors) or UTF-16 with its BOM (Praat, Notepad)
    reads as the plain UTF-8 file."""
    plain = read_any(write(tmp_path / "plain" / f"a.{suffix}", VALID[suffix]))
    marked = read_any(write(tmp_path / "marked" / f"a.{suffix}", VALID[suffix].encode(encoding)))
    assert contents(marked) == contents(plain)


def test_case3_a_uem_with_a_byte_order_mark_keeps_its_uri(tmp_path):
    """Case 3: the BOM became part of the first uri of a UEM, which then matched no reference."""
    assert list(read_uem(write(tmp_path / "a.uem", BOM + b"a 1 0 30\n"))) == ["a"]


# Case 4: time linear in the number of segments -------------------------------------------------


def long_rttm(uri: str, segments: int, seed: int, hours: float = 10.0) -> str:
    """``segments`` lines spread over ``hours``, the four classes in turn, millisecond times."""
    generator = random.Random(seed)
    step = hours * 3600 / (segments / len(CLASSES))
    lines = []
    for index in range(segments):
        start = (index // len(CLASSES)) * step + generator.uniform(0, step / 2)
        duration = generator.uniform(0.02, step / 2)
        lines.append(rttm(uri, f"{start:.3f}", f"{duration:.3f}", CLASSES[index % len(CLASSES)]))
    return "".join(lines)


def test_case4_many_segments_score_in_linear_time(tmp_path):
    """Case 4: pyannote's Timeline.co_iter made evaluate quadratic (20,000 lines: 16 s; 40,000: a minute)."""
    reference, hypothesis = folders(tmp_path, long_rttm("a", 40_000, 1), long_rttm("a", 40_000, 2))
    began = time.perf_counter()
    report = evaluate_directories(reference, hypothesis)
    assert time.perf_counter() - began < 10
    assert list(report.scores) == list(CLASSES) and 0 < report.scores["speech"].f1 < 1


def pyannote_components(references, hypotheses, uems, label):
    """Precision, recall, F1 and durations as pyannote's DetectionPrecisionRecallFMeasure gives them."""
    metric = DetectionPrecisionRecallFMeasure(collar=0.0, skip_overlap=False)
    for uri, reference in references.items():
        hypothesis = hypotheses.get(uri) or Annotation(uri=uri)
        uem = evaluated(reference, uems.get(uri))
        metric(reference.subset([label]), hypothesis.subset([label]), uem=uem.support(), uri=uri)
    accumulated = metric.accumulated_
    return (*metric.compute_metrics(), accumulated["relevant"], accumulated["retrieved"])


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(random_files())
def test_case4_duration_scores_are_pyannotes_to_the_last_bit(files):
    """Case 4: the linear computation gives exactly pyannote's figures (same sums in the same order)."""
    references, hypotheses, uems = files
    for label, scores in detection_scores(references, hypotheses, uems).items():
        ours = (scores.precision, scores.recall, scores.f1, scores.reference_duration, scores.hypothesis_duration)
        assert ours == pyannote_components(references, hypotheses, uems, label)


def test_case4_segments_within_pyannotes_precision_of_each_other(tmp_path):
    """Case 4: gaps and overlaps at pyannote's 1 µs precision, where its rules decide, agree too."""
    tiny = [(0.0, 1.0, "speech"), (1.0000005, 2.0, "speech"), (2.0, 2.0000015, "speech"), (3.0, 3.0000009, "speech")]
    references = {"a": annotation("a", tiny + [(5.0, 6.0, "speech")])}
    hypotheses = {"a": annotation("a", [(0.9999995, 1.0000004, "speech"), (2.0000011, 5.0000005, "speech")])}
    uems = {"a": Timeline([Segment(0.0000002, 2.0000004), Segment(2.000001, 5.5)])}
    scores = detection_scores(references, hypotheses, uems)["speech"]
    assert (scores.precision, scores.recall, scores.f1, scores.reference_duration, scores.hypothesis_duration) == \
        pyannote_components(references, hypotheses, uems, "speech")


# Case 5: further hostile files -------------------------------------------------------------------


@pytest.mark.parametrize("suffix, content, match", [
    ("json", "[" * 200_000 + "]" * 200_000, "not a proxyseg JSON annotation"),
    ("json", json.dumps({"segments": [{"start": 10**400, "end": 10**401, "label": "speech"}]}), "beyond"),
    ("json", json.dumps({"segments": [{"start": -(10**400), "end": 1, "label": "speech"}]}), "beyond"),
    ("json", json.dumps({"uri": [[[[[[[[1] * 10_000]]]]]]], "segments": []}), "uri must be a string"),
    ("TextGrid", textgrid("0", "1", size="1" + "0" * 5000), "size"),
    ("rttm", rttm("a", "1_000", "1"), "start time '1_000' is not a number"),
    ("rttm", rttm("a", "0", "1", kind="speaker"), "type 'speaker'"),
])
def test_case5_hostile_numbers_and_structures_are_one_line(tmp_path, suffix, content, match):
    """Case 5: deep JSON (RecursionError), huge JSON integers (OverflowError) and TextGrid counts
    (ValueError) ended in tracebacks; '1_000' and a lowercase 'speaker' type were read or
    dropped silently. Each is now one line."""
    path = write(tmp_path / f"a.{suffix}", content)
    refused_in_one_line(lambda: read_any(path), path, match)


@pytest.mark.parametrize("suffix", sorted(VALID))
def test_case5_a_folder_or_a_fifo_given_as_a_file_is_refused_without_hanging(tmp_path, suffix):
    """Case 5: reading a FIFO blocked forever (until a writer came); a folder raised IsADirectoryError."""
    folder = tmp_path / f"folder.{suffix}"
    folder.mkdir()
    fifo = tmp_path / f"fifo.{suffix}"
    os.mkfifo(fifo)
    for path in (folder, fifo):
        with deadline(10):
            refused_in_one_line(lambda: read_any(path), path, "not a regular file")


def test_case5_a_fifo_given_as_the_reference_is_named_as_such(tmp_path):
    """Case 5: a FIFO given as --reference was reported as 'no such file or directory'."""
    fifo = tmp_path / "ref.rttm"
    os.mkfifo(fifo)
    hypothesis = write(tmp_path / "hyp" / "a.rttm", rttm("a", "0", "1")).parent
    with deadline(10):
        refused_in_one_line(lambda: evaluate_directories(fifo, hypothesis), fifo, "not a regular file or a folder")


def many_uem_lines(uri: str, lines: int, period: float) -> str:
    return "".join(f"{uri} 1 {period * i:.3f} {period * i + period / 2:.3f}\n" for i in range(lines))


def test_case5_long_overlapping_segments_over_many_uem_lines_score_in_bounded_memory(tmp_path):
    """Case 5: 2,000 overlapping reference lines each spanning 2,000 UEM lines: pyannote's crop makes
    4 million pieces (minutes, gigabytes); each UEM segment inside a run is now one piece."""
    reference, hypothesis = folders(tmp_path, "".join(rttm("a", f"{i / 1000:.3f}", "4000") for i in range(2000)),
                                    rttm("a", "0", "3000"))
    uem = write(tmp_path / "a.uem", many_uem_lines("a", 2000, 2.0))
    began = time.perf_counter()
    report, peak = peak_memory(lambda: evaluate_directories(reference, hypothesis, uem))
    assert time.perf_counter() - began < 10 and peak < 50 * 2**20
    assert report.scores["speech"].reference_duration == pytest.approx(2000.0)
    assert report.scores["speech"].hypothesis_duration == pytest.approx(1500.0)


def test_case5_segments_spanning_many_uem_lines_score_as_pyannote():
    """Case 5: the shortcut for UEM segments inside a segment's run gives pyannote's figures exactly."""
    generator = random.Random(5)
    references = {"a": annotation("a", [(generator.uniform(0, 50), generator.uniform(50, 100), "speech")
                                        for _ in range(30)])}
    hypotheses = {"a": annotation("a", [(float(start), start + generator.uniform(0.1, 9), "speech")
                                        for start in range(0, 100, 7)])}
    uems = {"a": Timeline([Segment(i * 1.3, i * 1.3 + generator.uniform(0.1, 1.2)) for i in range(70)])}
    scores = detection_scores(references, hypotheses, uems)["speech"]
    assert (scores.precision, scores.recall, scores.f1, scores.reference_duration, scores.hypothesis_duration) == \
        pyannote_components(references, hypotheses, uems, "speech")
    assert scores.frame_f1 == frame_f1(dense_frame_counts(references, hypotheses, uems, "speech"))


def test_case5_a_uem_of_many_lines_scores_in_linear_time(tmp_path):
    """Case 5: 20,000 UEM lines made pyannote's crop and gaps quadratic too."""
    reference, hypothesis = folders(tmp_path, long_rttm("a", 4_000, 1), long_rttm("a", 4_000, 2))
    uem = write(tmp_path / "a.uem", "".join(f"a 1 {1.8 * i:.3f} {1.8 * i + 1:.3f}\n" for i in range(20_000)))
    began = time.perf_counter()
    report = evaluate_directories(reference, hypothesis, uem)
    assert time.perf_counter() - began < 10 and 0 < report.scores["speech"].f1 < 1


def test_a_huge_nested_value_is_quoted_in_a_short_message(tmp_path):
    """Found by the fuzz test: a uri made of dicts with 400-digit numbers was quoted whole (500 characters)."""
    huge = [None, {"a" * 50: 10**400, "b": None, "c": None, "d": None}, {"1e100": -(10**300), "x" * 30: None}]
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"segments": [], "uri": huge}))
    with pytest.raises(LabelFormatError, match="uri must be a string or null") as raised:
        read_annotation(path, "json")
    assert len(str(raised.value)) < len(str(path)) + 160
