"""Small real recordings with reference annotations, fetched once from PyPI and cached.

The ``pyannote-audio`` wheel ships a 30 s two-person call (16 kHz mono, about 1.9 s of
overlapped speech) and its RTTM reference. proxyseg does not install pyannote-audio (it
pulls torchaudio): :func:`pyannote_sample` downloads the wheel alone with pip and keeps the
two files.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from proxyseg.atomic import atomic_output
from proxyseg.errors import CorpusError

__all__ = ["pyannote_sample"]

#: Where the sample lives inside the pyannote-audio wheel.
SAMPLE_MEMBERS = ("pyannote/audio/sample/sample.wav", "pyannote/audio/sample/sample.rttm")
# pip's own time-out is per connection; this bounds the whole download.
DOWNLOAD_TIMEOUT = 600


def pyannote_sample(cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The pyannote-audio sample call: ``(sample.wav, sample.rttm)``, downloaded once.

    The files are kept in ``cache_dir/pyannote-sample/``. When they are missing,
    ``pip download --no-deps --only-binary=:all: pyannote-audio`` fetches the wheel into a
    temporary folder and the two files are extracted from it.

    Parameters
    ----------
    cache_dir : str or Path, optional
        proxyseg's cache folder; :func:`proxyseg.corpus.debian.default_cache_dir` by default
        (``$PROXYSEG_CACHE``, else ``~/.cache/proxyseg``).

    Returns
    -------
    tuple of Path
        The 30 s 16 kHz WAV file and its RTTM reference (uri ``sample``, two speakers).

    Raises
    ------
    CorpusError
        When the wheel cannot be downloaded or does not hold the sample.
    """
    if cache_dir is None:
        from proxyseg.corpus.debian import default_cache_dir  # imports the corpus builder: only when needed

        cache_dir = default_cache_dir()
    folder = Path(cache_dir) / "pyannote-sample"
    paths = tuple(folder / Path(member).name for member in SAMPLE_MEMBERS)
    if not all(path.is_file() for path in paths):
        with tempfile.TemporaryDirectory(prefix="proxyseg-pyannote-") as download:
            _extract(_download_wheel(Path(download)), paths)
    return paths


def _download_wheel(folder: Path) -> Path:
    """Download the pyannote-audio wheel (without dependencies) into ``folder``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "pyannote-audio", "-d", str(folder)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CorpusError(f"could not download pyannote-audio for its sample: {error}") from error
    wheels = sorted(folder.glob("pyannote_audio-*.whl"))
    if result.returncode != 0 or not wheels:
        reason = (result.stderr.strip().splitlines() or ["no wheel found"])[-1]
        raise CorpusError(f"could not download pyannote-audio for its sample: {reason}")
    return wheels[-1]


def _extract(wheel: Path, paths: tuple[Path, ...]) -> None:
    """Copy the sample members of ``wheel`` to ``paths``, each written atomically."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member, path in zip(SAMPLE_MEMBERS, paths):
                with atomic_output(path) as partial:
                    partial.write_bytes(archive.read(member))
    except (KeyError, zipfile.BadZipFile) as error:
        raise CorpusError(f"{wheel.name} does not hold the pyannote sample: {error}") from error
