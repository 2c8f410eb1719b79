# %% [markdown]
# # Lab `random-vs-grid`: random search against grid search at the same budget
#
# **The lecture** ("Training networks, part 2", hyperparameter search; Bergstra & Bengio 2012):
# random search beats grid search. When one hyperparameter matters (the learning rate) and another
# hardly does, a 3 x 3 grid tries three learning rates in nine trials; random search tries nine.
# Both searches are KerasTuner's, through `kit.tune.search`, scored by validation macro-F1.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/random_vs_grid.py` (about a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.labs import random_vs_grid as lab
from kit.labs.common import get_preset, lab_data, show
from kit.train import TrainConfig
from kit.tune import ALGORITHMS, search

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET)
print(data, "| search algorithms:", ", ".join(ALGORITHMS))

# %% [markdown]
# ## Your turn: your own search space
# Lists are choices (a grid needs them), `("log", low, high)` is a range for random search. Any
# `TrainConfig` field can be searched, and options as `"model_options.dropout"` etc.

# %%
ALGORITHM, TRIALS = "random", PRESET.pick(smoke=2, quick=6)
SPACE = {"learning_rate": ("log", 1e-4, 1e-2), "model_options.dropout": [0.0, 0.25, 0.5]}

base = TrainConfig(
    name="your_search",
    model=lab.MODEL,
    model_options=lab.MODEL_OPTIONS,
    epochs=PRESET.pick(smoke=1, quick=lab.EPOCHS),
    batch_size=lab.BATCH_SIZE,
    precision="float32",
)
result = search(base, SPACE, data=data, max_trials=TRIALS, out=OUT / "your_search", algorithm=ALGORITHM)
print(result.trials.drop(columns=["run_dir"]).to_string(index=False))

# %% [markdown]
# ## The lab as `python -m kit lab random-vs-grid` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
