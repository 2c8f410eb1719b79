"""The trained network the "what did it learn" labs look into (filters, grad-cam, embedding).

The homework's CNN-MNIST network (``kit.models.cnn_mnist``), trained by ``kit.train`` on the
preset's stratified subset; its run folder is ``out_dir/cnn``. Not a lab (no ``NAME``): the
leading underscore keeps it out of ``kit.labs.available()``.
"""

from __future__ import annotations

from pathlib import Path

from kit.labs.common import LabPreset, lab_data
from kit.train import TrainConfig, train

MODEL = "cnn_mnist"
EPOCHS = 3  # quick; smoke trains the preset's epochs
BATCH_SIZE = 64


def trained_cnn(out_dir: Path, preset: LabPreset):
    """(kit.train.Run, data): the homework CNN trained on ``lab_data(preset)``, evaluated on its test subset."""

    data = lab_data(preset)
    config = TrainConfig(
        name=MODEL,
        model=MODEL,
        epochs=preset.pick(smoke=preset.epochs, quick=EPOCHS),
        batch_size=BATCH_SIZE,
        precision="float32",
        monitor="val_accuracy",
        seed=0,
    )
    return train(config, data, out=Path(out_dir) / "cnn", verbose=0), data
