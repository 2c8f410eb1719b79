# %% [markdown]
# # Lab `ensemble`: average the predictions of independently trained models
#
# **The lecture** ("Training networks, part 2", model ensembles): train independent models, average
# their predicted distributions at test time, take the argmax: about 2 % more.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/ensemble.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.evaluate import ensemble
from kit.labs import ensemble as lab
from kit.labs.common import get_preset, lab_data, show
from kit.train import TrainConfig, train

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
data = lab_data(PRESET)
print(data)

# %% [markdown]
# ## Your turn: an ensemble of different networks
# Members need not be alike: mix architectures (`kit.models.available()`) and see whether diversity
# helps more than another copy of the same network.

# %%
MEMBERS = [("lenet5", {"activation": "relu", "pooling": "max"}), ("cnn_mnist", {"filters": (16, 32)})]

runs = []
for i, (model, options) in enumerate(MEMBERS):
    config = TrainConfig(
        name=model,
        model=model,
        model_options=options,
        epochs=PRESET.pick(smoke=1, quick=lab.EPOCHS),
        batch_size=lab.BATCH_SIZE,
        precision="float32",
        monitor="val_accuracy",
        seed=i,
    )
    runs.append(train(config, data, out=OUT / f"your_member_{i}", verbose=0))
    print(f"{model}: test accuracy {runs[-1].evaluation.accuracy:.3f}")
combined = ensemble([run.model for run in runs], data.x_test, data.y_test, data.class_names)
print(f"ensemble of {len(runs)}: test accuracy {combined.accuracy:.3f}")

# %% [markdown]
# ## The lab as `python -m kit lab ensemble` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
