"""Sane bounds on numbers a user or a file gives, checked before anything is allocated.

Generous for real use, finite so that a typo or a hostile file cannot make the tool grow until
the machine gives up.
"""

#: ``corpus build --hours``: 10,000 hours is 1.2 million 30 s files, about 1.2 TB of 16-bit audio.
MAX_HOURS = 10_000.0
#: ``explain --window``, in seconds: a window's audio, spectrogram and activations are held in memory.
MAX_WINDOW = 3600.0
#: ``explain --random-draws``: each draw runs the teacher once more per class.
MAX_RANDOM_DRAWS = 100
