# %% [markdown]
# # Lab `transfer`: reuse features learnt on other classes
#
# **The lecture** ("Training networks, part 1", transfer learning): train on a big dataset, freeze,
# retrain the top on the small one; with more data fine-tune more layers with about 1/10 of the
# learning rate. Here the "big dataset" is Fashion-MNIST's five tops-and-dresses classes and the small
# one a few dozen images of each of the five shoes-and-bags classes.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/transfer.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs, models
from kit.labs import transfer as lab
from kit.labs.common import get_preset, lab_data, show, train_variant

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: how many target images make transfer unnecessary?
# Change `PER_CLASS` (10, 40, 200, ...) or the split of the classes.

# %%
SOURCE, TARGET, PER_CLASS = lab.SOURCE, lab.TARGET, 40

data = lab_data(PRESET, train=PRESET.pick(smoke=600, quick=12000))
source = data.select_classes(SOURCE)
target = data.select_classes(TARGET).subset(train=PER_CLASS * len(TARGET), val=None, test=None)
epochs = PRESET.pick(smoke=1, quick=15)
pretrained = train_variant(OUT / "mine", PRESET, source, "source", model="cnn_mnist").model
scratch = train_variant(OUT / "mine", PRESET, target, "scratch", model="cnn_mnist", epochs=epochs, batch_size=32)
frozen = train_variant(
    OUT / "mine",
    PRESET,
    target,
    "frozen",
    builder=models.transfer_model(pretrained, len(TARGET)),
    model="cnn_mnist",
    epochs=epochs,
    batch_size=32,
)
print(f"scratch {scratch.evaluation.accuracy:.3f}, frozen features + new head {frozen.evaluation.accuracy:.3f}")

# %% [markdown]
# ## The lab as `python -m kit lab transfer` runs it

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
