"""The trained network the "what did it learn" labs look into (filters, grad-cam, embedding).

The homework's CNN-MNIST network (``kit.models.cnn_mnist``), trained by ``kit.train`` on the
preset's stratified subset. Not a lab (no ``NAME``): the leading underscore keeps it out of
``kit.labs.available()``.
"""

from __future__ import annotations

from pathlib import Path

from kit.labs.common import LabPreset, lab_data, train_variant

MODEL = "cnn_mnist"
EPOCHS = 3  # quick; smoke trains the preset's epochs
BATCH_SIZE = 64


def trained_cnn(out_dir: Path, preset: LabPreset):
    """(kit.train.Run, data): the homework CNN trained on ``lab_data(preset)``, evaluated on its test subset.

    Its run folder is ``out_dir/runs/cnn``.
    """
    data = lab_data(preset)
    run = train_variant(
        out_dir,
        preset,
        data,
        "cnn",
        model=MODEL,
        epochs=preset.pick(smoke=preset.epochs, quick=EPOCHS),
        batch_size=BATCH_SIZE,
    )
    return run, data
