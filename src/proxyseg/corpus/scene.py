"""Mix one labelled scene: conversations, music, noise, rooms and silence, with exact frame labels.

A scene is a sequence of sections (a conversation, music alone, noise alone, near-silence), each
possibly over a music or noise bed, plus noise events anywhere, a constant noise floor and a
random overall level. In a conversation, a listener may answer briefly inside another's turn
(a backchannel), and one talker may be far quieter than the others (a distant talker); the
talkers of half the scenes share a simulated room; a source may be band-limited, as recorded at
a low sample rate. Every source is placed on the 20 ms frame grid and its own activity
(:mod:`proxyseg.corpus.activity`) gives the labels: ``speech`` where at least one talker is
active, ``overlap`` where at least two are, ``music`` and ``noise`` where any such source is.
The floor, far below everything else, is never labelled: it stands for the hiss of silence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.signal import butter, fftconvolve, sosfiltfilt

from proxyseg.corpus.activity import RULES, active_frames, audible_frames, frame_energy
from proxyseg.corpus.prepare import PreparedSource
from proxyseg.corpus.synth import NOISE_COLOURS, coloured_noise, room_impulse_responses
from proxyseg.grid import HOP_LENGTH, SAMPLE_RATE
from proxyseg.labels import CLASSES

SPEECH, MUSIC, NOISE, OVERLAP = (CLASSES.index(name) for name in ("speech", "music", "noise", "overlap"))
BACKCHANNEL_SECONDS = 1.0  # utterances shorter than this may be backchannels


@dataclass(frozen=True)
class MixingConfig:
    """The knobs of the scene generator (stored in ``corpus.json`` with every corpus).

    Levels are in dB; a signal-to-X ratio is the speech level minus the X level, each measured
    on the source's active frames.
    """

    duration: float = 30.0
    section_counts: tuple[int, ...] = (1, 2, 3)
    section_count_weights: tuple[float, ...] = (0.4, 0.4, 0.2)
    min_section: float = 5.0
    programs: tuple[str, ...] = ("conversation", "music", "noise", "quiet")
    program_weights: tuple[float, ...] = (0.7, 0.17, 0.08, 0.05)
    three_talkers: float = 0.35
    distant_talker_probability: float = 0.2  # one talker of a conversation far quieter than the others
    distant_level: tuple[float, float] = (-12.0, -6.0)
    overlap_probability: float = 0.45
    backchannel_probability: float = 0.2  # after a turn: a short utterance of a listener inside it
    backchannel_level: tuple[float, float] = (-6.0, 0.0)
    long_pause_probability: float = 0.08
    music_bed_probability: float = 0.4
    noise_bed_probability: float = 0.3
    noise_under_music_probability: float = 0.25
    music_snr: tuple[float, float] = (-5.0, 20.0)
    noise_snr: tuple[float, float] = (-5.0, 20.0)
    event_snr: tuple[float, float] = (-5.0, 15.0)
    events_per_scene: float = 1.2
    coloured_bed_probability: float = 0.4
    reverb_probability: float = 0.5
    # A source (a talker, a music or noise placement) heard through a narrow band, as recorded at a
    # low sample rate: low-passed at 3.4–7 kHz. A teacher trained without it took band-limited noise
    # for music (docs/teachers.md).
    band_limit_probability: float = 0.15
    band_limit: tuple[float, float] = (3400.0, 7000.0)
    floor_below_speech: tuple[float, float] = (45.0, 60.0)
    peak_dbfs: tuple[float, float] = (-20.0, -1.0)
    channel_probability: float = 0.0  # a scene heard through a telephone or codec (corpus.conditions)
    # Noise labelled only where heard: at most this many dB below the rest of the mixture (over
    # 0.5 s); None labels every active frame of a noise source, however far below the rest.
    noise_audibility_db: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class SourcePool:
    """The prepared sources one split may use.

    Attributes
    ----------
    speakers
        Speech sources by speaker.
    music, noise
        Music tracks and noise recordings.
    """

    speakers: dict[str, list[PreparedSource]]
    music: list[PreparedSource]
    noise: list[PreparedSource]


@dataclass
class Scene:
    """A mixed scene.

    Attributes
    ----------
    waveform
        float32 ``(samples,)`` at 16 kHz.
    labels
        Boolean ``(frame, class)`` in :data:`proxyseg.labels.CLASSES` order, 20 ms frames.
    sources
        Names of the sources mixed in (generated noise included).
    groups
        Groups (speakers, tracks, recordings) of the recorded sources mixed in.
    reverberant
        Whether the talkers were placed in a simulated room.
    stems
        The parts that add up to ``waveform``, each ``(samples,)`` at the final level:
        ``talker:<speaker>`` per talker (reverberant when the scene is), ``music``, ``noise``
        and the unlabelled ``floor``.
    """

    waveform: np.ndarray
    labels: np.ndarray
    sources: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    reverberant: bool = False
    stems: dict[str, np.ndarray] = field(default_factory=dict)


def mix_scene(pool: SourcePool, rng: np.random.Generator, config: MixingConfig = MixingConfig()) -> Scene:
    """Mix one scene from ``pool``, every random choice drawn from ``rng``.

    Parameters
    ----------
    pool
        Sources of the split.
    rng
        The scene's random generator: the same generator state gives the same scene.
    config
        Generator settings.

    Returns
    -------
    Scene
    """
    return _SceneMixer(pool, rng, config).mix()


class _SceneMixer:
    """The state of one scene being mixed: its tracks, labels and the sources used."""

    reference_rms = 0.05  # speech level before the overall gain (about -26 dBFS)

    def __init__(self, pool: SourcePool, rng: np.random.Generator, config: MixingConfig):
        self.pool, self.rng, self.config = pool, rng, config
        self.num_frames = int(round(config.duration * SAMPLE_RATE / HOP_LENGTH))
        self.num_samples = self.num_frames * HOP_LENGTH
        self.talkers: dict[str, np.ndarray] = {}  # speaker → dry track (samples,)
        self.talker_activity: dict[str, np.ndarray] = {}  # speaker → (frames,)
        self.background = {kind: np.zeros(self.num_samples, dtype=np.float32) for kind in ("music", "noise")}
        self.labels = np.zeros((self.num_frames, len(CLASSES)), dtype=bool)
        self.used: list[str] = []
        self.groups: set[str] = set()

    def mix(self) -> Scene:
        for start, end, program in self._sections():
            if program == "conversation":
                self._conversation(start, end)
                if self.rng.random() < self.config.music_bed_probability:
                    self._music(start, end, self._below_speech(self.config.music_snr))
                if self.rng.random() < self.config.noise_bed_probability:
                    self._noise_bed(start, end, self._below_speech(self.config.noise_snr))
            elif program == "music":
                self._music(start, end, self._around_speech(-6.0, 3.0))
                if self.rng.random() < self.config.noise_under_music_probability:
                    self._noise_bed(start, end, self._below_speech(self.config.noise_snr))
            elif program == "noise":
                self._noise_bed(start, end, self._around_speech(-10.0, 0.0))
        for _ in range(self.rng.poisson(self.config.events_per_scene)):
            self._noise_event()
        talkers, reverberant = self._talker_tracks()
        stems = {**{f"talker:{name}": track for name, track in talkers.items()}, **self.background,
                 "floor": self._floor()}
        mixture = sum(stems.values(), np.zeros(self.num_samples, dtype=np.float32))
        peak = float(np.max(np.abs(mixture)))
        gain = np.float32(10.0 ** (self.rng.uniform(*self.config.peak_dbfs) / 20.0) / peak if peak > 0 else 1.0)
        if self.config.noise_audibility_db is not None:
            rest = sum((stem for name, stem in stems.items() if name != "noise"),
                       np.zeros(self.num_samples, np.float32))
            heard = audible_frames(stems["noise"], rest, self.config.noise_audibility_db)
            self.labels[:, NOISE] &= heard[: self.num_frames]
        count = sum(self.talker_activity.values(), np.zeros(self.num_frames, dtype=int))
        self.labels[:, SPEECH] = count >= 1
        self.labels[:, OVERLAP] = count >= 2
        stems = {name: stem * gain for name, stem in stems.items()}
        return Scene(mixture * gain, self.labels, self.used, sorted(self.groups), reverberant, stems)

    # -- structure ------------------------------------------------------------------------
    def _sections(self) -> list[tuple[int, int, str]]:
        """Split the scene into sections, as frame ranges, each with a program."""
        config = self.config
        count = self.rng.choice(config.section_counts, p=_normalised(config.section_count_weights))
        min_frames = int(config.min_section * SAMPLE_RATE / HOP_LENGTH)
        count = max(1, min(count, self.num_frames // max(min_frames, 1)))
        slack = self.num_frames - count * min_frames
        cuts = np.sort(self.rng.integers(0, slack + 1, size=count - 1))
        bounds = [0, *(cut + (i + 1) * min_frames for i, cut in enumerate(cuts)), self.num_frames]
        weights = np.asarray(config.program_weights, dtype=np.float64)
        if count == 1:  # a whole file of near-silence teaches little: keep silence to stretches
            weights[config.programs.index("quiet")] = 0.0
        programs = self.rng.choice(config.programs, size=count, p=_normalised(weights))
        return [(int(bounds[i]), int(bounds[i + 1]), str(programs[i])) for i in range(count)]

    def _below_speech(self, snr_range: tuple[float, float]) -> float:
        return self.reference_rms * 10.0 ** (-self.rng.uniform(*snr_range) / 20.0)

    def _around_speech(self, low_db: float, high_db: float) -> float:
        return self.reference_rms * 10.0 ** (self.rng.uniform(low_db, high_db) / 20.0)

    # -- speech ---------------------------------------------------------------------------
    def _conversation(self, start: int, end: int) -> None:
        """Turns of two or three talkers between frames ``start`` and ``end``, some overlapping."""
        config, rng = self.config, self.rng
        speakers = sorted(self.pool.speakers)
        size = 3 if rng.random() < config.three_talkers and len(speakers) >= 3 else 2
        talkers = [speakers[i] for i in rng.choice(len(speakers), size=size, replace=False)]
        level = {talker: self.reference_rms * 10.0 ** (rng.uniform(-4.0, 4.0) / 20.0) for talker in talkers}
        # Each new condition draws only when on: turned off, the scenes are those of earlier versions.
        if config.distant_talker_probability and rng.random() < config.distant_talker_probability:
            level[talkers[-1]] *= 10.0 ** (rng.uniform(*config.distant_level) / 20.0)
        free_from = {talker: start for talker in talkers}  # a talker does not overlap itself
        frame = start + int(rng.integers(0, 25))
        previous = None
        while frame < end - 25:
            talker = talkers[int(rng.integers(len(talkers)))]
            while talker == previous:
                talker = talkers[int(rng.integers(len(talkers)))]
            frame = max(frame, free_from[talker])
            if frame >= end - 25:
                break
            utterances = self.pool.speakers[talker]
            utterance = utterances[int(rng.integers(len(utterances)))]
            length = self._place_speech(talker, utterance, frame, end, level[talker])
            free_from[talker] = frame + length + 3
            if config.backchannel_probability and rng.random() < config.backchannel_probability:
                self._backchannel([other for other in talkers if other != talker], frame, length, end, level, free_from)
            draw = rng.random()
            if draw < config.overlap_probability:
                frame = frame + length - int(rng.uniform(0.15, 0.6) * length)
            elif draw < config.overlap_probability + config.long_pause_probability:
                frame = frame + length + int(rng.uniform(75, 200))
            else:
                frame = frame + length + int(rng.uniform(3, 50))
            previous = talker

    def _backchannel(self, listeners: list[str], frame: int, length: int, end: int, level: dict[str, float],
                     free_from: dict[str, int]) -> None:
        """A listener's short utterance (under 1 s: "yes", "mm") starting inside the turn at ``frame``
        of ``length`` frames, before the section's ``end``; none when the listener has no short one."""
        rng = self.rng
        listener = listeners[int(rng.integers(len(listeners)))]
        short = [utterance for utterance in self.pool.speakers[listener] if utterance.duration < BACKCHANNEL_SECONDS]
        start = frame + int(rng.uniform(0.2, 0.7) * length)
        if not short or start < free_from[listener]:
            return
        utterance = short[int(rng.integers(len(short)))]
        rms = level[listener] * 10.0 ** (rng.uniform(*self.config.backchannel_level) / 20.0)
        placed = self._place_speech(listener, utterance, start, end, rms)
        free_from[listener] = start + placed + 3

    def _place_speech(self, talker: str, utterance: PreparedSource, frame: int, end: int, rms: float) -> int:
        """Add one utterance to a talker's dry track; return its length in frames."""
        signal = np.asarray(utterance.samples(), dtype=np.float32)
        max_samples = (end - frame) * HOP_LENGTH
        if signal.shape[0] > max_samples:
            signal = _fade(signal[:max_samples].copy(), fade_in=0, fade_out=HOP_LENGTH * 2)
        activity = active_frames(signal, RULES["speech"])
        active_rms = _active_rms(signal)
        if active_rms == 0.0:  # cropped to its leading silence
            return activity.shape[0]
        signal = signal * (rms / active_rms * 10.0 ** (self.rng.uniform(-2.0, 2.0) / 20.0))
        track = self.talkers.setdefault(talker, np.zeros(self.num_samples, dtype=np.float32))
        offset = frame * HOP_LENGTH
        track[offset : offset + signal.shape[0]] += signal
        frames = self.talker_activity.setdefault(talker, np.zeros(self.num_frames, dtype=bool))
        frames[frame : frame + activity.shape[0]] |= activity
        self._use(utterance)
        return activity.shape[0]

    def _talker_tracks(self) -> tuple[dict[str, np.ndarray], bool]:
        """The talkers' tracks, each from its own place in one simulated room when reverberant."""
        if not self.talkers:
            return {}, False
        reverberant = bool(self.rng.random() < self.config.reverb_probability)
        responses = room_impulse_responses(len(self.talkers), self.rng) if reverberant else None
        tracks = {}
        for index, talker in enumerate(sorted(self.talkers)):
            track = self.talkers[talker]
            if responses is not None:
                track = fftconvolve(track, responses[index])[: self.num_samples].astype(np.float32)
            tracks[talker] = self._maybe_band_limited(track)
        return tracks, reverberant

    # -- music and noise --------------------------------------------------------------------
    def _music(self, start: int, end: int, rms: float) -> None:
        track = self.pool.music[int(self.rng.integers(len(self.pool.music)))]
        self._add_background(MUSIC, self._excerpt(track, (end - start) * HOP_LENGTH), start, rms)
        self._use(track)

    def _noise_bed(self, start: int, end: int, rms: float) -> None:
        num_samples = (end - start) * HOP_LENGTH
        if self.rng.random() < self.config.coloured_bed_probability:
            colour = str(self.rng.choice(sorted(NOISE_COLOURS)))
            signal = _fade(coloured_noise(num_samples, colour, self.rng), HOP_LENGTH, HOP_LENGTH)
            self.used.append(f"generated/{colour}-noise")
        else:
            # Looping a sub-second effect into a bed would sound like a machine gun.
            long_enough = [item for item in self.pool.noise if item.duration >= 2.0] or self.pool.noise
            recording = long_enough[int(self.rng.integers(len(long_enough)))]
            signal = self._excerpt(recording, num_samples)
            self._use(recording)
        self._add_background(NOISE, signal, start, rms)

    def _noise_event(self) -> None:
        recording = self.pool.noise[int(self.rng.integers(len(self.pool.noise)))]
        signal = np.asarray(recording.samples(), dtype=np.float32)[: self.num_samples]
        length = -(-signal.shape[0] // HOP_LENGTH)
        start = int(self.rng.integers(0, self.num_frames - length + 1))
        self._add_background(NOISE, signal, start, self._below_speech(self.config.event_snr))
        self._use(recording)

    def _use(self, prepared: PreparedSource) -> None:
        self.used.append(prepared.source.name)
        self.groups.add(prepared.source.group)

    def _excerpt(self, prepared: PreparedSource, num_samples: int) -> np.ndarray:
        """A random stretch of ``num_samples``, looped with cross-fades if the source is shorter."""
        source = prepared.samples()
        if source.shape[0] >= num_samples:
            offset = int(self.rng.integers(0, source.shape[0] - num_samples + 1))
            excerpt = np.array(source[offset : offset + num_samples], dtype=np.float32)
        else:
            excerpt = _loop(np.asarray(source, dtype=np.float32), num_samples)
        fade = int(self.rng.uniform(0.05, 0.5) * SAMPLE_RATE)
        return _fade(excerpt, fade, fade)

    def _add_background(self, class_index: int, signal: np.ndarray, frame: int, rms: float) -> None:
        kind = "music" if class_index == MUSIC else "noise"
        signal = self._maybe_band_limited(signal)
        active_rms = _active_rms(signal)
        if active_rms == 0.0:
            return
        activity = active_frames(signal, RULES[kind])
        offset = frame * HOP_LENGTH
        self.background[kind][offset : offset + signal.shape[0]] += signal * np.float32(rms / active_rms)
        self.labels[frame : frame + activity.shape[0], class_index] |= activity

    def _maybe_band_limited(self, signal: np.ndarray) -> np.ndarray:
        """``signal``, low-passed with probability ``band_limit_probability`` (zero phase: it stays on its labels)."""
        if not self.config.band_limit_probability or self.rng.random() >= self.config.band_limit_probability:
            return signal
        sections = butter(8, self.rng.uniform(*self.config.band_limit), btype="lowpass", fs=SAMPLE_RATE, output="sos")
        return sosfiltfilt(sections, signal).astype(np.float32)

    def _floor(self) -> np.ndarray:
        """Unlabelled hiss far below speech: digital silence does not occur in recordings."""
        below = self.rng.uniform(*self.config.floor_below_speech)
        colour = str(self.rng.choice(sorted(NOISE_COLOURS)))
        return coloured_noise(self.num_samples, colour, self.rng) * np.float32(self.reference_rms * 10.0 ** (-below / 20.0))


def _normalised(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.sum()


def _active_rms(signal: np.ndarray) -> float:
    """RMS over the frames within 30 dB of the loudest one: silence does not dilute the level."""
    energy = frame_energy(signal)
    peak = energy.max(initial=0.0)
    if peak <= 0.0:
        return 0.0
    return float(np.sqrt(np.mean(energy[energy >= peak * 1e-3])))


def _fade(signal: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    """Linear fades in place; returns ``signal``."""
    fade_in, fade_out = min(fade_in, signal.shape[0] // 2), min(fade_out, signal.shape[0] // 2)
    if fade_in:
        signal[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out:
        signal[-fade_out:] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return signal


def _loop(source: np.ndarray, num_samples: int) -> np.ndarray:
    """Repeat ``source`` with 50 ms cross-fades up to ``num_samples``."""
    overlap = min(SAMPLE_RATE // 20, source.shape[0] // 4)
    ramp = np.linspace(0.0, 1.0, overlap, dtype=np.float32)
    looped = source.copy()
    while looped.shape[0] < num_samples:
        head = looped[-overlap:] * ramp[::-1] + source[:overlap] * ramp if overlap else looped[:0]
        looped = np.concatenate([looped[: looped.shape[0] - overlap], head, source[overlap:]])
    return looped[:num_samples]
