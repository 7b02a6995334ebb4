"""CPU time and memory of the Whisper features (``proxyseg.features.whisper.WhisperFeatures``).

Usage::

    python benchmarks/whisper_features.py [--seconds 60] [--repeats 3] [--threads 1 2]
                                          [--compute-types int8 float32]
                                          [--wait-policy PASSIVE|ACTIVE|default] [--output FILE]

Each compute type and thread count runs in a process of its own (this script again, with
``--only``): torch gets the threads, then the module is built (CTranslate2 takes torch's thread
count then; the time includes joining and checking the model's two halves), then it runs twice on
4 s of audio (a warm-up, then what one window costs: the price of every short input and of each
window of ``Inference`` on these features) and ``--repeats`` times on ``--seconds`` of audio (60 s:
three 30 s windows, overlapping). The audio is quiet noise with tones: the cost of a window does not
depend on its content. The table gives the median CPU time per audio second (all threads of the
process) and its range, the real-time factor (wall time / audio duration), the peak RSS while
loading and while running (``VmHWM``, reset after loading through ``/proc/self/clear_refs``), and
the CPU the rest of the machine used during the runs (in CPUs: figures taken while it is well
above 0 are not reliable for more than one thread).
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
from datetime import date
from pathlib import Path

from reporting import publish  # benchmarks/reporting.py, beside this script
from speed import WAIT_POLICIES, child_environment, cpu_model, peak_rss_mb, timed  # benchmarks/speed.py

SAMPLE_RATE = 16_000
COMPUTE_TYPES = ("int8", "float32")
SHORT_SECONDS = 4.0


def audio(seconds: float):
    """Quiet noise and a few steady tones, ``(1, samples)``: what the encoder sees does not change its cost."""
    import torch

    time_axis = torch.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tones = sum(0.05 * torch.sin(2 * torch.pi * frequency * time_axis) for frequency in (220.0, 440.0, 1250.0))
    return (tones + 0.01 * torch.randn(len(time_axis), generator=torch.Generator().manual_seed(0)))[None]


def reset_peak_rss() -> bool:
    """Start ``VmHWM`` again from the current RSS (Linux); whether it could be."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(compute_type: str, threads: int, seconds: float, repeats: int) -> dict:
    """Loading, one short input and ``repeats`` runs on ``seconds`` of audio with ``threads`` threads."""
    import torch

    from proxyseg.features.whisper import WhisperFeatures

    torch.set_num_threads(threads)
    start = time.perf_counter()
    features = WhisperFeatures(compute_type)
    loading, loading_rss = time.perf_counter() - start, peak_rss_mb()
    reset = reset_peak_rss()
    with torch.inference_mode():
        features(audio(SHORT_SECONDS))  # warm-up
        short = timed(features, audio(SHORT_SECONDS))
        waveform = audio(seconds)
        runs = [timed(features, waveform) for _ in range(repeats)]
    return {"threads": torch.get_num_threads(), "loading": loading, "loading_rss": loading_rss,
            "running_rss": peak_rss_mb() if reset else None, "short": short, "runs": runs}


def run_isolated(compute_type: str, threads: int, args: argparse.Namespace, scratch: Path) -> dict:
    """:func:`measure` in a fresh process (this script with ``--only``)."""
    result = scratch / f"{compute_type}-{threads}.json"
    subprocess.run([sys.executable, __file__, "--only", compute_type, "--threads", str(threads), "--seconds",
                    str(args.seconds), "--repeats", str(args.repeats), "--result", str(result)], check=True,
                   env=child_environment(args.wait_policy))
    return json.loads(result.read_text())


def row(compute_type: str, result: dict, seconds: float) -> str:
    """A table row of one configuration."""
    per_second = [1000 * run["cpu"] / seconds for run in result["runs"]]
    rtf = statistics.median(run["wall"] for run in result["runs"]) / seconds
    others = [run["others"] for run in result["runs"] if run["others"] is not None]
    busy = f"{statistics.mean(others):.2f}" if others else "—"
    running = f"{result['running_rss']:.0f}" if result["running_rss"] is not None else "—"
    return (f"| {compute_type} | {result['threads']} | {statistics.median(per_second):.1f} "
            f"({min(per_second):.1f}–{max(per_second):.1f}) | {rtf:.4f} | {1000 * result['short']['cpu']:.0f} | "
            f"{result['loading']:.2f} | {result['loading_rss']:.0f} | {running} | {busy} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--compute-types", nargs="+", choices=COMPUTE_TYPES, default=list(COMPUTE_TYPES))
    parser.add_argument("--wait-policy", choices=WAIT_POLICIES, default="PASSIVE",
                        help="OpenMP's OMP_WAIT_POLICY in the measured processes (PASSIVE: as proxyseg sets it)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--only", choices=COMPUTE_TYPES, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        args.result.write_text(json.dumps(measure(args.only, args.threads[0], args.seconds, args.repeats)))
        return
    with tempfile.TemporaryDirectory(prefix="proxyseg-whisper-features-") as scratch:
        configurations = [(kind, threads) for kind in args.compute_types for threads in args.threads]
        results = {key: run_isolated(*key, args, Path(scratch)) for key in configurations}
    lines = [f"**Whisper features** on {args.seconds:g} s of audio, {date.today().isoformat()}, {cpu_model()}, "
             f"{os.cpu_count()} CPUs, OpenMP wait policy {args.wait_policy}; medians of {args.repeats} runs after "
             f"one on {SHORT_SECONDS:g} s", "",
             "| compute type | threads | CPU ms per audio s (range) | RTF | CPU ms for a 4 s input | loading s "
             "| peak RSS loading MB | peak RSS running MB | other busy CPUs |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [row(kind, results[kind, threads], args.seconds) for kind, threads in configurations]
    publish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
