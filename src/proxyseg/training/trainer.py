"""The Lightning trainer shared by ``train teacher`` and ``train proxy``: checkpoints, logs, stopping."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from proxyseg.training.checkpoint import SafetensorsCheckpointIO

CHECKPOINTS = "checkpoints"


class _Checkpoint(ModelCheckpoint):
    # The files are safetensors (see SafetensorsCheckpointIO), and named so.
    FILE_EXTENSION = ".safetensors"


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
    steps_per_epoch
        Used to log a few times per epoch.
    progress
        Show Lightning's progress bar.
    accelerator, devices, num_nodes, strategy
        Passed to ``lightning.Trainer``.
    """

    def __init__(self, output: Path, monitor: str, mode: str, *, max_epochs: int, max_minutes: float | None,
                 patience: int, steps_per_epoch: int, progress: bool, accelerator: str = "cpu", devices="auto",
                 num_nodes: int = 1, strategy: str = "auto"):
        self.output = Path(output)
        self.best = _Checkpoint(dirpath=self.output / CHECKPOINTS, filename="best", monitor=monitor, mode=mode)
        last = _Checkpoint(dirpath=self.output / CHECKPOINTS, save_top_k=0, save_last=True,
                           save_on_train_epoch_end=True)
        self.trainer = L.Trainer(
            accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
            max_epochs=max_epochs, max_time=timedelta(minutes=max_minutes) if max_minutes else None,
            callbacks=[self.best, last, EarlyStopping(monitor, mode=mode, patience=patience)],
            plugins=[SafetensorsCheckpointIO()], logger=CSVLogger(self.output, name="logs"),
            enable_progress_bar=progress, enable_model_summary=False, default_root_dir=self.output,
            log_every_n_steps=max(1, min(50, steps_per_epoch)), deterministic=True, num_sanity_val_steps=0,
        )

    @property
    def last_path(self) -> Path:
        return self.output / CHECKPOINTS / "last.safetensors"

    def fit(self, module: L.LightningModule, train_loader, dev_loader, resume: bool) -> bool:
        """Train ``module``; resume from the last checkpoint if asked and present.

        Returns
        -------
        bool
            Whether this process is the one that should save results (rank 0 under DDP).
        """
        self.trainer.fit(module, train_loader, dev_loader,
                         ckpt_path=str(self.last_path) if resume and self.last_path.exists() else None)
        return self.trainer.is_global_zero

    def load_best(self, model: nn.Module, prefix: str = "model.") -> Path:
        """Load the best epoch's weights (the last one's if none was ranked) into ``model``; its path."""
        best = Path(self.best.best_model_path or self.last_path)
        state = SafetensorsCheckpointIO().load_checkpoint(best)["state_dict"]
        model.load_state_dict({name.removeprefix(prefix): tensor for name, tensor in state.items()
                               if name.startswith(prefix)})
        model.eval()
        return best

    def summary(self) -> dict:
        """Epochs run and the best checkpoint with its score, for ``training.json``."""
        score = self.best.best_model_score
        return {"epochs": self.trainer.current_epoch, "best_checkpoint": Path(self.best.best_model_path).name or None,
                "best_score": float(score) if isinstance(score, torch.Tensor) else score}
