"""Style "pandas": per-image moments grouped with pandas, a layer list built in a loop (an independent solution)."""

import keras
import numpy as np
import pandas as pd
from keras import layers

CNN_SPEC = [("conv", 32), ("conv", 64), ("pool", None), ("drop", 0.25), ("flat", None), ("dense", 128), ("drop", 0.5)]


def dataset_summary(x, y, class_names):
    images = np.asarray(x, dtype="float64")
    images = images.reshape(images.shape[0], -1)
    per_image = pd.DataFrame(
        {
            "label": np.asarray(y).reshape(-1),
            "total": images.sum(axis=1),
            "squares": np.square(images).sum(axis=1),
        }
    )
    grouped = per_image.groupby("label").agg(count=("total", "size"), total=("total", "sum"), sq=("squares", "sum"))
    grouped = grouped.reindex(range(len(class_names)))
    grouped["count"] = grouped["count"].fillna(0).astype(int)
    size = grouped["count"] * images.shape[1]
    grouped["mean"] = grouped["total"] / size.where(size > 0)
    grouped["std"] = np.sqrt((grouped["sq"] / size.where(size > 0) - grouped["mean"] ** 2).clip(lower=0))
    grouped.index = list(class_names)
    return grouped[["count", "mean", "std"]]


def _layer(kind, value):
    if kind == "conv":
        return layers.Conv2D(value, (3, 3), activation="relu")
    if kind == "pool":
        return layers.MaxPooling2D((2, 2))
    if kind == "drop":
        return layers.Dropout(value)
    if kind == "flat":
        return layers.Flatten()
    return layers.Dense(value, activation="relu")


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    net = [keras.Input(shape=input_shape)] + [_layer(kind, value) for kind, value in CNN_SPEC]
    net.append(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return keras.Sequential(net)


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    start = keras.Input(shape=input_shape)
    tensor = start
    for kind, value in CNN_SPEC:
        tensor = _layer(kind, value)(tensor)
    probabilities = layers.Dense(num_classes, activation="softmax", dtype="float32")(tensor)
    return keras.Model(start, probabilities)


def inception_module(
    x,
    filters_1x1=64,
    filters_3x3_reduce=64,
    filters_3x3=64,
    filters_5x5_reduce=64,
    filters_5x5=64,
    filters_pool_proj=64,
    name=None,
):
    plan = {
        "1x1": [(filters_1x1, 1)],
        "3x3": [(filters_3x3_reduce, 1), (filters_3x3, 3)],
        "5x5": [(filters_5x5_reduce, 1), (filters_5x5, 5)],
    }
    outputs = []
    for label, convs in plan.items():
        tensor = x
        for index, (filters, size) in enumerate(convs):
            part = label if index == len(convs) - 1 else f"{label}_reduce"
            layer_name = f"{name}_{part}" if name else None
            tensor = layers.Conv2D(filters, size, padding="same", activation="relu", name=layer_name)(tensor)
        outputs.append(tensor)
    pooled = layers.MaxPooling2D(pool_size=3, strides=1, padding="same", name=f"{name}_pool" if name else None)(x)
    proj_name = f"{name}_pool_proj" if name else None
    outputs.append(layers.Conv2D(filters_pool_proj, 1, padding="same", activation="relu", name=proj_name)(pooled))
    return layers.Concatenate(name=f"{name}_concat" if name else None)(outputs)


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    start = keras.Input(shape=input_shape)
    tensor = start
    for kind, value in CNN_SPEC[:4]:
        tensor = _layer(kind, value)(tensor)
    tensor = inception_module(tensor)
    tensor = layers.MaxPooling2D((2, 2))(tensor)
    tensor = layers.Dropout(0.25)(tensor)
    for kind, value in CNN_SPEC[4:]:
        tensor = _layer(kind, value)(tensor)
    return keras.Model(start, layers.Dense(num_classes, activation="softmax", dtype="float32")(tensor))


def confusion_matrix(y_true, y_pred, num_classes):
    pairs = np.stack([np.ravel(y_true), np.ravel(y_pred)]).astype(np.int64)
    table = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(table, (pairs[0], pairs[1]), 1)
    return table


def f1_scores(cm):
    counts = np.array(cm, dtype=np.float64)
    hits = counts.diagonal()
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = hits / counts.sum(axis=0)
        recall = hits / counts.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    f1 = np.nan_to_num(f1, nan=0.0, posinf=0.0, neginf=0.0)
    return f1, float(f1.mean())


def best_config():
    from kit.train import TrainConfig

    return TrainConfig(model="vgg_mini", optimizer="adamw", learning_rate=3e-3, schedule="one_cycle", epochs=15)
