# %% [markdown]
# # Lab `separable-params`: how many weights a depthwise-separable convolution saves
#
# **The lecture** ("Deep learning: basics", the layer zoo): input 32x32x4, 10 filters 3x3, stride 1,
# no padding. A plain convolution has (4*3*3)*10 + 10 = 370 parameters; a depthwise 3x3 filter per
# input channel followed by a 1x1 pointwise convolution has (4*3*3)*1 + (4*1*1)*10 + 10 = 86.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/separable_params.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

import keras

from kit import labs, models
from kit.labs import separable_params as lab
from kit.labs.common import get_preset, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: change the input's channels, the filters, the kernel
# Plain: C_in*k*k*F + F. Separable: C_in*k*k + C_in*F + F. The saving grows with F and k.

# %%
HEIGHT, WIDTH, CHANNELS, FILTERS, KERNEL = 32, 32, 4, 10, 3

inputs = keras.Input(shape=(HEIGHT, WIDTH, CHANNELS))
for block in (models.conv_bn_act, models.separable_conv_block):
    layer = keras.Model(inputs, block(inputs, FILTERS, KERNEL, padding="valid", normalization="none"))
    table = models.describe(layer)
    print(
        f"{block.__name__:>22}: {table.attrs['total_params']:>6} parameters, "
        f"{table.attrs['total_flops']:>9,} multiply-adds, output {table['output_shape'].iloc[-1]}"
    )

# %% [markdown]
# ## The lab as `python -m kit lab separable-params` runs it
# The counts above for the slide's numbers, then vgg_mini trained with plain and with separable convs.

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
