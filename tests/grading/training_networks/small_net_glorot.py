# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the layers right, Keras' default initialiser (Glorot) where the docstring asks for He's
def build_small_net(input_shape=(28, 28, 1), num_classes=10, dropout=0.5):
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Flatten(),
            layers.Dense(256),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(dropout),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
