"""proxyseg: speech, music, noise and overlap segmentation, explained in the frequency domain.

The package implements and extends the explainable proxy model of Mariotte et al.,
"An Explainable Proxy Model for Multilabel Audio Segmentation" (ICASSP 2024).
"""

from proxyseg.errors import ProxysegError
from proxyseg.labels import CLASSES

__version__ = "0.1.0"

__all__ = ["CLASSES", "ProxysegError", "__version__"]
