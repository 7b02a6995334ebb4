"""Render MIDI songs to audio with FluidSynth and a General MIDI sound font."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from proxyseg.atomic import atomic_output
from proxyseg.errors import CorpusError

# A gain of 0.3 keeps dense passages below full scale with TimGM6mb (0.8 clips).
RENDER_GAIN = 0.3


def fluidsynth_available() -> bool:
    """Whether the ``fluidsynth`` program is on the PATH."""
    return shutil.which("fluidsynth") is not None


def render_midi(midi: Path, soundfont: Path, output: Path, sample_rate: int = 16_000) -> Path:
    """Render ``midi`` to a WAV file with FluidSynth (faster than real time, no audio device).

    Parameters
    ----------
    midi
        A Standard MIDI File.
    soundfont
        A ``.sf2`` sound font.
    output
        The WAV file to write; written under a temporary name, then renamed, so that an
        interrupted render never leaves a partial file behind.
    sample_rate
        Rate of the rendered audio.

    Returns
    -------
    Path
        ``output``.
    """
    with atomic_output(output) as partial:
        command = ["fluidsynth", "-ni", "-g", str(RENDER_GAIN), "-r", str(sample_rate),
                   "-F", str(partial), str(soundfont), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or partial.stat().st_size == 0:
            raise CorpusError(f"fluidsynth could not render {midi.name}: {result.stderr.strip()[-200:]}")
    return output
