"""Style "one-hot": matrix products of one-hot codes, helper functions, einsum (an independent solution)."""

import keras
import numpy as np
import pandas as pd
from keras import layers


def _one_hot(labels, depth):
    return np.eye(depth, dtype=np.int64)[np.asarray(labels, dtype=np.int64).reshape(-1)]


def dataset_summary(x, y, class_names):
    depth = len(class_names)
    codes = _one_hot(y, depth).astype(np.float64)
    vectors = np.asarray(x, dtype=np.float64).reshape(codes.shape[0], -1)
    width = vectors.shape[1]
    members = codes.sum(axis=0)
    sums = np.einsum("nk,np->k", codes, vectors)
    squares = np.einsum("nk,np->k", codes, vectors * vectors)
    cells = members * width
    average = np.full(depth, np.nan)
    spread = np.full(depth, np.nan)
    seen = cells > 0
    average[seen] = sums[seen] / cells[seen]
    spread[seen] = np.sqrt(np.maximum(squares[seen] / cells[seen] - average[seen] ** 2, 0.0))
    frame = pd.DataFrame(index=pd.Index(class_names, name="class"))
    frame["count"] = members.astype(np.int64)
    frame["mean"] = average
    frame["std"] = spread
    return frame


def _cnn_layers(num_classes):
    return [
        layers.Conv2D(32, 3, activation="relu", name="c1"),
        layers.Conv2D(64, 3, activation="relu", name="c2"),
        layers.MaxPooling2D(2, name="p1"),
        layers.Dropout(0.25, name="d1"),
        layers.Flatten(name="f"),
        layers.Dense(128, activation="relu", name="h"),
        layers.Dropout(0.5, name="d2"),
        layers.Dense(num_classes, activation="softmax", dtype="float32", name="probs"),
    ]


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    return keras.Sequential([keras.layers.Input(shape=input_shape), *_cnn_layers(num_classes)])


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    graph_in = keras.layers.Input(shape=input_shape)
    result = graph_in
    for layer in _cnn_layers(num_classes):
        result = layer(result)
    return keras.Model(graph_in, result)


def _conv_relu(filters, size, label):
    return layers.Conv2D(filters, size, strides=1, padding="same", activation="relu", name=label)


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
    tag = {
        part: (None if name is None else "%s_%s" % (name, part))  # noqa: UP031 - a style of its own
        for part in ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool", "pool_proj", "concat")
    }
    a = _conv_relu(filters_1x1, 1, tag["1x1"])(x)
    b = _conv_relu(filters_3x3, 3, tag["3x3"])(_conv_relu(filters_3x3_reduce, 1, tag["3x3_reduce"])(x))
    c = _conv_relu(filters_5x5, 5, tag["5x5"])(_conv_relu(filters_5x5_reduce, 1, tag["5x5_reduce"])(x))
    d = _conv_relu(filters_pool_proj, 1, tag["pool_proj"])(
        layers.MaxPool2D(pool_size=3, strides=1, padding="same", name=tag["pool"])(x)
    )
    return layers.Concatenate(axis=-1, name=tag["concat"])([a, b, c, d])


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    graph_in = keras.layers.Input(shape=input_shape)
    stack = _cnn_layers(num_classes)
    result = graph_in
    for layer in stack[:4]:
        result = layer(result)
    result = inception_module(result, name="mix")
    result = layers.MaxPool2D(2)(result)
    result = layers.Dropout(0.25)(result)
    for layer in stack[4:]:
        result = layer(result)
    return keras.Model(graph_in, result)


def confusion_matrix(y_true, y_pred, num_classes):
    return _one_hot(y_true, num_classes).T @ _one_hot(y_pred, num_classes)


def f1_scores(cm):
    table = np.asarray(cm, dtype=np.float64)
    true_positive = np.diagonal(table)
    support = table.sum(axis=1)
    predicted = table.sum(axis=0)
    result = np.zeros(len(table))
    usable = (support + predicted) > 0
    result[usable] = 2.0 * true_positive[usable] / (support[usable] + predicted[usable])
    return result, float(np.mean(result)) if len(result) else 0.0


def best_config():
    from kit.train import TrainConfig

    config = TrainConfig(model="cnn_mnist_inception")
    config.optimizer = "adam"
    config.learning_rate = 2e-3
    config.label_smoothing = 0.1
    return config
