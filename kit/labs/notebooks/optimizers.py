# %% [markdown]
# # Lab `optimizers`: SGD, momentum, Nesterov, RMSProp and Adam side by side
#
# **The lecture** ("Training networks, part 2", update rules): Adam with lr 1e-3 is a good choice in
# most cases and often works with a constant learning rate; SGD + momentum can do better than Adam,
# but its learning rate has to be decreased (cosine decay is a good choice).
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/optimizers.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.labs import optimizers as lab
from kit.labs.common import get_preset, lab_data, show
from kit.optimizers import OPTIMIZERS
from kit.train import TrainConfig, train

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET)
print(data, "| optimizers:", ", ".join(OPTIMIZERS))

# %% [markdown]
# ## Your turn: one optimizer, one learning rate
# Try `"adagrad"`, `"adamw"`, `"nadam"`, momentum at 0.1, or Adam at 1e-2 (the lecture's range is
# 1e-1 .. 1e-4): does the loss still fall? A NaN loss stops the run with the lecture's hint.

# %%
OPTIMIZER, LEARNING_RATE, SCHEDULE = "adamw", 1e-3, "constant"

config = TrainConfig(
    name=OPTIMIZER,
    model=lab.MODEL,
    model_options=lab.MODEL_OPTIONS,
    optimizer=OPTIMIZER,
    learning_rate=LEARNING_RATE,
    schedule=SCHEDULE,
    epochs=PRESET.pick(smoke=1, quick=lab.EPOCHS),
    batch_size=lab.BATCH_SIZE,
    precision="float32",
    monitor="val_accuracy",
)
run = train(config, data, out=OUT / "your_turn", verbose=0)
print(run.history[["epoch", "loss", "val_accuracy"]].to_string(index=False))

# %% [markdown]
# ## The lab as `python -m kit lab optimizers` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
