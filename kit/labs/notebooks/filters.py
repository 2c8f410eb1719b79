# %% [markdown]
# # Lab `filters`: what the first layer of a trained CNN looks for
#
# **The lecture** ("CNN architectures", visualising networks; Zeiler & Fergus 2014): the first
# layer's filters can be drawn as images and learn edges and blobs; the activation maps show where
# each filter responds. Here: the homework's CNN-MNIST network, trained briefly.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/filters.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs, visualize
from kit.labs import filters as lab
from kit.labs._trained_cnn import trained_cnn
from kit.labs.common import get_preset, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
run, data = trained_cnn(OUT / "your_turn", PRESET)
print(
    f"test accuracy {run.evaluation.accuracy:.3f}; convolutions:",
    [layer.name for layer in visualize.conv_layers(run.model)],
)

# %% [markdown]
# ## Your turn: another image, another layer
# The second convolution's maps (`"conv2"`) are smaller and respond to combinations of edges.

# %%
INDEX, LAYER = 0, "conv2"

image = data.x_test[INDEX : INDEX + 1]
maps = visualize.activation_maps(run.model, image, layer=LAYER)[0]
title = f"{LAYER} maps of test image {INDEX} ({data.class_names[data.y_test[INDEX]]})"
show(visualize.plot_activation_maps(image[0], maps, OUT / "your_maps.png", title=title))

# %% [markdown]
# ## The lab as `python -m kit lab filters` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
