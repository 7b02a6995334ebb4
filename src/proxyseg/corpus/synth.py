"""Generated material: coloured noise and simulated rooms (pyroomacoustics)."""

from __future__ import annotations

import numpy as np
import pyroomacoustics as pra

#: Spectral slopes of coloured noise: power ∝ 1 / f**exponent.
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def coloured_noise(num_samples: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``1 / f**exponent``, unit RMS.

    Parameters
    ----------
    num_samples
        Length.
    colour
        ``white``, ``pink`` or ``brown``.
    rng
        Random generator (the only source of randomness, for reproducibility).

    Returns
    -------
    np.ndarray
        float32, ``(num_samples,)``.

    Examples
    --------
    >>> x = coloured_noise(16000, "pink", np.random.default_rng(0))
    >>> x.shape, round(float(np.sqrt(np.mean(x ** 2))), 3)
    ((16000,), 1.0)
    """
    if colour not in NOISE_COLOURS:
        raise ValueError(f"unknown noise colour {colour!r}; choose from {sorted(NOISE_COLOURS)}")
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    frequencies = np.arange(spectrum.shape[0], dtype=np.float64)
    frequencies[0] = 1.0  # the DC bin keeps the white level instead of dividing by zero
    spectrum *= frequencies ** (-NOISE_COLOURS[colour] / 2.0)
    noise = np.fft.irfft(spectrum, n=num_samples)
    noise -= noise.mean()
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def room_impulse_responses(
    num_sources: int, rng: np.random.Generator, sample_rate: int = 16_000,
    rt60_range: tuple[float, float] = (0.2, 0.6),
) -> list[np.ndarray]:
    """Impulse responses from ``num_sources`` positions to one microphone in a random shoebox room.

    Each response is shifted so that its direct path (its largest tap) is at index 0, so that
    convolving a source keeps it aligned with its dry labels, and scaled to unit energy, so that
    reverberation does not change the source's level much.

    Parameters
    ----------
    num_sources
        How many talkers (each at its own position).
    rng
        Random generator for the room size, RT60 and positions.
    rt60_range
        Range of reverberation times in seconds.

    Returns
    -------
    list of np.ndarray
        One float32 ``(taps,)`` response per source.
    """
    size = rng.uniform([3.0, 3.0, 2.4], [10.0, 8.0, 4.0])
    rt60 = rng.uniform(*rt60_range)
    absorption, max_order = pra.inverse_sabine(rt60, size)
    room = pra.ShoeBox(size, fs=sample_rate, materials=pra.Material(absorption), max_order=max_order)
    margin = 0.5
    microphone = rng.uniform(margin, size - margin)
    room.add_microphone(microphone)
    for _ in range(num_sources):
        position = rng.uniform(margin, size - margin)
        while np.linalg.norm(position - microphone) < 0.5:
            position = rng.uniform(margin, size - margin)
        room.add_source(position)
    room.compute_rir()
    responses = []
    for rir in room.rir[0]:
        rir = np.asarray(rir, dtype=np.float64)
        rir = rir[int(np.argmax(np.abs(rir))) :]
        responses.append((rir / np.sqrt(np.sum(rir**2))).astype(np.float32))
    return responses
