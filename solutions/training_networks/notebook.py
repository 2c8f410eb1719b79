# %% [markdown]
# # Training networks, step by step
#
# The lectures "Training networks", parts 1 and 2, as notebook cells: each cell calls your
# `homework.py` (beside this notebook) and puts it next to what Keras computes, or draws what the
# lecture shows. Run the cells from the top. A function you have not written yet stops its cell
# with NotImplementedError and a hint (the runner's experiments print a TODO line instead); write
# it in `homework.py`, then restart the kernel (or run `importlib.reload(homework)`) and run the
# cells again.
#
# The preset sets the sizes: `smoke` (small: a wiring check) or `quick` (the default: the
# lecture's 4096-unit demo, and training until 320 images are learnt). Choose it with the
# environment variable `KIT_NOTEBOOK_PRESET`, or change the `PRESET` line below. The same cells
# run as a script: `python notebook.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path[:0] = [str(HERE), str(ROOT)]  # homework.py, runner.py and checks.py beside this file, and the kit

import checks  # noqa: E402  (the autograder's references: Keras on the same inputs)
import homework  # noqa: E402  (your functions)
import numpy as np  # noqa: E402
import runner  # noqa: E402  (the assignment's runner: its experiments, one by one)

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.labs.common import show  # noqa: E402

PRESET = runner.PRESETS[os.environ.get("KIT_NOTEBOOK_PRESET", "quick")]
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "training_networks_notebook"))
OUT.mkdir(parents=True, exist_ok=True)
log = runner.StepLog(homework=homework)
print(environment.describe())

# %% [markdown]
# ## 1. Weight initialisation
# `init_std(shape, method)`: the lecture's Xavier (1/sqrt(fan_in), Keras' LecunNormal), Glorot
# and He, for a Dense kernel (inputs, units) and a Conv2D kernel (k, k, C_in, C_out), beside
# the standard deviation of the weights Keras' initialisers draw.

# %%
for shape in [(784, 256), (3, 3, 64, 128)]:
    for method in ("xavier", "glorot", "he"):
        print(
            f"{str(shape):16s} {method:7s} yours {homework.init_std(shape, method):.6f}   "
            f"Keras {checks.init_std_reference(shape, method):.6f}"
        )

# %% [markdown]
# The slide's demo: 6 tanh layers of 4096 units (256 under `smoke`), inputs from randn. With
# W = 0.01 * randn each layer multiplies the activations' scale by about 0.01 * sqrt(4096) = 0.64;
# with 0.05 tanh saturates; Xavier keeps the scale for tanh and He for ReLU. Your
# `forward_activations` computes every layer; the histograms are the slides' picture.

# %%
demo = runner.init_demo(homework, PRESET, OUT, log)
for label, stats in demo["rows"].items():
    print(f"{label:32s}", "  ".join(f"{layer['std']:.3g}" for layer in stats))
for picture in demo.get("pictures", []):
    show(OUT / picture)

# %% [markdown]
# ## 2. Batch normalisation
# Your `batchnorm_forward` beside `keras.layers.BatchNormalization` on a spatial batch: training
# mode (batch statistics, running averages moved) and inference mode (running averages used).

# %%
rng = np.random.default_rng(0)
x = rng.normal(0.5, 0.2, size=(8, 5, 5, 3))
gamma, beta = rng.normal(1.0, 0.1, 3), rng.normal(0.0, 0.1, 3)
running_mean, running_var = np.zeros(3), np.ones(3)
for training in (True, False):
    yours = homework.batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.9)
    keras_ = checks.keras_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum=0.9)
    differences = [float(np.abs(mine - theirs).max()) for mine, theirs in zip(yours, keras_, strict=True)]
    print(f"training={training}: largest difference from Keras (output, running mean, running variance):", differences)

# %% [markdown]
# ## 3. Inverted dropout
# Kept units are divided by 1 - rate, so the mean of the output over many masks is the input.

# %%
x = np.ones((10_000, 10))
kept = homework.dropout_forward(x, 0.3, rng.random(x.shape), training=True)
print(f"dropped share {np.mean(kept == 0):.3f} (rate 0.3), mean output {kept.mean():.3f} (the input's: 1.0)")
print(
    "at test time the layer is the identity:",
    np.array_equal(homework.dropout_forward(x, 0.3, rng.random(x.shape), False), x),
)

# %% [markdown]
# ## 4. Update rules
# The same gradients through your rules and through `keras.optimizers`: the largest difference
# of the weights after 20 steps.

# %%
w, grads = rng.normal(size=(4, 3)), rng.normal(size=(20, 4, 3))
rules = {
    "SGD + momentum": (homework.sgd_momentum(w, grads, 0.01, 0.9), checks.keras_sgd(w, grads, 0.01, 0.9)),
    "Nesterov": (homework.sgd_momentum(w, grads, 0.01, 0.9, True), checks.keras_sgd(w, grads, 0.01, 0.9, True)),
    "RMSProp": (homework.rmsprop(w, grads, 0.001), checks.keras_rmsprop(w, grads, 0.001)),
    "Adam": (homework.adam(w, grads, 0.001), checks.keras_adam(w, grads, 0.001)),
}
for name, (yours, keras_) in rules.items():
    print(f"{name:15s} largest difference from Keras {np.abs(yours - keras_).max():.1e}")

# %% [markdown]
# ## 5. Learning-rate policies
# Step decay (x0.1 after epochs 30, 60, 90) and a 10-epoch linear warm-up followed by a cosine,
# drawn over Keras' schedules.

# %%
schedules = runner.schedules_check(homework, checks, OUT, log)
print(schedules)
show(OUT / schedules["picture"])

# %% [markdown]
# ## 6. Your small net: the loss before training, then over-fitting 320 images
# Step 1 of the lecture's recipe: an untrained softmax classifier over 10 classes starts near
# log(10) = 2.303. Step 2: with regularisation off it must learn a small sample by heart.

# %%
data = load_fashion_mnist().subset(train=runner.OVERFIT_IMAGES, val=PRESET.loss_images, test=100, seed=0)
loss = runner.initial_loss_check(homework, data, OUT, log)
print({name: round(value, 3) for name, value in loss["losses"].items()}, "log(10) =", round(loss["log_C"], 3))
show(OUT / loss["picture"])

# %%
overfit = runner.overfit_check(homework, data, PRESET, OUT, log)
print({key: value for key, value in overfit.items() if key != "picture"})
show(OUT / overfit["picture"])
