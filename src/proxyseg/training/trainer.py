"""The Lightning trainer shared by ``train teacher`` and ``train proxy``: checkpoints, logs, stopping.

Several devices or nodes train with Lightning's ``ddp`` strategy, which runs the command (or
the Python script) again in one process per extra device. Every process builds the data and
the model; only rank 0 saves the results (:attr:`Training.is_global_zero`). Strategies that
fork or spawn workers from a running interpreter (``ddp_spawn``, ``ddp_fork``,
``ddp_notebook``) are refused: they pickle the decoded corpus, and they hand back only part
of the training state (the weights, not the epochs run or the best score).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher
from torch import nn
from torch.utils.data import DataLoader, Dataset

from proxyseg.errors import ProxysegError
from proxyseg.training.checkpoint import SafetensorsCheckpointIO

CHECKPOINTS = "checkpoints"
logger = logging.getLogger(__name__)


def _lightning_logs_as_ours() -> None:
    """Lightning's messages (devices found, tips) through proxyseg's logging, at its level, once: Lightning
    gives its logger a handler of its own at INFO, which printed them twice even with ``-q``."""
    logging.getLogger("lightning").handlers.clear()
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # each set at INFO by Lightning
        logging.getLogger(name).setLevel(logging.getLogger("proxyseg").getEffectiveLevel())


class _Checkpoint(ModelCheckpoint):
    # The files are safetensors (see SafetensorsCheckpointIO), and named so.
    FILE_EXTENSION = ".safetensors"


class _SeedPerProcess(Callback):
    """Under DDP, process ``r`` draws its random chunks and augmentation from ``seed + r``.

    Every process starts from the run's seed, so that they build the same model; without this,
    they would also draw the same chunk offsets and augmentations. A single process keeps its
    random stream as it was.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + trainer.global_rank)


class Training:
    """A Lightning trainer writing into ``output``, that keeps the best and the last epoch.

    ``output/checkpoints/best.safetensors`` is the best epoch by ``monitor``;
    ``output/checkpoints/last.safetensors`` is saved at the end of every epoch (validation
    included), so that a resumed run starts a new epoch; ``output/logs/`` holds the metrics
    of each epoch as CSV.

    Parameters
    ----------
    output
        The model directory being trained.
    monitor, mode
        The validation metric that selects the best epoch and stops training, and whether
        higher (``max``) or lower (``min``) is better.
    max_epochs, max_minutes, patience
        Stopping: at most this many epochs, this much wall-clock time, or epochs without progress.
    progress
        Show Lightning's progress bar.
    accelerator, devices, num_nodes, strategy
        Passed to ``lightning.Trainer``.
    threads
        torch threads per process; None: torch's default, one per core (Lightning divides the
        cores among the processes of a multi-device run). Set through ``OMP_NUM_THREADS`` as
        well, which the processes of a ``ddp`` run inherit and Lightning then leaves alone.

    The batches are sliced from the decoded corpus in the training process itself: no data
    loader workers (:attr:`DATALOADER_WORKERS`).

    Raises
    ------
    ProxysegError
        Lightning refuses these options, or the strategy spawns or forks its processes.
    """

    #: Data loader worker processes: none, the chunks are slices of waveforms in memory.
    DATALOADER_WORKERS = 0

    def __init__(self, output: Path, monitor: str, mode: str, *, max_epochs: int, max_minutes: float | None,
                 patience: int, progress: bool, accelerator: str = "cpu", devices="auto", num_nodes: int = 1,
                 strategy: str = "auto", threads: int | None = None):
        if threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(threads)
            torch.set_num_threads(threads)
        _lightning_logs_as_ours()
        self.output = Path(output)
        self._epochs_before = 0  # epochs of a run found complete when resumed (see fit)
        self.best = _Checkpoint(dirpath=self.output / CHECKPOINTS, filename="best", monitor=monitor, mode=mode)
        # The latest epoch under a fixed name, every epoch. (Lightning's save_last writes "last"
        # only when another checkpoint is saved in the same step.)
        last = _Checkpoint(dirpath=self.output / CHECKPOINTS, filename="last", monitor=None, save_top_k=1,
                           save_on_train_epoch_end=True, enable_version_counter=False)
        try:
            self.trainer = L.Trainer(
                accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
                max_epochs=max_epochs, max_time=timedelta(minutes=max_minutes) if max_minutes else None,
                callbacks=[self.best, last, EarlyStopping(monitor, mode=mode, patience=patience), _SeedPerProcess()],
                plugins=[SafetensorsCheckpointIO()], logger=CSVLogger(self.output, name="logs"),
                enable_progress_bar=progress, enable_model_summary=False, default_root_dir=self.output,
                deterministic=True, num_sanity_val_steps=0,
            )
        except (MisconfigurationException, ValueError, TypeError, ImportError) as error:
            raise ProxysegError(f"cannot set up training: {str(error).splitlines()[0]}") from None
        if isinstance(self.trainer.strategy.launcher, _MultiProcessingLauncher):
            raise ProxysegError(f"strategy {strategy!r} spawns or forks its processes (as Lightning does in "
                                "notebooks): train on several devices with strategy 'ddp', from the command line "
                                "or a script")

    @property
    def is_global_zero(self) -> bool:
        """Whether this process is rank 0, the one that prepares shared data and saves results.

        Known before :meth:`fit`: under ``ddp`` the other processes of this node start only then.
        """
        return self.trainer.is_global_zero

    @property
    def last_path(self) -> Path:
        return self.output / CHECKPOINTS / "last.safetensors"

    def fit(self, module: L.LightningModule, train_set: Dataset, dev_set: Dataset, batch_size: int,
            resume: bool) -> bool:
        """Train ``module`` on shuffled batches of ``train_set``, validating on ``dev_set``; resume
        from the last checkpoint if asked and present.

        Under DDP, Lightning gives each process its share of both sets (a
        ``DistributedSampler``, shuffled anew each epoch from the seed); the last, partial
        batch of a process is dropped unless it is its only one.

        Returns
        -------
        bool
            Whether this process is the one that should save results (rank 0 under DDP).
        """
        per_process = math.ceil(len(train_set) / self.trainer.world_size)
        self.trainer.log_every_n_steps = max(1, min(50, per_process // batch_size))
        train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=per_process > batch_size,
                                  num_workers=self.DATALOADER_WORKERS)
        dev_loader = DataLoader(dev_set, batch_size=batch_size, num_workers=self.DATALOADER_WORKERS)
        checkpoint = self.last_path if resume and self.last_path.exists() else None
        if checkpoint is not None:
            state = SafetensorsCheckpointIO().load_checkpoint(checkpoint)
            done = state["epoch"] + 1  # saved at the end of epoch `epoch`, counted from 0
            if self.trainer.max_epochs is not None and 0 <= self.trainer.max_epochs <= done:
                # No epoch left to run (Lightning refuses to restore a run past max_epochs): keep its best.
                logger.info("%s already ran %d epochs (at most %d asked): keeping its best", checkpoint, done,
                            self.trainer.max_epochs)
                self.best.load_state_dict(state["callbacks"][self.best.state_key])
                self._epochs_before = done
                return self.trainer.is_global_zero
            logger.info("resuming from %s", checkpoint)
        with warnings.catch_warnings():
            # Lightning's own use of a deprecated torch API, and its word that a resumed run's
            # checkpoint folder is not empty: nothing a user can act on.
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
            warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
            self.trainer.fit(module, train_loader, dev_loader, ckpt_path=str(checkpoint) if checkpoint else None)
        return self.trainer.is_global_zero

    def load_best(self, model: nn.Module, prefix: str = "model.") -> Path:
        """Load the best epoch's weights (the last one's if none was ranked) into ``model``; its path."""
        best = Path(self.best.best_model_path or self.last_path)
        state = SafetensorsCheckpointIO().load_checkpoint(best)["state_dict"]
        model.load_state_dict({name.removeprefix(prefix): tensor for name, tensor in state.items()
                               if name.startswith(prefix)})
        model.eval()
        return best

    def summary(self, score_name: str) -> dict:
        """Epochs run, processes and their threads, and the best checkpoint with its score (under
        ``score_name``), as ``training.json`` records them."""
        score = self.best.best_model_score
        return {"epochs": self._epochs_before or self.trainer.current_epoch, "processes": self.trainer.world_size,
                "threads_per_process": torch.get_num_threads(), "dataloader_workers": self.DATALOADER_WORKERS,
                "best_checkpoint": Path(self.best.best_model_path).name or None,
                score_name: float(score) if isinstance(score, torch.Tensor) else score}
