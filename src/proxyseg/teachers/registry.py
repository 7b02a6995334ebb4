"""Teachers by name: the off-the-shelf models, or a model directory (or shipped model) of ours; and
a proxy directory read whole, with its teacher and dictionary (:func:`load_proxy`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from proxyseg.artefacts import LoadedModel, load_model, model_type
from proxyseg.errors import ModelError
from proxyseg.inference.base import FrameModel
from proxyseg.inference.neural import Inference
from proxyseg.postprocessing import Binarization
from proxyseg.teachers.committee import COMMITTEE, load_committee
from proxyseg.teachers.off_the_shelf import OFF_THE_SHELF



def load_teacher(reference: str | Path) -> FrameModel:
    """The teacher called ``reference``: a name of :data:`OFF_THE_SHELF`, a shipped model's name
    (``teacher``, ``committee``) or a model directory (a committee's included).

    Raises
    ------
    ModelError
        When ``reference`` is none of these.
    """
    if isinstance(reference, str) and reference in OFF_THE_SHELF:
        return OFF_THE_SHELF[reference]()
    return load_directory(reference)[0]


def load_directory(name_or_path: str | Path) -> tuple[FrameModel, dict[str, Binarization]]:
    """A model directory (or a shipped model's name) as a frame model, with its tuned thresholds: a
    committee (:mod:`proxyseg.teachers.committee`), or a network run by :class:`~proxyseg.inference.Inference`."""
    if model_type(name_or_path) == COMMITTEE:
        committee = load_committee(name_or_path)
        return committee.teacher, committee.binarization
    loaded = load_model(name_or_path)
    return Inference(loaded), loaded.binarization


def teacher_of(proxy: LoadedModel) -> FrameModel:
    """The teacher a proxy model directory was distilled from (``specification.teacher``).

    Raises
    ------
    ModelError
        When the model names no teacher (it is not a proxy) or its teacher cannot be loaded.
    """
    reference = proxy.specification.get("teacher")
    if not isinstance(reference, str) or not reference:
        raise ModelError(f"{proxy.path}: names no teacher (not a proxy model directory)")
    if reference in OFF_THE_SHELF:
        return load_teacher(reference)
    # Inside once links are followed too: a model folder from someone else reads nothing outside it.
    if (proxy.path is None or Path(reference).is_absolute() or ".." in Path(reference).parts
            or not (proxy.path / reference).resolve().is_relative_to(proxy.path.resolve())):
        raise ModelError(f"{proxy.path}: its teacher must be a name or a folder inside it, got {reference[:100]!r}")
    if model_type(proxy.path / reference) == COMMITTEE:
        return load_committee(proxy.path / reference).teacher
    teacher = load_model(proxy.path / reference)
    _share_embedded_teacher(proxy, teacher)
    return Inference(teacher)


@dataclass
class ProxyBundle:
    """A proxy model directory read whole.

    Attributes
    ----------
    proxy
        The proxy (:func:`~proxyseg.artefacts.load_model`).
    teacher
        The teacher it was distilled from (:func:`teacher_of`).
    """

    proxy: LoadedModel
    teacher: FrameModel

    @property
    def dictionary(self) -> np.ndarray:
        """``W`` ``(freq, component)``, the dictionary the proxy reconstructs with."""
        return self.proxy.model.dictionary.detach().numpy()


def load_proxy(name_or_path: str | Path = "proxy") -> ProxyBundle:
    """A proxy directory (or a shipped proxy's name) read once: the proxy, its teacher and ``W``.

    A proxy on its teacher's embedding holds the teacher's network; when the teacher's folder
    holds the same weights, the proxy runs the very network loaded as the teacher (one copy in
    memory, not two).

    Raises
    ------
    ModelError
        Not a proxy, or its teacher cannot be loaded.
    """
    proxy = load_model(name_or_path)
    if proxy.type != "proxy_segmenter":
        raise ModelError(f"{proxy.path}: a {proxy.type} has no NMF bottleneck; give a proxy model")
    return ProxyBundle(proxy, teacher_of(proxy))


def _share_embedded_teacher(proxy: LoadedModel, teacher: LoadedModel) -> None:
    """Let a proxy on its teacher's embedding run ``teacher``'s network, if it holds the same weights."""
    embedded = getattr(proxy.model.features, "teacher", None)
    if embedded is None or embedded.get_config() != teacher.model.get_config():
        return
    ours, theirs = embedded.state_dict(), teacher.model.state_dict()
    if ours.keys() == theirs.keys() and all(torch.equal(ours[name], theirs[name]) for name in ours):
        proxy.model.features.teacher = teacher.model.requires_grad_(False)
