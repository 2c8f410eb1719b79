# %% [markdown]
# # Lab `overfit-tiny`: can the network learn a few batches by heart? (recipe step 2)
#
# **The lecture** ("Training networks, part 2", hyperparameter search, step 2): with regularisation
# off, get ~100 % training accuracy on a small sample (~5-10 batches), adjusting the architecture,
# the learning rate and the initialisation. Loss not falling: the learning rate is too small or the
# initialisation is wrong; loss going to Inf/NaN: the learning rate is too large.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/overfit_tiny.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.callbacks import StopAtTarget
from kit.labs import overfit_tiny as lab
from kit.labs.common import get_preset, lab_data, show, train_variant

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: break it on purpose
# Try `LEARNING_RATE = 1e-6` (the loss hardly moves) or `10.0` (it explodes: `kit.train` stops with the
# lecture's hint), or dropout back on.

# %%
LEARNING_RATE, DROPOUT, IMAGES = 1e-3, 0.0, 320

data = lab_data(PRESET, train=IMAGES)
stop = StopAtTarget("accuracy", 1.0)
run = train_variant(
    OUT / "mine",
    PRESET,
    data,
    "tiny",
    model="cnn_mnist",
    model_options={"dropout": DROPOUT},
    learning_rate=LEARNING_RATE,
    batch_size=32,
    epochs=PRESET.pick(smoke=3, quick=40),
    callbacks=[stop],
)
print("100 % training accuracy at epoch:", stop.reached_epoch)
print(run.history[["epoch", "loss", "accuracy", "val_accuracy"]].to_string(index=False))

# %% [markdown]
# ## The lab as `python -m kit lab overfit-tiny` runs it

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
