# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the main path only: a plain two-layer block, no shortcut
def residual_block(x, filters, stride=1):
    import keras

    layers = keras.layers
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
    return layers.ReLU()(y)
