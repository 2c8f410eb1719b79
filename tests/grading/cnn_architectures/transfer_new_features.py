# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# new layers of the same shape instead of the pretrained ones (their weights start from scratch)
def transfer_model(base, num_classes):
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=base.input_shape[1:])
    x = layers.Flatten()(layers.MaxPooling2D(2)(layers.Conv2D(8, 3, activation="relu", trainable=False)(inputs)))
    x = layers.Dense(32, activation="relu", trainable=False)(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))
