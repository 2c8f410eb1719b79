# %% [markdown]
# # CNN architectures, step by step
#
# The lecture "CNN architectures" as notebook cells: each cell calls your `homework.py` (beside
# this notebook) and puts it next to what Keras computes. Run the cells from the top. A function
# you have not written yet stops its cell with NotImplementedError and a hint; write it in
# `homework.py`, then restart the kernel (or run `importlib.reload(homework)`) and run the cells
# again. The preset (`KIT_NOTEBOOK_PRESET`: `smoke` or `quick`, the default) sets the size of the
# fine-tuning experiment. The same cells run as a script: `python notebook.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path[:0] = [str(HERE), str(ROOT)]  # homework.py, runner.py and checks.py beside this file, and the kit

import checks  # noqa: E402  (the autograder's references: Keras on the same arguments)
import homework  # noqa: E402  (your functions)
import runner  # noqa: E402  (the assignment's runner: its parts, one by one)

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402

PRESET = runner.PRESETS[os.environ.get("KIT_NOTEBOOK_PRESET", "quick")]
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "cnn_architectures_notebook"))
OUT.mkdir(parents=True, exist_ok=True)
log = runner.StepLog(homework=homework)
print(environment.describe())

# %% [markdown]
# ## 1. Convolution arithmetic
# The lecture's example: a 32x32 image and 5x5 filters give 28x28 maps; "same" keeps the size.

# %%
for args in [(32, 5), (28, 3, 1, "same"), (227, 11, 4), (28, 3, 1, "valid", 2)]:
    print(args, "->", homework.conv_output_size(*args), "| Keras:", checks.keras_output_size(*args))

# %% [markdown]
# ## 2. What a layer costs
# The depthwise separable convolution's worked example: input 32x32x4, 10 filters 3x3.

# %%
print("yours:", homework.conv_params(4, 10, 3, groups=2, reduce_to=2))
print("Keras:", checks.keras_conv_params(4, 10, 3, groups=2, reduce_to=2))
print("VGG's first layer, multiply-adds:", homework.conv_flops((224, 224, 3), 64, 3, 1, "same"))

# %% [markdown]
# ## 3. How far a stack sees
# Three 3x3 convolutions see as far as one 7x7 (VGG's argument), with fewer parameters.

# %%
three = [[3, 1]] * 3
print("three 3x3:", homework.receptive_field(three), "| Keras:", checks.keras_receptive_field(three))
print("parameters on 64 channels: three 3x3", 3 * homework.conv_params(64, 64, 3)["plain"])
print("                            one 7x7  ", homework.conv_params(64, 64, 7)["plain"])

# %% [markdown]
# ## 4. The classic blocks, and the classic stacks counted
# Your `vgg_block` and `residual_block` as models, then LeNet-5 ... ResNet counted with your functions.

# %%
homework.build_vgg_block((32, 32, 3), 64, 2).summary()
homework.build_residual_block((16, 16, 32), 32, 1).summary()
rows = runner.count_architectures(homework, log)
print(runner.markdown_table(runner.pd.DataFrame(rows)))

# %% [markdown]
# ## 5. Fine-tuning
# Pretrained on five classes, your `transfer_model` on the other five, against training from scratch.

# %%
result = runner.fine_tuning(homework, load_fashion_mnist(), PRESET, OUT, log)
print({k: v for k, v in result.items() if k in ("trainable_params", "frozen", "tuned", "scratch")})
print("picture:", OUT / result.get("picture", ""))
