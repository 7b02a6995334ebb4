"""Wall and CPU time of a training step of the teacher and the proxy, per torch thread count, idle and busy.

Usage::

    python benchmarks/training_speed.py [--threads 1 2] [--steps 10] [--batch-size 64] [--busy]
                                        [--wait-policy PASSIVE|ACTIVE|default] [--output FILE]

A step is what ``proxyseg train`` repeats: the forward pass of a batch of ``--batch-size`` 4 s
chunks, the loss, the backward pass and Adam's update, through the Lightning modules of
:mod:`proxyseg.training` (``SegmentationTraining`` for the paper's teacher,
``DistillationTraining`` for the shipped proxy's architecture, on the teacher's embedding
with a 128-atom dictionary). The audio is noise and the targets random: the cost of a step does
not depend on them. Each thread count runs in a process of its own (this script again, with
``--only``), one warm-up step then ``--steps`` timed ones; the table gives the median wall time
per step and the CPU time per step (all threads of the process). ``--busy`` measures everything
again beside a neighbour process that keeps one core busy (a Python loop, started and stopped by
this script). OpenMP's wait policy is ``--wait-policy`` (default ``PASSIVE``, what the ``proxyseg``
command sets; ``default`` leaves the environment's).
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
from speed import WAIT_POLICIES, child_environment, cpu_model, neighbour  # benchmarks/speed.py, beside this script

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 4.0
MODELS = ("teacher", "proxy")


def training_module(name: str):
    """The Lightning module that trains ``name`` (the paper's teacher, or the shipped proxy's architecture)."""
    from proxyseg.artefacts import load_model
    from proxyseg.models.proxy import ProxySegmenter
    from proxyseg.models.tcn import TCNSegmenter
    from proxyseg.training.distillation import DistillationTraining
    from proxyseg.training.segmentation import SegmentationTraining

    if name == "teacher":
        return SegmentationTraining(TCNSegmenter())
    return DistillationTraining(ProxySegmenter(**load_model("proxy").model.get_config()))


def batch_of(name: str, batch_size: int):
    """A batch as ``proxyseg train NAME`` feeds it: waveforms, targets (or teacher probabilities), mask."""
    import torch

    from proxyseg.grid import num_feature_frames
    from proxyseg.labels import CLASSES

    generator = torch.Generator().manual_seed(0)
    samples = int(CHUNK_SECONDS * SAMPLE_RATE)
    frames = num_feature_frames(samples)
    waveform = 0.1 * torch.randn(batch_size, samples, generator=generator)
    targets = torch.rand(batch_size, frames, len(CLASSES), generator=generator)
    if name == "teacher":
        targets = (targets > 0.5).float()
    return waveform, targets, torch.ones(batch_size, frames, len(CLASSES), dtype=torch.bool)


def loss_of(module, batch):
    """The training loss of ``batch``: what ``training_step`` returns, without the logging that needs a trainer."""
    from proxyseg.training.segmentation import SegmentationTraining

    return module._loss(batch)[0] if isinstance(module, SegmentationTraining) else module._terms(batch)[0]["loss"]


def measure(name: str, threads: int, steps: int, batch_size: int) -> dict:
    """Seconds of wall and CPU time of each of ``steps`` training steps of ``name`` with ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    module = training_module(name).train()
    optimizer = module.configure_optimizers()["optimizer"]
    batch = batch_of(name, batch_size)
    runs = []
    for step in range(steps + 1):  # the first is a warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad()
        loss_of(module, batch).backward()
        optimizer.step()
        runs.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    return {"threads": torch.get_num_threads(), "runs": runs[1:]}


def run_isolated(name: str, threads: int, args: argparse.Namespace, scratch: Path) -> dict:
    """:func:`measure` in a fresh process (this script with ``--only``)."""
    result = scratch / f"{name}-{threads}.json"
    subprocess.run([sys.executable, __file__, "--only", name, "--threads", str(threads), "--steps", str(args.steps),
                    "--batch-size", str(args.batch_size), "--result", str(result)], check=True,
                   env=child_environment(args.wait_policy))
    return json.loads(result.read_text())


def row(name: str, result: dict, busy: dict | None) -> str:
    """A table row: median wall and CPU seconds per step, idle and (when measured) busy."""
    def medians(measured: dict) -> tuple[float, float]:
        return (statistics.median(run["wall"] for run in measured["runs"]),
                statistics.median(run["cpu"] for run in measured["runs"]))

    wall, cpu = medians(result)
    cells = f"| {name} | {result['threads']} | {wall:.2f} | {cpu:.2f} |"
    if busy:
        busy_wall, busy_cpu = medians(busy)
        cells += f" {busy_wall:.2f} | {busy_cpu:.2f} | {busy_wall / wall:.2f} |"
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--busy", action="store_true", help="also measure with a neighbour keeping one core busy")
    parser.add_argument("--wait-policy", choices=WAIT_POLICIES, default="PASSIVE",
                        help="OpenMP's OMP_WAIT_POLICY in the measured processes (PASSIVE: as proxyseg sets it)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--only", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        args.result.write_text(json.dumps(measure(args.only, args.threads[0], args.steps, args.batch_size)))
        return
    with tempfile.TemporaryDirectory(prefix="proxyseg-training-speed-") as scratch:
        configurations = [(name, threads) for name in args.models for threads in args.threads]
        idle = {key: run_isolated(*key, args, Path(scratch)) for key in configurations}
        busy = {}
        if args.busy:
            with neighbour():
                busy = {key: run_isolated(*key, args, Path(scratch)) for key in configurations}
    lines = [f"**Training steps** of {args.batch_size} × {CHUNK_SECONDS:g} s chunks, {date.today().isoformat()}, "
             f"{cpu_model()}, {os.cpu_count()} CPUs, OpenMP wait policy {args.wait_policy}; medians of {args.steps} "
             "steps after one warm-up", "",
             "| model | torch threads | wall s per step | CPU s per step |"
             + (" busy: wall s | busy: CPU s | busy / idle wall |" if busy else ""),
             "|---|---|---|---|" + ("---|---|---|" if busy else "")]
    lines += [row(name, idle[name, threads], busy.get((name, threads))) for name, threads in configurations]
    publish("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
