"""The Lightning module that trains a segmenter (the teacher) on labelled chunks."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from proxyseg.labels import CLASSES
from proxyseg.training.losses import masked_bce


class SegmentationTraining(L.LightningModule):
    """Trains a model returning ``{"logits": (batch, frame, class)}`` with masked BCE.

    Batches are ``(waveform, targets, mask)``, or ``(waveform, targets, mask, features)`` with input
    features computed beforehand, which the model is then given as its second argument.

    Logs ``train/loss``, ``val/loss``, and frame-level ``val/f1_<class>`` at threshold 0.5
    plus their mean over the classes present in the validation set, ``val/f1``. Under DDP the
    validation figures cover every process's share of the set, so that all processes agree on
    the best epoch, on stopping and on the learning rate.

    Parameters
    ----------
    model
        The segmenter (a plain ``nn.Module``; this class only trains it).
    learning_rate
        Adam's learning rate (1e-3 in the paper).
    """

    def __init__(self, model: nn.Module, learning_rate: float = 1e-3):
        super().__init__()
        self.model = model
        self.learning_rate = learning_rate
        self.register_buffer("counts", torch.zeros(3, len(CLASSES)), persistent=False)  # tp, fp, fn

    def _loss(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        waveform, targets, mask = batch[:3]
        logits = self.model(waveform, batch[3] if len(batch) > 3 else None)["logits"]  # features computed beforehand
        frames = min(logits.shape[1], targets.shape[1])
        logits, targets, mask = logits[:, :frames], targets[:, :frames], mask[:, :frames]
        return masked_bce(logits, targets, mask), logits, targets, mask

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        loss, *_ = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def on_validation_epoch_start(self) -> None:
        self.counts.zero_()

    def validation_step(self, batch, batch_index: int) -> None:
        loss, logits, targets, mask = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True)
        predicted, actual = logits > 0, targets > 0.5
        for row, cells in enumerate((predicted & actual, predicted & ~actual, ~predicted & actual)):
            self.counts[row] += (cells & mask).sum(dim=(0, 1))

    def on_validation_epoch_end(self) -> None:
        tp, fp, fn = self.trainer.strategy.reduce(self.counts, reduce_op="sum")
        f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
        present = (tp + fn) > 0
        # Summed over the processes, the scores are the same in all; sync_dist averages equal values.
        for index, name in enumerate(CLASSES):
            if present[index]:
                self.log(f"val/f1_{name}", f1[index], sync_dist=True)
        self.log("val/f1", f1[present].mean() if present.any() else f1.new_zeros(()), prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=4)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/f1"}}
