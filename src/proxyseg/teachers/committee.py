"""A committee: one four-class teacher whose every class comes from the expert best at it.

No single model here is best at every class: pyannote segmentation-3.0 finds speech and overlap
in real recordings far better than our TCN teacher, while only our own teacher predicts noise. A
committee takes each class from one expert. It is a model directory without weights:
``config.json`` says ``"type": "committee"`` and names each class's expert — an off-the-shelf
teacher by name (:data:`~proxyseg.teachers.off_the_shelf.OFF_THE_SHELF`) or a model directory of
ours inside the committee's folder (``experts/<class>``) — with the binarisation of each class,
tuned on a dev set or kept as its expert's (:func:`proxyseg.training.committee.make_committee`).

An expert that serves several classes runs once per waveform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from proxyseg.artefacts import CONFIG, LoadedModel, load_model, read_config, save_model
from proxyseg.atomic import write_json
from proxyseg.errors import ModelError
from proxyseg.inference.base import FrameModel, FrameOutput
from proxyseg.inference.neural import Inference
from proxyseg.labels import CLASSES
from proxyseg.postprocessing import Binarization
from proxyseg.teachers.off_the_shelf import OFF_THE_SHELF

#: The ``type`` of a committee's ``config.json``.
COMMITTEE = "committee"
#: Where a committee keeps the model directories of its experts of ours.
EXPERTS_DIR = "experts"


class CommitteeTeacher(FrameModel):
    """Frame probabilities of each class from its own expert.

    Parameters
    ----------
    experts
        Class → the :class:`~proxyseg.inference.FrameModel` that predicts it (which must predict
        that class). The same object for several classes runs once.
    """

    def __init__(self, experts: dict[str, FrameModel]):
        for name, expert in experts.items():
            if name not in CLASSES or name not in expert.classes:
                raise ValueError(f"the expert for {name!r} must predict it; it predicts {', '.join(expert.classes)}")
        self.experts = dict(experts)
        self.classes = tuple(name for name in CLASSES if name in experts)

    def predict(self, waveform: np.ndarray) -> FrameOutput:
        outputs: dict[int, FrameOutput] = {}  # id(expert) → its output on this waveform
        columns = []
        for name in CLASSES:
            expert = self.experts.get(name)
            if expert is None:
                columns.append(None)
                continue
            if id(expert) not in outputs:
                outputs[id(expert)] = expert.predict(waveform)
            columns.append(outputs[id(expert)].probabilities[:, CLASSES.index(name)])
        frames = len(next(column for column in columns if column is not None))
        probabilities = np.stack([np.zeros(frames, np.float32) if column is None else column for column in columns],
                                 axis=1).astype(np.float32)  # (frame, class)
        return FrameOutput(probabilities, self.classes)


@dataclass
class Committee:
    """A committee directory, read.

    Attributes
    ----------
    teacher
        The committee as a frame model.
    experts
        Class → the reference of its expert, as ``config.json`` names it.
    binarization
        Per-class thresholds tuned on a dev set.
    specification
        As a model directory's (:func:`proxyseg.artefacts.specification`).
    path
        The directory.
    """

    teacher: CommitteeTeacher
    experts: dict[str, str]
    binarization: dict[str, Binarization] = field(default_factory=dict)
    specification: dict = field(default_factory=dict)
    path: Path | None = None


def load_committee(name_or_path: str | Path) -> Committee:
    """The committee in a directory (or shipped under a name, e.g. ``committee``).

    Raises
    ------
    ModelError
        An expert that is neither an off-the-shelf teacher nor a model directory inside the
        committee's folder, or that does not predict its class.
    """
    directory, config = read_config(name_or_path)
    if config["type"] != COMMITTEE:
        raise ModelError(f"{directory}: a {config['type']}, not a committee")
    experts = config.get("experts") or {}
    if not experts:
        raise ModelError(f"{directory / CONFIG}: a committee names at least one expert (experts)")
    loaded: dict[str, FrameModel] = {}
    for reference in dict.fromkeys(experts.values()):
        if reference in OFF_THE_SHELF:
            loaded[reference] = OFF_THE_SHELF[reference]()
            continue
        folder = directory / reference
        if (Path(reference).is_absolute() or ".." in Path(reference).parts
                or not folder.resolve().is_relative_to(directory.resolve())):
            raise ModelError(f"{directory / CONFIG}: an expert must be an off-the-shelf teacher's name or a folder "
                             f"inside the committee's, got {reference[:100]!r}")
        loaded[reference] = Inference(load_model(folder))
    try:
        teacher = CommitteeTeacher({name: loaded[reference] for name, reference in experts.items()})
    except ValueError as error:
        raise ModelError(f"{directory / CONFIG}: {error}") from None
    binarization = {name: Binarization.from_dict(value) for name, value in config.get("binarization", {}).items()}
    return Committee(teacher, dict(experts), binarization, config.get("specification", {}), directory)


def save_committee(directory: Path, experts: dict[str, str | LoadedModel], binarization: dict[str, Binarization],
                   spec: dict) -> Path:
    """Write a committee to ``directory``: each expert of ours saved anew into ``experts/<name>``
    (one folder per distinct model), then ``config.json``.

    ``experts`` maps each class to an off-the-shelf teacher's name or a loaded model of ours.
    """
    directory = Path(directory)
    references: dict[str, str] = {}
    folders: dict[int, str] = {}  # id(loaded model) → its folder, so that a model serving two classes is saved once
    for name, expert in experts.items():
        if isinstance(expert, str):
            references[name] = expert
            continue
        if id(expert) not in folders:
            folders[id(expert)] = f"{EXPERTS_DIR}/{name}"
            save_model(directory / folders[id(expert)], expert.model, classes=expert.classes,
                       binarization=expert.binarization, spec=expert.specification)
        references[name] = folders[id(expert)]
    write_json(directory / CONFIG, {
        "type": COMMITTEE, "experts": references, "classes": [name for name in CLASSES if name in experts],
        "binarization": {name: value.to_dict() for name, value in binarization.items()}, "specification": spec})
    return directory
