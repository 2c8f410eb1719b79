# %% [markdown]
# # Lab `init-collapse`: what a bad weight initialisation does to a deep tanh net
#
# **The lecture** ("Training networks, part 1", weight initialisation): a 6-layer net with 4096
# tanh units per layer and weights `W = 0.01 * randn` — "all activations go to zero in the deep
# layers", so the gradients dL/dW are close to zero too; weights that are too large saturate tanh.
# Xavier (`std = 1/sqrt(D_in)`) keeps the activations' scale.
#
# Here the same forward pass runs on real Fashion-MNIST images. Change the numbers in the next
# cells (the depth, the width, the weights' std) and re-run. As a script:
# `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/init_collapse.py` (seconds).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

import keras

from kit import labs
from kit.labs import init_collapse as lab
from kit.labs.common import get_preset, lab_data, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The numbers to play with
# Each layer multiplies the activations' scale by about `std * sqrt(units)` (before tanh squashes
# it): 0.01 * 64 = 0.64 shrinks, 0.05 * 64 = 3.2 saturates. Try `UNITS = 512` or `STDS = [0.02, 0.1]`.

# %%
DEPTH = 6
UNITS = PRESET.pick(smoke=256, quick=4096)
IMAGES = PRESET.pick(smoke=200, quick=1000)
STDS = [0.01, 0.05]

# %% [markdown]
# ## One forward pass, per-layer histograms
# The images are zero-centred and normalised first (the lecture's preprocessing).

# %%
x = lab.standardized_images(lab_data(PRESET).x_train[:IMAGES])
rows = {
    f"N(0, {std}^2)": lab.activation_stats(DEPTH, UNITS, keras.initializers.RandomNormal(stddev=std), x) for std in STDS
}
rows["Xavier 1/sqrt(D_in)"] = lab.activation_stats(DEPTH, UNITS, "lecun_normal", x)
for label, stats in rows.items():
    print(f"{label:>22}: std per layer", " ".join(f"{layer['std']:.3g}" for layer in stats))
show(OUT / lab.plot_histograms(rows, OUT / "my_histograms.png"))
show(OUT / lab.plot_scale(rows, OUT / "my_scale.png"))

# %% [markdown]
# ## The lab as `python -m kit lab init-collapse` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
