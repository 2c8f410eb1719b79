# %% [markdown]
# # Lab `init-xavier-he`: the right initialisation for the activation
#
# **The lecture** ("Training networks, part 1", weight initialisation): Xavier, `std = 1/sqrt(D_in)`,
# keeps the activations of a deep tanh net at a comparable scale in every layer; it assumes a
# zero-centred activation and "does not work for ReLU"; Kaiming/He, `std = sqrt(2/D_in)`, restores
# the scale for ReLU.
#
# As a script: `KIT_NOTEBOOK_PRESET=smoke python kit/labs/notebooks/init_xavier_he.py`.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path.insert(0, str(ROOT))

from kit import labs
from kit.labs import init_collapse
from kit.labs import init_xavier_he as lab
from kit.labs.common import get_preset, lab_data, show

PRESET = get_preset(os.environ.get("KIT_NOTEBOOK_PRESET", "quick"))
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "labs")) / lab.NAME

# %% [markdown]
# ## Your turn: pairs of activation and initialiser
# Initialisers by the kit's names (`kit.layers.INITIALIZERS`): `lecun_normal` is 1/sqrt(D_in),
# `he_normal` sqrt(2/D_in), `glorot_normal` sqrt(2/(D_in + D_out)). Try `("relu", "glorot_normal")`,
# `("selu", "lecun_normal")` or a deeper net.

# %%
DEPTH = 6
UNITS = PRESET.pick(smoke=256, quick=4096)
CASES = {
    "tanh + Xavier": ("tanh", "lecun_normal"),
    "ReLU + Xavier": ("relu", "lecun_normal"),
    "ReLU + He": ("relu", "he_normal"),
}

x = init_collapse.standardized_images(lab_data(PRESET).x_train[: PRESET.pick(smoke=200, quick=1000)])
rows = {
    label: init_collapse.activation_stats(DEPTH, UNITS, init, x, activation=act) for label, (act, init) in CASES.items()
}
for label, stats in rows.items():
    print(f"{label:>15}: std per layer", " ".join(f"{layer['std']:.3g}" for layer in stats))
OUT.mkdir(parents=True, exist_ok=True)
show(OUT / init_collapse.plot_histograms(rows, OUT / "my_histograms.png"))

# %% [markdown]
# ## The lab as `python -m kit lab init-xavier-he` runs it

# %%
payload = labs.run(lab.NAME, OUT, PRESET.name)
print(payload["verdict"], "-", payload["explanation"])
for picture in payload["pictures"]:
    show(OUT / picture)
