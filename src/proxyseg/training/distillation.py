"""The Lightning module that distils a teacher's probabilities into the NMF proxy."""

from __future__ import annotations

import lightning as L
import torch

from proxyseg.models.proxy import ProxySegmenter
from proxyseg.training.losses import proxy_loss


class DistillationTraining(L.LightningModule):
    """Trains a :class:`~proxyseg.models.proxy.ProxySegmenter` on chunks ``(waveform, teacher
    probabilities, mask[, teacher features])`` with :func:`~proxyseg.training.losses.proxy_loss`.

    Logs ``train/loss`` and, on validation, ``val/loss``, its terms ``val/kd``,
    ``val/reconstruction``, ``val/sparsity``, and ``val/agreement``: the share of (frame,
    class) cells where proxy and teacher take the same decision at 0.5. Under DDP the
    validation figures cover every process's share of the set.

    Parameters
    ----------
    model
        The proxy (its feature extractor, if frozen, is not optimised).
    weights
        ``(λ_kd, λ_rec, λ_sp)``.
    learning_rate
        Adam's (1e-3).
    """

    def __init__(self, model: ProxySegmenter, weights: tuple[float, float, float] = (10.0, 5.0, 0.1),
                 learning_rate: float = 1e-3):
        super().__init__()
        self.model = model
        self.weights = weights
        self.learning_rate = learning_rate
        self.register_buffer("agreement", torch.zeros(2), persistent=False)  # agreeing cells, cells

    def _terms(self, batch) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        waveform, teacher, mask = batch[:3]
        features = batch[3] if len(batch) > 3 else None
        outputs = self.model(waveform, features)
        with torch.no_grad():
            spectrogram = self.model.spectrogram(waveform)  # (batch, freq, frame)
        frames = min(outputs["logits"].shape[1], teacher.shape[1], spectrogram.shape[2])
        logits, activations = outputs["logits"][:, :frames], outputs["activations"][..., :frames]
        teacher, mask = teacher[:, :frames], mask[:, :frames]
        terms = proxy_loss(logits, teacher, mask, spectrogram[..., :frames], self.model.reconstruct(activations), activations,
                           self.weights)
        return terms, logits, teacher, mask

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        terms, *_ = self._terms(batch)
        self.log("train/loss", terms["loss"], prog_bar=True, batch_size=batch[0].shape[0])
        return terms["loss"]

    def setup(self, stage: str) -> None:
        """Give every process rank 0's ``W``: under DDP only rank 0 learns it (see
        :func:`~proxyseg.training.proxy.train_proxy`)."""
        atoms = self.trainer.strategy.broadcast(self.model.atoms.detach().clone(), src=0)
        with torch.no_grad():
            self.model.atoms.copy_(atoms)

    def on_validation_epoch_start(self) -> None:
        self.agreement.zero_()

    def validation_step(self, batch, batch_index: int) -> None:
        terms, logits, teacher, mask = self._terms(batch)
        size = batch[0].shape[0]
        for name, value in terms.items():
            self.log(f"val/{name}", value, prog_bar=name in ("loss", "kd"), batch_size=size, sync_dist=True)
        agree = ((logits > 0) == (teacher > 0.5)) & mask
        self.agreement += torch.stack([agree.sum(), mask.expand_as(agree).sum()]).to(self.agreement.dtype)

    def on_validation_epoch_end(self) -> None:
        agreeing, cells = self.trainer.strategy.reduce(self.agreement, reduce_op="sum")
        # Summed over the processes, the same in all; sync_dist averages equal values.
        self.log("val/agreement", agreeing / cells.clamp(min=1), prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        parameters = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        optimizer = torch.optim.Adam(parameters, lr=self.learning_rate)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=4)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/kd"}}
