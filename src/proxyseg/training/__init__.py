"""Training: Lightning modules, losses, data and checkpoints, kept apart from the models."""
