from __future__ import annotations

import json
import os

import pytest
from pyannote.core import Annotation, Segment, Timeline

from proxyseg.errors import LabelFormatError
from proxyseg.formats import (
    EXTENSIONS,
    FORMATS,
    read_annotation,
    read_rttm,
    read_uem,
    write_annotation,
    write_rttm,
    write_uem,
)


def make(*segments: tuple[float, float, str], uri: str = "file1") -> Annotation:
    annotation = Annotation(uri=uri)
    for track, (start, end, label) in enumerate(segments):
        annotation[Segment(start, end), track] = label
    return annotation


def triples(annotation: Annotation) -> list[tuple[float, float, str]]:
    tracks = annotation.itertracks(yield_label=True)
    return sorted((round(s.start, 3), round(s.end, 3), label) for s, _, label in tracks)


ANNOTATIONS = {
    "empty": make(),
    "adjacent": make((0.0, 1.0, "speech"), (1.0, 2.0, "speech")),
    "overlapping": make((0.5, 2.25, "speech"), (1.0, 3.0, "music"), (1.5, 2.0, "overlap")),
    "all classes": make(
        (0.0, 0.04, "speech"), (0.1, 0.74, "music"), (0.3, 9.999, "noise"),
        (2.5, 3.0, "overlap"), (5.0, 6.0, "speech"),
    ),
}


def path_for(tmp_path, format):
    return tmp_path / f"file1.{EXTENSIONS[format]}"


def test_constants():
    assert FORMATS == ("rttm", "csv", "json", "textgrid", "audacity")
    assert EXTENSIONS == {
        "rttm": "rttm", "csv": "csv", "json": "json", "textgrid": "TextGrid", "audacity": "txt"
    }


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_round_trip(tmp_path, format, name):
    original = ANNOTATIONS[name]
    path = path_for(tmp_path, format)
    write_annotation(path, original, format)
    for inferred in (None, format):
        read = read_annotation(path, inferred)
        assert read.uri == "file1"
        # touching segments survive: TextGrid keeps them as two consecutive intervals
        assert triples(read) == triples(original)


@pytest.mark.parametrize("format", FORMATS)
def test_overlap_within_one_class(tmp_path, format):
    original = make((0.0, 1.5, "speech"), (1.0, 2.0, "speech"), (3.0, 4.0, "speech"))
    path = path_for(tmp_path, format)
    write_annotation(path, original, format)
    read = read_annotation(path)
    if format == "textgrid":
        # the one lossy case: Praat tiers cannot overlap, so overlaps are merged
        assert triples(read) == [(0.0, 2.0, "speech"), (3.0, 4.0, "speech")]
    else:
        assert triples(read) == triples(original)
    assert read.label_timeline("speech").support() == original.label_timeline("speech").support()


@pytest.mark.parametrize("format", FORMATS)
def test_uri_override_and_default(tmp_path, format):
    path = tmp_path / f"stem.{EXTENSIONS[format]}"
    write_annotation(path, make((0.0, 1.0, "music"), uri="stem"), format)
    assert read_annotation(path, uri="other").uri == "other"
    assert read_annotation(path).uri == "stem"


def test_csv_and_audacity_text(tmp_path):
    annotation = make((1.0, 2.0, "music"), (0.0, 2.0, "speech"), (0.0, 1.0, "speech"))
    write_annotation(tmp_path / "a.csv", annotation, "csv")
    assert (tmp_path / "a.csv").read_text() == (
        "start,end,label\n0.000,1.000,speech\n0.000,2.000,speech\n1.000,2.000,music\n"
    )
    write_annotation(tmp_path / "a.txt", annotation, "audacity")
    assert (tmp_path / "a.txt").read_text().splitlines()[0] == "0.000000\t1.000000\tspeech"


def test_audacity_spectral_selection_lines_are_skipped(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("0.5\t1.25\tspeech\n\\\t100.0\t4000.0\n1.0\t2.0\tmusic\n")
    assert triples(read_annotation(path)) == [(0.5, 1.25, "speech"), (1.0, 2.0, "music")]


def test_json_document(tmp_path):
    path = tmp_path / "a.json"
    write_annotation(path, make((0.12345, 1.0, "noise")), "json", duration=12.5)
    document = json.loads(path.read_text())
    assert document == {
        "uri": "file1",
        "duration": 12.5,
        "classes": ["speech", "music", "noise", "overlap"],
        "segments": [{"start": 0.123, "end": 1.0, "label": "noise"}],
    }


def test_textgrid_tiers_tile(tmp_path):
    path = tmp_path / "a.TextGrid"
    write_annotation(path, make((1.0, 2.0, "music")), "textgrid", duration=5.0)
    text = path.read_text()
    assert text.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')
    names = [line.split("=")[1].strip() for line in text.splitlines() if "name =" in line]
    assert names == ['"speech"', '"music"', '"noise"', '"overlap"']
    assert text.count("intervals: size = 1") == 3 and text.count("intervals: size = 3") == 1
    assert text.count("xmax = 5.000000") >= 5  # the grid and every tier end at the duration
    # extra whitespace and indentation do not matter to the reader
    spaced = "\n\n".join(f"   {line.replace(' = ', '   =   ')}  " for line in text.splitlines())
    path.write_text(spaced)
    assert triples(read_annotation(path)) == [(1.0, 2.0, "music")]


def test_write_annotation_validates(tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_annotation(tmp_path / "a.x", make(), "xml")
    with pytest.raises(ValueError, match="laughter"):
        write_annotation(tmp_path / "a.csv", make((0, 1, "laughter")), "csv")
    with pytest.raises(ValueError, match="duration"):
        write_annotation(tmp_path / "a.csv", make((0, 3, "speech")), "csv", duration=2.0)
    assert not list(tmp_path.iterdir())


def test_rttm_line_format(tmp_path):
    path = tmp_path / "sub" / "dir" / "a.rttm"  # parent directories are created
    write_rttm(path, make((0.5, 1.75, "speech"), (2.0, 2.02, "overlap"), uri="meeting_01"))
    assert path.read_text() == (
        "SPEAKER meeting_01 1 0.500 1.250 <NA> <NA> speech <NA> <NA>\n"
        "SPEAKER meeting_01 1 2.000 0.020 <NA> <NA> overlap <NA> <NA>\n"
    )


def test_whitespace_in_a_uri_is_written_as_underscores(tmp_path):
    annotation = make((0.0, 1.0, "speech"), uri="réunion du 3\tfévrier")
    write_rttm(tmp_path / "a.rttm", annotation)
    write_uem(tmp_path / "a.uem", Timeline([Segment(0.0, 2.0)], uri="réunion du 3\tfévrier"))
    assert list(read_rttm(tmp_path / "a.rttm")) == ["réunion_du_3_février"]
    assert list(read_uem(tmp_path / "a.uem")) == ["réunion_du_3_février"]
    assert annotation.uri == "réunion du 3\tfévrier"  # the caller's annotation is left alone


def test_read_rttm_multiple_uris(tmp_path):
    path = tmp_path / "all.rttm"
    first = make((0.0, 1.0, "speech"), uri="a")
    write_rttm(path, [first, make((2.0, 3.0, "music"), (2.5, 4.0, "noise"), uri="007")])
    annotations = read_rttm(path)
    assert sorted(annotations) == ["007", "a"]  # numeric-looking uris stay strings
    assert triples(annotations["a"]) == [(0.0, 1.0, "speech")]
    assert triples(annotations["007"]) == [(2.0, 3.0, "music"), (2.5, 4.0, "noise")]
    assert annotations["007"].uri == "007"
    assert triples(read_annotation(path, uri="a")) == [(0.0, 1.0, "speech")]
    assert triples(read_annotation(path, uri="absent")) == []
    with pytest.raises(LabelFormatError, match="several uris"):
        read_annotation(path)


@pytest.mark.parametrize("content", ["", "\n\n   \n", "\n"])
def test_read_empty_rttm_and_uem(tmp_path, content):
    path = tmp_path / "empty.rttm"
    path.write_text(content)
    assert read_rttm(path) == {}
    assert read_uem(path) == {}
    assert triples(read_annotation(path)) == []


def test_uem_round_trip(tmp_path):
    path = tmp_path / "all.uem"
    timelines = [
        Timeline([Segment(0.0, 10.5), Segment(20.0, 30.0)], uri="a"),
        Timeline([Segment(1.25, 2.0)], uri="b"),
    ]
    write_uem(path, timelines)
    assert path.read_text().splitlines()[0] == "a 1 0.000 10.500"
    read = read_uem(path)
    assert sorted(read) == ["a", "b"]
    assert list(read["a"]) == list(timelines[0]) and list(read["b"]) == list(timelines[1])
    write_uem(path, timelines[1])
    assert list(read_uem(path)) == ["b"]


RTTM_LINE = "SPEAKER f 1 0.500 1.000 <NA> <NA> speech <NA> <NA>"


@pytest.mark.parametrize(
    "content, match",
    [
        ("this is not an annotation file\n", r"bad\.rttm:1: expected 10 columns"),
        (RTTM_LINE + "\nSPEAKER f 1 0.5 1.0 <NA> <NA> speech\n", r"bad\.rttm:2: expected 10"),
        (RTTM_LINE.replace("0.500", "abc") + "\n", r"bad\.rttm:1: start time 'abc'"),
        (RTTM_LINE.replace("1.000", "-1.000") + "\n", r"bad\.rttm:1: .*negative duration"),
        (RTTM_LINE.replace("1.000", "nan") + "\n", "not a finite number"),
        (RTTM_LINE.replace(" f ", " NA ") + "\n", "missing value"),
        (RTTM_LINE.replace("speech", "null") + "\n", "missing value"),
        (b"\xc3\x28garbage", "UTF-8"),  # \xff\xfe would start UTF-16, read since issue 13
    ],
)
def test_malformed_rttm(tmp_path, content, match):
    path = tmp_path / "bad.rttm"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LabelFormatError, match=match):
        read_rttm(path)
    with pytest.raises(LabelFormatError):
        read_annotation(path)


@pytest.mark.parametrize(
    "content, match",
    [
        ("a 1 0.0\n", "expected 4 columns"),
        ("a 1 x 2.0\n", "start time"),
        ("a 1 3.0 2.0\n", "negative duration"),
    ],
)
def test_malformed_uem(tmp_path, content, match):
    path = tmp_path / "bad.uem"
    path.write_text(content)
    with pytest.raises(LabelFormatError, match=match):
        read_uem(path)


TEXTGRID_HEAD = (
    'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\n'
    "tiers? <exists>\nsize = 1\nitem []:\n"
)
MALFORMED = {
    "csv": [
        "garbage without header\n",
        "start,end,label\n0.0,1.0\n",
        "start,end,label\n0.0,one,speech\n",
        "start,end,label\n2.0,1.0,speech\n",
        "start,end,label\n0.0,1.0,speech,extra\n",
    ],
    "json": [
        "{not json",
        '{"segments": [{"start": 0, "end": 1}]}',
        '{"segments": [{"start": "0", "end": 1, "label": "speech"}]}',
        '{"segments": [{"start": 2, "end": 1, "label": "speech"}]}',
        '{"classes": ["speech"], "segments": [{"start": 0, "end": 1, "label": "music"}]}',
        "[1, 2, 3]",
        '{"uri": 3, "segments": []}',
        '{"classes": "speech", "segments": [{"start": 0, "end": 1, "label": "s"}]}',
        '{"segments": [{"start": NaN, "end": 1, "label": "speech"}]}',
    ],
    "textgrid": [
        "garbage text\n",
        'File type = "ooTextFile"\nObject class = "Sound"\n',
        TEXTGRID_HEAD,  # the announced tier is missing
        TEXTGRID_HEAD + 'item [1]:\nclass = "TextTier"\n',
        TEXTGRID_HEAD + 'item [1]:\nclass = "IntervalTier"\nname = "speech"\nxmin = 0\nxmax = 1\n'
        'intervals: size = 1\nintervals [1]:\nxmin = 1\nxmax = 0.5\ntext = "speech"\n',
        TEXTGRID_HEAD + 'item [1]:\nclass = "IntervalTier"\nname = "speech"\nxmin = 0\nxmax = 1\n'
        'intervals: size = 2\nintervals [1]:\nxmin = 0\nxmax = 1\ntext = "speech"\n',
    ],
    "audacity": [
        "0.0\t1.0\n", "0.0 1.0 speech\n", "a\tb\tspeech\n", "1.0\t0.5\tspeech\n", "0.0\t1.0\t\n"
    ],
}


@pytest.mark.parametrize(
    "format, content", [(f, c) for f, contents in MALFORMED.items() for c in contents]
)
def test_malformed_annotation_files(tmp_path, format, content):
    path = tmp_path / f"bad.{EXTENSIONS[format]}"
    path.write_text(content)
    with pytest.raises(LabelFormatError, match=r"bad\."):
        read_annotation(path)


def test_valid_textgrid_with_trailing_garbage_is_rejected(tmp_path):
    path = tmp_path / "a.TextGrid"
    write_annotation(path, make((0.0, 1.0, "speech")), "textgrid")
    path.write_text(path.read_text() + "item [5]:\n")
    with pytest.raises(LabelFormatError, match="after the last tier"):
        read_annotation(path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("")
    with pytest.raises(LabelFormatError, match="infer"):
        read_annotation(path)
    with pytest.raises(ValueError, match="format"):
        read_annotation(path, "xml")


@pytest.mark.parametrize("format", FORMATS)
def test_atomic_write_leaves_no_temp_file(tmp_path, format):
    path = path_for(tmp_path, format)
    path.write_text("old content")
    write_annotation(path, ANNOTATIONS["overlapping"], format)
    write_annotation(path, ANNOTATIONS["all classes"], format)
    assert os.listdir(tmp_path) == [path.name]
    assert triples(read_annotation(path)) == triples(ANNOTATIONS["all classes"])


def test_failed_write_keeps_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.rttm"
    path.write_text("old content")
    with pytest.raises(ValueError, match="spaces"):
        write_rttm(path, make((0.0, 1.0, "two words")))
    with pytest.raises(ValueError, match="tabs"):
        tabbed = make((0.0, 1.0, "a\tb"))
        write_annotation(tmp_path / "a.txt", tabbed, "audacity", classes=["a\tb"])
    assert os.listdir(tmp_path) == ["a.rttm"]
    assert path.read_text() == "old content"


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.csv"
    path.write_text("old content")

    def crash(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_annotation(path, make((0.0, 1.0, "speech")), "csv")
    assert os.listdir(tmp_path) == ["a.csv"]
    assert path.read_text() == "old content"


def test_rttm_other_types_and_comments_are_skipped(tmp_path):
    path = tmp_path / "nist.rttm"
    path.write_text(
        ";; a comment\n"
        "SPKR-INFO f 1 <NA> <NA> <NA> unknown music <NA> <NA>\n"
        "SPEAKER f 1 0.000 0.500 <NA> <NA> music <NA> <NA>\n"
        "SPEAKER f 1 1.000 0.000 <NA> <NA> noise <NA> <NA>\n"  # empty segment
    )
    assert {uri: triples(a) for uri, a in read_rttm(path).items()} == {"f": [(0.0, 0.5, "music")]}


@pytest.mark.parametrize("format", FORMATS)
def test_annotation_without_uri(tmp_path, format):
    path = tmp_path / f"stem.{EXTENSIONS[format]}"
    write_annotation(path, make((0.0, 1.0, "music"), uri=None), format)
    read = read_annotation(path)
    assert read.uri == "stem" and triples(read) == [(0.0, 1.0, "music")]


def test_rttm_and_uem_need_uris(tmp_path):
    with pytest.raises(ValueError, match="uri"):
        write_rttm(tmp_path / "a.rttm", make((0.0, 1.0, "music"), uri=None))
    with pytest.raises(ValueError, match="uri"):
        write_uem(tmp_path / "a.uem", Timeline([Segment(0, 1)]))
    assert not list(tmp_path.iterdir())
