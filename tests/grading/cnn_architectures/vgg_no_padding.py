# ruff: noqa: F821 - a fragment appended to the solution's homework.py
# the convolutions without padding="same": the block shrinks the image
def vgg_block(x, filters, convs):
    import keras

    for _ in range(convs):
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
    return keras.layers.MaxPooling2D(2)(x)
