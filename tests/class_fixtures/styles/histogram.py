"""Style "histogram": np.histogram2d, masks in comprehensions, a model factory (an independent solution)."""

import keras
import numpy as np
import pandas as pd
from keras import layers


def dataset_summary(x, y, class_names):
    data = np.asarray(x)
    target = np.asarray(y).ravel()
    rows = {}
    for position, label in enumerate(class_names):
        chosen = data[target == position]
        rows[label] = {
            "count": int(chosen.shape[0]),
            "mean": float(np.mean(chosen, dtype=np.float64)) if chosen.size else float("nan"),
            "std": float(np.std(chosen, dtype=np.float64)) if chosen.size else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["count", "mean", "std"]).astype({"count": "int64"})


def _tower():
    return [
        layers.Conv2D(32, (3, 3), padding="valid", activation=keras.activations.relu),
        layers.Conv2D(64, (3, 3), padding="valid", activation=keras.activations.relu),
        layers.MaxPooling2D(pool_size=2, strides=2),
        layers.Dropout(0.25),
    ]


def _head(classes):
    return [
        layers.Flatten(),
        layers.Dense(128, activation=keras.activations.relu),
        layers.Dropout(0.5),
        layers.Dense(classes, activation=keras.activations.softmax, dtype="float32"),
    ]


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential(name="mnist_style")
    model.add(keras.Input(input_shape))
    for piece in _tower() + _head(num_classes):
        model.add(piece)
    return model


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    entrance = keras.Input(input_shape)
    flow = entrance
    for piece in _tower() + _head(num_classes):
        flow = piece(flow)
    return keras.Model(inputs=[entrance], outputs=[flow])


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
    def label(what):
        return None if not name else "_".join([name, what])

    def unit(inputs, count, width, what):
        return layers.Conv2D(count, (width, width), padding="same", activation="relu", name=label(what))(inputs)

    branches = [
        unit(x, filters_1x1, 1, "1x1"),
        unit(unit(x, filters_3x3_reduce, 1, "3x3_reduce"), filters_3x3, 3, "3x3"),
        unit(unit(x, filters_5x5_reduce, 1, "5x5_reduce"), filters_5x5, 5, "5x5"),
        unit(layers.MaxPooling2D(3, 1, padding="same", name=label("pool"))(x), filters_pool_proj, 1, "pool_proj"),
    ]
    return layers.Concatenate(axis=-1, name=label("concat"))(branches)


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    entrance = keras.Input(input_shape)
    flow = entrance
    for piece in _tower():
        flow = piece(flow)
    flow = inception_module(flow, name="block")
    for piece in [layers.MaxPooling2D(2, 2), layers.Dropout(0.25)] + _head(num_classes):
        flow = piece(flow)
    return keras.Model(inputs=[entrance], outputs=[flow])


def confusion_matrix(y_true, y_pred, num_classes):
    edges = np.arange(num_classes + 1) - 0.5
    counts, _, _ = np.histogram2d(np.ravel(y_true), np.ravel(y_pred), bins=[edges, edges])
    return counts.astype(np.int64)


def f1_scores(cm):
    grid = np.asarray(cm).astype(float)
    values = []
    for k in range(grid.shape[0]):
        both = grid[k].sum() + grid[:, k].sum()
        values.append(0.0 if both == 0 else 2 * grid[k, k] / both)
    values = np.array(values)
    return values, float(values.mean()) if values.size else 0.0


def best_config():
    from kit.train import TrainConfig

    return TrainConfig(
        model="resnet", optimizer="sgd", learning_rate=0.1, schedule="cosine", augmentation="flip", epochs=30
    )
