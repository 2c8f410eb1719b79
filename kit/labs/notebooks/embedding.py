# %% [markdown]
# # Lab `embedding`: the penultimate layer's features in 2-D
#
# **The lecture** ("Deep learning: basics"): deep learning works on the raw data (low-level features)
# and forms the objects' feature description itself. t-SNE (scikit-learn) draws the 128 features of the
# homework CNN's last hidden layer in 2-D, beside the raw pixels.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/embedding.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs, visualize
from kit.labs import embedding as lab
from kit.labs._trained_cnn import trained_cnn
from kit.labs.common import get_preset, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
run, data = trained_cnn(OUT / "your_turn", PRESET)
print(f"test accuracy {run.evaluation.accuracy:.3f}")

# %% [markdown]
# ## Your turn: PCA instead of t-SNE, more or fewer points
# PCA is linear and fast; t-SNE keeps neighbourhoods and is slower. Which one shows the clusters?

# %%
METHOD, POINTS = "pca", PRESET.pick(smoke=200, quick=2000)

features = visualize.features(run.model, data.x_test[:POINTS])
points = visualize.embed(features, METHOD)
labels = data.y_test[:POINTS]
title = f"{METHOD} of the penultimate features"
show(visualize.plot_embedding(points, labels, data.class_names, OUT / "your_embedding.png", title=title))

# %% [markdown]
# ## The lab as `python -m kit lab embedding` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
