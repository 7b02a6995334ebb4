"""Reading and writing audio files (:mod:`.reading`, :mod:`.writing`; what the decoders say: :mod:`.diagnostics`).

Every waveform inside proxyseg is float32 mono at :data:`proxyseg.grid.SAMPLE_RATE`. This module turns
any file libsndfile decodes into that form, block by block so memory does not grow with
the file, and every way a file can be unusable into a :mod:`proxyseg.errors` type.

MP3 files are decoded with dr_mp3 (through miniaudio), which reads every frame, and everything
else with libsndfile. A file that decodes only in part (truncated, or with damaged stretches the
decoder skips) is used for what decodes, with one :class:`~proxyseg.errors.DamagedAudioWarning`
saying so: the signs are libsndfile's own log of the file (chunk sizes beyond the file's end, Ogg
holes), libmpg123's complaints about an MP3 header, and fewer samples decoded than announced.
"""

from proxyseg.audio.reading import AUDIO_SUFFIXES, MAX_AMPLITUDE, AudioInfo, as_waveform, info, load, stream
from proxyseg.audio.writing import save
from proxyseg.grid import SAMPLE_RATE

__all__ = ["AUDIO_SUFFIXES", "MAX_AMPLITUDE", "SAMPLE_RATE", "AudioInfo", "as_waveform", "info", "load", "save",
           "stream"]
