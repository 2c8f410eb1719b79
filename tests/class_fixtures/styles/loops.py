"""Style "loops": explicit loops and step-by-step layers (one of the test class's independent solutions)."""

import keras
import numpy as np
import pandas as pd
from keras import layers


def dataset_summary(x, y, class_names):
    x = np.asarray(x)
    y = np.asarray(y).reshape(-1)
    counts = []
    means = []
    stds = []
    for c in range(len(class_names)):
        imgs = x[y == c]
        counts.append(len(imgs))
        if len(imgs) == 0:
            means.append(np.nan)
            stds.append(np.nan)
        else:
            pixels = imgs.astype("float64")
            means.append(pixels.mean())
            stds.append(pixels.std())
    table = pd.DataFrame({"count": counts, "mean": means, "std": stds}, index=list(class_names))
    return table


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential()
    model.add(keras.Input(shape=input_shape))
    model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu"))
    model.add(layers.Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return model


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    inp = keras.Input(shape=input_shape)
    h = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(inp)
    h = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(h)
    h = layers.MaxPooling2D(pool_size=(2, 2))(h)
    h = layers.Dropout(0.25)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    out = layers.Dense(num_classes, activation="softmax", dtype="float32")(h)
    return keras.Model(inputs=inp, outputs=out)


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
    def nm(suffix):
        if name is None:
            return None
        return name + "_" + suffix

    # branch 1
    b1 = layers.Conv2D(filters_1x1, (1, 1), padding="same", activation="relu", name=nm("1x1"))(x)
    # branch 2
    b2 = layers.Conv2D(filters_3x3_reduce, (1, 1), padding="same", activation="relu", name=nm("3x3_reduce"))(x)
    b2 = layers.Conv2D(filters_3x3, (3, 3), padding="same", activation="relu", name=nm("3x3"))(b2)
    # branch 3
    b3 = layers.Conv2D(filters_5x5_reduce, (1, 1), padding="same", activation="relu", name=nm("5x5_reduce"))(x)
    b3 = layers.Conv2D(filters_5x5, (5, 5), padding="same", activation="relu", name=nm("5x5"))(b3)
    # branch 4
    b4 = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same", name=nm("pool"))(x)
    b4 = layers.Conv2D(filters_pool_proj, (1, 1), padding="same", activation="relu", name=nm("pool_proj"))(b4)
    return layers.Concatenate(axis=-1, name=nm("concat"))([b1, b2, b3, b4])


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    inp = keras.Input(shape=input_shape)
    h = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(inp)
    h = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(h)
    h = layers.MaxPooling2D(pool_size=(2, 2))(h)
    h = layers.Dropout(0.25)(h)
    h = inception_module(h, name="inc")
    h = layers.MaxPooling2D(pool_size=(2, 2))(h)
    h = layers.Dropout(0.25)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu")(h)
    h = layers.Dropout(0.5)(h)
    out = layers.Dense(num_classes, activation="softmax", dtype="float32")(h)
    return keras.Model(inputs=inp, outputs=out)


def confusion_matrix(y_true, y_pred, num_classes):
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for i in range(len(y_true)):
        cm[int(y_true[i]), int(y_pred[i])] += 1
    return cm


def f1_scores(cm):
    cm = np.asarray(cm)
    n = cm.shape[0]
    f1 = np.zeros(n)
    for k in range(n):
        tp = cm[k, k]
        predicted = cm[:, k].sum()
        actual = cm[k, :].sum()
        if predicted == 0 or actual == 0:
            f1[k] = 0.0
            continue
        precision = tp / predicted
        recall = tp / actual
        if precision + recall == 0:
            f1[k] = 0.0
        else:
            f1[k] = 2 * precision * recall / (precision + recall)
    return f1, float(np.mean(f1))


def best_config():
    from kit.train import TrainConfig

    return TrainConfig(model="cnn_mnist", optimizer="adam", learning_rate=0.001, epochs=10)
