# %% [markdown]
# # Lab `lr-schedules`: learning-rate policies, drawn and trained
#
# **The lecture** ("Training networks, part 2", learning-rate policies): step decay (x0.1 at fixed
# epochs), cosine, linear, inverse square root and a linear warm-up. SGD + momentum needs a decreasing
# learning rate; cosine is a good choice.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/lr_schedules.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.labs import lr_schedules as lab
from kit.labs.common import get_preset, lab_data, show
from kit.schedules import SCHEDULES, make_schedule, plot
from kit.train import TrainConfig, train

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET)
print(data, "| schedules:", ", ".join(SCHEDULES))

# %% [markdown]
# ## Your turn: draw a schedule before training with it
# Options are given in epochs, as the lecture does: e.g. `"step"` with `{"boundaries": [3, 6], "factor": 0.1}`,
# `"exponential"` with `{"decay_rate": 0.5, "decay_epochs": 1}`, or any schedule with `WARMUP_EPOCHS = 1`.

# %%
SCHEDULE, OPTIONS, WARMUP_EPOCHS = "step", {"boundaries": [3, 6], "factor": 0.1}, 0
EPOCHS = PRESET.pick(smoke=2, quick=lab.EPOCHS)
STEPS_PER_EPOCH = -(-len(data.y_train) // lab.BATCH_SIZE)

schedule = make_schedule(
    SCHEDULE,
    lab.LEARNING_RATE,
    steps_per_epoch=STEPS_PER_EPOCH,
    epochs=EPOCHS,
    warmup_epochs=WARMUP_EPOCHS,
    **(OPTIONS if PRESET.name != "smoke" else {}),
)
show(plot(schedule, STEPS_PER_EPOCH * EPOCHS, OUT / "your_schedule.png", title=SCHEDULE))
config = TrainConfig(
    name=SCHEDULE,
    model=lab.MODEL,
    model_options=lab.MODEL_OPTIONS,
    optimizer=lab.OPTIMIZER,
    learning_rate=lab.LEARNING_RATE,
    schedule=SCHEDULE,
    schedule_options=OPTIONS if PRESET.name != "smoke" else {},
    warmup_epochs=WARMUP_EPOCHS,
    epochs=EPOCHS,
    batch_size=lab.BATCH_SIZE,
    precision="float32",
    monitor="val_accuracy",
)
run = train(config, data, out=OUT / "your_turn", verbose=0)
print(run.history[["epoch", "learning_rate", "loss", "val_accuracy"]].to_string(index=False))

# %% [markdown]
# ## The lab as `python -m kit lab lr-schedules` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
