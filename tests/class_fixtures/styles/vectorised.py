"""Style "vectorised": numpy without loops, np.bincount, nested functional calls (an independent solution)."""

import keras
import numpy as np
import pandas as pd
from keras import layers


def dataset_summary(x, y, class_names):
    k = len(class_names)
    labels = np.asarray(y).ravel().astype(int)
    flat = np.asarray(x, dtype=np.float64).reshape(len(labels), -1)
    pixels_per_image = flat.shape[1]
    n = np.bincount(labels, minlength=k)
    s1 = np.bincount(labels, weights=flat.sum(axis=1), minlength=k)
    s2 = np.bincount(labels, weights=(flat**2).sum(axis=1), minlength=k)
    total = n * pixels_per_image
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(total > 0, s1 / total, np.nan)
        var = np.where(total > 0, s2 / total - mu**2, np.nan)
    sd = np.sqrt(np.clip(var, 0, None))
    return pd.DataFrame({"count": n.astype(int), "mean": mu, "std": sd}, index=pd.Index(class_names))


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    stack = [
        keras.Input(input_shape),
        layers.Conv2D(filters=32, kernel_size=3, activation="relu"),
        layers.Conv2D(filters=64, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Dropout(rate=0.25),
        layers.Flatten(),
        layers.Dense(units=128, activation="relu"),
        layers.Dropout(rate=0.5),
        layers.Dense(units=num_classes, activation="softmax", dtype="float32"),
    ]
    return keras.Sequential(stack, name="seq_cnn")


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    source = keras.Input(input_shape)
    tail = layers.Dropout(0.5)(
        layers.Dense(128, activation="relu")(
            layers.Flatten()(
                layers.Dropout(0.25)(
                    layers.MaxPooling2D()(
                        layers.Conv2D(64, 3, activation="relu")(layers.Conv2D(32, 3, activation="relu")(source))
                    )
                )
            )
        )
    )
    return keras.Model(source, layers.Dense(num_classes, activation="softmax", dtype="float32")(tail))


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
    prefix = f"{name}_" if name else ""
    named = (lambda s: prefix + s) if name else (lambda s: None)
    one = layers.Conv2D(filters_1x1, 1, activation="relu", padding="same", name=named("1x1"))(x)
    three = layers.Conv2D(filters_3x3, 3, activation="relu", padding="same", name=named("3x3"))(
        layers.Conv2D(filters_3x3_reduce, 1, activation="relu", padding="same", name=named("3x3_reduce"))(x)
    )
    five = layers.Conv2D(filters_5x5, 5, activation="relu", padding="same", name=named("5x5"))(
        layers.Conv2D(filters_5x5_reduce, 1, activation="relu", padding="same", name=named("5x5_reduce"))(x)
    )
    pool = layers.Conv2D(filters_pool_proj, 1, activation="relu", padding="same", name=named("pool_proj"))(
        layers.MaxPooling2D(3, strides=1, padding="same", name=named("pool"))(x)
    )
    return layers.concatenate([one, three, five, pool], axis=3, name=named("concat"))


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    source = keras.Input(input_shape)
    z = layers.Dropout(0.25)(
        layers.MaxPooling2D()(layers.Conv2D(64, 3, activation="relu")(layers.Conv2D(32, 3, activation="relu")(source)))
    )
    z = layers.Dropout(0.25)(layers.MaxPooling2D()(inception_module(z)))
    z = layers.Dropout(0.5)(layers.Dense(128, activation="relu")(layers.Flatten()(z)))
    return keras.Model(source, layers.Dense(num_classes, activation="softmax", dtype="float32")(z))


def confusion_matrix(y_true, y_pred, num_classes):
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    flat = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def f1_scores(cm):
    m = np.asarray(cm, dtype=float)
    tp = np.diag(m)
    denom = m.sum(0) + m.sum(1)
    scores = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom != 0)
    return scores, float(scores.mean())


def best_config():
    from kit.train import TrainConfig

    return TrainConfig(model="resnet_fast", optimizer="sgd", learning_rate=0.05, schedule="cosine", epochs=20)
