# %% [markdown]
# # Lab `initial-loss`: check the loss before training (recipe step 1)
#
# **The lecture** ("Training networks, part 2", hyperparameter search, step 1): look at the loss at
# the start of training, with weight decay switched off and on; for a softmax over C classes it
# should be log(C) — 2.303 for Fashion-MNIST's 10 classes. An untrained net that starts far from it
# has a bug or a bad initialisation.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/initial_loss.py` (seconds).

# %%
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs, models
from kit.labs import initial_loss as lab
from kit.labs.common import get_preset, lab_data, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET)
print("log(C) =", math.log(data.num_classes))

# %% [markdown]
# ## Your turn: any network of the kit, any knob
# Change the model, its initialiser (`"small_random_normal"`, `"he_normal"`, ...) or scale the
# output layer, and see how far the start moves from log(10).

# %%
MODEL = "cnn_mnist"
OPTIONS = {"kernel_initializer": "glorot_uniform"}
HEAD_SCALE = 50.0

model = models.build(MODEL, **OPTIONS)
loss, per_image = lab.initial_loss(model, data.x_val, data.y_val)
print(f"{MODEL} {OPTIONS}: initial loss {loss:.3f}")
lab.scale_output_layer(model, HEAD_SCALE)
print(f"output layer x{HEAD_SCALE:g}: initial loss {lab.initial_loss(model, data.x_val, data.y_val)[0]:.3f}")

# %% [markdown]
# ## The lab as `python -m kit lab initial-loss` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
