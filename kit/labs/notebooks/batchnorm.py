# %% [markdown]
# # Lab `batchnorm`: does BatchNorm allow higher learning rates and converge faster?
#
# **The lecture** ("Training networks, part 1", batch normalisation): BatchNorm after FC/conv layers,
# before the nonlinearity, improves the gradient flow, allows higher learning rates and reduces the
# dependence on initialisation. At test time it uses running averages of the batch statistics: train
# and test behave differently, a common bug.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/batchnorm.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.labs import batchnorm as lab
from kit.labs.common import get_preset, lab_data, show, train_variant

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: one learning rate, with and without BatchNorm
# Normalisations by the kit's names: `batch`, `layer`, `group`, `instance`, `none`. Try a higher rate
# (0.3) or more epochs, and compare the usual accuracy with the batch-statistics one.

# %%
LEARNING_RATE, EPOCHS = 0.1, PRESET.epochs

data = lab_data(PRESET)
for norm in ("none", "batch"):
    run = train_variant(
        OUT / "mine",
        PRESET,
        data,
        norm,
        model="cnn_mnist",
        model_options={"normalization": norm},
        optimizer="momentum",
        learning_rate=LEARNING_RATE,
        epochs=EPOCHS,
    )
    extra = lab.batch_statistics_accuracy(run.model, data.x_val, data.y_val, 128) if norm != "none" else float("nan")
    print(
        f"{norm:>6}: training loss per epoch",
        run.history["loss"].round(3).tolist(),
        f"val accuracy {run.history['val_accuracy'].iloc[-1]:.3f} (batch statistics: {extra:.3f})",
    )

# %% [markdown]
# ## The lab as `python -m kit lab batchnorm` runs it

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
