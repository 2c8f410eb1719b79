"""A copy of style "loops": every variable renamed, comments rewritten (the test class orders its functions anew)."""

import keras
import numpy as np
import pandas as pd
from keras import layers


def f1_scores(cm):
    # per-class F1 from the matrix
    matrix = np.asarray(cm)
    classes = matrix.shape[0]
    result = np.zeros(classes)
    for j in range(classes):
        hits = matrix[j, j]
        col_total = matrix[:, j].sum()
        row_total = matrix[j, :].sum()
        if col_total == 0 or row_total == 0:
            result[j] = 0.0
            continue
        prec = hits / col_total
        rec = hits / row_total
        if prec + rec == 0:
            result[j] = 0.0
        else:
            result[j] = 2 * prec * rec / (prec + rec)
    return result, float(np.mean(result))


def confusion_matrix(y_true, y_pred, num_classes):
    # count the pairs one by one
    truth = np.asarray(y_true).reshape(-1)
    guess = np.asarray(y_pred).reshape(-1)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for idx in range(len(truth)):
        matrix[int(truth[idx]), int(guess[idx])] += 1
    return matrix


def dataset_summary(x, y, class_names):
    # statistics of every class
    data = np.asarray(x)
    labels = np.asarray(y).reshape(-1)
    n_list = []
    mean_list = []
    std_list = []
    for label in range(len(class_names)):
        batch = data[labels == label]
        n_list.append(len(batch))
        if len(batch) == 0:
            mean_list.append(np.nan)
            std_list.append(np.nan)
        else:
            values = batch.astype("float64")
            mean_list.append(values.mean())
            std_list.append(values.std())
    summary = pd.DataFrame({"count": n_list, "mean": mean_list, "std": std_list}, index=list(class_names))
    return summary


def build_inception_cnn(input_shape=(28, 28, 1), num_classes=10):
    # the CNN with the module in the middle
    entry = keras.Input(shape=input_shape)
    t = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(entry)
    t = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(t)
    t = layers.MaxPooling2D(pool_size=(2, 2))(t)
    t = layers.Dropout(0.25)(t)
    t = inception_module(t, name="module")
    t = layers.MaxPooling2D(pool_size=(2, 2))(t)
    t = layers.Dropout(0.25)(t)
    t = layers.Flatten()(t)
    t = layers.Dense(128, activation="relu")(t)
    t = layers.Dropout(0.5)(t)
    probs = layers.Dense(num_classes, activation="softmax", dtype="float32")(t)
    return keras.Model(inputs=entry, outputs=probs)


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
    def layer_id(tail):
        if name is None:
            return None
        return name + "_" + tail

    # path one: a single 1x1
    p1 = layers.Conv2D(filters_1x1, (1, 1), padding="same", activation="relu", name=layer_id("1x1"))(x)
    # path two: reduce, then 3x3
    p2 = layers.Conv2D(filters_3x3_reduce, (1, 1), padding="same", activation="relu", name=layer_id("3x3_reduce"))(x)
    p2 = layers.Conv2D(filters_3x3, (3, 3), padding="same", activation="relu", name=layer_id("3x3"))(p2)
    # path three: reduce, then 5x5
    p3 = layers.Conv2D(filters_5x5_reduce, (1, 1), padding="same", activation="relu", name=layer_id("5x5_reduce"))(x)
    p3 = layers.Conv2D(filters_5x5, (5, 5), padding="same", activation="relu", name=layer_id("5x5"))(p3)
    # path four: pool, then project
    p4 = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same", name=layer_id("pool"))(x)
    p4 = layers.Conv2D(filters_pool_proj, (1, 1), padding="same", activation="relu", name=layer_id("pool_proj"))(p4)
    return layers.Concatenate(axis=-1, name=layer_id("concat"))([p1, p2, p3, p4])


def build_cnn_functional(input_shape=(28, 28, 1), num_classes=10):
    # same network, functional API
    entry = keras.Input(shape=input_shape)
    t = layers.Conv2D(32, kernel_size=(3, 3), activation="relu")(entry)
    t = layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(t)
    t = layers.MaxPooling2D(pool_size=(2, 2))(t)
    t = layers.Dropout(0.25)(t)
    t = layers.Flatten()(t)
    t = layers.Dense(128, activation="relu")(t)
    t = layers.Dropout(0.5)(t)
    probs = layers.Dense(num_classes, activation="softmax", dtype="float32")(t)
    return keras.Model(inputs=entry, outputs=probs)


def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    # stack the layers
    net = keras.Sequential()
    net.add(keras.Input(shape=input_shape))
    net.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu"))
    net.add(layers.Conv2D(64, kernel_size=(3, 3), activation="relu"))
    net.add(layers.MaxPooling2D(pool_size=(2, 2)))
    net.add(layers.Dropout(0.25))
    net.add(layers.Flatten())
    net.add(layers.Dense(128, activation="relu"))
    net.add(layers.Dropout(0.5))
    net.add(layers.Dense(num_classes, activation="softmax", dtype="float32"))
    return net


def best_config():
    from kit.train import TrainConfig

    return TrainConfig(model="cnn_mnist", optimizer="adam", learning_rate=0.001, epochs=10)
