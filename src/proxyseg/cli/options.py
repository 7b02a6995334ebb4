"""Option types and the option lists that several commands share (batches of files, training)."""

from __future__ import annotations

import math
import os

import click

from proxyseg.text import printable

class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinities (which pass click's range checks)."""

    name = "float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: Seeds numpy, torch and Lightning all accept.
SEED = click.IntRange(0, 2**32 - 1)


#: Worker processes or threads: each worker loads torch and a model, and threads beyond the cores
#: only wait, so more than a few per core only costs memory and CPU.
PER_CORE = click.IntRange(1, 4 * (os.cpu_count() or 1))


def batch_options(command):
    """The options shared by the commands that process many files (``segment``, ``explain``)."""
    options = [
        click.option("--jobs", "-j", type=PER_CORE, default=1, show_default=True,
                     help="Files processed in parallel (each process loads the model and shares the cores)."),
        click.option("--threads", type=PER_CORE, default=1, show_default=True,
                     help="torch threads per process. One keeps the CPU cost the same on a busy machine (more "
                          "threads spin while they wait for a busy core); use --jobs for parallelism."),
        click.option("--overwrite", is_flag=True, help="Process files whose outputs exist (skipped otherwise)."),
        click.option("--shard", metavar="I/N", callback=shard_option,
                     help="Process only the I-th of N disjoint shares of the files (1 <= I <= N), e.g. one per machine."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def thresholds_option(context, parameter, values: tuple[str, ...]) -> dict[str, float]:
    """``CLASS=VALUE`` options as ``{class: value}``: a known class, once, and a number from 0 to 1."""
    from proxyseg.labels import CLASSES

    thresholds = {}
    for value in values:
        name, separator, number = value.partition("=")
        if not separator or name not in CLASSES:
            raise click.BadParameter(f"{printable(value)!r} is not CLASS=VALUE with CLASS one of {', '.join(CLASSES)}")
        if name in thresholds:
            raise click.BadParameter(f"{name} is given twice")
        try:
            threshold = float(number)
        except ValueError:
            threshold = math.nan
        if not 0.0 <= threshold <= 1.0:  # NaN and infinities fail too
            raise click.BadParameter(f"{name}: {printable(number)!r} is not a number from 0 to 1")
        thresholds[name] = threshold
    return thresholds


def experts_option(context, parameter, values: tuple[str, ...]) -> dict[str, str]:
    """``CLASS=MODEL`` options as ``{class: model}``: a known class, once, and a non-empty model reference."""
    from proxyseg.labels import CLASSES

    experts = {}
    for value in values:
        name, separator, model = value.partition("=")
        if not separator or name not in CLASSES or not model:
            raise click.BadParameter(f"{printable(value)!r} is not CLASS=MODEL with CLASS one of {', '.join(CLASSES)}")
        if name in experts:
            raise click.BadParameter(f"{name} is given twice")
        experts[name] = model
    return experts


def shard_option(context, parameter, value: str | None) -> tuple[int, int] | None:
    from proxyseg.batch import parse_shard

    try:
        return None if value is None else parse_shard(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def training_options(command):
    """The Lightning options shared by the training commands (stopping, seed, resume, devices)."""
    options = [
        click.option("--max-epochs", type=click.IntRange(min=1), default=1000, show_default=True),
        click.option("--max-minutes", type=FiniteRange(min=0, min_open=True),
                     help="Time budget of the whole training, resumed runs included."),
        click.option("--patience", type=click.IntRange(min=1), default=20, show_default=True,
                     help="Epochs without dev improvement before stopping."),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True),
        click.option("--seed", type=SEED, default=0, show_default=True),
        click.option("--no-resume", is_flag=True, help="Start afresh even if OUTDIR holds a checkpoint."),
        click.option("--accelerator", default="cpu", show_default=True, help="Lightning accelerator (cpu, gpu, auto)."),
        click.option("--devices", default="auto", show_default=True,
                     help="Devices (processes on cpu) per node: a number, GPU indices such as 0,1, or auto."),
        click.option("--num-nodes", type=click.IntRange(1, 4096), default=1, show_default=True,
                     help="Machines running this same command (see NODE_RANK, MASTER_ADDR, MASTER_PORT)."),
        click.option("--strategy", default="auto", show_default=True,
                     help="Lightning strategy: ddp (what auto picks for several devices) runs this command again "
                          "once per extra device; only rank 0 saves."),
        click.option("--threads", type=PER_CORE,
                     help="torch threads per process [default: one per core, divided among the processes of a "
                          "multi-device run; waiting threads sleep, so a busy machine costs little]."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def trainer_arguments(max_epochs: int, max_minutes: float | None, patience: int, batch_size: int, seed: int,
                       no_resume: bool, accelerator: str, devices: str, num_nodes: int, strategy: str,
                       threads: int | None, quiet: bool) -> dict:
    """The keyword arguments of the training functions for :func:`training_options`."""
    return {"max_epochs": max_epochs, "max_minutes": max_minutes, "patience": patience, "batch_size": batch_size,
            "seed": seed, "resume": not no_resume, "progress": not quiet, "accelerator": accelerator,
            "devices": int(devices) if devices.isdigit() else devices, "num_nodes": num_nodes, "strategy": strategy,
            "threads": threads}
