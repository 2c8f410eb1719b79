# %% [markdown]
# # Lab `relu-vs-tanh`: does ReLU train faster than tanh and sigmoid?
#
# **The lecture** ("Training networks, part 1", activation functions): ReLU "converges much faster
# than sigmoid/tanh in practice (e.g. 6x)" — Krizhevsky et al. (2012) reach 25 % training error on
# CIFAR-10 six times sooner with ReLU. Here: LeNet-5 on Fashion-MNIST, the same SGD + momentum for
# every activation, the training error measured every few steps (`kit.callbacks.StepEvaluation`).
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/relu_vs_tanh.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.callbacks import StepEvaluation
from kit.labs import relu_vs_tanh as lab
from kit.labs.common import get_preset, lab_data, show, train_variant

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: another activation, optimizer or learning rate
# Activations by the kit's names (`kit.layers.ACTIVATIONS`: relu, leaky_relu, elu, selu, tanh, sigmoid, ...);
# optimizers `sgd`, `momentum`, `adam`, ... Krizhevsky tuned the learning rate of each net separately.

# %%
ACTIVATIONS = ["relu", "elu"]
OPTIMIZER, LEARNING_RATE = "momentum", 0.01

data = lab_data(PRESET, train=PRESET.pick(smoke=600, quick=6000))
for activation in ACTIVATIONS:
    probe = StepEvaluation(data.x_train[:500], data.y_train[:500], every=10)
    train_variant(
        OUT / "mine",
        PRESET,
        data,
        activation,
        model="lenet5",
        model_options={"activation": activation},
        optimizer=OPTIMIZER,
        learning_rate=LEARNING_RATE,
        callbacks=[probe],
    )
    print(
        f"{activation:>10}: steps to 25 % training error:",
        probe.first_step_below(0.25),
        f"final error {probe.errors[-1]:.3f}",
    )

# %% [markdown]
# ## The lab as `python -m kit lab relu-vs-tanh` runs it

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
