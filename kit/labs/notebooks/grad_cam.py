# %% [markdown]
# # Lab `grad-cam`: where the network looks
#
# **The idea** (Selvaraju et al. 2017, "Grad-CAM"; the lecture's "project a deep layer back onto the
# pixels"): weight the last convolution's maps by the gradient of the class score and keep the
# positive part. Shown on confident correct test images and on the most confused pair of classes.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/grad_cam.py` (under a minute).

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs, visualize
from kit.labs import grad_cam as lab
from kit.labs._trained_cnn import trained_cnn
from kit.labs.common import get_preset, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME
run, data = trained_cnn(OUT / "your_turn", PRESET)
print(f"test accuracy {run.evaluation.accuracy:.3f}; Grad-CAM layer: {visualize.last_conv_layer(run.model).name}")

# %% [markdown]
# ## Your turn: explain one image as each class
# Where would the network look if it had to call this image a shirt? a bag? Grad-CAM of the
# score of each class in turn.

# %%
INDEX = 0

images = data.x_test[[INDEX] * data.num_classes]
heatmaps = visualize.grad_cam(run.model, images, classes=range(data.num_classes))
probabilities = run.model.predict(images[:1], verbose=0)[0]
captions = [f"{name} {p:.2f}" for name, p in zip(data.class_names, probabilities, strict=True)]
show(visualize.plot_grad_cam(images, heatmaps, captions, OUT / "your_grad_cam.png", title=f"test image {INDEX}"))

# %% [markdown]
# ## The lab as `python -m kit lab grad-cam` runs it: numbers and verdict

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
