"""proxyseg: speech, music, noise and overlap segmentation, explained in the frequency domain.

The package implements and extends the explainable proxy model of Mariotte et al.,
"An Explainable Proxy Model for Multilabel Audio Segmentation" (ICASSP 2024).

The public API is importable from here, each name loaded when first used (so that ``import
proxyseg`` stays cheap)::

    from proxyseg import Segmenter, Explainer, explain_files
    Segmenter.from_pretrained()("radio.wav").annotation
    explain_files(["recordings/"], "explanations")  # as `proxyseg explain recordings -o explanations`

docs/architecture.md says where everything else lives.
"""

from importlib import import_module

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS = {
    "CLASSES": "proxyseg.labels",
    "Explainer": "proxyseg.explain.explainer",
    "ProxysegError": "proxyseg.errors",
    "Segmenter": "proxyseg.segmentation",
    "explain_files": "proxyseg.explain.writer",
    "learn_corpus_dictionary": "proxyseg.training.dictionary",
    "load_model": "proxyseg.artefacts",
    "train_proxy": "proxyseg.training.proxy",
    "train_teacher": "proxyseg.training.teacher",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'proxyseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
