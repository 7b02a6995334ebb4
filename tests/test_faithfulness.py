"""Faithfulness: the components an explanation names for a class carry the teacher's evidence for it."""

import pytest

from proxyseg.audio import load
from proxyseg.explain.explainer import Explainer
from proxyseg.labels import CLASSES

#: Random component sets removed for the baseline: enough that one unlucky draw (one that happens to
#: hit the class's own components) cannot lift their mean near the relevant components' drop.
DRAWS = 10
#: How much more the teacher's probability of a class must drop without its relevant components than
#: without as many random ones. On the test file of ``tiny_corpus`` the shipped pair gives 0.46 (music)
#: and 0.22 (noise) with seed 0, and at least 0.46 and 0.11 over seeds 0 to 9.
MARGIN = 0.1


@pytest.fixture(scope="module")
def explained(tiny_corpus):
    """The shipped proxy's explanation of the test file of ``tiny_corpus``, its explainer and waveform."""
    uri = tiny_corpus.uris("test")[0]
    waveform = load(tiny_corpus.audio_path(uri))
    explainer = Explainer.from_pretrained(random_draws=DRAWS, seed=0)
    return explainer, explainer(waveform, uri), waveform


def test_removing_a_class_relevant_components_lowers_the_teacher_more_than_removing_random_ones(explained):
    """For each class the teacher detects in the file and the explanation gives components for, the
    teacher's mean probability of the class over its detected frames drops more, by at least
    :data:`MARGIN`, when those components are removed from the input (``removal_drop``) than when as
    many components drawn at random are (``random_removal_drop``, the mean over :data:`DRAWS` draws).

    The pair is the shipped proxy and the teacher it was distilled from, on the 30 s test file of
    ``tiny_corpus`` (music and noise are detected there). The effect is a property of this file: on
    two of the other five files of the corpus one class shows no margin, so the test names its file.
    """
    _, explanation, _ = explained
    tested = {name: item.faithfulness for name, item in explanation.classes.items() if item.tested}
    assert tested, "no class is both detected and explained: the test would check nothing"
    for name, figures in tested.items():
        assert figures["removal_drop"] >= figures["random_removal_drop"] + MARGIN, (name, figures)


def test_the_faithfulness_figures_are_the_teacher_on_the_input_and_on_what_the_explanation_leaves(explained):
    """The figures mean what they say: ``teacher_probability`` is the teacher's mean probability of the
    class over its detected frames of the input, and ``removal_drop`` that minus the same mean on the
    explanation's complement audio (the input without the class's relevant components), both
    recomputed here by running the teacher directly."""
    explainer, explanation, waveform = explained
    on_input = explainer.teacher.predict(waveform).probabilities
    tested = [(name, item) for name, item in explanation.classes.items() if item.tested]
    assert tested, "no class is both detected and explained: the test would check nothing"
    for name, item in tested:
        column = CLASSES.index(name)
        detected = explanation.detected[:, column]
        before = float(on_input[detected, column].mean())
        after = float(explainer.teacher.predict(item.complement).probabilities[detected, column].mean())
        assert item.faithfulness["teacher_probability"] == pytest.approx(before, abs=1e-3), name
        assert item.faithfulness["removal_drop"] == pytest.approx(before - after, abs=1e-3), name
