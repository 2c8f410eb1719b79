# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# accepted: functional API, Activation("relu") for ReLU(), Dense then Softmax(), HeUniform (He's std too)
def build_small_net(input_shape=(28, 28, 1), num_classes=10, dropout=0.5):
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, kernel_initializer=keras.initializers.HeUniform(seed=3))(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Softmax()(layers.Dense(num_classes)(x))
    return keras.Model(inputs, outputs)
