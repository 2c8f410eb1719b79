# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the ReLU on the main path before the addition, none after it (the output can be negative)
def residual_block(x, filters, stride=1):
    import keras

    layers = keras.layers
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y)))
    return layers.Add()([y, x])
