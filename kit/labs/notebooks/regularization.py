# %% [markdown]
# # Lab `regularization`: dropout, L2 and augmentation against the train-validation gap
#
# **The lecture** ("Training networks, part 2", beyond training loss): regularisation (L2 / weight
# decay, dropout, data augmentation) reduces overfitting, the gap between training and validation
# accuracy. Here a narrow CNN-MNIST network overfits a small training set and each regulariser is
# switched on alone.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/regularization.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.evaluate import evaluate
from kit.labs import regularization as lab
from kit.labs.common import get_preset, lab_data, show
from kit.train import TrainConfig, train

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET, train=PRESET.pick(smoke=PRESET.train, quick=lab.TRAIN_SIZE))
print(data)

# %% [markdown]
# ## Your turn: your own mix of regularisers
# Dropout is a pair (after the convolutions, before the output); `WEIGHT_DECAY` is the L2 factor;
# `AUGMENTATION` is a `kit.augment` spec such as `"flip,translate,erasing"` or `"mixup"`.

# %%
DROPOUT, WEIGHT_DECAY, AUGMENTATION = (0.25, 0.5), 1e-4, "flip"

config = TrainConfig(
    name="your_turn",
    model=lab.MODEL,
    model_options={**lab.BASE_OPTIONS, "dropout": DROPOUT, "weight_decay": WEIGHT_DECAY},
    augmentation=AUGMENTATION,
    epochs=PRESET.pick(smoke=1, quick=lab.EPOCHS),
    batch_size=lab.BATCH_SIZE,
    precision="float32",
    monitor="val_accuracy",
)
run = train(config, data, out=OUT / "your_turn", verbose=0)
train_accuracy = evaluate(run.model, data.x_train, data.y_train).accuracy
val_accuracy = evaluate(run.model, data.x_val, data.y_val).accuracy
print(f"train {train_accuracy:.3f}, validation {val_accuracy:.3f}, gap {train_accuracy - val_accuracy:.3f}")

# %% [markdown]
# ## The lab as `python -m kit lab regularization` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
