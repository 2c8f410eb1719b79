# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the new top on the pretrained features, but nothing frozen: the whole network trains
def transfer_model(base, num_classes):
    import keras

    outputs = keras.layers.Dense(num_classes, activation="softmax")(base.layers[-2].output)
    return keras.Model(base.inputs, outputs)
