# %% [markdown]
# # Fashion-MNIST homework, step by step
#
# The lecture's homework ("Задание для слушателей") as notebook cells: each cell calls your
# `homework.py` and the kit, and shows what `python -m kit homework` puts in its report.
# Open this file as a notebook (Jupyter with jupytext, or VS Code's "Run Cell"), or run it
# as a script: `python notebook.py`. `KIT_NOTEBOOK_PRESET=smoke python notebook.py` runs it on a
# tiny subset in about a minute; the default `quick` trains on the whole dataset.
# A function you have not written yet stops its cell with NotImplementedError and a hint.

# %%
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
ROOT = next((p for p in (HERE, *HERE.parents) if (p / "kit").is_dir()), HERE)
sys.path[:0] = [str(HERE), str(ROOT)]  # homework.py beside this file, and the kit

import homework  # noqa: E402  (your functions)
import numpy as np  # noqa: E402

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.homework import HOMEWORK_PRESETS, homework_config, train_model  # noqa: E402

PRESET = HOMEWORK_PRESETS[os.environ.get("KIT_NOTEBOOK_PRESET", "quick")]
OUT = Path(os.environ.get("KIT_NOTEBOOK_OUT", ROOT / "runs" / "notebook"))
print(environment.describe())

# %% [markdown]
# ## Step 1: the dataset, its structure and statistics
# 60,000 training images (5,000 of them held out for validation) and 10,000 test images,
# 28x28 greyscale, 10 classes. Your `dataset_summary` gives count, mean and std per class;
# `kit.explore` draws samples, mean images and pixel histograms.

# %%
data = load_fashion_mnist()
if PRESET.train:
    data = data.subset(train=PRESET.train, val=PRESET.val, test=PRESET.test, seed=0)
print(data.x_train.shape, data.x_val.shape, data.x_test.shape, data.x_train.dtype)
summary = homework.dataset_summary(data.x_train, data.y_train, data.class_names)
print(summary)

# %%
from kit.explore import write_dataset_report  # noqa: E402

findings = write_dataset_report(data, OUT / "dataset")["findings"]
print(findings)  # pictures: OUT/dataset/*.png, the tables: OUT/dataset/dataset.md

# %% [markdown]
# ## Step 3: one network, two styles
# The same CNN-MNIST example as a `keras.Sequential` list and as a functional graph. With the
# same weights they must predict the same.

# %%
sequential = homework.build_cnn_sequential(data.input_shape, data.num_classes)
functional = homework.build_cnn_functional(data.input_shape, data.num_classes)
sequential.summary()
print("parameters:", sequential.count_params(), functional.count_params(), "(the lecture's example: 1,199,882)")

functional.set_weights(sequential.get_weights())
difference = np.abs(sequential.predict(data.x_val[:256], verbose=0) - functional.predict(data.x_val[:256], verbose=0))
print("largest difference with shared weights:", difference.max())

# %% [markdown]
# ## Step 5: the CNN-MNIST example trained on Fashion-MNIST
# `train_model` trains your network through `kit.train` (run folder with history,
# best model and metrics). `homework_config` is the runner's config: Adam at 1e-3 instead
# of the slide's Adadelta (Keras 3's Adadelta default rate, 1e-3, learns far too slowly for a few epochs).

# %%
cnn = train_model(
    "cnn_sequential",
    homework_config(PRESET, "cnn_sequential", PRESET.cnn_epochs),
    data,
    OUT,
    build=lambda: homework.build_cnn_sequential(data.input_shape, data.num_classes),
)
print(cnn.history[["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]])
print(f"test accuracy {cnn.evaluation.accuracy:.4f}, macro-F1 {cnn.evaluation.macro_f1:.4f}")

# %% [markdown]
# ## Step 6: an Inception module in the network; confusion matrix and F1
# Your numpy `confusion_matrix` and `f1_scores` beside scikit-learn's.

# %%
inception = train_model(
    "cnn_inception",
    homework_config(PRESET, "cnn_inception", PRESET.inception_epochs),
    data,
    OUT,
    build=lambda: homework.build_inception_cnn(data.input_shape, data.num_classes),
)
y_true, y_pred = inception.evaluation.y_true, inception.evaluation.y_pred
cm = homework.confusion_matrix(y_true, y_pred, data.num_classes)
per_class, macro = homework.f1_scores(cm)
print(cm)

from sklearn.metrics import confusion_matrix, f1_score  # noqa: E402

print(
    "confusion matrix equal to scikit-learn's:", np.array_equal(cm, confusion_matrix(y_true, y_pred, labels=range(10)))
)
print(f"macro-F1: yours {macro:.4f}, scikit-learn {f1_score(y_true, y_pred, average='macro', zero_division=0):.4f}")
for name, score in zip(data.class_names, per_class, strict=True):
    print(f"  {name:12s} F1 {score:.3f}")

# %%
from kit.report import plot_confusion_matrix  # noqa: E402

print(plot_confusion_matrix(inception.evaluation, OUT / "cnn_inception_confusion_matrix.png", normalize=True))

# %% [markdown]
# ## Step 7: push macro-F1 as high as you can
# Your `best_config()` trained with this preset's epochs, then every model side by side.

# %%
from kit.report import compare  # noqa: E402
from kit.train import train  # noqa: E402

config = homework.best_config()
epochs = PRESET.best_epochs
config = config.replace(
    epochs=epochs,
    warmup_epochs=min(config.warmup_epochs, epochs / 2),
    **({"precision": "float32"} if PRESET.name == "smoke" else {}),
)
best = train(config, data, out=OUT / "best")
print(compare([cnn.run_dir, inception.run_dir, best.run_dir]))
