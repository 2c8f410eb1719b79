# %% [markdown]
# # Lab `small-data-augment`: Cutout and MixUp on a small and on a larger training set
#
# **The lecture** ("Training networks, part 2", regularisation): Cutout hides part of the image in
# training; Mixup trains on blends of two images with blended labels (40 % cat, 60 % dog). Both are
# regularisers, so they should help most when the training set is small.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/small_data_augment.py` (about a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.augment import AUGMENTATIONS
from kit.labs import small_data_augment as lab
from kit.labs.common import get_preset, lab_data, show
from kit.train import TrainConfig, train

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
print("augmentations:", ", ".join(AUGMENTATIONS))

# %% [markdown]
# ## Your turn: your training-set size, your augmentation
# `AUGMENTATION` is a `kit.augment` spec: `"erasing"` (Cutout), `"mixup"`, `"cutmix"`,
# `{"mixup": {"alpha": 0.4}}`, or several: `"flip,erasing"`.

# %%
TRAIN_SIZE, EPOCHS = PRESET.pick(smoke=200, quick=2000), PRESET.pick(smoke=1, quick=15)
AUGMENTATION = "cutmix"

data = lab_data(PRESET, train=TRAIN_SIZE)
for name, spec in (("none", ""), ("yours", AUGMENTATION)):
    config = TrainConfig(
        name=name,
        model=lab.MODEL,
        model_options=lab.MODEL_OPTIONS,
        augmentation=spec,
        epochs=EPOCHS,
        batch_size=lab.BATCH_SIZE,
        precision="float32",
        monitor="val_accuracy",
    )
    run = train(config, data, out=OUT / f"your_turn_{name}", verbose=0)
    print(f"{name:5s} {spec or '-':10s} test accuracy {run.evaluation.accuracy:.3f}")

# %% [markdown]
# ## The lab as `python -m kit lab small-data-augment` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
